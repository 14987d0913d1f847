//! [`WalkTime`]: walk a time B-tree in sort order, probe the candidates, stop after the page.

use super::walk::walk;
use super::{AccessPath, Hit, Probe, Shape};
use crate::error::Error;
use crate::index::TimeIndex;
use crate::query::candidates::{time_index, time_range};
use crate::query::plan::{Access, Part};

/// Walks the sort field's time index over the conditions' range; its cost grows with how
/// sparse the candidates are in the tree.
pub(crate) struct WalkTime;

impl AccessPath for WalkTime {
    fn cost(&self, shape: &Shape<'_>) -> Option<(Access, u64)> {
        let plan = shape.plan;
        let index = time_index(&plan.order.target, shape.scope)?;
        let (n, needed) = (shape.n(), plan.needed() as u64);
        let meta = shape.meta;
        // A count that the bitmaps cannot give needs every candidate tested anyway.
        let count_pass = if shape.exact { 0 } else { n };
        let (lo, hi) = time_range(&plan.residual, &plan.order.target);
        // The share of dialogs with a message: last-message trees hold only those. Candidates
        // are assumed spread like the rest (cheaper to estimate than to intersect).
        let with_message = match (index, shape.has_message) {
            (TimeIndex::LastMessage | TimeIndex::PublicLastMessage, Some(h)) => {
                h.len() as f64 / meta.live_total().max(1) as f64
            }
            _ => 1.0,
        };
        let scope_size = match index {
            TimeIndex::PublicLastMessage | TimeIndex::PublicUpdated => meta.live[0],
            _ => meta.live_total(),
        };
        let tree_size = (scope_size as f64 * with_message).max(1.0);
        let in_tree = (n as f64 * with_message).max(1.0);
        // A walk reads at most the entries of the sort field's range.
        let walk_cost = (needed as f64 * tree_size / in_tree).min(tree_size) as u64;
        let walk_cost = shape.sort_range.map_or(walk_cost, |r| walk_cost.min(r)) + count_pass;
        Some((Access::WalkTime { index, lo, hi }, walk_cost))
    }

    fn run(
        &self,
        probe: &mut Probe<'_>,
        part: &Part,
        need: usize,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, Error> {
        let Access::WalkTime { index, lo, hi } = part.access else {
            unreachable!("WalkTime runs only parts planned as WalkTime")
        };
        let by_last_message =
            matches!(index, TimeIndex::LastMessage | TimeIndex::PublicLastMessage);
        // Each entry of a public index is a public dialog: with every one a candidate, no probe.
        let probing = !(part.whole && index.is_public());
        let (snap, dir) = (probe.snap, probe.plan.order.dir);
        let entries = |lo, hi| snap.walk(index, lo, hi, dir);
        walk(probe, part, need, hits, (lo, hi, by_last_message, probing), entries)
    }
}
