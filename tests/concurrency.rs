//! Many readers and one writer on one `Arc<DialogStore>`: readers never see a
//! half-applied write, never wait forever, and every answer is consistent with one commit.
//!
//! The writer keeps invariants that hold in every committed state, and the four readers check
//! them in every answer, while it writes:
//!
//! - **counters**: six groups of users 1 and 20, written in pairs: one batch records message
//!   `m{k}` in both dialogs of a pair. In every answer a counter's `last_message`,
//!   `last_message_id` and user 20's unread count all say the same `k` (three tables of one
//!   snapshot), both dialogs of a pair listed together say the same `k`, and a reader never sees
//!   `k` go down.
//! - **churn**: user 30 is in exactly ten groups in every state: one batch deletes one (the owner
//!   with force, or user 30 leaving) and creates another. Every query of user 30 on any access
//!   path (`_id` order, `created_at` walk, name n-grams, `count=1`, `explain`) totals exactly 10
//!   and lists all ten.
//! - **growth**: groups of users 1 and 11 are only ever created: user 11's total never goes down
//!   for a reader, and every dialog listed is readable afterwards.
//! - **versions**: five groups of user 40 whose name, photo and data are changed in one update to
//!   version `v`: every dialog read has the same `v` in all three (never a mix), `name[ctn]=even`
//!   lists only even versions, and `v` never goes down for a reader.
//! - **order**: messages in three public dialogs reorder everyone's inbox; every page is in the
//!   order its query asks for, ties broken by `_id`.
//!
//! Bounded: the writer makes 400 writes by default (`DIALOGSTORE_CONCURRENCY_WRITES=N` for more)
//! and every thread must finish within a deadline, or the test fails as a deadlock.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::*;
use dialogstore::{
    CustomData, DataValue, Dialog, DialogId, DialogStore, DialogUpdate, Durability, Error, Explain,
    ManualClock, NewDialog, Page, Query, UserId,
};

const OWNER_1: UserId = UserId(1);
const COUNTER_USER: UserId = UserId(20);
const CHURN_USER: UserId = UserId(30);
const GROW_USER: UserId = UserId(11);
const VERSION_USER: UserId = UserId(40);
const PUBLIC_ONLY_USER: UserId = UserId(2);
const COUNTERS: usize = 6;
const CHURN: u64 = 10;
const VERSIONED: u64 = 5;
const PUBLICS: u64 = 3;
/// Message dates start here and grow by one per message.
const DATES: i64 = 1_600_000_000;

/// Calls the readers made: `list_dialogs`, `get_dialog` and `explain`.
static READS: AtomicU64 = AtomicU64::new(0);

fn get(store: &DialogStore, user: UserId, id: DialogId) -> Result<Dialog, Error> {
    READS.fetch_add(1, Ordering::Relaxed);
    store.get(user, id)
}

#[test]
fn the_store_and_its_answers_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<DialogStore>();
    send_sync::<Arc<DialogStore>>();
    send_sync::<Dialog>();
    send_sync::<Page>();
    send_sync::<Query>();
    send_sync::<Explain>();
    send_sync::<Error>();
}

// ---- the writer ----

fn version_update(v: u64) -> DialogUpdate {
    let parity = if v.is_multiple_of(2) { "even" } else { "odd" };
    DialogUpdate::default()
        .name(format!("ver {v} {parity}"))
        .photo(format!("v{v}"))
        .data(CustomData::new("V").field("n", DataValue::String(v.to_string())))
}

struct Fixture {
    counters: Vec<DialogId>,
    versioned: Vec<DialogId>,
    churn: Vec<DialogId>,
}

fn set_up(store: &DialogStore) -> Fixture {
    store
        .write(|b| {
            let mut group = |name: &str, other: UserId| {
                b.create_dialog(OWNER_1, NewDialog::group(name, [other])).map(|d| d.id)
            };
            let counters = (0..COUNTERS)
                .map(|i| group(&format!("counter {i}"), COUNTER_USER))
                .collect::<Result<Vec<_>, _>>()?;
            let churn = (0..CHURN).map(|_| group("churn", CHURN_USER)).collect::<Result<_, _>>()?;
            let versioned = (0..VERSIONED)
                .map(|_| group("ver", VERSION_USER))
                .collect::<Result<Vec<_>, _>>()?;
            for id in &versioned {
                b.update_dialog(OWNER_1, *id, version_update(0))?;
            }
            for i in 0..PUBLICS {
                b.create_dialog(OWNER_1, NewDialog::public(format!("public {i}")))?;
            }
            Ok(Fixture { counters, versioned, churn })
        })
        .expect("set up")
}

#[derive(Default)]
struct WriterStats {
    writes: u64,
    messages: u64,
    creates: u64,
    deletes: u64,
    updates: u64,
}

