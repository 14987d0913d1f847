//! The store facade: [`DialogStore`] and its reads (one dialog, a list page, explain, integrity,
//! stats, exports), each on one snapshot. Writes are in `batch.rs`, opening in `builder.rs`.
//!
//! [`DialogStore`] is `Send + Sync`: share it (in an `Arc`) between threads. Reads run on
//! snapshots and never wait for the writer. Single write calls that arrive while a commit is in
//! flight are committed together, one transaction and one fsync for the group, each call
//! answered with its own result (`group_commit.rs`); [`DialogStore::write`] runs many writes in
//! one transaction of its own for ingest speed.
//!
//! Every call into the storage engine from here runs inside `storage::shield`: a panic in redb
//! (which trusts the pages it reads, so a file damaged outside it can make it panic) becomes
//! [`Error::Corrupted`], and no damaged file panics a caller.

use std::path::PathBuf;
use std::sync::Arc;

use crate::calling::{shield_calling, Caller};
use crate::model::{DialogId, UserId};

use crate::dialog::{ChangeCursor, Changes, Dialog, UnreadCounts};
use crate::error::Error;
use crate::group_commit::CommitQueue;
use crate::lang::Query;
use crate::ops::Settings;
use crate::query::eval::Pred;
use crate::query::plan::Plan;
use crate::query::{exec, feed, keyset, Explain, Page, PathChoice};
use crate::storage::{shield, IntegrityReport, Snapshot, Storage, StoreStats, StoredRow};

/// An embedded dialog store.
pub struct DialogStore {
    /// Shared with the handles [`with_path_choice`](DialogStore::with_path_choice) makes.
    pub(crate) storage: Arc<Storage>,
    /// The room-jid parts and the clock, shared by the handles.
    pub(crate) settings: Arc<Settings>,
    /// The store file; `None` in memory.
    pub(crate) path: Option<PathBuf>,
    /// The planner's configuration: the one place a forced access path is read.
    pub(crate) paths: PathChoice,
    /// The warm-up a large store runs in the background after opening, shared by the handles.
    pub(crate) background: Arc<Background>,
    /// The single write calls waiting for a group commit, shared by the handles.
    pub(crate) commits: Arc<CommitQueue>,
}

/// The warm-up a store with many dialogs runs on a thread of its own after opening (see
/// [`Builder::background_warm_up`](crate::Builder::background_warm_up)): it builds what
/// [`DialogStore::warm_up`] builds while the first queries take paths that need none of it.
/// The thread holds the store only through a weak reference between its attempts; the last
/// handle's drop (and [`DialogStore::compact`]) waits for it to end.
#[derive(Default)]
pub(crate) struct Background {
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Background {
    /// Starts warming `storage` up if it holds more dialogs than a query may build columns
    /// for.
    pub(crate) fn start(storage: &Arc<Storage>) -> Background {
        let weak = Arc::downgrade(storage);
        let warm = move || {
            // A commit in flight keeps a snapshot from knowing its version: try again.
            for _ in 0..1_000 {
                let Some(storage) = weak.upgrade() else { return };
                match shield(|| storage.snapshot()?.warm_up()) {
                    Ok(false) => {}
                    // Done, or failed: queries build nothing then and stay correct.
                    _ => return,
                }
                drop(storage);
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        };
        let large = shield(|| Ok(storage.snapshot()?.meta()?.live_total()))
            .is_ok_and(|n| n > crate::query::COLUMN_BUILD_MAX_DIALOGS);
        let thread = large
            .then(|| std::thread::Builder::new().name("dialogstore-warm-up".into()).spawn(warm))
            .and_then(Result::ok);
        Background { thread: std::sync::Mutex::new(thread) }
    }

    /// Waits for the warm-up to end.
    pub(crate) fn wait(&self) {
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.wait();
    }
}

impl std::fmt::Debug for DialogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DialogStore")
            .field("app_id", &self.settings.app_id)
            .field("muc_domain", &self.settings.muc_domain)
            .finish()
    }
}

impl DialogStore {
    /// Runs `f` inside [`shield`], naming this store's file in a storage error.
    pub(crate) fn guard<R>(&self, f: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
        shield(f).map_err(|e| self.failed(e))
    }

    /// A call's error: noted by the storage (a failure there reopens the file on the next
    /// call), naming this store's file.
    fn failed(&self, e: Error) -> Error {
        self.storage.note(&e);
        e.in_file(self.path.as_deref())
    }

