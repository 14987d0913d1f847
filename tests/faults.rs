//! A disk that fails while the store runs (`FaultyDisk`, through redb's backend hook): writes
//! or syncs that return EIO, a disk that fills up, and a disk that comes back.
//!
//! The sweep runs one scripted sequence of writes (creates of every type, single messages, a
//! batch of messages, `mark_read`, a leave, enough creates to seal the staging window twice,
//! then `compact`)
//! once to count its I/O calls, then once for every failure point: the n-th write, sync or
//! resize fails (with EIO, or as a full disk), the disk heals right after the call that met it,
//! and the sequence goes on on the same store value. Every call must answer as the plain model
//! says, except the one that met the failure, which fails with `STORAGE` and leaves nothing of
//! itself; at the end, and after reopening the file, every inbox equals the model's and the
//! integrity check is clean. Then the same for group commits: callers on several threads while
//! the disk fails, every failed call `STORAGE` and absent, every acknowledged one there.

mod common;

use std::sync::Arc;

use common::*;
use dialogstore::{DialogId, DialogStore, FaultyDisk, ManualClock, MessageMeta, NewDialog, UserId};
use dialogstore_testkit::fuzzing::model::Model;

const USERS: [u64; 5] = [1, 2, 3, 4, 5];

/// A step of the script. Dialogs are named by their index among the model's live dialogs.
#[derive(Clone, Debug)]
enum Step {
    Group(u64, Vec<u64>),
    Private(u64, u64),
    Public(u64),
    Message(usize, usize),
    Batch(usize, u32),
    MarkRead(usize, usize),
    Leave(usize, usize),
}

fn script() -> Vec<Step> {
    let mut steps = vec![
        Step::Group(1, vec![2, 3]),
        Step::Private(1, 2),
        Step::Public(4),
        Step::Message(0, 1),
        Step::Batch(0, 3),
        Step::Private(3, 4),
        Step::Message(1, 0),
        Step::MarkRead(0, 2),
        Step::Group(2, vec![4, 5]),
        Step::Leave(0, 2),
    ];
    // With a staging window of 4 rows, these seal it (twice, with the rows above).
    for k in 0..5u64 {
        steps.push(Step::Group(1 + k % 5, vec![1 + (k + 2) % 5]));
        steps.push(Step::Message(k as usize, 1));
    }
    steps.push(Step::Batch(3, 2));
    steps
}

/// The dialog a step names (by index among the model's live dialogs) and its `k`-th occupant
/// (the owner of a dialog without occupants).
fn dialog(model: &Model, i: usize) -> Option<&dialogstore::Dialog> {
    model.dialogs.get(i % model.dialogs.len().max(1))
}

fn member(model: &Model, i: usize, k: usize) -> UserId {
    let d = dialog(model, i).expect("a live dialog");
    d.occupants_ids.get(k % d.occupants_ids.len().max(1)).copied().unwrap_or(d.user_id)
}

fn meta(n: u64, k: u32, now: i64) -> MessageMeta {
    MessageMeta { id: format!("{n:012}{k:012}"), text: "hi".into(), date_sent: now }
}

fn new_dialog(step: &Step) -> Option<(UserId, NewDialog)> {
    match step {
        Step::Group(owner, others) => {
            Some((UserId(*owner), NewDialog::group("Team", others.iter().map(|u| UserId(*u)))))
        }
        Step::Private(a, b) => Some((UserId(*a), NewDialog::private(UserId(*b)))),
        Step::Public(owner) => Some((UserId(*owner), NewDialog::public("News"))),
        _ => None,
    }
}

