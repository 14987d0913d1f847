//! Writes: [`DialogStore::write`] runs many in one transaction through a [`WriteBatch`]; each
//! single write call is a batch of one.

use crate::dialog::{Dialog, DialogUpdate, MessageMeta, NewDialog};
use crate::error::Error;
use crate::model::{CustomClass, DialogId, UserId};
use crate::ops::{self, OpContext};
use crate::storage::{shield, Writer};
use crate::store::DialogStore;

impl DialogStore {
    /// Runs `f` in one write transaction: everything it writes commits together, or, if it
    /// returns an error, nothing does. An operation inside that fails writes nothing, so `f` may
    /// catch its error and go on; except that an operation failing in storage (`CORRUPTED` or
    /// `STORAGE`, which can stop it half way) fails the whole batch, whatever `f` returns.
    ///
    /// ```
    /// use dialogstore::{DialogStore, NewDialog, UserId};
    /// let store = DialogStore::in_memory()?;
    /// let ids = store.write(|batch| {
    ///     (1..=3).map(|u| batch.create_dialog(UserId(0), NewDialog::private(UserId(u))).map(|d| d.id))
    ///         .collect::<Result<Vec<_>, _>>()
    /// })?;
    /// assert_eq!(ids.len(), 3);
    /// # Ok::<(), dialogstore::Error>(())
    /// ```
    pub fn write<R>(
        &self,
        f: impl FnOnce(&mut WriteBatch<'_, '_>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        // A panic in `f` is the caller's: it aborts the transaction and is resumed past the
        // shield. The batch's own calls into the engine are shielded one by one.
        self.guard_calling(|caller| {
            self.storage.write(|w| {
                let mut batch = WriteBatch { store: self, w, broken: None };
                let out = caller.call(|| f(&mut batch));
                match batch.broken {
                    Some(failure) => Err(failure),
                    None => out,
                }
            })
        })
    }

    fn ctx(&self) -> OpContext<'_> {
        OpContext { now: self.clock.now(), app_id: self.app_id, muc_domain: &self.muc_domain }
    }

    /// Creates a dialog as `user`; for a private dialog that already exists between the two
    /// users, returns that one.
    pub fn create_dialog(&self, user: UserId, new: NewDialog) -> Result<Dialog, Error> {
        self.write(|b| b.create_dialog(user, new))
    }

    /// Changes a dialog as `user`, under the permission rules of the crate docs.
    pub fn update_dialog(
        &self,
        user: UserId,
        id: DialogId,
        update: DialogUpdate,
    ) -> Result<Dialog, Error> {
        self.write(|b| b.update_dialog(user, id, update))
    }

    /// Deletes dialogs as `user`: without `force` the user leaves them; with `force` the owner
    /// deletes them for everyone. All or nothing.
    pub fn delete_dialogs(&self, user: UserId, ids: &[DialogId], force: bool) -> Result<(), Error> {
        self.write(|b| b.delete_dialogs(user, ids, force))
    }

    /// Records a message sent by `sender` in a dialog.
    pub fn record_message(
        &self,
        dialog: DialogId,
        sender: UserId,
        message: MessageMeta,
    ) -> Result<(), Error> {
        self.write(|b| b.record_message(dialog, sender, message))
    }

    /// Records a private message, creating the private dialog between the two users if needed.
    pub fn record_private_message(
        &self,
        sender: UserId,
        recipient: UserId,
        message: MessageMeta,
    ) -> Result<Dialog, Error> {
        self.write(|b| b.record_private_message(sender, recipient, message))
    }

    /// Sets `user`'s unread count in a dialog to zero.
    pub fn mark_read(&self, dialog: DialogId, user: UserId) -> Result<(), Error> {
        self.write(|b| b.mark_read(dialog, user))
    }

    /// Writes a complete dialog (QuickBlox's JSON shape, see [`Dialog::from_json`]) as it is,
    /// keeping its `_id`, timestamps and last message.
    pub fn import(&self, dialog: Dialog) -> Result<Dialog, Error> {
        self.write(|b| b.import(dialog))
    }

    /// Declares a custom-object class, so `data` of that class is checked and typed.
    pub fn declare_class(&self, class: &CustomClass) -> Result<(), Error> {
        self.write(|b| b.declare_class(class))
    }
}

/// Writes inside one transaction; see [`DialogStore::write`].
pub struct WriteBatch<'s, 't> {
    store: &'s DialogStore,
    w: &'s mut Writer<'t>,
    /// The first storage failure of an operation, which may have stopped it half way: the batch
    /// fails with it.
    broken: Option<Error>,
}

impl WriteBatch<'_, '_> {
    /// Runs one operation on the writer, shielded, and remembers a storage failure.
    fn op<R>(
        &mut self,
        op: impl FnOnce(&mut Writer<'_>, &OpContext<'_>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let ctx = self.store.ctx();
        let out = shield(|| op(self.w, &ctx));
        if let Err(e) = &out {
            if self.broken.is_none() {
                self.broken = match e {
                    Error::Corrupted { what } => Some(Error::corrupted(what.clone())),
                    Error::Storage { source, file } => Some(Error::Storage {
                        source: Box::new(std::io::Error::other(source.to_string())),
                        file: file.clone(),
                    }),
                    _ => None,
                };
            }
        }
        out
    }

    /// See [`DialogStore::create_dialog`].
    pub fn create_dialog(&mut self, user: UserId, new: NewDialog) -> Result<Dialog, Error> {
        self.op(|w, ctx| ops::create(w, ctx, user, new))
    }

    /// See [`DialogStore::update_dialog`].
    pub fn update_dialog(
        &mut self,
        user: UserId,
        id: DialogId,
        update: DialogUpdate,
    ) -> Result<Dialog, Error> {
        self.op(|w, ctx| ops::update(w, ctx, user, id, update))
    }

    /// See [`DialogStore::delete_dialogs`].
    pub fn delete_dialogs(
        &mut self,
        user: UserId,
        ids: &[DialogId],
        force: bool,
    ) -> Result<(), Error> {
        self.op(|w, ctx| ops::delete(w, ctx, user, ids, force))
    }

    /// See [`DialogStore::record_message`].
    pub fn record_message(
        &mut self,
        dialog: DialogId,
        sender: UserId,
        message: MessageMeta,
    ) -> Result<(), Error> {
        self.op(|w, ctx| ops::record_message(w, ctx, dialog, sender, message))
    }

    /// See [`DialogStore::record_private_message`].
    pub fn record_private_message(
        &mut self,
        sender: UserId,
        recipient: UserId,
        message: MessageMeta,
    ) -> Result<Dialog, Error> {
        self.op(|w, ctx| ops::record_private_message(w, ctx, sender, recipient, message))
    }

    /// See [`DialogStore::mark_read`].
    pub fn mark_read(&mut self, dialog: DialogId, user: UserId) -> Result<(), Error> {
        self.op(|w, _| ops::mark_read(w, dialog, user))
    }

    /// See [`DialogStore::import`].
    pub fn import(&mut self, dialog: Dialog) -> Result<Dialog, Error> {
        self.op(|w, ctx| ops::import(w, ctx, dialog))
    }

    /// See [`DialogStore::declare_class`].
    pub fn declare_class(&mut self, class: &CustomClass) -> Result<(), Error> {
        self.op(|w, _| ops::declare_class(w, class))
    }
}
