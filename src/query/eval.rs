//! Conditions compiled for evaluation, and the total order results are sorted in.
//!
//! Semantics follow MongoDB's, which QuickBlox runs on: a missing value (no name, no last
//! message, no such data field) fails `eq lt lte gt gte in ctn` and passes `ne nin`; values of
//! different kinds never compare (`lt` between text and a number is false). On a set of users,
//! `eq` means "contains", `ne` "does not contain", `in` "contains one of", `nin` "contains none
//! of", `all` "contains every one of".
//!
//! The order: a missing value sorts below every value; ties break by `_id` in the sort direction.
//! A dialog without messages sorts below every message date, and such dialogs order among
//! themselves by `created_at` (then `_id`), so the default inbox order (`last_message_date_sent`
//! descending) puts them last, newest first.
//!
//! Past 500 lines with its unit tests (about 125 of them): the MongoDB-style semantics and the
//! unsigned user-id order are tested here, next to the code.

use std::cmp::Ordering;

use crate::index::ngram;
use crate::lang::{Direction, Field, Op};
use crate::model::UserId;
use crate::storage::{ColumnKey, DataValue, Row};

/// A typed value of a field, or a typed operand.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val {
    Bool(bool),
    Int(i64),
    /// A user id: unsigned, so ids at and above 2^63 compare above every smaller one.
    User(u64),
    Float(f64),
    Str(String),
    Id([u8; 12]),
}

impl Val {
    /// Kinds that compare with each other share a rank; ranks order mixed kinds in a sort.
    fn rank(&self) -> u8 {
        match self {
            Val::Bool(_) => 0,
            Val::Int(_) | Val::User(_) | Val::Float(_) => 1,
            Val::Str(_) => 2,
            Val::Id(_) => 3,
        }
    }

    /// The order of two values of the same rank; `None` across ranks.
    fn partial(&self, other: &Val) -> Option<Ordering> {
        Some(match (self, other) {
            (Val::Bool(a), Val::Bool(b)) => a.cmp(b),
            (Val::Int(a), Val::Int(b)) => a.cmp(b),
            (Val::User(a), Val::User(b)) => a.cmp(b),
            (Val::Float(a), Val::Float(b)) => a.total_cmp(b),
            // Numbers of different kinds compare by value (user ids only ever meet user ids in
            // a query; these keep the order total all the same).
            (Val::Int(a), Val::User(b)) => i128::from(*a).cmp(&i128::from(*b)),
            (Val::User(a), Val::Int(b)) => i128::from(*a).cmp(&i128::from(*b)),
            (Val::Int(a), Val::Float(b)) => (*a as f64).total_cmp(b),
            (Val::Float(a), Val::Int(b)) => a.total_cmp(&(*b as f64)),
            (Val::User(a), Val::Float(b)) => (*a as f64).total_cmp(b),
            (Val::Float(a), Val::User(b)) => a.total_cmp(&(*b as f64)),
            (Val::Str(a), _) => return Text(a).partial(other),
            (Val::Id(a), Val::Id(b)) => a.cmp(b),
            _ => return None,
        })
    }

    /// The total order used for sorting: by rank, then by value. Inlined with a direct case
    /// for integers, which every time sort (the inbox's among them) compares.
    #[inline]
    pub(crate) fn total(&self, other: &Val) -> Ordering {
        if let (Val::Int(a), Val::Int(b)) = (self, other) {
            return a.cmp(b);
        }
        self.partial(other).unwrap_or_else(|| self.rank().cmp(&other.rank()))
    }

