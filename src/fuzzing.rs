//! Bodies of the cargo-fuzz targets under `fuzz/`, kept in the library so that a plain
//! `cargo test` (`tests/fuzz_corpus.rs`) replays their corpora and regressions without
//! cargo-fuzz. Not part of the supported API.

use crate::query::Query;

/// The `parse_query` target: any UTF-8 input parses without panicking; what parses prints as a
/// canonical string that parses back to an equal query; what fails renders its caret.
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
            assert_eq!(
                printed.parse::<Query>(),
                Ok(query),
                "printed as {printed:?}"
            );
        }
        Err(err) => {
            let _ = err.render(text);
        }
    }
}
