//! Prints the README's benchmark table from `benches/results/queries.json` and `writes.json`
//! (written by `cargo bench --bench queries` and `--bench writes`): p50 per query class for both
//! systems with the ratio and the latency target, the best in bold; then ingest, write
//! latencies, open time and file sizes; then the change feed from `changes.json` (`cargo bench
//! --bench changes`), if it is there. `cargo bench --bench report`.

mod common;

use serde_json::Value;

fn load(name: &str) -> Option<Value> {
    let path = common::results_dir().join(name);
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn us(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} ms", v / 1000.0)
    } else {
        format!("{v:.1} µs")
    }
}

fn bold_lower(a: f64, b: f64, fmt: impl Fn(f64) -> String) -> (String, String) {
    if a <= b {
        (format!("**{}**", fmt(a)), fmt(b))
    } else {
        (fmt(a), format!("**{}**", fmt(b)))
    }
}

/// The target of each class for a viewer set (SPEC section 6, activity-weighted users; the
/// 10 busiest have their own inbox target): p50 / p99 and the ratio to SQLite.
fn target(class: &str, viewers: &str) -> &'static str {
    match (class, viewers) {
        ("inbox", "busiest10") => "20 / 60 µs, ≥ 50x",
        ("inbox", _) => "15 / 50 µs, ≥ 200x",
        ("count_type", _) => "5 / 10 µs",
        ("filter_time_range", _) => "50 / 200 µs, ≥ 100x",
        ("filter_occupants_all", _) => "20 / 100 µs, ≥ 30x",
        ("filter_data", _) => "30 / 100 µs, ≥ 100x",
        ("name_ctn_3" | "name_ctn_5", _) => "100 / 500 µs, ≥ 50x",
        ("skip_1000" | "cursor_page_11", _) => "100 / 300 µs, ≥ 50x",
        _ => "",
    }
}

