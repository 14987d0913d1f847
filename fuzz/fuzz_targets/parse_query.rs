//! Query strings: arbitrary bytes never panic the parser, and whatever parses round-trips.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dialogstore_testkit::fuzzing::parse_query(data));
