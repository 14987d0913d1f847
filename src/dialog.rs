//! The dialog model: ids, types, the [`Dialog`] record and the inputs that create and change it.
//!
//! Every type here speaks the JSON of the QuickBlox Chat Dialog API as documented, so a
//! service can hand a [`Dialog`] straight to its HTTP layer and read a POST body straight into a
//! [`NewDialog`]. Timestamps are unix seconds inside and ISO 8601 (`2019-09-08T17:24:11Z`) in JSON;
//! `last_message_date_sent` stays an integer, as in QuickBlox's answers.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ValidationError};

/// The most characters a dialog name may have (chars, not bytes), as in QuickBlox.
pub const MAX_NAME_CHARS: usize = 200;
/// The most occupants a dialog may have, creator included.
pub const MAX_OCCUPANTS: usize = 10_000;
/// The most fields a dialog's `data` may hold, `class_name` not counted.
pub const MAX_DATA_FIELDS: usize = 32;
/// The most characters of one `data` string value or field name.
pub const MAX_DATA_VALUE_CHARS: usize = 1024;
/// The most characters of a message text kept as `last_message`; longer texts are cut here.
pub const MAX_LAST_MESSAGE_CHARS: usize = 1024;
/// The most characters of a `photo` value or a message id.
pub const MAX_SHORT_TEXT_CHARS: usize = 1024;

/// A user id, as QuickBlox's integer `user_id` and `occupants_ids` entries.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for UserId {
    type Err = Error;

    /// Parses a decimal user id; surrounding spaces are allowed, as in `"1, 2"`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::UserIdNotNumeric { value: clip(s) }.into());
        }
        t.parse::<u64>()
            .map(UserId)
            .map_err(|_| ValidationError::UserIdNotNumeric { value: clip(s) }.into())
    }
}

/// A dialog id: 12 bytes, shown as 24 lowercase hex characters.
///
/// The store generates ids as 4 bytes of big-endian unix seconds followed by 8 bytes unique
/// within the store, the layout of a MongoDB ObjectId, so ids sort by creation second.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DialogId(pub [u8; 12]);

impl DialogId {
    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }

    /// The unix second in the id's first four bytes.
    pub fn timestamp(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 24];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = HEX[(b >> 4) as usize];
            out[2 * i + 1] = HEX[(b & 15) as usize];
        }
        // The buffer holds ASCII hex digits only.
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DialogId({self})")
    }
}

impl FromStr for DialogId {
    type Err = Error;

    /// Parses 24 hex characters (either case). An empty string is [`Error::DialogIdEmpty`],
    /// anything else that is not 24 hex characters is [`Error::DialogIdInvalid`].
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.is_empty() {
            return Err(Error::DialogIdEmpty);
        }
        let bytes = s.as_bytes();
        if bytes.len() != 24 {
            return Err(Error::DialogIdInvalid { input: clip(s) });
        }
        let mut id = [0u8; 12];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = hex_value(pair[0]);
            let lo = hex_value(pair[1]);
            match (hi, lo) {
                (Some(h), Some(l)) => id[i] = (h << 4) | l,
                _ => return Err(Error::DialogIdInvalid { input: clip(s) }),
            }
        }
        Ok(DialogId(id))
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl Serialize for DialogId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DialogId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

/// The three dialog types of the QuickBlox API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DialogType {
    /// `type=1`: anyone may read and post; no occupants, only admins.
    PublicGroup = 1,
    /// `type=2`: a group of occupants.
    Group = 2,
    /// `type=3`: exactly two occupants.
    Private = 3,
}

impl DialogType {
    /// The type's number in the API (1, 2 or 3).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The type with that number, or a validation error naming it.
    pub fn from_code(code: i64) -> Result<DialogType, Error> {
        match code {
            1 => Ok(DialogType::PublicGroup),
            2 => Ok(DialogType::Group),
            3 => Ok(DialogType::Private),
            _ => Err(ValidationError::UnknownType { value: code.to_string() }.into()),
        }
    }

