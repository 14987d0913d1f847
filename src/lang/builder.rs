//! The typed builder for [`Query`].
//!
//! [`QueryBuilder`] gathers conditions and settings as given and checks them all in
//! [`build`](QueryBuilder::build), with the same rules, in the same code, as the parser; so a
//! built query prints as a string that parses back to it.

use std::ops::{Bound, RangeBounds};

use super::ast::{Direction, Field, Op, Query, Scalar, Sort, Span, Value};
use super::error::{QueryError, QueryErrorKind};
use super::validate;
use crate::model::{DialogId, DialogType, UserId};

impl Query {
    /// A builder for a query, starting from the default one (no conditions, default order,
    /// `limit` 100).
    pub fn builder() -> QueryBuilder {
        QueryBuilder::default()
    }
}

/// Builds a [`Query`] in Rust, validated as the parser validates.
///
/// Values can be typed ([`DialogType`], [`UserId`], [`DialogId`], `bool`, [`Scalar::Time`]) or
/// text, which is read the way the query string reads it (`"2"` for `type`, RFC 3339 for
/// times). `in`, `nin` and `all` take an array, a `Vec` or a slice; a single value becomes a
/// list of one. Setting the sort, `skip`, `limit` or a flag again replaces the earlier value.
///
/// ```
/// use dialogstore::{Field, Op, Query, Scalar};
/// use dialogstore::{DialogType, UserId};
///
/// let q = Query::builder()
///     .filter(Field::Type, Op::In, [DialogType::PublicGroup, DialogType::Group])
///     .filter(Field::OccupantsIds, Op::All, [UserId(91103344), UserId(91142495)])
///     .time_range(Field::UpdatedAt, 1556735709..1556829805)
///     .name_contains("party")
///     .sort_desc(Field::LastMessageDateSent)
///     .limit(2)
///     .build()?;
/// assert_eq!(
///     q.to_string(),
///     "type[in]=1,2&occupants_ids[all]=91103344,91142495&updated_at[gte]=1556735709\
///      &updated_at[lt]=1556829805&name[ctn]=party&sort_desc=last_message_date_sent&limit=2"
/// );
/// assert_eq!(q.to_string().parse::<Query>()?, q);
///
/// let err = Query::builder().filter(Field::Type, Op::Ctn, "2").build().unwrap_err();
/// assert_eq!(err.to_string(), "type[ctn]: operator ctn does not apply to type");
/// # Ok::<(), dialogstore::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct QueryBuilder {
    conditions: Vec<(Field, Op, Value)>,
    query: Query,
}

impl QueryBuilder {
    /// Adds the condition `field[op]=value`.
    pub fn filter(mut self, field: Field, op: Op, value: impl IntoValue) -> QueryBuilder {
        self.conditions.push((field, op, value.into_value()));
        self
    }

    /// Adds `field=value`: equality, or for a user set, membership.
    pub fn eq(self, field: Field, value: impl IntoValue) -> QueryBuilder {
        self.filter(field, Op::Eq, value)
    }

    /// Adds the bounds of a range of unix seconds on a time field: `from..to` adds `[gte]` and
    /// `[lt]`, `from..=to` adds `[gte]` and `[lte]`, `from..` only `[gte]`.
    ///
    /// ```
    /// use dialogstore::{Field, Query};
    ///
    /// let q = Query::builder().time_range(Field::CreatedAt, ..=1567971414).build()?;
    /// assert_eq!(q.to_string(), "created_at[lte]=1567971414");
    /// # Ok::<(), dialogstore::Error>(())
    /// ```
    pub fn time_range(mut self, field: Field, range: impl RangeBounds<i64>) -> QueryBuilder {
        let bounds = [
            match range.start_bound() {
                Bound::Included(t) => Some((Op::Gte, *t)),
                Bound::Excluded(t) => Some((Op::Gt, *t)),
                Bound::Unbounded => None,
            },
            match range.end_bound() {
                Bound::Included(t) => Some((Op::Lte, *t)),
                Bound::Excluded(t) => Some((Op::Lt, *t)),
                Bound::Unbounded => None,
            },
        ];
        for (op, t) in bounds.into_iter().flatten() {
            self = self.filter(field.clone(), op, Scalar::Time(t));
        }
        self
    }

    /// Adds `name[ctn]=text`: the name contains `text`, ignoring case.
    pub fn name_contains(self, text: impl Into<String>) -> QueryBuilder {
        self.filter(Field::Name, Op::Ctn, text.into())
    }

    /// Adds `data[class_name]=class`: the custom data is of this class.
    pub fn class_name(self, class: impl Into<String>) -> QueryBuilder {
        self.eq(Field::DataClassName, class.into())
    }

