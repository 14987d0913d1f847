//! A read cache over redb that never shows a reader anything but its own snapshot.
//!
//! Redb's own page cache still costs far more per point read and per B-tree entry walked
//! than an inbox page of a hundred dialogs can spend. So the
//! decoded values queries read most (rows, whole bitmaps, the public time streams, the meta
//! counters, and the unread counters pages show) are kept here, each tagged with the **version**
//! at which it became current; so are the in-memory columns and the filters that queries build
//! from them (see [`Filter`]).
//!
//! # Versions and snapshots
//!
//! `epoch` is a seqlock over commits: even while no commit is in flight, odd while one is. The
//! writer, for every commit that changes data:
//!
//! 1. takes the lock, makes `epoch` odd and removes every entry the commit touches;
//! 2. commits to redb;
//! 3. takes the lock, installs the new values of touched entries that were cached (so hot data
//!    stays hot) tagged with the new version, and makes `epoch` even again.
//!
//! A reader reads `epoch`, begins its redb read transaction, and reads `epoch` again. Equal and
//! even means no commit started or ended in between, so its snapshot is version `epoch / 2`; it
//! may then use any entry tagged at or below that version. An entry tagged `v` holds the value of
//! every snapshot from `v` until the next commit that touches it, because that commit removes it
//! before it becomes visible. Otherwise (a commit was in flight) the reader does not know its
//! version and reads redb directly for this query. A reader that read a value from redb installs
//! it only if `epoch` still equals its own, under the lock, so it can never install a value an
//! in-flight or later commit has made stale.
//!
//! Past 500 lines with its unit tests (about 235 of them), which run readers against commits.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use roaring::RoaringBitmap;
use smallvec::SmallVec;

use super::cached::{Filter, PublicStreams};
use super::columns::{Column, ColumnKey};
use super::meta::Meta;
use super::orders::{FeedMove, OrderMove, TimeOrder, UserOrder};
use super::versioned::{Map, Versioned};
use crate::index::BitmapKey;
use crate::index::TimeIndex;
use crate::model::Row;

/// Changes one commit made, for invalidation and for installing new values.
#[derive(Debug, Default)]
pub(crate) struct CommitChanges {
    /// New row values (`None`: deleted), the last write of each row.
    rows: HashMap<u32, Option<Arc<Row>>, FxBuildHasher>,
    /// Rows added to (`true`) or removed from bitmaps, by key, in order: each a change to the
    /// bitmap, in the table or in the staging (storage/staging.rs). A cached whole bitmap takes
    /// them as they are; replacing a chunk's range with the table's chunk would drop the staged
    /// rows in it.
    bits: HashMap<BitmapKey, SmallVec<[(u32, bool); 2]>, FxBuildHasher>,
    /// Unread counters written: `(user, row)` and the new count (zero: no entry).
    unread: Vec<((u64, u32), u32)>,
    /// Public time entries added (`true`) or removed, in order.
    pub public_times: Vec<(TimeIndex, (i64, u32), bool)>,
    /// The meta counters after the commit.
    pub meta: Option<Meta>,
    /// Rows moved in their occupants' orderings (`orders.rs`), in write order.
    pub orders: Vec<OrderMove>,
    /// Rows written, as their occupants' change feeds see them, in write order.
    pub feeds: Vec<FeedMove>,
    /// How each user's total of unread messages moved.
    pub totals: Vec<(u64, i64)>,
}

impl CommitChanges {
    /// Notes a row's new value (`None`: deleted); a later write of the same row replaces it.
    pub(crate) fn row(&mut self, rid: u32, row: Option<Arc<Row>>) {
        self.rows.insert(rid, row);
    }

    /// Notes rows added to (`true`) or removed from a bitmap.
    pub(crate) fn bits(&mut self, key: BitmapKey, changes: impl IntoIterator<Item = (u32, bool)>) {
        self.bits.entry(key).or_default().extend(changes);
    }

    /// Notes an unread counter's new value.
    pub(crate) fn unread(&mut self, user: u64, rid: u32, n: u32) {
        self.unread.push(((user, rid), n));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
            && self.bits.is_empty()
            && self.unread.is_empty()
            && self.public_times.is_empty()
            && self.meta.is_none()
            && self.orders.is_empty()
            && self.feeds.is_empty()
            && self.totals.is_empty()
    }
}

