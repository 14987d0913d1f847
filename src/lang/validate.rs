//! The rules a valid query keeps, in one place for the parser and the builder alike.
//!
//! The parser reads a pair's key and decodes its text; the builder takes typed values. Both hand
//! what they have to [`condition`], [`sort_field`] and [`limit_in_range`], so a string and a
//! builder that say the same thing are accepted or refused the same way, save for the length
//! limit: the parser measures the string it is given, the builder [`canonical_length`] (see
//! [`MAX_QUERY_BYTES`]). Text
//! given for a typed field is typed here by the field's kind, which is how the parser's values
//! are typed and why the builder also accepts `"2"` for `type`.

use std::fmt::{self, Write};

use super::ast::{
    Condition, Field, Op, Query, Scalar, Span, Value, ValueKind, MAX_LIMIT, MAX_QUERY_BYTES,
};
use super::error::QueryErrorKind;
use crate::model::{clip, parse_time, DialogType};

/// Checks and types one condition: the field is well formed, the operator applies to it, the
/// operand has the right shape (a non-empty list for `in`, `nin`, `all`; one value otherwise)
/// and every value fits the field, text being typed by the field's kind.
///
/// A builder's single value for a list operator becomes a list of one, and `data[class_name]`
/// written as a custom field becomes [`Field::DataClassName`].
pub(crate) fn condition(
    field: Field,
    op: Op,
    value: Value,
    span: Option<Span>,
) -> Result<Condition, QueryErrorKind> {
    let field = custom_field(field).ok_or(QueryErrorKind::MalformedKey)?;
    if !field.allows(op) {
        return Err(QueryErrorKind::NotApplicable { field, op });
    }
    let kind = element_kind(&field);
    let value = match (op.takes_list(), value) {
        (true, Value::One(one)) => Value::List(vec![typed(kind, one)?]),
        (true, Value::List(items)) => {
            if items.is_empty() {
                return Err(QueryErrorKind::EmptyList);
            }
            let items = items.into_iter().map(|item| match item {
                Scalar::Str(text) if text.is_empty() => Err(QueryErrorKind::EmptyList),
                item => typed(kind, item),
            });
            Value::List(items.collect::<Result<_, _>>()?)
        }
        (false, Value::One(one)) => match typed(kind, one)? {
            Scalar::Str(text) if op == Op::Ctn && text.is_empty() => {
                return Err(QueryErrorKind::EmptyValue)
            }
            one => Value::One(one),
        },
        (false, Value::List(_)) => return Err(QueryErrorKind::ListNotAllowed),
    };
    Ok(Condition { field, op, value, span })
}

/// Checks a sort field: a well-formed field that is not a set of users.
pub(crate) fn sort_field(field: Field) -> Result<Field, QueryErrorKind> {
    let field = custom_field(field.clone())
        .ok_or(QueryErrorKind::UnknownField { field: clip(&field.name()) })?;
    if field.sortable() {
        Ok(field)
    } else {
        Err(QueryErrorKind::NotSortable { field })
    }
}

/// A `cursor` value: empty (the first page) or a token as pages print it (lowercase hex).
pub(crate) fn cursor(text: &str) -> Result<String, QueryErrorKind> {
    let hex = text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex || !text.len().is_multiple_of(2) {
        let shown: String = text.chars().take(40).collect();
        return Err(QueryErrorKind::BadCursor { why: format!("{shown:?} is not a page cursor") });
    }
    Ok(text.to_owned())
}

/// `skip` and a non-empty `cursor` do not go together.
pub(crate) fn skip_and_cursor(query: &Query) -> Result<(), QueryErrorKind> {
    match &query.cursor {
        Some(cursor) if !cursor.is_empty() && query.skip != 0 => {
            Err(QueryErrorKind::SkipWithCursor)
        }
        _ => Ok(()),
    }
}

/// Whether `limit` is a page size the store serves: 1 to [`MAX_LIMIT`].
pub(crate) fn limit_in_range(limit: u32) -> bool {
    (1..=MAX_LIMIT).contains(&limit)
}

