//! The walk shared by [`WalkTime`](super::walk_time::WalkTime) and
//! [`WalkFilter`](super::walk_filter::WalkFilter): entries in sort order, candidates probed,
//! stopped after the page once the time changes.

use super::{Hit, Probe};
use crate::error::Error;
use crate::lang::Direction;
use crate::model::RowId;
use crate::query::plan::Part;
use crate::storage::Entries;

/// [`Access::WalkTime`] and [`Access::WalkFilter`]: walks `entries` (time and row, in sort order
/// over `[lo, hi]`) probing the candidates (unless `probe` is false: every entry is one), and
/// stops after `need` matches once the time changes. `by_last_message` says the entries are
/// last message dates: candidates without a message then sort below every entry. Returns the
/// part's total (see [`Walked::total`]).
pub(crate) fn walk<'s>(
    probe: &mut Probe<'s>,
    part: &Part,
    need: usize,
    hits: &mut Vec<Hit>,
    bounds: (i64, i64, bool, bool),
    entries: impl FnOnce(i64, i64) -> Result<Entries<'s, (i64, RowId)>, Error>,
) -> Result<u64, Error> {
    let walked = walk_entries(probe, part, need, hits, bounds, entries)?;
    probe.finish_total(part, walked.complete, walked.counted)
}

/// What a walk saw: the matches it counted, and whether it saw every candidate that can match.
pub(crate) struct Walked {
    pub(crate) counted: u64,
    pub(crate) complete: bool,
}

/// [`walk`] without the total.
pub(crate) fn walk_entries<'s>(
    probe: &mut Probe<'s>,
    part: &Part,
    need: usize,
    hits: &mut Vec<Hit>,
    (lo, hi, by_last_message, probing): (i64, i64, bool, bool),
    entries: impl FnOnce(i64, i64) -> Result<Entries<'s, (i64, RowId)>, Error>,
) -> Result<Walked, Error> {
    let dir = probe.plan.order.dir;
    // Candidates without a message sort below every message date: before the walk in
    // ascending order, after it in descending order. They can only match when no condition
    // bounds the last message date.
    let nulls_possible = by_last_message && lo == i64::MIN && hi == i64::MAX;
    // A keyset cursor: the walk starts at its time, and what lies before it is not seen (nor
    // counted: the total then comes from elsewhere).
    let after = probe.plan.after_time();
    let (seek_lo, seek_hi) = match (after, dir) {
        (Some(Some(t)), Direction::Asc) => (lo.max(t), hi),
        (Some(Some(t)), Direction::Desc) => (lo, hi.min(t)),
        _ => (lo, hi),
    };
    // After a dialog without a message: in descending order every dated entry came before.
    let skip_dated = by_last_message && after == Some(None) && dir == Direction::Desc;
    // After a dated dialog: in ascending order every undated one came before.
    let skip_nulls = after.is_some_and(|t| t.is_some());
    let mut counted = 0;
    if dir == Direction::Asc && nulls_possible && !skip_nulls {
        counted += probe.test_all(probe.without_message(part)?.iter(), hits)?;
    }
    let mut complete = true;
    let mut boundary: Option<i64> = None;
    if skip_dated || seek_lo > seek_hi {
        // Nothing of the walk is after the cursor.
    } else if !(dir == Direction::Asc && hits.len() >= need && need > 0) {
        for entry in entries(seek_lo, seek_hi)? {
            let (t, rid) = entry?;
            if boundary.is_some_and(|b| b != t) || probe.is_beyond(t) {
                complete = false;
                break;
            }
            probe.stats.entries_walked += 1;
            if probing && !part.candidates.contains(rid.0) {
                continue;
            }
            if let Some(hit) = probe.test(rid)? {
                counted += 1;
                if !probe.keep(&hit) {
                    continue;
                }
                hits.push(hit);
                if hits.len() >= need && boundary.is_none() {
                    boundary = Some(t);
                }
            }
        }
    } else {
        complete = false;
    }
    if dir == Direction::Desc && complete && nulls_possible {
        counted += probe.test_all(probe.without_message(part)?.iter(), hits)?;
    }
    // A walk that started at a cursor saw only what lies after it.
    let complete = complete && after.is_none();
    Ok(Walked { counted, complete })
}
