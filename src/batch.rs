//! [`WriteBatch`]: the write operations inside one transaction, each of which writes all of
//! itself or nothing. [`DialogStore::write`](crate::DialogStore::write) hands one to the caller's closure; the group
//! commit (`group_commit.rs`) runs the single calls of many threads in one.

use crate::dialog::{Dialog, DialogUpdate, MessageMeta, NewDialog};
use crate::error::Error;
use crate::model::{CustomClass, DialogId, UserId};
use crate::ops::{self, OpContext, Settings};
use crate::storage::{shield, Writer};

/// Writes inside one transaction; see [`DialogStore::write`](crate::DialogStore::write).
pub struct WriteBatch<'s, 't> {
    settings: &'s Settings,
    w: &'s mut Writer<'t>,
    /// The first storage failure of an operation, which may have stopped it half way: the batch
    /// fails with it.
    broken: Option<Error>,
}

impl<'s, 't> WriteBatch<'s, 't> {
    /// A batch of operations on `w`, with the store's `settings`.
    pub(crate) fn new(settings: &'s Settings, w: &'s mut Writer<'t>) -> WriteBatch<'s, 't> {
        WriteBatch { settings, w, broken: None }
    }

    /// The storage failure that broke the batch, if an operation met one: the transaction
    /// must not commit.
    pub(crate) fn broken(self) -> Option<Error> {
        self.broken
    }

    /// Runs one operation on the writer, shielded, and remembers a storage failure.
    fn op<R>(
        &mut self,
        op: impl FnOnce(&mut Writer<'_>, &OpContext<'_>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let ctx = self.settings.context();
        let out = shield(|| op(self.w, &ctx));
        if let Err(e) = &out {
            if self.broken.is_none() {
                self.broken = e.engine_failure_copy();
            }
        }
        out
    }

    /// See [`crate::DialogStore::create_dialog`].
    pub fn create_dialog(&mut self, user: UserId, new: NewDialog) -> Result<Dialog, Error> {
        self.op(|w, ctx| ops::create(w, ctx, user, new))
    }

    /// See [`crate::DialogStore::update_dialog`].
    pub fn update_dialog(
        &mut self,
        user: UserId,
        id: DialogId,
        update: DialogUpdate,
    ) -> Result<Dialog, Error> {
        self.op(|w, ctx| ops::update(w, ctx, user, id, update))
    }

    /// See [`crate::DialogStore::delete_dialogs`].
    pub fn delete_dialogs(
        &mut self,
        user: UserId,
        ids: &[DialogId],
        force: bool,
    ) -> Result<(), Error> {
        self.op(|w, ctx| ops::delete(w, ctx, user, ids, force))
    }

    /// See [`crate::DialogStore::record_message`].
    pub fn record_message(
        &mut self,
        dialog: DialogId,
        sender: UserId,
        message: MessageMeta,
    ) -> Result<(), Error> {
        self.op(|w, ctx| ops::record_message(w, ctx, dialog, sender, message))
    }

    /// See [`crate::DialogStore::record_private_message`].
    pub fn record_private_message(
        &mut self,
        sender: UserId,
        recipient: UserId,
        message: MessageMeta,
    ) -> Result<Dialog, Error> {
        self.op(|w, ctx| ops::record_private_message(w, ctx, sender, recipient, message))
    }

    /// See [`crate::DialogStore::mark_read`].
    pub fn mark_read(&mut self, dialog: DialogId, user: UserId) -> Result<(), Error> {
        self.op(|w, _| ops::mark_read(w, dialog, user))
    }

    /// See [`crate::DialogStore::import`].
    pub fn import(&mut self, dialog: Dialog) -> Result<Dialog, Error> {
        self.op(|w, ctx| ops::import(w, ctx, dialog))
    }

    /// See [`crate::DialogStore::declare_class`].
    pub fn declare_class(&mut self, class: &CustomClass) -> Result<(), Error> {
        self.op(|w, _| ops::declare_class(w, class))
    }
}
