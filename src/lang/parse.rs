//! Parsing the query-string form into a [`Query`].
//!
//! A query string is `&`-separated `key=value` pairs, percent-decoded with `+` as a space. The
//! parser reads each key's grammar (`FIELD`, `FIELD[OP]`, `data[NAME]`, `data[NAME][OP]` or one
//! of the reserved keys), decodes the value, and hands the field, operator and text to
//! [`validate`], which types the text by the field and checks the rules the
//! builder is held to as well. Every error carries the byte span of its whole pair.

use std::borrow::Cow;
use std::str::FromStr;

use percent_encoding::percent_decode_str;

use super::ast::{Direction, Field, Op, Query, Scalar, Sort, Span, Value, MAX_QUERY_BYTES};
use super::error::{QueryError, QueryErrorKind};
use super::validate;
use crate::model::clip;

impl FromStr for Query {
    type Err = QueryError;

    /// Parses a query string such as QuickBlox's examples write after `Dialog.json?`. A string longer than
    /// [`MAX_QUERY_BYTES`] is refused before it is read.
    ///
    /// ```
    /// use dialogstore::{Field, Op, Query, Scalar, Value};
    /// use dialogstore::DialogType;
    ///
    /// let q: Query = "type[in]=1,2&name[ctn]=party&sort_desc=last_message_date_sent&limit=2"
    ///     .parse()?;
    /// assert_eq!(q.conditions[0].field, Field::Type);
    /// assert_eq!(q.conditions[0].op, Op::In);
    /// assert_eq!(
    ///     q.conditions[0].value,
    ///     Value::List(vec![Scalar::Type(DialogType::PublicGroup), Scalar::Type(DialogType::Group)])
    /// );
    /// assert_eq!(q.limit, 2);
    ///
    /// let err = "limit=0".parse::<Query>().unwrap_err();
    /// assert_eq!(err.to_string(), r#"limit: must be an integer from 1 to 100, got "0""#);
    /// # Ok::<(), dialogstore::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Query, QueryError> {
        if s.len() > MAX_QUERY_BYTES {
            return Err(QueryError::new(
                "query",
                Span::new(MAX_QUERY_BYTES, s.len()),
                QueryErrorKind::TooLong { len: s.len() },
            ));
        }
        let body = s.strip_prefix('?').unwrap_or(s);
        let mut parser = Parser::default();
        let mut start = s.len() - body.len();
        for pair in body.split('&') {
            let span = Span::new(start, start + pair.len());
            start = span.end + 1;
            if !pair.is_empty() {
                parser.pair(pair, span)?;
            }
        }
        validate::skip_and_cursor(&parser.query)
            .map_err(|kind| QueryError::new("skip", Span::default(), kind))?;
        // The limit is on the string as given (checked above), not on its printed form.
        Ok(parser.query)
    }
}

/// The keys that are not fields: a bracket after one is a malformed key, not an unknown field.
const SETTINGS: [&str; 7] =
    ["sort_asc", "sort_desc", "limit", "skip", "count", "include_unread_message_count", "cursor"];

/// A setting given at most once.
#[derive(Clone, Copy)]
enum Setting {
    Limit,
    Skip,
    Count,
    UnreadCount,
    Cursor,
}

/// The query read so far, and which settings have been given.
#[derive(Default)]
struct Parser {
    query: Query,
    given: [bool; 5],
    sorted: bool,
}

impl Parser {
    /// Reads one non-empty `key=value` pair found at `span`.
    fn pair(&mut self, pair: &str, span: Span) -> Result<(), QueryError> {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(raw_key)
            .ok_or_else(|| QueryError::new(clip(raw_key), span, QueryErrorKind::BadEncoding))?;
        let fail = |kind| QueryError::new(clip(&key), span, kind);
        match key.as_ref() {
            "sort_asc" => self.sort(Direction::Asc, raw_value),
            "sort_desc" => self.sort(Direction::Desc, raw_value),
            "limit" => self.setting(Setting::Limit, raw_value),
            "skip" => self.setting(Setting::Skip, raw_value),
            "count" => self.setting(Setting::Count, raw_value),
            "include_unread_message_count" => self.setting(Setting::UnreadCount, raw_value),
            "cursor" => self.setting(Setting::Cursor, raw_value),
            _ => self.condition(&key, raw_value, span),
        }
        .map_err(fail)
    }

    /// Reads `sort_asc=FIELD` or `sort_desc=FIELD`.
    fn sort(&mut self, direction: Direction, raw_value: &str) -> Result<(), QueryErrorKind> {
        if std::mem::replace(&mut self.sorted, true) {
            return Err(QueryErrorKind::SortConflict);
        }
        let name = decode_value(raw_value)?;
        let unknown = || QueryErrorKind::UnknownField { field: clip(&name) };
        let field = match split_key(&name) {
            Some(("data", Some(data), None)) => Field::Data(data.to_owned()),
            Some((name, None, None)) => Field::from_name(name).ok_or_else(unknown)?,
            _ => return Err(unknown()),
        };
        let field = validate::sort_field(field)?;
        self.query.sort = Some(Sort { field, direction });
        Ok(())
    }

