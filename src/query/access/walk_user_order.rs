//! [`WalkUserOrder`]: walk the viewer's own ordering of their dialogs by the sort field
//! (`storage/orders.rs`) and stop after the page: a page costs its own entries whether the
//! viewer is in a hundred dialogs or in three hundred thousand.

use std::sync::Arc;

use super::walk::walk_entries;
use super::{AccessPath, Hit, Probe, Shape};
use crate::error::Error;
use crate::lang::Direction;
use crate::model::RowId;
use crate::query::candidates::{time_bound, time_range, user_order_of};
use crate::query::eval::{Pred, Target};
use crate::query::explain::PartScope;
use crate::query::plan::{Access, Part};
use crate::storage::{Entries, TimeOrder};

/// Walks the viewer's ordering by `last_message_date_sent` or `updated_at` over the
/// conditions' range, probing the candidates unless they are all of the viewer's dialogs.
pub(crate) struct WalkUserOrder;

/// Whether every residual test is a bound on `target` that the walk's range applies exactly.
fn only_bounds(residual: &[Pred], target: &Target) -> bool {
    residual.iter().all(|p| time_bound(p, target).is_some())
}

/// The entries of an ordering over `[lo, hi]` in `dir` order.
fn entries<'s>(
    order: Arc<TimeOrder>,
    lo: i64,
    hi: i64,
    dir: Direction,
) -> Result<Entries<'s, (i64, RowId)>, Error> {
    Ok(Box::new(order.range(lo, hi, dir).map(|(t, r)| Ok((t, RowId(r))))))
}

impl AccessPath for WalkUserOrder {
    fn cost(&self, shape: &Shape<'_>) -> Option<(Access, u64)> {
        if shape.scope != PartScope::Own {
            return None;
        }
        let plan = shape.plan;
        let (order, by_last_message) = user_order_of(shape.order?, &plan.order.target)?;
        let (lo, hi) = time_range(&plan.residual, &plan.order.target);
        let bounded = lo != i64::MIN || hi != i64::MAX;
        let in_range = order.count(lo, hi);
        let (n, needed) = (shape.n(), plan.needed() as u64);
        let walk = if shape.whole {
            needed.min(in_range)
        } else {
            ((needed as f64 * order.len() as f64 / n.max(1) as f64) as u64).min(in_range)
        };
        // Dialogs without a message come after the walk when it does not fill the page.
        let nulls = if by_last_message && !bounded && in_range < needed {
            n.saturating_sub(in_range)
        } else {
            0
        };
        let count =
            if shape.exact || (shape.whole && only_bounds(&plan.residual, &plan.order.target)) {
                0
            } else if bounded {
                in_range
            } else {
                n
            };
        Some((Access::WalkUserOrder { by_last_message, lo, hi }, walk + nulls + count))
    }

    fn counts_by_testing(&self) -> bool {
        false
    }

    fn run(
        &self,
        probe: &mut Probe<'_>,
        part: &Part,
        need: usize,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, Error> {
        let Access::WalkUserOrder { by_last_message, lo, hi } = part.access else {
            unreachable!("WalkUserOrder runs only parts planned as WalkUserOrder")
        };
        let target = probe.plan.order.target.clone();
        // The planner walks an ordering only when the part has one.
        let order =
            part.order.as_ref().and_then(|o| user_order_of(o, &target)).map(|(o, _)| o.clone());
        let order = order.unwrap_or_default();
        let dir = probe.plan.order.dir;
        let probing = !part.whole;
        let walked = if need == 0 {
            super::walk::Walked { counted: 0, complete: false }
        } else {
            let entries = |lo, hi| entries(order.clone(), lo, hi, dir);
            walk_entries(probe, part, need, hits, (lo, hi, by_last_message, probing), entries)?
        };
        if part.exact || walked.complete {
            return probe.finish_total(part, walked.complete, walked.counted);
        }
        let bounded = lo != i64::MIN || hi != i64::MAX;
        let bounds_only = only_bounds(probe.preds, &target);
        if bounds_only && part.whole {
            // Every dialog of the viewer in the range matches: the ordering counts them.
            return Ok(order.count(lo, hi));
        }
        if !bounded {
            return probe.count(&part.candidates);
        }
        // Only candidates in the range can match: count those, testing rows only when some
        // condition is more than the range.
        let mut total = 0;
        for (_, rid) in order.range(lo, hi, dir) {
            probe.stats.entries_walked += 1;
            if !part.candidates.contains(rid) {
                continue;
            }
            total += u64::from(bounds_only || probe.test(RowId(rid))?.is_some());
        }
        Ok(total)
    }
}
