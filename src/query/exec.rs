//! Execute: runs each part of a [`Plan`] on its snapshot through its access path, merges the
//! parts in sort order and cuts the page.
//!
//! Every access path yields the same matches in the same total order; they differ only in what
//! they read. A walk stops once it holds `skip + limit` matches and the sort value changes, so
//! ties at the page boundary are all seen and ordered by `_id`. The total comes from the
//! candidates' cardinality when they are exact, otherwise from testing every candidate.

use std::sync::Arc;

use super::access::{self, Hit, PartStats, Probe};
use super::candidates::user_order_of;
use super::collect::{merge, top};
use super::eval::{Pred, Val};
use super::explain::{Explain, PartPlan};
use super::plan::{Access, Plan};
use crate::error::Error;
use crate::lang::{Direction, Query};
use crate::model::{Row, RowId};
use crate::storage::Snapshot;

/// The result of executing a plan: the total and the page's rows in order.
pub(crate) struct Outcome {
    pub total: u64,
    pub page: Vec<(RowId, Arc<Row>)>,
    pub stats: Vec<PartStats>,
}

/// Runs a plan.
pub(crate) fn execute(snap: &Snapshot, plan: &Plan, all_preds: &[Pred]) -> Result<Outcome, Error> {
    let need = plan.needed();
    let mut hits: Vec<Hit> = Vec::new();
    let mut total = 0;
    let mut stats = vec![PartStats::default(); plan.parts.len()];
    for at in run_order(snap, plan)? {
        let part = &plan.parts[at];
        let preds = if part.access == Access::FullScan { all_preds } else { &plan.residual[..] };
        let stats_before =
            PartStats { entries_walked: part.planning_entries, ..Default::default() };
        // The page the parts so far filled bounds this part's walk.
        let beyond = hits.get(need.wrapping_sub(1)).and_then(|h| match h.key.primary {
            Some(Val::Int(t)) => Some(t),
            _ => None,
        });
        let mut probe = Probe { snap, preds, plan, stats: stats_before, beyond };
        let mut part_hits = Vec::with_capacity(need.min(part.candidates.len() as usize) + 8);
        total += access::run(&part.access, &mut probe, part, need, &mut part_hits)?;
        top(&mut part_hits, need, plan.order.dir);
        // Each part is in order: merge them, keeping the first `need`.
        hits = merge(hits, part_hits, need, plan.order.dir);
        stats[at] = probe.stats;
    }
    let page = hits.into_iter().skip(plan.skip as usize).map(|h| (h.rid, h.row)).collect();
    Ok(Outcome { total, page, stats })
}

/// The order to run the parts in: first those whose page-th entry is known without reading
/// a row (a walk of an in-memory stream every entry of which is a candidate), the one that
/// reaches furthest in sort order first, so the page it fills bounds the others; then the
/// rest, in plan order.
fn run_order(snap: &Snapshot, plan: &Plan) -> Result<Vec<usize>, Error> {
    let (need, dir) = (plan.needed(), plan.order.dir);
    let mut leads = Vec::with_capacity(plan.parts.len());
    for (at, part) in plan.parts.iter().enumerate() {
        let lead = match (&part.access, need) {
            (_, 0) => None,
            (Access::WalkTime { index, lo, hi }, _) if part.whole && index.is_public() => {
                snap.public_nth(*index, (*lo, *hi), need - 1, dir)?
            }
            (Access::WalkUserOrder { lo, hi, .. }, _) if part.whole => part
                .order
                .as_ref()
                .and_then(|o| user_order_of(o, &plan.order.target))
                .and_then(|(o, _)| o.nth(*lo, *hi, need - 1, dir)),
            _ => None,
        };
        leads.push((lead, at));
    }
    // Known leads first, furthest first; then plan order.
    leads.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) if dir == Direction::Desc => y.cmp(&x),
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.1.cmp(&b.1),
    });
    Ok(leads.into_iter().map(|(_, at)| at).collect())
}

/// What explain shows of `plan` run on `query`, with what executing it read.
pub(crate) fn explain(query: &Query, plan: Plan, outcome: Outcome) -> Explain {
    let sort_field =
        query.sort.as_ref().map_or("last_message_date_sent".to_owned(), |s| s.field.to_string());
    let parts = plan
        .parts
        .into_iter()
        .zip(outcome.stats)
        .map(|(part, stats)| PartPlan {
            scope: part.scope,
            candidates: part.len(),
            steps: part.steps,
            exact: part.exact,
            access: part.access.explained(),
            estimate: part.estimate,
            entries_walked: stats.entries_walked,
            rows_read: stats.rows_read,
            matched: stats.matched,
        })
        .collect();
    Explain {
        query: query.to_string(),
        viewer: plan.viewer,
        sort_field,
        direction: plan.order.dir,
        default_order: plan.order.default,
        skip: plan.skip,
        limit: plan.limit,
        count_only: plan.count_only,
        conditions: plan.conditions,
        parts,
        total_entries: outcome.total,
    }
}
