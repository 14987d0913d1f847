//! Per-user orderings: a user's own dialogs kept sorted by `last_message_date_sent` and by
//! `updated_at`, so that a page of a user in thousands of dialogs reads the page's entries and
//! nothing else, as the public streams do for the public dialogs.
//!
//! [`TimeOrder`] is a sorted list of `(time, row)` in chunks of at most [`CHUNK`] entries, each
//! behind an `Arc`: a commit that moves a few entries copies the list of chunk pointers and the
//! chunks it changes, and readers of the version before keep theirs. Each chunk's length is
//! known, so counting the entries of a time range costs two binary searches and a sum over the
//! chunks between them: the total of a time-range query without reading its entries.

use std::sync::Arc;

use crate::model::{Direction, Row, UserId};

/// Entries a chunk holds at most; a chunk that grows past it is split in two.
const CHUNK: usize = 256;

/// `(time, row)` entries in ascending order, copy-on-write by chunk.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimeOrder {
    chunks: Vec<Arc<Vec<(i64, u32)>>>,
    len: usize,
}

/// A position in a [`TimeOrder`]: chunk and offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct At {
    chunk: usize,
    offset: usize,
}

impl TimeOrder {
    /// The list of `entries`, which must be sorted and distinct.
    pub(crate) fn from_sorted(entries: Vec<(i64, u32)>) -> TimeOrder {
        debug_assert!(entries.is_sorted_by(|a, b| a < b));
        let len = entries.len();
        let chunks = entries.chunks(CHUNK).map(|c| Arc::new(c.to_vec())).collect();
        TimeOrder { chunks, len }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The chunk where `entry` is or would go: the first whose last entry is not below it
    /// (the last chunk for an entry past every other).
    fn chunk_of(&self, entry: (i64, u32)) -> usize {
        let at = self.chunks.partition_point(|c| c.last().is_some_and(|last| *last < entry));
        at.min(self.chunks.len().saturating_sub(1))
    }

    /// Adds an entry (nothing if it is there already).
    pub(crate) fn insert(&mut self, entry: (i64, u32)) {
        if self.chunks.is_empty() {
            self.chunks.push(Arc::new(vec![entry]));
            self.len = 1;
            return;
        }
        let c = self.chunk_of(entry);
        let chunk = Arc::make_mut(&mut self.chunks[c]);
        let Err(at) = chunk.binary_search(&entry) else { return };
        chunk.insert(at, entry);
        self.len += 1;
        if chunk.len() > 2 * CHUNK {
            let tail = chunk.split_off(CHUNK);
            self.chunks.insert(c + 1, Arc::new(tail));
        }
    }

    /// Removes an entry; whether it was there.
    pub(crate) fn remove(&mut self, entry: (i64, u32)) -> bool {
        if self.chunks.is_empty() {
            return false;
        }
        let c = self.chunk_of(entry);
        let Ok(at) = self.chunks[c].binary_search(&entry) else { return false };
        let chunk = Arc::make_mut(&mut self.chunks[c]);
        chunk.remove(at);
        self.len -= 1;
        if chunk.is_empty() {
            self.chunks.remove(c);
        }
        true
    }

    /// The position of the first entry not below `entry`.
    fn lower_bound(&self, entry: (i64, u32)) -> At {
        let chunk = self.chunks.partition_point(|c| c.last().is_some_and(|last| *last < entry));
        let offset = self.chunks.get(chunk).map_or(0, |c| c.partition_point(|e| *e < entry));
        At { chunk, offset }
    }

    /// The positions `[start, end)` of the entries with `lo <= time <= hi`.
    fn bounds(&self, lo: i64, hi: i64) -> (At, At) {
        if lo > hi {
            return (At { chunk: 0, offset: 0 }, At { chunk: 0, offset: 0 });
        }
        let start = self.lower_bound((lo, 0));
        let end = match hi.checked_add(1) {
            Some(next) => self.lower_bound((next, 0)),
            None => At { chunk: self.chunks.len(), offset: 0 },
        };
        (start, end.max(start))
    }

    /// How many entries have `lo <= time <= hi`.
    pub(crate) fn count(&self, lo: i64, hi: i64) -> u64 {
        let (start, end) = self.bounds(lo, hi);
        if start.chunk == end.chunk {
            return (end.offset - start.offset) as u64;
        }
        let middle: usize = self.chunks[start.chunk..end.chunk].iter().map(|c| c.len()).sum();
        (middle - start.offset + end.offset) as u64
    }

    /// The entries with `lo <= time <= hi`, ascending or descending.
    pub(crate) fn range(self: Arc<Self>, lo: i64, hi: i64, dir: Direction) -> Range {
        let (start, end) = self.bounds(lo, hi);
        Range { order: self, start, end, dir }
    }

    /// The time of the `k`-th entry (from 0) over `[lo, hi]` in `dir` order, if there are that
    /// many: found by the chunks' lengths, without walking the entries before it.
    pub(crate) fn nth(&self, lo: i64, hi: i64, k: usize, dir: Direction) -> Option<i64> {
        let (start, end) = self.bounds(lo, hi);
        // Positions as global offsets: the entries before a chunk, plus the offset in it.
        let before = |at: At| -> usize {
            self.chunks[..at.chunk.min(self.chunks.len())].iter().map(|c| c.len()).sum::<usize>()
                + at.offset
        };
        let (first, last) = (before(start), before(end));
        let at = match dir {
            Direction::Asc => first.checked_add(k).filter(|at| *at < last)?,
            Direction::Desc => last.checked_sub(k + 1).filter(|at| *at >= first)?,
        };
        let mut rest = at;
        for chunk in &self.chunks {
            if rest < chunk.len() {
                return Some(chunk[rest].0);
            }
            rest -= chunk.len();
        }
        None
    }

    /// Every entry, ascending (for checks).
    #[cfg(test)]
    pub(crate) fn entries(&self) -> Vec<(i64, u32)> {
        self.chunks.iter().flat_map(|c| c.iter().copied()).collect()
    }
}

/// Entries of a [`TimeOrder`] between two positions, from either end.
pub(crate) struct Range {
    order: Arc<TimeOrder>,
    start: At,
    end: At,
    dir: Direction,
}

impl Range {
    fn normalize(&self, at: At) -> At {
        let mut at = at;
        while at.chunk < self.order.chunks.len() && at.offset >= self.order.chunks[at.chunk].len() {
            at = At { chunk: at.chunk + 1, offset: 0 };
        }
        at
    }
}

impl Iterator for Range {
    type Item = (i64, u32);

