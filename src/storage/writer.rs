//! The one write path. Every change to rows, indexes, counters and classes goes through a
//! [`Writer`], inside one redb write transaction.
//!
//! Bitmap changes are collected per chunk and applied by [`Writer::finish`], which reads and
//! rewrites each touched chunk once, in key order, so a batch of a thousand creates rewrites the
//! type bitmap once, not a thousand times. Private-pair entries, unread counters and the meta
//! counters are kept in memory and written back the same way, in key order; time-index entries
//! are written as they change. The user-bitmap entries and private pairs of staged rows go to
//! the staging instead ([`Staging`]), and the commit that fills the staging window writes them
//! all (the seal).
//!
//! Its length is deliberate: every table a commit touches is changed here and only here, so the
//! invariants between rows, indexes, counters and the staging are kept in one reviewable place.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};

use rustc_hash::FxBuildHasher;
use std::sync::Arc;

use redb::{ReadableTable, ReadableTableMetadata, Table, WriteTransaction};
use roaring::RoaringBitmap;
use smallvec::SmallVec;

use super::cache::CommitChanges;
use super::codec::row_seq;
use super::codec::{decode_bitmap, encode_bitmap, encode_live, encode_row, StoredRow};
use super::meta::{Meta, FORMAT, FORMAT_V1, FORMAT_V2};
use super::orders::{FeedMove, OrderKeys, OrderMove};
use super::read;
use super::staging::{Changes, StagedRow, Staging};
use super::tables;
use super::RowId;
use crate::error::Error;
use crate::index::TimeIndex;
use crate::index::{chunk_of, BitmapKey, IndexEntries};
use crate::model::Row;
use crate::model::{CustomClass, DialogId};

/// A key of the pair table: the chunk of the row, the lower and the higher user id.
type PairKey = (u16, u64, u64);

/// The changes a transaction makes to one bitmap chunk, in order: `(row, added)`. The chunk is
/// read and rewritten only by [`Writer::finish`], in key order, so a batch's chunk reads and
/// writes walk the table once instead of jumping about it per operation.
type ChunkOps = SmallVec<[(u32, bool); 2]>;

/// A private pair this transaction looked up: the row holding it when first read (from the
/// staged pairs or the table) and now.
struct PairSlot {
    was: Option<u32>,
    rid: Option<u32>,
}

/// A write transaction's view of the store: typed tables, the meta counters and a cache of the
/// bitmap chunks it touched.
pub(crate) struct Writer<'t> {
    meta: Meta,
    meta_table: Table<'t, &'static str, u64>,
    rows: Table<'t, u32, &'static [u8]>,
    ids: Table<'t, &'static [u8; 12], u32>,
    pairs: Table<'t, (u16, u64, u64), u32>,
    unread: Table<'t, (u64, u32), u32>,
    classes: Table<'t, &'static str, &'static [u8]>,
    bitmaps: Table<'t, &'static [u8], &'static [u8]>,
    times: [Table<'t, (i64, u32), ()>; 4],
    changes: Table<'t, (u64, u32), u8>,
    public_changes: Table<'t, (u64, u32), u8>,
    user_changes: Table<'t, (u64, u32, u64), u8>,
    user_changes_by_user: Table<'t, (u64, u64, u32), u8>,
    /// The change log of this commit: each row written, with its [`tables::CHANGES`] bits.
    logged: BTreeMap<u32, u8>,
    /// Change-log entries of earlier commits that rows written now leave.
    unlogged: Vec<(u64, u32)>,
    /// Per-user changes of this commit: (row, user) → kind.
    user_logged: BTreeMap<(u32, u64), u8>,
    /// Commits of per-user changes to keep (`Builder::change_history`).
    history: u64,
    chunks: HashMap<(BitmapKey, u16), ChunkOps, FxBuildHasher>,
    changed: bool,
    /// Live rows read or written by this transaction, by row id.
    live: std::cell::RefCell<HashMap<u32, Arc<Row>, FxBuildHasher>>,
    /// Unread counters changed by this transaction, written once by `finish`.
    counters: HashMap<(u64, u32), u32, FxBuildHasher>,
    /// The counters' values before this transaction, for the users' totals.
    counters_before: HashMap<(u64, u32), u32, FxBuildHasher>,
    /// Private-pair entries this transaction read or changed: the row holding the pair now, and
    /// whether `finish` must write it. A create looks its pair up and then inserts it; the
    /// second lookup is this map, and the inserts go to the table in key order.
    pairs_now: HashMap<(u64, u64), PairSlot, FxBuildHasher>,
    /// What this transaction changed, for the read cache.
    touched: CommitChanges,
    /// Whether `ids` is empty, once asked.
    ids_empty: std::cell::Cell<Option<bool>>,
    /// The user-bitmap entries and pairs of rows from `meta.staged_from` on.
    staging: &'t Staging,
    /// What this transaction changes in `staging`.
    staged: Changes,
    /// The transaction, for tables only a format change opens.
    txn: &'t WriteTransaction,
}