    fn text(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// The value of a row's custom field as stored (typed for declared classes).
pub(crate) fn stored_val(v: &DataValue) -> Val {
    match v {
        DataValue::String(s) => Val::Str(s.clone()),
        DataValue::Integer(i) => Val::Int(*i),
        DataValue::Float(f) => Val::Float(*f),
        DataValue::Bool(b) => Val::Bool(*b),
    }
}

/// The text form of a stored custom value, as an undeclared class compares it.
pub(crate) fn text_val(v: &DataValue) -> Val {
    match v {
        DataValue::String(s) => Val::Str(s.clone()),
        DataValue::Integer(i) => Val::Str(i.to_string()),
        DataValue::Float(f) => Val::Str(f.to_string()),
        DataValue::Bool(b) => Val::Str(b.to_string()),
    }
}

/// Where a condition or sort reads its value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Target {
    Id,
    UserId,
    CreatedAt,
    UpdatedAt,
    Type,
    Name,
    Photo,
    XmppRoomJid,
    LastMessage,
    LastMessageId,
    LastMessageDateSent,
    LastMessageUserId,
    IsJoinRequired,
    ClassName,
    /// A custom field; `typed` when the query names the field's declared class, so stored
    /// values compare with their types; otherwise they compare as text.
    Data {
        name: String,
        typed: bool,
    },
    Occupants,
    Admins,
}

impl Target {
    pub(crate) fn of(field: &Field, typed_data: bool) -> Target {
        match field {
            Field::Id => Target::Id,
            Field::UserId => Target::UserId,
            Field::CreatedAt => Target::CreatedAt,
            Field::UpdatedAt => Target::UpdatedAt,
            Field::Type => Target::Type,
            Field::Name => Target::Name,
            Field::Photo => Target::Photo,
            Field::XmppRoomJid => Target::XmppRoomJid,
            Field::OccupantsIds => Target::Occupants,
            Field::AdminIds => Target::Admins,
            Field::LastMessage => Target::LastMessage,
            Field::LastMessageId => Target::LastMessageId,
            Field::LastMessageDateSent => Target::LastMessageDateSent,
            Field::LastMessageUserId => Target::LastMessageUserId,
            Field::IsJoinRequired => Target::IsJoinRequired,
            Field::DataClassName => Target::ClassName,
            Field::Data(name) => Target::Data { name: name.clone(), typed: typed_data },
        }
    }

    /// Whether the value is among a row's [`RowKeys`], so it is known without the full row.
    pub(crate) fn is_key(&self) -> bool {
        matches!(
            self,
            Target::Id
                | Target::CreatedAt
                | Target::UpdatedAt
                | Target::Type
                | Target::LastMessageDateSent
        )
    }

    fn user_set<'r>(&self, row: &'r Row) -> Option<&'r [UserId]> {
        match self {
            Target::Occupants => Some(&row.occupants),
            Target::Admins => Some(&row.admins),
            _ => None,
        }
    }

    /// A scalar value of the row; `None` when missing. Not for user sets.
    pub(crate) fn value(&self, row: &Row) -> Option<Val> {
        if let Some(text) = self.text(row) {
            return text.map(|s| Val::Str(s.to_owned()));
        }
        match self {
            Target::Id => Some(Val::Id(row.id)),
            Target::UserId => Some(Val::User(row.user_id)),
            Target::CreatedAt => Some(Val::Int(row.created_at)),
            Target::UpdatedAt => Some(Val::Int(row.updated_at)),
            Target::Type => Some(Val::Int(i64::from(row.kind))),
            Target::LastMessageDateSent => row.last_message_date_sent.map(Val::Int),
            Target::LastMessageUserId => row.last_message_user_id.map(Val::User),
            Target::IsJoinRequired => row.is_join_required.map(Val::Bool),
            Target::Data { name, .. } => Some(self.data_value(row.data.as_ref()?.get(name)?)),
            // Text fields answered above; user sets are not scalars.
            Target::Name
            | Target::Photo
            | Target::XmppRoomJid
            | Target::LastMessage
            | Target::LastMessageId
            | Target::ClassName
            | Target::Occupants
            | Target::Admins => None,
        }
    }

    /// The row's text for a target that is a text field of the row (`Some(None)` when the
    /// dialog has none); `None` for every other target.
    fn text<'r>(&self, row: &'r Row) -> Option<Option<&'r str>> {
        Some(match self {
            Target::Name => row.name.as_deref(),
            Target::Photo => row.photo.as_deref(),
            Target::XmppRoomJid => row.xmpp_room_jid.as_deref(),
            Target::LastMessage => row.last_message.as_deref(),
            Target::LastMessageId => row.last_message_id.as_deref(),
            Target::ClassName => row.data.as_ref().map(|d| d.class_name.as_str()),
            _ => return None,
        })
    }

    /// How a custom field's stored value compares: typed, or as text. Only for
    /// [`Target::Data`].
    pub(crate) fn data_value(&self, v: &DataValue) -> Val {
        match self {
            Target::Data { typed: true, .. } => stored_val(v),
            _ => text_val(v),
        }
    }

    /// The column that holds this target's value for every row, if there is one
    /// (`storage/columns.rs`). As a sort key only: the last-message column has no missing value.
    pub(crate) fn sort_column(&self) -> Option<ColumnKey> {
        match self {
            Target::LastMessageDateSent => Some(ColumnKey::LastMessage),
            Target::UpdatedAt => Some(ColumnKey::Updated),
            _ => None,
        }
    }

    /// The column a condition on this target can be tested on, if there is one.
    pub(crate) fn test_column(&self) -> Option<ColumnKey> {
        match self {
            Target::Data { name, .. } => Some(ColumnKey::Data(name.as_str().into())),
            _ => None,
        }
    }

    /// A key value from [`RowKeys`]; only for [`Target::is_key`] targets.
    fn key_value(&self, keys: &RowKeys) -> Option<Val> {
        match self {
            Target::Id => Some(Val::Id(keys.id)),
            Target::CreatedAt => Some(Val::Int(keys.created_at)),
            Target::UpdatedAt => Some(Val::Int(keys.updated_at)),
            Target::Type => Some(Val::Int(i64::from(keys.kind))),
            Target::LastMessageDateSent => keys.last_message_date_sent.map(Val::Int),
            _ => None,
        }
    }
}

