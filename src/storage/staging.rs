//! The user-bitmap entries and private pairs of the newest rows, staged in memory.
//!
//! A create adds its row to the bitmap of each occupant and, for a private dialog, inserts its
//! pair. With occupants drawn from millions of users those are two or three writes at random
//! places in the bitmap table and one in the pair table, and redb copies every B-tree leaf a
//! commit touches: a batch of a thousand creates rewrote most leaves of the newest chunk's user
//! region and of the pair table, and those chunk writes were most of a create's cost.
//!
//! So, as an LSM tree keeps its newest writes in a memtable, rows from `meta.staged_from` on
//! keep those entries here instead of in the tables. When `window` rows are staged, the commit
//! that reaches it (the **seal**) writes all of them to the tables in key order, so each leaf is
//! copied once for thousands of entries, and staging starts again at the next row. Nothing here
//! is written to the file: the staged rows are in the row table, so opening a store reads them
//! again to rebuild this (as a memtable is rebuilt from its log), and so does the first write
//! after a commit that failed.
//!
//! # What readers see
//!
//! A user's bitmap is its chunks in the table plus its staged rows, as of the reader's snapshot.
//! Every posting is tagged with the commits (`meta.seq`) it is visible to, and a write applies
//! its changes here just before redb commits them, tagged with the commit's new `seq`, so no
//! snapshot sees them early. A seal starts a new [`Generation`]; older snapshots keep reading
//! the generation they began in while it is kept (the last [`GENERATIONS`]). A snapshot older
//! than every kept generation, or than a generation's `floor` (postings removed before it are
//! forgotten), finds its staged rows by reading the rows from its own `staged_from` on:
//! slow, but exact, and only for snapshots held across a seal.
//!
//! Private pairs are looked up only by writers, which redb runs one at a time, so the staged
//! pairs are one map of the last commit's state.
//!
//! # Pairs in the table
//!
//! Every private create looks its pair up, and almost every lookup misses. The pair table is
//! keyed by the chunk of the row first (so that a seal appends), so a lookup would ask every
//! chunk; and even keyed by the pair alone a miss cost a B-tree descent through a table of a
//! million entries. So the writers keep a Bloom filter of the pairs in the table (the
//! `growable-bloom-filter` crate, 1% false positives): built by the first lookup that needs it,
//! from one scan of the table (so the first private create after opening a large store waits
//! for that scan), and told of every pair written to the table
//! after. It is never told of removals, and pairs of a commit that failed stay in it: both are
//! only false positives, answered by the table. A negative answer is exact.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};

use growable_bloom_filter::GrowableBloom;
use rustc_hash::FxBuildHasher;
use smallvec::SmallVec;

use crate::index::IndexEntries;
use crate::model::Row;

/// Rows staged before a seal, by default. A seal writes a bitmap entry per occupant and a pair
/// per private dialog; opening a store reads the staged rows again.
pub(crate) const DEFAULT_WINDOW: u32 = 32_768;

/// Generations kept for snapshots older than the last seal.
const GENERATIONS: usize = 2;

/// Removed postings a generation keeps beyond its live ones before it forgets them.
const MAX_DEAD: usize = 4096;

/// A staged row in a user's bitmap, visible to snapshots with `from <= seq < until`.
#[derive(Clone, Copy, Debug)]
struct Posting {
    rid: u32,
    from: u64,
    until: u64,
}

/// The staged postings between two seals.
struct Generation {
    /// The first commit (`meta.seq`) this generation describes.
    start: u64,
    /// Snapshots before this commit may miss postings removed since: they read rows instead.
    floor: u64,
    /// `meta.staged_from` of its commits.
    from_row: u32,
    users: HashMap<u64, SmallVec<[Posting; 2]>, FxBuildHasher>,
    /// Postings removed and still kept.
    dead: usize,
}

impl Generation {
    /// An empty generation with room for `users` users.
    fn new(start: u64, from_row: u32, users: usize) -> Generation {
        let users = HashMap::with_capacity_and_hasher(users, FxBuildHasher);
        Generation { start, floor: start, from_row, users, dead: 0 }
    }

    fn add(&mut self, user: u64, rid: u32, seq: u64) {
        let postings = self.users.entry(user).or_default();
        if !postings.iter().any(|p| p.rid == rid && p.until == u64::MAX) {
            postings.push(Posting { rid, from: seq, until: u64::MAX });
        }
    }

