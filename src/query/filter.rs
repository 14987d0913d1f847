//! Data filters: a query's conditions on custom data, answered once as a bitmap and kept.
//!
//! A condition on a custom field (`data[progress][gte]=50`) has no index of its own: its field's
//! presence bitmap narrows the candidates, and each candidate's value is then tested, from the
//! field's column when there are thousands (`exec::column_matches`). For a user in tens of
//! thousands of dialogs that test is most of the query, and it is the same work for every user
//! who asks the same conditions. So the first query that tests them on columns also tests them
//! over every row the conditions' own bitmaps allow (the class's dialogs, say), and keeps the
//! rows that pass in the read cache as a [`Filter`]; a later query with the same conditions, by
//! any user, intersects that bitmap and tests nothing (Lucene's query cache does the same for
//! its filters). Every commit patches a cached filter with the rows it wrote, testing each
//! row's new state with the same conditions, so a filter stays exact without being built again
//! (`storage/cache.rs`).
//!
//! The conditions a filter answers: `data[class_name]` with `=` or `[in]`, conditions on
//! custom fields whose operator needs the field (`=`, `lt`, `lte`, `gt`, `gte`, `in`, `ctn`:
//! a dialog without the field fails them, so the presence bitmap bounds the rows to test), and
//! `name[ctn]` patterns of more than three characters (their trigrams' bitmaps bound the rows,
//! whose names are verified once, when the filter is built), at least one of the last two.
//! Negations (`ne`, `nin`) pass dialogs without the field and stay tests.

use std::fmt::Write;
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::candidates::{bitmap_use, BitmapUse};
use super::columns::column_matches;
use super::compile::cond_key;
use super::eval::{Pred, Target, Val};
use crate::error::Error;
use crate::index::{ngram, BitmapKey};
use crate::lang::Op;
use crate::model::{DialogType, RowId};
use crate::storage::{ColumnKey, Filter, Snapshot};

/// The conditions of a query that one cached filter answers.
pub(crate) struct DataFilter {
    /// The canonical text of the conditions, in order: the cache key. It names each condition's
    /// target (with whether its field compares typed), operator and operands.
    key: String,
    /// The conditions, ordered by their text, each once.
    preds: Vec<Pred>,
}

impl DataFilter {
    /// The conditions of `preds` that a filter answers, if any is on a custom field.
    pub(crate) fn of(preds: &[Pred]) -> Option<DataFilter> {
        let mut keyed: Vec<(String, &Pred)> =
            preds.iter().filter(|p| answers(p)).map(|p| (canonical(p), p)).collect();
        if !keyed.iter().any(|(_, p)| matches!(p.target, Target::Data { .. } | Target::Name)) {
            return None;
        }
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.dedup_by(|a, b| a.0 == b.0);
        let key = keyed.iter().map(|(text, _)| text.as_str()).collect::<Vec<_>>().join("&");
        Some(DataFilter { key, preds: keyed.into_iter().map(|(_, p)| p.clone()).collect() })
    }

    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The conditions as explain names them (`data[class_name], data[progress][gte]`).
    pub(crate) fn describe(&self) -> String {
        let names: Vec<String> = self.preds.iter().map(|p| cond_key(&p.field, p.op)).collect();
        names.join(", ")
    }

