//! A read snapshot: one committed state of the store, with every table open for reading.
//!
//! Readers never block the writer and see the last commit made before the snapshot began, so a
//! dialog is in an index result if and only if it is in the table at that snapshot.
//!
//! Past 500 lines with its unit tests (about 160 of them), which check snapshots against commits.

use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::sync::Arc;

use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, ReadableTableMetadata};
use roaring::RoaringBitmap;

use super::cache::{Cache, CacheVersion};
use super::cached::{stream_entries, Filter, PublicStreams};
use super::codec::{decode_bitmap, decode_row, StoredRow};
use super::columns::{Column, ColumnKey};
use super::meta::Meta;
use super::orders::{TimeOrder, UserOrder};
use super::read;
use super::staging::Staging;
use super::tables;
use super::RowId;
use crate::error::Error;
use crate::index::BitmapKey;
use crate::index::TimeIndex;
use crate::model::Direction;
use crate::model::Row;
use crate::model::{CustomClass, DialogId};

use super::cached::Entries;

type TimeEntry<'a> =
    Result<(redb::AccessGuard<'a, (i64, u32)>, redb::AccessGuard<'a, ()>), redb::StorageError>;
type PairEntry = (u16, (u64, u64), RowId);
type UnreadEntry = ((u64, RowId), u32);

/// One committed state, open for reading. Tables open on first use, and reads go through the
/// store's read cache when the snapshot knows its version (see `storage/cache.rs`).
pub(crate) struct Snapshot {
    pub(super) txn: ReadTransaction,
    cache: Arc<Cache>,
    staging: Arc<Staging>,
    view: Option<CacheVersion>,
    meta: OnceCell<Meta>,
    rows: OnceCell<ReadOnlyTable<u32, &'static [u8]>>,
    ids: OnceCell<ReadOnlyTable<&'static [u8; 12], u32>>,
    pairs: OnceCell<ReadOnlyTable<(u16, u64, u64), u32>>,
    unread: OnceCell<ReadOnlyTable<(u64, u32), u32>>,
    classes: OnceCell<ReadOnlyTable<&'static str, &'static [u8]>>,
    bitmaps: OnceCell<ReadOnlyTable<&'static [u8], &'static [u8]>>,
    times: [OnceCell<ReadOnlyTable<(i64, u32), ()>>; 4],
    changes: OnceCell<ReadOnlyTable<(u64, u32), u8>>,
    public_changes: OnceCell<ReadOnlyTable<(u64, u32), u8>>,
    user_changes: OnceCell<ReadOnlyTable<(u64, u32, u64), u8>>,
    user_changes_by_user: OnceCell<ReadOnlyTable<(u64, u64, u32), u8>>,
}

/// An entry of the change log: the commit that last wrote the row, the row, and its
/// `tables::CHANGED_*` bits.
pub(crate) type ChangeEntry = (u64, RowId, u8);

/// The entries of a change-log table (`changes`, `public_changes`) after position `after`.
fn log_after(
    table: &ReadOnlyTable<(u64, u32), u8>,
    after: (u64, u32),
) -> Result<Entries<'_, ChangeEntry>, Error> {
    use std::ops::Bound::{Excluded, Unbounded};
    let range = table.range::<(u64, u32)>((Excluded(after), Unbounded))?;
    Ok(Box::new(range.map(|entry| {
        let (k, v) = entry?;
        let (seq, rid) = k.value();
        Ok((seq, RowId(rid), v.value()))
    })))
}

/// A per-user change: the commit, the row, the user and the `tables::USER_*` kind.
pub(crate) type UserChangeEntry = (u64, RowId, u64, u8);

/// Opens a table on first use.
fn open<'s, K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    cell: &'s OnceCell<ReadOnlyTable<K, V>>,
    def: redb::TableDefinition<'static, K, V>,
) -> Result<&'s ReadOnlyTable<K, V>, Error> {
    if let Some(table) = cell.get() {
        return Ok(table);
    }
    let table = txn.open_table(def)?;
    Ok(cell.get_or_init(|| table))
}

impl Snapshot {
    pub(crate) fn new(
        txn: ReadTransaction,
        cache: Arc<Cache>,
        staging: Arc<Staging>,
        view: Option<CacheVersion>,
    ) -> Snapshot {
        Snapshot {
            txn,
            cache,
            staging,
            view,
            meta: OnceCell::new(),
            rows: OnceCell::new(),
            ids: OnceCell::new(),
            pairs: OnceCell::new(),
            unread: OnceCell::new(),
            classes: OnceCell::new(),
            bitmaps: OnceCell::new(),
            times: Default::default(),
            changes: OnceCell::new(),
            public_changes: OnceCell::new(),
            user_changes: OnceCell::new(),
            user_changes_by_user: OnceCell::new(),
        }
    }

