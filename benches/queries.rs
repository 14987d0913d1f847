//! Query latency, dialogstore against SQLite, on the SPEC section 6 data set.
//!
//! Data: `dialogstore::testkit` with a fixed seed, `DIALOGSTORE_BENCH_DIALOGS` dialogs (default
//! 1,000,000; built once under `target/bench-data/`). Each query class of section 6 runs for a
//! rotating set of viewers (64 typical users, or the three busiest users where the class says
//! so) on both systems, in the same process, with warm caches: the store twice, answering with
//! owned dialogs (`list_dialogs`) and with views of its cached rows (`list_dialogs_view`, what a
//! JSON service would use). Before timing, all must give the same totals and the same dialogs in
//! the same order. Besides criterion's estimates, every
//! call's latency is kept and `benches/results/queries.json` gets p50 and p99 per class.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{Backend, Class, Dataset};
use criterion::Criterion;

#[derive(serde::Serialize)]
struct Row {
    class: &'static str,
    query: &'static str,
    backend: &'static str,
    calls: usize,
    p50_us: f64,
    p99_us: f64,
    mean_us: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn viewers(ds: &Dataset, class: &Class) -> Vec<u64> {
    if class.heavy_viewers {
        ds.heavy_users()
    } else {
        ds.typical_users(64)
    }
}

/// Set to `dialogstore` or `sqlite`: the process only opens that backend, warms it as the bench
/// does, prints its peak resident memory and exits. The bench runs itself this way once per
/// backend, so each figure is that backend's alone.
const MEMORY_PROBE: &str = "DIALOGSTORE_BENCH_MEMORY_PROBE";

fn memory_probe(ds: &Dataset, backend: &str) {
    let classes = common::classes(ds);
    let b: Box<dyn Backend> = match backend {
        "dialogstore" => Box::new(common::Store::open(ds)),
        _ => Box::new(common::Sqlite::open(ds)),
    };
    for class in &classes {
        for viewer in viewers(ds, class) {
            std::hint::black_box(b.answer(class, viewer, 1));
        }
    }
    println!("peak_resident_bytes {}", common::peak_resident_bytes());
}

/// Runs [`memory_probe`] in a child process.
fn peak_memory_of(backend: &str) -> u64 {
    let out = std::process::Command::new(std::env::current_exe().expect("the bench binary"))
        .env(MEMORY_PROBE, backend)
        .output()
        .expect("run the memory probe");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("peak_resident_bytes ")?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let ds = common::dataset();
    if let Ok(backend) = std::env::var(MEMORY_PROBE) {
        return memory_probe(&ds, &backend);
    }
    let memory = serde_json::json!({
        "dialogstore": peak_memory_of("dialogstore"),
        "sqlite": peak_memory_of("sqlite"),
    });
    let store = common::Store::open(&ds);
    let view = store.viewing();
    let sqlite = common::Sqlite::open(&ds);
    let classes = common::classes(&ds);
    let backends: [&dyn Backend; 3] = [&store, &view, &sqlite];
    // Warm both: every viewer of every class once, then check they agree.
    for class in &classes {
        for viewer in viewers(&ds, class) {
            for b in backends {
                std::hint::black_box(b.answer(class, viewer, 1));
            }
        }
    }
    common::assert_same(&classes, &ds, &store, &sqlite);
    common::assert_same(&classes, &ds, &view, &sqlite);
    eprintln!("both backends agree on every benched query");

    let mut c = Criterion::default().configure_from_args();
    let mut rows = Vec::new();
    for class in &classes {
        let viewers = viewers(&ds, class);
        let mut group = c.benchmark_group(class.name);
        for backend in backends {
            let latencies = Mutex::new(Vec::new());
            group.bench_function(backend.name(), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    let mut seen = Vec::with_capacity(iters as usize);
                    for i in 0..iters as usize {
                        let viewer = viewers[i % viewers.len()];
                        let started = Instant::now();
                        std::hint::black_box(backend.answer(class, viewer, 1));
                        let took = started.elapsed();
                        total += took;
                        seen.push(took.as_secs_f64() * 1e6);
                    }
                    latencies.lock().unwrap_or_else(|e| e.into_inner()).extend(seen);
                    total
                })
            });
            let mut all = latencies.into_inner().unwrap_or_else(|e| e.into_inner());
            all.sort_by(f64::total_cmp);
            rows.push(Row {
                class: class.name,
                query: class.query,
                backend: backend.name(),
                calls: all.len(),
                p50_us: percentile(&all, 0.5),
                p99_us: percentile(&all, 0.99),
                mean_us: all.iter().sum::<f64>() / all.len().max(1) as f64,
            });
        }
        group.finish();
    }
    c.final_summary();
    common::write_result(
        "queries.json",
        &serde_json::json!({
            "machine": common::machine(),
            "dialogs": ds.build.dialogs,
            "build": ds.build,
            "queries": rows,
            "peak_resident_bytes_after_warm_up": memory,
        }),
    );
}
