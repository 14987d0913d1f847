//! The change feed (SPEC section 9): `changes_since` latency on a copy of the benchmark data
//! set's store (`DIALOGSTORE_BENCH_DIALOGS` dialogs, default 1,000,000; the copy in a temporary
//! directory, so the query data set is left as it was), for the viewer sets of
//! `benches/queries.rs`: activity-weighted users (`weighted`), the 10 busiest (`busiest10`) and,
//! as an extra column, uniformly drawn users (`uniform`).
//!
//! Before timing, every viewer syncs in full: `changes_since` from `ChangeCursor::start()` until
//! `has_more` is false (1,000 entries a call), and must then hold as many dialogs as the inbox's
//! `total_entries`. Then, with the store's caches warm:
//!
//! - `changes_empty`: `changes_since(viewer, cursor, 100)` with the cursor of that full sync,
//!   nothing written since: the empty answer (asserted empty before timing). Criterion, viewers
//!   rotating call by call, as in `benches/queries.rs`.
//! - `inbox_reference`: `list_dialogs(viewer, "sort_desc=last_message_date_sent&limit=100")`
//!   (the query parsed each call) on the same store, for scale: what a client that re-reads its
//!   first inbox page pays instead. Criterion, the same way.
//! - `changes_10`: a caught-up cursor, then 10 `record_message` calls (each its own commit, so
//!   the store-wide log holds exactly those 10 entries after the cursor) in 10 distinct dialogs
//!   of the viewer, drawn from the dialogs they occupy (the sender another occupant, so the
//!   viewer's unread count changes too), then one timed `changes_since(viewer, cursor, 100)`;
//!   the answer must hold exactly those 10 dialogs. The viewers rotate, and each sample is
//!   prepared afresh (the writes are not timed), so this one is a plain loop of about
//!   `TEN_CHANGES_SAMPLES` samples a viewer set after a warm-up round.
//!
//! Each timed feed call parses the cursor token first, as a service receiving it would. The
//! store is opened as `benches/queries.rs` opens it (512 MiB cache), with `Durability::None` for
//! the untimed writes. `benches/results/changes.json` gets p50 and p99 per class and viewer set.
//! SQLite has no equivalent of the feed (no commit log to read), so there is no SQLite column.

mod common;

use std::collections::{HashMap, HashSet};

use common::{Measured, Timings};
use criterion::Criterion;
use dialogstore::{
    ChangeCursor, DialogId, DialogStore, DialogType, Durability, MessageMeta, Query, UserId,
};

/// Times `call(i)` (the `i`-th call) with criterion as `class/set/dialogstore`, keeping every
/// measured call's latency.
fn criterion_calls(
    c: &mut Criterion,
    class: &str,
    set: &str,
    call: impl Fn(usize),
) -> Option<Measured> {
    let mut group = c.benchmark_group(format!("{class}/{set}"));
    group.sample_size(SAMPLES);
    let timings = Timings::new(SAMPLES);
    group.bench_function("dialogstore", |b| {
        b.iter_custom(|iters| timings.run(iters, |i| call(i as usize)))
    });
    group.finish();
    timings.measured()
}

/// Criterion samples per benchmark (its default), each one call of the timed routine.
const SAMPLES: usize = 100;

/// Timed `changes_10` calls a viewer set, at least (whole rounds over the set).
const TEN_CHANGES_SAMPLES: usize = 1000;

/// Dialogs that change in a `changes_10` sample.
const CHANGED: usize = 10;

/// The feed answer's limit in the timed calls.
const LIMIT: usize = 100;

/// The reference query.
const INBOX: &str = "sort_desc=last_message_date_sent&limit=100";

/// The targets of issue 21, activity-weighted users: p50 of the empty answer and of 10 changes.
const TARGET_EMPTY_US: f64 = 5.0;
const TARGET_TEN_US: f64 = 30.0;

#[derive(serde::Serialize)]
struct Row {
    class: &'static str,
    /// `weighted`, `busiest10` or `uniform`.
    viewers: &'static str,
    call: &'static str,
    backend: &'static str,
    calls: usize,
    p50_us: f64,
    p99_us: f64,
    mean_us: f64,
}

/// What one viewer holds after syncing: the cursor, and the dialogs a message can be recorded
/// in (each with the sender: another occupant, or the viewer where there is none).
struct Viewer {
    cursor: ChangeCursor,
    targets: Vec<(DialogId, UserId)>,
}

