//! The planner: from compiled predicates and the viewer to a [`Plan`]: for each of the two
//! parts a viewer sees (own dialogs, public dialogs) the candidate set from bitmaps, with its
//! exact cardinality, and the access path whose cost estimate is lowest
//! (`access/`), or the one the store's [`PathChoice`] forces. The configuration is read here
//! and nowhere else.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::access::{Shape, FULL_SCAN, PATHS};
use super::candidates::{
    bitmap_use, narrow_by_time, push_distinct, time_index, time_range, BitmapUse, TimeSpan,
};
use super::compile::cond_key;
use super::eval::{Order, Pred, Target};
use super::explain::{CandidateStep, ConditionAnswer, ConditionPlan, PartScope};
use super::filter::{self, DataFilter};
use super::plan::{Access, Part, PathChoice, Plan};
use crate::error::Error;
use crate::index::BitmapKey;
use crate::lang::{Direction, Query};
use crate::model::{DialogType, UserId};
use crate::storage::{Filter, Meta, Snapshot};

/// Candidates from which [`Access::SortColumns`] pays for its one-off build.
const COLUMN_MIN_CANDIDATES: u64 = 1024;

/// Live dialogs up to which a query may build a column it lacks (a time column is read from
/// its index at about a third of a microsecond an entry): past it, a query that finds no
/// column takes a path that needs none, and the columns come from [`DialogStore::warm_up`]
/// (which a store opened with that many dialogs runs in the background), so that no query,
/// the first after opening least of all, pays for a build of hundreds of milliseconds.
///
/// [`DialogStore::warm_up`]: crate::DialogStore::warm_up
pub(crate) const COLUMN_BUILD_MAX_DIALOGS: u64 = 65_536;

/// Whether a query may build the columns (and what is built from them) it lacks.
pub(crate) fn may_build_columns(choice: PathChoice, meta: &Meta) -> bool {
    choice != PathChoice::Auto || meta.live_total() <= COLUMN_BUILD_MAX_DIALOGS
}

/// Dialogs from which a viewer's own ordering by the sort field (`storage/orders.rs`) is built
/// and walked: below it, sorting the candidates on columns costs a few microseconds.
const ORDER_MIN_DIALOGS: u64 = 256;

/// A viewer's ordering is built for a query whose candidates are at least one in this many of
/// the viewer's dialogs: a walk of it then reads at most this many entries a match.
const ORDER_MIN_SHARE: u64 = 8;

/// A kept filter standing for the conditions it answers.
pub(crate) struct KeptFilter<'f> {
    pub(crate) conditions: &'f DataFilter,
    pub(crate) kept: Arc<Filter>,
    /// Built by this query (else found in the cache), for explain.
    pub(crate) built: bool,
}