/// The read cache of one store.
pub(crate) struct Cache {
    epoch: AtomicU64,
    /// Serializes installs against the writer's commit protocol.
    lock: Mutex<()>,
    rows: Map<u32, Arc<Row>>,
    bitmaps: Map<BitmapKey, Arc<RoaringBitmap>>,
    /// Unread counters by `(user, row)`, zero included (most rows of a page have no entry, and
    /// a B-tree lookup that finds nothing costs as much as one that finds a count).
    unread: Map<(u64, u32), u32>,
    /// Users' totals of unread messages, summed once from their counters and then moved by
    /// every commit.
    totals: Map<u64, u64>,
    public: RwLock<Option<Versioned<Arc<PublicStreams>>>>,
    meta: RwLock<Option<Versioned<Meta>>>,
    columns: RwLock<HashMap<ColumnKey, Versioned<Arc<Column>>, FxBuildHasher>>,
    /// Filters by the canonical text of their conditions.
    filters: RwLock<HashMap<Box<str>, Versioned<Arc<Filter>>, FxBuildHasher>>,
    /// Users' orderings of their own dialogs (`orders.rs`), for users in many dialogs.
    orders: RwLock<HashMap<u64, Versioned<Arc<UserOrder>>, FxBuildHasher>>,
    /// Entries all kept orderings may hold; installing one past it drops them all.
    order_entries: usize,
    /// Users' change feeds: `(commit, row)` of each dialog they occupy, by the commit that
    /// wrote it last (`query/feed.rs`), within the same budget of entries as the orderings.
    feeds: RwLock<HashMap<u64, Versioned<Arc<TimeOrder>>, FxBuildHasher>>,
}

/// Columns kept at most; installing one more drops them all (each is rebuilt when next needed).
const MAX_COLUMNS: usize = 16;

/// Filters kept at most; installing one more drops them all.
const MAX_FILTERS: usize = 32;

/// Rows all kept filters hold at most (each costs about 40 bytes: its date entries and its
/// bit), so they stay within about 160 MB whatever the conditions; installing a filter that
/// would pass it drops them all, and a filter larger than this is used by its query only.
const MAX_FILTER_ROWS: u64 = 4_000_000;

/// What a reader knows of the cache: the version of its snapshot, if it could tell.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CacheVersion {
    version: u64,
}

impl Cache {
    /// A cache for about `rows` rows, `bitmaps` bitmaps, `unread` unread counters and
    /// `order_entries` entries of users' orderings.
    pub(crate) fn new(rows: usize, bitmaps: usize, unread: usize, order_entries: usize) -> Cache {
        Cache {
            epoch: AtomicU64::new(0),
            lock: Mutex::new(()),
            rows: Map::new(rows),
            bitmaps: Map::new(bitmaps),
            unread: Map::new(unread),
            totals: Map::new(unread / 8 + 1),
            public: RwLock::new(None),
            meta: RwLock::new(None),
            columns: RwLock::new(HashMap::default()),
            filters: RwLock::new(HashMap::default()),
            orders: RwLock::new(HashMap::default()),
            order_entries,
            feeds: RwLock::new(HashMap::default()),
        }
    }

    /// Call before beginning a read transaction: the epoch to hand to [`Cache::view`].
    pub(crate) fn before_read(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Call after beginning the read transaction: the reader's version, if no commit started or
    /// ended since [`Cache::before_read`].
    pub(crate) fn view(&self, before: u64) -> Option<CacheVersion> {
        let after = self.epoch.load(Ordering::Acquire);
        (before == after && before.is_multiple_of(2))
            .then_some(CacheVersion { version: before / 2 })
    }

    fn installable(&self, view: CacheVersion) -> Option<std::sync::MutexGuard<'_, ()>> {
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        (self.epoch.load(Ordering::Acquire) == view.version * 2).then_some(guard)
    }

    pub(crate) fn row(&self, view: CacheVersion, rid: u32) -> Option<Arc<Row>> {
        self.rows.get(&rid, view.version)
    }

    pub(crate) fn install_row(&self, view: CacheVersion, rid: u32, row: Arc<Row>) {
        if let Some(_guard) = self.installable(view) {
            self.rows.insert(rid, view.version, row);
        }
    }

    pub(crate) fn bitmap(&self, view: CacheVersion, key: &BitmapKey) -> Option<Arc<RoaringBitmap>> {
        self.bitmaps.get(key, view.version)
    }

    pub(crate) fn install_bitmap(
        &self,
        view: CacheVersion,
        key: BitmapKey,
        bitmap: Arc<RoaringBitmap>,
    ) {
        if let Some(_guard) = self.installable(view) {
            self.bitmaps.insert(key, view.version, bitmap);
        }
    }

    pub(crate) fn unread(&self, view: CacheVersion, user: u64, rid: u32) -> Option<u32> {
        self.unread.get(&(user, rid), view.version)
    }

    pub(crate) fn install_unread(&self, view: CacheVersion, user: u64, rid: u32, n: u32) {
        if let Some(_guard) = self.installable(view) {
            self.unread.insert((user, rid), view.version, n);
        }
    }

    pub(crate) fn total(&self, view: CacheVersion, user: u64) -> Option<u64> {
        self.totals.get(&user, view.version)
    }

