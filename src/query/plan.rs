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

use std::collections::BTreeSet;
use std::fmt;

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::eval::{Order, Pred, Target, Val};
use super::filter::{self, DataFilter};
use crate::error::Error;
use crate::index::{ngram, BitmapKey};
use crate::lang::{Direction, Field, Op, Query, Scalar, Span, Value};
use crate::lang::{QueryError, QueryErrorKind};
use crate::model::{CustomClass, DataValue, DialogType, FieldType, UserId};
use crate::storage::{Filter, RowId, Snapshot, TimeIndex};

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
}

/// One of the two disjoint sets a viewer sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Dialogs the viewer occupies.
    Own,
    /// Public dialogs.
    Public,
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
    WalkRows,
    FullScan,
}

/// A part of the plan: one scope, its candidates and how to read them.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    pub scope: Scope,
    pub formula: String,
    pub candidates: Arc<RoaringBitmap>,
    /// Every candidate matches: no residual test is needed.
    pub exact: bool,
    /// The candidates are every public dialog: each entry of a public time index is one, so a
    /// walk of those needs no probe.
    pub all_public: bool,
    pub access: Access,
    /// The planner's estimate of entries it will read, for explain.
    pub estimate: u64,
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
    /// What the bitmaps answered, for explain.
    pub notes: Vec<String>,
    pub parts: Vec<Part>,
    /// The data filter that answered the custom-data conditions, if one did: every part's
    /// candidates lie within it.
    pub filter: Option<Arc<Filter>>,
}

impl Plan {
    /// How many matches each part must produce in order.
    pub(crate) fn needed(&self) -> usize {
        if self.count_only {
            0
        } else {
            self.skip as usize + self.limit as usize
        }
    }
}

/// A condition turned into bitmap work.
pub(super) enum Use {
    /// The matches are exactly this bitmap's rows (intersect).
    Exact(Arc<RoaringBitmap>),
    /// The matches lie within this bitmap (intersect), but still need testing.
    Within(Arc<RoaringBitmap>),
    /// The matches are exactly the rows outside this bitmap (subtract).
    Without(Arc<RoaringBitmap>),
    /// Only dialogs of these types match (bit `t - 1` for type `t`), exactly.
    Types(u8),
    /// The matches are exactly this set of occupied dialogs: none is public.
    Occupied(Arc<RoaringBitmap>),
    /// No bitmap helps.
    Residual,
}

pub(super) fn cond_key(field: &Field, op: Op) -> String {
    if op == Op::Eq {
        field.name()
    } else {
        format!("{}[{}]", field.name(), op)
    }
}

/// Plans `query` for `viewer` on `snap`.
///
/// Conditions on custom data are answered by a cached filter when one is there
/// (`query/filter.rs`); when there is none and a part would test them on columns, which is
/// when they cost the most, the filter is built, kept, and the query planned again with it.
pub(crate) fn plan(
    snap: &Snapshot,
    viewer: UserId,
    query: &Query,
    choice: PathChoice,
) -> Result<Plan, Error> {
    let preds = all_preds(snap, query)?;
    // The full scan, the oracle, reads no index.
    let filter = if choice == PathChoice::FullScan { None } else { DataFilter::of(&preds) };
    let Some(filter) = filter else { return plan_with(snap, viewer, query, choice, &preds, None) };
    if let Some(cached) = snap.filter(filter.key()) {
        let answered = Answered { conditions: &filter, kept: cached, built: false };
        return plan_with(snap, viewer, query, choice, &preds, Some(answered));
    }
    let plan = plan_with(snap, viewer, query, choice, &preds, None)?;
    if !plan.parts.iter().any(|p| p.access == Access::SortColumns) {
        return Ok(plan);
    }
    let Some(built) = filter.build(snap)? else { return Ok(plan) };
    snap.install_filter(filter.key().into(), built.clone());
    let answered = Answered { conditions: &filter, kept: built, built: true };
    plan_with(snap, viewer, query, choice, &preds, Some(answered))
}

/// A kept filter standing for the conditions it answers.
struct Answered<'f> {
    conditions: &'f DataFilter,
    kept: Arc<Filter>,
    /// Built by this query (else found in the cache), for explain.
    built: bool,
}

