//! The planner: from a [`Query`] and the viewer to a [`Plan`] of access paths.
//!
//! A user sees the dialogs they occupy and every public dialog; public dialogs have no
//! occupants, so these are two disjoint parts, planned and executed apart and merged at the end
//! (never gather and sort their union). For each part the planner builds the
//! candidate set from bitmaps (the part's base bitmap, intersected with every distinct bitmap a
//! condition answers and with the time ranges that hold fewer entries than the candidates, minus
//! every negated one), with its exact cardinality, and picks how to produce the page in order:
//!
//! - [`Access::SortCandidates`]: read the sort keys of every candidate and select the top
//!   `skip + limit`; cost grows with the candidates.
//! - [`Access::SortColumns`]: the same, with the sort keys and the residual tests read from
//!   in-memory columns instead of rows, for thousands of candidates when every residual test is
//!   on a custom field; only the page's rows are read.
//! - [`Access::WalkTime`]: walk a time B-tree in sort order, probe the candidates, stop after
//!   `skip + limit` matches; cost grows with how sparse the candidates are in the tree.
//! - [`Access::WalkFilter`]: the same walk over the rows of the data filter that answered the
//!   query's custom-data conditions, kept in `last_message_date_sent` order in the cache.
//! - [`Access::WalkRows`]: `created_at` order is row-id order while the store says so
//!   (`created_sorted`): iterate the candidates in row-id order and stop early.
//! - [`Access::FullScan`]: read every row and test everything; only when forced, as the oracle.
//!
//! Conditions a bitmap answers exactly are dropped from the residual tests; the rest are tested
//! on each candidate, on its keys when they suffice, else on the row. Conditions on custom data
//! can be answered by a cached filter, one exact bitmap for all of them (`query/filter.rs`).

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::eval::{Order, Pred, SortKey, Val};
use super::explain::{AccessPath, CandidateStep, ConditionPlan, PartScope};
use crate::index::TimeIndex;
use crate::model::UserId;
use crate::storage::{Filter, UserOrder};

/// Which access paths the planner may take: its own choice (the default), or one kind forced,
/// for tests that check every path gives the same answer (set with
/// [`Builder::path_choice`](crate::Builder::path_choice) or
/// [`DialogStore::with_path_choice`](crate::DialogStore::with_path_choice)). A forced path
/// that cannot answer a query (a walk without an index in sort order) falls back to sorting
/// the candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PathChoice {
    /// The planner's choice, by cost.
    #[default]
    Auto,
    /// Sort every candidate's keys.
    SortCandidates,
    /// Walk the sort field's index where there is one (time B-tree or row order).
    Walk,
    /// Read every row.
    FullScan,
    /// Sort (and test) the candidates on in-memory columns, whatever their number, where the
    /// query allows it; otherwise as [`PathChoice::SortCandidates`].
    Columns,
    /// Walk the viewer's own ordering of their dialogs by the sort field (whatever their
    /// number) where the sort field has one (`last_message_date_sent`, `updated_at`);
    /// otherwise as [`PathChoice::Walk`].
    UserOrder,
}

impl PathChoice {
    /// Every choice: the planner's own, then each forced kind, for tests that run a query
    /// through all of them.
    pub const ALL: [PathChoice; 6] = [
        PathChoice::Auto,
        PathChoice::SortCandidates,
        PathChoice::Walk,
        PathChoice::FullScan,
        PathChoice::Columns,
        PathChoice::UserOrder,
    ];
}

/// How a part produces its matches in order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Access {
    /// No candidates: nothing to read.
    Empty,
    /// Only the count is asked and the candidates are exact: nothing to read.
    CountOnly,
    SortCandidates,
    /// As `SortCandidates`, but the sort keys and the residual tests come from columns
    /// (`storage/columns.rs`); only the rows of the page are read.
    SortColumns,
    WalkTime {
        index: TimeIndex,
        lo: i64,
        hi: i64,
    },
    /// As `WalkTime` on `last_message_date_sent`, over the rows of the plan's data filter (kept
    /// in that order), for a part whose candidates lie within the filter.
    WalkFilter {
        lo: i64,
        hi: i64,
    },
    /// Walks the viewer's own ordering by the sort field (`storage/orders.rs`) over
    /// `[lo, hi]`: the own part of a user in many dialogs.
    WalkUserOrder {
        by_last_message: bool,
        lo: i64,
        hi: i64,
    },
    WalkRows,
    FullScan,
}

