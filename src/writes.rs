//! The write calls of [`DialogStore`]: [`DialogStore::write`] runs many operations in one
//! transaction of its own through a [`WriteBatch`]; every single write call goes through the
//! group commit (`group_commit.rs`), sharing a transaction with the calls of other threads.

use std::cell::RefCell;

use crate::batch::WriteBatch;
use crate::dialog::{Dialog, DialogUpdate, MessageMeta, NewDialog};
use crate::error::Error;
use crate::model::{CustomClass, DialogId, UserId};
use crate::store::DialogStore;

thread_local! {
    /// The stores (by their storage's address) whose `write` closure runs on this thread.
    static WRITING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Marks a store as writing on this thread while it lives.
struct Writing(usize);

impl Writing {
    /// Marks the store `key` as writing on this thread, unless it already is.
    fn enter(key: usize) -> Result<Writing, Error> {
        WRITING.with(|w| {
            let mut w = w.borrow_mut();
            if w.contains(&key) {
                return Err(Error::NestedWrite);
            }
            w.push(key);
            Ok(Writing(key))
        })
    }
}

impl Drop for Writing {
    fn drop(&mut self) {
        WRITING.with(|w| {
            let mut w = w.borrow_mut();
            if let Some(at) = w.iter().rposition(|s| *s == self.0) {
                w.remove(at);
            }
        });
    }
}

impl DialogStore {
    /// This store's key in [`WRITING`]: its storage, shared by the handles of one store.
    fn writing_key(&self) -> usize {
        std::sync::Arc::as_ptr(&self.storage) as usize
    }

    /// Refuses a write call made from inside this store's own `write` closure on this thread,
    /// which would wait for the transaction it runs in.
    fn not_nested(&self) -> Result<(), Error> {
        let key = self.writing_key();
        match WRITING.with(|w| w.borrow().contains(&key)) {
            true => Err(Error::NestedWrite),
            false => Ok(()),
        }
    }

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
        let _writing = Writing::enter(self.writing_key())?;
        // A panic in `f` is the caller's: it aborts the transaction and is resumed past the
        // shield. The batch's own calls into the engine are shielded one by one.
        self.guard_calling(|caller| {
            self.storage.write(|w| {
                let mut batch = WriteBatch::new(&self.settings, w);
                let out = caller.call(|| f(&mut batch));
                match batch.broken() {
                    Some(failure) => Err(failure),
                    None => out,
                }
            })
        })
    }

    /// Makes every write so far durable. Only needed with [`Durability::None`](crate::Durability::None) (bulk loads):
    /// its commits reach the disk with the next durable commit, which this is.
    pub fn sync(&self) -> Result<(), Error> {
        self.not_nested()?;
        self.guard(|| self.storage.sync())
    }

    /// A single write call: committed in a group with the calls of other threads.
    fn grouped<R, F>(&self, op: F) -> Result<R, Error>
    where
        F: FnOnce(&mut WriteBatch<'_, '_>) -> Result<R, Error> + Send + 'static,
        R: Send + 'static,
    {
        self.not_nested()?;
        self.commits.call(op, |run| {
            self.write(|batch| {
                run(batch);
                Ok(())
            })
        })
    }

    /// Creates a dialog as `user`; for a private dialog that already exists between the two
    /// users, returns that one.
    pub fn create_dialog(&self, user: UserId, new: NewDialog) -> Result<Dialog, Error> {
        self.grouped(move |b| b.create_dialog(user, new))
    }

    /// Changes a dialog as `user`, under the permission rules of the crate docs.
    pub fn update_dialog(
        &self,
        user: UserId,
        id: DialogId,
        update: DialogUpdate,
    ) -> Result<Dialog, Error> {
        self.grouped(move |b| b.update_dialog(user, id, update))
    }

    /// Deletes dialogs as `user`: without `force` the user leaves them; with `force` the owner
    /// deletes them for everyone. All or nothing.
    pub fn delete_dialogs(&self, user: UserId, ids: &[DialogId], force: bool) -> Result<(), Error> {
        let ids = ids.to_vec();
        self.grouped(move |b| b.delete_dialogs(user, &ids, force))
    }

    /// Records a message sent by `sender` in a dialog.
    pub fn record_message(
        &self,
        dialog: DialogId,
        sender: UserId,
        message: MessageMeta,
    ) -> Result<(), Error> {
        self.grouped(move |b| b.record_message(dialog, sender, message))
    }

    /// Records a private message, creating the private dialog between the two users if needed.
    pub fn record_private_message(
        &self,
        sender: UserId,
        recipient: UserId,
        message: MessageMeta,
    ) -> Result<Dialog, Error> {
        self.grouped(move |b| b.record_private_message(sender, recipient, message))
    }

    /// Sets `user`'s unread count in a dialog to zero.
    pub fn mark_read(&self, dialog: DialogId, user: UserId) -> Result<(), Error> {
        self.grouped(move |b| b.mark_read(dialog, user))
    }

    /// Writes a complete dialog (QuickBlox's JSON shape, see [`Dialog::from_json`]) as it is,
    /// keeping its `_id`, timestamps and last message.
    pub fn import(&self, dialog: Dialog) -> Result<Dialog, Error> {
        self.grouped(move |b| b.import(dialog))
    }

    /// Declares a custom-object class, so `data` of that class is checked and typed.
    pub fn declare_class(&self, class: &CustomClass) -> Result<(), Error> {
        let class = class.clone();
        self.grouped(move |b| b.declare_class(&class))
    }
}
