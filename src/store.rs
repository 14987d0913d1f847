//! The store: open it, then act on dialogs as a user.
//!
//! [`DialogStore`] is `Send + Sync`: share it (in an `Arc`) between threads. Reads run on
//! snapshots and never wait for the writer; writes take turns, each in one redb transaction.
//! [`DialogStore::write`] runs many writes in one transaction for ingest speed.
//!
//! Every call into the storage engine from here runs inside `storage::shield`: a panic in redb
//! (which trusts the pages it reads, so a file damaged outside it can make it panic) becomes
//! [`Error::Corrupted`], and no damaged file panics a caller.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::model::{CustomClass, DialogId, UserId};

use crate::dialog::{Dialog, DialogUpdate, MessageMeta, NewDialog};
use crate::error::Error;
use crate::lang::Query;
use crate::ops::{self as rules, OpContext};
use crate::query::eval::Pred;
use crate::query::plan::Plan;
use crate::query::{exec, Explain, Page, PathChoice};
use crate::storage::{
    shield, Durability, IntegrityReport, Snapshot, Storage, StoreStats, StoredRow, Writer,
};

/// The default redb page cache: 64 MiB (redb's own default is 1 GiB).
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// Where the store reads the time for `created_at` and `updated_at`.
pub trait Clock: Send + Sync + 'static {
    /// Unix seconds now.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

/// A clock that says what it is told, for tests and data generators.
///
/// ```
/// use std::sync::Arc;
/// use dialogstore::{DialogStore, ManualClock, NewDialog, UserId};
/// let clock = Arc::new(ManualClock::new(1_567_963_451));
/// let store = DialogStore::builder().clock(clock.clone()).in_memory()?;
/// let d = store.create_dialog(UserId(1), NewDialog::public("News"))?;
/// assert_eq!(d.created_at, 1_567_963_451);
/// clock.advance(60);
/// # Ok::<(), dialogstore::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock standing at `secs`.
    pub fn new(secs: i64) -> ManualClock {
        ManualClock(AtomicI64::new(secs))
    }

    /// Moves the clock to `secs`.
    pub fn set(&self, secs: i64) {
        self.0.store(secs, Ordering::SeqCst);
    }

    /// Moves the clock forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Options for opening a store.
pub struct Builder {
    app_id: u64,
    muc_domain: String,
    cache_bytes: usize,
    durability: Durability,
    verify: bool,
    staged_rows: u32,
    clock: Arc<dyn Clock>,
    paths: PathChoice,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            app_id: 0,
            muc_domain: "muc.chat.quickblox.com".to_owned(),
            cache_bytes: DEFAULT_CACHE_BYTES,
            durability: Durability::Immediate,
            verify: false,
            staged_rows: crate::storage::DEFAULT_STAGED_ROWS,
            clock: Arc::new(SystemClock),
            paths: PathChoice::Auto,
        }
    }
}

impl Builder {
    /// The application id in `xmpp_room_jid` (`{app_id}_{_id}@{muc_domain}`). Default 0.
    pub fn app_id(mut self, app_id: u64) -> Builder {
        self.app_id = app_id;
        self
    }

    /// The MUC domain in `xmpp_room_jid`. Default `muc.chat.quickblox.com`.
    pub fn muc_domain(mut self, domain: impl Into<String>) -> Builder {
        self.muc_domain = domain.into();
        self
    }

    /// The page cache in bytes. Default [`DEFAULT_CACHE_BYTES`] (64 MiB).
    pub fn cache_size(mut self, bytes: usize) -> Builder {
        self.cache_bytes = bytes;
        self
    }

    /// How commits reach the disk. Default [`Durability::Immediate`].
    pub fn durability(mut self, durability: Durability) -> Builder {
        self.durability = durability;
        self
    }

    /// Whether opening a store file verifies the checksum of every page in it. Default `false`.
    ///
    /// Rows, bitmaps and classes carry their own checksum, checked on every read, and redb verifies
    /// every page when it opens a file that was not closed cleanly (after a crash). A file closed
    /// cleanly and damaged afterwards (a bad disk, a bad copy) is otherwise trusted: damage to a
    /// key or a counter can give wrong answers, which [`DialogStore::check_integrity`] catches only
    /// where an index disagrees with the rows. With this set, such a file fails to open with
    /// `CORRUPTED` instead. It reads the whole file, which takes far longer than a plain open on
    /// a large store.
    pub fn verify_on_open(mut self, verify: bool) -> Builder {
        self.verify = verify;
        self
    }