/// A part of the plan: one scope, its candidates and how to read them.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    pub scope: PartScope,
    /// How the candidates were found, for explain.
    pub steps: Vec<CandidateStep>,
    pub candidates: Arc<RoaringBitmap>,
    /// Every candidate matches: no residual test is needed.
    pub exact: bool,
    pub access: Access,
    /// The planner's estimate of entries it will read, for explain.
    pub estimate: u64,
    /// The viewer's ordering of their own dialogs (own part), when loaded.
    pub order: Option<Arc<UserOrder>>,
    /// The candidates are the part's whole base bitmap (own part: every dialog of the viewer;
    /// public part: every public dialog), so an entry of the viewer's ordering, or of a public
    /// time index, needs no probe.
    pub whole: bool,
    /// Index entries read to find the candidates (time ranges), for explain.
    pub planning_entries: u64,
    /// The candidates' count when the planner knew it without building them (a count-only part
    /// of type conditions): `candidates` is then the base bitmap and only [`Part::len`] counts.
    pub count: Option<u64>,
}

impl Part {
    /// The number of candidates.
    pub(crate) fn len(&self) -> u64 {
        self.count.unwrap_or_else(|| self.candidates.len())
    }
}

/// A query planned against one snapshot.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub viewer: UserId,
    pub order: Order,
    pub skip: u32,
    pub limit: u32,
    pub count_only: bool,
    pub unread: bool,
    /// Conditions still to test on each candidate.
    pub residual: Vec<Pred>,
    /// How each condition is answered, for explain.
    pub conditions: Vec<ConditionPlan>,
    pub parts: Vec<Part>,
    /// The data filter that answered the custom-data conditions, if one did: every part's
    /// candidates lie within it.
    pub filter: Option<Arc<Filter>>,
    /// Whether executing may build a column it lacks (see `planner::may_build_columns`); if
    /// not, a column path without its column reads rows instead.
    pub build_columns: bool,
    /// Keyset paging (`cursor=`): the sort key of the last dialog of the page before. Only
    /// matches after it in the query's order are kept (totals still count every match), and
    /// walks on the sort field's index start at its time.
    pub after: Option<SortKey>,
}

impl Plan {
    /// With a keyset cursor on a time field: the time of the last dialog of the page before
    /// (`None` for a dialog without a message); `None` without a cursor.
    pub(crate) fn after_time(&self) -> Option<Option<i64>> {
        self.after.as_ref().map(|key| match key.primary {
            Some(Val::Int(t)) => Some(t),
            _ => None,
        })
    }

    /// How many matches each part must produce in order.
    pub(crate) fn needed(&self) -> usize {
        if self.count_only {
            0
        } else {
            self.skip as usize + self.limit as usize
        }
    }
}

impl Access {
    /// The access as explain names it.
    pub(crate) fn explained(&self) -> AccessPath {
        match *self {
            Access::Empty => AccessPath::Empty,
            Access::CountOnly => AccessPath::CountOnly,
            Access::SortCandidates => AccessPath::SortCandidates,
            Access::SortColumns => AccessPath::SortColumns,
            Access::WalkTime { index, lo, hi } => {
                AccessPath::WalkTime { index: index.name(), from: lo, to: hi }
            }
            Access::WalkFilter { lo, hi } => AccessPath::WalkFilter { from: lo, to: hi },
            Access::WalkUserOrder { by_last_message, lo, hi } => AccessPath::WalkUserOrder {
                field: if by_last_message { "last_message_date_sent" } else { "updated_at" },
                from: lo,
                to: hi,
            },
            Access::WalkRows => AccessPath::WalkRows,
            Access::FullScan => AccessPath::FullScan,
        }
    }
}