    /// All three types, in code order.
    pub const ALL: [DialogType; 3] =
        [DialogType::PublicGroup, DialogType::Group, DialogType::Private];
}

impl fmt::Display for DialogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.code().fmt(f)
    }
}

impl Serialize for DialogType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for DialogType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Loose::deserialize(d)?;
        let code = raw.as_i64().ok_or_else(|| {
            de::Error::custom(ValidationError::UnknownType { value: raw.to_string() })
        })?;
        DialogType::from_code(code).map_err(de::Error::custom)
    }
}

/// A scalar value of a dialog's custom `data`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum DataValue {
    /// Text; every value of an undeclared class is kept as text.
    String(String),
    /// A whole number (`integer` fields of a declared class).
    Integer(i64),
    /// A floating-point number (`float` fields). Never NaN.
    Float(f64),
    /// `true` or `false` (`boolean` fields).
    Bool(bool),
}

impl fmt::Display for DataValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataValue::String(s) => f.write_str(s),
            DataValue::Integer(i) => i.fmt(f),
            DataValue::Float(x) => x.fmt(f),
            DataValue::Bool(b) => b.fmt(f),
        }
    }
}

impl Serialize for DataValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DataValue::String(v) => s.serialize_str(v),
            DataValue::Integer(v) => s.serialize_i64(*v),
            DataValue::Float(v) => s.serialize_f64(*v),
            DataValue::Bool(v) => s.serialize_bool(*v),
        }
    }
}

/// The type of one field of a declared custom-object class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FieldType {
    /// Text.
    String,
    /// A signed 64-bit whole number; accepts `56` and `"56"`.
    Integer,
    /// A 64-bit float; accepts `5.6`, `"5.6"` and whole numbers.
    Float,
    /// `true`/`false`, also `1`/`0` and their string forms.
    Boolean,
}

impl FieldType {
    /// The type's name as QuickBlox custom objects spell it.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Float => "float",
            FieldType::Boolean => "boolean",
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A declared custom-object class: the typed fields a dialog's `data` of this class may hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomClass {
    /// The class name, matched against `data.class_name`.
    pub name: String,
    /// Field names and their types.
    pub fields: BTreeMap<String, FieldType>,
}

impl CustomClass {
    /// A class with no fields yet.
    pub fn new(name: impl Into<String>) -> CustomClass {
        CustomClass { name: name.into(), fields: BTreeMap::new() }
    }

    /// Adds a typed field.
    pub fn field(mut self, name: impl Into<String>, ty: FieldType) -> CustomClass {
        self.fields.insert(name.into(), ty);
        self
    }
}

/// A dialog's custom `data`: a class name and named scalar fields.
///
/// In JSON it is one flat object: `{"class_name": "ScoreTable", "progress": "56"}`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CustomData {
    /// The custom-object class these fields belong to.
    pub class_name: String,
    /// The fields, by name.
    pub fields: BTreeMap<String, DataValue>,
}

impl CustomData {
    /// Data of the given class with no fields yet.
    pub fn new(class_name: impl Into<String>) -> CustomData {
        CustomData { class_name: class_name.into(), fields: BTreeMap::new() }
    }

    /// Adds a field.
    pub fn field(mut self, name: impl Into<String>, value: DataValue) -> CustomData {
        self.fields.insert(name.into(), value);
        self
    }
}

impl Serialize for CustomData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.fields.len() + 1))?;
        m.serialize_entry("class_name", &self.class_name)?;
        for (k, v) in &self.fields {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for CustomData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawData::deserialize(d)?.into_data().map_err(de::Error::custom)
    }
}

/// `data` as it arrives, before the class name is checked: its values are kept loosely typed.
#[derive(Default)]
struct RawData {
    class_name: Option<Loose>,
    fields: BTreeMap<String, Loose>,
}