fn write_loop(store: &DialogStore, clock: &ManualClock, fx: Fixture, writes: u64) -> WriterStats {
    let mut rng = Rng::new(0x0057_0e11);
    let mut stats = WriterStats::default();
    let mut churn = fx.churn;
    let mut counts = [0u64; COUNTERS / 2];
    let mut versions = vec![0u64; fx.versioned.len()];
    let publics: Vec<DialogId> = store
        .list_dialogs(PUBLIC_ONLY_USER, &"limit=100".parse().expect("query"))
        .expect("publics")
        .items
        .iter()
        .map(|d| d.id)
        .collect();
    let mut date = DATES;
    for step in 0..writes {
        clock.advance(1);
        let result = match step % 5 {
            0 => {
                let pair = rng.below(counts.len() as u64) as usize;
                counts[pair] += 1;
                let k = counts[pair];
                date += 1;
                stats.messages += 2;
                store.write(|b| {
                    for id in &fx.counters[2 * pair..2 * pair + 2] {
                        b.record_message(
                            *id,
                            OWNER_1,
                            msg(&format!("m{k}"), &format!("m{k}"), date),
                        )?;
                    }
                    Ok(())
                })
            }
            1 => {
                let gone = churn.remove(rng.below(churn.len() as u64) as usize);
                let force = rng.percent(50);
                let user = if force { OWNER_1 } else { CHURN_USER };
                stats.deletes += 1;
                stats.creates += 1;
                store
                    .write(|b| {
                        b.delete_dialogs(user, &[gone], force)?;
                        b.create_dialog(OWNER_1, NewDialog::group("churn", [CHURN_USER]))
                    })
                    .map(|d| churn.push(d.id))
            }
            2 => {
                stats.creates += 1;
                store.create_dialog(OWNER_1, NewDialog::group("grow", [GROW_USER])).map(drop)
            }
            3 => {
                let i = rng.below(versions.len() as u64) as usize;
                versions[i] += 1;
                stats.updates += 1;
                store.update_dialog(OWNER_1, fx.versioned[i], version_update(versions[i])).map(drop)
            }
            _ => {
                date += 1;
                stats.messages += 1;
                let id = *rng.pick(&publics);
                store.record_message(id, OWNER_1, msg(&format!("p{date}"), "news", date))
            }
        };
        result.unwrap_or_else(|e| panic!("write {step}: {e}"));
        stats.writes += 1;
    }
    stats
}

// ---- the readers ----

/// What one reader has seen so far, to check that nothing goes backwards.
#[derive(Default)]
struct Seen {
    counter: HashMap<DialogId, u64>,
    version: HashMap<DialogId, u64>,
    grow_total: u64,
    owner_total: u64,
}

fn list(store: &DialogStore, user: UserId, q: &str) -> Page {
    let query: Query = q.parse().unwrap_or_else(|e| panic!("{q}: {e}"));
    READS.fetch_add(1, Ordering::Relaxed);
    store.list_dialogs(user, &query).unwrap_or_else(|e| panic!("list_dialogs({user}, {q}): {e}"))
}

/// The page holds every match (the queries here fit one page): the list and its total come from
/// one snapshot.
#[track_caller]
fn complete(page: &Page, q: &str) {
    assert!(
        page.items.len() as u64 == page.total_entries,
        "{q}: total {} but {} items",
        page.total_entries,
        page.items.len()
    );
}

/// The order a query asks for: `(has a value, value, _id)` never increases (descending) or never
/// decreases (ascending) along the page.
#[track_caller]
fn ordered(page: &Page, field: &str, desc: bool, q: &str) {
    let key = |d: &Dialog| match field {
        "last_message_date_sent" => match d.last_message_date_sent {
            Some(t) => (1, t, d.id),
            None => (0, d.created_at, d.id),
        },
        "created_at" => (1, d.created_at, d.id),
        _ => (1, 0, d.id),
    };
    for w in page.items.windows(2) {
        let (a, b) = (key(&w[0]), key(&w[1]));
        assert!(if desc { a > b } else { a < b }, "{q}: {a:?} then {b:?}");
    }
}

/// A counter dialog: last message, its id and the viewer's unread count say one `k`.
#[track_caller]
fn counter_k(d: &Dialog, seen: &mut Seen) -> u64 {
    let k = match d.last_message_id.as_deref() {
        None => 0,
        Some(id) => id.strip_prefix('m').and_then(|k| k.parse().ok()).expect("m{k}"),
    };
    assert!(d.last_message == d.last_message_id, "counter {}: mixed message fields {d:?}", d.id);
    assert!(d.unread_messages_count == Some(k as u32), "counter {}: unread vs m{k}: {d:?}", d.id);
    let before = seen.counter.insert(d.id, k).unwrap_or(0);
    assert!(k >= before, "counter {} went back from m{before} to m{k}", d.id);
    k
}

