//! `dialogstore demo`: the crate's data generator into a store file, then QuickBlox's example
//! queries and a few inbox queries on it, with their answers and timings.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use dialogstore::{Dialog, DialogStore, Durability, ManualClock, Page, UserId};
use dialogstore_testkit::{Generator, Spec, T0};
use indicatif::{ProgressBar, ProgressStyle};

use crate::inspect::write_stats;
use crate::{fmt_duration, parse_query, thousands, Failure};

/// Build a store of generated dialogs (50,000 by default), run QuickBlox's queries on it, time them
///
/// The data has the benchmark data's shape at the size asked for: one user per five dialogs, drawn
/// Zipf-like so user 1 is the busiest (a bot in thousands of dialogs) while most users have a
/// handful; 94% private, 5% group, 1% public dialogs; messages and reads after the creates. It
/// is bulk-loaded (1,000 operations a transaction, `Durability::None`, then one `sync`) into a
/// new file: `--store PATH` (which must not exist yet; it is kept for the other commands) or
/// a temporary directory removed at the end.
///
/// Then, as user 1, every query string of QuickBlox's `GET /chat/Dialog.json` page, with the
/// documented ids and times replaced by ones from the generated data; then inbox queries for a
/// light user and for user 1; then the plans of both inboxes. Each query prints its
/// total_entries, its first items and its time (median of 11 runs).
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct DemoArgs {
    /// Dialogs to generate. The default, 50,000 (about 300,000 writes with the messages and
    /// reads), loads in seconds in a release build (`cargo run --release`);
    /// 1000000 is the benchmark's data and takes minutes
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    dialogs: u64,
}

/// Runs of each query; the median is printed.
const RUNS: usize = 11;
/// Items printed per page.
const SHOWN: usize = 3;

pub(crate) fn run(store_path: Option<&Path>, args: &DemoArgs) -> Result<(), Failure> {
    let started = Instant::now();
    // Declared before the store, so the store is closed before the directory is removed.
    let temp;
    let path = match store_path {
        Some(p) if p.exists() => {
            return Err(Failure::new(
                "STORAGE",
                format!(
                    "{}: already exists; demo builds a new store (query an existing one with \
                     `dialogstore list`, `explain`, `stats`)",
                    p.display()
                ),
            ))
        }
        Some(p) => p.to_path_buf(),
        None => {
            temp = TempDir::new()?;
            temp.0.join("dialogs.redb")
        }
    };
    let kept = store_path.is_some();
    let mut out = std::io::stdout().lock();
    let spec = Spec::with_dialogs(args.dialogs);
    writeln!(
        out,
        "dialogstore demo: {} dialogs among {} users, into {}{}",
        thousands(spec.dialogs),
        thousands(spec.users),
        path.display(),
        if kept { "" } else { " (a temporary directory)" }
    )?;

    let store = build(&path, &spec, &mut out)?;
    let busiest = UserId(1);
    let inbox = page(&store, busiest, INBOX)?;
    let seeds = seed_queries(&inbox.items);
    writeln!(out, "\n== The seeds' queries (GET /chat/Dialog.json?...) as user {busiest}")?;
    for (query, seed) in &seeds {
        show(&mut out, &store, busiest, query, Some(seed))?;
    }

    let light = light_user(&store, &spec)?;
    for (who, user) in [("a light user", light), ("the busiest user", busiest)] {
        writeln!(out, "\n== Inbox queries as {who}, user {user}")?;
        for query in INBOX_QUERIES {
            show(&mut out, &store, user, query, None)?;
        }
    }
    for (who, user) in [("the busiest user", busiest), ("a light user", light)] {
        writeln!(out, "\n== explain {INBOX} as {who}, user {user}")?;
        let plan = store.explain(user, &parse_query(INBOX)?)?;
        for line in plan.to_string().lines() {
            writeln!(out, "  {line}")?;
        }
    }

    writeln!(out)?;
    if kept {
        writeln!(
            out,
            "The store is kept at {p}; try:\n  dialogstore --store {p} list --as 1 'name[ctn]=party&limit=2'",
            p = path.display()
        )?;
    } else {
        writeln!(out, "The store was in a temporary directory and is removed now (keep one with --store PATH).")?;
    }
    writeln!(out, "demo done in {}", fmt_duration(started.elapsed()))?;
    Ok(())
}

