//! The inputs that create and change dialogs ([`NewDialog`], [`DialogUpdate`], [`MessageMeta`])
//! and the lenient JSON they arrive in: user id lists as `"1,2"` or `[1,2]`, loosely typed
//! scalars, custom data checked for its class name.
//!
//! About 500 lines: each input type with its lenient JSON reader, which share the loose scalar
//! type and its error messages.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ValidationError};
use crate::model::{clip, CustomData, DataValue, DialogType, UserId};

impl<'de> Deserialize<'de> for CustomData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawData::deserialize(d)?.into_data().map_err(de::Error::custom)
    }
}

/// `data` as it arrives, before the class name is checked: its values are kept loosely typed.
#[derive(Default)]
pub(super) struct RawData {
    class_name: Option<Loose>,
    fields: BTreeMap<String, Loose>,
}

impl RawData {
    pub(super) fn into_data(self) -> Result<CustomData, Error> {
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
                Loose::UInt(_) => {
                    let found = "a number out of range";
                    return Err(ValidationError::DataValueNotScalar { field: k, found }.into());
                }
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
    /// A whole number above `i64::MAX`: only a user id can be one.
    UInt(u64),
    Float(f64),
    Str(String),
    /// An array, object or number out of range, named for the error message.
    Other(&'static str),
}

impl Loose {
    pub(super) fn as_i64(&self) -> Option<i64> {
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
            Loose::UInt(u) => u.fmt(f),
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
                Ok(i64::try_from(v).map(Loose::Int).unwrap_or(Loose::UInt(v)))
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
                        Loose::UInt(u) => Some(UserId(*u)),
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
    /// The text; the first [`MAX_LAST_MESSAGE_CHARS`](crate::MAX_LAST_MESSAGE_CHARS) characters become `last_message`.
    pub text: String,
    /// Unix seconds.
    pub date_sent: i64,
}

pub(super) fn loose_user(field: &'static str, v: Option<Loose>) -> Result<Option<UserId>, Error> {
    match v {
        None | Some(Loose::Null) => Ok(None),
        Some(Loose::Int(i)) if i >= 0 => Ok(Some(UserId(i as u64))),
        Some(Loose::UInt(u)) => Ok(Some(UserId(u))),
        Some(Loose::Str(s)) => UserId::from_str(&s).map(Some),
        Some(other) => {
            Err(ValidationError::BadField { field, found: clip(&other.to_string()) }.into())
        }
    }
}

pub(super) fn loose_bool(field: &'static str, v: Option<Loose>) -> Result<Option<bool>, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