/// A versioned dialog: name, photo and data are of one version, which never goes back.
#[track_caller]
fn version_of(d: &Dialog, seen: &mut Seen) -> u64 {
    let name = d.name.as_deref().unwrap_or("");
    let v: u64 = name.split(' ').nth(1).and_then(|v| v.parse().ok()).expect("ver {v} ...");
    let parity = if v.is_multiple_of(2) { "even" } else { "odd" };
    assert!(name == format!("ver {v} {parity}"), "{}: name {name:?}", d.id);
    assert!(d.photo.as_deref() == Some(format!("v{v}").as_str()), "{}: mixed versions {d:?}", d.id);
    let data = d.data.as_ref().and_then(|x| x.fields.get("n"));
    assert!(data == Some(&DataValue::String(v.to_string())), "{}: mixed versions {d:?}", d.id);
    let before = seen.version.insert(d.id, v).unwrap_or(0);
    assert!(v >= before, "{} went back from version {before} to {v}", d.id);
    v
}

fn counters(store: &DialogStore, seen: &mut Seen) {
    let q = "type=2&sort_desc=last_message_date_sent&limit=100";
    let page = list(store, COUNTER_USER, q);
    complete(&page, q);
    assert!(page.total_entries == COUNTERS as u64, "{q}: {} counters", page.total_entries);
    ordered(&page, "last_message_date_sent", true, q);
    let mut by_name = HashMap::new();
    for d in &page.items {
        by_name.insert(d.name.as_deref().unwrap_or_default().to_owned(), counter_k(d, seen));
    }
    for pair in 0..COUNTERS / 2 {
        let (a, b) = (
            by_name[&format!("counter {}", 2 * pair)],
            by_name[&format!("counter {}", 2 * pair + 1)],
        );
        assert!(a == b, "pair {pair}: one batch half seen, m{a} and m{b}");
    }
    // Each listed counter read on its own: never deleted, and never older than listed.
    let d = &page.items[page.items.len() / 2];
    let read = get(store, COUNTER_USER, d.id).unwrap_or_else(|e| panic!("get {}: {e}", d.id));
    counter_k(&read, seen);
}

fn churn(store: &DialogStore, rng: &mut Rng) {
    let queries = [
        "type=2&limit=100",
        "type=2&sort_asc=created_at&limit=100",
        "type=2&sort_desc=updated_at&limit=100",
        "name[ctn]=chur&limit=100",
        "occupants_ids[all]=30&type[in]=2,3&limit=100",
    ];
    let q = *rng.pick(&queries);
    let page = list(store, CHURN_USER, q);
    complete(&page, q);
    assert!(page.total_entries == CHURN, "{q}: user 30 in {} dialogs, not 10", page.total_entries);
    for d in &page.items {
        assert!(d.name.as_deref() == Some("churn") && d.is_occupant(CHURN_USER), "{q}: {d:?}");
    }
    if q.contains("created_at") {
        ordered(&page, "created_at", false, q);
    }
    let count = list(store, CHURN_USER, "type=2&count=1");
    assert!(count.total_entries == CHURN, "count=1: {}", count.total_entries);
    READS.fetch_add(1, Ordering::Relaxed);
    let explain = store.explain(CHURN_USER, &q.parse().expect("query")).expect("explain");
    assert!(explain.total_entries() == CHURN, "explain {q}: {}", explain.total_entries());
    assert!(!explain.to_string().is_empty(), "explain prints");
    // A dialog listed a moment ago is there, or deleted or left by a later commit.
    let d = rng.pick(&page.items);
    match get(store, CHURN_USER, d.id) {
        Ok(read) => assert!(read.name.as_deref() == Some("churn"), "{read:?}"),
        Err(e) => assert!(matches!(e.code(), "NOT_FOUND" | "ACCESS_ERROR"), "get {}: {e}", d.id),
    }
}

/// A total that only grows: the next answer is never below the last this reader saw.
#[track_caller]
fn never_back(last: &mut u64, now: u64, what: &str) {
    assert!(now >= *last, "{what} went back from {last} to {now}");
    *last = now;
}

fn growth(store: &DialogStore, seen: &mut Seen) {
    let q = "type=2&sort_desc=created_at&limit=100";
    let page = list(store, GROW_USER, q);
    never_back(&mut seen.grow_total, page.total_entries, "user 11's total");
    assert!(
        page.items.len() as u64 == page.total_entries.min(100),
        "{q}: {} items",
        page.items.len()
    );
    ordered(&page, "created_at", true, q);
    for d in page.items.iter().take(3) {
        assert!(d.name.as_deref() == Some("grow"), "{d:?}");
        store
            .get(GROW_USER, d.id)
            .unwrap_or_else(|e| panic!("grow dialog {} listed, then {e}", d.id));
    }
    let count = list(store, GROW_USER, "type=2&count=1").total_entries;
    never_back(&mut seen.grow_total, count, "user 11's count=1");
}