    fn remove(&mut self, user: u64, rid: u32, seq: u64) {
        let Some(postings) = self.users.get_mut(&user) else { return };
        let Some(at) = postings.iter().position(|p| p.rid == rid && p.until == u64::MAX) else {
            return;
        };
        if postings[at].from == seq {
            // Added by the same commit: no snapshot saw it.
            postings.swap_remove(at);
        } else {
            postings[at].until = seq;
            self.dead += 1;
        }
        if postings.is_empty() {
            self.users.remove(&user);
        }
    }

    /// Forgets removed postings once there are many; snapshots before `seq` then read rows.
    fn collect(&mut self, seq: u64) {
        if self.dead <= MAX_DEAD {
            return;
        }
        self.users.retain(|_, postings| {
            postings.retain(|p| p.until == u64::MAX);
            !postings.is_empty()
        });
        self.dead = 0;
        self.floor = seq;
    }
}

/// What one write transaction changes here, applied by [`Staging::commit`] just before redb
/// commits it.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// `(user, row, added)`, in order.
    pub users: Vec<(u64, u32, bool)>,
    /// Staged pairs and the row that holds each now (`None`: none, or not staged any more).
    pub pairs: Vec<((u64, u64), Option<u32>)>,
    /// The commit wrote every staged entry to the tables; staging starts again at this row.
    pub sealed_at: Option<u32>,
}

impl Changes {
    pub(crate) fn is_empty(&self) -> bool {
        self.users.is_empty() && self.pairs.is_empty() && self.sealed_at.is_none()
    }
}

/// The staged entries of one store (see the module docs).
pub(crate) struct Staging {
    window: u32,
    /// Oldest first; empty until loaded.
    generations: RwLock<VecDeque<Generation>>,
    /// The row holding each staged private pair, as of the last commit.
    pairs: Mutex<HashMap<(u64, u64), u32, FxBuildHasher>>,
    /// A Bloom filter of the pairs in the pair table, once built (see the module docs).
    pairs_in_table: Mutex<Option<GrowableBloom>>,
    /// Whether this must be rebuilt from the rows before the next write: not loaded yet, or the
    /// last commit whose changes were applied here did not reach redb.
    stale: AtomicBool,
}

impl Staging {
    pub(crate) fn new(window: u32) -> Staging {
        Staging {
            window: window.max(1),
            generations: RwLock::new(VecDeque::new()),
            pairs: Mutex::new(HashMap::default()),
            pairs_in_table: Mutex::new(None),
            stale: AtomicBool::new(true),
        }
    }

    /// Rows staged before a seal.
    pub(crate) fn window(&self) -> u32 {
        self.window
    }

