//! The query AST: what a query string or the typed builder turns into, and what the planner reads.
//!
//! A [`Query`] is a list of [`Condition`]s that all must hold (several on one field AND together),
//! an optional [`Sort`], `skip`, `limit`, `count` and `include_unread_message_count`. Each
//! condition has a [`Field`], an [`Op`] and a [`Value`] typed for that field; which operators a
//! field takes is decided here, once, by [`Field::allows`], for the parser and the builder alike.

use std::fmt;

use crate::model::{DialogId, DialogType, UserId};

/// A parsed or built dialog query.
///
/// Equality ignores the source spans of conditions, so a query printed and parsed again equals
/// the original.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// Conditions that must all hold, in the order given.
    pub conditions: Vec<Condition>,
    /// The order asked for; `None` is the default inbox order (see the crate docs).
    pub sort: Option<Sort>,
    /// Matches to skip before the page starts.
    pub skip: u32,
    /// The page size, 1 to 100.
    pub limit: u32,
    /// `count=1`: answer only the number of matches.
    pub count: bool,
    /// `include_unread_message_count` (default `true`).
    pub include_unread_message_count: bool,
    /// `cursor=`: keyset paging. `Some("")` asks for the first page and a
    /// [`next_cursor`](crate::Page::next_cursor); `Some(token)` continues right after the last
    /// dialog of the page that token came with. `None` pages by `skip` alone.
    pub cursor: Option<String>,
}

impl Default for Query {
    fn default() -> Query {
        Query {
            conditions: Vec::new(),
            sort: None,
            skip: 0,
            limit: MAX_LIMIT,
            count: false,
            include_unread_message_count: true,
            cursor: None,
        }
    }
}

/// A byte range of the query string a condition or error came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The range `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
}

/// One condition: `field[op]=value`.
#[derive(Clone, Debug)]
pub struct Condition {
    /// The field tested.
    pub field: Field,
    /// The operator.
    pub op: Op,
    /// The operand, typed for the field: a list for `in`, `nin` and `all`, one scalar otherwise.
    pub value: Value,
    /// Where in the query string it came from; `None` when built in Rust.
    pub span: Option<Span>,
}

impl PartialEq for Condition {
    fn eq(&self, other: &Condition) -> bool {
        self.field == other.field && self.op == other.op && self.value == other.value
    }
}

/// The requested order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sort {
    /// The field sorted on.
    pub field: Field,
    /// Ascending or descending; ties break by `_id` in the same direction.
    pub direction: Direction,
}

pub use crate::model::{Direction, MAX_LIMIT, MAX_QUERY_BYTES};

/// A field of a dialog that conditions and sorts can name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Field {
    /// `_id`.
    Id,
    /// `user_id` (the owner).
    UserId,
    /// `created_at`.
    CreatedAt,
    /// `updated_at`.
    UpdatedAt,
    /// `type`.
    Type,
    /// `name`.
    Name,
    /// `photo`.
    Photo,
    /// `xmpp_room_jid`.
    XmppRoomJid,
    /// `occupants_ids`: a set of users.
    OccupantsIds,
    /// `admin_ids`: a set of users.
    AdminIds,
    /// `last_message`.
    LastMessage,
    /// `last_message_id`.
    LastMessageId,
    /// `last_message_date_sent`.
    LastMessageDateSent,
    /// `last_message_user_id`.
    LastMessageUserId,
    /// `is_join_required`.
    IsJoinRequired,
    /// `data[class_name]`.
    DataClassName,
    /// `data[NAME]`: a custom field, typed by its declared class when the query names one.
    Data(String),
}

/// What kind of value a field holds, which decides how query values are read and which
/// operators apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A [`DialogId`].
    Id,
    /// A [`UserId`].
    User,
    /// Unix seconds; query values may also be RFC 3339.
    Time,
    /// A [`DialogType`].
    Type,
    /// Text.
    Str,
    /// `true`/`false` (`1`/`0` accepted).
    Bool,
    /// A set of user ids (`occupants_ids`, `admin_ids`); values are user ids.
    UserSet,
    /// A custom `data` field: values stay text until the planner types them by the class.
    Data,
}

