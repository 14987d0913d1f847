//! What an operation needs besides its arguments, and who may see and change a dialog.

use std::sync::Arc;

use crate::model::Row;
use crate::model::{Clock, DialogId, UserId};

/// The store's settings every write reads: the room-jid parts and the clock.
pub(crate) struct Settings {
    pub app_id: u64,
    pub muc_domain: Arc<str>,
    pub clock: Arc<dyn Clock>,
}

impl Settings {
    /// The context of one operation: the clock read now.
    pub(crate) fn context(&self) -> OpContext<'_> {
        OpContext { now: self.clock.now(), app_id: self.app_id, muc_domain: &self.muc_domain }
    }
}

/// What an operation needs to know besides its arguments.
pub(crate) struct OpContext<'a> {
    /// The clock's reading for this operation.
    pub now: i64,
    pub app_id: u64,
    pub muc_domain: &'a str,
}

impl OpContext<'_> {
    pub(super) fn room_jid(&self, id: &DialogId) -> String {
        format!("{}_{}@{}", self.app_id, id, self.muc_domain)
    }
}

pub(super) fn is_owner_or_admin(row: &Row, user: UserId) -> bool {
    row.user_id == user.0 || row.admins.binary_search(&user).is_ok()
}
