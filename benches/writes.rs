//! Write paths, dialogstore against SQLite: batched ingest, a single durable create,
//! `record_message`, and opening a store of the benchmark data set's size.
//!
//! Ingest: dialogs from `dialogstore_testkit` (fixed seed), 1,000 creates a transaction, into a
//! store that grows over the iterations; SQLite gets the same dialogs into the same schema and
//! indexes as `benches/queries.rs` (and checks its private-pair table first, as the store does).
//! The single create and `record_message` run on copies of the `DIALOGSTORE_BENCH_DIALOGS` data
//! set (default 1,000,000) so the query data set is left as it was. Every commit is durable on
//! both sides: redb's immediate durability, SQLite's WAL with `synchronous = FULL`.
//! `benches/results/writes.json` gets rates and p50 latencies.

mod common;

use std::sync::Arc;

use common::{Dataset, Measured, Timings};
use criterion::Criterion;
use dialogstore::{
    Clock, Dialog, DialogId, DialogStore, DialogType, ManualClock, MessageMeta, NewDialog, UserId,
};
use dialogstore_testkit::{Event, Generator, Spec};
use rusqlite::TransactionBehavior;
use rusqlite::{params, Connection, OptionalExtension};

/// Criterion samples per benchmark (one call of the timed routine each): ingest batches are
/// slow, so fewer.
const INGEST_SAMPLES: usize = 10;
const SAMPLES: usize = 20;

/// An endless stream of generated creates, 1,000 at a time.
struct Creates {
    events: Box<dyn Iterator<Item = Event>>,
}

impl Creates {
    fn new() -> Creates {
        let mut spec = Spec::with_dialogs(10_000_000);
        spec.message_scale = 0.0;
        Creates { events: Box::new(Generator::new(spec)) }
    }

    fn batch(&mut self) -> Vec<(UserId, i64, NewDialog)> {
        self.events
            .by_ref()
            .filter_map(|e| match e {
                Event::Create { user, at, new } => Some((user, at, new)),
                _ => None,
            })
            .take(1000)
            .collect()
    }
}

/// The dialog the store would make of a create, for SQLite (ids from a counter).
fn as_dialog(n: u64, user: UserId, at: i64, new: &NewDialog) -> Dialog {
    let mut id = [0u8; 12];
    id[..4].copy_from_slice(&(at as u32).to_be_bytes());
    id[4..].copy_from_slice(&n.to_be_bytes());
    let mut occupants: Vec<UserId> = new.occupants_ids.iter().copied().chain([user]).collect();
    occupants.sort();
    occupants.dedup();
    let public = new.dialog_type == DialogType::PublicGroup;
    Dialog {
        id: DialogId(id),
        user_id: user,
        created_at: at,
        updated_at: at,
        dialog_type: new.dialog_type,
        name: if new.dialog_type == DialogType::Private {
            None
        } else {
            new.name.clone().map(Into::into)
        },
        photo: new.photo.clone().map(Into::into),
        xmpp_room_jid: (new.dialog_type != DialogType::Private)
            .then(|| format!("0_{}@muc.chat.quickblox.com", DialogId(id)).into()),
        occupants_ids: if public { Vec::new().into() } else { occupants.into() },
        admin_ids: if public { vec![user].into() } else { Vec::new().into() },
        last_message: None,
        last_message_id: None,
        last_message_date_sent: None,
        last_message_user_id: None,
        unread_messages_count: None,
        is_join_required: (new.dialog_type == DialogType::Group).then_some(false),
        data: new.data.clone().map(Arc::new),
    }
}

fn sqlite_fresh(path: &std::path::Path) -> Connection {
    let conn = Connection::open(path).expect("sqlite");
    conn.execute_batch(common::SCHEMA).expect("schema");
    conn.execute_batch(common::INDEXES).expect("indexes");
    conn.execute_batch("PRAGMA synchronous = FULL;").expect("durable");
    conn
}

/// Inserts a dialog into SQLite unless it is a private one whose pair already has a dialog.
fn sqlite_create(tx: &rusqlite::Transaction<'_>, rid: i64, d: &Dialog) {
    if d.dialog_type == DialogType::Private {
        if let [a, b] = d.occupants_ids[..] {
            let existing: Option<i64> = tx
                .prepare_cached("SELECT rid FROM private_pairs WHERE lo = ?1 AND hi = ?2")
                .expect("stmt")
                .query_row(params![a.0 as i64, b.0 as i64], |r| r.get(0))
                .optional()
                .expect("pair");
            if existing.is_some() {
                return;
            }
        }
    }
    common::sqlite_insert(tx, rid, d).expect("insert");
}