pub(crate) fn plan(
    snap: &Snapshot,
    viewer: UserId,
    query: &Query,
    choice: PathChoice,
    preds: &[Pred],
    answered: Option<KeptFilter<'_>>,
) -> Result<Plan, Error> {
    let order = match &query.sort {
        None => Order { target: Target::LastMessageDateSent, dir: Direction::Desc, default: true },
        Some(sort) => {
            Order { target: Target::of(&sort.field, true), dir: sort.direction, default: false }
        }
    };

    let mut residual = Vec::new();
    let mut conditions = Vec::new();
    let mut within: Vec<Arc<RoaringBitmap>> = Vec::new();
    let mut without: Vec<Arc<RoaringBitmap>> = Vec::new();
    let mut all_exact = true;
    let mut types = ALL_TYPES;
    let mut occupied: Vec<Arc<RoaringBitmap>> = Vec::new();
    if let Some(KeptFilter { conditions: answered_conditions, kept, built }) = &answered {
        conditions.push(ConditionPlan {
            key: answered_conditions.describe(),
            answer: ConditionAnswer::DataFilter { rows: kept.rows(), built: *built },
        });
    }
    for pred in preds {
        if answered.is_some() && filter::answers(pred) {
            continue;
        }
        let key = cond_key(&pred.field, pred.op);
        match bitmap_use(snap, pred, Some(viewer.0))? {
            BitmapUse::Exact(b) => {
                conditions
                    .push(plan_of(key, ConditionAnswer::Bitmap { rows: b.len(), exact: true }));
                push_distinct(&mut within, b);
            }
            BitmapUse::Within(b) => {
                conditions
                    .push(plan_of(key, ConditionAnswer::Bitmap { rows: b.len(), exact: false }));
                push_distinct(&mut within, b);
                residual.push(pred.clone());
                all_exact = false;
            }
            BitmapUse::Without(b) => {
                conditions.push(plan_of(key, ConditionAnswer::Minus { rows: b.len() }));
                without.push(b);
            }
            BitmapUse::Types(mask) => {
                conditions.push(plan_of(key, ConditionAnswer::Types(type_list(mask))));
                types &= mask;
            }
            BitmapUse::Occupied(b) => {
                conditions.push(plan_of(key, ConditionAnswer::Occupied { rows: b.len() }));
                occupied.push(b);
            }
            BitmapUse::Residual => {
                conditions.push(plan_of(key, ConditionAnswer::Tested));
                residual.push(pred.clone());
                all_exact = false;
            }
        }
    }
    // Cheap tests first: key tests before row tests.
    residual.sort_by_key(Pred::needs_row);

    let mut plan = Plan {
        viewer,
        order,
        skip: query.skip,
        limit: query.limit,
        count_only: query.count,
        unread: query.include_unread_message_count,
        residual,
        conditions,
        parts: Vec::with_capacity(2),
        filter: answered.as_ref().map(|a| a.kept.clone()),
        build_columns: true,
        after: None,
    };
    let meta = snap.meta()?;
    plan.build_columns = may_build_columns(choice, meta);
    let columns_from = columns_from(snap, &plan, choice);
    let cold = plan.order.target.sort_column().is_some_and(|key| !snap.has_column(&key));
    let has_message = if plan.order.target == Target::LastMessageDateSent {
        Some(snap.bitmap(&BitmapKey::HasMessage)?)
    } else {
        None
    };
    for scope in [PartScope::Own, PartScope::Public] {
        let base = match scope {
            PartScope::Own => snap.bitmap(&BitmapKey::User(viewer.0))?,
            PartScope::Public => snap.bitmap(&BitmapKey::Type(DialogType::PublicGroup.code()))?,
        };
        // Bitmaps are shared with the read cache: combining makes new ones, and a part with no
        // bitmap condition reads its base bitmap as it is.
        let mut candidates = base.clone();
        let mut steps = vec![CandidateStep::Base];
        // The candidates' count when it is known without building them (a count-only part:
        // `candidates` then stays the base bitmap, and only the count is read).
        let mut count = None;
        match scope {
            // Public dialogs are type 1 and have no occupants.
            PartScope::Public if types & 1 == 0 || !occupied.is_empty() => {
                candidates = Arc::default();
                steps.push(CandidateStep::NoneCanMatch);
            }
            // The filter's public half is the public dialogs that pass it: no intersection.
            PartScope::Public => {
                if let Some(answered) = &answered {
                    candidates = answered.kept.public.clone();
                    steps.push(CandidateStep::DataFilter);
                }
            }
            PartScope::Own => {
                // Subtract the excluded types: cheaper than intersecting with the union of the
                // allowed ones, which holds most dialogs. Never type 1: a user's bitmap holds no
                // public dialog (they have no occupants), so there is nothing to take out.
                let excluded = [DialogType::Group, DialogType::Private]
                    .into_iter()
                    .filter(|t| types & (1 << (t.code() - 1)) == 0);
                // A count of the viewer's dialogs of some types needs no bitmap built: the
                // types are disjoint, so it is the viewer's count minus each excluded type's
                // share of it.
                let types_only = answered.is_none() && occupied.is_empty() && within.is_empty();
                let count_types = plan.count_only && all_exact && types_only && without.is_empty();
                for t in excluded {
                    let other = snap.bitmap(&BitmapKey::Type(t.code()))?;
                    if count_types {
                        let rest = count.unwrap_or(base.len());
                        count = Some(rest - base.intersection_len(&other));
                    } else {
                        candidates = Arc::new(&*candidates - &*other);
                    }
                }
                if let Some(answered) = &answered {
                    candidates = Arc::new(&*candidates & &*answered.kept.own);
                    steps.push(CandidateStep::DataFilter);
                }
                for b in occupied.iter().filter(|b| !Arc::ptr_eq(b, &base)) {
                    candidates = Arc::new(&*candidates & &**b);
                }
                if types != ALL_TYPES {
                    steps.push(CandidateStep::Types(type_list(types)));
                }
            }
        }
        let order = match scope {
            PartScope::Own if wants_order(&plan, choice, base.len()) => {
                // Built only where walking it can pay: the candidates are a good share of
                // the viewer's dialogs (or the configuration forces it).
                let dense = candidates.len().saturating_mul(ORDER_MIN_SHARE) >= base.len();
                match snap.cached_user_order(viewer.0) {
                    Some(order) => Some(order),
                    None if dense || choice == PathChoice::UserOrder => {
                        snap.user_order(viewer.0, plan.build_columns)?
                    }
                    None => None,
                }
            }
            _ => None,
        };
        let spans = time_spans(snap, &plan, scope)?;
        // The full scan, the oracle, reads no index. With the viewer's ordering, the range on
        // the sort field is the walk's to apply: the ordering counts what lies in it.
        let narrowing: Vec<&TimeSpan> = match choice {
            PathChoice::FullScan => Vec::new(),
            _ => spans
                .iter()
                .filter(|span| order.is_none() || span.target != plan.order.target)
                .collect(),
        };
        let mut planning_entries = 0;
        // A time range over the public dialogs is read from the cached public stream, a few
        // instructions an entry: when it holds far fewer entries than there are public dialogs,
        // narrowing by it first leaves the bitmaps little (often nothing) to intersect.
        let part_size = candidates.len();
        let first = |span: &&&TimeSpan| {
            scope == PartScope::Public && span.entries.saturating_mul(8) < part_size
        };
        let record = (&mut steps, &mut planning_entries);
        let spans_first = narrowing.iter().filter(first).copied();
        candidates = narrow_by_time(snap, spans_first, order.as_deref(), candidates, record)?;
        for b in &within {
            candidates = Arc::new(&*candidates & &**b);
        }
        for b in &without {
            candidates = Arc::new(&*candidates - &**b);
        }
        if !within.is_empty() {
            steps.push(CandidateStep::Bitmaps(within.len()));
        }
        if !without.is_empty() {
            steps.push(CandidateStep::MinusBitmaps(without.len()));
        }
        let last = narrowing.iter().filter(|span| !first(span)).copied();
        let record = (&mut steps, &mut planning_entries);
        candidates = narrow_by_time(snap, last, order.as_deref(), candidates, record)?;
        let whole = Arc::ptr_eq(&candidates, &base);
        let sort_range = spans.iter().find(|s| s.target == plan.order.target).map(|s| s.entries);
        let shape = Shape {
            plan: &plan,
            scope,
            candidates: &candidates,
            exact: all_exact,
            has_message: has_message.as_deref(),
            meta,
            sort_range,
            columns_from,
            order: order.as_deref(),
            whole,
            count,
            cold,
        };
        let (access, estimate) = choose(&shape, choice);
        plan.parts.push(Part {
            scope,
            steps,
            candidates,
            exact: all_exact,
            access,
            estimate,
            order,
            whole,
            planning_entries,
            count,
        });
    }
    Ok(plan)
}