impl RawData {
    fn into_data(self) -> Result<CustomData, Error> {
        let class_name = match self.class_name {
            Some(Loose::Str(s)) if !s.trim().is_empty() => s,
            _ => return Err(ValidationError::DataWithoutClassName.into()),
        };
        let mut fields = BTreeMap::new();
        for (k, v) in self.fields {
            let value = match v {
                Loose::Str(s) => DataValue::String(s),
                Loose::Int(i) => DataValue::Integer(i),
                Loose::Float(f) => DataValue::Float(f),
                Loose::Bool(b) => DataValue::Bool(b),
                Loose::Null => continue,
                Loose::Other(what) => {
                    return Err(ValidationError::DataValueNotScalar { field: k, found: what }.into())
                }
            };
            fields.insert(k, value);
        }
        Ok(CustomData { class_name, fields })
    }
}

impl<'de> Deserialize<'de> for RawData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawData;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with class_name and scalar fields")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawData, A::Error> {
                let mut raw = RawData::default();
                while let Some(key) = map.next_key::<String>()? {
                    let value: Loose = map.next_value()?;
                    if key == "class_name" {
                        raw.class_name = Some(value);
                    } else {
                        raw.fields.insert(key, value);
                    }
                }
                Ok(raw)
            }
        }
        d.deserialize_map(V)
    }
}

/// A JSON scalar read without committing to a type, so that conversions can report what they
/// found instead of failing inside serde.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Loose {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// An array, object or number out of range, named for the error message.
    Other(&'static str),
}