    /// How many of the newest rows keep their user-bitmap entries and private pairs in memory
    /// before one commit writes them all to the file in key order. Default 32,768; at least 1.
    ///
    /// A create adds its row to the bitmap of every occupant and, for a private dialog, its
    /// pair to the pair index. Written one commit at a time, those entries fall at random places
    /// in large B-trees, and each commit rewrites most of the pages they touch; staged, they are
    /// written once per window, thousands to a page. Nothing is lost if the process dies: the
    /// staged rows are in the file, and opening a store reads them again to rebuild what was
    /// staged. A larger window makes batched creates faster and opening
    /// slower; 1 writes every row's entries with its own commit, as an index without staging
    /// would.
    pub fn staged_rows(mut self, rows: u32) -> Builder {
        self.staged_rows = rows.max(1);
        self
    }

    /// The clock for `created_at` and `updated_at`. Default the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Builder {
        self.clock = clock;
        self
    }

    /// Which access paths the planner takes. Default [`PathChoice::Auto`], its own choice by
    /// cost; the others force one kind of path, for tests that compare them.
    pub fn path_choice(mut self, paths: PathChoice) -> Builder {
        self.paths = paths;
        self
    }

    /// Opens the store file at `path`, creating it if it does not exist.
    pub fn open(self, path: impl AsRef<Path>) -> Result<DialogStore, Error> {
        let path = path.as_ref();
        let storage = shield(|| {
            Storage::open(path, self.cache_bytes, self.durability, self.verify, self.staged_rows)
        })
        .map_err(|e| e.in_file(Some(path)))?;
        let mut store = self.finish(storage);
        store.path = Some(path.to_path_buf());
        Ok(store)
    }

    /// Opens a store that lives in memory and is gone when dropped.
    pub fn in_memory(self) -> Result<DialogStore, Error> {
        let storage = shield(|| Storage::in_memory(self.cache_bytes, self.staged_rows))?;
        Ok(self.finish(storage))
    }

    fn finish(self, storage: Storage) -> DialogStore {
        DialogStore {
            storage: Arc::new(storage),
            app_id: self.app_id,
            muc_domain: self.muc_domain.into(),
            clock: self.clock,
            path: None,
            paths: self.paths,
        }
    }
}

/// An embedded dialog store.
pub struct DialogStore {
    /// Shared with the handles [`with_path_choice`](DialogStore::with_path_choice) makes.
    pub(crate) storage: Arc<Storage>,
    app_id: u64,
    muc_domain: Arc<str>,
    clock: Arc<dyn Clock>,
    /// The store file; `None` in memory.
    path: Option<PathBuf>,
    /// The planner's configuration: the one place a forced access path is read.
    paths: PathChoice,
}

impl std::fmt::Debug for DialogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DialogStore")
            .field("app_id", &self.app_id)
            .field("muc_domain", &self.muc_domain)
            .finish()
    }
}

impl DialogStore {
    /// Runs `f` inside [`shield`], naming this store's file in a storage error.
    fn guard<R>(&self, f: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
        shield(f).map_err(|e| e.in_file(self.path.as_deref()))
    }

    /// [`shield_calling`], naming this store's file in a storage error.
    fn guard_calling<R>(
        &self,
        f: impl FnOnce(&mut Caller) -> Result<R, Error>,
    ) -> Result<R, Error> {
        shield_calling(f).map_err(|e| e.in_file(self.path.as_deref()))
    }

    /// Options for opening a store.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Opens the store file at `path` with default options, creating it if needed.
    pub fn open(path: impl AsRef<Path>) -> Result<DialogStore, Error> {
        Builder::default().open(path)
    }

    /// A store in memory, for tests.
    pub fn in_memory() -> Result<DialogStore, Error> {
        Builder::default().in_memory()
    }