    fn rows(&self) -> Result<&ReadOnlyTable<u32, &'static [u8]>, Error> {
        open(&self.txn, &self.rows, tables::ROWS)
    }

    fn ids(&self) -> Result<&ReadOnlyTable<&'static [u8; 12], u32>, Error> {
        open(&self.txn, &self.ids, tables::IDS)
    }

    fn pairs(&self) -> Result<&ReadOnlyTable<(u16, u64, u64), u32>, Error> {
        open(&self.txn, &self.pairs, tables::PAIRS)
    }

    fn unread_table(&self) -> Result<&ReadOnlyTable<(u64, u32), u32>, Error> {
        open(&self.txn, &self.unread, tables::UNREAD)
    }

    fn classes(&self) -> Result<&ReadOnlyTable<&'static str, &'static [u8]>, Error> {
        open(&self.txn, &self.classes, tables::CLASSES)
    }

    fn bitmap_table(&self) -> Result<&ReadOnlyTable<&'static [u8], &'static [u8]>, Error> {
        open(&self.txn, &self.bitmaps, tables::BITMAPS)
    }

    fn time_table(&self, index: TimeIndex) -> Result<&ReadOnlyTable<(i64, u32), ()>, Error> {
        open(&self.txn, &self.times[index.slot()], index.table())
    }

    /// The meta counters of this snapshot.
    pub(crate) fn meta(&self) -> Result<&Meta, Error> {
        if let Some(meta) = self.meta.get() {
            return Ok(meta);
        }
        let cached = self.view.and_then(|v| self.cache.meta(v));
        let meta = match cached {
            Some(meta) => meta,
            None => {
                let meta = Meta::load(&self.txn.open_table(tables::META)?)?;
                if let Some(view) = self.view {
                    self.cache.install_meta(view, meta.clone());
                }
                meta
            }
        };
        Ok(self.meta.get_or_init(|| meta))
    }

    /// The live row an index pointed to; an error if it is not live.
    pub(crate) fn live_row(&self, rid: RowId) -> Result<Arc<Row>, Error> {
        self.row_if_live(rid)?.ok_or_else(|| {
            Error::corrupted(format!(
                "an index points to row {}, which is not a live dialog",
                rid.0
            ))
        })
    }

    /// The row at `rid` if it is a live dialog, from the cache or redb.
    pub(crate) fn row_if_live(&self, rid: RowId) -> Result<Option<Arc<Row>>, Error> {
        if let Some(row) = self.view.and_then(|v| self.cache.row(v, rid.0)) {
            return Ok(Some(row));
        }
        let Some(StoredRow::Live(row)) = read::row(self.rows()?, rid)? else { return Ok(None) };
        let row = Arc::new(row);
        if let Some(view) = self.view {
            self.cache.install_row(view, rid.0, row.clone());
        }
        Ok(Some(row))
    }

    /// The live dialog with this id: a generated id names its row; an imported one is looked up.
    pub(crate) fn find(&self, id: &DialogId) -> Result<Option<(RowId, Arc<Row>)>, Error> {
        read::resolve_id(
            id,
            self.meta()?.store_tag,
            |rid| self.row_if_live(rid),
            || Ok(self.ids()?.get(id.as_bytes())?.map(|g| RowId(g.value()))),
        )
    }

    /// `user`'s unread messages in the dialog at `rid`, from the cache or redb.
    pub(crate) fn unread(&self, user: u64, rid: RowId) -> Result<u32, Error> {
        if let Some(n) = self.view.and_then(|v| self.cache.unread(v, user, rid.0)) {
            return Ok(n);
        }
        let n = read::unread(self.unread_table()?, user, rid)?;
        if let Some(view) = self.view {
            self.cache.install_unread(view, user, rid.0, n);
        }
        Ok(n)
    }

    /// `user`'s unread messages in all their dialogs: from the cache, or summed once from their
    /// counters (one range of the unread table: only dialogs with unread messages have an
    /// entry) and cached, after which every commit moves it.
    pub(crate) fn unread_total(&self, user: u64) -> Result<u64, Error> {
        if let Some(total) = self.view.and_then(|v| self.cache.total(v, user)) {
            return Ok(total);
        }
        let mut total = 0u64;
        for entry in self.unread_of(user)? {
            total = total.saturating_add(u64::from(entry?.1));
        }
        if let Some(view) = self.view {
            self.cache.install_total(view, user, total);
        }
        Ok(total)
    }

    /// `user`'s unread counters above zero, by row.
    pub(crate) fn unread_of(&self, user: u64) -> Result<Entries<'_, (RowId, u32)>, Error> {
        let range = self.unread_table()?.range((user, 0u32)..=(user, u32::MAX))?;
        Ok(Box::new(range.map(|entry| {
            let (k, v) = entry?;
            Ok((RowId(k.value().1), v.value()))
        })))
    }

    pub(crate) fn class(&self, name: &str) -> Result<Option<CustomClass>, Error> {
        read::class(self.classes()?, name)
    }

    /// A whole bitmap (every chunk).
    pub(crate) fn bitmap(&self, key: &BitmapKey) -> Result<Arc<RoaringBitmap>, Error> {
        if let Some(bitmap) = self.view.and_then(|v| self.cache.bitmap(v, key)) {
            return Ok(bitmap);
        }
        let next_row = self.meta()?.next_row;
        let last_chunk = crate::index::chunk_of(next_row.saturating_sub(1));
        let mut bitmap = read::bitmap(self.bitmap_table()?, key, last_chunk)?;
        if let BitmapKey::User(user) = key {
            bitmap.extend(self.staged_rows_of(*user)?);
        }
        let bitmap = Arc::new(bitmap);
        if let Some(view) = self.view {
            self.cache.install_bitmap(view, key.clone(), bitmap.clone());
        }
        Ok(bitmap)
    }

    /// The staged rows (storage/staging.rs) whose occupants include `user`, in this snapshot.
    fn staged_rows_of(&self, user: u64) -> Result<Vec<u32>, Error> {
        let meta = self.meta()?;
        if meta.staged_from == meta.next_row {
            return Ok(Vec::new());
        }
        if let Some(rows) = self.staging.rows_of(user, meta.seq, meta.staged_from) {
            return Ok(rows);
        }
        // A snapshot older than what the staging keeps: its own rows say.
        let rows = read::staged_rows(self.rows()?, meta.staged_from)?;
        Ok(rows
            .into_iter()
            .filter(|(_, users, _)| users.contains(&user))
            .map(|(rid, ..)| rid)
            .collect())
    }

    /// Every user with a staged row, and those rows: from the staging if it keeps this
    /// snapshot's commit, else from the rows.
    pub(crate) fn staged_users(&self) -> Result<Vec<(u64, Vec<u32>)>, Error> {
        let meta = self.meta()?;
        match self.staging.users_at(meta.seq, meta.staged_from) {
            Some(users) => Ok(users),
            None => self.staged_users_from_rows(),
        }
    }

    /// Every user with a staged row, and those rows, read from the staged rows themselves.
    fn staged_users_from_rows(&self) -> Result<Vec<(u64, Vec<u32>)>, Error> {
        let mut users: std::collections::BTreeMap<u64, Vec<u32>> = Default::default();
        for (rid, occupants, _) in read::staged_rows(self.rows()?, self.meta()?.staged_from)? {
            for user in occupants {
                users.entry(user).or_default().push(rid);
            }
        }
        Ok(users.into_iter().collect())
    }

    /// Whether a column is cached for this snapshot (using it costs no build).
    pub(crate) fn has_column(&self, key: &ColumnKey) -> bool {
        self.view.is_some_and(|view| self.cache.column(view, key).is_some())
    }

    /// A column of this snapshot from the cache, or built if `build` says so.
    pub(crate) fn column_if(
        &self,
        key: &ColumnKey,
        build: bool,
    ) -> Result<Option<Arc<Column>>, Error> {
        if build {
            self.column(key)
        } else {
            Ok(self.view.and_then(|view| self.cache.column(view, key)))
        }
    }

    /// A column of this snapshot, from the cache or built (and cached); `None` when the snapshot
    /// does not know its cache version (a commit was in flight as it began): building a column
    /// it could not keep would cost more than reading the rows.
    pub(crate) fn column(&self, key: &ColumnKey) -> Result<Option<Arc<Column>>, Error> {
        let Some(view) = self.view else { return Ok(None) };
        if let Some(column) = self.cache.column(view, key) {
            return Ok(Some(column));
        }
        let mut column = Column::new(key.clone(), self.meta()?.next_row);
        if let Some(index) = key.time_index() {
            for entry in self.all_times(index)? {
                let (time, rid) = entry?;
                column.set_time(rid.0, time);
            }
        } else if *key == ColumnKey::Commit {
            for entry in self.changes_after((0, 0))? {
                let (seq, rid, _) = entry?;
                column.set_time(rid.0, seq as i64);
            }
        } else {
            self.fill_data_columns(std::slice::from_mut(&mut column))?;
        }
        let column = Arc::new(column);
        self.cache.install_column(view, column.clone());
        Ok(Some(column))
    }

    /// `user`'s ordering of their own dialogs from the cache, if it is there for this snapshot.
    pub(crate) fn cached_user_order(&self, user: u64) -> Option<Arc<UserOrder>> {
        self.view.and_then(|view| self.cache.order(view, user))
    }

    /// `user`'s ordering of their own dialogs, from the cache or built from the time columns
    /// (and cached); `None` when the snapshot does not know its version, as for columns, or
    /// when the columns are not built and `build_columns` is false.
    pub(crate) fn user_order(
        &self,
        user: u64,
        build_columns: bool,
    ) -> Result<Option<Arc<UserOrder>>, Error> {
        let Some(view) = self.view else { return Ok(None) };
        if let Some(order) = self.cache.order(view, user) {
            return Ok(Some(order));
        }
        let (Some(last), Some(updated)) = (
            self.column_if(&ColumnKey::LastMessage, build_columns)?,
            self.column_if(&ColumnKey::Updated, build_columns)?,
        ) else {
            return Ok(None);
        };
        let rows = self.bitmap(&BitmapKey::User(user))?;
        // Which dialogs have a message: the column's value for "none" is also a possible date.
        let has_message = self.bitmap(&BitmapKey::HasMessage)?;
        if let Some(max) = rows.max().filter(|max| !last.covers(*max) || !updated.covers(*max)) {
            return Err(Error::corrupted(format!("user {user}'s row {max} is past the last row")));
        }
        let mut by_last = Vec::with_capacity(rows.len() as usize);
        let mut by_updated = Vec::with_capacity(rows.len() as usize);
        for rid in rows.iter() {
            if has_message.contains(rid) {
                by_last.push((last.time(rid), rid));
            }
            by_updated.push((updated.time(rid), rid));
        }
        by_last.sort_unstable();
        by_updated.sort_unstable();
        let order = Arc::new(UserOrder {
            by_last_message: Arc::new(TimeOrder::from_sorted(by_last)),
            by_updated: Arc::new(TimeOrder::from_sorted(by_updated)),
        });
        self.cache.install_order(view, user, order.clone());
        Ok(Some(order))
    }

    /// A filter of this snapshot from the cache, by the canonical text of its conditions;
    /// `None` when none is cached at or below this snapshot's version, or the snapshot does not
    /// know its version.
    pub(crate) fn filter(&self, key: &str) -> Option<Arc<Filter>> {
        self.view.and_then(|view| self.cache.filter(view, key))
    }

    /// Keeps a filter built on this snapshot for later queries (nothing, when the snapshot
    /// does not know its version or a commit has begun since).
    pub(crate) fn install_filter(&self, key: Box<str>, filter: Arc<Filter>) {
        if let Some(view) = self.view {
            self.cache.install_filter(view, key, filter);
        }
    }

    /// Fills empty custom-field columns in one pass over the rows that have any of their
    /// fields: a row is read once however many of the fields it has.
    fn fill_data_columns(&self, columns: &mut [Column]) -> Result<(), Error> {
        let mut rows = RoaringBitmap::new();
        for column in columns.iter() {
            if let ColumnKey::Data(name) = column.key() {
                rows |= &*self.bitmap(&BitmapKey::DataField(name.clone()))?;
            }
        }
        for rid in rows.iter() {
            let row = self.live_row(RowId(rid))?;
            for column in columns.iter_mut() {
                column.push_row(rid, &row);
            }
        }
        Ok(())
    }

    /// Builds what the first queries after opening would otherwise build into the read cache:
    /// the public time streams, both time columns, and the columns of the declared classes'
    /// fields not cached yet (by name, as many as the cache has room for). Returns `false`,
    /// building nothing, when this snapshot does not know its version (a commit was in flight
    /// as it began).
    pub(crate) fn warm_up(&self) -> Result<bool, Error> {
        let Some(view) = self.view else { return Ok(false) };
        self.public_streams()?;
        for key in [ColumnKey::LastMessage, ColumnKey::Updated, ColumnKey::Commit] {
            self.column(&key)?;
        }
        let names: BTreeSet<String> =
            self.all_classes()?.into_iter().flat_map(|class| class.fields.into_keys()).collect();
        let next_row = self.meta()?.next_row;
        let mut columns: Vec<Column> = names
            .into_iter()
            .map(|name| ColumnKey::Data(name.into()))
            .filter(|key| self.cache.column(view, key).is_none())
            .take(self.cache.column_room())
            .map(|key| Column::new(key, next_row))
            .collect();
        self.fill_data_columns(&mut columns)?;
        for column in columns {
            self.cache.install_column(view, Arc::new(column));
        }
        Ok(true)
    }

    /// The public time streams, from the cache or read whole.
    fn public_streams(&self) -> Result<Arc<PublicStreams>, Error> {
        if let Some(streams) = self.view.and_then(|v| self.cache.public(v)) {
            return Ok(streams);
        }
        let mut streams = PublicStreams::default();
        for (index, out) in [
            (TimeIndex::PublicLastMessage, &mut streams.by_last_message),
            (TimeIndex::PublicUpdated, &mut streams.by_updated),
        ] {
            for entry in self.time_table(index)?.range::<(i64, u32)>(..)? {
                let (k, _) = entry?;
                out.push(k.value());
            }
        }
        let streams = Arc::new(streams);
        if let Some(view) = self.view {
            self.cache.install_public(view, streams.clone());
        }
        Ok(streams)
    }

    /// About how many entries of a time index fall in `[lo, hi]`: exact for the public streams
    /// (cached), otherwise the tree's size times the share of its time span the range covers.
    pub(crate) fn estimate_range(&self, index: TimeIndex, lo: i64, hi: i64) -> Result<u64, Error> {
        if lo > hi {
            return Ok(0);
        }
        if index.is_public() {
            return Ok(self.public_streams()?.range(index, lo, hi).len() as u64);
        }
        let table = self.time_table(index)?;
        let (Some((first, _)), Some((last, _))) = (table.first()?, table.last()?) else {
            return Ok(0);
        };
        let (tmin, tmax) = (first.value().0, last.value().0);
        // redb keeps each tree's length in its root: no count to derive.
        let size = table.len()?;
        let (from, to) = (lo.max(tmin), hi.min(tmax));
        if from > to {
            return Ok(0);
        }
        // In floating point: the times may span all of i64.
        let span = (tmax as f64 - tmin as f64).max(1.0);
        Ok(((to as f64 - from as f64) / span * size as f64).ceil() as u64 + 1)
    }

    /// The time of the `k`-th entry (from 0) of a public stream over `[lo, hi]` in `dir` order,
    /// if it has that many.
    pub(crate) fn public_nth(
        &self,
        index: TimeIndex,
        (lo, hi): (i64, i64),
        k: usize,
        dir: Direction,
    ) -> Result<Option<i64>, Error> {
        let streams = self.public_streams()?;
        let range = streams.range(index, lo, hi);
        let at = match dir {
            Direction::Asc => range.start.checked_add(k).filter(|at| *at < range.end),
            Direction::Desc => range.end.checked_sub(k + 1).filter(|at| *at >= range.start),
        };
        Ok(at.map(|at| streams.get(index)[at].0))
    }

    /// Entries `(time, row)` of a time index with `lo <= time <= hi`, ascending or descending.
    pub(crate) fn walk(
        &self,
        index: TimeIndex,
        lo: i64,
        hi: i64,
        dir: Direction,
    ) -> Result<Entries<'_, (i64, RowId)>, Error> {
        if lo > hi {
            return Ok(Box::new(std::iter::empty()));
        }
        if index.is_public() {
            // A range of the cached stream, iterated without copying it.
            let streams = self.public_streams()?;
            let range = streams.range(index, lo, hi);
            return Ok(stream_entries(range, dir, move |i| streams.get(index)[i]));
        }
        let range = self.time_table(index)?.range((lo, 0u32)..=(hi, u32::MAX))?;
        let map = |entry: TimeEntry<'_>| {
            let (k, _) = entry?;
            let (t, r) = k.value();
            Ok((t, RowId(r)))
        };
        Ok(match dir {
            Direction::Asc => Box::new(range.map(map)),
            Direction::Desc => Box::new(range.rev().map(map)),
        })
    }

    /// The change log after position `after` (commit, row), in order.
    pub(crate) fn changes_after(
        &self,
        after: (u64, u32),
    ) -> Result<Entries<'_, ChangeEntry>, Error> {
        log_after(open(&self.txn, &self.changes, tables::CHANGES)?, after)
    }

    /// The change-log entries of public dialogs after position `after` (commit, row), in order.
    pub(crate) fn public_changes_after(
        &self,
        after: (u64, u32),
    ) -> Result<Entries<'_, ChangeEntry>, Error> {
        log_after(open(&self.txn, &self.public_changes, tables::PUBLIC_CHANGES)?, after)
    }

    /// `user`'s own per-user changes after position `after` (commit, row), in order.
    pub(crate) fn changes_of_user(
        &self,
        user: u64,
        after: (u64, u32),
    ) -> Result<Entries<'_, UserChangeEntry>, Error> {
        use std::ops::Bound::{Excluded, Included};
        let table = open(&self.txn, &self.user_changes_by_user, tables::USER_CHANGES_BY_USER)?;
        let from = Excluded((user, after.0, after.1));
        let range = table.range::<(u64, u64, u32)>((from, Included((user, u64::MAX, u32::MAX))))?;
        Ok(Box::new(range.map(move |entry| {
            let (k, v) = entry?;
            let (_, seq, rid) = k.value();
            Ok((seq, RowId(rid), user, v.value()))
        })))
    }

    /// Every per-user change by user first, as stored: (user, commit, row, kind).
    pub(crate) fn all_changes_by_user(&self) -> Result<Entries<'_, (u64, u64, u32, u8)>, Error> {
        let table = open(&self.txn, &self.user_changes_by_user, tables::USER_CHANGES_BY_USER)?;
        Ok(Box::new(table.range::<(u64, u64, u32)>(..)?.map(|entry| {
            let (k, v) = entry?;
            let (user, seq, rid) = k.value();
            Ok((user, seq, rid, v.value()))
        })))
    }

    /// `user`'s change feed: `(commit, row)` of every dialog they occupy by the commit that
    /// wrote it last, from the cache or built from the commit column (and cached); `None`
    /// when the snapshot does not know its version, or the column is not built and `build`
    /// is false.
    pub(crate) fn user_feed(
        &self,
        user: u64,
        build: bool,
    ) -> Result<Option<Arc<TimeOrder>>, Error> {
        let Some(view) = self.view else { return Ok(None) };
        if let Some(feed) = self.cache.feed(view, user) {
            return Ok(Some(feed));
        }
        let Some(commits) = self.column_if(&ColumnKey::Commit, build)? else { return Ok(None) };
        let rows = self.bitmap(&BitmapKey::User(user))?;
        if let Some(max) = rows.max().filter(|max| !commits.covers(*max)) {
            return Err(Error::corrupted(format!("row {max} is past the commit column")));
        }
        let mut entries: Vec<(i64, u32)> =
            rows.iter().map(|rid| (commits.time(rid).max(0), rid)).collect();
        entries.sort_unstable();
        let feed = Arc::new(TimeOrder::from_sorted(entries));
        self.cache.install_feed(view, user, feed.clone());
        Ok(Some(feed))
    }

    /// The per-user changes (of every user) after position `after` (commit, row), in order.
    pub(crate) fn user_changes_after(
        &self,
        after: (u64, u32),
    ) -> Result<Entries<'_, UserChangeEntry>, Error> {
        use std::ops::Bound::{Excluded, Unbounded};
        let table = open(&self.txn, &self.user_changes, tables::USER_CHANGES)?;
        let from = (after.0, after.1, u64::MAX);
        let range = table.range::<(u64, u32, u64)>((Excluded(from), Unbounded))?;
        Ok(Box::new(range.map(|entry| {
            let (k, v) = entry?;
            let (seq, rid, user) = k.value();
            Ok((seq, RowId(rid), user, v.value()))
        })))
    }

    /// The dialog id at `rid`, live or deleted (`None` if no row has that id).
    pub(crate) fn id_at(&self, rid: RowId) -> Result<Option<DialogId>, Error> {
        if let Some(row) = self.view.and_then(|v| self.cache.row(v, rid.0)) {
            return Ok(Some(DialogId(row.id)));
        }
        Ok(read::row(self.rows()?, rid)?.map(|stored| match stored {
            StoredRow::Live(row) => DialogId(row.id),
            StoredRow::Deleted { id } => DialogId(id),
        }))
    }

    /// Every stored row, live or tombstone, in row-id order.
    pub(crate) fn all_rows(
        &self,
    ) -> Result<impl Iterator<Item = Result<(RowId, StoredRow), Error>> + '_, Error> {
        Ok(self.rows()?.range::<u32>(..)?.map(|entry| {
            let (k, v) = entry?;
            let rid = k.value();
            Ok((RowId(rid), decode_row(rid, v.value())?))
        }))
    }

    /// Every stored row with the commit that wrote it last (0 before the change log), in
    /// row-id order.
    pub(crate) fn all_rows_with_commits(
        &self,
    ) -> Result<Entries<'_, (RowId, StoredRow, u64)>, Error> {
        Ok(Box::new(self.rows()?.range::<u32>(..)?.map(|entry| {
            let (k, v) = entry?;
            let rid = k.value();
            Ok((RowId(rid), decode_row(rid, v.value())?, super::codec::row_seq(v.value())))
        })))
    }

    /// Every bitmap chunk as stored: (key bytes, decoded bitmap).
    pub(crate) fn all_bitmaps(
        &self,
    ) -> Result<impl Iterator<Item = Result<(Vec<u8>, RoaringBitmap), Error>> + '_, Error> {
        Ok(self.bitmap_table()?.range::<&[u8]>(..)?.map(|entry| {
            let (k, v) = entry?;
            let key = k.value().to_vec();
            let bitmap =
                decode_bitmap(v.value(), read::key_chunk(&key), &|| read::describe_key(&key))?;
            Ok((key, bitmap))
        }))
    }

    /// Every entry of a time index in ascending order.
    pub(crate) fn all_times(
        &self,
        index: TimeIndex,
    ) -> Result<impl Iterator<Item = Result<(i64, RowId), Error>> + '_, Error> {
        Ok(self.time_table(index)?.range::<(i64, u32)>(..)?.map(|entry| {
            let (k, _) = entry?;
            let (t, r) = k.value();
            Ok((t, RowId(r)))
        }))
    }

    /// Every private-pair entry.
    pub(crate) fn all_pairs(
        &self,
    ) -> Result<impl Iterator<Item = Result<PairEntry, Error>> + '_, Error> {
        Ok(self.pairs()?.range::<(u16, u64, u64)>(..)?.map(|entry| {
            let (k, v) = entry?;
            let (chunk, lo, hi) = k.value();
            Ok((chunk, (lo, hi), RowId(v.value())))
        }))
    }

    /// Every unread counter.
    pub(crate) fn all_unread(
        &self,
    ) -> Result<impl Iterator<Item = Result<UnreadEntry, Error>> + '_, Error> {
        Ok(self.unread_table()?.range::<(u64, u32)>(..)?.map(|entry| {
            let (k, v) = entry?;
            let (u, r) = k.value();
            Ok(((u, RowId(r)), v.value()))
        }))
    }

    /// Every declared class name with its encoded declaration.
    pub(crate) fn all_classes(&self) -> Result<Vec<CustomClass>, Error> {
        let mut out = Vec::new();
        for entry in self.classes()?.range::<&str>(..)? {
            let (k, v) = entry?;
            out.push(read::decode_class(k.value(), v.value())?);
        }
        Ok(out)
    }

    /// Every entry of the imported-id table.
    pub(crate) fn all_ids(
        &self,
    ) -> Result<impl Iterator<Item = Result<([u8; 12], RowId), Error>> + '_, Error> {
        Ok(self.ids()?.range::<&[u8; 12]>(..)?.map(|entry| {
            let (k, v) = entry?;
            Ok((*k.value(), RowId(v.value())))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::cache::CommitChanges;
    use crate::storage::Storage;

    /// Inserts a group row with these occupants; returns its row id.
    fn insert_group(storage: &Storage, occupants: Vec<u64>) -> u32 {
        storage
            .write(|w| {
                let id = w.next_id(0)?.1;
                w.insert(Row {
                    id: id.0,
                    occupants: occupants.into_iter().map(crate::model::UserId).collect(),
                    ..Row::sample()
                })
                .map(|(rid, _)| rid.0)
            })
            .unwrap()
    }

    fn rows_of_user(snap: &Snapshot, user: u64) -> Vec<u32> {
        snap.bitmap(&BitmapKey::User(user)).unwrap().iter().collect()
    }

    #[test]
    fn snapshots_see_a_users_rows_as_of_their_commit_across_seals() {
        // A seal every three rows: the first snapshots' generations are gone by the end, so
        // they read their staged rows from the rows; the last ones read the staging.
        let storage = Storage::in_memory(1 << 20, 3).unwrap();
        let mut snaps = Vec::new();
        let mut want = Vec::new();
        for i in 0..11 {
            let rid = insert_group(&storage, if i % 2 == 0 { vec![7] } else { vec![8] });
            if i % 2 == 0 {
                want.push(rid);
            }
            snaps.push((storage.snapshot().unwrap(), want.clone()));
        }
        let last = &snaps.last().unwrap().0;
        assert!(last.meta().unwrap().staged_from > 0, "rows were sealed");
        assert!(last.meta().unwrap().staged_from < 11, "rows are staged");
        for (n, (snap, want)) in snaps.iter().enumerate() {
            assert_eq!(&rows_of_user(snap, 7), want, "snapshot after insert {n}");
            let report = crate::storage::integrity::check(snap).unwrap();
            assert!(report.is_clean(), "snapshot after insert {n}: {report}");
        }
    }

    #[test]
    fn a_stale_staging_is_rebuilt_from_the_rows_by_the_next_write() {
        let storage = Storage::in_memory(1 << 20, 100).unwrap();
        insert_group(&storage, vec![7]);
        insert_group(&storage, vec![7, 8]);
        // A commit applied its changes to the staging and never reached redb: the staging holds
        // rows that are not there.
        let seq = storage.snapshot().unwrap().meta().unwrap().seq + 1;
        let bogus = super::super::staging::Changes {
            users: vec![(7, 40, true), (8, 0, true)],
            ..Default::default()
        };
        storage.staging().commit(seq, bogus);
        insert_group(&storage, vec![8]);
        let snap = storage.snapshot().unwrap();
        assert_eq!(rows_of_user(&snap, 7), [0, 1]);
        assert_eq!(rows_of_user(&snap, 8), [1, 2]);
        assert!(crate::storage::integrity::check(&snap).unwrap().is_clean());
    }

    #[test]
    fn warm_up_installs_the_streams_and_time_columns() {
        let storage = Storage::in_memory(1 << 20, super::super::DEFAULT_STAGED_ROWS).unwrap();
        let keys = [ColumnKey::LastMessage, ColumnKey::Updated];
        let snap = storage.snapshot().unwrap();
        let view = snap.view.unwrap();
        assert!(keys.iter().all(|k| storage.cache().column(view, k).is_none()));
        assert!(storage.cache().public(view).is_none());
        assert!(snap.warm_up().unwrap());
        assert!(keys.iter().all(|k| storage.cache().column(view, k).is_some()));
        assert!(storage.cache().public(view).is_some());
    }

    /// A store with `fields` integer fields declared on class `C`, and 300 groups whose data
    /// has every third field from one that depends on the group (so rows have some fields, not
    /// all, and the last field no row has).
    fn store_with_fields(fields: usize) -> crate::DialogStore {
        use crate::{CustomClass, CustomData, DataValue, FieldType, NewDialog, UserId};
        let store = crate::DialogStore::in_memory().unwrap();
        let class = (0..fields)
            .fold(CustomClass::new("C"), |c, f| c.field(format!("f{f:02}"), FieldType::Integer));
        store.declare_class(&class).unwrap();
        store
            .write(|b| {
                for i in 0..300usize {
                    let data = (i % 3..fields.saturating_sub(1))
                        .step_by(3)
                        .fold(CustomData::new("C"), |d, f| {
                            d.field(format!("f{f:02}"), DataValue::Integer((i * f) as i64))
                        });
                    let new = NewDialog::group(format!("g{i}"), [UserId(1)]).data(data);
                    b.create_dialog(UserId(1), new)?;
                }
                Ok(())
            })
            .unwrap();
        store
    }

    #[test]
    fn warm_up_builds_the_declared_fields_columns_as_a_query_would() {
        let store = store_with_fields(5);
        let snap = store.storage.snapshot().unwrap();
        let view = snap.view.unwrap();
        let keys: Vec<ColumnKey> =
            (0..5).map(|f| ColumnKey::Data(format!("f{f:02}").into())).collect();
        assert!(keys.iter().all(|k| store.storage.cache().column(view, k).is_none()));
        assert!(snap.warm_up().unwrap());
        for key in &keys {
            let warmed = store.storage.cache().column(view, key).expect("warm_up built it");
            // As `column` builds it alone on first use.
            let mut alone = Column::new(key.clone(), snap.meta().unwrap().next_row);
            snap.fill_data_columns(std::slice::from_mut(&mut alone)).unwrap();
            assert_eq!(*warmed, alone, "{key:?}");
        }
        // f00..f03 are set on some rows, f04 on none: its column is empty, but built.
        let f00 = store.storage.cache().column(view, &keys[0]).unwrap();
        assert_ne!(*f00, Column::new(keys[0].clone(), snap.meta().unwrap().next_row));
    }

    #[test]
    fn warm_up_builds_no_more_data_columns_than_the_cache_keeps() {
        let store = store_with_fields(20);
        let snap = store.storage.snapshot().unwrap();
        let view = snap.view.unwrap();
        assert!(snap.warm_up().unwrap());
        let cached = |f: usize| {
            store
                .storage
                .cache()
                .column(view, &ColumnKey::Data(format!("f{f:02}").into()))
                .is_some()
        };
        // Two time columns, the commit column and thirteen fields, the first by name: nothing
        // was dropped.
        assert!([ColumnKey::LastMessage, ColumnKey::Updated, ColumnKey::Commit]
            .iter()
            .all(|k| { store.storage.cache().column(view, k).is_some() }));
        assert!((0..13).all(cached));
        assert!(!(13..20).any(cached));
        assert_eq!(store.storage.cache().column_room(), 0);
    }

    #[test]
    fn warm_up_during_a_commit_builds_nothing() {
        let storage = Storage::in_memory(1 << 20, super::super::DEFAULT_STAGED_ROWS).unwrap();
        let removed = storage.cache().begin_commit(&CommitChanges::default());
        let snap = storage.snapshot().unwrap();
        assert!(!snap.warm_up().unwrap());
        storage.cache().end_commit(CommitChanges::default(), removed, true);
        let view = storage.snapshot().unwrap().view.unwrap();
        assert!(storage.cache().column(view, &ColumnKey::LastMessage).is_none());
    }
}