/// `12,345`: a rate with thousands separators.
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn main() {
    let Some(q) = load("queries.json") else {
        eprintln!("no benches/results/queries.json: run `cargo bench --bench queries` first");
        return;
    };
    println!("Machine: {}; {} dialogs.\n", q["machine"].as_str().unwrap_or("?"), q["dialogs"]);
    println!(
        "| query class | viewers | query | dialogstore p50 / p99 | SQLite p50 / p99 | ratio (p50) | target |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let rows = q["queries"].as_array().cloned().unwrap_or_default();
    let at = |class: &str, viewers: &str, backend: &str| {
        let row = rows
            .iter()
            .find(|r| r["class"] == class && r["viewers"] == viewers && r["backend"] == backend)?;
        Some((row["p50_us"].as_f64()?, row["p99_us"].as_f64()?))
    };
    let mut keys: Vec<(&str, &str)> = rows
        .iter()
        .filter_map(|r| Some((r["class"].as_str()?, r["viewers"].as_str().unwrap_or("typical"))))
        .collect();
    keys.dedup();
    for (class, viewers) in keys {
        let query = rows.iter().find(|r| r["class"] == class).map(|r| &r["query"]);
        let figures = [at(class, viewers, "dialogstore"), at(class, viewers, "sqlite")];
        let best = figures.iter().flatten().map(|f| f.0).fold(f64::INFINITY, f64::min);
        let cell = |v: Option<(f64, f64)>| match v {
            Some((p50, p99)) if p50 == best => format!("**{}** / {}", us(p50), us(p99)),
            Some((p50, p99)) => format!("{} / {}", us(p50), us(p99)),
            None => "-".to_owned(),
        };
        let ratio = match figures {
            [Some(store), Some(sqlite)] => format!("{:.1}x", sqlite.0 / store.0),
            _ => "-".to_owned(),
        };
        println!(
            "| {class} | {viewers} | `{}` | {} | {} | {ratio} | {} |",
            query.and_then(|q| q.as_str()).unwrap_or(""),
            cell(figures[0]),
            cell(figures[1]),
            target(class, viewers)
        );
    }
    if let Some(times) = q["open_to_first_answer_ms"].as_array() {
        let mut ms: Vec<f64> = times.iter().filter_map(|t| t["ms"].as_f64()).collect();
        ms.sort_by(f64::total_cmp);
        if let (Some(mid), Some(max)) = (ms.get(ms.len() / 2), ms.last()) {
            println!(
                "\nOpen to the first inbox answer, no warm-up call ({} opens, busiest and weighted \
                 users): median {mid:.1} ms, slowest {max:.1} ms (target ≤ 20 ms).",
                ms.len()
            );
        }
    }
    let build = &q["build"];
    println!();
    if let Some(w) = load("writes.json") {
        let pair = |key: &str| {
            (
                w[key]["dialogstore"].as_f64().unwrap_or(0.0),
                w[key]["sqlite"].as_f64().unwrap_or(0.0),
            )
        };
        println!("| write path | dialogstore | SQLite | target |");
        println!("| --- | --- | --- | --- |");
        let rate = |a: f64, b: f64, unit: &str| {
            let (x, y) = (format!("{}{unit}", thousands(a)), format!("{}{unit}", thousands(b)));
            if a >= b {
                (format!("**{x}**"), y)
            } else {
                (x, format!("**{y}**"))
            }
        };
        let (a, b) = pair("ingest_dialogs_per_sec");
        let (x, y) = rate(a, b, "/s");
        println!(
            "| batched ingest (1,000 creates a transaction, durable) | {x} | {y} | ≥ 150,000/s, ≥ 5x |"
        );
        let (a, b) = pair("record_message_1000_a_transaction_msgs_per_sec");
        let (x, y) = rate(a, b, " msgs/s");
        println!("| `record_message`, 1,000 a transaction | {x} | {y} | ≥ 100,000/s, ≥ 5x |");
        let runs = &w["concurrent_durable_record_message"];
        for callers in ["1", "4", "16", "64"] {
            let run = &runs[callers];
            let side = |name: &str| {
                let f = |k: &str| run[name][k].as_f64().unwrap_or(0.0);
                (f("msgs_per_sec"), f("p50_ms"), f("p99_ms"))
            };
            let ((a, a50, a99), (b, b50, b99)) = (side("dialogstore"), side("sqlite"));
            let (x, y) = rate(a, b, " msgs/s");
            let per = run["dialogstore_calls_a_commit"].as_f64().unwrap_or(0.0);
            let target = if callers == "64" { "≥ 30,000/s, ≥ 10x, p99 ≤ 20 ms" } else { "" };
            println!(
                "| durable `record_message`, {callers} callers ({per:.1} calls a commit) | {x} \
                 (p50 {a50:.2} ms, p99 {a99:.2} ms) | {y} (p50 {b50:.2} ms, p99 {b99:.2} ms) | \
                 {target} |"
            );
        }
        let (a, b) = pair("single_durable_create_p50_us");
        let (x, y) = bold_lower(a, b, us);
        println!("| single durable create, p50 | {x} | {y} | |");
        let (a, b) = pair("record_message_p50_us");
        let (x, y) = bold_lower(a, b, us);
        println!("| single durable `record_message`, p50 (groups only) | {x} | {y} | |");
        let (a, b) = pair("open_p50_ms");
        let (x, y) = bold_lower(a, b, |v| format!("{v:.1} ms"));
        println!("| open a {}-dialog store, p50 | {x} | {y} | ≤ 50 ms |", q["dialogs"]);
    }
    let (a, b) = (
        build["store_bytes"].as_f64().unwrap_or(0.0),
        build["sqlite_bytes"].as_f64().unwrap_or(0.0),
    );
    let (x, y) = bold_lower(a, b, |v| format!("{:.0} MiB", v / 1048576.0));
    println!("| file size | {x} | {y} | ≤ SQLite's |");
    let peak = |backend: &str| q["peak_resident_bytes_after_warm_up"][backend].as_f64();
    if let (Some(a), Some(b)) = (peak("dialogstore"), peak("sqlite")) {
        let (x, y) = bold_lower(a, b, |v| format!("{:.0} MiB", v / 1048576.0));
        println!(
            "| peak memory of a process that opens one and runs every benched query once (caches: 512 MiB each) | {x} | {y} | |"
        );
    }
    println!(
        "\nBuilding the data set: dialogstore created {:.0} dialogs/s and recorded {:.0} messages and reads/s \
         (Durability::None, 1,000 a transaction); SQLite took {:.0} s to load the data exported from the store \
         (the export's reads from the store included), build its indexes and analyze.",
        build["store_create_per_sec"].as_f64().unwrap_or(0.0),
        build["store_message_per_sec"].as_f64().unwrap_or(0.0),
        build["sqlite_load_secs"].as_f64().unwrap_or(0.0)
    );
    print_changes();
}

/// The change feed's table from `changes.json`: p50 / p99 per call and viewer set.
fn print_changes() {
    let Some(ch) = load("changes.json") else {
        return;
    };
    println!(
        "\nChange feed (`changes_since`, limit {}) on a copy of the store, and the first inbox \
         page on the same store for scale ({}; {} dialogs). SQLite keeps no commit log to read \
         changes from: no SQLite column.\n",
        ch["feed_limit"],
        ch["machine"].as_str().unwrap_or("?"),
        ch["dialogs"]
    );
    println!("| call | viewers | dialogstore p50 / p99 | target (p50) |");
    println!("| --- | --- | --- | --- |");
    let mut rows: Vec<&Value> = ch["rows"].as_array().into_iter().flatten().collect();
    let rank = |row: &&Value| match row["class"].as_str() {
        Some("changes_empty") => 0,
        Some("changes_10") => 1,
        _ => 2,
    };
    rows.sort_by_key(rank);
    for row in rows {
        let (class, viewers) =
            (row["class"].as_str().unwrap_or(""), row["viewers"].as_str().unwrap_or(""));
        let call = match class {
            "changes_empty" => "nothing changed: the empty answer after a full sync",
            "changes_10" => "10 changes: 10 `record_message` in 10 of the viewer's dialogs",
            "inbox_reference" => {
                "reference: `list_dialogs`, `sort_desc=last_message_date_sent&limit=100`"
            }
            other => other,
        };
        let target = match (class, viewers) {
            ("changes_empty", "weighted") => "≤ 5 µs",
            ("changes_10", "weighted") => "≤ 30 µs",
            _ => "",
        };
        let (p50, p99) =
            (row["p50_us"].as_f64().unwrap_or(0.0), row["p99_us"].as_f64().unwrap_or(0.0));
        println!("| {call} | {viewers} | {} / {} | {target} |", us(p50), us(p99));
    }
}
