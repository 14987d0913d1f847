//! The query language: QuickBlox's query-string form, a typed builder, and the canonical printer.
//!
//! A query string (`type[in]=1,2&sort_desc=last_message_date_sent&limit=2`) parses into a
//! [`Query`] AST, each condition with the byte span it came from; [`QueryBuilder`] builds the
//! same AST in Rust; `Display` prints the canonical string back, and parsing that string gives
//! an equal `Query`. This layer knows nothing of storage: the query pipeline (`query/`) answers
//! a `Query` against a snapshot.

mod ast;
mod builder;
mod error;
mod parse;
mod print;
mod validate;

pub use ast::{Condition, Direction, Field, Op, Query, Scalar, Sort, Span, Value, ValueKind};
pub use builder::{IntoValue, QueryBuilder};
pub use error::{QueryError, QueryErrorKind};