    pub(crate) fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Acquire)
    }

    /// Notes that the commit whose changes [`Staging::commit`] applied is in redb.
    pub(crate) fn committed(&self) {
        self.stale.store(false, Ordering::Release);
    }

    /// Rebuilds from the staged rows of the last commit: `seq` and `from_row` are its meta's
    /// `seq` and `staged_from`, `rows` its live rows from `from_row` on. Snapshots of earlier
    /// commits read rows from then on.
    pub(crate) fn reset(&self, seq: u64, from_row: u32, rows: Vec<StagedRow>) {
        // About two users a row.
        let mut generation = Generation::new(seq, from_row, 2 * rows.len());
        let mut pairs = HashMap::default();
        for (rid, users, pair) in rows {
            for user in users {
                // Visible to every snapshot from this commit on; a row's users are distinct.
                let posting = Posting { rid, from: 0, until: u64::MAX };
                generation.users.entry(user).or_default().push(posting);
            }
            if let Some(pair) = pair {
                pairs.insert(pair, rid);
            }
        }
        let mut generations = self.generations.write().unwrap_or_else(|e| e.into_inner());
        generations.clear();
        generations.push_back(generation);
        *self.pairs.lock().unwrap_or_else(|e| e.into_inner()) = pairs;
        self.stale.store(false, Ordering::Release);
    }

    /// The staged row holding a private pair, as of the last commit.
    pub(crate) fn pair(&self, pair: (u64, u64)) -> Option<u32> {
        self.pairs.lock().unwrap_or_else(|e| e.into_inner()).get(&pair).copied()
    }

    /// Whether the pair table may hold `pair`: `false` is exact. `table` lists the pairs in the
    /// table, to build the filter on first use.
    pub(crate) fn table_may_hold<E>(
        &self,
        pair: (u64, u64),
        table: impl FnOnce() -> Result<Vec<(u64, u64)>, E>,
    ) -> Result<bool, E> {
        let mut filter = self.pairs_in_table.lock().unwrap_or_else(|e| e.into_inner());
        if filter.is_none() {
            let pairs = table()?;
            let mut built = GrowableBloom::new(0.01, pairs.len().max(1 << 16));
            for pair in pairs {
                built.insert(pair);
            }
            *filter = Some(built);
        }
        Ok(filter.as_ref().is_some_and(|f| f.contains(pair)))
    }

    /// Notes pairs written to the pair table.
    pub(crate) fn in_table(&self, pairs: impl IntoIterator<Item = (u64, u64)>) {
        let mut filter = self.pairs_in_table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(filter) = filter.as_mut() {
            for pair in pairs {
                filter.insert(pair);
            }
        }
    }

    /// Every staged pair and every staged user posting as of the last commit with `changes`
    /// (a transaction's, not yet committed) applied on top, for a seal.
    pub(crate) fn current(&self, changes: Changes) -> (Vec<StagedPair>, Vec<(u64, u32)>) {
        let mut pairs = self.pairs.lock().unwrap_or_else(|e| e.into_inner()).clone();
        apply_pairs(&mut pairs, changes.pairs);
        let generations = self.generations.read().unwrap_or_else(|e| e.into_inner());
        let mut users: HashSet<(u64, u32), FxBuildHasher> = generations
            .back()
            .into_iter()
            .flat_map(|g| g.users.iter())
            .flat_map(|(user, postings)| {
                postings.iter().filter(|p| p.until == u64::MAX).map(|p| (*user, p.rid))
            })
            .collect();
        for (user, rid, added) in changes.users {
            if added {
                users.insert((user, rid));
            } else {
                users.remove(&(user, rid));
            }
        }
        (pairs.into_iter().collect(), users.into_iter().collect())
    }

    /// A user's staged rows as of commit `seq`, whose `staged_from` is `from_row`; `None` if
    /// that commit is older than what is kept (the caller reads the rows instead).
    pub(crate) fn rows_of(&self, user: u64, seq: u64, from_row: u32) -> Option<Vec<u32>> {
        self.at(seq, from_row, |generation, visible| {
            let postings = generation.users.get(&user).map(|p| p.as_slice()).unwrap_or_default();
            postings.iter().filter(|p| visible(p)).map(|p| p.rid).collect()
        })
    }

    /// Every user with a staged row as of commit `seq` (see [`Staging::rows_of`]), each with
    /// its rows, ascending.
    pub(crate) fn users_at(&self, seq: u64, from_row: u32) -> Option<Vec<(u64, Vec<u32>)>> {
        self.at(seq, from_row, |generation, visible| {
            let mut users: Vec<(u64, Vec<u32>)> = generation
                .users
                .iter()
                .map(|(user, postings)| {
                    let mut rows: Vec<u32> =
                        postings.iter().filter(|p| visible(p)).map(|p| p.rid).collect();
                    rows.sort_unstable();
                    (*user, rows)
                })
                .filter(|(_, rows)| !rows.is_empty())
                .collect();
            users.sort_unstable();
            users
        })
    }

    /// Runs `f` on the generation that describes commit `seq` (whose `staged_from` is
    /// `from_row`) with the test of a posting's visibility to it; `None` if it is not kept.
    fn at<R>(
        &self,
        seq: u64,
        from_row: u32,
        f: impl FnOnce(&Generation, &dyn Fn(&Posting) -> bool) -> R,
    ) -> Option<R> {
        let generations = self.generations.read().unwrap_or_else(|e| e.into_inner());
        let generation = generations.iter().rev().find(|g| g.start <= seq)?;
        if seq < generation.floor || generation.from_row != from_row {
            return None;
        }
        Some(f(generation, &|p: &Posting| p.from <= seq && seq < p.until))
    }

    /// Applies a write's changes as commit `seq`, just before redb commits it. Until
    /// [`Staging::committed`] says the commit is in redb, this counts as stale: if the commit
    /// fails (or redb panics inside it), the next write rebuilds it from the rows.
    pub(crate) fn commit(&self, seq: u64, changes: Changes) {
        self.stale.store(true, Ordering::Release);
        let mut generations = self.generations.write().unwrap_or_else(|e| e.into_inner());
        let mut pairs = self.pairs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(from_row) = changes.sealed_at {
            generations.push_back(Generation::new(seq, from_row, 0));
            while generations.len() > GENERATIONS {
                generations.pop_front();
            }
            pairs.clear();
            return;
        }
        let Some(generation) = generations.back_mut() else { return };
        for (user, rid, added) in changes.users {
            if added {
                generation.add(user, rid, seq);
            } else {
                generation.remove(user, rid, seq);
            }
        }
        generation.collect(seq);
        apply_pairs(&mut pairs, changes.pairs);
    }
}