impl Field {
    /// Every field with a fixed name, for tests and help texts.
    pub const NAMED: [Field; 16] = [
        Field::Id,
        Field::UserId,
        Field::CreatedAt,
        Field::UpdatedAt,
        Field::Type,
        Field::Name,
        Field::Photo,
        Field::XmppRoomJid,
        Field::OccupantsIds,
        Field::AdminIds,
        Field::LastMessage,
        Field::LastMessageId,
        Field::LastMessageDateSent,
        Field::LastMessageUserId,
        Field::IsJoinRequired,
        Field::DataClassName,
    ];

    /// The field's name in a query string (`data[progress]` for custom fields).
    pub fn name(&self) -> String {
        match self {
            Field::Data(f) => format!("data[{f}]"),
            other => other.static_name().unwrap_or_default().to_owned(),
        }
    }

    fn static_name(&self) -> Option<&'static str> {
        Some(match self {
            Field::Id => "_id",
            Field::UserId => "user_id",
            Field::CreatedAt => "created_at",
            Field::UpdatedAt => "updated_at",
            Field::Type => "type",
            Field::Name => "name",
            Field::Photo => "photo",
            Field::XmppRoomJid => "xmpp_room_jid",
            Field::OccupantsIds => "occupants_ids",
            Field::AdminIds => "admin_ids",
            Field::LastMessage => "last_message",
            Field::LastMessageId => "last_message_id",
            Field::LastMessageDateSent => "last_message_date_sent",
            Field::LastMessageUserId => "last_message_user_id",
            Field::IsJoinRequired => "is_join_required",
            Field::DataClassName => "data[class_name]",
            Field::Data(_) => return None,
        })
    }

    /// The field a fixed name stands for (not `data[...]`, which the parser reads itself).
    pub fn from_name(name: &str) -> Option<Field> {
        Field::NAMED.iter().find(|f| f.static_name() == Some(name)).cloned()
    }

    /// The kind of value the field holds.
    pub fn kind(&self) -> ValueKind {
        match self {
            Field::Id => ValueKind::Id,
            Field::UserId | Field::LastMessageUserId => ValueKind::User,
            Field::CreatedAt | Field::UpdatedAt | Field::LastMessageDateSent => ValueKind::Time,
            Field::Type => ValueKind::Type,
            Field::Name
            | Field::Photo
            | Field::XmppRoomJid
            | Field::LastMessage
            | Field::LastMessageId
            | Field::DataClassName => ValueKind::Str,
            Field::OccupantsIds | Field::AdminIds => ValueKind::UserSet,
            Field::IsJoinRequired => ValueKind::Bool,
            Field::Data(_) => ValueKind::Data,
        }
    }

    /// Whether `op` applies to this field.
    ///
    /// Scalars take `eq ne in nin`; ordered scalars (ids, users, times, types, text, custom
    /// fields) also take `lt lte gt gte`; text and custom fields take `ctn`; user sets take
    /// `eq` (contains), `ne` (does not contain), `in` (any of), `nin` (none of) and `all`.
    /// Booleans take only `eq ne in nin`.
    pub fn allows(&self, op: Op) -> bool {
        use Op::*;
        match (self.kind(), op) {
            (_, Eq | Ne | In | Nin) => true,
            (ValueKind::UserSet, All) => true,
            (ValueKind::UserSet | ValueKind::Bool, _) => false,
            (_, Lt | Lte | Gt | Gte) => true,
            (ValueKind::Str | ValueKind::Data, Ctn) => true,
            (_, Ctn | All) => false,
        }
    }

    /// Whether results can be sorted on this field (every field but the user sets).
    pub fn sortable(&self) -> bool {
        self.kind() != ValueKind::UserSet
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Data(name) => write!(f, "data[{name}]"),
            other => f.write_str(other.static_name().unwrap_or_default()),
        }
    }
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// `FIELD=VALUE`.
    Eq,
    /// `[ne]`.
    Ne,
    /// `[lt]`.
    Lt,
    /// `[lte]`.
    Lte,
    /// `[gt]`.
    Gt,
    /// `[gte]`.
    Gte,
    /// `[in]`: equal to one of a list.
    In,
    /// `[nin]`: equal to none of a list.
    Nin,
    /// `[all]`: a user set holding every user of a list.
    All,
    /// `[ctn]`: contains the text, case-insensitively.
    Ctn,
}

