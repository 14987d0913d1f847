//! The reading commands: `list`, `get`, `explain`, `check`, `stats`. Each opens an existing
//! store file, answers on stdout, and reports failures as [`Failure`]s.

use std::io::Write;
use std::path::Path;

use dialogstore::StoreStats;

use crate::{fmt_bytes, open_existing, parse_query, parse_user, thousands, Failure};

/// `dialogstore list --as USER QUERY`: the page as QuickBlox's documentation prints it.
pub(crate) fn list(path: &Path, user: &str, query: &str) -> Result<(), Failure> {
    let user = parse_user(user)?;
    let q = parse_query(query)?;
    let store = open_existing(path)?;
    let page = store.list_dialogs(user, &q).map_err(|e| Failure::in_query(e, query))?;
    print_json(&page)
}

/// `dialogstore get --as USER ID`.
pub(crate) fn get(path: &Path, user: &str, id: &str) -> Result<(), Failure> {
    let user = parse_user(user)?;
    let store = open_existing(path)?;
    print_json(&store.get_dialog(user, id)?)
}

/// `dialogstore changes --as USER [--since TOKEN] [--limit N]`.
pub(crate) fn changes(path: &Path, user: &str, since: &str, limit: usize) -> Result<(), Failure> {
    let user = parse_user(user)?;
    let cursor: dialogstore::ChangeCursor = since.parse()?;
    let store = open_existing(path)?;
    print_json(&store.changes_since(user, &cursor, limit)?)
}

/// `dialogstore explain --as USER QUERY`.
pub(crate) fn explain(path: &Path, user: &str, query: &str) -> Result<(), Failure> {
    let user = parse_user(user)?;
    let q = parse_query(query)?;
    let store = open_existing(path)?;
    let plan = store.explain(user, &q).map_err(|e| Failure::in_query(e, query))?;
    writeln!(std::io::stdout().lock(), "{plan}")?;
    Ok(())
}

/// `dialogstore check`: the report on stdout; problems make it fail.
pub(crate) fn check(path: &Path) -> Result<(), Failure> {
    let store = open_existing(path)?;
    let report = store.check_integrity()?;
    writeln!(std::io::stdout().lock(), "{report}")?;
    if report.is_clean() {
        Ok(())
    } else {
        Err(Failure::new(
            "CORRUPTED",
            format!("the integrity check found {} problem(s), listed above", report.problems.len()),
        ))
    }
}

/// `dialogstore stats [--json]`.
pub(crate) fn stats(path: &Path, json: bool) -> Result<(), Failure> {
    let store = open_existing(path)?;
    let stats = store.stats()?;
    if json {
        return print_json(&stats);
    }
    let mut out = std::io::stdout().lock();
    write_stats(&mut out, &stats)?;
    Ok(())
}

/// The stats as a small report; `demo` prints the same.
pub(crate) fn write_stats(out: &mut impl Write, s: &StoreStats) -> std::io::Result<()> {
    writeln!(
        out,
        "dialogs   {} (public {}, group {}, private {})",
        thousands(s.dialogs()),
        thousands(s.public_dialogs),
        thousands(s.group_dialogs),
        thousands(s.private_dialogs)
    )?;
    writeln!(
        out,
        "rows      {} ({} deleted)",
        thousands(s.rows),
        thousands(s.rows.saturating_sub(s.dialogs()))
    )?;
    writeln!(out, "users     {} (occupying at least one dialog)", thousands(s.users))?;
    writeln!(out, "commits   {}", thousands(s.commits))?;
    match s.file_bytes {
        Some(b) => writeln!(out, "file      {} ({} bytes)", fmt_bytes(b), thousands(b))?,
        None => writeln!(out, "file      (in memory)")?,
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<24} {:>12} {:>12} {:>12} {:>6}",
        "table", "entries", "stored", "on pages", "height"
    )?;
    for t in &s.tables {
        writeln!(
            out,
            "{:<24} {:>12} {:>12} {:>12} {:>6}",
            t.name,
            thousands(t.entries),
            fmt_bytes(t.stored_bytes),
            fmt_bytes(t.total_bytes),
            t.tree_height
        )?;
    }
    Ok(())
}

/// Pretty JSON (two-space indents, as QuickBlox's documentation prints it) on stdout.
fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new("INTERNAL", format!("cannot print JSON: {e}")))?;
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}
