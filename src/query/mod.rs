//! The query language: QuickBlox's query-string form, a typed builder, and the canonical printer.
//!
//! A query string (`type[in]=1,2&sort_desc=last_message_date_sent&limit=2`) parses into a
//! [`Query`] AST; [`QueryBuilder`] builds the same AST in Rust; `Display` prints the canonical
//! string back, and parsing that string gives an equal `Query`. The planner and executor that
//! answer a query live beside it, private to the crate.

mod ast;
mod builder;
mod error;
pub(crate) mod eval;
pub(crate) mod exec;
mod filter;
mod page;
mod parse;
pub(crate) mod plan;
mod print;
mod validate;
mod view;

pub use ast::{
    Condition, Direction, Field, Op, Query, Scalar, Sort, Span, Value, ValueKind, MAX_LIMIT,
    MAX_QUERY_BYTES,
};
pub use builder::{IntoValue, QueryBuilder};
pub use error::{QueryError, QueryErrorKind};
pub use exec::Explain;
pub use page::Page;
pub use plan::PathChoice;
pub use view::{DialogView, PageView};
