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
//!
//! `cursor_page_11` is SPEC section 6's "any cursor page" (section 9's keyset cursors): for
//! each viewer, the page of 100 after the first 1,000 dialogs of the inbox, reached by paging
//! with `cursor=` ten times before timing; the store answers
//! `sort_desc=last_message_date_sent&limit=100&cursor=<token of page 11>`, SQLite a keyset query
//! on `(ord, id)` from the last dialog of page 10 (and the total, as the store's page carries
//! it). Checked before timing: the store's page 11 is its `skip=1000` page for every viewer, and
//! SQLite gives the same total and dialogs for the first eight viewers of each set.

mod common;

use common::{Backend, Class, Dataset, Measured, Timings};
use criterion::Criterion;
use dialogstore::{Dialog, DialogId, DialogStore, Query, UserId};
use rusqlite::params;
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

/// The keyset-cursor class: the inbox's page 11, reached by `cursor=`.
const CURSOR_CLASS: &str = "cursor_page_11";
/// Its query without the cursor (the first page sends `cursor=`).
const CURSOR_QUERY: &str = "sort_desc=last_message_date_sent&limit=100";
/// As the result rows show it.
const CURSOR_QUERY_SHOWN: &str = "sort_desc=last_message_date_sent&limit=100&cursor=<page 11>";
/// Pages read before the timed one.
const CURSOR_PAGES_BEFORE: usize = 10;

/// SQLite's keyset page in the inbox order: the viewer's dialogs and the public ones after
/// (`?3` ord, `?4` id), `?2` of them, as the `skip_1000` class's SQL orders them.
const KEYSET_PAGE_SQL: &str = "SELECT d.id, d.user_id, d.created_at, d.updated_at, d.type, d.name, d.photo, d.xmpp_room_jid, d.occupants,
    d.admins, d.last_message, d.last_message_id, d.lmds, d.last_message_user_id, d.is_join_required, d.data,
    COALESCE(u.count, 0) FROM (
  SELECT * FROM (SELECT d.rid, d.ord AS ord, d.id FROM dialogs d
    WHERE d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND (d.ord, d.id) < (?3, ?4)
    ORDER BY d.ord DESC, d.id DESC LIMIT ?2)
  UNION ALL
  SELECT * FROM (SELECT d.rid, d.ord AS ord, d.id FROM dialogs d
    WHERE d.type = 1 AND (d.ord, d.id) < (?3, ?4)
    ORDER BY d.ord DESC, d.id DESC LIMIT ?2)
) t JOIN dialogs d ON d.rid = t.rid LEFT JOIN unread u ON u.user_id = ?1 AND u.rid = d.rid
ORDER BY t.ord DESC, t.id DESC LIMIT ?2";

/// The inbox total, as the store's page carries it.
const INBOX_COUNT_SQL: &str = "SELECT (SELECT count(*) FROM dialogs d WHERE d.rid IN (SELECT rid FROM members WHERE user_id = ?1))
    + (SELECT count(*) FROM dialogs d WHERE d.type = 1)";

/// One viewer's page 11: the store's query string and SQLite's keyset.
struct CursorPage {
    viewer: u64,
    text: String,
    /// `ord` and id of the last dialog of page 10.
    after: (i64, DialogId),
}

/// Pages the inbox with `cursor=` for each viewer up to page 11; viewers with no page 11 are
/// left out (a small data set's light users).
fn cursor_pages(store: &common::Store, viewers: &[u64]) -> Vec<CursorPage> {
    let mut pages = Vec::new();
    'viewers: for &viewer in viewers {
        let mut token = String::new();
        let mut last = None;
        for _ in 0..CURSOR_PAGES_BEFORE {
            let q: Query = format!("{CURSOR_QUERY}&cursor={token}").parse().expect("query");
            let page = store.store.list_dialogs(UserId(viewer), &q).expect("list");
            match page.next_cursor {
                Some(next) => token = next,
                None => continue 'viewers,
            }
            last = page.items.last().cloned();
        }
        let last: Dialog = last.expect("a page before the cursor");
        pages.push(CursorPage {
            viewer,
            text: format!("{CURSOR_QUERY}&cursor={token}"),
            after: (common::ord(&last), last.id),
        });
    }
    pages
}

