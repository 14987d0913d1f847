//! What the cache holds besides rows, bitmaps and counters: the public dialogs' time streams
//! and the data filters queries build, each patched by commits rather than built again.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::RowId;
use crate::error::Error;
use crate::index::TimeIndex;
use crate::model::{Direction, Row};

/// A boxed iterator of decoded entries that may fail.
pub(crate) type Entries<'a, T> = Box<dyn Iterator<Item = Result<T, Error>> + 'a>;

/// The time streams of the public dialogs, ascending.
#[derive(Clone, Debug, Default)]
pub(crate) struct PublicStreams {
    /// `(last_message_date_sent, row)` of public dialogs with a message.
    pub by_last_message: Vec<(i64, u32)>,
    /// `(updated_at, row)` of public dialogs.
    pub by_updated: Vec<(i64, u32)>,
}

impl PublicStreams {
    /// The stream of a public index ([`TimeIndex::is_public`]).
    pub(crate) fn get(&self, index: TimeIndex) -> &[(i64, u32)] {
        match index {
            TimeIndex::PublicLastMessage => &self.by_last_message,
            _ => &self.by_updated,
        }
    }

    pub(super) fn get_mut(&mut self, index: TimeIndex) -> &mut Vec<(i64, u32)> {
        match index {
            TimeIndex::PublicLastMessage => &mut self.by_last_message,
            _ => &mut self.by_updated,
        }
    }

    /// The positions in the stream of `index` of the entries with `lo <= time <= hi`.
    pub(crate) fn range(&self, index: TimeIndex, lo: i64, hi: i64) -> std::ops::Range<usize> {
        time_range(self.get(index), lo, hi)
    }
}

/// A filter: the live rows that pass some conditions, which a query answered from columns once
/// and which later queries intersect as a bitmap (as Lucene's query cache keeps a filter's
/// matches). Every commit that writes rows patches it with `test`, which decides whether a
/// row's new state passes, so it stays exact without being built again.
///
/// The rows are kept apart by the planner's two parts: a user's own dialogs are never public,
/// and the public part's candidates are public dialogs only, so each part takes its half as it
/// is and neither intersects the other's rows.
#[derive(Clone)]
pub(crate) struct Filter {
    /// The passing rows that are not public dialogs, at the version the filter is tagged with.
    pub own: Arc<RoaringBitmap>,
    /// The passing public dialogs.
    pub public: Arc<RoaringBitmap>,
    /// Whether a live row passes the conditions.
    pub test: Arc<dyn Fn(&Row) -> bool + Send + Sync>,
    /// `(last_message_date_sent, row)` of the passing rows that have a message, ascending: a
    /// part whose candidates lie within the filter can walk them in inbox order, as the public
    /// part walks the public stream, instead of sorting thousands of candidates.
    pub by_last_message: Arc<Vec<(i64, u32)>>,
    /// The same entries by row, `(row, last_message_date_sent)` ascending, so a commit finds a
    /// row's old entry.
    pub last_message_of: Arc<Vec<(u32, i64)>>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("own", &self.own.len())
            .field("public", &self.public.len())
            .field("by_last_message", &self.by_last_message.len())
            .finish_non_exhaustive()
    }
}

impl Filter {
    /// The filter after a commit that wrote `rows` (`None`: no longer live). A half is copied
    /// only if some row's membership in it changes: most commits (messages, other classes'
    /// dialogs) leave a filter as it was.
    pub(super) fn patched<'r>(
        &self,
        rows: impl IntoIterator<Item = (&'r u32, &'r Option<Arc<Row>>)>,
    ) -> Filter {
        let (mut own, mut public) = (None, None);
        let (mut stream, mut times) = (None, None);
        for (&rid, row) in rows {
            let pass = row.as_deref().filter(|row| (self.test)(row));
            let in_public = pass.is_some_and(Row::is_public);
            set(&self.own, &mut own, rid, pass.is_some() && !in_public);
            set(&self.public, &mut public, rid, in_public);
            let time = pass.and_then(|row| row.last_message_date_sent);
            let of: &Vec<(u32, i64)> = times.as_ref().unwrap_or(&self.last_message_of);
            let at = of.binary_search_by_key(&rid, |e| e.0);
            if at.ok().map(|i| of[i].1) == time {
                continue;
            }
            let stream = stream.get_or_insert_with(|| (*self.by_last_message).clone());
            let times = times.get_or_insert_with(|| (*self.last_message_of).clone());
            // Out with the old entry, in with the new one.
            if let Ok(i) = at {
                let (_, old) = times.remove(i);
                if let Ok(j) = stream.binary_search(&(old, rid)) {
                    stream.remove(j);
                }
            }
            if let Some(t) = time {
                times.insert(at.unwrap_or_else(|i| i), (rid, t));
                stream.insert(stream.partition_point(|e| *e < (t, rid)), (t, rid));
            }
        }
        let half = |old: &Arc<RoaringBitmap>, new: Option<RoaringBitmap>| {
            new.map_or_else(|| old.clone(), Arc::new)
        };
        Filter {
            own: half(&self.own, own),
            public: half(&self.public, public),
            test: self.test.clone(),
            by_last_message: stream.map_or_else(|| self.by_last_message.clone(), Arc::new),
            last_message_of: times.map_or_else(|| self.last_message_of.clone(), Arc::new),
        }
    }

    /// The rows that pass.
    pub(crate) fn rows(&self) -> u64 {
        self.own.len() + self.public.len()
    }

    /// The positions in [`Filter::by_last_message`] of the entries with `lo <= time <= hi`.
    pub(crate) fn range(&self, lo: i64, hi: i64) -> std::ops::Range<usize> {
        time_range(&self.by_last_message, lo, hi)
    }

    /// The entries `(last_message_date_sent, row)` with `lo <= time <= hi`, in `dir` order.
    pub(crate) fn walk(
        self: Arc<Self>,
        lo: i64,
        hi: i64,
        dir: Direction,
    ) -> Entries<'static, (i64, RowId)> {
        let range = self.range(lo, hi);
        stream_entries(range, dir, move |i| self.by_last_message[i])
    }
}

/// The entries at `range` of an in-memory time stream, read through `at` (which keeps the
/// stream alive, so it is not copied), ascending or descending.
pub(crate) fn stream_entries<'a>(
    range: std::ops::Range<usize>,
    dir: Direction,
    at: impl Fn(usize) -> (i64, u32) + 'a,
) -> Entries<'a, (i64, RowId)> {
    let entry = move |i: usize| {
        let (t, r) = at(i);
        Ok((t, RowId(r)))
    };
    match dir {
        Direction::Asc => Box::new(range.map(entry)),
        Direction::Desc => Box::new(range.rev().map(entry)),
    }
}

/// The positions in an ascending time stream of the entries with `lo <= time <= hi`.
fn time_range(stream: &[(i64, u32)], lo: i64, hi: i64) -> std::ops::Range<usize> {
    stream.partition_point(|e| *e < (lo, 0))..stream.partition_point(|e| *e <= (hi, u32::MAX))
}

/// Puts `rid` in or out of `changed`, the new content of `old`, copying `old` on the first
/// change.
fn set(old: &RoaringBitmap, changed: &mut Option<RoaringBitmap>, rid: u32, member: bool) {
    if changed.as_ref().unwrap_or(old).contains(rid) != member {
        let bits = changed.get_or_insert_with(|| old.clone());
        if member {
            bits.insert(rid);
        } else {
            bits.remove(rid);
        }
    }
}