impl Loose {
    fn as_i64(&self) -> Option<i64> {
        match self {
            Loose::Int(i) => Some(*i),
            Loose::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

impl fmt::Display for Loose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loose::Null => f.write_str("null"),
            Loose::Bool(b) => b.fmt(f),
            Loose::Int(i) => i.fmt(f),
            Loose::Float(x) => x.fmt(f),
            Loose::Str(s) => write!(f, "{s:?}"),
            Loose::Other(what) => f.write_str(what),
        }
    }
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Loose;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON scalar")
            }
            fn visit_unit<E>(self) -> Result<Loose, E> {
                Ok(Loose::Null)
            }
            fn visit_none<E>(self) -> Result<Loose, E> {
                Ok(Loose::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Loose, D::Error> {
                Loose::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Loose, E> {
                Ok(Loose::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Loose, E> {
                Ok(Loose::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Loose, E> {
                Ok(i64::try_from(v)
                    .map(Loose::Int)
                    .unwrap_or(Loose::Other("a number out of range")))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Loose, E> {
                Ok(if v.is_finite() {
                    Loose::Float(v)
                } else {
                    Loose::Other("a non-finite number")
                })
            }
            fn visit_str<E>(self, v: &str) -> Result<Loose, E> {
                Ok(Loose::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Loose, E> {
                Ok(Loose::Str(v))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Loose::Other("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
                while map.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
                Ok(Loose::Other("an object"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of user ids as QuickBlox's POST bodies give it: an array of integers, or one string of
/// comma-separated ids with optional spaces (`"96831397,96831328"`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UserIdList(pub Vec<UserId>);

impl UserIdList {
    /// Parses `"1,2, 3"`. An empty or blank string is the empty list.
    pub fn parse(s: &str) -> Result<UserIdList, Error> {
        if s.trim().is_empty() {
            return Ok(UserIdList(Vec::new()));
        }
        s.split(',').map(UserId::from_str).collect::<Result<Vec<_>, _>>().map(UserIdList)
    }
}

impl Serialize for UserIdList {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for UserIdList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = UserIdList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("user ids as an array of integers or a comma-separated string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<UserIdList, E> {
                UserIdList::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<UserIdList, E> {
                Ok(UserIdList(vec![UserId(v)]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<UserIdList, E> {
                u64::try_from(v).map(|u| UserIdList(vec![UserId(u)])).map_err(|_| {
                    E::custom(ValidationError::UserIdNotNumeric { value: v.to_string() })
                })
            }
            fn visit_unit<E>(self) -> Result<UserIdList, E> {
                Ok(UserIdList::default())
            }
            fn visit_none<E>(self) -> Result<UserIdList, E> {
                Ok(UserIdList::default())
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<UserIdList, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<Loose>()? {
                    let id = match &item {
                        Loose::Int(i) => u64::try_from(*i).ok().map(UserId),
                        Loose::Str(s) => UserId::from_str(s).ok(),
                        _ => None,
                    };
                    match id {
                        Some(id) => out.push(id),
                        None => {
                            return Err(de::Error::custom(ValidationError::UserIdNotNumeric {
                                value: clip(&item.to_string()),
                            }))
                        }
                    }
                }
                Ok(UserIdList(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A dialog, as the store returns it and as QuickBlox's JSON shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Dialog {
    /// `_id`.
    pub id: DialogId,
    /// The creator (owner).
    pub user_id: UserId,
    /// Unix seconds; ISO 8601 in JSON.
    pub created_at: i64,
    /// Unix seconds; moves on every change and every recorded message.
    pub updated_at: i64,
    /// `type`.
    pub dialog_type: DialogType,
    /// The name; always `None` for private dialogs.
    pub name: Option<String>,
    /// A file id or URL, stored as given.
    pub photo: Option<String>,
    /// `{app_id}_{_id}@{muc_domain}` for public and group dialogs, `None` for private ones.
    pub xmpp_room_jid: Option<String>,
    /// Sorted, unique; empty for public dialogs.
    pub occupants_ids: Vec<UserId>,
    /// Sorted, unique; empty for private dialogs.
    pub admin_ids: Vec<UserId>,
    /// The last message's text (cut to [`MAX_LAST_MESSAGE_CHARS`]).
    pub last_message: Option<String>,
    /// The last message's id.
    pub last_message_id: Option<String>,
    /// The last message's unix second (an integer in JSON).
    pub last_message_date_sent: Option<i64>,
    /// Who sent the last message.
    pub last_message_user_id: Option<UserId>,
    /// The viewer's unread messages; `None` unless asked for.
    pub unread_messages_count: Option<u32>,
    /// Group dialogs only.
    pub is_join_required: Option<bool>,
    /// Custom parameters.
    pub data: Option<CustomData>,
}

impl Dialog {
    /// Whether `user` is one of the occupants.
    pub fn is_occupant(&self, user: UserId) -> bool {
        self.occupants_ids.binary_search(&user).is_ok()
    }

    /// Whether `user` may read this dialog: an occupant, or anyone for a public dialog.
    pub fn is_visible_to(&self, user: UserId) -> bool {
        self.dialog_type == DialogType::PublicGroup || self.is_occupant(user)
    }

    /// Whether `user` may change what only the owner or an admin may change.
    pub fn is_owner_or_admin(&self, user: UserId) -> bool {
        self.user_id == user || self.admin_ids.binary_search(&user).is_ok()
    }

    /// Parses a dialog in QuickBlox's JSON shape, for [`import`](crate::DialogStore::import).
    pub fn from_json(json: &str) -> Result<Dialog, Error> {
        serde_json::from_str(json).map_err(|e| ValidationError::json(&e).into())
    }

    /// The dialog in QuickBlox's JSON shape.
    pub fn to_json(&self) -> String {
        // A Dialog holds only strings, integers and finite floats: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Formats unix seconds as `2019-09-08T17:24:11Z`.
pub(crate) fn format_time(secs: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => {
            let fmt =
                time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
            t.format(&fmt).unwrap_or_else(|_| secs.to_string())
        }
        Err(_) => secs.to_string(),
    }
}

/// Parses RFC 3339 (`2019-09-08T17:24:11Z`, offsets allowed) to unix seconds.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Reads a time given as ISO 8601 text or as unix seconds.
fn loose_time(v: &Loose) -> Option<i64> {
    match v {
        Loose::Int(i) => Some(*i),
        Loose::Str(s) => parse_time(s).or_else(|| s.trim().parse().ok()),
        _ => None,
    }
}

pub(crate) struct Iso(pub(crate) i64);

impl Serialize for Iso {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_time(self.0))
    }
}

pub(crate) struct JoinFlag(pub(crate) Option<bool>);

impl Serialize for JoinFlag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(b) => s.serialize_u8(u8::from(b)),
            None => s.serialize_none(),
        }
    }
}

impl Serialize for Dialog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Dialog", 17)?;
        st.serialize_field("_id", &self.id)?;
        st.serialize_field("admin_ids", &self.admin_ids)?;
        st.serialize_field("created_at", &Iso(self.created_at))?;
        st.serialize_field("data", &self.data)?;
        st.serialize_field("is_join_required", &JoinFlag(self.is_join_required))?;
        st.serialize_field("last_message", &self.last_message)?;
        st.serialize_field("last_message_date_sent", &self.last_message_date_sent)?;
        st.serialize_field("last_message_id", &self.last_message_id)?;
        st.serialize_field("last_message_user_id", &self.last_message_user_id)?;
        st.serialize_field("name", &self.name)?;
        st.serialize_field("occupants_ids", &self.occupants_ids)?;
        st.serialize_field("photo", &self.photo)?;
        st.serialize_field("type", &self.dialog_type)?;
        st.serialize_field("updated_at", &Iso(self.updated_at))?;
        st.serialize_field("user_id", &self.user_id)?;
        st.serialize_field("xmpp_room_jid", &self.xmpp_room_jid)?;
        st.serialize_field("unread_messages_count", &self.unread_messages_count)?;
        st.end()
    }
}

/// A dialog in QuickBlox's JSON shape, every field optional and loosely typed, checked by
/// [`RawDialog::into_dialog`] so that each problem gets its own error.
#[derive(Deserialize)]
struct RawDialog {
    #[serde(rename = "_id")]
    id: Option<String>,
    user_id: Option<Loose>,
    created_at: Option<Loose>,
    updated_at: Option<Loose>,
    #[serde(rename = "type")]
    dialog_type: Option<Loose>,
    name: Option<String>,
    photo: Option<String>,
    xmpp_room_jid: Option<String>,
    occupants_ids: Option<UserIdList>,
    admin_ids: Option<UserIdList>,
    last_message: Option<String>,
    last_message_id: Option<String>,
    last_message_date_sent: Option<Loose>,
    last_message_user_id: Option<Loose>,
    unread_messages_count: Option<Loose>,
    is_join_required: Option<Loose>,
    data: Option<RawData>,
}

fn loose_user(field: &'static str, v: Option<Loose>) -> Result<Option<UserId>, Error> {
    match v {
        None | Some(Loose::Null) => Ok(None),
        Some(Loose::Int(i)) if i >= 0 => Ok(Some(UserId(i as u64))),
        Some(Loose::Str(s)) => UserId::from_str(&s).map(Some),
        Some(other) => {
            Err(ValidationError::BadField { field, found: clip(&other.to_string()) }.into())
        }
    }
}

fn loose_bool(field: &'static str, v: Option<Loose>) -> Result<Option<bool>, Error> {
    match v {
        None | Some(Loose::Null) => Ok(None),
        Some(Loose::Bool(b)) => Ok(Some(b)),
        Some(Loose::Int(0)) => Ok(Some(false)),
        Some(Loose::Int(1)) => Ok(Some(true)),
        Some(Loose::Str(s)) if s == "0" || s == "false" => Ok(Some(false)),
        Some(Loose::Str(s)) if s == "1" || s == "true" => Ok(Some(true)),
        Some(other) => {
            Err(ValidationError::BadField { field, found: clip(&other.to_string()) }.into())
        }
    }
}

fn required_time(field: &'static str, v: Option<Loose>) -> Result<i64, Error> {
    match v {
        None | Some(Loose::Null) => Err(ValidationError::MissingField { field }.into()),
        Some(v) => loose_time(&v)
            .ok_or_else(|| ValidationError::BadField { field, found: clip(&v.to_string()) }.into()),
    }
}

impl RawDialog {
    fn into_dialog(self) -> Result<Dialog, Error> {
        let id = match self.id {
            None => return Err(ValidationError::MissingField { field: "_id" }.into()),
            Some(s) => s.parse::<DialogId>()?,
        };
        let dialog_type = match self.dialog_type {
            None | Some(Loose::Null) => return Err(ValidationError::MissingType.into()),
            Some(v) => match v.as_i64() {
                Some(code) => DialogType::from_code(code)?,
                None => {
                    return Err(ValidationError::UnknownType { value: clip(&v.to_string()) }.into())
                }
            },
        };
        let user_id = loose_user("user_id", self.user_id)?
            .ok_or(ValidationError::MissingField { field: "user_id" })?;
        let last_message_date_sent = match self.last_message_date_sent {
            None | Some(Loose::Null) => None,
            Some(v) => Some(loose_time(&v).ok_or_else(|| ValidationError::BadField {
                field: "last_message_date_sent",
                found: clip(&v.to_string()),
            })?),
        };
        let unread_messages_count = match self.unread_messages_count {
            None | Some(Loose::Null) => None,
            Some(v) => match v.as_i64().and_then(|i| u32::try_from(i).ok()) {
                Some(n) => Some(n),
                None => {
                    return Err(ValidationError::BadField {
                        field: "unread_messages_count",
                        found: clip(&v.to_string()),
                    }
                    .into())
                }
            },
        };
        Ok(Dialog {
            id,
            user_id,
            created_at: required_time("created_at", self.created_at)?,
            updated_at: required_time("updated_at", self.updated_at)?,
            dialog_type,
            name: self.name,
            photo: self.photo,
            xmpp_room_jid: self.xmpp_room_jid,
            occupants_ids: self.occupants_ids.unwrap_or_default().0,
            admin_ids: self.admin_ids.unwrap_or_default().0,
            last_message: self.last_message,
            last_message_id: self.last_message_id,
            last_message_date_sent,
            last_message_user_id: loose_user("last_message_user_id", self.last_message_user_id)?,
            unread_messages_count,
            is_join_required: loose_bool("is_join_required", self.is_join_required)?,
            data: self.data.map(RawData::into_data).transpose()?,
        })
    }
}

impl<'de> Deserialize<'de> for Dialog {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawDialog::deserialize(d)?.into_dialog().map_err(de::Error::custom)
    }
}

/// What a user asks for when creating a dialog: QuickBlox's POST body.
///
/// ```
/// use dialogstore::{DialogType, NewDialog, UserId};
/// let new: NewDialog = serde_json::from_str(
///     r#"{"type":2,"name":"New Year party","occupants_ids":"96831397, 96831328"}"#,
/// ).unwrap();
/// assert_eq!(new.dialog_type, DialogType::Group);
/// assert_eq!(new.occupants_ids, [UserId(96831397), UserId(96831328)]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NewDialog {
    /// `type`: required.
    pub dialog_type: DialogType,
    /// Ignored for private dialogs.
    pub name: Option<String>,
    /// A file id or URL.
    pub photo: Option<String>,
    /// The other occupants; the creator is added by the store.
    pub occupants_ids: Vec<UserId>,
    /// Group dialogs only; ignored for the others.
    pub is_join_required: Option<bool>,
    /// Custom parameters.
    pub data: Option<CustomData>,
}

impl NewDialog {
    /// A new dialog of the given type with nothing else set.
    pub fn new(dialog_type: DialogType) -> NewDialog {
        NewDialog {
            dialog_type,
            name: None,
            photo: None,
            occupants_ids: Vec::new(),
            is_join_required: None,
            data: None,
        }
    }

    /// A private dialog with `opponent`.
    pub fn private(opponent: UserId) -> NewDialog {
        NewDialog::new(DialogType::Private).occupants([opponent])
    }

    /// A group dialog with a name and occupants.
    pub fn group(
        name: impl Into<String>,
        occupants: impl IntoIterator<Item = UserId>,
    ) -> NewDialog {
        NewDialog::new(DialogType::Group).name(name).occupants(occupants)
    }

    /// A public dialog with a name.
    pub fn public(name: impl Into<String>) -> NewDialog {
        NewDialog::new(DialogType::PublicGroup).name(name)
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> NewDialog {
        self.name = Some(name.into());
        self
    }

    /// Sets the photo.
    pub fn photo(mut self, photo: impl Into<String>) -> NewDialog {
        self.photo = Some(photo.into());
        self
    }

    /// Sets the occupants besides the creator.
    pub fn occupants(mut self, occupants: impl IntoIterator<Item = UserId>) -> NewDialog {
        self.occupants_ids = occupants.into_iter().collect();
        self
    }

    /// Sets the custom data.
    pub fn data(mut self, data: CustomData) -> NewDialog {
        self.data = Some(data);
        self
    }

    /// Sets `is_join_required` (group dialogs only).
    pub fn join_required(mut self, required: bool) -> NewDialog {
        self.is_join_required = Some(required);
        self
    }

    /// Parses QuickBlox's POST body, with a typed [`Error`] for each problem.
    pub fn from_json(json: &str) -> Result<NewDialog, Error> {
        let raw: RawNewDialog =
            serde_json::from_str(json).map_err(|e| Error::from(ValidationError::json(&e)))?;
        raw.into_new()
    }
}

#[derive(Deserialize)]
struct RawNewDialog {
    #[serde(rename = "type")]
    dialog_type: Option<Loose>,
    name: Option<String>,
    photo: Option<String>,
    occupants_ids: Option<UserIdList>,
    is_join_required: Option<Loose>,
    data: Option<RawData>,
}

impl RawNewDialog {
    fn into_new(self) -> Result<NewDialog, Error> {
        let dialog_type = match self.dialog_type {
            None | Some(Loose::Null) => return Err(ValidationError::MissingType.into()),
            Some(v) => match v.as_i64() {
                Some(code) => DialogType::from_code(code)?,
                None => {
                    return Err(ValidationError::UnknownType { value: clip(&v.to_string()) }.into())
                }
            },
        };
        Ok(NewDialog {
            dialog_type,
            name: self.name,
            photo: self.photo,
            occupants_ids: self.occupants_ids.unwrap_or_default().0,
            is_join_required: loose_bool("is_join_required", self.is_join_required)?,
            data: self.data.map(RawData::into_data).transpose()?,
        })
    }
}

impl<'de> Deserialize<'de> for NewDialog {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawNewDialog::deserialize(d)?.into_new().map_err(de::Error::custom)
    }
}

/// A change to a dialog: the fields to set and the users to add or remove.
///
/// Deserializes from the QuickBlox update body: `{"name": ..., "photo": ..., "data": {...},
/// "push_all": {"occupants_ids": [..]}, "pull_all": {"occupants_ids": [..], "admin_ids": [..]}}`.
#[derive(Clone, Debug, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialogUpdate {
    /// A new name (ignored for private dialogs).
    #[serde(default)]
    pub name: Option<String>,
    /// A new photo.
    #[serde(default)]
    pub photo: Option<String>,
    /// New custom data, replacing the old.
    #[serde(default)]
    pub data: Option<CustomData>,
    /// Users to add.
    #[serde(default)]
    pub push_all: Members,
    /// Users to remove.
    #[serde(default)]
    pub pull_all: Members,
}

/// Occupants and admins named by an update's `push_all` or `pull_all`.
#[derive(Clone, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Members {
    /// Occupants.
    #[serde(default)]
    pub occupants_ids: UserIdList,
    /// Admins.
    #[serde(default)]
    pub admin_ids: UserIdList,
}

impl Members {
    /// Whether it names nobody.
    pub fn is_empty(&self) -> bool {
        self.occupants_ids.0.is_empty() && self.admin_ids.0.is_empty()
    }
}

impl DialogUpdate {
    /// Sets a new name.
    pub fn name(mut self, name: impl Into<String>) -> DialogUpdate {
        self.name = Some(name.into());
        self
    }

    /// Sets a new photo.
    pub fn photo(mut self, photo: impl Into<String>) -> DialogUpdate {
        self.photo = Some(photo.into());
        self
    }

    /// Replaces the custom data.
    pub fn data(mut self, data: CustomData) -> DialogUpdate {
        self.data = Some(data);
        self
    }

    /// Adds occupants.
    pub fn push_occupants(mut self, users: impl IntoIterator<Item = UserId>) -> DialogUpdate {
        self.push_all.occupants_ids.0.extend(users);
        self
    }

    /// Removes occupants.
    pub fn pull_occupants(mut self, users: impl IntoIterator<Item = UserId>) -> DialogUpdate {
        self.pull_all.occupants_ids.0.extend(users);
        self
    }

    /// Adds admins.
    pub fn push_admins(mut self, users: impl IntoIterator<Item = UserId>) -> DialogUpdate {
        self.push_all.admin_ids.0.extend(users);
        self
    }

    /// Removes admins.
    pub fn pull_admins(mut self, users: impl IntoIterator<Item = UserId>) -> DialogUpdate {
        self.pull_all.admin_ids.0.extend(users);
        self
    }

    /// Parses the QuickBlox update body, with a typed [`Error`] for each problem.
    pub fn from_json(json: &str) -> Result<DialogUpdate, Error> {
        serde_json::from_str(json).map_err(|e| ValidationError::json(&e).into())
    }
}

/// A chat message's metadata, recorded with [`record_message`](crate::DialogStore::record_message).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageMeta {
    /// The message id, as the chat server assigned it.
    pub id: String,
    /// The text; the first [`MAX_LAST_MESSAGE_CHARS`] characters become `last_message`.
    pub text: String,
    /// Unix seconds.
    pub date_sent: i64,
}

/// Cuts user input to a length fit for an error message.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialog_id_round_trips_and_rejects_bad_hex() {
        let id: DialogId = "5d75393ba28f9a17e1cb0f9e".parse().unwrap();
        assert_eq!(id.to_string(), "5d75393ba28f9a17e1cb0f9e");
        assert_eq!(id.timestamp(), 0x5d75393b);
        assert_eq!("5D75393BA28F9A17E1CB0F9E".parse::<DialogId>().unwrap(), id);
        assert_eq!("".parse::<DialogId>().unwrap_err().code(), "DIALOG_ID_EMPTY");
        for bad in [
            "5d75",
            "5d75393ba28f9a17e1cb0f9g",
            "ééééééééééééééééééééééé",
            "5d75393ba28f9a17e1cb0f9e0",
        ] {
            assert_eq!(bad.parse::<DialogId>().unwrap_err().code(), "DIALOG_ID_INVALID", "{bad}");
        }
    }

    #[test]
    fn user_id_lists_parse_both_seed_forms() {
        let a: UserIdList = serde_json::from_str(r#""96831397,96831328""#).unwrap();
        let b: UserIdList = serde_json::from_str(r#""96831397, 96831328""#).unwrap();
        let c: UserIdList = serde_json::from_str("[96831397,96831328]").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(serde_json::from_str::<UserIdList>(r#""1,x""#).is_err());
        assert!(serde_json::from_str::<UserIdList>("[1,-2]").is_err());
        assert!(serde_json::from_str::<UserIdList>(r#""1,,2""#).is_err());
    }

    #[test]
    fn times_format_as_the_seeds_show() {
        assert_eq!(format_time(1567963451), "2019-09-08T17:24:11Z");
        assert_eq!(parse_time("2019-09-08T17:24:11Z"), Some(1567963451));
        assert_eq!(parse_time("2019-09-08T19:24:11+02:00"), Some(1567963451));
    }
}