    fn next(&mut self) -> Option<(i64, u32)> {
        match self.dir {
            Direction::Asc => {
                self.start = self.normalize(self.start);
                if self.start >= self.end {
                    return None;
                }
                let entry = self.order.chunks[self.start.chunk][self.start.offset];
                self.start.offset += 1;
                Some(entry)
            }
            Direction::Desc => {
                if self.end <= self.normalize(self.start) {
                    return None;
                }
                // Step back from `end` to the entry before it.
                let mut end = self.end;
                while end.offset == 0 {
                    end.chunk -= 1;
                    end.offset = self.order.chunks[end.chunk].len();
                }
                end.offset -= 1;
                self.end = end;
                Some(self.order.chunks[end.chunk][end.offset])
            }
        }
    }
}

/// One user's own dialogs in the two time orders.
#[derive(Clone, Debug, Default)]
pub(crate) struct UserOrder {
    /// `(last_message_date_sent, row)` of the user's dialogs that have a message.
    pub by_last_message: Arc<TimeOrder>,
    /// `(updated_at, row)` of every dialog of the user.
    pub by_updated: Arc<TimeOrder>,
}

impl UserOrder {
    /// Takes a row's old state out (`add` false) or puts its new state in.
    pub(crate) fn apply(&mut self, rid: u32, keys: &OrderKeys, add: bool) {
        let lm = keys.last_message.map(|t| (t, rid));
        let upd = (keys.updated, rid);
        if add {
            if let Some(e) = lm {
                Arc::make_mut(&mut self.by_last_message).insert(e);
            }
            Arc::make_mut(&mut self.by_updated).insert(upd);
        } else {
            if let Some(e) = lm {
                Arc::make_mut(&mut self.by_last_message).remove(e);
            }
            Arc::make_mut(&mut self.by_updated).remove(upd);
        }
    }

    /// Entries held in all.
    pub(crate) fn entries(&self) -> usize {
        self.by_last_message.len() + self.by_updated.len()
    }
}

/// What a row contributes to its occupants' orderings.
#[derive(Clone, Debug)]
pub(crate) struct OrderKeys {
    pub users: Arc<[UserId]>,
    pub last_message: Option<i64>,
    pub updated: i64,
}

impl OrderKeys {
    /// Whether two states put a row at the same place in the same users' orderings.
    pub(crate) fn same_place(&self, other: &OrderKeys) -> bool {
        self.last_message == other.last_message
            && self.updated == other.updated
            && self.users == other.users
    }

    pub(crate) fn of(row: &Row) -> OrderKeys {
        OrderKeys {
            users: row.occupants.clone(),
            last_message: row.last_message_date_sent,
            updated: row.updated_at,
        }
    }
}

/// A row's move in its occupants' orderings, as one write made it: its state before (`None`:
/// no live row) and after (`None`: deleted).
#[derive(Clone, Debug)]
pub(crate) struct OrderMove {
    pub rid: u32,
    pub old: Option<OrderKeys>,
    pub new: Option<OrderKeys>,
}

impl OrderMove {
    /// The users whose orderings the move changes, each once.
    pub(crate) fn distinct_users(&self) -> impl Iterator<Item = u64> + '_ {
        let old = self.old.as_ref().map_or(&[][..], |k| &k.users[..]);
        let new = self.new.iter().flat_map(|k| k.users.iter());
        let added = new.filter(move |u| old.binary_search(u).is_err());
        old.iter().chain(added).map(|u| u.0)
    }