/// Whether the own part should load the viewer's ordering: the sort field has one, and the
/// viewer is in enough dialogs (or the configuration forces it).
fn wants_order(plan: &Plan, choice: PathChoice, dialogs: u64) -> bool {
    let sorted_by_time =
        matches!(plan.order.target, Target::LastMessageDateSent | Target::UpdatedAt);
    sorted_by_time
        && match choice {
            PathChoice::Auto => dialogs >= ORDER_MIN_DIALOGS,
            PathChoice::UserOrder => true,
            _ => false,
        }
}

/// Every dialog type, as a mask (bit `t - 1` for type `t`).
const ALL_TYPES: u8 = 0b111;

fn type_list(mask: u8) -> Vec<DialogType> {
    DialogType::ALL.into_iter().filter(|t| mask & (1 << (t.code() - 1)) != 0).collect()
}

fn plan_of(key: String, answer: ConditionAnswer) -> ConditionPlan {
    ConditionPlan { key, answer }
}

/// The bounded time ranges of a part's conditions, each estimated once: for narrowing the
/// candidates and for costing a walk of the sort field's index.
fn time_spans(snap: &Snapshot, plan: &Plan, scope: PartScope) -> Result<Vec<TimeSpan>, Error> {
    let mut spans = Vec::new();
    for target in [Target::LastMessageDateSent, Target::UpdatedAt] {
        let (lo, hi) = time_range(&plan.residual, &target);
        let Some(index) = time_index(&target, scope) else { continue };
        if lo == i64::MIN && hi == i64::MAX {
            continue;
        }
        let entries = snap.estimate_range(index, lo, hi)?;
        spans.push(TimeSpan { target, index, lo, hi, entries });
    }
    Ok(spans)
}