    /// The filter on `snap`: the rows its conditions' bitmaps allow, tested on the custom
    /// fields' columns. `None` when the snapshot has no columns (it does not know its cache
    /// version); then the query tests its candidates as it would without a filter.
    pub(crate) fn build(&self, snap: &Snapshot) -> Result<Option<Arc<Filter>>, Error> {
        let mut bitmaps = Vec::with_capacity(self.preds.len());
        let mut tests = Vec::new();
        let mut row_tests = Vec::new();
        for pred in &self.preds {
            match bitmap_use(snap, pred, None)? {
                BitmapUse::Exact(b) => bitmaps.push(b),
                // A name pattern past three characters: its n-grams' rows, each name verified.
                BitmapUse::Within(b) if pred.target == Target::Name => {
                    bitmaps.push(b);
                    row_tests.push(pred);
                }
                BitmapUse::Within(b) => {
                    let Some(key) = pred.target.test_column() else { return Ok(None) };
                    let Some(column) = snap.column(&key)? else { return Ok(None) };
                    bitmaps.push(b);
                    tests.push((pred, column));
                }
                _ => return Ok(None),
            }
        }
        // The smallest bitmap first: each intersection is then at most that large.
        bitmaps.sort_by_key(|b| b.len());
        let mut bitmaps = bitmaps.into_iter();
        let Some(first) = bitmaps.next() else { return Ok(None) };
        let rows = bitmaps.fold((*first).clone(), |rows, b| rows & &*b);
        let (passing, _) = column_matches(&rows, &tests, true)?;
        let mut kept = Vec::with_capacity(passing.len());
        for rid in passing {
            if row_tests.is_empty() || {
                let row = snap.live_row(RowId(rid))?;
                row_tests.iter().all(|p| p.test_row(&row))
            } {
                kept.push(rid);
            }
        }
        let rows = RoaringBitmap::from_sorted_iter(kept)
            .map_err(|_| Error::corrupted("a filter's rows came out of order"))?;
        let public = snap.bitmap(&BitmapKey::Type(DialogType::PublicGroup.code()))?;
        // The last message dates of the rows that have one (the has-message bitmap says which:
        // the column's value for "no message" is also a possible date).
        let Some(dates) = snap.column(&ColumnKey::LastMessage)? else { return Ok(None) };
        let with_message = &rows & &*snap.bitmap(&BitmapKey::HasMessage)?;
        let last_message_of: Vec<(u32, i64)> =
            with_message.iter().map(|rid| (rid, dates.time(rid))).collect();
        let mut by_last_message: Vec<(i64, u32)> =
            last_message_of.iter().map(|&(rid, t)| (t, rid)).collect();
        by_last_message.sort_unstable();
        let preds = self.preds.clone();
        let test = Arc::new(move |row: &crate::storage::Row| preds.iter().all(|p| p.test_row(row)));
        Ok(Some(Arc::new(Filter {
            own: Arc::new(&rows - &*public),
            public: Arc::new(rows & &*public),
            test,
            by_last_message: Arc::new(by_last_message),
            last_message_of: Arc::new(last_message_of),
        })))
    }
}

/// Whether a filter answers `pred` (every filter a query uses answers all such conditions of
/// the query: [`DataFilter::of`] takes them all).
pub(super) fn answers(pred: &Pred) -> bool {
    match pred.target {
        Target::ClassName => matches!(pred.op, Op::Eq | Op::In),
        // A pattern of up to three characters is an n-gram: its bitmap answers it exactly.
        Target::Name => pred.op == Op::Ctn && !name_gram_exact(pred),
        Target::Data { .. } => {
            matches!(pred.op, Op::Eq | Op::Lt | Op::Lte | Op::Gt | Op::Gte | Op::In | Op::Ctn)
        }
        _ => false,
    }
}

/// Whether a `ctn` pattern is answered exactly by its n-gram's bitmap.
fn name_gram_exact(pred: &Pred) -> bool {
    match pred.vals.first() {
        Some(Val::Str(p)) => ngram::pattern_grams(p).1,
        _ => true,
    }
}

/// A condition's canonical text: equal texts test rows alike. Floats are written by their bits
/// (every value its own text, as `total_cmp` orders them).
fn canonical(pred: &Pred) -> String {
    let mut text = format!("{:?} {}", pred.target, pred.op);
    for val in &pred.vals {
        let _ = match val {
            Val::Float(f) => write!(text, " f{:x}", f.to_bits()),
            other => write!(text, " {other:?}"),
        };
    }
    text
}