    /// Another handle on the same store (the same file, cache and writer) whose planner takes
    /// the paths `paths` allows, for tests that run one query through every access path.
    ///
    /// ```
    /// use dialogstore::{DialogStore, NewDialog, PathChoice, Query, UserId};
    /// let store = DialogStore::in_memory()?;
    /// store.create_dialog(UserId(1), NewDialog::group("New Year party", [UserId(2)]))?;
    /// let q: Query = "limit=10".parse()?;
    /// let oracle = store.with_path_choice(PathChoice::FullScan);
    /// assert_eq!(oracle.list_dialogs(UserId(2), &q)?, store.list_dialogs(UserId(2), &q)?);
    /// # Ok::<(), dialogstore::Error>(())
    /// ```
    pub fn with_path_choice(&self, paths: PathChoice) -> DialogStore {
        DialogStore {
            storage: self.storage.clone(),
            app_id: self.app_id,
            muc_domain: self.muc_domain.clone(),
            clock: self.clock.clone(),
            path: self.path.clone(),
            paths,
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

    /// Rewrites the store file without the free pages that copy-on-write leaves behind, so a
    /// store that was bulk-loaded or churned shrinks to what it holds. Takes a while on a large
    /// store and needs the store to itself (`&mut`): run it after a bulk load, not while
    /// serving. Returns whether anything was compacted. Fails with `STORAGE` while a handle
    /// made by [`with_path_choice`](DialogStore::with_path_choice) shares the store.
    pub fn compact(&mut self) -> Result<bool, Error> {
        let Some(storage) = Arc::get_mut(&mut self.storage) else {
            return Err(Error::storage(std::io::Error::other(
                "compact needs the store to itself, and another handle shares it",
            )));
        };
        shield(|| storage.compact()).map_err(|e| e.in_file(self.path.as_deref()))
    }

    /// Makes every write so far durable. Only needed with [`Durability::None`] (bulk loads):
    /// its commits reach the disk with the next durable commit, which this is.
    pub fn sync(&self) -> Result<(), Error> {
        self.guard(|| self.storage.sync())
    }

    /// Creates a dialog as `user`; for a private dialog that already exists between the two
    /// users, returns that one.
    pub fn create_dialog(&self, user: UserId, new: NewDialog) -> Result<Dialog, Error> {
        self.write(|b| b.create_dialog(user, new))
    }

    /// Reads a dialog as `user`, with their unread count: `DIALOG_ID_EMPTY` for an empty id,
    /// `DIALOG_ID_INVALID`, `NOT_FOUND`, or `ACCESS_ERROR` when `user` may not see it.
    pub fn get_dialog(&self, user: UserId, id: &str) -> Result<Dialog, Error> {
        let id: DialogId = id.parse()?;
        self.guard(|| self.read_dialog(user, id))
    }

    fn read_dialog(&self, user: UserId, id: DialogId) -> Result<Dialog, Error> {
        let snap = self.storage.snapshot()?;
        let (rid, row) = snap.find(&id)?.ok_or(Error::NotFound { id })?;
        if !rules::is_visible(&row, user) {
            return Err(Error::AccessDenied { id, user });
        }
        let unread = snap.unread(user.0, rid)?;
        crate::dialog::to_dialog(&row, Some(unread))
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

    /// Lists the dialogs `user` sees that match `query`, in the query's order: the page asked
    /// for and the total (or only the total with `count=1`).
    ///
    /// ```
    /// use dialogstore::{DialogStore, NewDialog, Query, UserId};
    /// let store = DialogStore::in_memory()?;
    /// store.create_dialog(UserId(1), NewDialog::group("New Year party", [UserId(2)]))?;
    /// let q: Query = "name[ctn]=party&limit=10".parse()?;
    /// let page = store.list_dialogs(UserId(2), &q)?;
    /// assert_eq!(page.total_entries, 1);
    /// # Ok::<(), dialogstore::Error>(())
    /// ```
    pub fn list_dialogs(&self, user: UserId, query: &Query) -> Result<Page, Error> {
        self.guard(|| self.list(user, query))
    }

    fn list(&self, user: UserId, query: &Query) -> Result<Page, Error> {
        let snap = self.storage.snapshot()?;
        let (plan, preds) = self.plan(&snap, user, query)?;
        let outcome = exec::execute(&snap, &plan, &preds)?;
        let mut items = Vec::with_capacity(outcome.page.len());
        for (rid, row) in outcome.page {
            let unread = if !plan.unread {
                None
            } else if row.is_public() {
                Some(0)
            } else {
                Some(snap.unread(user.0, rid)?)
            };
            // The dialog shares the cached row's texts and lists: a few reference counts.
            items.push(crate::dialog::to_dialog(&row, unread)?);
        }
        Ok(Page {
            total_entries: outcome.total,
            skip: query.skip,
            limit: query.limit,
            count_only: query.count,
            items,
        })
    }

    /// The plan the store chooses for `query` as `user`, executed, with what it read.
    pub fn explain(&self, user: UserId, query: &Query) -> Result<Explain, Error> {
        self.guard(|| self.explain_plan(user, query))
    }

    fn explain_plan(&self, user: UserId, query: &Query) -> Result<Explain, Error> {
        let snap = self.storage.snapshot()?;
        let (plan, preds) = self.plan(&snap, user, query)?;
        let outcome = exec::execute(&snap, &plan, &preds)?;
        Ok(exec::explain(query, plan, outcome))
    }

    fn plan(
        &self,
        snap: &Snapshot,
        user: UserId,
        query: &Query,
    ) -> Result<(Plan, Vec<Pred>), Error> {
        let choice = self.paths;
        crate::query::prepare(snap, user, query, choice)
    }

    /// Fills the read cache with what the first large queries after opening would build: the
    /// public dialogs' time streams, the in-memory `last_message_date_sent` and `updated_at`
    /// columns (read from their time indexes), and a column for every field of the declared
    /// classes (read from the rows that have one; up to the cache's 16 columns in all, fields
    /// in name order). On a large store this takes a while.
    /// Call it once after [`open`](Self::open), before serving, so no user's query pays for it.
    /// Queries are correct without it; writes keep what it built up to date.
    /// The data filters that answer custom-data conditions (`data[class_name]=X&data[f][gte]=N`)
    /// are not built here, since which conditions a service asks is not known in advance: the
    /// first query that would test such conditions over thousands of candidates builds one
    /// (once; writes keep it exact), and every later query with the same conditions uses it.
    ///
    /// Returns `false`, having built nothing, if a write was committing at that moment (the
    /// cache cannot tell which version it would be building); call it again.
    ///
    /// ```
    /// let store = dialogstore::DialogStore::in_memory()?;
    /// assert!(store.warm_up()?);
    /// # Ok::<(), dialogstore::Error>(())
    /// ```
    pub fn warm_up(&self) -> Result<bool, Error> {
        self.guard(|| self.storage.snapshot()?.warm_up())
    }

    /// Rebuilds every index from the rows and compares: the report lists each difference.
    pub fn check_integrity(&self) -> Result<IntegrityReport, Error> {
        self.guard(|| crate::storage::integrity::check(&self.storage.snapshot()?))
    }

    /// Calls `f` with every live dialog, in row order (creation order), without unread counts:
    /// for exports and migrations. Reads one snapshot; writes made meanwhile are not seen.
    pub fn for_each_dialog(
        &self,
        mut f: impl FnMut(Dialog) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.guard_calling(|caller| {
            let snap = self.storage.snapshot()?;
            for entry in snap.all_rows()? {
                if let (_, StoredRow::Live(row)) = entry? {
                    let dialog = crate::dialog::to_dialog(&row, None)?;
                    caller.call(|| f(dialog))?;
                }
            }
            Ok(())
        })
    }

    /// Calls `f` with every unread count above zero, as (user, dialog, count), in user order.
    pub fn for_each_unread(
        &self,
        mut f: impl FnMut(UserId, DialogId, u32) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.guard_calling(|caller| {
            let snap = self.storage.snapshot()?;
            for entry in snap.all_unread()? {
                let ((user, rid), count) = entry?;
                let row = snap.live_row(rid)?;
                caller.call(|| f(UserId(user), DialogId(row.id), count))?;
            }
            Ok(())
        })
    }

    /// What the store holds: live dialogs by type, distinct users, every table's entries and
    /// bytes, and the file size. Reads counters, table metadata and the keys of the user
    /// bitmaps, never the rows, so it is cheap enough for a health endpoint.
    ///
    /// ```
    /// use dialogstore::{DialogStore, NewDialog, UserId};
    /// let store = DialogStore::in_memory()?;
    /// store.create_dialog(UserId(1), NewDialog::group("New Year party", [UserId(2), UserId(3)]))?;
    /// store.create_dialog(UserId(1), NewDialog::private(UserId(4)))?;
    /// let stats = store.stats()?;
    /// assert_eq!((stats.group_dialogs, stats.private_dialogs, stats.dialogs()), (1, 1, 2));
    /// assert_eq!(stats.users, 4);
    /// assert!(stats.tables.iter().any(|t| t.name == "rows" && t.entries == 2));
    /// assert_eq!(stats.file_bytes, None); // in memory
    /// # Ok::<(), dialogstore::Error>(())
    /// ```
    pub fn stats(&self) -> Result<StoreStats, Error> {
        self.guard(|| self.storage.stats(self.path.as_deref()))
    }

    /// Every table's content as text, in key order, for tests that check a refused call changed
    /// nothing. Not a stable format; only with the feature `testing`, which this workspace's
    /// test harness turns on.
    #[cfg(feature = "testing")]
    pub fn debug_dump(&self) -> Result<String, Error> {
        self.guard(|| self.dump())
    }

    #[cfg(feature = "testing")]
    fn dump(&self) -> Result<String, Error> {
        use std::fmt::Write;
        let snap = self.storage.snapshot()?;
        let mut out = String::new();
        let meta = snap.meta()?;
        let _ = writeln!(
            out,
            "meta next_row={} live={:?} created_sorted={} staged_from={}",
            meta.next_row, meta.live, meta.created_sorted, meta.staged_from
        );
        for row in snap.all_rows()? {
            let _ = writeln!(out, "row {:?}", row?);
        }
        for entry in snap.all_ids()? {
            let _ = writeln!(out, "id {:?}", entry?);
        }
        for entry in snap.all_pairs()? {
            let _ = writeln!(out, "pair {:?}", entry?);
        }
        for entry in snap.all_unread()? {
            let _ = writeln!(out, "unread {:?}", entry?);
        }
        for class in snap.all_classes()? {
            let _ = writeln!(out, "class {class:?}");
        }
        for (user, rows) in snap.staged_users()? {
            let _ = writeln!(out, "staged user {user} {rows:?}");
        }
        for entry in snap.all_bitmaps()? {
            let (key, bitmap) = entry?;
            let _ = writeln!(
                out,
                "bitmap {} {:?}",
                crate::storage::describe_key(&key),
                bitmap.iter().collect::<Vec<_>>()
            );
        }
        for index in crate::storage::TimeIndex::ALL {
            for entry in snap.all_times(index)? {
                let _ = writeln!(out, "{} {:?}", index.name(), entry?);
            }
        }
        Ok(out)
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
        self.op(|w, ctx| rules::create(w, ctx, user, new))
    }

    /// See [`DialogStore::update_dialog`].
    pub fn update_dialog(
        &mut self,
        user: UserId,
        id: DialogId,
        update: DialogUpdate,
    ) -> Result<Dialog, Error> {
        self.op(|w, ctx| rules::update(w, ctx, user, id, update))
    }

    /// See [`DialogStore::delete_dialogs`].
    pub fn delete_dialogs(
        &mut self,
        user: UserId,
        ids: &[DialogId],
        force: bool,
    ) -> Result<(), Error> {
        self.op(|w, ctx| rules::delete(w, ctx, user, ids, force))
    }

    /// See [`DialogStore::record_message`].
    pub fn record_message(
        &mut self,
        dialog: DialogId,
        sender: UserId,
        message: MessageMeta,
    ) -> Result<(), Error> {
        self.op(|w, ctx| rules::record_message(w, ctx, dialog, sender, message))
    }

    /// See [`DialogStore::record_private_message`].
    pub fn record_private_message(
        &mut self,
        sender: UserId,
        recipient: UserId,
        message: MessageMeta,
    ) -> Result<Dialog, Error> {
        self.op(|w, ctx| rules::record_private_message(w, ctx, sender, recipient, message))
    }

    /// See [`DialogStore::mark_read`].
    pub fn mark_read(&mut self, dialog: DialogId, user: UserId) -> Result<(), Error> {
        self.op(|w, _| rules::mark_read(w, dialog, user))
    }

    /// See [`DialogStore::import`].
    pub fn import(&mut self, dialog: Dialog) -> Result<Dialog, Error> {
        self.op(|w, ctx| rules::import(w, ctx, dialog))
    }

    /// See [`DialogStore::declare_class`].
    pub fn declare_class(&mut self, class: &CustomClass) -> Result<(), Error> {
        self.op(|w, _| rules::declare_class(w, class))
    }
}

/// Runs `f` inside [`shield`] where `f` calls back into the caller's code (the closure given to
/// [`DialogStore::write`] or `for_each_*`) through [`Caller::call`]: a panic there is the
/// caller's, so it ends what `f` was doing (a write transaction aborts) and is resumed past the
/// shield instead of becoming `CORRUPTED`.
fn shield_calling<R>(f: impl FnOnce(&mut Caller) -> Result<R, Error>) -> Result<R, Error> {
    let mut caller = Caller { panic: None };
    let out = shield(|| f(&mut caller));
    if let Some(payload) = caller.panic {
        resume_unwind(payload);
    }
    out
}

/// The caller's code as [`shield_calling`] runs it.
struct Caller {
    panic: Option<Box<dyn std::any::Any + Send>>,
}

impl Caller {
    fn call<T>(&mut self, g: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
        catch_unwind(AssertUnwindSafe(g)).unwrap_or_else(|payload| {
            self.panic = Some(payload);
            Err(Error::corrupted("the caller's closure panicked"))
        })
    }
}
