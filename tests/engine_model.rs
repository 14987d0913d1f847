//! The backbone: random sequences of writes and queries on the store and on a plain model
//! (`dialogstore::fuzzing::model`), which must agree on every answer, order included, with
//! `check_integrity` clean after every sequence. 2,000 cases by default; set
//! `DIALOGSTORE_PROPTEST_CASES` for more.

use dialogstore::fuzzing::steps::{decode, run, Checks};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("DIALOGSTORE_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn store_agrees_with_the_model(bytes in proptest::collection::vec(any::<u8>(), 0..2500)) {
        let steps = decode(&bytes);
        let checks = Checks { integrity_every_step: false, every_plan: true };
        if let Err(problem) = run(&steps, checks) {
            prop_assert!(false, "{}", problem);
        }
    }
}