fn sqlite_message(conn: &mut Connection, rid: i64, sender: UserId, meta: &MessageMeta, now: i64) {
    let tx = conn.transaction().expect("tx");
    sqlite_message_in(&tx, rid, sender, meta, now);
    tx.commit().expect("commit");
}

/// `record_message` in SQLite: the last-message fields, and one more unread message for every
/// other occupant (an upsert each).
fn sqlite_message_in(
    tx: &rusqlite::Transaction<'_>,
    rid: i64,
    sender: UserId,
    meta: &MessageMeta,
    now: i64,
) {
    let occupants: String = tx
        .prepare_cached("SELECT occupants FROM dialogs WHERE rid = ?1")
        .expect("stmt")
        .query_row(params![rid], |r| r.get(0))
        .expect("dialog");
    tx.prepare_cached(
        "UPDATE dialogs SET last_message = ?2, last_message_id = ?3, lmds = ?4, last_message_user_id = ?5,
         updated_at = ?6, ord = ?4 WHERE rid = ?1 AND (lmds IS NULL OR lmds <= ?4)",
    )
    .expect("stmt")
    .execute(params![rid, meta.text, meta.id, meta.date_sent, sender.0 as i64, now])
    .expect("update");
    let mut unread = tx
        .prepare_cached(
            "INSERT INTO unread (user_id, rid, count) VALUES (?1, ?2, 1)
             ON CONFLICT (user_id, rid) DO UPDATE SET count = count + 1",
        )
        .expect("stmt");
    for u in occupants.split(',').filter_map(|s| s.parse::<i64>().ok()) {
        if u as u64 != sender.0 {
            unread.execute(params![u, rid]).expect("unread");
        }
    }
}

/// Group dialogs of the data set with their occupants (for messages), by row order.
fn groups(store: &DialogStore, n: usize) -> Vec<(usize, DialogId, std::sync::Arc<[UserId]>)> {
    let mut out = Vec::new();
    let mut rid = 0usize;
    store
        .for_each_dialog(|d| {
            if d.dialog_type == DialogType::Group && out.len() < n {
                out.push((rid, d.id, d.occupants_ids.clone()));
            }
            rid += 1;
            Ok(())
        })
        .expect("scan");
    out
}

/// A message of the workload: the dialog's row (SQLite's `rid`), its id and the sender.
type Target = (usize, DialogId, UserId);

/// `n` messages as SPEC section 6's workload sends them: the data set's own generator (same
/// spec and seed) goes on past its creates, and its message schedule (a few hundred per public
/// dialog, dozens per busy group, a few per private dialog, shuffled) names dialogs by creation
/// index, which is their row order. Each dialog's id is the data set's.
fn message_workload(store: &DialogStore, ds: &Dataset, n: usize) -> Vec<Target> {
    let mut rows = Vec::new();
    store
        .for_each_dialog(|d| {
            rows.push(d.id);
            Ok(())
        })
        .expect("scan");
    assert_eq!(rows.len() as u64, ds.spec.dialogs, "one row per create, in creation order");
    Generator::new(ds.spec.clone())
        .filter_map(|e| match e {
            Event::Message { dialog, sender, .. } => {
                let rid = dialog as usize;
                rows.get(rid).map(|id| (rid, *id, sender))
            }
            _ => None,
        })
        .take(n)
        .collect()
}

/// Message `k` of a run: the workload's `k`-th, with an id and text of its own.
fn message_of(targets: &[Target], k: usize, now: i64) -> (usize, DialogId, UserId, MessageMeta) {
    let (rid, id, sender) = targets[k % targets.len()];
    let meta =
        MessageMeta { id: format!("bench{k:019}"), text: format!("hello {k}"), date_sent: now };
    (rid, id, sender, meta)
}

