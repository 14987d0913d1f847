//! [`UnreadCounts`]: a user's unread messages per dialog and in all, as QuickBlox's
//! `GET /chat/Message/unread.json` answers them.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::model::DialogId;

/// The answer of [`DialogStore::unread_counts`](crate::DialogStore::unread_counts): the
/// user's unread messages in every dialog they occupy (`total`) and in each dialog asked for.
/// Serializes as QuickBlox answers `GET /chat/Message/unread.json`:
/// `{"total": 5, "<dialog id>": 2, ...}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnreadCounts {
    /// Unread messages in all the user's dialogs.
    pub total: u64,
    /// Each dialog asked for and its unread messages, in the order asked (with no ids asked
    /// for: every dialog that has any, in row order).
    pub dialogs: Vec<(DialogId, u32)>,
}

impl UnreadCounts {
    /// The unread messages of one dialog of the answer, if it is in it.
    pub fn get(&self, id: DialogId) -> Option<u32> {
        self.dialogs.iter().find(|(d, _)| *d == id).map(|(_, n)| *n)
    }
}

impl Serialize for UnreadCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1 + self.dialogs.len()))?;
        m.serialize_entry("total", &self.total)?;
        for (id, n) in &self.dialogs {
            m.serialize_entry(&id.to_string(), n)?;
        }
        m.end()
    }
}
