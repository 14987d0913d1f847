//! [`Probe`]: candidates tested against the residual predicates, each row read once and
//! counted, and the [`Hit`]s they give; what every access path shares.

use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::error::Error;
use crate::index::BitmapKey;
use crate::lang::Direction;
use crate::model::{Row, RowId};
use crate::query::eval::{Pred, RowKeys, SortKey};
use crate::query::plan::{Part, Plan};
use crate::storage::Snapshot;

/// What one part read, for explain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PartStats {
    pub entries_walked: u64,
    pub rows_read: u64,
    pub matched: u64,
}

/// A matching row: its sort key, its id, and the row itself (kept for the page).
pub(crate) struct Hit {
    pub(crate) key: SortKey,
    pub(crate) rid: RowId,
    pub(crate) row: Arc<Row>,
}

/// Candidate evaluation: reads each candidate's row once and counts what it read.
pub(crate) struct Probe<'a> {
    pub(crate) snap: &'a Snapshot,
    pub(crate) preds: &'a [Pred],
    pub(crate) plan: &'a Plan,
    pub(crate) stats: PartStats,
    /// The sort value of the last row of the page the parts before this one filled, if they
    /// did: a walk stops at an entry past it, which cannot be on the page.
    pub(crate) beyond: Option<i64>,
}

impl Probe<'_> {
    /// Whether a sort value lies past the page the parts before this one filled.
    pub(crate) fn is_beyond(&self, t: i64) -> bool {
        self.beyond.is_some_and(|b| match self.plan.order.dir {
            Direction::Desc => t < b,
            Direction::Asc => t > b,
        })
    }

    /// Whether a match goes on the page: with a keyset cursor, only those after it in order.
    pub(crate) fn keep(&self, hit: &Hit) -> bool {
        self.plan.after.as_ref().is_none_or(|after| {
            hit.key.cmp_in(after, self.plan.order.dir) == std::cmp::Ordering::Greater
        })
    }

    /// Tests a candidate; on a match returns its hit.
    pub(crate) fn test(&mut self, rid: RowId) -> Result<Option<Hit>, Error> {
        let row = self.snap.live_row(rid)?;
        self.stats.rows_read += 1;
        Ok(self.test_row(rid, row))
    }

    /// Tests a row already read: key conditions first, then the others.
    pub(crate) fn test_row(&mut self, rid: RowId, row: Arc<Row>) -> Option<Hit> {
        let keys = RowKeys::of(&row);
        let pass = self.preds.iter().all(|p| {
            if p.needs_row() {
                p.test_row(&row)
            } else {
                p.test_keys(&keys)
            }
        });
        if !pass {
            return None;
        }
        self.stats.matched += 1;
        Some(Hit { key: self.plan.order.key_from_row(&row), rid, row })
    }

    /// Tests every row of `rows`, collecting matches.
    pub(crate) fn test_all(
        &mut self,
        rows: impl Iterator<Item = u32>,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, Error> {
        let mut total = 0;
        for rid in rows {
            if let Some(hit) = self.test(RowId(rid))? {
                total += 1;
                if self.keep(&hit) {
                    hits.push(hit);
                }
            }
        }
        Ok(total)
    }

    /// Counts the matches among `rows` without keeping them.
    pub(crate) fn count(&mut self, rows: &RoaringBitmap) -> Result<u64, Error> {
        let mut total = 0;
        for rid in rows {
            total += u64::from(self.test(RowId(rid))?.is_some());
        }
        Ok(total)
    }

    /// The candidates without a message: they sort below every message date.
    pub(crate) fn without_message(&self, part: &Part) -> Result<RoaringBitmap, Error> {
        Ok(&*part.candidates - &*self.snap.bitmap(&BitmapKey::HasMessage)?)
    }

    /// A walk's total: the candidates' cardinality when exact, what it counted when it saw
    /// every candidate, otherwise a counting pass.
    pub(crate) fn finish_total(
        &mut self,
        part: &Part,
        complete: bool,
        counted: u64,
    ) -> Result<u64, Error> {
        if part.exact {
            Ok(part.candidates.len())
        } else if complete {
            // A walk bounded by a time range skips the dialogs without a message, but the
            // range's own conditions (which stay in the residual) refuse those anyway.
            Ok(counted)
        } else {
            self.count(&part.candidates)
        }
    }
}
