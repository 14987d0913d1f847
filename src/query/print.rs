//! Printing a [`Query`](super::Query) as its canonical query string.