    pub(crate) fn install_total(&self, view: CacheVersion, user: u64, total: u64) {
        if let Some(_guard) = self.installable(view) {
            self.totals.insert(user, view.version, total);
        }
    }

    pub(crate) fn public(&self, view: CacheVersion) -> Option<Arc<PublicStreams>> {
        let public = self.public.read().unwrap_or_else(|e| e.into_inner());
        public.as_ref().filter(|p| p.version <= view.version).map(|p| p.value.clone())
    }

    pub(crate) fn install_public(&self, view: CacheVersion, streams: Arc<PublicStreams>) {
        if let Some(_guard) = self.installable(view) {
            *self.public.write().unwrap_or_else(|e| e.into_inner()) =
                Some(Versioned { version: view.version, value: streams });
        }
    }

    pub(crate) fn meta(&self, view: CacheVersion) -> Option<Meta> {
        let meta = self.meta.read().unwrap_or_else(|e| e.into_inner());
        meta.as_ref().filter(|m| m.version <= view.version).map(|m| m.value.clone())
    }

    pub(crate) fn install_meta(&self, view: CacheVersion, meta: Meta) {
        if let Some(_guard) = self.installable(view) {
            *self.meta.write().unwrap_or_else(|e| e.into_inner()) =
                Some(Versioned { version: view.version, value: meta });
        }
    }

    pub(crate) fn column(&self, view: CacheVersion, key: &ColumnKey) -> Option<Arc<Column>> {
        let columns = self.columns.read().unwrap_or_else(|e| e.into_inner());
        columns.get(key).filter(|c| c.version <= view.version).map(|c| c.value.clone())
    }

    /// How many more columns fit before installing one drops them all.
    pub(crate) fn column_room(&self) -> usize {
        MAX_COLUMNS.saturating_sub(self.columns.read().unwrap_or_else(|e| e.into_inner()).len())
    }

    pub(crate) fn install_column(&self, view: CacheVersion, column: Arc<Column>) {
        if let Some(_guard) = self.installable(view) {
            let mut columns = self.columns.write().unwrap_or_else(|e| e.into_inner());
            if columns.len() >= MAX_COLUMNS && !columns.contains_key(column.key()) {
                columns.clear();
            }
            columns
                .insert(column.key().clone(), Versioned { version: view.version, value: column });
        }
    }

    pub(crate) fn filter(&self, view: CacheVersion, key: &str) -> Option<Arc<Filter>> {
        let filters = self.filters.read().unwrap_or_else(|e| e.into_inner());
        filters.get(key).filter(|f| f.version <= view.version).map(|f| f.value.clone())
    }

    pub(crate) fn install_filter(&self, view: CacheVersion, key: Box<str>, filter: Arc<Filter>) {
        if filter.rows() > MAX_FILTER_ROWS {
            return;
        }
        if let Some(_guard) = self.installable(view) {
            let mut filters = self.filters.write().unwrap_or_else(|e| e.into_inner());
            filters.remove(&key);
            let rows: u64 = filters.values().map(|f| f.value.rows()).sum();
            if filters.len() >= MAX_FILTERS || rows + filter.rows() > MAX_FILTER_ROWS {
                filters.clear();
            }
            filters.insert(key, Versioned { version: view.version, value: filter });
        }
    }

    pub(crate) fn order(&self, view: CacheVersion, user: u64) -> Option<Arc<UserOrder>> {
        let orders = self.orders.read().unwrap_or_else(|e| e.into_inner());
        orders.get(&user).filter(|o| o.version <= view.version).map(|o| o.value.clone())
    }

    pub(crate) fn install_order(&self, view: CacheVersion, user: u64, order: Arc<UserOrder>) {
        if order.entries() > self.order_entries {
            return;
        }
        if let Some(_guard) = self.installable(view) {
            let mut orders = self.orders.write().unwrap_or_else(|e| e.into_inner());
            orders.remove(&user);
            // Past the budget, orderings go (in the map's order, which is as good as random)
            // until the new one fits: the busy users' orderings come straight back.
            let held: usize = orders.values().map(|o| o.value.entries()).sum();
            let mut excess = (held + order.entries()).saturating_sub(self.order_entries);
            if excess > 0 {
                let mut gone = Vec::new();
                for (&other, o) in orders.iter() {
                    if excess == 0 {
                        break;
                    }
                    excess = excess.saturating_sub(o.value.entries());
                    gone.push(other);
                }
                for other in gone {
                    orders.remove(&other);
                }
            }
            orders.insert(user, Versioned { version: view.version, value: order });
        }
    }

    pub(crate) fn feed(&self, view: CacheVersion, user: u64) -> Option<Arc<TimeOrder>> {
        let feeds = self.feeds.read().unwrap_or_else(|e| e.into_inner());
        feeds.get(&user).filter(|f| f.version <= view.version).map(|f| f.value.clone())
    }

