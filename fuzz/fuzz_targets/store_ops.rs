//! Operation sequences: the store and the plain model agree on every write and query (every
//! fourth query on every access path), and `check_integrity` stays clean (checked every 16th
//! write step and at the end).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dialogstore_testkit::fuzzing::store_ops(data));