/// Reads `changes_since` from `cursor` until `has_more` is false; returns the caught-up cursor
/// and the dialogs the answers held.
fn catch_up(
    store: &DialogStore,
    user: u64,
    mut cursor: ChangeCursor,
) -> (ChangeCursor, Vec<dialogstore::Dialog>) {
    let mut dialogs = Vec::new();
    loop {
        let ch = store.changes_since(UserId(user), &cursor, 1000).expect("changes_since");
        dialogs.extend(ch.dialogs);
        cursor = ch.next;
        if !ch.has_more {
            return (cursor, dialogs);
        }
    }
}

/// The first sync of `user`, checked against the inbox's total.
fn full_sync(store: &DialogStore, user: u64) -> Viewer {
    let (cursor, dialogs) = catch_up(store, user, ChangeCursor::start());
    let ids: HashSet<DialogId> = dialogs.iter().map(|d| d.id).collect();
    let total = store
        .list_dialogs(UserId(user), &"count=1".parse().expect("query"))
        .expect("count")
        .total_entries;
    assert_eq!(ids.len() as u64, total, "user {user}: the first sync holds {} dialogs", ids.len());
    let me = UserId(user);
    let mut targets: Vec<(DialogId, UserId)> = dialogs
        .iter()
        .filter(|d| d.dialog_type != DialogType::PublicGroup)
        .map(|d| (d.id, d.occupants_ids.iter().copied().find(|u| *u != me).unwrap_or(me)))
        .collect();
    if targets.len() < CHANGED {
        // A user in fewer than 10 dialogs: public ones too, the viewer sending.
        targets.extend(
            dialogs
                .iter()
                .filter(|d| d.dialog_type == DialogType::PublicGroup)
                .take(CHANGED - targets.len())
                .map(|d| (d.id, me)),
        );
    }
    assert!(targets.len() >= CHANGED, "user {user} sees fewer than {CHANGED} dialogs");
    Viewer { cursor, targets }
}

/// A small deterministic generator (xorshift64*), for the dialogs that change.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as usize % n
    }
}

/// One `changes_10` sample for `user`: catches the cursor up, records 10 messages, times the
/// answer (cursor parsed from its token) and checks it; returns µs.
fn ten_changes(
    store: &DialogStore,
    user: u64,
    viewer: &mut Viewer,
    rng: &mut Rng,
    n: &mut i64,
) -> f64 {
    let (cursor, _) = catch_up(store, user, viewer.cursor);
    let mut picked = Vec::with_capacity(CHANGED);
    while picked.len() < CHANGED {
        let at = rng.below(viewer.targets.len());
        if !picked.contains(&at) {
            picked.push(at);
        }
    }
    let mut changed = HashSet::new();
    for at in picked {
        let (dialog, sender) = viewer.targets[at];
        *n += 1;
        // Later than every message of the data set: the dialog moves to the top of the inbox.
        let date_sent = dialogstore_testkit::T0
            + dialogstore_testkit::CREATE_SPAN
            + dialogstore_testkit::MESSAGE_SPAN
            + *n;
        let msg = MessageMeta { id: format!("bench{n:019}"), text: "bench".into(), date_sent };
        store.record_message(dialog, sender, msg).expect("record_message");
        changed.insert(dialog);
    }
    let token = cursor.to_string();
    let started = std::time::Instant::now();
    let parsed: ChangeCursor = token.parse().expect("cursor");
    let ch = store.changes_since(UserId(user), &parsed, LIMIT).expect("changes_since");
    let us = started.elapsed().as_secs_f64() * 1e6;
    let got: HashSet<DialogId> = ch.dialogs.iter().map(|d| d.id).collect();
    assert_eq!(got, changed, "user {user}: the answer does not hold the 10 changed dialogs");
    assert_eq!(ch.dialogs.len(), CHANGED, "user {user}: a dialog twice");
    assert!(ch.removed.is_empty() && !ch.has_more, "user {user}: {:?}", ch.removed);
    viewer.cursor = ch.next;
    us
}