    pub(crate) fn install_feed(&self, view: CacheVersion, user: u64, feed: Arc<TimeOrder>) {
        if feed.len() > self.order_entries {
            return;
        }
        if let Some(_guard) = self.installable(view) {
            let mut feeds = self.feeds.write().unwrap_or_else(|e| e.into_inner());
            feeds.remove(&user);
            // Past the budget, feeds go (in the map's order) until the new one fits.
            let held: usize = feeds.values().map(|f| f.value.len()).sum();
            let mut excess = (held + feed.len()).saturating_sub(self.order_entries);
            feeds.retain(|_, f| {
                let keep = excess == 0;
                excess = excess.saturating_sub(f.value.len());
                keep
            });
            feeds.insert(user, Versioned { version: view.version, value: feed });
        }
    }

    /// Step 1 of a commit: marks it in flight and removes what it touches. Returns what was
    /// cached of it, for [`Cache::end_commit`] to update.
    pub(crate) fn begin_commit(&self, touched: &CommitChanges) -> Removed {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let mut removed = Removed {
            rows: self.rows.remove_cached(touched.rows.keys()),
            unread: self.unread.remove_cached(touched.unread.iter().map(|(key, _)| key)),
            ..Removed::default()
        };
        for key in touched.bits.keys() {
            if let Some(old) = self.bitmaps.remove(key) {
                removed.bitmaps.push((key.clone(), old));
            }
        }
        if !touched.public_times.is_empty() {
            removed.public =
                self.public.write().unwrap_or_else(|e| e.into_inner()).take().map(|p| p.value);
        }
        *self.meta.write().unwrap_or_else(|e| e.into_inner()) = None;
        if !touched.rows.is_empty() {
            let mut columns = self.columns.write().unwrap_or_else(|e| e.into_inner());
            removed.columns = columns.drain().map(|(_, c)| c.value).collect();
            let mut filters = self.filters.write().unwrap_or_else(|e| e.into_inner());
            removed.filters = filters.drain().map(|(key, f)| (key, f.value)).collect();
        }
        if !touched.orders.is_empty() {
            let mut orders = self.orders.write().unwrap_or_else(|e| e.into_inner());
            if !orders.is_empty() {
                for user in touched.orders.iter().flat_map(OrderMove::distinct_users) {
                    if let Some(old) = orders.remove(&user) {
                        removed.orders.push((user, old.value));
                    }
                }
            }
        }
        for (user, _) in &touched.totals {
            if let Some(old) = self.totals.remove(user) {
                removed.totals.push((*user, old));
            }
        }
        if !touched.feeds.is_empty() {
            let mut feeds = self.feeds.write().unwrap_or_else(|e| e.into_inner());
            if !feeds.is_empty() {
                for user in touched.feeds.iter().flat_map(FeedMove::distinct_users) {
                    if let Some(old) = feeds.remove(&user) {
                        removed.feeds.push((user, old.value));
                    }
                }
            }
        }
        removed
    }

