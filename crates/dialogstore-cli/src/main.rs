//! `dialogstore`: poke at a dialog store file the way `sqlite3` pokes at a database.
//!
//! `demo` builds a store from the crate's data generator and runs QuickBlox's queries on it;
//! `import` loads dialogs in QuickBlox's JSON shape; `list`, `get`, `explain`, `check` and
//! `stats` read a store file. Every failure prints `error CODE: message` (the library's stable
//! codes, plus `IO` for files the command itself reads) on stderr and exits with status 1; a
//! usage error exits with status 2.

mod demo;
mod import;
mod inspect;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use dialogstore::{DialogStore, Error, Query, UserId};

/// The store file of every command but `demo` when `--store` is not given.
const DEFAULT_STORE: &str = "dialogs.redb";

#[derive(Parser)]
#[command(
    name = "dialogstore",
    version,
    about = "Build, import, query and inspect a dialogstore file (chat dialogs on redb, QuickBlox semantics)",
    after_help = "Errors print `error CODE: message` on stderr and exit with status 1 \
                  (CODE is the library's: QUERY, VALIDATION, NOT_FOUND, ACCESS_ERROR, ...; \
                  IO for the files the command reads)."
)]
struct Cli {
    /// The store file [default: dialogs.redb in the current directory; for `demo`, a new file
    /// in a temporary directory, removed when it ends]
    #[arg(long, global = true, value_name = "PATH")]
    store: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Demo(demo::DemoArgs),
    Import(import::ImportArgs),
    /// Print the page of dialogs USER sees that match QUERY, as JSON
    /// ({total_entries, skip, limit, items}, as QuickBlox answers it)
    List {
        /// The acting user: the dialogs they occupy and every public dialog are visible
        #[arg(long = "as", value_name = "USER")]
        user: String,
        /// A query string as after `Dialog.json?` (`type[in]=1,2&sort_desc=updated_at&limit=5`);
        /// empty: the first 100 dialogs in inbox order
        #[arg(default_value = "")]
        query: String,
    },
    /// Print one dialog as USER sees it (with their unread count), as JSON
    Get {
        /// The acting user
        #[arg(long = "as", value_name = "USER")]
        user: String,
        /// The dialog's `_id` (24 hex characters)
        id: String,
    },
    /// Print what changed for USER after TOKEN, as JSON ({dialogs, removed, next, has_more}):
    /// without --since, every dialog they see. Keep `next` and pass it as --since next time;
    /// while `has_more` is true, call again at once
    Changes {
        /// The acting user
        #[arg(long = "as", value_name = "USER")]
        user: String,
        /// The `next` of the previous answer [default: start, everything the user sees]
        #[arg(long, value_name = "TOKEN", default_value = "")]
        since: String,
        /// The most dialogs and removals to print, 1 to 1000
        #[arg(long, value_name = "N", default_value_t = 100,
              value_parser = clap::value_parser!(u16).range(1..=1000))]
        limit: u16,
    },
    /// Print the plan the store chooses for QUERY as USER, and what running it read
    Explain {
        /// The acting user
        #[arg(long = "as", value_name = "USER")]
        user: String,
        /// A query string as after `Dialog.json?`
        #[arg(default_value = "")]
        query: String,
    },
    /// Rebuild every index from the rows and compare; exit status 1 if anything differs
    Check,
    /// Dialogs by type, distinct users, every table's entries and bytes, the file size
    Stats {
        /// Print the numbers as JSON
        #[arg(long)]
        json: bool,
    },
}

/// What a command failed with: printed as `error CODE: message`, then `detail` if any.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: &'static str,
    pub message: String,
    /// Lines under the first: a query with a caret under the offending pair.
    pub detail: Option<String>,
    /// Stdout was closed by its reader (`dialogstore list ... | head`): end quietly.
    pub stdout_closed: bool,
}

impl Failure {
    pub(crate) fn new(code: &'static str, message: String) -> Failure {
        Failure { code, message, detail: None, stdout_closed: false }
    }

    /// A library error met while running `query`: query errors show the caret.
    pub(crate) fn in_query(err: Error, query: &str) -> Failure {
        let detail = match &err {
            Error::Query(q) => Some(q.render(query)),
            _ => None,
        };
        Failure { detail, ..Failure::from(err) }
    }

    /// A file the command itself reads or writes.
    pub(crate) fn io(path: &Path, err: &std::io::Error) -> Failure {
        Failure::new("IO", format!("{}: {err}", path.display()))
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        Failure::new(err.code(), err.to_string())
    }
}

/// Writing to stdout failed.
impl From<std::io::Error> for Failure {
    fn from(err: std::io::Error) -> Failure {
        let closed = err.kind() == std::io::ErrorKind::BrokenPipe;
        Failure { stdout_closed: closed, ..Failure::new("IO", format!("stdout: {err}")) }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let store = cli.store.as_deref();
    let result = match &cli.command {
        Command::Demo(args) => demo::run(store, args),
        Command::Import(args) => import::run(store_path(store), args),
        Command::List { user, query } => inspect::list(store_path(store), user, query),
        Command::Get { user, id } => inspect::get(store_path(store), user, id),
        Command::Changes { user, since, limit } => {
            inspect::changes(store_path(store), user, since, usize::from(*limit))
        }
        Command::Explain { user, query } => inspect::explain(store_path(store), user, query),
        Command::Check => inspect::check(store_path(store)),
        Command::Stats { json } => inspect::stats(store_path(store), *json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) if f.stdout_closed => ExitCode::SUCCESS,
        Err(f) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "error {}: {}", f.code, f.message);
            if let Some(detail) = &f.detail {
                let _ = writeln!(err, "{detail}");
            }
            ExitCode::FAILURE
        }
    }
}

fn store_path(given: Option<&Path>) -> &Path {
    given.unwrap_or(Path::new(DEFAULT_STORE))
}

/// Opens a store file that must exist already: reading commands never create one.
pub(crate) fn open_existing(path: &Path) -> Result<DialogStore, Failure> {
    if !path.exists() {
        return Err(Failure::new(
            "STORAGE",
            format!(
                "{}: no store file here (make one with `dialogstore import` or \
                 `dialogstore demo --store PATH`, or name one with --store)",
                path.display()
            ),
        ));
    }
    Ok(DialogStore::open(path)?)
}

/// `--as USER`.
pub(crate) fn parse_user(text: &str) -> Result<UserId, Failure> {
    Ok(text.parse::<UserId>()?)
}

/// A query string, with the caret on error.
pub(crate) fn parse_query(text: &str) -> Result<Query, Failure> {
    text.parse::<Query>().map_err(|e| Failure::in_query(e.into(), text))
}

/// `12 µs`, `3.40 ms`, `1.25 s`.
pub(crate) fn fmt_duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.1} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes as `23.4 MiB`.
pub(crate) fn fmt_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(fmt_bytes(512), "512 B");
        assert_eq!(fmt_bytes(1536), "1.5 KiB");
        assert_eq!(fmt_bytes(3 << 20), "3.0 MiB");
        assert_eq!(fmt_duration(Duration::from_micros(12)), "12.0 µs");
        assert_eq!(fmt_duration(Duration::from_micros(3400)), "3.40 ms");
        assert_eq!(fmt_duration(Duration::from_millis(1250)), "1.25 s");
    }
}
