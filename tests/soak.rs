//! Soak: readers on every core and concurrent writers on one store file for a given time, every
//! reader's answer checked against the plain model at the reader's own snapshot.
//!
//! Each write commits together with a message in a public "clock" dialog whose text is the
//! number of writes so far, so every answer names the state it was read from: the clock heads
//! every inbox (its messages are dated ahead of all others), and its last message is the model
//! version the page must equal. Writers take turns on the model (a
//! mutex around the store's write and the model's), and push each version for the readers.
//! At the end the whole store equals the model, the integrity check is clean, and the peak
//! memory and the file size are reported and bounded.
//!
//! 2 seconds by default; `DIALOGSTORE_SOAK_SECS=N` for longer.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use common::*;
use dialogstore::{DialogId, DialogStore, ManualClock, MessageMeta, NewDialog, Query, UserId};
use dialogstore_testkit::fuzzing::model::Model;

const USERS: u64 = 8;
const OWNER: UserId = UserId(1);
/// The clock's messages' date: after every other message, so it heads every inbox.
const FUTURE: i64 = 4_000_000_000;
/// Versions kept for the readers (a reader is never this far behind the writers).
const KEPT_VERSIONS: u64 = 1_000;

/// The model after each number of writes.
type History = RwLock<HashMap<u64, Arc<Model>>>;

struct Shared {
    store: DialogStore,
    clock: Arc<ManualClock>,
    /// The model and the number of writes it holds; a writer holds it across its commit.
    model: Mutex<(Model, u64)>,
    history: History,
    clock_dialog: DialogId,
    done: AtomicBool,
    reads: AtomicU64,
}

fn env(now: i64) -> dialogstore_testkit::fuzzing::Env<'static> {
    dialogstore_testkit::fuzzing::Env { now, app_id: APP_ID, muc: MUC }
}

/// One random write, committed with the clock's rename, and applied to the model.
fn write_once(sh: &Shared, rng: &mut Rng) {
    let mut guard = sh.model.lock().expect("model");
    let (model, version) = &mut *guard;
    let next = *version + 1;
    let now = dialogstore::Clock::now(&*sh.clock);
    let user = UserId(1 + rng.below(USERS));
    let other = UserId(1 + rng.below(USERS));
    let live: Vec<DialogId> =
        model.dialogs.iter().map(|d| d.id).filter(|id| *id != sh.clock_dialog).collect();
    let target = (!live.is_empty()).then(|| *rng.pick(&live));
    let roll = rng.below(10);
    let mut trial = model.clone();
    let env = env(now);
    let msg = MessageMeta { id: format!("m{next}"), text: format!("soak {next}"), date_sent: now };
    // The clock's message: dated far ahead, so the clock heads every inbox.
    let tick = MessageMeta { id: format!("c{next}"), text: format!("{next}"), date_sent: FUTURE };
    let out = sh.store.write(|b| {
        let outcome = match (roll, target) {
            (0..=1, _) | (_, None) => {
                let new = if roll == 0 {
                    NewDialog::private(other)
                } else {
                    NewDialog::group("Team", [other])
                };
                let d = b.create_dialog(user, new.clone());
                let id = d.as_ref().ok().map(|d| d.id);
                (d.map(drop), trial.create(&env, user, &new, id).map(drop))
            }
            (2..=6, Some(id)) => {
                (b.record_message(id, user, msg.clone()), trial.message(&env, id, user, &msg))
            }
            (7, Some(id)) => (b.mark_read(id, user), trial.mark_read(id, user)),
            (_, Some(id)) => {
                (b.delete_dialogs(user, &[id], false), trial.delete(&env, user, &[id], false))
            }
        };
        match outcome {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(code)) if e.code() == code => {}
            (have, want) => panic!("write {next}: the store answered {have:?}, the model {want:?}"),
        }
        b.record_message(sh.clock_dialog, OWNER, tick.clone())?;
        trial.message(&env, sh.clock_dialog, OWNER, &tick).expect("the model ticks the clock");
        // Published before the commit makes the version visible to readers; versions far
        // behind every reader are dropped.
        let mut history = sh.history.write().expect("history");
        history.insert(next, Arc::new(trial.clone()));
        if next > KEPT_VERSIONS {
            history.remove(&(next - KEPT_VERSIONS));
        }
        Ok(())
    });
    out.unwrap_or_else(|e| panic!("write {next}: {e}"));
    *model = trial;
    *version = next;
}

