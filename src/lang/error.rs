//! Query errors: which key was wrong, where it stood in the query string, and why.
//!
//! Every error names the key as written (`limit`, `name[ctn]`, `data[progress][gte]`) and carries
//! the byte span of its `key=value` pair, so [`QueryError::render`] can point at it the way
//! regex-syntax points into a pattern.

use std::fmt;

use super::ast::{Field, Op, Span, ValueKind, MAX_LIMIT, MAX_QUERY_BYTES};
use crate::model::FieldType;

/// A query string or built query that is not a valid query. Code `QUERY`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    /// The offending key as written (`limit`, `name[ctn]`), or `query` for the whole string.
    pub key: String,
    /// The byte span of the offending pair in the query string (empty for built queries).
    pub span: Span,
    /// What is wrong.
    pub kind: QueryErrorKind,
}

/// Why a query was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryErrorKind {
    /// The query string, as given, is longer than 8 KiB.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A pair whose key or value does not percent-decode to UTF-8.
    BadEncoding,
    /// A key that is not `FIELD`, `FIELD[OP]`, `data[NAME]` or `data[NAME][OP]`.
    MalformedKey,
    /// A field the query language does not know.
    UnknownField {
        /// The field as written.
        field: String,
    },
    /// An operator that does not exist.
    UnknownOperator {
        /// The operator as written.
        op: String,
    },
    /// An operator that does not apply to the field (`type[ctn]`).
    NotApplicable {
        /// The field.
        field: Field,
        /// The operator.
        op: Op,
    },
    /// A value that is neither unix seconds nor RFC 3339.
    BadTimestamp {
        /// The value as written.
        value: String,
    },
    /// A value that is not a 24-hex-character dialog id.
    BadDialogId {
        /// The value as written.
        value: String,
    },
    /// A value that is not a user id.
    BadUserId {
        /// The value as written.
        value: String,
    },
    /// A value that is not a dialog type (1, 2 or 3).
    BadType {
        /// The value as written.
        value: String,
    },
    /// A value that is not a boolean (`true`, `false`, `1`, `0`).
    BadBool {
        /// The value as written.
        value: String,
    },
    /// An empty list, or an empty item in a list.
    EmptyList,
    /// An empty `ctn` pattern: it would match every dialog, so it is refused.
    EmptyValue,
    /// A built query gave a typed value of another kind than the field holds (a time for
    /// `user_id`). The parser types its text by the field, so it never reports this.
    MismatchedValue {
        /// The kind of value the field takes.
        expected: ValueKind,
        /// The kind given.
        found: ValueKind,
    },
    /// A built query gave a list to an operator that takes one value.
    ListNotAllowed,
    /// `limit` outside 1 to 100, or not a number.
    LimitOutOfRange {
        /// The value as written.
        value: String,
    },
    /// `skip` that is not a non-negative integer (below 2^32).
    BadSkip {
        /// The value as written.
        value: String,
    },
    /// A flag (`count`, `include_unread_message_count`) that is not `0` or `1`.
    BadFlag {
        /// The value as written.
        value: String,
    },
    /// A built query whose canonical string (see the `Display` of [`Query`](super::Query)) would
    /// be longer than 8 KiB, so that printing it would not give a query string that parses. The
    /// parser never reports this: it measures the string it is given.
    CanonicalTooLong {
        /// The canonical string's length in bytes.
        len: usize,
    },
    /// `sort_asc` and `sort_desc` together, or either one twice.
    SortConflict,
    /// A `cursor` that is not one a page gave (only a page's `next_cursor` continues it).
    BadCursor {
        /// Why.
        why: String,
    },
    /// `skip` beside a non-empty `cursor`: the cursor says where the page starts.
    SkipWithCursor,
    /// A `cursor` given with other conditions or another sort than the query it came from.
    CursorOfAnotherQuery,
    /// A sort on a field that cannot be sorted (a user set).
    NotSortable {
        /// The field.
        field: Field,
    },
    /// `limit`, `skip`, `count`, `include_unread_message_count` or `cursor` given twice.
    Repeated,
    /// A comparison on a custom field whose class the query does not name, or names without
    /// declaring it: its values are text and match by equality only.
    UntypedComparison {
        /// The field.
        field: String,
    },
    /// A custom field the named class does not declare.
    UnknownDataField {
        /// The class.
        class: String,
        /// The field.
        field: String,
    },
    /// A value that does not fit the declared type of a custom field.
    BadDataValue {
        /// The field.
        field: String,
        /// The declared type.
        expected: FieldType,
        /// The value as written.
        value: String,
    },
}