fn main() {
    let ds = common::dataset();
    let scratch = tempfile::tempdir().expect("tempdir");
    let copy = scratch.path().join("copy.redb");
    std::fs::copy(ds.store_path(), &copy).expect("copy the store");
    let store = DialogStore::builder()
        .cache_size(512 << 20)
        .durability(Durability::None)
        .open(&copy)
        .expect("open the copy");
    let sets = ds.viewer_sets();
    let started = std::time::Instant::now();
    let mut viewers: HashMap<u64, Viewer> = HashMap::new();
    for (set, users) in &sets {
        eprintln!("viewers {set}: {users:?}");
        for &user in users {
            viewers.entry(user).or_insert_with(|| full_sync(&store, user));
        }
    }
    eprintln!(
        "{} viewers synced in full in {:.1} s",
        viewers.len(),
        started.elapsed().as_secs_f64()
    );
    let inbox: Query = INBOX.parse().expect("query");
    for (&user, viewer) in &viewers {
        let ch = store.changes_since(UserId(user), &viewer.cursor, LIMIT).expect("changes");
        assert!(
            ch.dialogs.is_empty() && ch.removed.is_empty() && !ch.has_more,
            "user {user}: the answer after a full sync is not empty"
        );
        std::hint::black_box(store.list_dialogs(UserId(user), &inbox).expect("list"));
    }

    let mut c = Criterion::default().configure_from_args();
    let mut measured: Vec<(&'static str, &'static str, &'static str, Option<Measured>)> =
        Vec::new();
    for (set, users) in &sets {
        let tokens: Vec<String> = users.iter().map(|u| viewers[u].cursor.to_string()).collect();
        let empty = criterion_calls(&mut c, "changes_empty", set, |i| {
            let at = i % users.len();
            let cursor: ChangeCursor = tokens[at].parse().expect("cursor");
            let ch = store.changes_since(UserId(users[at]), &cursor, LIMIT);
            std::hint::black_box(ch.expect("changes_since"));
        });
        measured.push((
            "changes_empty",
            "changes_since(viewer, <cursor after a full sync>, 100)",
            *set,
            empty,
        ));
        let inbox = criterion_calls(&mut c, "inbox_reference", set, |i| {
            let at = i % users.len();
            let q: Query = INBOX.parse().expect("query");
            std::hint::black_box(store.list_dialogs(UserId(users[at]), &q).expect("list"));
        });
        measured.push((
            "inbox_reference",
            "list_dialogs(viewer, \"sort_desc=last_message_date_sent&limit=100\")",
            *set,
            inbox,
        ));
    }

    // Writes from here on: every empty answer above was timed on the synced store.
    let mut rng = Rng(0x5eed_f00d_cafe_d00d);
    let mut n = 0i64;
    for (set, users) in &sets {
        // One round to warm up, then whole rounds.
        for &user in users {
            let viewer = viewers.get_mut(&user).expect("synced");
            ten_changes(&store, user, viewer, &mut rng, &mut n);
        }
        let rounds = TEN_CHANGES_SAMPLES.div_ceil(users.len());
        let mut us = Vec::with_capacity(rounds * users.len());
        for _ in 0..rounds {
            for &user in users {
                let viewer = viewers.get_mut(&user).expect("synced");
                us.push(ten_changes(&store, user, viewer, &mut rng, &mut n));
            }
        }
        let m = Measured::from_us(us);
        eprintln!(
            "changes_10/{set}: {} calls, p50 {:.2} µs, p99 {:.2} µs, mean {:.2} µs",
            m.calls(),
            m.percentile_us(0.5),
            m.percentile_us(0.99),
            m.mean_us()
        );
        measured.push(("changes_10", "changes_since(viewer, <cursor before 10 record_message in 10 of the viewer's dialogs>, 100)", *set, Some(m)));
    }
    c.final_summary();

    let Some(rows) = measured
        .into_iter()
        .map(|(class, call, viewers, m)| {
            let m = m?;
            Some(Row {
                class,
                viewers,
                call,
                backend: "dialogstore",
                calls: m.calls(),
                p50_us: m.percentile_us(0.5),
                p99_us: m.percentile_us(0.99),
                mean_us: m.mean_us(),
            })
        })
        .collect::<Option<Vec<Row>>>()
    else {
        eprintln!("some benchmarks were not measured: changes.json left as it was");
        return;
    };
    common::write_result(
        "changes.json",
        &serde_json::json!({
            "machine": common::machine(),
            "dialogs": ds.build.dialogs,
            "feed_limit": LIMIT,
            "targets_weighted_p50_us": {
                "changes_empty": TARGET_EMPTY_US,
                "changes_10": TARGET_TEN_US,
            },
            "rows": rows,
            "sqlite": "no equivalent: SQLite keeps no commit log to read changes from; \
                       benches/results/queries.json has its inbox (the reference's query) beside the store's",
        }),
    );
}