fn plan_with(
    snap: &Snapshot,
    viewer: UserId,
    query: &Query,
    choice: PathChoice,
    preds: &[Pred],
    answered: Option<Answered<'_>>,
) -> Result<Plan, Error> {
    let order = match &query.sort {
        None => Order { target: Target::LastMessageDateSent, dir: Direction::Desc, default: true },
        Some(sort) => {
            Order { target: Target::of(&sort.field, true), dir: sort.direction, default: false }
        }
    };

    let mut residual = Vec::new();
    let mut notes = Vec::new();
    let mut within: Vec<Arc<RoaringBitmap>> = Vec::new();
    let mut without: Vec<Arc<RoaringBitmap>> = Vec::new();
    let mut all_exact = true;
    let mut types = ALL_TYPES;
    let mut occupied: Vec<Arc<RoaringBitmap>> = Vec::new();
    if let Some(Answered { conditions, kept, built }) = &answered {
        notes.push(format!(
            "{}: filter of {} rows{}, exact",
            conditions.describe(),
            kept.rows(),
            if *built { " (built by this query, kept)" } else { " (cached)" }
        ));
    }
    for pred in preds {
        if answered.is_some() && filter::answers(pred) {
            continue;
        }
        let key = cond_key(&pred.field, pred.op);
        match bitmap_use(snap, pred)? {
            Use::Exact(b) => {
                notes.push(format!("{key}: bitmap of {} rows, exact", b.len()));
                push_distinct(&mut within, b);
            }
            Use::Within(b) => {
                notes.push(format!(
                    "{key}: bitmap of {} rows narrows, each candidate tested",
                    b.len()
                ));
                push_distinct(&mut within, b);
                residual.push(pred.clone());
                all_exact = false;
            }
            Use::Without(b) => {
                notes.push(format!("{key}: minus bitmap of {} rows, exact", b.len()));
                without.push(b);
            }
            Use::Types(mask) => {
                notes.push(format!("{key}: types {}, exact", type_list(mask)));
                types &= mask;
            }
            Use::Occupied(b) => {
                notes.push(format!("{key}: bitmap of {} rows, exact, none public", b.len()));
                occupied.push(b);
            }
            Use::Residual => {
                notes.push(format!("{key}: tested on each candidate"));
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
        notes,
        parts: Vec::with_capacity(2),
        filter: answered.as_ref().map(|a| a.kept.clone()),
    };
    let meta = snap.meta()?;
    let has_message = if plan.order.target == Target::LastMessageDateSent {
        Some(snap.bitmap(&BitmapKey::HasMessage)?)
    } else {
        None
    };
    for scope in [Scope::Own, Scope::Public] {
        let (base, base_name) = match scope {
            Scope::Own => (snap.bitmap(&BitmapKey::User(viewer.0))?, format!("user({viewer})")),
            Scope::Public => (
                snap.bitmap(&BitmapKey::Type(DialogType::PublicGroup.code()))?,
                "public".to_owned(),
            ),
        };
        // Bitmaps are shared with the read cache: combining makes new ones, and a part with no
        // bitmap condition reads its base bitmap as it is.
        let mut candidates = base.clone();
        let mut formula = base_name;
        match scope {
            // Public dialogs are type 1 and have no occupants.
            Scope::Public if types & 1 == 0 || !occupied.is_empty() => {
                candidates = Arc::default();
                formula.push_str(" (none can match)");
            }
            // The filter's public half is the public dialogs that pass it: no intersection.
            Scope::Public => {
                if let Some(answered) = &answered {
                    candidates = answered.kept.public.clone();
                    formula.push_str(" ∩ data filter");
                }
            }
            Scope::Own => {
                // Subtract the excluded types: cheaper than intersecting with the union of the
                // allowed ones, which holds most dialogs. Never type 1: a user's bitmap holds no
                // public dialog (they have no occupants), so there is nothing to take out.
                for t in [DialogType::Group, DialogType::Private]
                    .into_iter()
                    .filter(|t| types & (1 << (t.code() - 1)) == 0)
                {
                    candidates =
                        Arc::new(&*candidates - &*snap.bitmap(&BitmapKey::Type(t.code()))?);
                }
                if let Some(answered) = &answered {
                    candidates = Arc::new(&*candidates & &*answered.kept.own);
                    formula.push_str(" ∩ data filter");
                }
                for b in &occupied {
                    candidates = Arc::new(&*candidates & &**b);
                }
                if types != ALL_TYPES {
                    formula.push_str(&format!(" of types {}", type_list(types)));
                }
            }
        }
        let spans = time_spans(snap, &plan, scope)?;
        // The full scan, the oracle, reads no index.
        let narrowing = if choice == PathChoice::FullScan { &[][..] } else { &spans[..] };
        // A time range over the public dialogs is read from the cached public stream, a few
        // instructions an entry: when it holds far fewer entries than there are public dialogs,
        // narrowing by it first leaves the bitmaps little (often nothing) to intersect.
        let part_size = candidates.len();
        let first =
            |span: &&TimeSpan| scope == Scope::Public && span.entries.saturating_mul(8) < part_size;
        candidates =
            narrow_by_time(snap, narrowing.iter().filter(first), candidates, &mut formula)?;
        for b in &within {
            candidates = Arc::new(&*candidates & &**b);
        }
        for b in &without {
            candidates = Arc::new(&*candidates - &**b);
        }
        if !within.is_empty() {
            formula.push_str(&format!(" ∩ {} bitmap(s)", within.len()));
        }
        if !without.is_empty() {
            formula.push_str(&format!(" − {} bitmap(s)", without.len()));
        }
        let last = narrowing.iter().filter(|span| !first(span));
        candidates = narrow_by_time(snap, last, candidates, &mut formula)?;
        let sort_range = spans.iter().find(|s| s.target == plan.order.target).map(|s| s.entries);
        let stats = Stats { has_message: has_message.as_deref(), meta, sort_range };
        let (access, estimate) = choose(&plan, scope, &candidates, all_exact, &stats, choice);
        let all_public = scope == Scope::Public && Arc::ptr_eq(&candidates, &base);
        plan.parts.push(Part {
            scope,
            formula,
            candidates,
            exact: all_exact,
            all_public,
            access,
            estimate,
        });
    }
    Ok(plan)
}

/// Every dialog type, as a mask (bit `t - 1` for type `t`).
const ALL_TYPES: u8 = 0b111;

fn type_list(mask: u8) -> String {
    let types: Vec<String> = DialogType::ALL
        .iter()
        .filter(|t| mask & (1 << (t.code() - 1)) != 0)
        .map(|t| t.to_string())
        .collect();
    if types.is_empty() {
        "none".to_owned()
    } else {
        types.join(",")
    }
}

/// What a query's `data[class_name]` conditions say of the class of the dialogs it matches.
pub(crate) enum ClassNamed {
    /// One declared class: its custom fields compare with their declared types.
    Declared(CustomClass),
    /// No class at all can match: the answer is empty, whatever the custom-field conditions.
    Nothing,
    /// No class, several, or one undeclared: custom fields compare as text.
    Untyped,
}

/// The classes a query's `data[class_name]` conditions allow: the intersection of the values of
/// every `=` and `[in]` condition on it (conditions AND together, so their order does not
/// matter); `None` when there is no such condition. `ne` and `nin` do not narrow it.
fn allowed_classes(query: &Query) -> Option<BTreeSet<&str>> {
    let mut allowed: Option<BTreeSet<&str>> = None;
    for c in &query.conditions {
        if c.field != Field::DataClassName || !matches!(c.op, Op::Eq | Op::In) {
            continue;
        }
        let names: BTreeSet<&str> = c
            .value
            .as_slice()
            .iter()
            .filter_map(|s| match s {
                Scalar::Str(name) => Some(name.as_str()),
                _ => None,
            })
            .collect();
        allowed = Some(match allowed {
            None => names,
            Some(before) => before.intersection(&names).copied().collect(),
        });
    }
    allowed
}

/// The class a query names: the one class its `data[class_name]` conditions allow, if that is
/// declared (see [`allowed_classes`]).
fn typed_class(snap: &Snapshot, query: &Query) -> Result<ClassNamed, Error> {
    let Some(allowed) = allowed_classes(query) else { return Ok(ClassNamed::Untyped) };
    let mut names = allowed.iter();
    Ok(match (names.next(), names.next()) {
        (None, _) => ClassNamed::Nothing,
        (Some(name), None) => snap.class(name)?.map_or(ClassNamed::Untyped, ClassNamed::Declared),
        (Some(_), Some(_)) => ClassNamed::Untyped,
    })
}

/// Every condition of `query` compiled, for the full scan, which uses no bitmap.
pub(crate) fn all_preds(snap: &Snapshot, query: &Query) -> Result<Vec<Pred>, Error> {
    let class = typed_class(snap, query)?;
    query.conditions.iter().map(|c| compile(&c.field, c.op, &c.value, c.span, &class)).collect()
}

/// Compiles one condition into a typed predicate.
///
/// With [`ClassNamed::Nothing`] custom fields compare as text and no condition on them is
/// refused: the class conditions already match no dialog.
pub(crate) fn compile(
    field: &Field,
    op: Op,
    value: &Value,
    span: Option<Span>,
    class: &ClassNamed,
) -> Result<Pred, Error> {
    let key = cond_key(field, op);
    let err = |kind| Error::Query(QueryError::new(key.clone(), span.unwrap_or_default(), kind));
    let mut typed = false;
    let mut data_type = None;
    if let Field::Data(name) = field {
        match class {
            ClassNamed::Declared(class) => match class.fields.get(name) {
                Some(t) => {
                    typed = true;
                    data_type = Some(*t);
                }
                None => {
                    return Err(err(QueryErrorKind::UnknownDataField {
                        class: class.name.clone(),
                        field: name.clone(),
                    }))
                }
            },
            ClassNamed::Untyped if matches!(op, Op::Lt | Op::Lte | Op::Gt | Op::Gte) => {
                return Err(err(QueryErrorKind::UntypedComparison { field: name.clone() }))
            }
            ClassNamed::Untyped | ClassNamed::Nothing => {}
        }
    }
    let mut vals = Vec::with_capacity(value.as_slice().len());
    for scalar in value.as_slice() {
        let v = match (scalar, data_type) {
            (Scalar::Str(s), Some(t)) if op != Op::Ctn => typed_data(field, t, s).map_err(err)?,
            (Scalar::Str(s), _) if op == Op::Ctn => Val::Str(ngram::lower(s)),
            (Scalar::Id(id), _) => Val::Id(id.0),
            (Scalar::User(u), _) => Val::User(u.0),
            (Scalar::Time(t), _) => Val::Int(*t),
            (Scalar::Type(t), _) => Val::Int(i64::from(t.code())),
            (Scalar::Str(s), _) => Val::Str(s.clone()),
            (Scalar::Bool(b), _) => Val::Bool(*b),
        };
        vals.push(v);
    }
    Ok(Pred { field: field.clone(), target: Target::of(field, typed), op, vals })
}

fn typed_data(field: &Field, ty: FieldType, text: &str) -> Result<Val, QueryErrorKind> {
    let name = match field {
        Field::Data(n) => n.as_str(),
        _ => "",
    };
    match crate::dialog::convert("", name, ty, DataValue::String(text.to_owned())) {
        Ok(DataValue::Integer(i)) => Ok(Val::Int(i)),
        Ok(DataValue::Float(f)) => Ok(Val::Float(f)),
        Ok(DataValue::Bool(b)) => Ok(Val::Bool(b)),
        Ok(DataValue::String(s)) => Ok(Val::Str(s)),
        Err(_) => Err(QueryErrorKind::BadDataValue {
            field: name.to_owned(),
            expected: ty,
            value: text.to_owned(),
        }),
    }
}

/// The union of some bitmaps; a single bitmap is shared as it is, not copied.
fn union_of(
    snap: &Snapshot,
    keys: impl IntoIterator<Item = BitmapKey>,
) -> Result<Arc<RoaringBitmap>, Error> {
    let mut keys = keys.into_iter();
    let Some(first) = keys.next() else { return Ok(Arc::default()) };
    let mut out = snap.bitmap(&first)?;
    for key in keys {
        out = Arc::new(&*out | &*snap.bitmap(&key)?);
    }
    Ok(out)
}

/// The intersection of some bitmaps; `None` for none.
fn intersection_of(
    snap: &Snapshot,
    keys: impl IntoIterator<Item = BitmapKey>,
) -> Result<Option<Arc<RoaringBitmap>>, Error> {
    let mut out: Option<Arc<RoaringBitmap>> = None;
    for key in keys {
        let b = snap.bitmap(&key)?;
        out = Some(match out {
            Some(acc) => Arc::new(&*acc & &*b),
            None => b,
        });
    }
    Ok(out)
}

fn users(vals: &[Val]) -> impl Iterator<Item = u64> + '_ {
    vals.iter().filter_map(|v| match v {
        Val::User(u) => Some(*u),
        _ => None,
    })
}

/// Adds a bitmap to intersect with unless an equal one is there: conditions on one field share
/// its bitmap (`[gte]` and `[lt]` of a range), and a class's bitmap often equals its fields'
/// (every dialog of the class sets them). Comparing stops at the first differing container.
fn push_distinct(bitmaps: &mut Vec<Arc<RoaringBitmap>>, b: Arc<RoaringBitmap>) {
    if !bitmaps.iter().any(|w| Arc::ptr_eq(w, &b) || **w == *b) {
        bitmaps.push(b);
    }
}

/// How a predicate can use the bitmaps.
pub(super) fn bitmap_use(snap: &Snapshot, pred: &Pred) -> Result<Use, Error> {
    Ok(match (&pred.target, pred.op) {
        (Target::Type, _) => {
            let mut mask = 0u8;
            for t in DialogType::ALL {
                let keys = super::eval::RowKeys {
                    id: [0; 12],
                    created_at: 0,
                    updated_at: 0,
                    last_message_date_sent: None,
                    kind: t.code(),
                };
                if pred.test_keys(&keys) {
                    mask |= 1 << (t.code() - 1);
                }
            }
            Use::Types(mask)
        }
        (Target::Occupants, Op::Eq | Op::In) => {
            Use::Occupied(union_of(snap, users(&pred.vals).map(BitmapKey::User))?)
        }
        (Target::Occupants, Op::Ne | Op::Nin) => {
            Use::Without(union_of(snap, users(&pred.vals).map(BitmapKey::User))?)
        }
        (Target::Occupants, Op::All) => Use::Occupied(
            intersection_of(snap, users(&pred.vals).map(BitmapKey::User))?.unwrap_or_default(),
        ),
        (Target::Id, Op::Eq | Op::In | Op::Ne | Op::Nin) => {
            let mut rows = RoaringBitmap::new();
            for v in &pred.vals {
                if let Val::Id(id) = v {
                    if let Some((RowId(rid), _)) = snap.find(&crate::model::DialogId(*id))? {
                        rows.insert(rid);
                    }
                }
            }
            if matches!(pred.op, Op::Eq | Op::In) {
                Use::Exact(Arc::new(rows))
            } else {
                Use::Without(Arc::new(rows))
            }
        }
        (Target::Name, Op::Ctn) => {
            let pattern = match pred.vals.first() {
                Some(Val::Str(p)) => p.as_str(),
                _ => return Ok(Use::Residual),
            };
            let (grams, exact) = ngram::pattern_grams(pattern);
            let b =
                intersection_of(snap, grams.into_iter().map(BitmapKey::Gram))?.unwrap_or_default();
            if exact {
                Use::Exact(b)
            } else {
                Use::Within(b)
            }
        }
        (Target::ClassName, Op::Eq | Op::In) => Use::Exact(union_of(
            snap,
            pred.vals.iter().filter_map(|v| match v {
                Val::Str(s) => Some(BitmapKey::Class(s.as_str().into())),
                _ => None,
            }),
        )?),
        (
            Target::Data { name, .. },
            Op::Eq | Op::Lt | Op::Lte | Op::Gt | Op::Gte | Op::In | Op::Ctn,
        ) => Use::Within(snap.bitmap(&BitmapKey::DataField(name.as_str().into()))?),
        (Target::LastMessageDateSent, Op::Eq | Op::Lt | Op::Lte | Op::Gt | Op::Gte | Op::In) => {
            Use::Within(snap.bitmap(&BitmapKey::HasMessage)?)
        }
        _ => Use::Residual,
    })
}

/// The time index of a target in a part, if it has one.
fn time_index(target: &Target, scope: Scope) -> Option<TimeIndex> {
    match (target, scope) {
        (Target::LastMessageDateSent, Scope::Public) => Some(TimeIndex::PublicLastMessage),
        (Target::LastMessageDateSent, Scope::Own) => Some(TimeIndex::LastMessage),
        (Target::UpdatedAt, Scope::Public) => Some(TimeIndex::PublicUpdated),
        (Target::UpdatedAt, Scope::Own) => Some(TimeIndex::Updated),
        _ => None,
    }
}

/// The time index a part could walk in sort order.
fn walk_index(plan: &Plan, scope: Scope) -> Option<TimeIndex> {
    time_index(&plan.order.target, scope)
}

/// A time range the conditions set on a target that has a time index in the part.
struct TimeSpan {
    target: Target,
    index: TimeIndex,
    lo: i64,
    hi: i64,
    /// About how many entries the index holds over the range.
    entries: u64,
}

/// The bounded time ranges of a part's conditions, each estimated once: for narrowing the
/// candidates and for costing a walk of the sort field's index.
fn time_spans(snap: &Snapshot, plan: &Plan, scope: Scope) -> Result<Vec<TimeSpan>, Error> {
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

/// Narrows a part's candidates by the time ranges the conditions set, reading the time index
/// over each range when the range holds fewer entries than there are candidates: cheaper than
/// testing every candidate, and it makes the candidate count (and a count-only answer) small.
/// The conditions stay in the residual tests, which the narrowed candidates pass.
fn narrow_by_time<'s>(
    snap: &Snapshot,
    spans: impl IntoIterator<Item = &'s TimeSpan>,
    mut candidates: Arc<RoaringBitmap>,
    formula: &mut String,
) -> Result<Arc<RoaringBitmap>, Error> {
    for &TimeSpan { index, lo, hi, entries, .. } in spans {
        if candidates.is_empty() || entries >= candidates.len() {
            continue;
        }
        let mut range = RoaringBitmap::new();
        for entry in snap.walk(index, lo, hi, Direction::Asc)? {
            range.insert(entry?.1 .0);
        }
        candidates = Arc::new(&*candidates & &range);
        formula.push_str(&format!(" ∩ {} over [{lo}, {hi}] ({} rows)", index.name(), range.len()));
    }
    Ok(candidates)
}

/// The time range `[lo, hi]` the predicates allow on a target (inclusive bounds).
pub(crate) fn time_range(preds: &[Pred], target: &Target) -> (i64, i64) {
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    for p in preds.iter().filter(|p| &p.target == target) {
        let Some(Val::Int(t)) = p.vals.first() else {
            continue;
        };
        match p.op {
            Op::Eq => {
                lo = lo.max(*t);
                hi = hi.min(*t);
            }
            Op::Gt => lo = lo.max(t.saturating_add(1)),
            Op::Gte => lo = lo.max(*t),
            Op::Lt => hi = hi.min(t.saturating_sub(1)),
            Op::Lte => hi = hi.min(*t),
            _ => {}
        }
    }
    (lo, hi)
}

/// What the cost estimates read besides the candidates.
#[derive(Clone, Copy)]
struct Stats<'a> {
    /// Dialogs with a last message (loaded when sorting by it).
    has_message: Option<&'a RoaringBitmap>,
    meta: &'a crate::storage::Meta,
    /// Entries of the sort field's index within the conditions' range, if bounded.
    sort_range: Option<u64>,
}

