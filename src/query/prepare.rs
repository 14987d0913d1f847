//! Prepare: the stage before execution. Compiles a query, finds the cached data filter that
//! answers its custom-data conditions (or builds and keeps one when the plan would test them on
//! thousands of candidates), and plans it. The planner itself only compares costs.

use super::compile::all_preds;
use super::eval::Pred;
use super::filter::DataFilter;
use super::plan::{Access, Part, PathChoice, Plan};
use super::planner::{self, KeptFilter};
use crate::error::Error;
use crate::lang::Query;
use crate::model::UserId;
use crate::storage::{ColumnKey, Snapshot};

/// Candidates whose rows a part would read to test the conditions, from which building the
/// filter pays.
const FILTER_MIN_ROW_TESTS: u64 = 512;

/// Compiles and plans `query` for `viewer` on `snap`; returns the plan and, for a forced
/// full scan, every predicate (which it tests itself: it reads no index).
///
/// Conditions on custom data are answered by a cached filter when one is there
/// (`query/filter.rs`); when there is none and a part would test them on columns, which is
/// when they cost the most, the filter is built, kept, and the query planned again with it.
pub(crate) fn prepare(
    snap: &Snapshot,
    viewer: UserId,
    query: &Query,
    choice: PathChoice,
) -> Result<(Plan, Vec<Pred>), Error> {
    let preds = all_preds(snap, query)?;
    let plan = plan_with_filter(snap, viewer, query, choice, &preds)?;
    // The full scan, the oracle, reads no index: it tests every predicate itself.
    let preds = if choice == PathChoice::FullScan { preds } else { Vec::new() };
    Ok((plan, preds))
}

/// Plans with the data filter that answers the custom-data conditions, found or built.
fn plan_with_filter(
    snap: &Snapshot,
    viewer: UserId,
    query: &Query,
    choice: PathChoice,
    preds: &[Pred],
) -> Result<Plan, Error> {
    let filter = if choice == PathChoice::FullScan { None } else { DataFilter::of(preds) };
    let Some(filter) = filter else {
        return planner::plan(snap, viewer, query, choice, preds, None);
    };
    if let Some(cached) = snap.filter(filter.key()) {
        let answered = KeptFilter { conditions: &filter, kept: cached, built: false };
        return planner::plan(snap, viewer, query, choice, preds, Some(answered));
    }
    let plan = planner::plan(snap, viewer, query, choice, preds, None)?;
    // Worth a filter: a part that tests the conditions on columns, or (the planner's own
    // choice) on the rows of more candidates than a few pages.
    let costly = |p: &Part| {
        p.access == Access::SortColumns
            || (choice == PathChoice::Auto
                && p.access == Access::SortCandidates
                && p.len() >= FILTER_MIN_ROW_TESTS)
    };
    if !plan.parts.iter().any(costly) {
        return Ok(plan);
    }
    // A filter keeps its rows' dates from the last-message column: on a large store, built by
    // `warm_up`, not by a query.
    let dates = ColumnKey::LastMessage;
    if !snap.has_column(&dates) && !plan.build_columns {
        return Ok(plan);
    }
    let Some(built) = filter.build(snap)? else { return Ok(plan) };
    snap.install_filter(filter.key().into(), built.clone());
    let answered = KeptFilter { conditions: &filter, kept: built, built: true };
    planner::plan(snap, viewer, query, choice, preds, Some(answered))
}