/// The few values of a row that ordering and the cheapest filters need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RowKeys {
    pub id: [u8; 12],
    pub created_at: i64,
    pub updated_at: i64,
    pub last_message_date_sent: Option<i64>,
    pub kind: u8,
}

impl RowKeys {
    pub(crate) fn of(row: &Row) -> RowKeys {
        RowKeys {
            id: row.id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_message_date_sent: row.last_message_date_sent,
            kind: row.kind,
        }
    }
}

/// A compiled condition.
#[derive(Clone, Debug)]
pub(crate) struct Pred {
    pub field: Field,
    pub target: Target,
    pub op: Op,
    /// Typed operands; for `ctn`, the lowercased pattern as text; for user sets, user ids.
    pub vals: Vec<Val>,
}

impl Pred {
    /// Whether the full row is needed to test it.
    pub(crate) fn needs_row(&self) -> bool {
        !self.target.is_key()
    }

    /// Tests the condition on a full row.
    pub(crate) fn test_row(&self, row: &Row) -> bool {
        if let Some(set) = self.target.user_set(row) {
            return test_set(self.op, set, &self.vals);
        }
        // A text field (a name search tests every candidate): on the row's text in place, not
        // on a copy of it.
        if let Some(text) = self.target.text(row) {
            return test_scalar(self.op, text.map(Text), &self.vals);
        }
        test_scalar(self.op, self.target.value(row).as_ref(), &self.vals)
    }

    /// Tests the condition on a scalar value read elsewhere (a column): the same test as
    /// [`Pred::test_row`] on a row with that value.
    pub(crate) fn test_value(&self, value: Option<&Val>) -> bool {
        test_scalar(self.op, value, &self.vals)
    }

    /// Tests a custom-field condition on a stored value read from a column: the same test as
    /// [`Pred::test_row`] on a row with that value, without building a [`Val`] in the common case
    /// of a typed integer field compared with an integer.
    pub(crate) fn test_stored(&self, value: Option<&DataValue>) -> bool {
        if let (Target::Data { typed: true, .. }, Some(DataValue::Integer(a)), [Val::Int(b)]) =
            (&self.target, value, self.vals.as_slice())
        {
            let ord = a.cmp(b);
            match self.op {
                Op::Eq | Op::In => return ord.is_eq(),
                Op::Ne | Op::Nin => return ord.is_ne(),
                Op::Lt => return ord.is_lt(),
                Op::Lte => return ord.is_le(),
                Op::Gt => return ord.is_gt(),
                Op::Gte => return ord.is_ge(),
                Op::Ctn | Op::All => {}
            }
        }
        self.test_value(value.map(|v| self.target.data_value(v)).as_ref())
    }

    /// Tests a key condition on a row's keys.
    pub(crate) fn test_keys(&self, keys: &RowKeys) -> bool {
        test_scalar(self.op, self.target.key_value(keys).as_ref(), &self.vals)
    }
}

/// A value a condition tests: a [`Val`], or a row's text borrowed in place.
trait Scalar<'v>: Copy {
    /// As [`Val::partial`]: the order against an operand, `None` across ranks.
    fn partial(self, other: &Val) -> Option<Ordering>;
    fn text(self) -> Option<&'v str>;
}

impl<'v> Scalar<'v> for &'v Val {
    fn partial(self, other: &Val) -> Option<Ordering> {
        Val::partial(self, other)
    }

    fn text(self) -> Option<&'v str> {
        Val::text(self)
    }
}