    /// Reads `limit`, `skip`, `count` or `include_unread_message_count`.
    fn setting(&mut self, setting: Setting, raw_value: &str) -> Result<(), QueryErrorKind> {
        if std::mem::replace(&mut self.given[setting as usize], true) {
            return Err(QueryErrorKind::Repeated);
        }
        let text = decode_value(raw_value)?;
        let t = text.trim_matches(' ');
        let value = || clip(&text);
        let flag = || match t {
            "1" => Ok(true),
            "0" => Ok(false),
            _ => Err(QueryErrorKind::BadFlag { value: value() }),
        };
        let q = &mut self.query;
        match setting {
            Setting::Limit => {
                q.limit = t
                    .parse()
                    .ok()
                    .filter(|n| validate::limit_in_range(*n))
                    .ok_or_else(|| QueryErrorKind::LimitOutOfRange { value: value() })?
            }
            Setting::Skip => {
                q.skip = t.parse().map_err(|_| QueryErrorKind::BadSkip { value: value() })?
            }
            Setting::Count => q.count = flag()?,
            Setting::UnreadCount => q.include_unread_message_count = flag()?,
            Setting::Cursor => q.cursor = Some(validate::cursor(&text)?),
        }
        Ok(())
    }

    /// Reads a condition whose decoded key is `key`.
    fn condition(&mut self, key: &str, raw_value: &str, span: Span) -> Result<(), QueryErrorKind> {
        let (name, first, second) = split_key(key).ok_or(QueryErrorKind::MalformedKey)?;
        let (field, op) = match (name, first, second) {
            ("data", Some(data), op) => (Field::Data(data.to_owned()), op),
            ("data", None, _) | (_, _, Some(_)) => return Err(QueryErrorKind::MalformedKey),
            (name, Some(_), None) if SETTINGS.contains(&name) => {
                return Err(QueryErrorKind::MalformedKey)
            }
            (name, op, None) => {
                let field = Field::from_name(name)
                    .ok_or_else(|| QueryErrorKind::UnknownField { field: clip(name) })?;
                (field, op)
            }
        };
        let op = match op {
            None => Op::Eq,
            Some(op) => {
                Op::from_name(op).ok_or_else(|| QueryErrorKind::UnknownOperator { op: clip(op) })?
            }
        };
        let value = if op.takes_list() {
            let items = raw_value.split(',').map(|item| {
                decode_value(item.trim_matches(' ')).map(|text| Scalar::Str(text.into_owned()))
            });
            Value::List(items.collect::<Result<_, _>>()?)
        } else {
            Value::One(Scalar::Str(decode_value(raw_value)?.into_owned()))
        };
        let condition = validate::condition(field, op, value, Some(span))?;
        self.query.conditions.push(condition);
        Ok(())
    }
}

/// Splits a decoded key `NAME`, `NAME[A]` or `NAME[A][B]` into its parts, or `None` if it has
/// another shape: an empty name or bracket, a stray bracket, or text after the last bracket.
fn split_key(key: &str) -> Option<(&str, Option<&str>, Option<&str>)> {
    let (name, first, second) = match key.split_once('[') {
        None => (key, None, None),
        Some((name, rest)) => {
            let (first, rest) = rest.split_once(']')?;
            let second = match rest {
                "" => None,
                _ => Some(rest.strip_prefix('[')?.strip_suffix(']')?),
            };
            (name, Some(first), second)
        }
    };
    let parts = [Some(name), first, second];
    parts.iter().flatten().all(|part| validate::plain_name(part)).then_some((name, first, second))
}

/// Percent-decodes a value, `+` being a space.
fn decode_value(raw: &str) -> Result<Cow<'_, str>, QueryErrorKind> {
    decode(raw).ok_or(QueryErrorKind::BadEncoding)
}

/// Percent-decodes form-encoded text (`+` is a space), or `None` if it is not UTF-8.
fn decode(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.contains(['+', '%']) {
        return Some(Cow::Borrowed(raw));
    }
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8().ok().map(|text| Cow::Owned(text.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_into_name_and_brackets() {
        assert_eq!(split_key("name"), Some(("name", None, None)));
        assert_eq!(split_key("name[ctn]"), Some(("name", Some("ctn"), None)));
        assert_eq!(split_key("data[a b][gte]"), Some(("data", Some("a b"), Some("gte"))));
        for bad in ["", "[x]", "a[]", "a[x", "a[x]y", "a[x][]", "a[x][y]z", "a[x][y][z]", "a]"] {
            assert_eq!(split_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn decoding_reads_plus_as_space_and_refuses_bad_utf8() {
        assert_eq!(decode("a+b%2B%20c").as_deref(), Some("a b+ c"));
        assert!(matches!(decode("plain"), Some(Cow::Borrowed("plain"))));
        assert_eq!(decode("%zz%").as_deref(), Some("%zz%"));
        assert_eq!(decode("%C3"), None);
    }
}