impl QueryError {
    /// An error about `key` at `span`.
    pub fn new(key: impl Into<String>, span: Span, kind: QueryErrorKind) -> QueryError {
        QueryError { key: key.into(), span, kind }
    }

    /// The query with a caret line under the offending span:
    ///
    /// ```text
    /// limit=0&type=2
    /// ^^^^^^^ limit: must be an integer from 1 to 100, got "0"
    /// ```
    pub fn render(&self, query: &str) -> String {
        let start = self.span.start.min(query.len());
        let end = self.span.end.clamp(start, query.len());
        // Column positions count characters, so a caret lines up under non-ASCII text too.
        let pad = query.get(..start).map_or(start, |s| s.chars().count());
        let width = query.get(start..end).map_or(end - start, |s| s.chars().count()).max(1);
        format!("{query}\n{}{} {self}", " ".repeat(pad), "^".repeat(width))
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.kind)
    }
}

impl std::error::Error for QueryError {}

impl fmt::Display for QueryErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use QueryErrorKind::*;
        match self {
            TooLong { len } => write!(f, "{len} bytes, the most is {MAX_QUERY_BYTES}"),
            BadEncoding => f.write_str("does not percent-decode to UTF-8"),
            MalformedKey => f.write_str(
                "malformed key, expected FIELD, FIELD[OP], data[NAME] or data[NAME][OP]",
            ),
            UnknownField { field } => write!(f, "unknown field {field:?}"),
            UnknownOperator { op } => {
                write!(
                    f,
                    "unknown operator {op:?}, expected one of lt lte gt gte ne in nin all ctn"
                )
            }
            NotApplicable { field, op } => write!(f, "operator {op} does not apply to {field}"),
            BadTimestamp { value } => {
                write!(f, "{value:?} is not a timestamp (unix seconds or RFC 3339)")
            }
            BadDialogId { value } => write!(f, "{value:?} is not a dialog id (24 hex characters)"),
            BadUserId { value } => write!(f, "{value:?} is not a user id (a non-negative integer)"),
            BadType { value } => write!(f, "{value:?} is not a dialog type (1, 2 or 3)"),
            BadBool { value } => write!(f, "{value:?} is not a boolean (true, false, 1 or 0)"),
            EmptyList => f.write_str("list is empty or has an empty item"),
            EmptyValue => f.write_str("empty pattern, ctn needs at least one character"),
            MismatchedValue { expected, found } => {
                write!(f, "expected {}, got {}", kind_name(*expected), kind_name(*found))
            }
            ListNotAllowed => f.write_str("takes one value, not a list"),
            CanonicalTooLong { len } => {
                write!(
                    f,
                    "{len} bytes once printed in canonical form, the most is {MAX_QUERY_BYTES}"
                )
            }
            LimitOutOfRange { value } => {
                write!(f, "must be an integer from 1 to {MAX_LIMIT}, got {value:?}")
            }
            BadSkip { value } => write!(f, "must be a non-negative integer, got {value:?}"),
            BadFlag { value } => write!(f, "must be 0 or 1, got {value:?}"),
            SortConflict => f.write_str("only one of sort_asc and sort_desc, once"),
            BadCursor { why } => write!(f, "not a page cursor: {why}"),
            SkipWithCursor => f.write_str(
                "skip cannot be given with a cursor: the cursor says where the page starts",
            ),
            CursorOfAnotherQuery => f.write_str(
                "the cursor came from a query with other conditions or another sort; \
                 repeat that query's conditions and sort, or start again with cursor=",
            ),
            NotSortable { field } => write!(f, "cannot sort on {field}, it holds a set of users"),
            Repeated => f.write_str("given more than once"),
            UntypedComparison { field } => write!(
                f,
                "data[{field}] has no declared type; name a declared class with data[class_name] \
                 to compare it, or use equality"
            ),
            UnknownDataField { class, field } => write!(f, "class {class} has no field {field:?}"),
            BadDataValue { field, expected, value } => {
                write!(f, "{value:?} is not a valid {expected} for data[{field}]")
            }
        }
    }
}

/// A value kind as an error message names it.
fn kind_name(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Id => "a dialog id",
        ValueKind::User => "a user id",
        ValueKind::Time => "a time",
        ValueKind::Type => "a dialog type",
        ValueKind::Str | ValueKind::Data => "text",
        ValueKind::Bool => "a boolean",
        ValueKind::UserSet => "user ids",
    }
}
