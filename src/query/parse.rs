//! Parsing the query-string form into a [`Query`](super::Query).
