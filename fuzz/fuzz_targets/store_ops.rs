//! Operation sequences: the store and the plain model agree on every write and query, on every
//! access path, and `check_integrity` stays clean after every step.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dialogstore_testkit::fuzzing::store_ops(data));
