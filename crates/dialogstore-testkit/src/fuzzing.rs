//! Bodies of the cargo-fuzz targets under `fuzz/`, kept in this crate so that a plain
//! `cargo test` (`tests/fuzz_corpus.rs`) replays their corpora and regressions without
//! cargo-fuzz. Not part of the supported API.

pub mod model;
mod model_ops;
pub mod steps;

pub use model_ops::Env;

use dialogstore::{Query, QueryErrorKind, MAX_QUERY_BYTES};

/// The `parse_query` target: any UTF-8 input parses without panicking; what parses prints as a
/// canonical string that parses back to an equal query, or that is refused as too long when
/// percent-encoding made it longer than [`MAX_QUERY_BYTES`]; what fails renders its caret.
///
/// # Panics
///
/// When a parsed query does not survive printing and parsing again: that is a bug.
pub fn parse_query(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.parse::<Query>() {
        Ok(query) => {
            let printed = query.to_string();
            let back = printed.parse::<Query>();
            if printed.len() > MAX_QUERY_BYTES {
                // The limit is on the string given, and the printed one is longer.
                let err = back.expect_err("a string over the limit parsed");
                assert!(matches!(err.kind, QueryErrorKind::TooLong { .. }), "{err}");
            } else {
                assert_eq!(back, Ok(query), "printed as {printed:?}");
            }
        }
        Err(err) => {
            let _ = err.render(text);
        }
    }
}

/// The `store_ops` target: decodes operations and queries from `data`, runs them on a store and
/// on the model, and panics on the first disagreement or integrity problem.
///
/// # Panics
///
/// When the store and the model disagree, or `check_integrity` finds a problem: that is a bug.
pub fn store_ops(data: &[u8]) {
    let steps = steps::decode(data);
    // The staging window from the input's length: from a seal every row to none at all.
    let staged_rows = [1, 2, 3, 7, 32_768][data.len() % 5];
    // Every answer against the model; the whole-store checks now and then, so that the target
    // runs fast enough to reach deep states: integrity after every 16th write step and at the
    // end, every 4th query on every access path.
    // One input in four runs on a failing disk, its fault plan drawn from the input's bytes.
    let faults = data.first().filter(|b| *b & 3 == 0).map(|_| {
        data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        })
    });
    let checks = steps::Checks { integrity_every: 16, plans_every: 4, staged_rows, faults };
    if let Err(problem) = steps::run(&steps, checks) {
        panic!("store and model disagree: {problem}");
    }
}
