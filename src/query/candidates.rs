//! Candidates: what the bitmaps and time indexes say about each condition ([`BitmapUse`]),
//! and the bitmap algebra and time-range narrowing that build a part's candidate set.

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::eval::{Pred, RowKeys, Target, Val};
use super::explain::CandidateStep;
use super::explain::PartScope;
use crate::error::Error;
use crate::index::{ngram, BitmapKey, TimeIndex};
use crate::lang::{Direction, Op};
use crate::model::{DialogId, DialogType, RowId};
use crate::storage::{Snapshot, TimeOrder, UserOrder};

/// A condition turned into bitmap work.
pub(crate) enum BitmapUse {
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
pub(crate) fn push_distinct(bitmaps: &mut Vec<Arc<RoaringBitmap>>, b: Arc<RoaringBitmap>) {
    if !bitmaps.iter().any(|w| Arc::ptr_eq(w, &b) || **w == *b) {
        bitmaps.push(b);
    }
}

/// How a predicate can use the bitmaps.
pub(crate) fn bitmap_use(
    snap: &Snapshot,
    pred: &Pred,
    viewer: Option<u64>,
) -> Result<BitmapUse, Error> {
    Ok(match (&pred.target, pred.op) {
        (Target::Type, _) => {
            let mut mask = 0u8;
            for t in DialogType::ALL {
                let keys = RowKeys {
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
            BitmapUse::Types(mask)
        }
        // Occupied dialogs lie within the viewer's own (the public part has none): a list
        // that names the viewer asks nothing more of them (`in`), or only that the others be
        // there too (`all`), so the viewer's own bitmap is not intersected with itself.
        (Target::Occupants, Op::Eq | Op::In) => match viewer {
            Some(me) if users(&pred.vals).any(|u| u == me) => {
                BitmapUse::Occupied(snap.bitmap(&BitmapKey::User(me))?)
            }
            _ => BitmapUse::Occupied(union_of(snap, users(&pred.vals).map(BitmapKey::User))?),
        },
        (Target::Occupants, Op::Ne | Op::Nin) => {
            BitmapUse::Without(union_of(snap, users(&pred.vals).map(BitmapKey::User))?)
        }
        (Target::Occupants, Op::All) => {
            let others = users(&pred.vals).filter(|u| Some(*u) != viewer);
            match intersection_of(snap, others.map(BitmapKey::User))? {
                Some(b) => BitmapUse::Occupied(b),
                None => match viewer {
                    Some(me) => BitmapUse::Occupied(snap.bitmap(&BitmapKey::User(me))?),
                    None => BitmapUse::Occupied(Arc::default()),
                },
            }
        }
        (Target::Id, Op::Eq | Op::In | Op::Ne | Op::Nin) => {
            let mut rows = RoaringBitmap::new();
            for v in &pred.vals {
                if let Val::Id(id) = v {
                    if let Some((RowId(rid), _)) = snap.find(&DialogId(*id))? {
                        rows.insert(rid);
                    }
                }
            }
            if matches!(pred.op, Op::Eq | Op::In) {
                BitmapUse::Exact(Arc::new(rows))
            } else {
                BitmapUse::Without(Arc::new(rows))
            }
        }
        (Target::Name, Op::Ctn) => {
            let pattern = match pred.vals.first() {
                Some(Val::Str(p)) => p.as_str(),
                _ => return Ok(BitmapUse::Residual),
            };
            let (grams, exact) = ngram::pattern_grams(pattern);
            let b =
                intersection_of(snap, grams.into_iter().map(BitmapKey::Gram))?.unwrap_or_default();
            if exact {
                BitmapUse::Exact(b)
            } else {
                BitmapUse::Within(b)
            }
        }
        (Target::ClassName, Op::Eq | Op::In) => BitmapUse::Exact(union_of(
            snap,
            pred.vals.iter().filter_map(|v| match v {
                Val::Str(s) => Some(BitmapKey::Class(s.as_str().into())),
                _ => None,
            }),
        )?),
        (
            Target::Data { name, .. },
            Op::Eq | Op::Lt | Op::Lte | Op::Gt | Op::Gte | Op::In | Op::Ctn,
        ) => BitmapUse::Within(snap.bitmap(&BitmapKey::DataField(name.as_str().into()))?),
        (Target::LastMessageDateSent, Op::Eq | Op::Lt | Op::Lte | Op::Gt | Op::Gte | Op::In) => {
            BitmapUse::Within(snap.bitmap(&BitmapKey::HasMessage)?)
        }
        _ => BitmapUse::Residual,
    })
}

/// The time index of a target in a part, if it has one.
pub(crate) fn time_index(target: &Target, scope: PartScope) -> Option<TimeIndex> {
    match (target, scope) {
        (Target::LastMessageDateSent, PartScope::Public) => Some(TimeIndex::PublicLastMessage),
        (Target::LastMessageDateSent, PartScope::Own) => Some(TimeIndex::LastMessage),
        (Target::UpdatedAt, PartScope::Public) => Some(TimeIndex::PublicUpdated),
        (Target::UpdatedAt, PartScope::Own) => Some(TimeIndex::Updated),
        _ => None,
    }
}

/// A time range the conditions set on a target that has a time index in the part.
pub(crate) struct TimeSpan {
    pub(crate) target: Target,
    pub(crate) index: TimeIndex,
    pub(crate) lo: i64,
    pub(crate) hi: i64,
    /// About how many entries the index holds over the range.
    pub(crate) entries: u64,
}

/// Narrows a part's candidates by the time ranges the conditions set, reading the time index
/// over each range when the range holds fewer entries than there are candidates: cheaper than
/// testing every candidate, and it makes the candidate count (and a count-only answer) small.
/// With the viewer's ordering (own part), the range is read from it: only the viewer's own
/// entries. The conditions stay in the residual tests, which the narrowed candidates pass.
/// Adds the entries it read to `read`.
pub(crate) fn narrow_by_time<'s>(
    snap: &Snapshot,
    spans: impl IntoIterator<Item = &'s TimeSpan>,
    order: Option<&UserOrder>,
    mut candidates: Arc<RoaringBitmap>,
    (steps, read): (&mut Vec<CandidateStep>, &mut u64),
) -> Result<Arc<RoaringBitmap>, Error> {
    for span in spans {
        let &TimeSpan { index, lo, hi, entries, .. } = span;
        let own = order.and_then(|o| user_order_of(o, &span.target));
        let entries = own.map_or(entries, |(o, _)| o.count(lo, hi));
        if candidates.is_empty() || entries >= candidates.len() {
            continue;
        }
        let mut range = RoaringBitmap::new();
        match own {
            Some((o, _)) => range.extend(o.clone().range(lo, hi, Direction::Asc).map(|e| e.1)),
            None => {
                for entry in snap.walk(index, lo, hi, Direction::Asc)? {
                    range.insert(entry?.1 .0);
                }
            }
        }
        *read += entries;
        candidates = Arc::new(&*candidates & &range);
        steps.push(CandidateStep::TimeRange {
            index: if own.is_some() { "the viewer's own ordering" } else { index.name() },
            from: lo,
            to: hi,
            rows: range.len(),
        });
    }
    Ok(candidates)
}

/// The viewer's ordering by `target`, and whether it is by last message date.
pub(crate) fn user_order_of<'o>(
    order: &'o UserOrder,
    target: &Target,
) -> Option<(&'o Arc<TimeOrder>, bool)> {
    match target {
        Target::LastMessageDateSent => Some((&order.by_last_message, true)),
        Target::UpdatedAt => Some((&order.by_updated, false)),
        _ => None,
    }
}

/// The time of a condition that bounds `target` (`=`, `lt`, `lte`, `gt`, `gte` on a time):
/// exactly the conditions [`time_range`] folds into its range.
pub(crate) fn time_bound<'p>(pred: &'p Pred, target: &Target) -> Option<&'p i64> {
    match (pred.op, pred.vals.first()) {
        (Op::Eq | Op::Lt | Op::Lte | Op::Gt | Op::Gte, Some(Val::Int(t)))
            if &pred.target == target =>
        {
            Some(t)
        }
        _ => None,
    }
}

/// The time range `[lo, hi]` the predicates allow on a target (inclusive bounds).
pub(crate) fn time_range(preds: &[Pred], target: &Target) -> (i64, i64) {
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    for (p, t) in preds.iter().filter_map(|p| Some((p, time_bound(p, target)?))) {
        match p.op {
            Op::Eq => {
                lo = lo.max(*t);
                hi = hi.min(*t);
            }
            // Nothing is past i64::MAX or before i64::MIN: an empty range (`lo > hi`).
            Op::Gt => match t.checked_add(1) {
                Some(next) => lo = lo.max(next),
                None => (lo, hi) = (i64::MAX, i64::MIN),
            },
            Op::Gte => lo = lo.max(*t),
            Op::Lt => match t.checked_sub(1) {
                Some(prev) => hi = hi.min(prev),
                None => (lo, hi) = (i64::MAX, i64::MIN),
            },
            Op::Lte => hi = hi.min(*t),
            _ => {}
        }
    }
    (lo, hi)
}