/// The inbox query: a user's latest dialogs by last activity.
const INBOX: &str = "sort_desc=last_message_date_sent&limit=100";

/// The inbox queries run for both users.
const INBOX_QUERIES: [&str; 4] = [
    INBOX,
    "count=1",
    "sort_desc=last_message_date_sent&skip=100&limit=100&include_unread_message_count=0",
    "type[in]=1,2&name[ctn]=club&limit=10",
];

/// Generates the data into a new store file, with a progress bar, and prints what was built.
fn build(path: &Path, spec: &Spec, out: &mut impl Write) -> Result<DialogStore, Failure> {
    let events = Generator::new(spec.clone()).count() as u64;
    let clock = Arc::new(ManualClock::new(T0));
    let store = DialogStore::builder()
        .app_id(76730)
        .muc_domain("muc.chat.quickblox.com")
        .clock(clock.clone())
        .durability(Durability::None)
        .open(path)?;
    let bar = ProgressBar::new(events).with_style(
        ProgressStyle::with_template(
            "loading {bar:40} {human_pos}/{human_len} writes ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let load =
        dialogstore_testkit::load(&store, &clock, spec, 1000, |done| bar.set_position(done))?;
    bar.finish_and_clear();
    let synced = Instant::now();
    store.sync()?;
    let sync = synced.elapsed();
    let rate = |n: u64, secs: f64| thousands((n as f64 / secs.max(1e-9)) as u64);
    writeln!(
        out,
        "built in {:.2} s: {} dialogs created in {:.2} s ({}/s), {} messages and {} reads \
         recorded in {:.2} s ({}/s), sync {}",
        load.create_secs + load.message_secs + sync.as_secs_f64(),
        thousands(load.dialogs),
        load.create_secs,
        rate(load.dialogs, load.create_secs),
        thousands(load.messages),
        thousands(load.reads),
        load.message_secs,
        rate(load.messages + load.reads, load.message_secs),
        fmt_duration(sync),
    )?;
    writeln!(out)?;
    write_stats(out, &store.stats()?)?;
    Ok(store)
}

/// The query strings of QuickBlox's list page, with ids and times taken from `inbox` (the
/// busiest user's inbox) instead of its 2019 example values, which match nothing here.
fn seed_queries(inbox: &[Dialog]) -> Vec<(String, &'static str)> {
    let fallback_time = T0 + 45 * 86_400;
    let mid = inbox.get(inbox.len() / 2);
    let pivot = mid.and_then(|d| d.last_message_date_sent).unwrap_or(fallback_time);
    let updated = mid.map_or(fallback_time, |d| d.updated_at);
    let id = inbox.first().map_or("5cc9bb58a28f9a406659d777".to_owned(), |d| d.id.to_string());
    let date = |i: usize| {
        inbox.get(i).and_then(|d| d.last_message_date_sent).unwrap_or(fallback_time + i as i64)
    };
    let other = inbox
        .iter()
        .filter(|d| d.dialog_type.code() == 2)
        .chain(inbox)
        .flat_map(|d| d.occupants_ids.iter())
        .find(|u| u.0 != 1)
        .map_or(2, |u| u.0);
    vec![
        ("limit=2".to_owned(), "limit=2"),
        (format!("updated_at[lt]={updated}"), "updated_at[lt]=1556829805"),
        (format!("last_message_date_sent[lte]={pivot}"), "last_message_date_sent[lte]=1556735709"),
        (format!("last_message_date_sent[gt]={pivot}"), "last_message_date_sent[gt]=1556735709"),
        (format!("_id[ne]={id}"), "_id[ne]=5cc9bb58a28f9a406659d777"),
        ("type[in]=1,2".to_owned(), "type[in]=1,2"),
        (
            format!("last_message_date_sent[nin]={}, {}", date(0), date(1)),
            "last_message_date_sent[nin]=1556739654, 1556739987",
        ),
        (format!("occupants_ids[all]=1,{other}"), "occupants_ids[all]=91103344,91142495"),
        ("name[ctn]=party".to_owned(), "name[ctn]=party"),
        ("sort_asc=created_at".to_owned(), "sort_asc=field_name"),
        ("sort_desc=updated_at".to_owned(), "sort_desc=field_name"),
        (
            "data[class_name]=ScoreTable&data[progress][gte]=50".to_owned(),
            "data[class_name]=...&data[{class_field_N}]=...",
        ),
    ]
}

/// A user with a few dialogs of their own: the first from the middle of the id range up with
/// one to five, else the last user.
fn light_user(store: &DialogStore, spec: &Spec) -> Result<UserId, Failure> {
    let first = (spec.users / 2).max(2);
    for u in first..(first + 500).min(spec.users + 1) {
        let own = page(store, UserId(u), &format!("occupants_ids={u}&count=1"))?.total_entries;
        if (1..=5).contains(&own) {
            return Ok(UserId(u));
        }
    }
    Ok(UserId(spec.users))
}

fn page(store: &DialogStore, user: UserId, query: &str) -> Result<Page, Failure> {
    let q = parse_query(query)?;
    store.list_dialogs(user, &q).map_err(|e| Failure::in_query(e, query))
}

/// Runs `query` [`RUNS`] times as `user` and prints it, its totals, its first items and the
/// median time.
fn show(
    out: &mut impl Write,
    store: &DialogStore,
    user: UserId,
    query: &str,
    seed: Option<&str>,
) -> Result<(), Failure> {
    let q = parse_query(query)?;
    let mut times = Vec::with_capacity(RUNS);
    let mut answer = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let page = store.list_dialogs(user, &q).map_err(|e| Failure::in_query(e, query))?;
        times.push(t.elapsed());
        answer = Some(page);
    }
    let first = times.first().copied().unwrap_or_default();
    times.sort();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    writeln!(out, "\n?{query}")?;
    if let Some(seed) = seed.filter(|s| *s != query) {
        writeln!(out, "  (seed: ?{seed})")?;
    }
    let Some(page) = answer else { return Ok(()) };
    let timing =
        format!("{} (median of {RUNS}; first {})", fmt_duration(median), fmt_duration(first));
    if page.count_only {
        writeln!(out, "  count {}  {timing}", thousands(page.total_entries))?;
        return Ok(());
    }
    writeln!(
        out,
        "  total_entries {}, skip {}, limit {}, {} items  {timing}",
        thousands(page.total_entries),
        page.skip,
        page.limit,
        page.items.len()
    )?;
    for d in page.items.iter().take(SHOWN) {
        writeln!(out, "  {}", compact(d))?;
    }
    if page.items.len() > SHOWN {
        writeln!(out, "  ... {} more on this page", page.items.len() - SHOWN)?;
    }
    Ok(())
}

/// One dialog on one line: id, type, name, occupants, last message, unread.
fn compact(d: &Dialog) -> String {
    let kind = match d.dialog_type.code() {
        1 => "public ",
        2 => "group  ",
        _ => "private",
    };
    let name = match &d.name {
        Some(n) if n.chars().count() > 28 => {
            format!("\"{}…\"", n.chars().take(27).collect::<String>())
        }
        Some(n) => format!("\"{n}\""),
        None => {
            let users: Vec<String> = d.occupants_ids.iter().map(|u| u.to_string()).collect();
            users.join(" & ")
        }
    };
    let last = match d.last_message_date_sent {
        Some(t) => format!("last message {t}"),
        None => "no messages".to_owned(),
    };
    let unread = d.unread_messages_count.map_or(String::new(), |n| format!(", unread {n}"));
    format!("{} {kind} {name:<30} {:>3} occupants, {last}{unread}", d.id, d.occupants_ids.len())
}

/// A new directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, Failure> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir()
            .join(format!("dialogstore-demo-{}-{nanos:09}", std::process::id()));
        // `create_dir`, not `create_dir_all`: an existing directory is an error, never reused.
        std::fs::create_dir(&path).map_err(|e| Failure::io(&path, &e))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