fn type_slot(kind: u8) -> Result<usize, Error> {
    match kind {
        1..=3 => Ok(usize::from(kind - 1)),
        _ => Err(Error::corrupted(format!("row of unknown type {kind}"))),
    }
}

/// A table [`Writer::new`] has opened, closed inside [`shield`](super::shield) if `new` does
/// not get to keep it. On a damaged file redb can panic inside `open_table` while it holds its
/// lock on the transaction's tables, which poisons the lock; closing a table already open then
/// panics too, and that second panic, during the unwinding of the first, would abort the
/// process. Caught here, it ends with the table, and the first reaches the caller's shield.
struct Opened<T>(Option<T>);

impl<T> Opened<T> {
    fn new(table: T) -> Opened<T> {
        Opened(Some(table))
    }

    fn get(&self) -> &T {
        self.0.as_ref().expect("an Opened table is there until kept or dropped")
    }

    fn keep(mut self) -> T {
        self.0.take().expect("an Opened table is there until kept or dropped")
    }
}

impl<T> Drop for Opened<T> {
    fn drop(&mut self) {
        if let Some(table) = self.0.take() {
            let _ = super::shield(|| {
                drop(table);
                Ok(())
            });
        }
    }
}

impl<'t> Writer<'t> {
    pub(crate) fn new(
        txn: &'t WriteTransaction,
        staging: &'t Staging,
        history: u64,
    ) -> Result<Writer<'t>, Error> {
        let meta_table = Opened::new(txn.open_table(tables::META)?);
        let meta = Meta::load(meta_table.get())?;
        let rows = Opened::new(txn.open_table(tables::ROWS)?);
        let ids = Opened::new(txn.open_table(tables::IDS)?);
        let pairs = Opened::new(txn.open_table(tables::PAIRS)?);
        let unread = Opened::new(txn.open_table(tables::UNREAD)?);
        let classes = Opened::new(txn.open_table(tables::CLASSES)?);
        let bitmaps = Opened::new(txn.open_table(tables::BITMAPS)?);
        let times = [
            Opened::new(txn.open_table(TimeIndex::ALL[0].table())?),
            Opened::new(txn.open_table(TimeIndex::ALL[1].table())?),
            Opened::new(txn.open_table(TimeIndex::ALL[2].table())?),
            Opened::new(txn.open_table(TimeIndex::ALL[3].table())?),
        ];
        let changes = Opened::new(txn.open_table(tables::CHANGES)?);
        let user_changes = Opened::new(txn.open_table(tables::USER_CHANGES)?);
        let public_changes = Opened::new(txn.open_table(tables::PUBLIC_CHANGES)?);
        let by_user = Opened::new(txn.open_table(tables::USER_CHANGES_BY_USER)?);
        Ok(Writer {
            meta,
            meta_table: meta_table.keep(),
            rows: rows.keep(),
            ids: ids.keep(),
            pairs: pairs.keep(),
            unread: unread.keep(),
            classes: classes.keep(),
            bitmaps: bitmaps.keep(),
            times: times.map(Opened::keep),
            changes: changes.keep(),
            user_changes: user_changes.keep(),
            public_changes: public_changes.keep(),
            user_changes_by_user: by_user.keep(),
            logged: BTreeMap::new(),
            unlogged: Vec::new(),
            user_logged: BTreeMap::new(),
            history,
            chunks: HashMap::default(),
            changed: false,
            live: std::cell::RefCell::new(HashMap::default()),
            counters: HashMap::default(),
            counters_before: HashMap::default(),
            pairs_now: HashMap::default(),
            touched: CommitChanges::default(),
            ids_empty: std::cell::Cell::new(None),
            staging,
            staged: Changes::default(),
            txn,
        })
    }

    /// Moves the pairs of a format-1 store into the pair table keyed by chunk.
    fn move_v1_pairs(&mut self) -> Result<(), Error> {
        let mut moved = Vec::new();
        {
            let old = self.txn.open_table(tables::PAIRS_V1)?;
            for entry in old.range::<(u64, u64)>(..)? {
                let (pair, rid) = entry?;
                moved.push((pair.value(), rid.value()));
            }
        }
        for ((lo, hi), rid) in moved {
            self.pairs.insert((chunk_of(rid), lo, hi), rid)?;
        }
        self.txn.delete_table(tables::PAIRS_V1)?;
        self.meta.format = FORMAT;
        self.changed = true;
        Ok(())
    }

    /// The meta counters as this transaction has them.
    pub(crate) fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The staged entries of the live staged rows (from `meta.staged_from` on), to rebuild the
    /// staging from.
    pub(crate) fn staged_rows(&self) -> Result<Vec<StagedRow>, Error> {
        read::staged_rows(&self.rows, self.meta.staged_from)
    }

    /// Initializes a new store, or checks that an existing one has a format this build reads.
    pub(crate) fn check_format(&mut self) -> Result<(), Error> {
        match self.meta.format {
            0 => {
                let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
                self.meta = Meta {
                    format: FORMAT,
                    store_tag: random as u32,
                    created_sorted: true,
                    max_created: i64::MIN,
                    ..Meta::default()
                };
                self.changed = true;
                Ok(())
            }
            FORMAT => Ok(()),
            FORMAT_V2 => {
                self.meta.format = FORMAT;
                self.changed = true;
                Ok(())
            }
            FORMAT_V1 => self.move_v1_pairs(),
            other => Err(Error::corrupted(format!(
                "store file format {other}; this build reads format {FORMAT}"
            ))),
        }
    }

    /// Applies the collected bitmap changes and writes the chunks, private pairs and unread
    /// counters (each in key order) and the meta counters; seals the staged entries if the
    /// staged rows fill the window. Called once, before commit; returns what the transaction
    /// changed, for the read cache and for the staging.
    pub(crate) fn finish(mut self) -> Result<(CommitChanges, Changes), Error> {
        let mut table_pairs = self.place_pairs();
        let staged_rows = self.meta.next_row - self.meta.staged_from;
        let sealed = if staged_rows > 0 && staged_rows >= self.staging.window() {
            self.seal(&mut table_pairs)
        } else {
            Vec::new()
        };
        // In key order: neighbouring keys share B-tree pages, which stay hot.
        let mut chunks: Vec<_> = std::mem::take(&mut self.chunks)
            .into_iter()
            .map(|((key, number), ops)| (key.chunk_key(number), key, ops))
            .collect();
        chunks.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (bytes, key, ops) in chunks {
            let mut bitmap = read::chunk(&self.bitmaps, &bytes)?.unwrap_or_default();
            let mut changes = ops;
            changes
                .retain(|(rid, add)| if *add { bitmap.insert(*rid) } else { bitmap.remove(*rid) });
            if changes.is_empty() {
                continue;
            }
            if bitmap.is_empty() {
                self.bitmaps.remove(bytes.as_slice())?;
            } else {
                self.bitmaps.insert(bytes.as_slice(), encode_bitmap(&bitmap).as_slice())?;
            }
            self.touched.bits(key, changes);
        }
        self.write_sealed(sealed)?;
        for (key, holder) in &table_pairs {
            match holder {
                Some(rid) => self.pairs.insert(key, rid)?,
                None => self.pairs.remove(key)?,
            };
        }
        let written = table_pairs.iter().filter(|(_, holder)| holder.is_some());
        self.staging.in_table(written.map(|((_, lo, hi), _)| (*lo, *hi)));
        // Unread counters, in key order: zero is stored as no entry.
        let mut counters: Vec<_> = std::mem::take(&mut self.counters).into_iter().collect();
        counters.sort_unstable_by_key(|(key, _)| *key);
        // Each user's total moves by the sum of their counters' changes.
        let mut totals: BTreeMap<u64, i64> = BTreeMap::new();
        for ((user, rid), n) in &counters {
            let before = self.counters_before.get(&(*user, *rid)).copied().unwrap_or(0);
            *totals.entry(*user).or_default() += i64::from(*n) - i64::from(before);
        }
        self.touched.totals = totals.into_iter().filter(|(_, delta)| *delta != 0).collect();
        for ((user, rid), n) in counters {
            if n == 0 {
                self.unread.remove((user, rid))?;
            } else {
                self.unread.insert((user, rid), n)?;
            }
            self.touched.unread(user, rid, n);
        }
        if self.changed {
            self.write_log()?;
            self.meta.seq += 1;
            self.meta.save(&mut self.meta_table)?;
            self.touched.meta = Some(self.meta.clone());
        }
        Ok((self.touched, self.staged))
    }

    /// The commit this transaction will be: the number of every change it logs.
    fn this_commit(&self) -> u64 {
        self.meta.seq + 1
    }

    /// Writes `bytes` as row `rid` (whose live state was `old` and is now `new`) and logs the
    /// change: the row's entry moves from the commit that wrote it last to this one, in the
    /// log and in the feeds of its occupants before and after.
    fn put_row(
        &mut self,
        rid: RowId,
        bytes: &[u8],
        bits: u8,
        (old, new): (Option<&Row>, Option<&Row>),
    ) -> Result<(), Error> {
        let before = self.rows.insert(rid.0, bytes)?.map(|old| row_seq(old.value()));
        let now = self.this_commit();
        if let Some(seq) = before.filter(|seq| *seq != 0 && *seq != now) {
            self.unlogged.push((seq, rid.0));
        }
        self.logged.insert(rid.0, bits);
        let users = |row: Option<&Row>| row.map(|r| r.occupants.clone()).filter(|u| !u.is_empty());
        let (old, new) = (users(old), users(new));
        if old.is_some() || new.is_some() {
            let old = old.map(|users| (before.unwrap_or(0), users));
            let new = new.map(|users| (now, users));
            self.touched.feeds.push(FeedMove { rid: rid.0, old, new });
        }
        Ok(())
    }

    /// Writes this commit's change log and forgets per-user changes older than the history.
    fn write_log(&mut self) -> Result<(), Error> {
        let seq = self.this_commit();
        // In key order: neighbouring entries share B-tree pages.
        let mut unlogged = std::mem::take(&mut self.unlogged);
        unlogged.sort_unstable();
        for key in unlogged {
            let bits = self.changes.remove(key)?.map(|b| b.value());
            if bits.is_some_and(|b| b & tables::CHANGED_PUBLIC != 0) {
                self.public_changes.remove(key)?;
            }
        }
        for (rid, bits) in std::mem::take(&mut self.logged) {
            self.changes.insert((seq, rid), bits)?;
            if bits & tables::CHANGED_PUBLIC != 0 {
                self.public_changes.insert((seq, rid), bits)?;
            }
        }
        for ((rid, user), kind) in std::mem::take(&mut self.user_logged) {
            self.user_changes.insert((seq, rid, user), kind)?;
            self.user_changes_by_user.insert((user, seq, rid), kind)?;
        }
        // Trimmed in steps, so a commit removes a run of old entries at once.
        let horizon = seq.saturating_sub(self.history);
        if horizon >= self.meta.history_from + (self.history / 16).max(1) {
            let mut gone = Vec::new();
            // Commits below the horizon: a cursor at the horizon (a commit it has read part
            // of) still finds every entry after it.
            self.user_changes.retain_in(..(horizon, 0, 0), |key, _| {
                gone.push(key);
                false
            })?;
            gone.sort_unstable_by_key(|(seq, rid, user)| (*user, *seq, *rid));
            for (seq, rid, user) in gone {
                self.user_changes_by_user.remove((user, seq, rid))?;
            }
            self.meta.history_from = horizon;
        }
        Ok(())
    }

    /// Notes a change only `user` sees in the dialog at `rid`.
    fn log_user(&mut self, user: u64, rid: RowId, kind: u8) {
        let slot = self.user_logged.entry((rid.0, user)).or_insert(kind);
        // Leaving says more than reading: the client drops the dialog.
        *slot = (*slot).min(kind);
    }

    /// Adds sealed rows to their users' chunks: `(user, row)`, each once. The rows were staged,
    /// so the read cache has them already and nothing is noted for it. Most of these chunks are
    /// new: the new rows are written at once and the old chunk, if any, comes back from the
    /// insert, so a new chunk costs one B-tree descent instead of a read and a write.
    fn write_sealed(&mut self, mut postings: Vec<(u64, u32)>) -> Result<(), Error> {
        // In key order: the chunk, then the user.
        postings.sort_unstable_by_key(|(user, rid)| (chunk_of(*rid), *user, *rid));
        let same_chunk =
            |a: &(u64, u32), b: &(u64, u32)| a.0 == b.0 && chunk_of(a.1) == chunk_of(b.1);
        for group in postings.chunk_by(same_chunk) {
            let (user, first) = group[0];
            let key = BitmapKey::User(user).chunk_key(chunk_of(first));
            let rows = group.iter().map(|(_, rid)| *rid);
            let fresh = RoaringBitmap::from_sorted_iter(rows.clone()).unwrap_or_default();
            let old = self.bitmaps.insert(key.as_slice(), encode_bitmap(&fresh).as_slice())?;
            let Some(old) = old.map(|guard| guard.value().to_vec()) else { continue };
            let what = || read::describe_key(&key);
            let mut bitmap = decode_bitmap(&old, chunk_of(first), &what)?;
            bitmap.extend(rows);
            self.bitmaps.insert(key.as_slice(), encode_bitmap(&bitmap).as_slice())?;
        }
        Ok(())
    }

    /// Sorts the pairs this transaction changed into those of rows in the table, returned as
    /// table entries in key order (`None`: remove), and those of staged rows, which go to the
    /// staging.
    fn place_pairs(&mut self) -> BTreeMap<PairKey, Option<u32>> {
        let staged_from = self.meta.staged_from;
        let staged = |rid: Option<u32>| rid.filter(|rid| *rid >= staged_from);
        let in_table = |rid: Option<u32>| rid.filter(|rid| *rid < staged_from);
        let mut table = BTreeMap::new();
        for ((lo, hi), slot) in self.pairs_now.drain().filter(|(_, slot)| slot.was != slot.rid) {
            if let Some(was) = in_table(slot.was) {
                table.insert((chunk_of(was), lo, hi), None);
            }
            if let Some(now) = in_table(slot.rid) {
                table.insert((chunk_of(now), lo, hi), Some(now));
            }
            if staged(slot.rid).is_some() || staged(slot.was).is_some() {
                self.staged.pairs.push(((lo, hi), staged(slot.rid)));
            }
        }
        table
    }

    /// Moves every staged entry (as of the end of this transaction) to the tables: the pairs
    /// into `table_pairs`, and the user postings returned, for [`Writer::write_sealed`]. Staging
    /// starts again at the next row.
    fn seal(&mut self, table_pairs: &mut BTreeMap<PairKey, Option<u32>>) -> Vec<(u64, u32)> {
        let (pairs, postings) = self.staging.current(std::mem::take(&mut self.staged));
        table_pairs
            .extend(pairs.into_iter().map(|((lo, hi), rid)| ((chunk_of(rid), lo, hi), Some(rid))));
        self.meta.staged_from = self.meta.next_row;
        self.staged.sealed_at = Some(self.meta.next_row);
        self.changed = true;
        postings
    }

    // ---- reads inside the transaction ----

    /// The live dialog with this id.
    pub(crate) fn find(&self, id: &DialogId) -> Result<Option<(RowId, Arc<Row>)>, Error> {
        read::resolve_id(
            id,
            self.meta.store_tag,
            |rid| self.row_if_live(rid),
            || Ok(self.ids.get(id.as_bytes())?.map(|g| RowId(g.value()))),
        )
    }

    /// The row at `rid` if it is a live dialog: as this transaction last wrote or read it, or
    /// read now and kept.
    fn row_if_live(&self, rid: RowId) -> Result<Option<Arc<Row>>, Error> {
        if let Some(row) = self.live.borrow().get(&rid.0) {
            return Ok(Some(row.clone()));
        }
        Ok(match read::row(&self.rows, rid)? {
            Some(StoredRow::Live(row)) => Some(self.remember(rid, row)),
            _ => None,
        })
    }

    /// Keeps a row read in this transaction, so more work on it does not read and decode it
    /// again (a busy dialog gets many messages in one batch).
    fn remember(&self, rid: RowId, row: Row) -> Arc<Row> {
        let row = Arc::new(row);
        self.live.borrow_mut().insert(rid.0, row.clone());
        row
    }

    /// The live private dialog between two users.
    pub(crate) fn private_pair(
        &mut self,
        a: u64,
        b: u64,
    ) -> Result<Option<(RowId, Arc<Row>)>, Error> {
        let Some(rid) = self.pair_holder((a.min(b), a.max(b)))?.map(RowId) else {
            return Ok(None);
        };
        if let Some(row) = self.live.borrow().get(&rid.0) {
            return Ok(Some((rid, row.clone())));
        }
        let row = read::live_row(&self.rows, rid)?;
        Ok(Some((rid, self.remember(rid, row))))
    }

    /// The row holding a private pair in this transaction; a pair read from the staged pairs
    /// or the table is kept.
    fn pair_holder(&mut self, pair: (u64, u64)) -> Result<Option<u32>, Error> {
        if let Some(slot) = self.pairs_now.get(&pair) {
            return Ok(slot.rid);
        }
        let rid = match self.staging.pair(pair) {
            Some(rid) => Some(rid),
            None if self.staging.table_may_hold(pair, || read::pair_keys(&self.pairs))? => {
                self.table_pair(pair)?
            }
            None => None,
        };
        self.pairs_now.insert(pair, PairSlot { was: rid, rid });
        Ok(rid)
    }

    /// The row holding a pair in the pair table: each chunk's entry, newest chunk first (the
    /// table holds the pairs of rows before `staged_from` only).
    fn table_pair(&self, (lo, hi): (u64, u64)) -> Result<Option<u32>, Error> {
        let Some(last) = self.meta.staged_from.checked_sub(1) else { return Ok(None) };
        for chunk in (0..=chunk_of(last)).rev() {
            if let Some(rid) = self.pairs.get((chunk, lo, hi))? {
                return Ok(Some(rid.value()));
            }
        }
        Ok(None)
    }

    pub(crate) fn unread(&self, user: u64, rid: RowId) -> Result<u32, Error> {
        match self.counters.get(&(user, rid.0)) {
            Some(n) => Ok(*n),
            None => read::unread(&self.unread, user, rid),
        }
    }

    pub(crate) fn class(&self, name: &str) -> Result<Option<CustomClass>, Error> {
        read::class(&self.classes, name)
    }

    /// Whether the imported-id table is empty (asked once per transaction, then kept up to date).
    fn no_imports(&self) -> Result<bool, Error> {
        if let Some(empty) = self.ids_empty.get() {
            return Ok(empty);
        }
        let empty = self.ids.is_empty()?;
        self.ids_empty.set(Some(empty));
        Ok(empty)
    }

    /// The row id and id the next inserted dialog gets: seconds from `created_at`, then the store
    /// tag and the row id. If an imported dialog already holds that id, the seconds move on.
    pub(crate) fn next_id(&self, created_at: i64) -> Result<(RowId, DialogId), Error> {
        let rid = RowId(self.meta.next_row);
        let mut secs = created_at.clamp(0, i64::from(u32::MAX)) as u32;
        loop {
            let mut id = [0u8; 12];
            id[..4].copy_from_slice(&secs.to_be_bytes());
            id[4..8].copy_from_slice(&self.meta.store_tag.to_be_bytes());
            id[8..].copy_from_slice(&rid.0.to_be_bytes());
            // Only an imported id can collide with a generated one; most stores import nothing.
            if self.no_imports()? || self.ids.get(&id)?.is_none() {
                return Ok((rid, DialogId(id)));
            }
            secs = secs.wrapping_add(1);
        }
    }

    // ---- changes ----

    /// Appends a dialog at the next row id, with all its index entries; returns its row id and
    /// the row, shared with the read cache.
    pub(crate) fn insert(&mut self, row: Row) -> Result<(RowId, Arc<Row>), Error> {
        let rid = RowId(self.meta.next_row);
        let next = rid.0.checked_add(1).ok_or_else(|| Error::corrupted("row ids exhausted"))?;
        let id = DialogId(row.id);
        let imported = read::embedded_row(&id, self.meta.store_tag) != Some(rid);
        if imported {
            if self.ids.insert(&row.id, rid.0)?.is_some() {
                return Err(Error::corrupted(format!("id {id} inserted twice")));
            }
            self.ids_empty.set(Some(false));
        }
        let bits = if row.is_public() { tables::CHANGED_PUBLIC } else { 0 };
        self.put_row(rid, &encode_live(&row, self.this_commit()), bits, (None, Some(&row)))?;
        self.apply(rid, IndexEntries::of(&row), true)?;
        self.moved(rid, None, Some(&row));
        let row = Arc::new(row);
        self.live.borrow_mut().insert(rid.0, row.clone());
        self.touched.row(rid.0, Some(row.clone()));
        self.meta.next_row = next;
        self.meta.live[type_slot(row.kind)?] += 1;
        if row.created_at >= self.meta.max_created {
            self.meta.max_created = row.created_at;
        } else {
            self.meta.created_sorted = false;
        }
        self.changed = true;
        Ok((rid, row))
    }

    /// Replaces a live dialog, moving only the index entries that differ; returns the new row,
    /// shared with the read cache.
    pub(crate) fn replace(&mut self, rid: RowId, old: &Row, new: Row) -> Result<Arc<Row>, Error> {
        debug_assert_eq!(old.id, new.id);
        debug_assert_eq!(old.kind, new.kind);
        let (removed, added) = IndexEntries::change(old, &new);
        self.apply(rid, removed, false)?;
        self.apply(rid, added, true)?;
        self.moved(rid, Some(old), Some(&new));
        // Users who left lose their unread counters.
        for user in old.occupants.iter().filter(|u| new.occupants.binary_search(u).is_err()) {
            let now = self.unread(user.0, rid)?;
            self.set_counter(user.0, rid, now, 0);
            self.log_user(user.0, rid, tables::USER_LEFT);
        }
        let bits = if new.is_public() { tables::CHANGED_PUBLIC } else { 0 };
        self.put_row(rid, &encode_live(&new, self.this_commit()), bits, (Some(old), Some(&new)))?;
        let new = Arc::new(new);
        self.live.borrow_mut().insert(rid.0, new.clone());
        self.touched.row(rid.0, Some(new.clone()));
        self.changed = true;
        Ok(new)
    }

    /// Turns a live dialog into a tombstone and removes its index entries and counters.
    pub(crate) fn delete(&mut self, rid: RowId, old: &Row) -> Result<(), Error> {
        self.apply(rid, IndexEntries::of(old), false)?;
        self.moved(rid, Some(old), None);
        for user in old.occupants.iter() {
            let now = self.unread(user.0, rid)?;
            self.set_counter(user.0, rid, now, 0);
            self.log_user(user.0, rid, tables::USER_LEFT);
        }
        let id = DialogId(old.id);
        if read::embedded_row(&id, self.meta.store_tag) != Some(rid) {
            self.ids.remove(&old.id)?;
        }
        let public = if old.is_public() { tables::CHANGED_PUBLIC } else { 0 };
        let tombstone = encode_row(&StoredRow::Deleted { id: old.id }, self.this_commit());
        self.put_row(rid, &tombstone, tables::CHANGED_DELETED | public, (Some(old), None))?;
        self.live.borrow_mut().remove(&rid.0);
        self.touched.row(rid.0, None);
        let slot = &mut self.meta.live[type_slot(old.kind)?];
        *slot = slot.saturating_sub(1);
        self.changed = true;
        Ok(())
    }

    /// Sets `user`'s unread counter in a dialog from `now` (its value in this transaction) to
    /// `n`, remembering the value before the transaction for the user's total: `now` itself
    /// when this transaction had not changed it yet.
    fn set_counter(&mut self, user: u64, rid: RowId, now: u32, n: u32) {
        self.counters_before.entry((user, rid.0)).or_insert(now);
        self.counters.insert((user, rid.0), n);
    }

    /// Adds `n` unread messages for `user` in a dialog.
    pub(crate) fn add_unread(&mut self, user: u64, rid: RowId, n: u32) -> Result<(), Error> {
        let now = self.unread(user, rid)?;
        self.set_counter(user, rid, now, now.saturating_add(n));
        self.changed = true;
        Ok(())
    }

    /// Sets `user`'s unread messages in a dialog to zero.
    pub(crate) fn clear_unread(&mut self, user: u64, rid: RowId) -> Result<(), Error> {
        let now = self.unread(user, rid)?;
        if now > 0 {
            self.set_counter(user, rid, now, 0);
            self.log_user(user, rid, tables::USER_READ);
            self.changed = true;
        }
        Ok(())
    }

    /// Stores a class declaration.
    pub(crate) fn put_class(&mut self, class: &CustomClass) -> Result<(), Error> {
        self.classes.insert(class.name.as_str(), read::encode_class(class).as_slice())?;
        self.changed = true;
        Ok(())
    }

    fn apply(&mut self, rid: RowId, entries: IndexEntries, add: bool) -> Result<(), Error> {
        let staged = rid.0 >= self.meta.staged_from;
        for key in entries.bitmaps {
            match key {
                BitmapKey::User(user) if staged => {
                    self.staged.users.push((user, rid.0, add));
                    self.touched.bits(key, [(rid.0, add)]);
                }
                key => self.set_bit(key, rid, add),
            }
        }
        for (index, time) in &entries.times {
            let table = &mut self.times[index.slot()];
            if add {
                table.insert((*time, rid.0), ())?;
            } else {
                table.remove((*time, rid.0))?;
            }
            if index.is_public() {
                self.touched.public_times.push((*index, (*time, rid.0), add));
            }
        }
        if let Some(pair) = entries.pair {
            let held = self.pair_holder(pair)?;
            let now = if add {
                if let Some(other) = held.filter(|other| *other != rid.0) {
                    return Err(Error::corrupted(format!(
                        "private pair {pair:?} already held by row {other}"
                    )));
                }
                Some(rid.0)
            } else if held == Some(rid.0) {
                None
            } else {
                held
            };
            if let Some(slot) = self.pairs_now.get_mut(&pair) {
                slot.rid = now;
            }
        }
        Ok(())
    }

    /// Notes a row's move in its occupants' orderings (public dialogs have no occupants).
    fn moved(&mut self, rid: RowId, old: Option<&Row>, new: Option<&Row>) {
        let keys = |row: Option<&Row>| row.filter(|r| !r.occupants.is_empty()).map(OrderKeys::of);
        let (old, new) = (keys(old), keys(new));
        let unchanged = match (&old, &new) {
            (Some(a), Some(b)) => a.same_place(b),
            (None, None) => true,
            _ => false,
        };
        if !unchanged {
            self.touched.orders.push(OrderMove { rid: rid.0, old, new });
        }
    }

    fn set_bit(&mut self, key: BitmapKey, rid: RowId, add: bool) {
        self.chunks.entry((key, chunk_of(rid.0))).or_default().push((rid.0, add));
    }
}

