//! The typed builder for [`Query`](super::Query).

/// Builds a [`Query`](super::Query) in Rust, validated as the parser validates.
#[derive(Clone, Debug, Default)]
pub struct QueryBuilder {}