/// Picks the access path of one part and estimates the entries it reads.
fn choose(
    plan: &Plan,
    scope: Scope,
    candidates: &RoaringBitmap,
    exact: bool,
    stats: &Stats<'_>,
    choice: PathChoice,
) -> (Access, u64) {
    let Stats { has_message, meta, sort_range } = *stats;
    let n = candidates.len();
    if choice == PathChoice::FullScan {
        return (Access::FullScan, meta.live_total());
    }
    if n == 0 {
        return (Access::Empty, 0);
    }
    if plan.count_only && exact {
        return (Access::CountOnly, 0);
    }
    let needed = plan.needed() as u64;
    // Columns answer the sort and every residual test: worth their one-off build (a time index
    // read whole) only for many candidates, and then about this many times cheaper per candidate
    // than a row.
    let columns = plan.order.target.sort_column().is_some()
        && plan.residual.iter().all(|p| p.target.test_column().is_some())
        && match choice {
            PathChoice::Auto => n >= COLUMN_MIN_CANDIDATES,
            PathChoice::Columns => true,
            _ => false,
        };
    let (sort_access, sort_cost) = if columns {
        (Access::SortColumns, n / COLUMN_SPEEDUP)
    } else {
        (Access::SortCandidates, n)
    };
    if (n <= needed && choice == PathChoice::Auto) || choice == PathChoice::Columns {
        // Reading every candidate is no more than a page: nothing beats it.
        return (sort_access, sort_cost);
    }
    // A count that the bitmaps cannot give needs every candidate tested anyway.
    let count_pass = if exact { 0 } else { n };
    if let Some(index) = walk_index(plan, scope) {
        let (lo, hi) = time_range(&plan.residual, &plan.order.target);
        // The share of dialogs with a message: last-message trees hold only those. Candidates
        // are assumed spread like the rest (cheaper to estimate than to intersect).
        let with_message = match (index, has_message) {
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
        let walk_cost = sort_range.map_or(walk_cost, |r| walk_cost.min(r)) + count_pass;
        let forced = choice == PathChoice::Walk;
        // The data filter's rows in the same order: the candidates lie within them, so the
        // share of its entries that are candidates is the candidates' share of the filter.
        if let Some(filter) =
            plan.filter.as_ref().filter(|_| plan.order.target == Target::LastMessageDateSent)
        {
            let entries = filter.range(lo, hi).len() as f64;
            let rows = filter.rows().max(1) as f64;
            let cost = (needed as f64 * rows / n as f64).min(entries) as u64 + count_pass;
            if forced || (choice == PathChoice::Auto && cost < sort_cost.min(walk_cost)) {
                return (Access::WalkFilter { lo, hi }, cost);
            }
        }
        if forced || (choice == PathChoice::Auto && walk_cost < sort_cost) {
            return (Access::WalkTime { index, lo, hi }, walk_cost);
        }
    }
    if plan.order.target == Target::CreatedAt
        && meta.created_sorted
        && choice != PathChoice::SortCandidates
    {
        let cost = if exact { needed.min(n) } else { n };
        if choice == PathChoice::Walk || cost < sort_cost {
            return (Access::WalkRows, cost);
        }
    }
    (sort_access, sort_cost)
}

/// Candidates from which [`Access::SortColumns`] is chosen.
const COLUMN_MIN_CANDIDATES: u64 = 1024;

/// How many candidates a column path reads for the cost of one row.
const COLUMN_SPEEDUP: u64 = 4;

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Own => "own dialogs",
            Scope::Public => "public dialogs",
        })
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = |t: i64, open: i64| {
            if t == open {
                if open < 0 { "-∞" } else { "∞" }.to_owned()
            } else {
                t.to_string()
            }
        };
        match self {
            Access::Empty => f.write_str("nothing to read (no candidates)"),
            Access::CountOnly => f.write_str("count from the bitmap, no rows read"),
            Access::SortCandidates => {
                f.write_str("read every candidate's sort key, select the top")
            }
            Access::SortColumns => f.write_str(
                "read every candidate's sort key and tested fields from columns, select the top, \
                 read the page's rows",
            ),
            Access::WalkTime { index, lo, hi } => write!(
                f,
                "walk {} over [{}, {}] in sort order, probe candidates, stop after the page",
                index.name(),
                bound(*lo, i64::MIN),
                bound(*hi, i64::MAX)
            ),
            Access::WalkFilter { lo, hi } => write!(
                f,
                "walk the data filter's rows by last_message_date_sent over [{}, {}] in sort \
                 order, probe candidates, stop after the page",
                bound(*lo, i64::MIN),
                bound(*hi, i64::MAX)
            ),
            Access::WalkRows => f.write_str(
                "walk candidates in row-id order (= created_at order), stop after the page",
            ),
            Access::FullScan => f.write_str("full scan: read every row, test every condition"),
        }
    }
}