/// One concurrent run: `callers` threads, `calls` durable `record_message` calls each, every
/// call timed. Returns (messages a second, every call's latency).
fn concurrent_run(
    callers: usize,
    calls: usize,
    call: impl Fn(usize, usize) + Sync,
) -> (f64, Measured) {
    let started = std::time::Instant::now();
    let latencies: Vec<f64> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..callers)
            .map(|t| {
                let call = &call;
                s.spawn(move || {
                    (0..calls)
                        .map(|i| {
                            let at = std::time::Instant::now();
                            call(t, i);
                            at.elapsed().as_secs_f64() * 1e6
                        })
                        .collect::<Vec<f64>>()
                })
            })
            .collect();
        threads.into_iter().flat_map(|t| t.join().expect("caller")).collect()
    });
    let rate = latencies.len() as f64 / started.elapsed().as_secs_f64();
    (rate, Measured::from_us(latencies))
}

/// Callers in the concurrent durable runs, and the calls each run makes in all.
const CALLERS: [usize; 4] = [1, 4, 16, 64];
const CONCURRENT_CALLS: usize = 6_400;

fn main() {
    let ds: Dataset = common::dataset();
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut c = Criterion::default().configure_from_args();

    // ---- batched ingest ----
    let ingest_store = Timings::new(INGEST_SAMPLES);
    let ingest_sqlite = Timings::new(INGEST_SAMPLES);
    {
        let clock = Arc::new(ManualClock::new(dialogstore_testkit::T0));
        let store = DialogStore::builder()
            .clock(clock.clone())
            .cache_size(256 << 20)
            .open(scratch.path().join("ingest.redb"))
            .expect("store");
        store.declare_class(&dialogstore_testkit::score_table()).expect("class");
        let mut conn = sqlite_fresh(&scratch.path().join("ingest.sqlite"));
        let mut group = c.benchmark_group("ingest_1000_creates");
        group.sample_size(INGEST_SAMPLES);
        let mut creates = Creates::new();
        group.bench_function("dialogstore", |b| {
            b.iter_custom(|iters| {
                let mut batches: Vec<_> = (0..iters).map(|_| creates.batch()).collect();
                ingest_store.run(iters, |i| {
                    let batch = std::mem::take(&mut batches[i as usize]);
                    store
                        .write(|w| {
                            for (user, at, new) in batch {
                                clock.set(at);
                                w.create_dialog(user, new)?;
                            }
                            Ok(())
                        })
                        .expect("batch");
                })
            })
        });
        let mut creates = Creates::new();
        let mut n = 0u64;
        group.bench_function("sqlite", |b| {
            b.iter_custom(|iters| {
                let batches: Vec<_> = (0..iters).map(|_| creates.batch()).collect();
                ingest_sqlite.run(iters, |i| {
                    let tx = conn.transaction().expect("tx");
                    for (user, at, new) in &batches[i as usize] {
                        let d = as_dialog(n, *user, *at, new);
                        sqlite_create(&tx, n as i64, &d);
                        n += 1;
                    }
                    tx.commit().expect("commit");
                })
            })
        });
        group.finish();
    }

    // ---- single create and record_message on copies of the data set ----
    let store_copy = scratch.path().join("copy.redb");
    let sqlite_copy = scratch.path().join("copy.sqlite");
    std::fs::copy(ds.store_path(), &store_copy).expect("copy store");
    std::fs::copy(ds.sqlite_path(), &sqlite_copy).expect("copy sqlite");
    let clock = Arc::new(ManualClock::new(dialogstore_testkit::T0 + 70 * 86_400));
    let store = DialogStore::builder()
        .clock(clock.clone())
        .cache_size(512 << 20)
        .open(&store_copy)
        .expect("store");
    let mut conn = Connection::open(&sqlite_copy).expect("sqlite");
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA cache_size = -524288;").expect("pragmas");
    let targets = groups(&store, 2000);
    let workload = message_workload(&store, &ds, 200_000);
    let next_rid: i64 =
        conn.query_row("SELECT max(rid) + 1 FROM dialogs", [], |r| r.get(0)).expect("max rid");

    let create_store = Timings::new(SAMPLES);
    let create_sqlite = Timings::new(SAMPLES);
    let message_store = Timings::new(SAMPLES);
    let message_sqlite = Timings::new(SAMPLES);
    {
        let mut group = c.benchmark_group("single_durable_create");
        group.sample_size(SAMPLES);
        let mut k = 0u64;
        group.bench_function("dialogstore", |b| {
            b.iter_custom(|iters| {
                create_store.run(iters, |_| {
                    k += 1;
                    clock.advance(1);
                    let new = NewDialog::group(
                        format!("bench group {k}"),
                        [UserId(k % 1000 + 2), UserId(7)],
                    );
                    store.create_dialog(UserId(k % 5000 + 1), new).expect("create");
                })
            })
        });
        let mut n = 0i64;
        group.bench_function("sqlite", |b| {
            b.iter_custom(|iters| {
                create_sqlite.run(iters, |_| {
                    n += 1;
                    let new = NewDialog::group(
                        format!("bench group {n}"),
                        [UserId(n as u64 % 1000 + 2), UserId(7)],
                    );
                    let d = as_dialog(
                        1 << 40 | n as u64,
                        UserId(n as u64 % 5000 + 1),
                        dialogstore_testkit::T0 + n,
                        &new,
                    );
                    let tx = conn.transaction().expect("tx");
                    sqlite_create(&tx, next_rid + n, &d);
                    tx.commit().expect("commit");
                })
            })
        });
        group.finish();

        let mut group = c.benchmark_group("record_message");
        group.sample_size(SAMPLES);
        let mut k = 0usize;
        group.bench_function("dialogstore", |b| {
            b.iter_custom(|iters| {
                message_store.run(iters, |_| {
                    k += 1;
                    clock.advance(1);
                    let (_, id, occupants) = &targets[k % targets.len()];
                    let meta = MessageMeta {
                        id: format!("bench{k}"),
                        text: format!("hello {k}"),
                        date_sent: clock.now(),
                    };
                    store
                        .record_message(*id, occupants[k % occupants.len()], meta)
                        .expect("message");
                })
            })
        });
        let mut k = 0usize;
        group.bench_function("sqlite", |b| {
            b.iter_custom(|iters| {
                message_sqlite.run(iters, |_| {
                    k += 1;
                    let (rid, _, occupants) = &targets[k % targets.len()];
                    let now = dialogstore_testkit::T0 + 70 * 86_400 + k as i64;
                    let meta = MessageMeta {
                        id: format!("bench{k}"),
                        text: format!("hello {k}"),
                        date_sent: now,
                    };
                    sqlite_message(
                        &mut conn,
                        *rid as i64,
                        occupants[k % occupants.len()],
                        &meta,
                        now,
                    );
                })
            })
        });
        group.finish();
    }

    // ---- record_message, 1,000 a transaction, unread counters kept ----
    let batched_store = Timings::new(INGEST_SAMPLES);
    let batched_sqlite = Timings::new(INGEST_SAMPLES);
    {
        let mut group = c.benchmark_group("record_message_1000_a_transaction");
        group.sample_size(INGEST_SAMPLES);
        let mut k = 0usize;
        group.bench_function("dialogstore", |b| {
            b.iter_custom(|iters| {
                batched_store.run(iters, |_| {
                    clock.advance(1);
                    let now = clock.now();
                    store
                        .write(|w| {
                            for _ in 0..1000 {
                                k += 1;
                                let (_, id, sender, meta) = message_of(&workload, k, now);
                                w.record_message(id, sender, meta)?;
                            }
                            Ok(())
                        })
                        .expect("batch");
                })
            })
        });
        let mut k = 0usize;
        group.bench_function("sqlite", |b| {
            b.iter_custom(|iters| {
                batched_sqlite.run(iters, |i| {
                    let now = dialogstore_testkit::T0 + 80 * 86_400 + i as i64;
                    let tx = conn.transaction().expect("tx");
                    for _ in 0..1000 {
                        k += 1;
                        let (rid, _, sender, meta) = message_of(&workload, k, now);
                        sqlite_message_in(&tx, rid as i64, sender, &meta, now);
                    }
                    tx.commit().expect("commit");
                })
            })
        });
        group.finish();
    }

    // ---- record_message from concurrent callers, each call durable ----
    let mut concurrent = serde_json::Map::new();
    for callers in CALLERS {
        let calls = CONCURRENT_CALLS / callers;
        let before = store.stats().expect("stats");
        let (store_rate, store_lat) = concurrent_run(callers, calls, |t, i| {
            let k = t + callers * i;
            let (_, id, sender, meta) = message_of(&workload, k, clock.now());
            store.record_message(id, sender, meta).expect("message");
        });
        let after = store.stats().expect("stats");
        let mean_group = (after.grouped_writes - before.grouped_writes) as f64
            / (after.group_commits - before.group_commits).max(1) as f64;
        let sqlite_path = &sqlite_copy;
        let conns: Vec<std::sync::Mutex<Connection>> = (0..callers)
            .map(|_| {
                let c = Connection::open(sqlite_path).expect("sqlite");
                c.execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 60000;")
                    .expect("pragmas");
                std::sync::Mutex::new(c)
            })
            .collect();
        let (sqlite_rate, sqlite_lat) = concurrent_run(callers, calls, |t, i| {
            let k = t + callers * i;
            let now = dialogstore_testkit::T0 + 90 * 86_400;
            let (rid, _, sender, meta) = message_of(&workload, k, now);
            let mut conn = conns[t].lock().expect("connection");
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).expect("tx");
            sqlite_message_in(&tx, rid as i64, sender, &meta, now);
            tx.commit().expect("commit");
        });
        let figures = |rate: f64, lat: &Measured| {
            serde_json::json!({
                "msgs_per_sec": rate,
                "p50_ms": lat.percentile_us(0.5) / 1000.0,
                "p99_ms": lat.percentile_us(0.99) / 1000.0,
            })
        };
        eprintln!(
            "durable record_message, {callers} callers: dialogstore {store_rate:.0} msgs/s (p50 {:.2} ms, p99 {:.2} ms, {mean_group:.1} calls a commit), sqlite {sqlite_rate:.0} msgs/s (p50 {:.2} ms, p99 {:.2} ms)",
            store_lat.percentile_us(0.5) / 1000.0,
            store_lat.percentile_us(0.99) / 1000.0,
            sqlite_lat.percentile_us(0.5) / 1000.0,
            sqlite_lat.percentile_us(0.99) / 1000.0,
        );
        concurrent.insert(
            callers.to_string(),
            serde_json::json!({
                "dialogstore": figures(store_rate, &store_lat),
                "dialogstore_calls_a_commit": mean_group,
                "sqlite": figures(sqlite_rate, &sqlite_lat),
            }),
        );
    }
    drop(store);
    drop(conn);

    // ---- open ----
    let open_store = Timings::new(SAMPLES);
    let open_sqlite = Timings::new(SAMPLES);
    {
        let mut group = c.benchmark_group("open");
        group.sample_size(SAMPLES);
        group.bench_function("dialogstore", |b| {
            b.iter_custom(|iters| {
                open_store.run(iters, |_| {
                    let store = DialogStore::open(ds.store_path()).expect("open");
                    std::hint::black_box(&store);
                })
            })
        });
        group.bench_function("sqlite", |b| {
            b.iter_custom(|iters| {
                open_sqlite.run(iters, |_| {
                    let conn = Connection::open(ds.sqlite_path()).expect("open");
                    let n: i64 = conn
                        .query_row("SELECT count(*) FROM dialogs WHERE rid < 1", [], |r| r.get(0))
                        .expect("q");
                    std::hint::black_box(n);
                })
            })
        });
        group.finish();
    }
    c.final_summary();
    // Both backends' figure of a write path; `None` if criterion did not measure one of them (a
    // name filter skipped it, or `--test` ran it once).
    let figures = |store: &Timings, sqlite: &Timings, figure: fn(&Measured) -> f64| {
        let (store, sqlite) = (store.measured()?, sqlite.measured()?);
        Some(serde_json::json!({"dialogstore": figure(&store), "sqlite": figure(&sqlite)}))
    };
    let p50 = |m: &Measured| m.percentile_us(0.5);
    let paths = [
        (
            "ingest_dialogs_per_sec",
            figures(&ingest_store, &ingest_sqlite, |m| 1000.0 / (m.mean_us() / 1e6)),
        ),
        ("single_durable_create_p50_us", figures(&create_store, &create_sqlite, p50)),
        ("record_message_p50_us", figures(&message_store, &message_sqlite, p50)),
        (
            "record_message_1000_a_transaction_msgs_per_sec",
            figures(&batched_store, &batched_sqlite, |m| 1000.0 / (m.mean_us() / 1e6)),
        ),
        ("open_p50_ms", figures(&open_store, &open_sqlite, |m| m.percentile_us(0.5) / 1000.0)),
    ];
    let mut results = serde_json::Map::new();
    for (name, figure) in paths {
        let Some(figure) = figure else {
            eprintln!("{name} was not measured: writes.json left as it was");
            return;
        };
        results.insert(name.into(), figure);
    }
    results.insert("concurrent_durable_record_message".into(), concurrent.into());
    results.insert("machine".into(), common::machine().into());
    results.insert("dialogs".into(), ds.build.dialogs.into());
    common::write_result("writes.json", &serde_json::Value::Object(results));
}