/// Runs step `n` on the store, its dialogs and users read from `model` (before the step);
/// returns the dialog it created, if any.
fn store_step(
    store: &DialogStore,
    model: &Model,
    now: i64,
    step: &Step,
    n: u64,
) -> Result<Option<DialogId>, dialogstore::Error> {
    if let Some((owner, new)) = new_dialog(step) {
        return store.create_dialog(owner, new).map(|d| Some(d.id));
    }
    let id = |i: &usize| dialog(model, *i).map(|d| d.id);
    match step {
        Step::Message(i, k) => match id(i) {
            Some(id) => store.record_message(id, member(model, *i, *k), meta(n, 0, now)),
            None => Ok(()),
        },
        Step::Batch(i, count) => match id(i) {
            Some(id) => store.write(|b| {
                (0..*count).try_for_each(|k| {
                    b.record_message(id, member(model, *i, k as usize), meta(n, k, now))
                })
            }),
            None => Ok(()),
        },
        Step::MarkRead(i, k) => match id(i) {
            Some(id) => store.mark_read(id, member(model, *i, *k)),
            None => Ok(()),
        },
        Step::Leave(i, k) => match id(i) {
            Some(id) => store.delete_dialogs(member(model, *i, *k), &[id], false),
            None => Ok(()),
        },
        _ => Ok(()),
    }
    .map(|()| None)
}

/// The model's side of step `n`; `created` is the id the store gave a created dialog.
fn model_step(
    model: &mut Model,
    now: i64,
    step: &Step,
    n: u64,
    created: Option<DialogId>,
) -> Result<(), &'static str> {
    let env = dialogstore_testkit::fuzzing::Env { now, app_id: APP_ID, muc: MUC };
    if let Some((owner, new)) = new_dialog(step) {
        return model.create(&env, owner, &new, created).map(drop);
    }
    let Some(id) = (match step {
        Step::Message(i, _) | Step::Batch(i, _) | Step::MarkRead(i, _) | Step::Leave(i, _) => {
            dialog(model, *i).map(|d| d.id)
        }
        _ => None,
    }) else {
        return Ok(());
    };
    match step {
        Step::Message(i, k) => {
            let sender = member(model, *i, *k);
            model.message(&env, id, sender, &meta(n, 0, now))
        }
        Step::Batch(i, count) => (0..*count).try_for_each(|k| {
            let sender = member(model, *i, k as usize);
            model.message(&env, id, sender, &meta(n, k, now))
        }),
        Step::MarkRead(i, k) => {
            let user = member(model, *i, *k);
            model.mark_read(id, user)
        }
        Step::Leave(i, k) => {
            let user = member(model, *i, *k);
            model.delete(&env, user, &[id], false)
        }
        _ => Ok(()),
    }
}

/// How a sweep's disk fails at the chosen call.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The call fails with EIO, and every one after it until the disk heals.
    Eio,
    /// From the call on the file cannot grow (a full disk) until the disk heals.
    Full,
}