impl Op {
    /// Every operator.
    pub const ALL: [Op; 10] =
        [Op::Eq, Op::Ne, Op::Lt, Op::Lte, Op::Gt, Op::Gte, Op::In, Op::Nin, Op::All, Op::Ctn];

    /// The operator's name inside brackets (`"eq"` for plain equality, which has no brackets).
    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::In => "in",
            Op::Nin => "nin",
            Op::All => "all",
            Op::Ctn => "ctn",
        }
    }

    /// The operator written in brackets (`eq` is not: equality is `FIELD=VALUE`).
    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| *op != Op::Eq && op.name() == name)
    }

    /// Whether the operand is a list (`in`, `nin`, `all`).
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::Nin | Op::All)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A condition's operand.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// One value.
    One(Scalar),
    /// A non-empty list, for `in`, `nin` and `all`.
    List(Vec<Scalar>),
}

impl Value {
    /// The values as a slice: one or many.
    pub fn as_slice(&self) -> &[Scalar] {
        match self {
            Value::One(s) => std::slice::from_ref(s),
            Value::List(v) => v,
        }
    }
}

/// One typed value.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Scalar {
    /// A dialog id.
    Id(DialogId),
    /// A user id.
    User(UserId),
    /// Unix seconds.
    Time(i64),
    /// A dialog type.
    Type(DialogType),
    /// Text, and every value of a custom field before the planner types it.
    Str(String),
    /// A boolean.
    Bool(bool),
}

impl Scalar {
    /// The kind of field this value fits.
    pub fn kind(&self) -> ValueKind {
        match self {
            Scalar::Id(_) => ValueKind::Id,
            Scalar::User(_) => ValueKind::User,
            Scalar::Time(_) => ValueKind::Time,
            Scalar::Type(_) => ValueKind::Type,
            Scalar::Str(_) => ValueKind::Str,
            Scalar::Bool(_) => ValueKind::Bool,
        }
    }
}

impl From<DialogId> for Scalar {
    fn from(v: DialogId) -> Scalar {
        Scalar::Id(v)
    }
}

impl From<UserId> for Scalar {
    fn from(v: UserId) -> Scalar {
        Scalar::User(v)
    }
}

impl From<DialogType> for Scalar {
    fn from(v: DialogType) -> Scalar {
        Scalar::Type(v)
    }
}

impl From<&str> for Scalar {
    fn from(v: &str) -> Scalar {
        Scalar::Str(v.to_owned())
    }
}

impl From<String> for Scalar {
    fn from(v: String) -> Scalar {
        Scalar::Str(v)
    }
}

impl From<bool> for Scalar {
    fn from(v: bool) -> Scalar {
        Scalar::Bool(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_round_trip() {
        for f in Field::NAMED {
            assert_eq!(Field::from_name(&f.name()), Some(f.clone()));
        }
        assert_eq!(Field::Data("progress".into()).name(), "data[progress]");
        assert_eq!(Field::from_name("nope"), None);
    }

    #[test]
    fn operators_fit_the_seeds_and_the_spec() {
        use Op::*;
        for f in [Field::LastMessageDateSent, Field::CreatedAt, Field::UpdatedAt] {
            for op in [Lt, Lte, Gt, Gte, Ne, In, Nin] {
                assert!(f.allows(op), "{f} {op}");
            }
        }
        assert!(Field::Id.allows(Ne));
        assert!(Field::Name.allows(Ne) && Field::Name.allows(In) && Field::Name.allows(Ctn));
        assert!(Field::Type.allows(In));
        assert!(Field::OccupantsIds.allows(All));
        assert!(!Field::Type.allows(Ctn));
        assert!(!Field::Name.allows(All));
        assert!(!Field::OccupantsIds.allows(Lt));
        assert!(!Field::IsJoinRequired.allows(Gt));
        assert!(!Field::OccupantsIds.sortable());
        assert_eq!(Op::from_name("eq"), None);
        assert_eq!(Op::from_name("ctn"), Some(Ctn));
    }
}
