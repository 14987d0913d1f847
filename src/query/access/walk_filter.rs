//! [`WalkFilter`]: the walk of [`WalkTime`](super::walk_time::WalkTime) over the rows of the
//! data filter that answered the query's custom-data conditions, kept in
//! `last_message_date_sent` order in the cache.

use super::walk::walk;
use super::{AccessPath, Hit, Probe, Shape};
use crate::error::Error;
use crate::model::RowId;
use crate::query::candidates::{time_index, time_range};
use crate::query::eval::Target;
use crate::query::plan::{Access, Part};
use crate::storage::Entries;

/// Walks the plan's data filter by last message date, for a part whose candidates lie within
/// the filter: the share of its entries that are candidates is the candidates' share of it.
pub(crate) struct WalkFilter;

impl AccessPath for WalkFilter {
    fn cost(&self, shape: &Shape<'_>) -> Option<(Access, u64)> {
        let plan = shape.plan;
        time_index(&plan.order.target, shape.scope)?;
        let filter =
            plan.filter.as_ref().filter(|_| plan.order.target == Target::LastMessageDateSent)?;
        let (n, needed) = (shape.n(), plan.needed() as u64);
        let count_pass = if shape.exact { 0 } else { n };
        let (lo, hi) = time_range(&plan.residual, &plan.order.target);
        let entries = filter.range(lo, hi).len() as f64;
        let rows = filter.rows().max(1) as f64;
        let cost = (needed as f64 * rows / n as f64).min(entries) as u64 + count_pass;
        Some((Access::WalkFilter { lo, hi }, cost))
    }

    fn run(
        &self,
        probe: &mut Probe<'_>,
        part: &Part,
        need: usize,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, Error> {
        let Access::WalkFilter { lo, hi } = part.access else {
            unreachable!("WalkFilter runs only parts planned as WalkFilter")
        };
        // The planner walks a filter only when the plan has one.
        let filter = probe.plan.filter.clone();
        let dir = probe.plan.order.dir;
        let entries = |lo, hi| -> Result<Entries<'_, (i64, RowId)>, Error> {
            Ok(filter.map_or_else(|| Box::new(std::iter::empty()) as _, |f| f.walk(lo, hi, dir)))
        };
        walk(probe, part, need, hits, (lo, hi, true, true), entries)
    }
}