/// Runs the script with the `n`-th I/O call failing (`None`: never); returns the I/O calls the
/// script made and what happened to the call that met the failure.
fn sweep_once(fault_at: Option<u64>, fault: Fault) -> Swept {
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = FaultyDisk::new(dir.path().join("faulty.redb"));
    let clock = Arc::new(ManualClock::new(T0));
    let mut store = builder(&clock).staged_rows(4).open_faulty(&disk).expect("open");
    let start = disk.io_calls();
    match (fault_at, fault) {
        (Some(n), Fault::Eio) => disk.fail_from(n),
        (Some(n), Fault::Full) => disk.fill_from(n),
        (None, _) => {}
    }
    let mut model = Model::default();
    let mut failed = false;
    let (mut absent, mut present) = (0, 0);
    for (at, step) in script().iter().enumerate() {
        clock.advance(1);
        let now = dialogstore::Clock::now(&*clock);
        let n = at as u64;
        let out = store_step(&store, &model, now, step, n);
        if matches!(&out, Err(e) if e.code() == "STORAGE") {
            assert!(disk.has_failed(), "step {at} ({step:?}) failed in storage on a working disk");
            failed = true;
            disk.heal();
            // The disk works: the same store value reads (opening the file again by itself:
            // no write comes first), and writes on below. Everything before the failed call is
            // there, and the failed call entirely or not at all: a commit whose last sync
            // failed may have reached the disk.
            let users = USERS.map(UserId);
            let Err(without) = agree(&store, &model, &users) else {
                absent += 1;
                continue;
            };
            let mut with = model.clone();
            let created = new_ids(&store, &model).first().copied();
            let applied = model_step(&mut with, now, step, n, created);
            match applied.map_err(str::to_owned).and_then(|()| agree(&store, &with, &users)) {
                Ok(()) => {
                    present += 1;
                    model = with;
                }
                Err(e) => panic!(
                    "fault at {fault_at:?}, step {at} ({step:?}) failed: neither without it \
                     ({without}) nor with it ({e})"
                ),
            }
            continue;
        }
        let created = out.as_ref().ok().copied().flatten();
        let mut trial = model.clone();
        let want = model_step(&mut trial, now, step, n, created);
        match (&out, want) {
            (Ok(_), Ok(())) => model = trial,
            (Err(e), Err(code)) if e.code() == code => {}
            (have, want) => {
                panic!("step {step:?}: the store answered {have:?}, the model {want:?}")
            }
        }
    }
    // Last, `compact` (which rewrites the file): a failure fails it alone, and changes nothing.
    match store.compact() {
        Err(e) if !failed && e.code() == "STORAGE" => {
            assert!(disk.has_failed(), "compact failed in storage on a working disk: {e}");
            failed = true;
            absent += 1;
            disk.heal();
        }
        Err(e) => panic!("fault at {fault_at:?}: compact: {e}"),
        Ok(_) => {}
    }
    let calls = disk.io_calls() - start;
    agree(&store, &model, &USERS.map(UserId))
        .unwrap_or_else(|e| panic!("fault at {fault_at:?}: {e}"));
    drop(store);
    let store = builder(&clock).open(disk.path()).expect("reopen");
    agree(&store, &model, &USERS.map(UserId))
        .unwrap_or_else(|e| panic!("fault at {fault_at:?}, reopened: {e}"));
    Swept { calls, failed, absent, present }
}

/// What one run of the script saw.
struct Swept {
    /// I/O calls the script made.
    calls: u64,
    /// Whether a call failed in storage.
    failed: bool,
    /// Failed calls found absent, and found committed, once the disk worked again.
    absent: u64,
    present: u64,
}

#[test]
fn every_failing_io_call_fails_its_write_alone_and_the_store_goes_on() {
    let healthy = sweep_once(None, Fault::Eio);
    assert!(!healthy.failed);
    let calls = healthy.calls;
    assert!(calls > 20, "the script made {calls} I/O calls");
    let (mut failures, mut absent, mut present) = (0, 0, 0);
    for n in 0..calls {
        let run = sweep_once(Some(n), Fault::Eio);
        failures += u64::from(run.failed);
        (absent, present) = (absent + run.absent, present + run.present);
    }
    eprintln!(
        "faults: {calls} I/O calls swept, {failures} writes failed and the store went on; the \
         failed write absent after healing {absent} times, committed {present} times"
    );
    assert!(failures > calls / 4, "only {failures} of {calls} failure points failed a write");
}

#[test]
fn a_full_disk_fails_writes_until_space_comes_back() {
    let calls = sweep_once(None, Fault::Eio).calls;
    let mut failures = 0;
    for n in 0..calls {
        failures += u64::from(sweep_once(Some(n), Fault::Full).failed);
    }
    eprintln!("full disk: {calls} points, {failures} writes failed and the store went on");
    assert!(failures > 0, "a full disk never failed a write");
}

