//! A dialog as stored: [`Row`], the public [`Dialog`](crate::Dialog) without the viewer's
//! unread count, with its custom data as [`CustomData`]. `storage/codec.rs` encodes it.

use std::sync::Arc;

use bincode::{Decode, Encode};

use super::{CustomData, DialogType, UserId};

/// A dialog as stored: the public [`Dialog`](crate::Dialog) without the per-viewer unread count.
///
/// Its texts and user lists are shared (`Arc`), so that the cached row and every `Dialog` built
/// from it hold the same allocations. They encode as `String` and `Vec<u64>` would.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub(crate) struct Row {
    pub id: [u8; 12],
    pub user_id: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub kind: u8,
    pub name: Option<Arc<str>>,
    pub photo: Option<Arc<str>>,
    pub xmpp_room_jid: Option<Arc<str>>,
    pub occupants: Arc<[UserId]>,
    pub admins: Arc<[UserId]>,
    pub last_message: Option<Arc<str>>,
    pub last_message_id: Option<Arc<str>>,
    pub last_message_date_sent: Option<i64>,
    pub last_message_user_id: Option<u64>,
    pub is_join_required: Option<bool>,
    pub data: Option<Arc<CustomData>>,
    /// Private dialogs: the user besides `user_id`, kept when either of them leaves, so the
    /// private-pair entry is known from the row alone.
    pub peer: Option<u64>,
}

impl Row {
    /// Whether the dialog is public (type 1): no occupants, in every user's view.
    pub(crate) fn is_public(&self) -> bool {
        self.kind == DialogType::PublicGroup.code()
    }

    /// Whether `user` sees the dialog: it is public or they occupy it (QuickBlox: "all
    /// dialogs where current user id is in occupants_ids field OR if type=1").
    pub(crate) fn visible_to(&self, user: UserId) -> bool {
        self.is_public() || self.occupants.binary_search(&user).is_ok()
    }
}
