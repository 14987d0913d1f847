//! The backbone: random sequences of writes and queries on the store and on a plain model
//! (`dialogstore_testkit::fuzzing::model`), which must agree on every answer, order included, with
//! `check_integrity` clean after every sequence. 2,000 cases by default; set
//! `DIALOGSTORE_PROPTEST_CASES` for more.

use dialogstore_testkit::fuzzing::steps::{decode, run, Checks};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("DIALOGSTORE_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_the_model(
        bytes in proptest::collection::vec(any::<u8>(), 0..2500),
        staged_rows in prop::sample::select(vec![1u32, 2, 3, 7, 32_768]),
    ) {
        let steps = decode(&bytes);
        let checks = Checks { integrity_every: 0, plans_every: 1, staged_rows, faults: None };
        if let Err(problem) = run(&steps, checks) {
            prop_assert!(false, "{}", problem);
        }
    }
}

/// The generator reaches what the model test is for: over 200 random inputs, writes succeed,
/// batches commit and abort with successful writes inside, and queries find dialogs. (A
/// decoder change that stopped producing any of these would leave the test above passing
/// while testing less.)
#[test]
fn random_sequences_exercise_batches_writes_and_queries() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let bytes = proptest::collection::vec(any::<u8>(), 500..2500);
    let mut total = dialogstore_testkit::fuzzing::steps::Stats::default();
    for n in 0..200 {
        let input = bytes.new_tree(&mut runner).unwrap().current();
        let staged_rows = [1, 3, 32_768][n % 3];
        let checks = Checks { integrity_every: 0, plans_every: 0, staged_rows, faults: None };
        let stats = run(&decode(&input), checks).unwrap_or_else(|p| panic!("{p}"));
        total.writes_ok += stats.writes_ok;
        total.batches += stats.batches;
        total.batches_aborted += stats.batches_aborted;
        total.batch_writes_ok += stats.batch_writes_ok;
        total.queries_nonempty += stats.queries_nonempty;
        total.syncs += stats.syncs;
        total.syncs_caught_up += stats.syncs_caught_up;
        total.keyset_walks += stats.keyset_walks;
    }
    assert!(total.writes_ok > 10_000, "{total:?}");
    assert!(total.batches > 300 && total.batches_aborted > 100, "{total:?}");
    assert!(total.batch_writes_ok > 1_500, "{total:?}");
    assert!(total.queries_nonempty > 600, "{total:?}");
    // Clients sync in the middle of sequences and catch up there, and at the end of each run
    // every client and three fresh ones catch up (600 of these).
    assert!(total.syncs > 5_000 && total.syncs_caught_up > 2_000, "{total:?}");
    assert!(total.keyset_walks > 0, "{total:?}");
}

/// The same sequences on a disk that fails under about a quarter of the single writes that
/// change a dialog (EIO or a full disk, from one of their first I/O calls): every such write
/// fails with `STORAGE` or succeeds, the same store writes again once the disk heals, and it
/// holds the model's state before the write or after it; over 200 inputs, failed writes are
/// found both ways.
#[test]
fn a_failing_disk_fails_writes_whole_and_the_store_goes_on() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let bytes = proptest::collection::vec(any::<u8>(), 200..1500);
    let (mut absent, mut present) = (0, 0);
    for n in 0..200u64 {
        let input = bytes.new_tree(&mut runner).unwrap().current();
        let staged_rows = [1, 3, 32_768][n as usize % 3];
        let faults = Some(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let checks = Checks { integrity_every: 8, plans_every: 0, staged_rows, faults };
        let stats = run(&decode(&input), checks).unwrap_or_else(|p| panic!("input {n}: {p}"));
        (absent, present) = (absent + stats.faults_absent, present + stats.faults_present);
    }
    eprintln!("failing disk: failed writes absent {absent} times, committed {present} times");
    assert!(absent > 100 && present > 0, "absent {absent}, present {present}");
}
