//! `dialogstore import FILE.jsonl`: dialogs in QuickBlox's JSON shape, one a line, written as
//! they are ([`DialogStore::import`]) in batches of one transaction each.
//!
//! A batch with a bad line is rolled back whole and the import stops there, so the store holds
//! exactly the lines before that batch: one line number says where to resume (`--from-line`).

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use dialogstore::{Dialog, DialogStore, Error};
use indicatif::{ProgressBar, ProgressStyle};

use crate::{fmt_duration, thousands, Failure};

/// Import dialogs in QuickBlox's JSON shape, one a line; stops at the first bad batch
///
/// Each line is a complete dialog as `GET /chat/Dialog.json` returns it (`_id`, `user_id`,
/// `type`, `created_at`, `updated_at`, occupants, last message, ...); it is written as it is,
/// keeping its `_id` and times. Blank lines are skipped. Lines are written in batches of
/// `--batch` lines, one transaction each. The store file is created if missing.
///
/// A bad line (not JSON, or a dialog the store refuses: a duplicate `_id`, a private dialog
/// without its two users, ...) is reported as `error CODE: line N: message` and its whole batch
/// is rolled back; every bad line of that batch is reported, then the import STOPS, exiting
/// with status 1. The store then holds every line before that batch and none from it on, so
/// after fixing the file, `--from-line` (the number printed) resumes where it stopped.
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ImportArgs {
    /// The JSONL file
    file: PathBuf,
    /// Lines per transaction
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    batch: u64,
    /// Skip the lines before this one (1-based): resume a stopped import
    #[arg(long, value_name = "LINE", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    from_line: u64,
}

/// A line read, parsed or not.
struct Line {
    number: u64,
    dialog: Result<Dialog, Error>,
}

/// A batch that was not written: its line range and every bad line in it.
struct Refused {
    first: u64,
    last: u64,
    bad: Vec<(u64, Error)>,
}

pub(crate) fn run(store_path: &Path, args: &ImportArgs) -> Result<(), Failure> {
    let file = File::open(&args.file).map_err(|e| Failure::io(&args.file, &e))?;
    let size = file.metadata().map_err(|e| Failure::io(&args.file, &e))?.len();
    let store = DialogStore::open(store_path)?;
    let started = Instant::now();

    let bar = ProgressBar::new(size).with_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut batch: Vec<Line> = Vec::new();
    let mut number = 0u64;
    let mut imported = 0u64;
    let mut first_written: Option<u64> = None;
    let mut last_written = 0u64;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| Failure::io(&args.file, &e))?;
        let at_end = n == 0;
        if !at_end {
            number += 1;
            bar.inc(n as u64);
            if number >= args.from_line {
                if let Some(line) = parse_line(number, &buf) {
                    batch.push(line);
                }
            }
        }
        let full = batch.len() as u64 >= args.batch;
        if (full || at_end) && !batch.is_empty() {
            let (first, last) = (batch[0].number, number);
            match write_batch(&store, std::mem::take(&mut batch), first, last)? {
                Ok(count) => {
                    imported += count;
                    first_written.get_or_insert(first);
                    last_written = last;
                    bar.set_message(dialogs(imported));
                }
                Err(refused) => {
                    bar.finish_and_clear();
                    return Err(report_refused(&refused, imported, first_written, last_written));
                }
            }
        }
        if at_end {
            break;
        }
    }
    bar.finish_and_clear();
    let lines = match first_written {
        Some(first) => format!("lines {first} to {last_written}"),
        None => "no lines".to_owned(),
    };
    writeln!(
        std::io::stdout().lock(),
        "imported {} ({lines} of {}) into {} in {}",
        dialogs(imported),
        args.file.display(),
        store_path.display(),
        fmt_duration(started.elapsed())
    )?;
    Ok(())
}

/// `1 dialog`, `1,000 dialogs`.
fn dialogs(n: u64) -> String {
    format!("{} dialog{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// One line as a dialog; `None` for a blank line.
fn parse_line(number: u64, bytes: &[u8]) -> Option<Line> {
    let dialog = match std::str::from_utf8(bytes) {
        Ok(text) if text.trim().is_empty() => return None,
        // Without its line end, so a JSON error's position reads "line 1 column N".
        Ok(text) => Dialog::from_json(text.trim_end_matches(['\n', '\r'])),
        Err(e) => Err(Error::Validation(dialogstore::ValidationError::Json {
            message: format!("not UTF-8 ({e})"),
        })),
    };
    Some(Line { number, dialog })
}

/// Writes one batch in one transaction. `Ok(Ok(n))`: `n` dialogs committed; `Ok(Err(..))`: a
/// bad line, nothing of the batch written; `Err`: the store failed.
fn write_batch(
    store: &DialogStore,
    batch: Vec<Line>,
    first: u64,
    last: u64,
) -> Result<Result<u64, Refused>, Failure> {
    let mut bad: Vec<(u64, Error)> = Vec::new();
    let mut good = Vec::with_capacity(batch.len());
    for line in batch {
        match line.dialog {
            Ok(d) => good.push((line.number, d)),
            Err(e) => bad.push((line.number, e)),
        }
    }
    let count = good.len() as u64;
    // The line of the error handed back to abort the transaction.
    let mut abort_line = None;
    let written = store.write(|b| {
        for (number, dialog) in good {
            // A refused import writes nothing; go on to report every bad line of the batch.
            if let Err(e) = b.import(dialog) {
                bad.push((number, e));
            }
        }
        match bad.pop() {
            Some((number, e)) => {
                abort_line = Some(number);
                Err(e)
            }
            None => Ok(()),
        }
    });
    match (written, abort_line) {
        (Ok(()), _) => Ok(Ok(count)),
        (Err(e), Some(number)) => {
            bad.push((number, e));
            bad.sort_by_key(|(n, _)| *n);
            Ok(Err(Refused { first, last, bad }))
        }
        // The commit itself failed: a storage error, not a bad line.
        (Err(e), None) => Err(Failure::new(
            e.code(),
            format!("{e} (while writing lines {first} to {last}; nothing of them was written)"),
        )),
    }
}

/// Prints every bad line and returns the failure that ends the import.
fn report_refused(
    refused: &Refused,
    imported: u64,
    first_written: Option<u64>,
    last_written: u64,
) -> Failure {
    let mut err = std::io::stderr().lock();
    // Each bad line is its own `error CODE: line N: message` line; the failure returned
    // closes the report.
    for (number, e) in &refused.bad {
        let _ = writeln!(err, "error {}: line {number}: {e}", e.code());
    }
    let before = match first_written {
        Some(first) => {
            format!("{} from lines {first} to {last_written} imported", dialogs(imported))
        }
        None => "nothing was imported".to_owned(),
    };
    let code = refused.bad.first().map_or("VALIDATION", |(_, e)| e.code());
    Failure::new(
        code,
        format!(
            "import stopped: {} bad line(s) in lines {} to {}, so none of those lines was \
             written; {before}. Fix the file and resume with --from-line {}",
            refused.bad.len(),
            refused.first,
            refused.last,
            refused.first
        ),
    )
}