#[test]
fn a_failed_group_commit_fails_its_calls_and_the_next_groups_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = FaultyDisk::new(dir.path().join("groups.redb"));
    let clock = Arc::new(ManualClock::new(T0));
    let store = builder(&clock).open_faulty(&disk).expect("open");
    const THREADS: u64 = 8;
    const CALLS: u64 = 60;
    let dialogs: Vec<DialogId> = (0..THREADS)
        .map(|t| store.create_dialog(UserId(100 + t), NewDialog::group("T", [UserId(200 + t)])))
        .map(|d| d.expect("create").id)
        .collect();
    let calls = std::sync::atomic::AtomicU64::new(0);
    let outcomes: Vec<(u64, u64)> = std::thread::scope(|s| {
        // The disk fails once a quarter of the calls are made, and heals 20 ms after its first
        // failed call.
        s.spawn(|| {
            while calls.load(std::sync::atomic::Ordering::SeqCst) < THREADS * CALLS / 4 {
                std::thread::yield_now();
            }
            disk.fail_from(0);
            while !disk.has_failed() {
                std::thread::yield_now();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            disk.heal();
        });
        let threads: Vec<_> = dialogs
            .iter()
            .enumerate()
            .map(|(t, &id)| {
                let (store, calls) = (&store, &calls);
                s.spawn(move || {
                    let (mut ok, mut failed) = (0, 0);
                    for i in 0..CALLS {
                        let sender = UserId(100 + t as u64);
                        let out = store.record_message(id, sender, meta(i, t as u32, T0));
                        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        match out {
                            Ok(()) => ok += 1,
                            Err(e) if e.code() == "STORAGE" => failed += 1,
                            Err(e) => panic!("thread {t}: call {i} failed with {e}"),
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().expect("caller")).collect()
    });
    let failed: u64 = outcomes.iter().map(|(_, f)| f).sum();
    assert!(failed > 0, "no call met the failing disk");
    // The disk works again: the next groups commit, on the same store value.
    let outcomes: Vec<(u64, u64)> = std::thread::scope(|s| {
        let threads: Vec<_> = dialogs
            .iter()
            .zip(&outcomes)
            .enumerate()
            .map(|(t, (&id, &(ok, failed)))| {
                let store = &store;
                s.spawn(move || {
                    for i in 0..10 {
                        let sender = UserId(100 + t as u64);
                        let out = store.record_message(id, sender, meta(CALLS + i, t as u32, T0));
                        out.unwrap_or_else(|e| panic!("thread {t}, after healing: {e}"));
                    }
                    (ok + 10, failed)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().expect("caller")).collect()
    });
    let check = |store: &DialogStore| {
        for (t, (&id, (ok, failed))) in dialogs.iter().zip(&outcomes).enumerate() {
            // Every acknowledged message is counted; a failed one only if its commit reached
            // the disk although its sync failed.
            let unread = u64::from(store.unread(UserId(200 + t as u64), id));
            assert!(
                (*ok..=ok + failed).contains(&unread),
                "thread {t}: {ok} acknowledged, {failed} failed, {unread} counted"
            );
        }
        assert!(store.check_integrity().expect("integrity").is_clean());
    };
    check(&store);
    eprintln!("group faults: {failed} of {} calls failed, the rest committed", THREADS * CALLS);
    drop(store);
    check(&builder(&clock).open(disk.path()).expect("reopen"));
}

/// Writers (single calls, `sync`, and batches that read the store inside their transaction)
/// and readers on a disk that fails and heals every few milliseconds, with a cache small
/// enough that redb writes pages in the middle of a transaction: every call ends (no thread
/// waits for another forever while the file is opened again), with success or `STORAGE`, and
/// once the disk works the store reads, writes and passes the integrity check.
#[test]
fn calls_on_a_flapping_disk_all_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = FaultyDisk::new(dir.path().join("flapping.redb"));
    let clock = Arc::new(ManualClock::new(T0));
    let store = builder(&clock).cache_size(256 << 10).open_faulty(&disk).expect("open");
    let ids: Vec<DialogId> = (0..4u64)
        .map(|t| store.create_dialog(UserId(10 + t), NewDialog::group("F", [UserId(20 + t)])))
        .map(|d| d.expect("create").id)
        .collect();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let work = {
        let (store, disk, ids) = (Arc::new(store), disk.clone(), ids.clone());
        std::thread::spawn(move || {
            let stop = std::sync::atomic::AtomicBool::new(false);
            std::thread::scope(|s| {
                s.spawn(|| {
                    let mut rng = Rng::new(7);
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        disk.fail_from(rng.below(40));
                        std::thread::sleep(std::time::Duration::from_millis(1 + rng.below(4)));
                        disk.heal();
                        std::thread::sleep(std::time::Duration::from_millis(1 + rng.below(4)));
                    }
                });
                let workers: Vec<_> = ids
                    .iter()
                    .enumerate()
                    .map(|(t, &id)| {
                        let store = &store;
                        s.spawn(move || {
                            let user = UserId(10 + t as u64);
                            let (mut ok, mut failed) = (0u64, 0u64);
                            for i in 0..300u64 {
                                let m = meta(i, t as u32, T0);
                                let out = match i % 5 {
                                    0 => store.sync(),
                                    1 => store.get(user, id).map(drop),
                                    2 => store.write(|b| {
                                        b.record_message(id, user, m.clone())?;
                                        // A read inside the transaction, on its own snapshot.
                                        store.get(user, id).map(drop)
                                    }),
                                    _ => store.record_message(id, user, m),
                                };
                                match out {
                                    Ok(()) => ok += 1,
                                    Err(e) => {
                                        assert_eq!(e.code(), "STORAGE", "thread {t}, {i}: {e}");
                                        failed += 1;
                                    }
                                }
                            }
                            (ok, failed)
                        })
                    })
                    .collect();
                let (mut ok, mut failed) = (0, 0);
                for w in workers {
                    let (o, f) = w.join().expect("worker");
                    (ok, failed) = (ok + o, failed + f);
                }
                eprintln!("flapping disk: {ok} calls succeeded, {failed} failed in storage");
                assert!(ok > 0 && failed > 0, "{ok} succeeded, {failed} failed");
                stop.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            disk.heal();
            done_tx.send(store).expect("report");
        })
    };
    let store = done_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("every call on the flapping disk ended within 60 s");
    work.join().expect("the work thread");
    for (t, &id) in ids.iter().enumerate() {
        let user = UserId(10 + t as u64);
        store.record_message(id, user, meta(999, t as u32, T0)).expect("a write once healed");
        store.get(user, id).expect("a read once healed");
    }
    assert!(store.check_integrity().expect("integrity").is_clean());
}

/// A disk whose reads fail: reads that need the disk fail with `STORAGE` (never `CORRUPTED`,
/// never a wrong answer), and once it heals the same store reads and writes again (redb
/// refuses a database after a failed read too: the store opens the file again by itself).
#[test]
fn failing_reads_fail_with_storage_and_the_store_recovers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = FaultyDisk::new(dir.path().join("reads.redb"));
    let clock = Arc::new(ManualClock::new(T0));
    let mut model = Model::default();
    {
        let store = builder(&clock).open_faulty(&disk).expect("open");
        let env = dialogstore_testkit::fuzzing::Env { now: T0, app_id: APP_ID, muc: MUC };
        for k in 0..300u64 {
            let new = NewDialog::group(format!("Group {k}"), [UserId(1 + k % 5)]);
            let owner = UserId(1 + (k + 1) % 5);
            let d = store.create_dialog(owner, new.clone()).expect("create");
            model.create(&env, owner, &new, Some(d.id)).expect("model");
        }
    }
    // A small cache, so that reads go to the disk.
    let store = builder(&clock).cache_size(64 << 10).open_faulty(&disk).expect("reopen");
    disk.fail_reads();
    let mut failed = 0;
    for user in USERS.map(UserId) {
        match store.list_dialogs(user, &"limit=100".parse().expect("query")) {
            Ok(page) => {
                let want = model.list(user, &"limit=100".parse().expect("query")).expect("model");
                assert_eq!((page.total_entries, page.items), want, "a read on a failing disk");
            }
            Err(e) => {
                assert_eq!(e.code(), "STORAGE", "{e}");
                failed += 1;
            }
        }
    }
    assert!(failed > 0, "no read met the failing disk");
    disk.heal();
    agree(&store, &model, &USERS.map(UserId)).expect("reads once the disk heals");
    let d = store.create_dialog(UserId(1), NewDialog::private(UserId(2))).expect("a write");
    let env = dialogstore_testkit::fuzzing::Env { now: T0, app_id: APP_ID, muc: MUC };
    model.create(&env, UserId(1), &NewDialog::private(UserId(2)), Some(d.id)).expect("model");
    agree(&store, &model, &USERS.map(UserId)).expect("after a write");
}