/// A row's text field, tested as a [`Val::Str`] of it would be, without the copy.
#[derive(Clone, Copy)]
struct Text<'r>(&'r str);

impl<'r> Scalar<'r> for Text<'r> {
    fn partial(self, other: &Val) -> Option<Ordering> {
        match other {
            Val::Str(b) => Some(self.0.cmp(b.as_str())),
            _ => None,
        }
    }

    fn text(self) -> Option<&'r str> {
        Some(self.0)
    }
}

fn same<'v>(a: impl Scalar<'v>, b: &Val) -> bool {
    a.partial(b) == Some(Ordering::Equal)
}

fn test_scalar<'v>(op: Op, value: Option<impl Scalar<'v>>, vals: &[Val]) -> bool {
    let Some(v) = value else {
        return matches!(op, Op::Ne | Op::Nin);
    };
    let first = vals.first();
    let cmp =
        |want: &[Ordering]| first.and_then(|o| v.partial(o)).is_some_and(|ord| want.contains(&ord));
    match op {
        Op::Eq => first.is_some_and(|o| same(v, o)),
        Op::Ne => !first.is_some_and(|o| same(v, o)),
        Op::Lt => cmp(&[Ordering::Less]),
        Op::Lte => cmp(&[Ordering::Less, Ordering::Equal]),
        Op::Gt => cmp(&[Ordering::Greater]),
        Op::Gte => cmp(&[Ordering::Greater, Ordering::Equal]),
        Op::In => vals.iter().any(|o| same(v, o)),
        Op::Nin => !vals.iter().any(|o| same(v, o)),
        // The pattern is lowercased already.
        Op::Ctn => match (v.text(), first.and_then(Val::text)) {
            (Some(text), Some(pattern)) => ngram::contains_lowered(text, pattern),
            _ => false,
        },
        Op::All => false,
    }
}

fn test_set(op: Op, set: &[UserId], vals: &[Val]) -> bool {
    let has = |v: &Val| match v {
        Val::User(u) => set.binary_search(&UserId(*u)).is_ok(),
        _ => false,
    };
    match op {
        Op::Eq | Op::In => vals.iter().any(has),
        Op::Ne | Op::Nin => !vals.iter().any(has),
        Op::All => vals.iter().all(has),
        _ => false,
    }
}

/// A row's position in the result order, before the direction is applied.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SortKey {
    /// The sort field's value; `None` sorts lowest.
    pub primary: Option<Val>,
    /// For `last_message_date_sent` without a message: `created_at`; otherwise 0.
    pub secondary: i64,
    pub id: [u8; 12],
}

impl SortKey {
    fn asc(&self, other: &SortKey) -> Ordering {
        let primary = match (&self.primary, &other.primary) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(a), Some(b)) => a.total(b),
        };
        // Lazily: most keys differ in the primary value, and the ids need not be compared.
        primary
            .then_with(|| self.secondary.cmp(&other.secondary))
            .then_with(|| self.id.cmp(&other.id))
    }

    /// The order of two keys in the result: ascending or descending, ties by `_id` the same way.
    pub(crate) fn cmp_in(&self, other: &SortKey, dir: Direction) -> Ordering {
        match dir {
            Direction::Asc => self.asc(other),
            Direction::Desc => other.asc(self),
        }
    }
}

/// The sort of a query, resolved: a target and a direction.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Order {
    pub target: Target,
    pub dir: Direction,
    /// No sort was given: the default inbox order.
    pub default: bool,
}

impl Order {
    pub(crate) fn key_from_row(&self, row: &Row) -> SortKey {
        let primary = self.target.value(row);
        self.finish(primary, row.created_at, row.id)
    }