    /// [`shield_calling`], naming this store's file in a storage error.
    pub(crate) fn guard_calling<R>(
        &self,
        f: impl FnOnce(&mut Caller) -> Result<R, Error>,
    ) -> Result<R, Error> {
        shield_calling(f).map_err(|e| self.failed(e))
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
            settings: self.settings.clone(),
            path: self.path.clone(),
            paths,
            background: self.background.clone(),
            commits: self.commits.clone(),
        }
    }

    /// Rewrites the store file without the free pages that copy-on-write leaves behind, so a
    /// store that was bulk-loaded or churned shrinks to what it holds. Takes a while on a large
    /// store and needs the store to itself (`&mut`): run it after a bulk load, not while
    /// serving. Returns whether anything was compacted. Fails with `STORAGE` while a handle
    /// made by [`with_path_choice`](DialogStore::with_path_choice) shares the store.
    pub fn compact(&mut self) -> Result<bool, Error> {
        self.background.wait();
        let Some(storage) = Arc::get_mut(&mut self.storage) else {
            return Err(Error::storage(std::io::Error::other(
                "compact needs the store to itself, and another handle shares it",
            )));
        };
        shield(|| storage.compact()).map_err(|e| self.failed(e))
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
        if !row.visible_to(user) {
            return Err(Error::AccessDenied { id, user });
        }
        let unread = snap.unread(user.0, rid)?;
        crate::dialog::to_dialog(&row, Some(unread))
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
        let (plan, preds, keyset) = self.plan_page(&snap, user, query)?;
        let mut outcome = exec::execute(&snap, &plan, &preds)?;
        let mut next_cursor = None;
        if let Some(fingerprint) = keyset {
            if outcome.page.len() > query.limit as usize {
                outcome.page.truncate(query.limit as usize);
                let last = outcome.page.last().map(|(_, row)| plan.order.key_from_row(row));
                next_cursor = last.map(|key| keyset::encode(fingerprint, &key));
            }
        }
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
            next_cursor,
            keyset: query.cursor.is_some(),
        })
    }

    /// What changed for `user` after `cursor`: at most `limit` entries (1 to 1,000) of dialogs
    /// to upsert and ids to drop, the cursor of the next call, and whether more are waiting.
    ///
    /// A client that starts from [`ChangeCursor::start`] and applies every answer in turn
    /// until `has_more` is false holds exactly what `list_dialogs` with no conditions pages
    /// through for `user`, unread counts included, whatever writes happened before and between
    /// the calls. A cursor older than the history the store keeps
    /// ([`Builder::change_history`](crate::Builder::change_history)) is `CURSOR_EXPIRED`; one
    /// made by another store or for another user is `CURSOR_INVALID`.
    ///
    /// ```
    /// use dialogstore::{ChangeCursor, DialogStore, NewDialog, UserId};
    /// let store = DialogStore::in_memory()?;
    /// let (me, you) = (UserId(1), UserId(2));
    /// store.create_dialog(me, NewDialog::group("New Year party", [you]))?;
    /// let first = store.changes_since(you, &ChangeCursor::start(), 100)?;
    /// assert_eq!(first.dialogs.len(), 1);
    /// // Nothing changed since.
    /// let again = store.changes_since(you, &first.next, 100)?;
    /// assert!(again.dialogs.is_empty() && again.removed.is_empty() && !again.has_more);
    /// # Ok::<(), dialogstore::Error>(())
    /// ```
    pub fn changes_since(
        &self,
        user: UserId,
        cursor: &ChangeCursor,
        limit: usize,
    ) -> Result<Changes, Error> {
        self.guard(|| {
            let snap = self.storage.snapshot()?;
            // The full scan, the oracle of the query paths, walks the whole log here too.
            let store_wide = self.paths == PathChoice::FullScan;
            let build = crate::query::may_build_columns(self.paths, snap.meta()?);
            let answer = feed::changes_since(&snap, user, &cursor.0, limit, (store_wide, build))?;
            let mut dialogs = Vec::with_capacity(answer.dialogs.len());
            for (rid, row) in answer.dialogs {
                let unread = if row.is_public() { 0 } else { snap.unread(user.0, rid)? };
                dialogs.push(crate::dialog::to_dialog(&row, Some(unread))?);
            }
            Ok(Changes {
                dialogs,
                removed: answer.removed,
                next: ChangeCursor(answer.next),
                has_more: answer.has_more,
            })
        })
    }

    /// `user`'s unread messages: in all their dialogs (`total`, a kept sum: reading it costs
    /// the same for a user in three dialogs or in a hundred thousand), and in each of `ids`, or
    /// with no ids in every dialog where they have any. An id the user cannot see is an error,
    /// as for `get_dialog` (`NOT_FOUND`, `ACCESS_ERROR`); a public dialog has none unread.
    ///
    /// ```
    /// use dialogstore::{DialogStore, MessageMeta, NewDialog, UserId};
    /// let store = DialogStore::in_memory()?;
    /// let d = store.create_dialog(UserId(1), NewDialog::group("Team", [UserId(2)]))?;
    /// let msg = MessageMeta { id: "m1".into(), text: "hi".into(), date_sent: 1567971414 };
    /// store.record_message(d.id, UserId(1), msg)?;
    /// let unread = store.unread_counts(UserId(2), &[])?;
    /// assert_eq!((unread.total, unread.get(d.id)), (1, Some(1)));
    /// assert_eq!(serde_json::to_string(&unread).unwrap(), format!(r#"{{"total":1,"{}":1}}"#, d.id));
    /// # Ok::<(), dialogstore::Error>(())
    /// ```
    pub fn unread_counts(&self, user: UserId, ids: &[DialogId]) -> Result<UnreadCounts, Error> {
        self.guard(|| {
            let snap = self.storage.snapshot()?;
            let total = snap.unread_total(user.0)?;
            let mut dialogs = Vec::with_capacity(ids.len());
            if ids.is_empty() {
                for entry in snap.unread_of(user.0)? {
                    let (rid, n) = entry?;
                    dialogs.push((DialogId(snap.live_row(rid)?.id), n));
                }
            }
            for id in ids {
                let (rid, row) = snap.find(id)?.ok_or(Error::NotFound { id: *id })?;
                if !row.visible_to(user) {
                    return Err(Error::AccessDenied { id: *id, user });
                }
                dialogs.push((*id, if row.is_public() { 0 } else { snap.unread(user.0, rid)? }));
            }
            Ok(UnreadCounts { total, dialogs })
        })
    }

    /// The plan the store chooses for `query` as `user`, executed, with what it read.
    pub fn explain(&self, user: UserId, query: &Query) -> Result<Explain, Error> {
        self.guard(|| self.explain_plan(user, query))
    }

    fn explain_plan(&self, user: UserId, query: &Query) -> Result<Explain, Error> {
        let snap = self.storage.snapshot()?;
        let (plan, preds, _) = self.plan_page(&snap, user, query)?;
        let outcome = exec::execute(&snap, &plan, &preds)?;
        // A cursor page reads one more than its limit; explain says the limit asked for.
        Ok(Explain { limit: query.limit, ..exec::explain(query, plan, outcome) })
    }

    /// The plan of `query`'s page, and with `cursor=` the fingerprint its cursors carry: keyset
    /// paging reads one more than the page, to know whether another follows, from after the
    /// cursor's dialog.
    fn plan_page(
        &self,
        snap: &Snapshot,
        user: UserId,
        query: &Query,
    ) -> Result<(Plan, Vec<Pred>, Option<u32>), Error> {
        let Some(cursor) = query.cursor.as_ref().filter(|_| !query.count) else {
            let (plan, preds) = self.plan(snap, user, query)?;
            return Ok((plan, preds, None));
        };
        if !cursor.is_empty() && query.skip != 0 {
            let kind = crate::lang::QueryErrorKind::SkipWithCursor;
            return Err(crate::lang::QueryError::new("skip", Default::default(), kind).into());
        }
        let fingerprint = keyset::fingerprint(query);
        let after = match cursor.is_empty() {
            true => None,
            false => Some(keyset::decode(cursor, fingerprint)?),
        };
        // `skip` is 0 with a non-empty cursor, and pages the first page as asked.
        let paged = Query { limit: query.limit.saturating_add(1), ..query.clone() };
        let (mut plan, preds) = self.plan(snap, user, &paged)?;
        plan.after = after;
        Ok((plan, preds, Some(fingerprint)))
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
        let mut stats = self.guard(|| self.storage.stats(self.path.as_deref()))?;
        (stats.group_commits, stats.grouped_writes) = self.commits.counts();
        Ok(stats)
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