#[cfg(test)]
mod tests {
    use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

    use super::tables;
    use crate::{DialogStore, NewDialog, UserId};

    /// A store of file format 1 (pairs keyed by the pair alone) opens with its pairs moved into
    /// the pair table keyed by chunk, and finds them.
    #[test]
    fn a_format_1_store_has_its_pairs_moved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.redb");
        let open = || DialogStore::builder().staged_rows(1).open(&path).unwrap();
        let first = {
            let store = open();
            let first = store.create_dialog(UserId(1), NewDialog::private(UserId(2))).unwrap();
            store.create_dialog(UserId(3), NewDialog::private(UserId(1))).unwrap();
            first
        };
        // Back to format 1: the pairs in the old table, the format number 1.
        {
            let db = redb::Database::open(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let new = txn.open_table(tables::PAIRS).unwrap();
                let mut old = txn.open_table(tables::PAIRS_V1).unwrap();
                for entry in new.range::<(u16, u64, u64)>(..).unwrap() {
                    let (key, rid) = entry.unwrap();
                    let (_, lo, hi) = key.value();
                    old.insert((lo, hi), rid.value()).unwrap();
                }
                txn.open_table(tables::META).unwrap().insert("format", 1).unwrap();
            }
            txn.delete_table(tables::PAIRS).unwrap();
            txn.commit().unwrap();
            let read = db.begin_read().unwrap();
            assert_eq!(read.open_table(tables::PAIRS_V1).unwrap().len().unwrap(), 2);
        }
        let store = open();
        assert!(store.check_integrity().unwrap().is_clean());
        let again = store.create_dialog(UserId(2), NewDialog::private(UserId(1))).unwrap();
        assert_eq!(again.id, first.id, "the moved pair is found");
        assert_eq!(store.stats().unwrap().private_dialogs, 2);
        drop(store);
        let db = redb::Database::open(&path).unwrap();
        let read = db.begin_read().unwrap();
        assert!(read.open_table(tables::PAIRS_V1).is_err(), "the old table is gone");
        assert_eq!(
            read.open_table(tables::META).unwrap().get("format").unwrap().unwrap().value(),
            super::FORMAT
        );
    }

    /// A store of file format 2 (before the change log: rows without the commit that wrote
    /// them) opens as format 3, and its change feed lists and then follows its dialogs.
    #[test]
    fn a_format_2_store_opens_with_a_change_log() {
        use crate::storage::codec::{encode, StoredRow};
        use crate::{ChangeCursor, MessageMeta};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.redb");
        let open = || DialogStore::builder().open(&path).unwrap();
        let group = open().create_dialog(UserId(1), NewDialog::group("a", [UserId(2)])).unwrap();
        {
            let db = redb::Database::open(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut rows = txn.open_table(tables::ROWS).unwrap();
                let row = super::read::row(&rows, super::RowId(0)).unwrap().unwrap();
                assert!(matches!(row, StoredRow::Live(_)));
                rows.insert(0, encode(&row).as_slice()).unwrap();
                txn.open_table(tables::META).unwrap().insert("format", 2).unwrap();
                txn.delete_table(tables::CHANGES).unwrap();
                txn.delete_table(tables::USER_CHANGES).unwrap();
            }
            txn.commit().unwrap();
        }
        let store = open();
        assert!(store.check_integrity().unwrap().is_clean());
        let first = store.changes_since(UserId(2), &ChangeCursor::start(), 10).unwrap();
        assert_eq!(first.dialogs.len(), 1);
        let msg = MessageMeta { id: "m".into(), text: "hi".into(), date_sent: 5 };
        store.record_message(group.id, UserId(1), msg).unwrap();
        let next = store.changes_since(UserId(2), &first.next, 10).unwrap();
        assert_eq!(next.dialogs.len(), 1);
        assert_eq!(next.dialogs[0].unread_messages_count, Some(1));
    }
}
