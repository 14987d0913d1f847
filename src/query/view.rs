//! A page whose dialogs share the store's cached rows instead of copying them.
//!
//! A [`Page`] owns its dialogs: a hundred of them are about five hundred small heap
//! allocations for their texts, which on glibc's allocator is over half the time of an inbox
//! query. A [`PageView`] holds reference-counted pointers to the rows the query read, reads
//! fields through accessors, and serializes to exactly the same JSON, so a service that answers
//! with JSON (most do) pays for no copy at all. [`DialogView::to_dialog`] and
//! [`PageView::to_page`] make the owned forms when wanted.

use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde::Serialize;

use super::page::Page;
use crate::dialog::{Dialog, Iso, JoinFlag};
use crate::error::Error;
use crate::model::{CustomData, DialogId, DialogType, UserId};
use crate::storage::{Row, RowValue};

/// A dialog of a [`PageView`]: read-only access to a cached row, plus the viewer's unread count.
#[derive(Clone, Debug)]
pub struct DialogView {
    row: Arc<Row>,
    kind: DialogType,
    unread: Option<u32>,
}

impl DialogView {
    pub(crate) fn new(row: Arc<Row>, unread: Option<u32>) -> Result<DialogView, Error> {
        let kind = crate::dialog::kind_of(row.kind)?;
        Ok(DialogView { row, kind, unread })
    }

    /// `_id`.
    pub fn id(&self) -> DialogId {
        DialogId(self.row.id)
    }

    /// The owner.
    pub fn user_id(&self) -> UserId {
        UserId(self.row.user_id)
    }

    /// Unix seconds.
    pub fn created_at(&self) -> i64 {
        self.row.created_at
    }

    /// Unix seconds.
    pub fn updated_at(&self) -> i64 {
        self.row.updated_at
    }

    /// `type`.
    pub fn dialog_type(&self) -> DialogType {
        self.kind
    }

    /// The name (never for private dialogs).
    pub fn name(&self) -> Option<&str> {
        self.row.name.as_deref()
    }

    /// The photo.
    pub fn photo(&self) -> Option<&str> {
        self.row.photo.as_deref()
    }

    /// `xmpp_room_jid`.
    pub fn xmpp_room_jid(&self) -> Option<&str> {
        self.row.xmpp_room_jid.as_deref()
    }

    /// The occupants, ascending.
    pub fn occupants_ids(&self) -> impl ExactSizeIterator<Item = UserId> + '_ {
        self.row.occupants.iter().map(|u| UserId(*u))
    }

    /// The admins, ascending.
    pub fn admin_ids(&self) -> impl ExactSizeIterator<Item = UserId> + '_ {
        self.row.admins.iter().map(|u| UserId(*u))
    }

    /// Whether `user` occupies the dialog.
    pub fn is_occupant(&self, user: UserId) -> bool {
        self.row.occupants.binary_search(&user.0).is_ok()
    }

    /// The last message's text.
    pub fn last_message(&self) -> Option<&str> {
        self.row.last_message.as_deref()
    }

    /// The last message's id.
    pub fn last_message_id(&self) -> Option<&str> {
        self.row.last_message_id.as_deref()
    }

    /// The last message's unix second.
    pub fn last_message_date_sent(&self) -> Option<i64> {
        self.row.last_message_date_sent
    }

    /// Who sent the last message.
    pub fn last_message_user_id(&self) -> Option<UserId> {
        self.row.last_message_user_id.map(UserId)
    }

    /// The viewer's unread messages, if asked for.
    pub fn unread_messages_count(&self) -> Option<u32> {
        self.unread
    }

    /// `is_join_required` (group dialogs only).
    pub fn is_join_required(&self) -> Option<bool> {
        self.row.is_join_required
    }

    /// The custom data, copied out.
    pub fn data(&self) -> Option<CustomData> {
        self.row.data.as_ref().map(crate::dialog::custom_data)
    }

    /// The owned dialog.
    pub fn to_dialog(&self) -> Dialog {
        crate::dialog::dialog_of(&self.row, self.kind, self.unread)
    }
}

struct Data<'a>(&'a crate::storage::RowData);

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.fields.len() + 1))?;
        m.serialize_entry("class_name", &self.0.class_name)?;
        for (k, v) in &self.0.fields {
            match v {
                RowValue::Str(x) => m.serialize_entry(k, x)?,
                RowValue::Int(x) => m.serialize_entry(k, x)?,
                RowValue::Float(x) => m.serialize_entry(k, x)?,
                RowValue::Bool(x) => m.serialize_entry(k, x)?,
            }
        }
        m.end()
    }
}

/// The same JSON as [`Dialog`]'s, field for field.
impl Serialize for DialogView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &*self.row;
        let mut st = s.serialize_struct("Dialog", 17)?;
        st.serialize_field("_id", &DialogId(r.id))?;
        st.serialize_field("admin_ids", &r.admins)?;
        st.serialize_field("created_at", &Iso(r.created_at))?;
        st.serialize_field("data", &r.data.as_ref().map(Data))?;
        st.serialize_field("is_join_required", &JoinFlag(r.is_join_required))?;
        st.serialize_field("last_message", &r.last_message)?;
        st.serialize_field("last_message_date_sent", &r.last_message_date_sent)?;
        st.serialize_field("last_message_id", &r.last_message_id)?;
        st.serialize_field("last_message_user_id", &r.last_message_user_id)?;
        st.serialize_field("name", &r.name)?;
        st.serialize_field("occupants_ids", &r.occupants)?;
        st.serialize_field("photo", &r.photo)?;
        st.serialize_field("type", &self.kind)?;
        st.serialize_field("updated_at", &Iso(r.updated_at))?;
        st.serialize_field("user_id", &r.user_id)?;
        st.serialize_field("xmpp_room_jid", &r.xmpp_room_jid)?;
        st.serialize_field("unread_messages_count", &self.unread)?;
        st.end()
    }
}

/// A page of [`DialogView`]s: what [`DialogStore::list_dialogs_view`](crate::DialogStore::list_dialogs_view)
/// answers. Serializes exactly as the [`Page`] of the same query would.
#[derive(Clone, Debug)]
pub struct PageView {
    /// Every dialog that matched, not only this page's.
    pub total_entries: u64,
    /// The `skip` asked for.
    pub skip: u32,
    /// The `limit` asked for.
    pub limit: u32,
    /// The query asked only for the count.
    pub count_only: bool,
    pub(crate) items: Vec<DialogView>,
}

impl PageView {
    /// This page's dialogs, in order.
    pub fn items(&self) -> &[DialogView] {
        &self.items
    }

    /// The owned page.
    pub fn to_page(&self) -> Page {
        Page {
            total_entries: self.total_entries,
            skip: self.skip,
            limit: self.limit,
            items: self.items.iter().map(DialogView::to_dialog).collect(),
            count_only: self.count_only,
        }
    }
}

impl Serialize for PageView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        super::page::serialize_page(
            s,
            self.total_entries,
            self.skip,
            self.limit,
            self.count_only,
            &self.items,
        )
    }
}
