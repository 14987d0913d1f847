//! Replays every fuzz corpus seed and every saved crash through the library function that the
//! cargo-fuzz target of the same name calls, so a plain `cargo test` keeps found crashes fixed
//! without cargo-fuzz on the machine.
//!
//! A target `T` has its seeds in `fuzz/corpus/T/` and its crash inputs in
//! `fuzz/regressions/T/`; adding one here is adding its name to `replay_targets!`.

use std::panic::catch_unwind;
use std::path::Path;

macro_rules! replay_targets {
    ($($target:ident),* $(,)?) => {$(
        #[test]
        fn $target() {
            replay(stringify!($target), dialogstore_testkit::fuzzing::$target);
        }
    )*};
}

replay_targets!(parse_query, store_ops);

/// Runs every file of the target's corpus and regressions, and fails naming each input that
/// panicked.
fn replay(target: &str, run: fn(&[u8])) {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut failed = Vec::new();
    let mut seeds = 0;
    for dir in ["corpus", "regressions"] {
        let dir = fuzz.join(dir).join(target);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (keep a .gitkeep in it)", dir.display()));
        for entry in entries {
            let path = entry.expect("readable directory entry").path();
            let hidden = path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden || !path.is_file() {
                continue;
            }
            let data = std::fs::read(&path).expect("readable fuzz input");
            seeds += 1;
            if catch_unwind(|| run(&data)).is_err() {
                failed.push(path.display().to_string());
            }
        }
    }
    assert!(seeds > 0, "no inputs for {target}");
    assert!(failed.is_empty(), "{target} panicked on {failed:#?}");
}