/// One read: the first page of a user's inbox, checked against the model of the version the
/// clock dialog at its head names.
fn read_once(sh: &Shared, rng: &mut Rng) {
    let user = UserId(1 + rng.below(USERS));
    let q: Query = "limit=100".parse().expect("query");
    let page = sh.store.list_dialogs(user, &q).expect("list_dialogs");
    let clock = page.items.first().filter(|d| d.id == sh.clock_dialog).expect("the clock heads");
    let version: u64 = clock.last_message.as_deref().unwrap_or("0").parse().expect("a version");
    let model = sh.history.read().expect("history").get(&version).cloned();
    let model = model.unwrap_or_else(|| panic!("version {version} was never written"));
    let (total, items) = model.list(user, &q).expect("the model lists");
    assert_eq!(page.total_entries, total, "user {user} at version {version}");
    if page.items != items {
        let ids = |v: &[dialogstore::Dialog]| v.iter().map(|d| d.id).collect::<Vec<_>>();
        let first = page.items.iter().zip(&items).find(|(a, b)| a != b);
        panic!(
            "user {user} at version {version}: store {:?}, model {:?}; first difference {first:#?}",
            ids(&page.items),
            ids(&items)
        );
    }
    sh.reads.fetch_add(1, Ordering::Relaxed);
}

/// The process's peak resident memory in bytes (Linux), if known.
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn readers_and_writers_agree_with_the_model_at_every_snapshot() {
    let secs = env_count("DIALOGSTORE_SOAK_SECS", 2);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("soak.redb");
    let clock = Arc::new(ManualClock::new(T0));
    let store = builder(&clock).staged_rows(16).open(&path).expect("open");
    let clock_dialog = store.create_dialog(OWNER, NewDialog::public("clock")).expect("clock").id;
    let tick = MessageMeta { id: "c0".into(), text: "0".into(), date_sent: FUTURE };
    store.record_message(clock_dialog, OWNER, tick.clone()).expect("tick");
    let mut model = Model::default();
    let public = NewDialog::public("clock");
    model.create(&env(T0), OWNER, &public, Some(clock_dialog)).expect("model");
    model.message(&env(T0), clock_dialog, OWNER, &tick).expect("model");
    let sh = Shared {
        store,
        clock: clock.clone(),
        history: RwLock::new(HashMap::from([(0, Arc::new(model.clone()))])),
        model: Mutex::new((model, 0)),
        clock_dialog,
        done: AtomicBool::new(false),
        reads: AtomicU64::new(0),
    };
    let readers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    std::thread::scope(|s| {
        for r in 0..readers {
            let sh = &sh;
            s.spawn(move || {
                let mut rng = Rng::new(1000 + r as u64);
                while !sh.done.load(Ordering::Relaxed) {
                    read_once(sh, &mut rng);
                }
            });
        }
        for w in 0..2 {
            let sh = &sh;
            s.spawn(move || {
                let mut rng = Rng::new(w);
                while !sh.done.load(Ordering::Relaxed) {
                    write_once(sh, &mut rng);
                    if rng.percent(20) {
                        // Under the model's lock: the other writer reads the time for its
                        // model before its write and the store reads it during the write, and
                        // both must see the same second.
                        let _writing = sh.model.lock().expect("model");
                        sh.clock.advance(1);
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_secs(secs));
        sh.done.store(true, Ordering::Relaxed);
    });
    let (model, writes) = sh.model.into_inner().expect("model");
    let store = sh.store;
    agree(&store, &model, &(1..=USERS).map(UserId).collect::<Vec<_>>()).expect("the end state");
    let stats = store.stats().expect("stats");
    let file = stats.file_bytes.unwrap_or(0);
    let memory = peak_memory();
    eprintln!(
        "soak: {secs} s, {readers} readers, 2 writers: {writes} writes, {} reads checked, {} \
         dialogs; file {} KiB, peak memory {:?} MiB, {:?}",
        sh.reads.load(Ordering::Relaxed),
        stats.dialogs(),
        file / 1024,
        memory.map(|m| m / (1 << 20)),
        started.elapsed()
    );
    assert!(writes > 0 && sh.reads.load(Ordering::Relaxed) > 0);
    // A few dozen small dialogs: the file holds the tables' pages and what copy-on-write
    // left free, not a page per write.
    assert!(file < (4 << 20) + writes * 4096, "the file grew to {file} bytes for {writes} writes");
}