    /// Step 3 of a commit: installs the new values of what was cached, if the commit succeeded,
    /// and ends the commit.
    pub(crate) fn end_commit(&self, touched: CommitChanges, removed: Removed, committed: bool) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let version = self.epoch.load(Ordering::Acquire).div_ceil(2);
        if committed {
            if !removed.columns.is_empty() {
                let mut columns = self.columns.write().unwrap_or_else(|e| e.into_inner());
                let commit = touched.meta.as_ref().map_or(0, |meta| meta.seq);
                for old in removed.columns {
                    let mut new = Arc::unwrap_or_clone(old);
                    for (rid, row) in &touched.rows {
                        match new.key() {
                            ColumnKey::Commit => new.set_time(*rid, commit as i64),
                            _ => new.patch(*rid, row.as_deref()),
                        }
                    }
                    columns.insert(new.key().clone(), Versioned { version, value: Arc::new(new) });
                }
            }
            if !removed.filters.is_empty() {
                let mut filters = self.filters.write().unwrap_or_else(|e| e.into_inner());
                for (key, old) in removed.filters {
                    let value = Arc::new(old.patched(&touched.rows));
                    filters.insert(key, Versioned { version, value });
                }
            }
            for (rid, row) in touched.rows {
                if let (true, Some(row)) = (removed.rows.contains(&rid), row) {
                    self.rows.insert(rid, version, row);
                }
            }
            // A counter is installed if it was cached, and also if its user syncs (has a change
            // feed): their next `changes_since` sends the dialogs this commit wrote with these
            // counts, and would otherwise read each from redb.
            let feeds = self.feeds.read().unwrap_or_else(|e| e.into_inner());
            let syncing = |user: u64| {
                feeds.contains_key(&user) || removed.feeds.iter().any(|(u, _)| *u == user)
            };
            for (key, n) in touched.unread {
                if removed.unread.contains(&key) || syncing(key.0) {
                    self.unread.insert(key, version, n);
                }
            }
            drop(feeds);
            for (key, old) in removed.bitmaps {
                let mut new = Arc::unwrap_or_clone(old);
                for (rid, added) in touched.bits.get(&key).into_iter().flatten() {
                    if *added {
                        new.insert(*rid);
                    } else {
                        new.remove(*rid);
                    }
                }
                self.bitmaps.insert(key, version, Arc::new(new));
            }
            if let Some(old) = removed.public {
                let mut new = Arc::unwrap_or_clone(old);
                for (index, entry, add) in &touched.public_times {
                    let stream = new.get_mut(*index);
                    match (stream.binary_search(entry), add) {
                        (Err(at), true) => stream.insert(at, *entry),
                        (Ok(at), false) => {
                            stream.remove(at);
                        }
                        _ => {}
                    }
                }
                *self.public.write().unwrap_or_else(|e| e.into_inner()) =
                    Some(Versioned { version, value: Arc::new(new) });
            }
            for (user, old) in removed.totals {
                let delta: i64 =
                    touched.totals.iter().filter(|(u, _)| *u == user).map(|(_, d)| d).sum();
                let total = i64::try_from(old).unwrap_or(i64::MAX).saturating_add(delta);
                self.totals.insert(user, version, u64::try_from(total).unwrap_or(0));
            }
            put_back_moved(&self.orders, removed.orders, &touched.orders, version);
            put_back_moved(&self.feeds, removed.feeds, &touched.feeds, version);
            if let Some(meta) = touched.meta {
                *self.meta.write().unwrap_or_else(|e| e.into_inner()) =
                    Some(Versioned { version, value: meta });
            }
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether a row is cached (for tests).
    #[cfg(test)]
    pub(crate) fn has_row(&self, rid: u32) -> bool {
        self.rows.contains(&rid)
    }
}

/// Users' values (orderings, feeds) that step 1 took out, put back at `version` with every
/// move of the commit applied in write order.
fn put_back_moved<T: Clone, M: UserMove<T>>(
    map: &RwLock<HashMap<u64, Versioned<Arc<T>>, FxBuildHasher>>,
    taken: Vec<(u64, Arc<T>)>,
    moves: &[M],
    version: u64,
) {
    if taken.is_empty() {
        return;
    }
    let mut patched: HashMap<u64, T, FxBuildHasher> =
        taken.into_iter().map(|(user, old)| (user, Arc::unwrap_or_clone(old))).collect();
    for change in moves {
        for user in change.users() {
            if let Some(value) = patched.get_mut(&user) {
                change.apply_to(user, value);
            }
        }
    }
    let mut map = map.write().unwrap_or_else(|e| e.into_inner());
    for (user, value) in patched {
        map.insert(user, Versioned { version, value: Arc::new(value) });
    }
}

/// A row's move in per-user values of type `T`: whose, and how.
trait UserMove<T> {
    fn users(&self) -> Vec<u64>;
    fn apply_to(&self, user: u64, value: &mut T);
}

impl UserMove<UserOrder> for OrderMove {
    fn users(&self) -> Vec<u64> {
        self.distinct_users().collect()
    }
    fn apply_to(&self, user: u64, value: &mut UserOrder) {
        self.apply(user, value);
    }
}

impl UserMove<TimeOrder> for FeedMove {
    fn users(&self) -> Vec<u64> {
        self.distinct_users().collect()
    }
    fn apply_to(&self, user: u64, value: &mut TimeOrder) {
        self.apply(user, value);
    }
}

/// What [`Cache::begin_commit`] took out of the cache.
#[derive(Default)]
pub(crate) struct Removed {
    rows: std::collections::HashSet<u32, FxBuildHasher>,
    unread: std::collections::HashSet<(u64, u32), FxBuildHasher>,
    bitmaps: Vec<(BitmapKey, Arc<RoaringBitmap>)>,
    public: Option<Arc<PublicStreams>>,
    columns: Vec<Arc<Column>>,
    filters: Vec<(Box<str>, Arc<Filter>)>,
    orders: Vec<(u64, Arc<UserOrder>)>,
    feeds: Vec<(u64, Arc<TimeOrder>)>,
    totals: Vec<(u64, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DialogType;

    fn row(name: &str) -> Arc<Row> {
        Arc::new(Row { name: Some(name.into()), ..Row::sample() })
    }

    #[test]
    fn readers_see_only_their_snapshot() {
        let cache = Cache::new(1000, 1000, 1000, 1000);
        let e = cache.before_read();
        let old = cache.view(e).unwrap();
        cache.install_row(old, 7, row("a"));
        assert_eq!(cache.row(old, 7).unwrap().name.as_deref(), Some("a"));

        // A commit changes row 7: during the commit nobody sees a cached row 7, and a reader
        // that began before the commit never sees the new value.
        let mut touched = CommitChanges::default();
        touched.row(7, Some(row("b")));
        let removed = cache.begin_commit(&touched);
        assert!(cache.row(old, 7).is_none());
        assert!(
            cache.view(cache.before_read()).is_none(),
            "no version while a commit is in flight"
        );
        // A reader that read row 7 from redb before the commit cannot install it now.
        cache.install_row(old, 7, row("a"));
        assert!(!cache.has_row(7));
        cache.end_commit(touched, removed, true);
        let new = cache.view(cache.before_read()).unwrap();
        assert_eq!(cache.row(new, 7).unwrap().name.as_deref(), Some("b"));
        assert!(cache.row(old, 7).is_none(), "the old snapshot must read redb");
    }

    #[test]
    fn bitmaps_and_streams_follow_commits() {
        let cache = Cache::new(10, 10, 10, 1000);
        let v = cache.view(cache.before_read()).unwrap();
        cache.install_bitmap(v, BitmapKey::Type(1), Arc::new([1u32, 2].into_iter().collect()));
        cache.install_public(
            v,
            Arc::new(PublicStreams { by_last_message: vec![(5, 1)], by_updated: vec![] }),
        );
        let mut touched = CommitChanges {
            public_times: vec![
                (TimeIndex::PublicLastMessage, (5, 1), false),
                (TimeIndex::PublicLastMessage, (9, 1), true),
            ],
            ..CommitChanges::default()
        };
        touched.bits(BitmapKey::Type(1), [(1, false), (3, true)]);
        let removed = cache.begin_commit(&touched);
        cache.end_commit(touched, removed, true);
        let w = cache.view(cache.before_read()).unwrap();
        let b = cache.bitmap(w, &BitmapKey::Type(1)).unwrap();
        assert_eq!(b.iter().collect::<Vec<_>>(), [2, 3]);
        assert_eq!(cache.public(w).unwrap().by_last_message, [(9, 1)]);
        assert!(cache.bitmap(v, &BitmapKey::Type(1)).is_none());
    }

    /// A user's ordering of `entries` by both times.
    fn user_order(entries: &[(i64, u32)]) -> Arc<UserOrder> {
        let order = Arc::new(super::super::orders::TimeOrder::from_sorted(entries.to_vec()));
        Arc::new(UserOrder { by_last_message: order.clone(), by_updated: order })
    }

    fn keys(users: &[u64], time: i64) -> super::super::orders::OrderKeys {
        super::super::orders::OrderKeys {
            users: users.iter().map(|u| crate::model::UserId(*u)).collect(),
            last_message: Some(time),
            updated: time,
        }
    }

    #[test]
    fn orderings_follow_commits_and_stay_within_their_budget() {
        let cache = Cache::new(10, 10, 10, 6);
        let v = cache.view(cache.before_read()).unwrap();
        cache.install_order(v, 7, user_order(&[(1, 1), (2, 2)]));
        // Row 2 gets a message at 5 and user 9 (no cached ordering) joins; row 3 is new to
        // user 7 and user 8 leaves it.
        let mut touched = CommitChanges::default();
        touched.orders.push(OrderMove {
            rid: 2,
            old: Some(keys(&[7], 2)),
            new: Some(keys(&[7, 9], 5)),
        });
        touched.orders.push(OrderMove {
            rid: 3,
            old: Some(keys(&[8], 3)),
            new: Some(keys(&[7], 4)),
        });
        let removed = cache.begin_commit(&touched);
        assert!(cache.order(v, 7).is_none(), "out while the commit runs");
        cache.install_order(v, 7, user_order(&[(1, 1), (2, 2)]));
        assert!(cache.order(v, 7).is_none(), "no reader installs while the commit runs");
        cache.end_commit(touched, removed, true);
        let w = cache.view(cache.before_read()).unwrap();
        let order = cache.order(w, 7).unwrap();
        assert_eq!(order.by_last_message.entries(), [(1, 1), (4, 3), (5, 2)]);
        assert_eq!(order.by_updated.entries(), [(1, 1), (4, 3), (5, 2)]);
        assert!(cache.order(v, 7).is_none(), "the old snapshot builds its own");
        assert!(cache.order(w, 9).is_none(), "never cached, never made");
        // Six entries at most: user 8's four push user 7's six out, and stay.
        cache.install_order(w, 8, user_order(&[(1, 5), (2, 6)]));
        assert!(cache.order(w, 7).is_none());
        assert!(cache.order(w, 8).is_some());
        // A failed commit leaves nothing of what it touched.
        let mut touched = CommitChanges::default();
        touched.orders.push(OrderMove { rid: 5, old: Some(keys(&[8], 1)), new: None });
        let removed = cache.begin_commit(&touched);
        cache.end_commit(touched, removed, false);
        let x = cache.view(cache.before_read()).unwrap();
        assert!(cache.order(x, 8).is_none());
    }

    #[test]
    fn unread_counters_follow_commits() {
        let cache = Cache::new(10, 10, 10, 1000);
        let v = cache.view(cache.before_read()).unwrap();
        cache.install_unread(v, 5, 1, 3);
        cache.install_unread(v, 5, 2, 0);
        cache.install_unread(v, 6, 1, 1);
        // A commit: user 5 read dialog 1, got a message in dialog 2; user 7's counter was never
        // cached and stays out.
        let mut touched = CommitChanges::default();
        touched.unread(5, 1, 0);
        touched.unread(5, 2, 1);
        touched.unread(7, 1, 4);
        let removed = cache.begin_commit(&touched);
        assert_eq!((cache.unread(v, 5, 1), cache.unread(v, 5, 2)), (None, None));
        // A reader that read the old count from redb cannot install it while the commit runs.
        cache.install_unread(v, 5, 1, 3);
        assert_eq!(cache.unread(v, 5, 1), None);
        cache.end_commit(touched, removed, true);
        let w = cache.view(cache.before_read()).unwrap();
        assert_eq!(cache.unread(w, 5, 1), Some(0));
        assert_eq!(cache.unread(w, 5, 2), Some(1));
        assert_eq!(cache.unread(w, 6, 1), Some(1), "untouched counters stay");
        assert_eq!(cache.unread(w, 7, 1), None);
        assert_eq!(cache.unread(v, 5, 2), None, "the old snapshot must read redb");
    }

    #[test]
    fn a_failed_commit_leaves_nothing_stale() {
        let cache = Cache::new(10, 10, 10, 1000);
        let v = cache.view(cache.before_read()).unwrap();
        cache.install_row(v, 1, row("a"));
        let mut touched = CommitChanges::default();
        touched.row(1, Some(row("b")));
        let removed = cache.begin_commit(&touched);
        cache.end_commit(touched, removed, false);
        let w = cache.view(cache.before_read()).unwrap();
        assert!(cache.row(w, 1).is_none());
    }

    /// A filter of the rows named "keep" (public dialogs among them, by `kind`): patched by
    /// each commit with the rows it wrote.
    fn keep_filter(own: &[u32], public: &[u32]) -> Arc<Filter> {
        Arc::new(Filter {
            own: Arc::new(own.iter().copied().collect()),
            public: Arc::new(public.iter().copied().collect()),
            test: Arc::new(|row: &Row| row.name.as_deref() == Some("keep")),
            by_last_message: Arc::default(),
            last_message_of: Arc::default(),
        })
    }

    /// A filter's halves, own and public.
    fn filter_rows(cache: &Cache, view: CacheVersion) -> Option<(Vec<u32>, Vec<u32>)> {
        cache.filter(view, "f").map(|f| (f.own.iter().collect(), f.public.iter().collect()))
    }

    fn public_row(name: &str) -> Arc<Row> {
        Arc::new(Row { kind: DialogType::PublicGroup.code(), ..(*row(name)).clone() })
    }

    #[test]
    fn filters_follow_commits() {
        let cache = Cache::new(10, 10, 10, 1000);
        let v = cache.view(cache.before_read()).unwrap();
        cache.install_filter(v, "f".into(), keep_filter(&[1, 2, 3], &[7]));
        assert_eq!(filter_rows(&cache, v), Some((vec![1, 2, 3], vec![7])));
        // Row 2 stops passing, row 3 is deleted, row 4 is new and passes, row 5 does not, the
        // public row 7 stops passing and the public row 8 passes.
        let mut touched = CommitChanges::default();
        touched.row(2, Some(row("other")));
        touched.row(3, None);
        touched.row(4, Some(row("keep")));
        touched.row(5, Some(row("other")));
        touched.row(7, Some(public_row("other")));
        touched.row(8, Some(public_row("keep")));
        let removed = cache.begin_commit(&touched);
        assert_eq!(filter_rows(&cache, v), None, "no filter while a commit is in flight");
        // A reader that built the filter before the commit cannot install it now.
        cache.install_filter(v, "f".into(), keep_filter(&[1, 2, 3], &[7]));
        assert_eq!(filter_rows(&cache, v), None);
        cache.end_commit(touched, removed, true);
        let w = cache.view(cache.before_read()).unwrap();
        assert_eq!(filter_rows(&cache, w), Some((vec![1, 4], vec![8])));
        assert_eq!(filter_rows(&cache, v), None, "the old snapshot builds its own");
        // A commit that changes no row's membership keeps the same bitmaps; one that changes
        // only the public half keeps the own half.
        let before = cache.filter(w, "f").unwrap();
        let mut touched = CommitChanges::default();
        touched.row(1, Some(row("keep")));
        touched.row(6, Some(row("other")));
        let removed = cache.begin_commit(&touched);
        cache.end_commit(touched, removed, true);
        let x = cache.view(cache.before_read()).unwrap();
        let after = cache.filter(x, "f").unwrap();
        assert!(Arc::ptr_eq(&before.own, &after.own) && Arc::ptr_eq(&before.public, &after.public));
        let mut touched = CommitChanges::default();
        touched.row(9, Some(public_row("keep")));
        let removed = cache.begin_commit(&touched);
        cache.end_commit(touched, removed, true);
        let y = cache.view(cache.before_read()).unwrap();
        assert!(Arc::ptr_eq(&before.own, &cache.filter(y, "f").unwrap().own));
        assert_eq!(filter_rows(&cache, y), Some((vec![1, 4], vec![8, 9])));
        // A failed commit drops it: the next query builds it again.
        let mut touched = CommitChanges::default();
        touched.row(1, Some(row("other")));
        let removed = cache.begin_commit(&touched);
        cache.end_commit(touched, removed, false);
        assert_eq!(filter_rows(&cache, cache.view(cache.before_read()).unwrap()), None);
    }

    #[test]
    fn a_filters_date_order_follows_commits() {
        let dated = |name: &str, t: Option<i64>| {
            Arc::new(Row { last_message_date_sent: t, ..(*row(name)).clone() })
        };
        let cache = Cache::new(10, 10, 10, 1000);
        let v = cache.view(cache.before_read()).unwrap();
        let filter = Filter {
            by_last_message: Arc::new(vec![(10, 1), (20, 2)]),
            last_message_of: Arc::new(vec![(1, 10), (2, 20)]),
            ..Arc::unwrap_or_clone(keep_filter(&[1, 2, 3], &[]))
        };
        cache.install_filter(v, "f".into(), Arc::new(filter));
        // Row 1 gets a later message, row 2 stops passing, row 3 gets its first message, row 4
        // is new with the same date as row 2 had, row 5 is new without a message, row 1's
        // old date goes with it.
        let mut touched = CommitChanges::default();
        touched.row(1, Some(dated("keep", Some(30))));
        touched.row(2, Some(dated("other", Some(20))));
        touched.row(3, Some(dated("keep", Some(5))));
        touched.row(4, Some(dated("keep", Some(20))));
        touched.row(5, Some(dated("keep", None)));
        let removed = cache.begin_commit(&touched);
        cache.end_commit(touched, removed, true);
        let w = cache.view(cache.before_read()).unwrap();
        let f = cache.filter(w, "f").unwrap();
        assert_eq!(*f.by_last_message, [(5, 3), (20, 4), (30, 1)]);
        assert_eq!(*f.last_message_of, [(1, 30), (3, 5), (4, 20)]);
        assert_eq!(f.own.iter().collect::<Vec<_>>(), [1, 3, 4, 5]);
        assert_eq!(f.range(6, 30), 1..3);
        // A delete takes its entry out.
        let mut touched = CommitChanges::default();
        touched.row(4, None);
        let removed = cache.begin_commit(&touched);
        cache.end_commit(touched, removed, true);
        let f = cache.filter(cache.view(cache.before_read()).unwrap(), "f").unwrap();
        assert_eq!(*f.by_last_message, [(5, 3), (30, 1)]);
        assert_eq!(*f.last_message_of, [(1, 30), (3, 5)]);
    }

    #[test]
    fn filters_are_bounded() {
        let cache = Cache::new(10, 10, 10, 1000);
        let v = cache.view(cache.before_read()).unwrap();
        for i in 0..MAX_FILTERS {
            cache.install_filter(v, format!("f{i}").into(), keep_filter(&[1], &[]));
        }
        assert!(cache.filter(v, "f0").is_some());
        cache.install_filter(v, "one more".into(), keep_filter(&[2], &[]));
        assert!(cache.filter(v, "f0").is_none(), "a full cache is emptied");
        assert!(cache.filter(v, "one more").is_some());
        // Rows count too: a filter that would pass the bound with the others drops them, and
        // one past the bound alone is not kept.
        let big = |from: u32, n: u32| keep_filter(&[], &(from..from + n).collect::<Vec<_>>());
        let most = (MAX_FILTER_ROWS * 3 / 4) as u32;
        cache.install_filter(v, "big".into(), big(0, most));
        assert!(cache.filter(v, "one more").is_some() && cache.filter(v, "big").is_some());
        cache.install_filter(v, "bigger".into(), big(most, most));
        assert!(cache.filter(v, "big").is_none() && cache.filter(v, "one more").is_none());
        assert!(cache.filter(v, "bigger").is_some());
        cache.install_filter(v, "huge".into(), big(0, MAX_FILTER_ROWS as u32 + 1));
        assert!(cache.filter(v, "huge").is_none() && cache.filter(v, "bigger").is_some());
    }
}