/// Picks the access path of one part: the cheapest of [`PATHS`] by their cost estimates, or
/// the one the configuration forces.
fn choose(shape: &Shape<'_>, choice: PathChoice) -> (Access, u64) {
    // The full scan, the oracle, is only ever forced.
    if choice == PathChoice::FullScan {
        return FULL_SCAN.cost(shape).unwrap_or((Access::FullScan, 0));
    }
    let options = PATHS.map(|p| p.cost(shape));
    let first =
        |want: fn(&Access) -> bool| options.iter().flatten().find(|(a, _)| want(a)).cloned();
    // Nothing to read beats every path, forced or not.
    if let Some(free) = first(|a| matches!(a, Access::Empty | Access::CountOnly)) {
        return free;
    }
    let sort = first(|a| matches!(a, Access::SortColumns | Access::SortCandidates))
        .unwrap_or((Access::SortCandidates, shape.n()));
    match choice {
        // Reading every candidate is no more than a page: nothing beats it.
        PathChoice::Auto if shape.n() <= shape.plan.needed() as u64 => sort,
        PathChoice::Auto => {
            options.into_iter().flatten().fold(sort, |best, o| if o.1 < best.1 { o } else { best })
        }
        PathChoice::UserOrder => first(|a| matches!(a, Access::WalkUserOrder { .. }))
            .or_else(|| first(|a| matches!(a, Access::WalkFilter { .. })))
            .or_else(|| first(|a| matches!(a, Access::WalkTime { .. })))
            .or_else(|| first(|a| matches!(a, Access::WalkRows)))
            .unwrap_or(sort),
        PathChoice::Walk => first(|a| matches!(a, Access::WalkFilter { .. }))
            .or_else(|| first(|a| matches!(a, Access::WalkTime { .. })))
            .or_else(|| first(|a| matches!(a, Access::WalkRows)))
            .unwrap_or(sort),
        _ => sort,
    }
}

/// Candidates from which the configuration lets the planner sort on columns: any number when
/// the columns the query needs are built already (a part that runs after another reads only
/// the rows that can still make the page), else from [`COLUMN_MIN_CANDIDATES`], where sorting
/// pays for the one-off build.
fn columns_from(snap: &Snapshot, plan: &Plan, choice: PathChoice) -> u64 {
    let built = || {
        let tests = plan.residual.iter().map(|p| p.target.test_column());
        let sort = std::iter::once(plan.order.target.sort_column());
        sort.chain(tests).all(|key| key.is_some_and(|key| snap.has_column(&key)))
    };
    match choice {
        PathChoice::Auto if built() => 1,
        PathChoice::Auto if plan.build_columns => COLUMN_MIN_CANDIDATES,
        PathChoice::Auto => u64::MAX,
        PathChoice::Columns => 0,
        _ => u64::MAX,
    }
}