/// Checks that a built query's canonical string fits in [`MAX_QUERY_BYTES`], so that printing it
/// gives a string the parser takes back. Only for built queries: a parsed one is measured on the
/// string it was parsed from.
pub(crate) fn canonical_length(query: &Query) -> Result<(), QueryErrorKind> {
    let mut counter = ByteCounter(0);
    // Counting never fails, and printing a query fails only if the writer does.
    let _ = write!(counter, "{query}");
    if counter.0 > MAX_QUERY_BYTES {
        Err(QueryErrorKind::CanonicalTooLong { len: counter.0 })
    } else {
        Ok(())
    }
}

/// A writer that only counts bytes.
struct ByteCounter(usize);

impl Write for ByteCounter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// Whether a name can stand in a key or inside its brackets: not empty and without brackets.
pub(crate) fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['[', ']'])
}

/// The field as the parser would read it back, or `None` for a custom field whose name cannot
/// be written (`data[]`, `data[a]b]`).
fn custom_field(field: Field) -> Option<Field> {
    match field {
        Field::Data(name) if name == "class_name" => Some(Field::DataClassName),
        Field::Data(name) if !plain_name(&name) => None,
        other => Some(other),
    }
}

/// The kind of each value a field's conditions take: user sets take user ids, custom fields
/// take text.
fn element_kind(field: &Field) -> ValueKind {
    match field.kind() {
        ValueKind::UserSet => ValueKind::User,
        ValueKind::Data => ValueKind::Str,
        kind => kind,
    }
}

/// Types one value for a field of `kind`. Text is read the way the query string writes it,
/// after trimming ASCII spaces, except for text fields, which keep it exactly; a typed value
/// must already be of `kind`.
fn typed(kind: ValueKind, value: Scalar) -> Result<Scalar, QueryErrorKind> {
    let text = match value {
        Scalar::Str(text) => text,
        other if other.kind() == kind => return Ok(other),
        other => {
            return Err(QueryErrorKind::MismatchedValue { expected: kind, found: other.kind() })
        }
    };
    let t = text.trim_matches(' ');
    let value = || clip(&text);
    match kind {
        ValueKind::Str | ValueKind::Data => Ok(Scalar::Str(text)),
        ValueKind::Id => {
            t.parse().map(Scalar::Id).map_err(|_| QueryErrorKind::BadDialogId { value: value() })
        }
        ValueKind::User | ValueKind::UserSet => {
            t.parse().map(Scalar::User).map_err(|_| QueryErrorKind::BadUserId { value: value() })
        }
        ValueKind::Time => t
            .parse()
            .ok()
            .or_else(|| parse_time(t))
            .map(Scalar::Time)
            .ok_or_else(|| QueryErrorKind::BadTimestamp { value: value() }),
        ValueKind::Type => t
            .parse()
            .ok()
            .and_then(|code| DialogType::from_code(code).ok())
            .map(Scalar::Type)
            .ok_or_else(|| QueryErrorKind::BadType { value: value() }),
        ValueKind::Bool => match t {
            "true" | "1" => Ok(Scalar::Bool(true)),
            "false" | "0" => Ok(Scalar::Bool(false)),
            _ => Err(QueryErrorKind::BadBool { value: value() }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserId;

    #[test]
    fn text_is_typed_by_the_field_kind() {
        let str = |s: &str| Scalar::Str(s.to_owned());
        assert_eq!(typed(ValueKind::Time, str(" -5 ")), Ok(Scalar::Time(-5)));
        assert_eq!(typed(ValueKind::User, str("7")), Ok(Scalar::User(UserId(7))));
        assert_eq!(typed(ValueKind::Str, str(" 7 ")), Ok(str(" 7 ")));
        assert_eq!(typed(ValueKind::Bool, str("0")), Ok(Scalar::Bool(false)));
        assert_eq!(
            typed(ValueKind::Type, str("0")),
            Err(QueryErrorKind::BadType { value: "0".into() })
        );
        assert_eq!(
            typed(ValueKind::Bool, Scalar::Time(1)),
            Err(QueryErrorKind::MismatchedValue {
                expected: ValueKind::Bool,
                found: ValueKind::Time
            })
        );
    }

    #[test]
    fn custom_fields_must_be_writable() {
        assert_eq!(custom_field(Field::Data("class_name".into())), Some(Field::DataClassName));
        assert_eq!(custom_field(Field::Data("a]".into())), None);
        assert_eq!(custom_field(Field::Data(String::new())), None);
        assert_eq!(custom_field(Field::Name), Some(Field::Name));
    }
}