/// Sets each pair's holder (`None`: no staged row holds it).
fn apply_pairs(
    pairs: &mut HashMap<(u64, u64), u32, FxBuildHasher>,
    changes: Vec<((u64, u64), Option<u32>)>,
) {
    for (pair, holder) in changes {
        match holder {
            Some(rid) => pairs.insert(pair, rid),
            None => pairs.remove(&pair),
        };
    }
}

/// A staged private pair and the row holding it.
pub(crate) type StagedPair = ((u64, u64), u32);

/// The staged entries of one live row: its row id, the users whose bitmaps it is in, and its
/// private pair.
pub(crate) type StagedRow = (u32, SmallVec<[u64; 4]>, Option<(u64, u64)>);

/// The staged entries of a live row at `rid`: its occupants' bitmaps and its pair.
pub(crate) fn staged_row(rid: u32, row: &Row) -> StagedRow {
    (rid, row.occupants.iter().map(|u| u.0).collect(), IndexEntries::pair_of(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(users: &[(u64, u32, bool)]) -> Changes {
        Changes { users: users.to_vec(), ..Changes::default() }
    }

    #[test]
    fn postings_are_visible_to_the_commits_they_belong_to() {
        let staging = Staging::new(100);
        staging.reset(5, 10, vec![]);
        staging.commit(6, changes(&[(1, 10, true), (2, 10, true)]));
        staging.commit(7, changes(&[(1, 11, true), (2, 10, false)]));
        staging.commit(8, changes(&[(3, 12, true), (3, 12, false)]));
        assert_eq!(staging.rows_of(1, 5, 10), Some(vec![]));
        assert_eq!(staging.rows_of(1, 6, 10), Some(vec![10]));
        assert_eq!(staging.rows_of(1, 7, 10), Some(vec![10, 11]));
        assert_eq!(staging.rows_of(2, 6, 10), Some(vec![10]));
        assert_eq!(staging.rows_of(2, 7, 10), Some(vec![]));
        assert_eq!(staging.rows_of(3, 8, 10), Some(vec![]));
        assert_eq!(staging.rows_of(1, 4, 10), None, "before the generation");
        assert_eq!(staging.users_at(7, 10), Some(vec![(1, vec![10, 11])]));
    }

    #[test]
    fn a_seal_starts_a_generation_and_old_snapshots_keep_theirs() {
        let staging = Staging::new(100);
        staging.reset(1, 0, vec![]);
        staging.commit(2, Changes { pairs: vec![((1, 2), Some(0))], ..changes(&[(1, 0, true)]) });
        assert_eq!(staging.pair((1, 2)), Some(0));
        assert_eq!(staging.current(Changes::default()), (vec![((1, 2), 0)], vec![(1, 0)]));
        staging.commit(3, Changes { sealed_at: Some(1), ..Changes::default() });
        assert_eq!(staging.pair((1, 2)), None);
        assert_eq!(staging.rows_of(1, 2, 0), Some(vec![0]));
        assert_eq!(staging.rows_of(1, 3, 1), Some(vec![]));
        staging.commit(4, Changes { sealed_at: Some(1), ..Changes::default() });
        assert_eq!(staging.rows_of(1, 2, 0), None, "two seals later");
    }

    #[test]
    fn forgotten_removals_send_older_snapshots_to_the_rows() {
        let staging = Staging::new(100);
        staging.reset(0, 0, vec![]);
        let adds: Vec<_> = (0..=MAX_DEAD as u32).map(|rid| (1, rid, true)).collect();
        staging.commit(1, changes(&adds));
        let removes: Vec<_> = (0..=MAX_DEAD as u32).map(|rid| (1, rid, false)).collect();
        staging.commit(2, changes(&removes));
        assert_eq!(staging.rows_of(1, 1, 0), None);
        assert_eq!(staging.rows_of(1, 2, 0), Some(vec![]));
    }
}