    /// Applies the move to `user`'s ordering.
    pub(crate) fn apply(&self, user: u64, order: &mut UserOrder) {
        let holds = |k: &&OrderKeys| k.users.binary_search(&UserId(user)).is_ok();
        if let Some(old) = self.old.as_ref().filter(holds) {
            order.apply(self.rid, old, false);
        }
        if let Some(new) = self.new.as_ref().filter(holds) {
            order.apply(self.rid, new, true);
        }
    }
}

/// A row's move in its occupants' change feeds (a user's feed is the `(commit, row)` of every
/// dialog they occupy, by the commit that wrote it last): the commit and occupants before
/// (`None`: no live row, or no occupants) and after.
#[derive(Clone, Debug)]
pub(crate) struct FeedMove {
    pub rid: u32,
    pub old: Option<(u64, Arc<[UserId]>)>,
    pub new: Option<(u64, Arc<[UserId]>)>,
}

impl FeedMove {
    /// The users whose feeds the move changes, each once.
    pub(crate) fn distinct_users(&self) -> impl Iterator<Item = u64> + '_ {
        let old = self.old.as_ref().map_or(&[][..], |(_, users)| &users[..]);
        let new = self.new.iter().flat_map(|(_, users)| users.iter());
        let added = new.filter(move |u| old.binary_search(u).is_err());
        old.iter().chain(added).map(|u| u.0)
    }

    /// Applies the move to `user`'s feed.
    pub(crate) fn apply(&self, user: u64, feed: &mut TimeOrder) {
        let holds = |users: &Arc<[UserId]>| users.binary_search(&UserId(user)).is_ok();
        if let Some((commit, _)) = self.old.as_ref().filter(|(_, users)| holds(users)) {
            feed.remove((*commit as i64, self.rid));
        }
        if let Some((commit, _)) = self.new.as_ref().filter(|(_, users)| holds(users)) {
            feed.insert((*commit as i64, self.rid));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn model_range(model: &[(i64, u32)], lo: i64, hi: i64, dir: Direction) -> Vec<(i64, u32)> {
        let mut out: Vec<_> = model.iter().copied().filter(|e| e.0 >= lo && e.0 <= hi).collect();
        if dir == Direction::Desc {
            out.reverse();
        }
        out
    }

    proptest! {
        /// Inserts and removes against a sorted vector; ranges and counts in both directions,
        /// and an old copy unchanged by later edits.
        #[test]
        fn matches_a_sorted_vec(
            initial in proptest::collection::btree_set((0i64..50, 0u32..40), 0..700),
            ops in proptest::collection::vec((any::<bool>(), 0i64..50, 0u32..40), 0..400),
            lo in -2i64..52, hi in -2i64..52,
        ) {
            let mut model: Vec<(i64, u32)> = initial.into_iter().collect();
            let mut order = TimeOrder::from_sorted(model.clone());
            let range = |order: &TimeOrder, dir| Arc::new(order.clone()).range(lo, hi, dir);
            let before = order.clone();
            let before_model = model.clone();
            for (add, t, r) in ops {
                let e = (t, r);
                match (add, model.binary_search(&e)) {
                    (true, Err(at)) => model.insert(at, e),
                    (false, Ok(at)) => { model.remove(at); }
                    _ => {}
                }
                if add { order.insert(e) } else { order.remove(e); }
            }
            prop_assert_eq!(order.entries(), model.clone());
            prop_assert_eq!(order.len(), model.len());
            for dir in [Direction::Asc, Direction::Desc] {
                let got: Vec<_> = range(&order, dir).collect();
                prop_assert_eq!(&got, &model_range(&model, lo, hi, dir));
                prop_assert_eq!(order.count(lo, hi), got.len() as u64);
                for k in [0, 1, 5, got.len().saturating_sub(1), got.len()] {
                    prop_assert_eq!(order.nth(lo, hi, k, dir), got.get(k).map(|e| e.0));
                }
            }
            prop_assert_eq!(before.entries(), before_model);
        }
    }

    #[test]
    fn extreme_bounds() {
        let order = Arc::new(TimeOrder::from_sorted(vec![(i64::MIN, 1), (0, 2), (i64::MAX, 3)]));
        assert_eq!(order.count(i64::MIN, i64::MAX), 3);
        let all: Vec<_> = order.clone().range(i64::MIN, i64::MAX, Direction::Desc).collect();
        assert_eq!(all, [(i64::MAX, 3), (0, 2), (i64::MIN, 1)]);
        assert_eq!(order.count(1, 0), 0);
        assert_eq!(Arc::new(TimeOrder::default()).range(0, 9, Direction::Desc).count(), 0);
    }
}