/// The store's answer to a cursor page: the query parsed, as a service would.
fn store_cursor(store: &common::Store, page: &CursorPage) -> common::Answer {
    let q: Query = page.text.parse().expect("cursor query");
    let page = store.store.list_dialogs(UserId(page.viewer), &q).expect("list");
    common::Answer { total: page.total_entries, items: page.items }
}

/// SQLite's answer: the total and the keyset page.
fn sqlite_cursor(sqlite: &common::Sqlite, page: &CursorPage) -> common::Answer {
    let viewer = page.viewer as i64;
    let total: i64 = sqlite
        .conn
        .prepare_cached(INBOX_COUNT_SQL)
        .expect("count sql")
        .query_row([viewer], |r| r.get(0))
        .expect("count");
    let mut stmt = sqlite.conn.prepare_cached(KEYSET_PAGE_SQL).expect("keyset sql");
    let rows = stmt
        .query_map(
            params![viewer, 100i64, page.after.0, &page.after.1 .0[..]],
            common::dialog_from_row,
        )
        .expect("keyset page");
    let items = rows.map(|r| r.expect("row")).collect();
    common::Answer { total: total as u64, items }
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
                measured.push((class.name, class.query, *set, backend.name(), timings.measured()));
            }
            group.finish();
        }
    }
    for (set, viewers) in &sets {
        let pages = cursor_pages(&store, viewers);
        if pages.len() < viewers.len() {
            eprintln!(
                "{CURSOR_CLASS}/{set}: {} of {} viewers have no page 11, left out",
                viewers.len() - pages.len(),
                viewers.len()
            );
        }
        if pages.is_empty() {
            continue;
        }
        let skip: Query =
            "sort_desc=last_message_date_sent&skip=1000&limit=100".parse().expect("q");
        for (i, page) in pages.iter().enumerate() {
            let x = store_cursor(&store, page);
            let by_skip = store.store.list_dialogs(UserId(page.viewer), &skip).expect("list");
            let v = page.viewer;
            assert_eq!(
                x.total, by_skip.total_entries,
                "{CURSOR_CLASS}: totals differ from skip for viewer {v}"
            );
            assert_eq!(
                x.items, by_skip.items,
                "{CURSOR_CLASS}: page 11 is not the skip=1000 page for viewer {v}"
            );
            if i < 8 {
                let y = sqlite_cursor(&sqlite, page);
                assert_eq!(x.total, y.total, "{CURSOR_CLASS}: totals differ for viewer {v}");
                assert_eq!(x.ids(), y.ids(), "{CURSOR_CLASS}: ids differ for viewer {v}");
                assert_eq!(x.items, y.items, "{CURSOR_CLASS}: dialogs differ for viewer {v}");
            }
        }
        let mut group = c.benchmark_group(format!("{CURSOR_CLASS}/{set}"));
        group.sample_size(SAMPLES);
        let answer = |backend: &str, page: &CursorPage| match backend {
            "dialogstore" => store_cursor(&store, page),
            _ => sqlite_cursor(&sqlite, page),
        };
        for backend in ["dialogstore", "sqlite"] {
            let timings = Timings::new(SAMPLES);
            group.bench_function(backend, |b| {
                b.iter_custom(|iters| {
                    timings.run(iters, |i| {
                        let page = &pages[i as usize % pages.len()];
                        std::hint::black_box(answer(backend, page));
                    })
                })
            });
            measured.push((CURSOR_CLASS, CURSOR_QUERY_SHOWN, *set, backend, timings.measured()));
        }
        group.finish();
    }
    c.final_summary();
    // A name filter on the command line skips classes, `--test` runs each once: keep the
    // committed results then.
    let Some(rows) = measured
        .into_iter()
        .map(|(class, query, viewers, backend, m): (_, _, _, _, Option<Measured>)| {
            let m = m?;
            Some(Row {
                class,
                viewers,
                query,
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
