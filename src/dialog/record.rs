//! [`Dialog`], the record the store returns, and its JSON in QuickBlox's shape: written by
//! `Serialize`, read leniently (with its `_id`, timestamps and last message) for imports.

use std::sync::Arc;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::input::{loose_bool, loose_user, Loose, RawData, UserIdList};
use crate::error::{Error, ValidationError};
use crate::model::{clip, format_time, parse_time, CustomData, DialogId, DialogType, UserId};

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
    pub name: Option<Arc<str>>,
    /// A file id or URL, stored as given.
    pub photo: Option<Arc<str>>,
    /// `{app_id}_{_id}@{muc_domain}` for public and group dialogs, `None` for private ones.
    pub xmpp_room_jid: Option<Arc<str>>,
    /// Sorted, unique; empty for public dialogs.
    pub occupants_ids: Arc<[UserId]>,
    /// Sorted, unique; empty for private dialogs.
    pub admin_ids: Arc<[UserId]>,
    /// The last message's text (cut to [`MAX_LAST_MESSAGE_CHARS`](crate::MAX_LAST_MESSAGE_CHARS)).
    pub last_message: Option<Arc<str>>,
    /// The last message's id.
    pub last_message_id: Option<Arc<str>>,
    /// The last message's unix second (an integer in JSON).
    pub last_message_date_sent: Option<i64>,
    /// Who sent the last message.
    pub last_message_user_id: Option<UserId>,
    /// The viewer's unread messages; `None` unless asked for.
    pub unread_messages_count: Option<u32>,
    /// Group dialogs only.
    pub is_join_required: Option<bool>,
    /// Custom parameters.
    pub data: Option<Arc<CustomData>>,
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

/// Reads a time given as ISO 8601 text or as unix seconds.
fn loose_time(v: &Loose) -> Option<i64> {
    match v {
        Loose::Int(i) => Some(*i),
        Loose::Str(s) => parse_time(s).or_else(|| s.trim().parse().ok()),
        _ => None,
    }
}

struct Iso(i64);

impl Serialize for Iso {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_time(self.0))
    }
}

struct JoinFlag(Option<bool>);

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
            name: self.name.map(Arc::from),
            photo: self.photo.map(Arc::from),
            xmpp_room_jid: self.xmpp_room_jid.map(Arc::from),
            occupants_ids: self.occupants_ids.unwrap_or_default().0.into(),
            admin_ids: self.admin_ids.unwrap_or_default().0.into(),
            last_message: self.last_message.map(Arc::from),
            last_message_id: self.last_message_id.map(Arc::from),
            last_message_date_sent,
            last_message_user_id: loose_user("last_message_user_id", self.last_message_user_id)?,
            unread_messages_count,
            is_join_required: loose_bool("is_join_required", self.is_join_required)?,
            data: self.data.map(RawData::into_data).transpose()?.map(Arc::new),
        })
    }
}

impl<'de> Deserialize<'de> for Dialog {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawDialog::deserialize(d)?.into_dialog().map_err(de::Error::custom)
    }
}
