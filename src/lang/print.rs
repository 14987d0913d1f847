//! Printing a [`Query`] as its canonical query string.
//!
//! The canonical string writes the conditions in order, then the sort, then only the settings
//! that differ from their defaults. Text is percent-encoded except for ASCII letters, digits and
//! `-_.~`, so no value can be mistaken for a separator (`& = , + %`) or a bracket, and parsing the
//! printed string gives back an equal query.

use std::fmt;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::ast::{Condition, Direction, Field, Op, Query, Scalar, Value, MAX_LIMIT};

/// What the printer encodes: everything but ASCII letters, digits and `-_.~` (RFC 3986's
/// unreserved characters).
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Prints the canonical query string.
///
/// ```
/// use dialogstore::Query;
///
/// let q: Query = "?last_message_date_sent[nin]=1556739654, 1556739987&name[ctn]=New+Year&limit=100"
///     .parse()?;
/// assert_eq!(
///     q.to_string(),
///     "last_message_date_sent[nin]=1556739654,1556739987&name[ctn]=New%20Year"
/// );
/// assert_eq!(q.to_string().parse::<Query>()?, q);
/// # Ok::<(), dialogstore::Error>(())
/// ```
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = Separator::default();
        for condition in &self.conditions {
            sep.next(f)?;
            condition.fmt(f)?;
        }
        if let Some(sort) = &self.sort {
            sep.next(f)?;
            let key = match sort.direction {
                Direction::Asc => "sort_asc",
                Direction::Desc => "sort_desc",
            };
            write!(f, "{key}=")?;
            write_field(f, &sort.field)?;
        }
        if self.skip != 0 {
            sep.next(f)?;
            write!(f, "skip={}", self.skip)?;
        }
        if self.limit != MAX_LIMIT {
            sep.next(f)?;
            write!(f, "limit={}", self.limit)?;
        }
        if self.count {
            sep.next(f)?;
            f.write_str("count=1")?;
        }
        if !self.include_unread_message_count {
            sep.next(f)?;
            f.write_str("include_unread_message_count=0")?;
        }
        if let Some(cursor) = &self.cursor {
            sep.next(f)?;
            write!(f, "cursor={}", utf8_percent_encode(cursor, ENCODED))?;
        }
        Ok(())
    }
}

/// Prints the condition as its `key=value` pair.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_field(f, &self.field)?;
        if self.op != Op::Eq {
            write!(f, "[{}]", self.op)?;
        }
        f.write_str("=")?;
        match &self.value {
            Value::One(one) => write_scalar(f, one),
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_scalar(f, item)?;
                }
                Ok(())
            }
        }
    }
}

/// Writes `&` before every piece but the first.
#[derive(Default)]
struct Separator {
    started: bool,
}

impl Separator {
    fn next(&mut self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if std::mem::replace(&mut self.started, true) {
            f.write_str("&")?;
        }
        Ok(())
    }
}

/// Writes a field's name, a custom field's name percent-encoded inside `data[...]`.
fn write_field(f: &mut fmt::Formatter<'_>, field: &Field) -> fmt::Result {
    match field {
        Field::Data(name) => write!(f, "data[{}]", utf8_percent_encode(name, ENCODED)),
        other => write!(f, "{other}"),
    }
}

/// Writes one value: ids in lowercase hex, numbers in decimal, types as 1 to 3, text encoded.
fn write_scalar(f: &mut fmt::Formatter<'_>, scalar: &Scalar) -> fmt::Result {
    match scalar {
        Scalar::Id(id) => write!(f, "{id}"),
        Scalar::User(user) => write!(f, "{user}"),
        Scalar::Time(secs) => write!(f, "{secs}"),
        Scalar::Type(ty) => write!(f, "{ty}"),
        Scalar::Bool(b) => write!(f, "{b}"),
        Scalar::Str(text) => write!(f, "{}", utf8_percent_encode(text, ENCODED)),
    }
}
