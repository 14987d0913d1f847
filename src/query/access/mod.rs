//! Access paths: how one part of a plan produces its matches in order.
//!
//! Each path is a small type in its own file behind [`AccessPath`]: its cost estimate (the
//! index entries and rows it would read for a part, or `None` where it cannot produce the
//! part's page) and its execution. The planner (`planner.rs`) asks every path in [`PATHS`] for
//! its cost and takes the cheapest, or the one [`PathChoice`](super::plan::PathChoice) forces;
//! the executor runs the chosen one through [`path_of`]. Adding a path is a file here, a
//! variant of [`Access`], and a line in [`PATHS`] and [`path_of`].

mod count_only;
mod empty;
mod full_scan;
mod probe;
mod sort_candidates;
mod sort_columns;
mod walk;
mod walk_filter;
mod walk_rows;
mod walk_time;
mod walk_user_order;

use roaring::RoaringBitmap;

pub(crate) use probe::{Hit, PartStats, Probe};

use super::explain::PartScope;
use super::plan::{Access, Part, Plan};
use crate::error::Error;
use crate::storage::{Meta, UserOrder};

/// What a path's cost estimate reads: one part and the statistics the planner gathered.
#[derive(Clone, Copy)]
pub(crate) struct Shape<'a> {
    pub plan: &'a Plan,
    pub scope: PartScope,
    pub candidates: &'a RoaringBitmap,
    /// Every candidate matches: no residual test is needed.
    pub exact: bool,
    /// Dialogs with a last message (loaded when sorting by it).
    pub has_message: Option<&'a RoaringBitmap>,
    pub meta: &'a Meta,
    /// Entries of the sort field's index within the conditions' range, if bounded.
    pub sort_range: Option<u64>,
    /// Candidates from which sorting on columns pays for its one-off build (set by the
    /// planner's configuration: `u64::MAX` turns columns off, 0 forces them).
    pub columns_from: u64,
    /// The viewer's ordering of their own dialogs (own part), when the planner loaded it.
    pub order: Option<&'a UserOrder>,
    /// The candidates are the part's whole base bitmap.
    pub whole: bool,
    /// The candidates' count, when the planner knew it without building them.
    pub count: Option<u64>,
    /// The cache is not warm yet (the sort field's column is not built): rows come from redb.
    pub cold: bool,
}

impl Shape<'_> {
    /// The candidates' count.
    pub(crate) fn n(&self) -> u64 {
        self.count.unwrap_or_else(|| self.candidates.len())
    }
}

/// One way to produce a part's matches in order.
pub(crate) trait AccessPath: Sync {
    /// The access this path would take for the part, and the entries it would read; `None`
    /// where it cannot produce the part's page.
    fn cost(&self, shape: &Shape<'_>) -> Option<(Access, u64)>;

    /// Whether a count the bitmaps cannot give (`count=1`, inexact candidates) is answered by
    /// testing every candidate rather than by this path: true for every path that reads rows
    /// in some order, since the order is of no use to a count.
    fn counts_by_testing(&self) -> bool {
        true
    }

    /// Produces the part's matches into `hits` (at least its first `need` in order) and
    /// returns the part's total.
    fn run(
        &self,
        probe: &mut Probe<'_>,
        part: &Part,
        need: usize,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, Error>;
}

/// Runs `access` for a part: a count the bitmaps cannot give tests every candidate, whatever
/// the path (see [`AccessPath::counts_by_testing`]).
pub(crate) fn run(
    access: &Access,
    probe: &mut Probe<'_>,
    part: &Part,
    need: usize,
    hits: &mut Vec<Hit>,
) -> Result<u64, Error> {
    let path = path_of(access);
    if need == 0 && !part.exact && path.counts_by_testing() {
        return probe.count(&part.candidates);
    }
    path.run(probe, part, need, hits)
}

/// The paths the cost comparison considers, in order of preference at equal cost. The full
/// scan is not among them: it is the oracle, taken only when forced.
pub(crate) const PATHS: [&dyn AccessPath; 8] = [
    &empty::Empty,
    &count_only::CountOnly,
    &walk_user_order::WalkUserOrder,
    &sort_columns::SortColumns,
    &sort_candidates::SortCandidates,
    &walk_time::WalkTime,
    &walk_filter::WalkFilter,
    &walk_rows::WalkRows,
];

/// The full scan, for the planner when it is forced.
pub(crate) const FULL_SCAN: &dyn AccessPath = &full_scan::FullScan;

/// The path that runs `access`.
pub(crate) fn path_of(access: &Access) -> &'static dyn AccessPath {
    match access {
        Access::Empty => &empty::Empty,
        Access::CountOnly => &count_only::CountOnly,
        Access::SortCandidates => &sort_candidates::SortCandidates,
        Access::SortColumns => &sort_columns::SortColumns,
        Access::WalkTime { .. } => &walk_time::WalkTime,
        Access::WalkFilter { .. } => &walk_filter::WalkFilter,
        Access::WalkUserOrder { .. } => &walk_user_order::WalkUserOrder,
        Access::WalkRows => &walk_rows::WalkRows,
        Access::FullScan => &full_scan::FullScan,
    }
}