    /// Adds `data[name][op]=value` on a custom field; values are text, typed later by the
    /// declared class. `data("class_name", ..)` is the same as [`class_name`](Self::class_name).
    ///
    /// ```
    /// use dialogstore::{Op, Query};
    ///
    /// let q = Query::builder()
    ///     .class_name("ScoreTable")
    ///     .data("progress", Op::Gte, "56")
    ///     .build()?;
    /// assert_eq!(q.to_string(), "data[class_name]=ScoreTable&data[progress][gte]=56");
    /// # Ok::<(), dialogstore::Error>(())
    /// ```
    pub fn data(self, name: impl Into<String>, op: Op, value: impl IntoValue) -> QueryBuilder {
        self.filter(Field::Data(name.into()), op, value)
    }

    /// Sorts ascending on `field` (ties by `_id` ascending).
    pub fn sort_asc(self, field: Field) -> QueryBuilder {
        self.sort(field, Direction::Asc)
    }

    /// Sorts descending on `field` (ties by `_id` descending).
    pub fn sort_desc(self, field: Field) -> QueryBuilder {
        self.sort(field, Direction::Desc)
    }

    fn sort(mut self, field: Field, direction: Direction) -> QueryBuilder {
        self.query.sort = Some(Sort { field, direction });
        self
    }

    /// Skips `n` matches before the page starts.
    pub fn skip(mut self, n: u32) -> QueryBuilder {
        self.query.skip = n;
        self
    }

    /// Pages by keyset: `""` for the first page, then each page's
    /// [`next_cursor`](crate::Page::next_cursor), with the same conditions and sort.
    pub fn cursor(mut self, token: impl Into<String>) -> QueryBuilder {
        self.query.cursor = Some(token.into());
        self
    }

    /// Sets the page size, 1 to 100.
    pub fn limit(mut self, n: u32) -> QueryBuilder {
        self.query.limit = n;
        self
    }

    /// Asks only for the number of matches (`count=1`).
    pub fn count(mut self) -> QueryBuilder {
        self.query.count = true;
        self
    }

    /// Whether to compute each dialog's unread message count (default `true`).
    pub fn include_unread_message_count(mut self, include: bool) -> QueryBuilder {
        self.query.include_unread_message_count = include;
        self
    }

    /// Checks everything given, in the order given, and returns the query or the first error.
    /// Errors name the key as a query string would write it (`name[ctn]`, `limit`) and have an
    /// empty span.
    pub fn build(self) -> Result<Query, QueryError> {
        let mut query = self.query;
        let err = |key: &str, kind| QueryError::new(key, Span::default(), kind);
        for (field, op, value) in self.conditions {
            let key = match op {
                Op::Eq => field.name(),
                op => format!("{}[{op}]", field.name()),
            };
            let condition =
                validate::condition(field, op, value, None).map_err(|kind| err(&key, kind))?;
            query.conditions.push(condition);
        }
        if let Some(sort) = query.sort.take() {
            let key = match sort.direction {
                Direction::Asc => "sort_asc",
                Direction::Desc => "sort_desc",
            };
            let field = validate::sort_field(sort.field).map_err(|kind| err(key, kind))?;
            query.sort = Some(Sort { field, ..sort });
        }
        if !validate::limit_in_range(query.limit) {
            let value = query.limit.to_string();
            return Err(err("limit", QueryErrorKind::LimitOutOfRange { value }));
        }
        if let Some(cursor) = query.cursor.take() {
            query.cursor = Some(validate::cursor(&cursor).map_err(|kind| err("cursor", kind))?);
        }
        validate::skip_and_cursor(&query).map_err(|kind| err("skip", kind))?;
        validate::canonical_length(&query).map_err(|kind| err("query", kind))?;
        Ok(query)
    }
}

/// A builder operand: one value, or a list for `in`, `nin` and `all`.
///
/// Implemented for the scalar types ([`Scalar`], [`DialogId`], [`UserId`], [`DialogType`],
/// `bool`, `&str`, `String`), for arrays, `Vec`s and slices of them, and for [`Value`].
pub trait IntoValue {
    /// The operand as a [`Value`].
    fn into_value(self) -> Value;
}

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

macro_rules! one_value {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                Value::One(self.into())
            }
        }
    )*};
}

one_value!(Scalar, DialogId, UserId, DialogType, bool, &str, String);

impl<T: Into<Scalar>> IntoValue for Vec<T> {
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Scalar>, const N: usize> IntoValue for [T; N] {
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Scalar> + Clone> IntoValue for &[T] {
    fn into_value(self) -> Value {
        Value::List(self.iter().cloned().map(Into::into).collect())
    }
}
