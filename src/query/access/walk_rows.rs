//! [`WalkRows`]: `created_at` order is row-id order while the store says so: iterate the
//! candidates in row-id order and stop after the page.

use super::{AccessPath, Hit, Probe, Shape};
use crate::error::Error;
use crate::lang::Direction;
use crate::model::RowId;
use crate::query::eval::Target;
use crate::query::plan::{Access, Part};

/// Walks the candidates in row-id order (= `created_at` order while `created_sorted` holds)
/// and stops after the page once `created_at` changes.
pub(crate) struct WalkRows;

impl AccessPath for WalkRows {
    fn cost(&self, shape: &Shape<'_>) -> Option<(Access, u64)> {
        if shape.plan.order.target != Target::CreatedAt || !shape.meta.created_sorted {
            return None;
        }
        let (n, needed) = (shape.n(), shape.plan.needed() as u64);
        Some((Access::WalkRows, if shape.exact { needed.min(n) } else { n }))
    }

    fn run(
        &self,
        probe: &mut Probe<'_>,
        part: &Part,
        need: usize,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, Error> {
        let dir = probe.plan.order.dir;
        // A keyset cursor: start at the first candidate not before its `created_at`, found by
        // a binary search over the candidates (row order is `created_at` order here).
        let at = match probe.plan.after_time() {
            Some(Some(t)) => Some(seek(probe, part, t, dir)?),
            _ => None,
        };
        let c = &part.candidates;
        let rows: Box<dyn Iterator<Item = u32>> = match (dir, at) {
            (Direction::Asc, None) => Box::new(c.iter()),
            (Direction::Desc, None) => Box::new(c.iter().rev()),
            (Direction::Asc, Some(from)) => Box::new(c.range(from..)),
            (Direction::Desc, Some(end)) => Box::new(c.range(..end).rev()),
        };
        // What lies before the cursor is not seen (nor counted).
        let mut complete = at.is_none();
        let mut boundary: Option<i64> = None;
        let mut counted = 0;
        for rid in rows {
            let row = probe.snap.live_row(RowId(rid))?;
            probe.stats.rows_read += 1;
            let created_at = row.created_at;
            if boundary.is_some_and(|b| b != created_at) {
                complete = false;
                break;
            }
            probe.stats.entries_walked += 1;
            if let Some(hit) = probe.test_row(RowId(rid), row) {
                counted += 1;
                if !probe.keep(&hit) {
                    continue;
                }
                hits.push(hit);
                if hits.len() >= need && boundary.is_none() {
                    boundary = Some(created_at);
                }
            }
        }
        probe.finish_total(part, complete, counted)
    }
}

/// Where a walk resumes after a keyset cursor whose dialog was created at `t`: ascending, the
/// first candidate created at `t` or later; descending, the first created after `t` (the walk
/// goes down from below it). Ties at `t` are walked again and the probe keeps those after the
/// cursor. About twenty rows read for a million candidates.
fn seek(probe: &mut Probe<'_>, part: &Part, t: i64, dir: Direction) -> Result<u32, Error> {
    let candidates = &part.candidates;
    let (mut lo, mut hi) = (0u64, candidates.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let Some(rid) = u32::try_from(mid).ok().and_then(|k| candidates.select(k)) else { break };
        let created = probe.snap.live_row(RowId(rid))?.created_at;
        probe.stats.rows_read += 1;
        let before = match dir {
            Direction::Asc => created < t,
            Direction::Desc => created <= t,
        };
        if before {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    // The row at rank `lo`, or past every candidate.
    let at = u32::try_from(lo).ok().and_then(|k| candidates.select(k));
    Ok(at.unwrap_or_else(|| candidates.max().map_or(0, |m| m.saturating_add(1))))
}