    fn finish(&self, primary: Option<Val>, created_at: i64, id: [u8; 12]) -> SortKey {
        let secondary = if self.target == Target::LastMessageDateSent && primary.is_none() {
            created_at
        } else {
            0
        };
        SortKey { primary, secondary, id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_integer_fast_path_tests_like_the_general_one() {
        let field = Field::Data("n".into());
        for typed in [true, false] {
            let target = Target::Data { name: "n".into(), typed };
            for op in Op::ALL {
                for b in [-3i64, 0, 5] {
                    let pred = Pred {
                        field: field.clone(),
                        target: target.clone(),
                        op,
                        vals: vec![Val::Int(b)],
                    };
                    for stored in [
                        DataValue::Integer(-3),
                        DataValue::Integer(5),
                        DataValue::Integer(9),
                        DataValue::Float(5.0),
                        DataValue::String("5".into()),
                    ] {
                        let general = pred.test_value(Some(&target.data_value(&stored)));
                        assert_eq!(
                            pred.test_stored(Some(&stored)),
                            general,
                            "{op} {b} {stored:?} typed {typed}"
                        );
                    }
                    assert_eq!(pred.test_stored(None), pred.test_value(None));
                }
            }
        }
    }

    #[test]
    fn missing_values_pass_only_negations() {
        for op in Op::ALL {
            let want = matches!(op, Op::Ne | Op::Nin);
            assert_eq!(test_scalar(op, None::<&Val>, &[Val::Int(1)]), want, "{op}");
            assert_eq!(test_scalar(op, None::<Text>, &[Val::Str("a".into())]), want, "{op}");
        }
    }

    #[test]
    fn a_text_in_place_tests_like_its_copy() {
        let str = |s: &str| Val::Str(s.into());
        let operands = [
            vec![str("abc")],
            vec![str("b"), str("abc")],
            vec![str("")],
            vec![str("bc")],
            vec![Val::Int(5)],
            vec![Val::Int(5), str("Abc")],
        ];
        for op in Op::ALL {
            for text in ["", "abc", "Abc", "b", "xabcx", "ünï", "5"] {
                for vals in &operands {
                    let copy = str(text);
                    assert_eq!(
                        test_scalar(op, Some(Text(text)), vals),
                        test_scalar(op, Some(&copy), vals),
                        "{op} on {text:?} against {vals:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn kinds_do_not_compare() {
        assert!(!test_scalar(Op::Lt, Some(&Val::Str("a".into())), &[Val::Int(5)]));
        assert!(test_scalar(Op::Ne, Some(&Val::Str("5".into())), &[Val::Int(5)]));
        assert!(test_scalar(Op::Eq, Some(&Val::Int(5)), &[Val::Float(5.0)]));
    }

    #[test]
    fn user_ids_compare_unsigned() {
        let half = 1u64 << 63;
        let user = |u: u64| Val::User(u);
        assert!(test_scalar(Op::Lt, Some(&user(1)), &[user(half)]));
        assert!(test_scalar(Op::Gt, Some(&user(half + 34)), &[user(half + 14)]));
        assert!(test_scalar(Op::Lt, Some(&user(half - 1)), &[user(u64::MAX)]));
        assert!(!test_scalar(Op::Gt, Some(&user(1)), &[user(half)]));
        assert_eq!(user(u64::MAX).total(&user(0)), Ordering::Greater);
        // Against other numbers, by value.
        assert_eq!(user(half).total(&Val::Int(-1)), Ordering::Greater);
        assert_eq!(Val::Int(i64::MAX).total(&user(half)), Ordering::Less);
        assert_eq!(user(5).total(&Val::Int(5)), Ordering::Equal);
        assert!(test_set(Op::Eq, &[UserId(1), UserId(half), UserId(u64::MAX)], &[user(u64::MAX)]));
    }

    #[test]
    fn sets_follow_mongo() {
        let set = [UserId(1), UserId(2), UserId(3)];
        let v = |xs: &[u64]| xs.iter().map(|x| Val::User(*x)).collect::<Vec<_>>();
        assert!(test_set(Op::Eq, &set, &v(&[2])));
        assert!(test_set(Op::All, &set, &v(&[1, 3])));
        assert!(!test_set(Op::All, &set, &v(&[1, 4])));
        assert!(test_set(Op::In, &set, &v(&[9, 3])));
        assert!(test_set(Op::Nin, &set, &v(&[9, 8])));
        assert!(!test_set(Op::Ne, &set, &v(&[1])));
    }

    #[test]
    fn dialogs_without_messages_sort_last_newest_first() {
        let order =
            Order { target: Target::LastMessageDateSent, dir: Direction::Desc, default: true };
        let key = |lmds: Option<i64>, created: i64, id: u8| {
            let row = Row {
                id: [id; 12],
                created_at: created,
                updated_at: created,
                occupants: Default::default(),
                last_message_date_sent: lmds,
                ..Row::sample()
            };
            order.key_from_row(&row)
        };
        let mut v = [key(None, 5, 1), key(Some(1), 1, 2), key(None, 9, 3), key(Some(7), 1, 4)];
        v.sort_by(|a, b| a.cmp_in(b, Direction::Desc));
        let ids: Vec<u8> = v.iter().map(|k| k.id[0]).collect();
        assert_eq!(ids, [4, 2, 3, 1]);
    }
}