fn versions(store: &DialogStore, seen: &mut Seen) {
    let q = "name[ctn]=ver&limit=100";
    let page = list(store, VERSION_USER, q);
    complete(&page, q);
    assert!(page.total_entries == VERSIONED, "{q}: {}", page.total_entries);
    for d in &page.items {
        version_of(d, seen);
    }
    let q = "name[ctn]=even&type=2&limit=100";
    let page = list(store, VERSION_USER, q);
    complete(&page, q);
    for d in &page.items {
        assert!(version_of(d, seen).is_multiple_of(2), "{q} lists {d:?}");
    }
    let q = "data[class_name]=V&data[n][ne]=-1&sort_desc=updated_at&limit=100";
    let page = list(store, VERSION_USER, q);
    complete(&page, q);
    assert!(page.total_entries == VERSIONED, "{q}: {}", page.total_entries);
}

fn inbox(store: &DialogStore, seen: &mut Seen, rng: &mut Rng) {
    let page = list(store, PUBLIC_ONLY_USER, "limit=100");
    complete(&page, "limit=100");
    assert!(page.total_entries == PUBLICS, "user 2 sees {} dialogs", page.total_entries);
    ordered(&page, "last_message_date_sent", true, "user 2's inbox");
    let q = format!("sort_desc=last_message_date_sent&limit=20&skip={}", 20 * rng.below(3));
    let page = list(store, OWNER_1, &q);
    ordered(&page, "last_message_date_sent", true, &q);
    never_back(&mut seen.owner_total, page.total_entries, "user 1's total");
}

/// Runs queries until the writer is done; returns how many.
fn read_loop(store: &DialogStore, seed: u64, done: &AtomicBool) -> u64 {
    let mut rng = Rng::new(seed);
    let mut seen = Seen::default();
    let mut queries = 0;
    // At least one round of every kind, then on until the writer has finished.
    while queries < 5 || !done.load(Ordering::Acquire) {
        match rng.below(5) {
            0 => counters(store, &mut seen),
            1 => churn(store, &mut rng),
            2 => growth(store, &mut seen),
            3 => versions(store, &mut seen),
            _ => inbox(store, &mut seen, &mut rng),
        }
        queries += 1;
    }
    queries
}

#[test]
fn four_readers_and_one_writer_see_only_whole_commits() {
    let writes = env_count("DIALOGSTORE_CONCURRENCY_WRITES", 400);
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = Arc::new(ManualClock::new(T0));
    let store = Arc::new(
        builder(&clock)
            .durability(Durability::None)
            .open(dir.path().join("concurrency.redb"))
            .expect("open"),
    );
    let fx = set_up(&store);
    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let queries = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel::<(String, std::thread::Result<String>)>();
    let mut handles = Vec::new();
    for r in 0..4u64 {
        let (store, done, queries, tx) = (store.clone(), done.clone(), queries.clone(), tx.clone());
        handles.push(std::thread::spawn(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let n = read_loop(&store, r, &done);
                queries.fetch_add(n, Ordering::Relaxed);
                format!("{n} rounds of checks")
            }));
            let _ = tx.send((format!("reader {r}"), out));
        }));
    }
    {
        let (store, clock, done, tx) = (store.clone(), clock.clone(), done.clone(), tx.clone());
        handles.push(std::thread::spawn(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let s = write_loop(&store, &clock, fx, writes);
                format!(
                    "{} writes: {} messages, {} creates, {} deletes, {} updates",
                    s.writes, s.messages, s.creates, s.deletes, s.updates
                )
            }));
            done.store(true, Ordering::Release);
            let _ = tx.send(("writer".to_owned(), out));
        }));
    }
    drop(tx);

    // Bounded time: a thread that does not report by the deadline is stuck.
    let deadline = started + Duration::from_secs(120);
    let mut reports = Vec::new();
    for _ in 0..5 {
        let left = deadline.saturating_duration_since(Instant::now());
        let (who, out) = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("deadlock: only {reports:?} finished within 120 s"));
        match out {
            Ok(report) => reports.push(format!("{who}: {report}")),
            Err(panic) => {
                done.store(true, Ordering::Release);
                panic!("{who} failed: {}", panic_message(&*panic));
            }
        }
    }
    for h in handles {
        h.join().expect("joined");
    }
    store.sync().expect("sync");
    let report = store.check_integrity().expect("check_integrity");
    assert!(report.is_clean(), "{report}");
    eprintln!(
        "concurrency: {} reads ({} rounds of checks) by 4 readers in {:?}; {}",
        READS.load(Ordering::Relaxed),
        queries.load(Ordering::Relaxed),
        started.elapsed(),
        reports.join("; ")
    );
}
