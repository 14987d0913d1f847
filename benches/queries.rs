//! Query latency, dialogstore against SQLite, on the benchmark data set.
//!
//! Data: `dialogstore_testkit` with a fixed seed, `DIALOGSTORE_BENCH_DIALOGS` dialogs (default
//! 1,000,000; built once under `target/bench-data/`). Each query class runs for two rotating
//! sets of viewers, as SPEC section 6 asks: 64 users drawn in proportion to the dialogs they are
//! in (`weighted`: who asks most is who is in most dialogs) and the 10 busiest users
//! (`busiest10`), on both systems, in the same process, with warm caches, the store answering with
//! `list_dialogs`. Before timing, both must give the same totals and the same dialogs in the
//! same order. Besides criterion's estimates, every measured call's latency is kept
//! (criterion's warm-up calls left out) and `benches/results/queries.json` gets p50 and p99 per
//! class. Query strings are rendered before timing; the store parses each, as a service would.

mod common;

use common::{Backend, Class, Dataset, Timings};
use criterion::Criterion;
use dialogstore::{DialogStore, Query, UserId};
use std::time::Instant;

/// Criterion samples per benchmark (its default), each one call of the timed routine.
const SAMPLES: usize = 100;

/// Viewers per class among typical users.
const TYPICAL_VIEWERS: usize = 64;

#[derive(serde::Serialize)]
struct Row {
    class: &'static str,
    /// `weighted` (activity-weighted users) or `busiest10`.
    viewers: &'static str,
    query: &'static str,
    backend: &'static str,
    calls: usize,
    p50_us: f64,
    p99_us: f64,
    mean_us: f64,
}

/// Every viewer of every class once, through `backends`.
fn warm(ds: &Dataset, classes: &[Class], backends: &[&dyn Backend]) {
    for class in classes {
        for viewer in ds.viewers(class, TYPICAL_VIEWERS) {
            let text = class.render(viewer);
            for b in backends {
                std::hint::black_box(b.answer(class, viewer, &text));
            }
        }
    }
}

/// Set to `dialogstore` or `sqlite`: the process only opens that backend, warms it as the bench
/// does, prints its peak resident memory and exits. The bench runs itself this way once per
/// backend, so each figure is that backend's alone.
const MEMORY_PROBE: &str = "DIALOGSTORE_BENCH_MEMORY_PROBE";

fn memory_probe(ds: &Dataset, backend: &str) {
    let b: Box<dyn Backend> = match backend {
        "dialogstore" => Box::new(common::Store::open(ds)),
        _ => Box::new(common::Sqlite::open(ds)),
    };
    warm(ds, &common::classes(), &[&*b]);
    println!("peak_resident_bytes {}", common::peak_resident_bytes());
}

/// Runs [`memory_probe`] in a child process.
fn peak_memory_of(backend: &str) -> u64 {
    let out = std::process::Command::new(std::env::current_exe().expect("the bench binary"))
        .env(MEMORY_PROBE, backend)
        .output()
        .expect("run the memory probe");
    assert!(out.status.success(), "the {backend} memory probe failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("peak_resident_bytes ")?.parse().ok())
        .unwrap_or(0)
}

/// SPEC section 6's "open a 1M-dialog store to its first answer, no warm-up call": five times
/// for the busiest user and five times for an activity-weighted one, each a fresh open (the
/// file in the OS cache, as a restarted service finds it), in milliseconds.
fn open_to_first_answer(ds: &Dataset) -> serde_json::Value {
    let inbox: Query = "sort_desc=last_message_date_sent&limit=100".parse().expect("query");
    let mut times = Vec::new();
    for viewer in ds.busiest_users(1).into_iter().chain(ds.weighted_users(5)).take(5) {
        for _ in 0..2 {
            let start = Instant::now();
            let store = DialogStore::open(ds.store_path()).expect("open store");
            let page = store.list_dialogs(UserId(viewer), &inbox).expect("list");
            let ms = start.elapsed().as_secs_f64() * 1e3;
            std::hint::black_box(page);
            times.push(serde_json::json!({ "viewer": viewer, "ms": ms }));
            // Dropping waits for the background warm-up: not part of the answer.
            drop(store);
        }
    }
    serde_json::Value::Array(times)
}

fn main() {
    let ds = common::dataset();
    if let Ok(backend) = std::env::var(MEMORY_PROBE) {
        return memory_probe(&ds, &backend);
    }
    let first_answer = open_to_first_answer(&ds);
    eprintln!("open to first answer: {first_answer}");
    let memory = serde_json::json!({
        "dialogstore": peak_memory_of("dialogstore"),
        "sqlite": peak_memory_of("sqlite"),
    });
    let store = common::Store::open(&ds);
    let sqlite = common::Sqlite::open(&ds);
    let classes = common::classes();
    let backends: [&dyn Backend; 2] = [&store, &sqlite];
    // Warm all, then check they agree.
    warm(&ds, &classes, &backends);
    common::assert_same(&classes, &ds, &store, &sqlite);
    eprintln!("both backends agree on every benched query");

    let sets = ds.viewer_sets();
    for (set, viewers) in &sets {
        eprintln!("viewers {set}: {viewers:?}");
    }
    let mut c = Criterion::default().configure_from_args();
    let mut measured = Vec::new();
    // `inbox_heavy_user` is `inbox` as the busiest users: the `busiest10` set measures it.
    for class in classes.iter().filter(|c| c.name != "inbox_heavy_user") {
        for (set, viewers) in &sets {
            for v in viewers.iter().take(8) {
                let text = class.render(*v);
                let (x, y) = (store.answer(class, *v, &text), sqlite.answer(class, *v, &text));
                assert_eq!(x.total, y.total, "{}: totals differ for viewer {v}", class.name);
                assert_eq!(x.ids(), y.ids(), "{}: ids differ for viewer {v}", class.name);
            }
            let texts: Vec<String> = viewers.iter().map(|v| class.render(*v)).collect();
            let mut group = c.benchmark_group(format!("{}/{set}", class.name));
            group.sample_size(SAMPLES);
            for backend in backends {
                let timings = Timings::new(SAMPLES);
                group.bench_function(backend.name(), |b| {
                    b.iter_custom(|iters| {
                        timings.run(iters, |i| {
                            let at = i as usize % viewers.len();
                            std::hint::black_box(backend.answer(class, viewers[at], &texts[at]));
                        })
                    })
                });
                measured.push((class, *set, backend.name(), timings.measured()));
            }
            group.finish();
        }
    }
    c.final_summary();
    // A name filter on the command line skips classes, `--test` runs each once: keep the
    // committed results then.
    let Some(rows) = measured
        .into_iter()
        .map(|(class, viewers, backend, m)| {
            let m = m?;
            Some(Row {
                class: class.name,
                viewers,
                query: class.query,
                backend,
                calls: m.calls(),
                p50_us: m.percentile_us(0.5),
                p99_us: m.percentile_us(0.99),
                mean_us: m.mean_us(),
            })
        })
        .collect::<Option<Vec<Row>>>()
    else {
        eprintln!("some classes were not measured: queries.json left as it was");
        return;
    };
    common::write_result(
        "queries.json",
        &serde_json::json!({
            "machine": common::machine(),
            "dialogs": ds.build.dialogs,
            "build": ds.build,
            "queries": rows,
            "peak_resident_bytes_after_warm_up": memory,
            "open_to_first_answer_ms": first_answer,
        }),
    );
}
