//! Execute: runs each part of a [`Plan`] on its snapshot through its access path, merges the
//! parts in sort order and cuts the page.
//!
//! Every access path yields the same matches in the same total order; they differ only in what
//! they read. A walk stops once it holds `skip + limit` matches and the sort value changes, so
//! ties at the page boundary are all seen and ordered by `_id`. The total comes from the
//! candidates' cardinality when they are exact, otherwise from testing every candidate.

use std::sync::Arc;

use super::access::{self, Hit, PartStats, Probe};
use super::collect::{merge, top};
use super::eval::Pred;
use super::explain::{Explain, PartPlan};
use super::plan::{Access, Plan};
use crate::error::Error;
use crate::lang::Query;
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
    let mut stats = Vec::with_capacity(plan.parts.len());
    for part in &plan.parts {
        let preds = if part.access == Access::FullScan { all_preds } else { &plan.residual[..] };
        let stats_before =
            PartStats { entries_walked: part.planning_entries, ..Default::default() };
        let mut probe = Probe { snap, preds, plan, stats: stats_before };
        let mut part_hits = Vec::with_capacity(need.min(part.candidates.len() as usize) + 8);
        total += access::run(&part.access, &mut probe, part, need, &mut part_hits)?;
        top(&mut part_hits, need, plan.order.dir);
        // Each part is in order: merge them, keeping the first `need`.
        hits = merge(hits, part_hits, need, plan.order.dir);
        stats.push(probe.stats);
    }
    let page = hits.into_iter().skip(plan.skip as usize).map(|h| (h.rid, h.row)).collect();
    Ok(Outcome { total, page, stats })
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
            steps: part.steps,
            candidates: part.candidates.len(),
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
