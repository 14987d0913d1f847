//! [`SortColumns`]: the sort keys and residual tests read from in-memory columns instead of
//! rows; only the page's rows are read.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::sort_candidates::SortCandidates;
use super::{AccessPath, Hit, Probe, Shape};
use crate::error::Error;
use crate::lang::Direction;
use crate::model::RowId;
use crate::query::columns::{beyond_the_rows, column_matches};
use crate::query::plan::{Access, Part};

/// How many candidates a column path reads for the cost of one row.
const COLUMN_SPEEDUP: u64 = 4;

/// As [`SortCandidates`], for thousands of candidates when every residual test is on a field
/// with a column: the sort keys and the tests come from columns (`storage/columns.rs`), worth
/// their one-off build only from [`Shape::columns_from`] candidates on.
pub(crate) struct SortColumns;

impl AccessPath for SortColumns {
    fn cost(&self, shape: &Shape<'_>) -> Option<(Access, u64)> {
        let plan = shape.plan;
        let columns = plan.order.target.sort_column().is_some()
            && plan.residual.iter().all(|p| p.target.test_column().is_some())
            && shape.n() >= shape.columns_from;
        // The column values of every candidate, then the rows of the page.
        let n = shape.n();
        let cost = n / COLUMN_SPEEDUP + n.min(plan.needed() as u64);
        columns.then_some((Access::SortColumns, cost))
    }

    fn counts_by_testing(&self) -> bool {
        false
    }

    fn run(
        &self,
        probe: &mut Probe<'_>,
        part: &Part,
        need: usize,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, Error> {
        if let Some(total) = sort_columns(probe, part, need, hits)? {
            return Ok(total);
        }
        // Without columns, the same work on rows (a count included).
        if need == 0 && !part.exact {
            return probe.count(&part.candidates);
        }
        SortCandidates.run(probe, part, need, hits)
    }
}

/// [`Access::SortColumns`]: finds the matches by testing each candidate's values in the
/// residual conditions' columns, keeps the matches' sort values from the sort
/// field's column, and reads the rows of the
/// first `need` only, with every match that ties the last of them on the column value (the
/// exact order, which may break such ties by `_id` or `created_at`, is the rows' to decide).
/// Returns the total, or `None` when the snapshot has no columns: then the rows answer.
fn sort_columns(
    probe: &mut Probe<'_>,
    part: &Part,
    need: usize,
    hits: &mut Vec<Hit>,
) -> Result<Option<u64>, Error> {
    let snap = probe.snap;
    let plan = probe.plan;
    let Some(sort_key) = plan.order.target.sort_column() else { return Ok(None) };
    let build = plan.build_columns;
    let Some(sort) = snap.column_if(&sort_key, build)? else { return Ok(None) };
    let mut tests = Vec::with_capacity(probe.preds.len());
    for pred in probe.preds {
        let Some(key) = pred.target.test_column() else { return Ok(None) };
        let Some(column) = snap.column_if(&key, build)? else { return Ok(None) };
        tests.push((pred, column));
    }
    if let Some(max) = part.candidates.max().filter(|max| !sort.covers(*max)) {
        return Err(beyond_the_rows(max));
    }
    let (rows, total) = column_matches(&part.candidates, &tests, need > 0)?;
    // The sort values in a loop of their own: each is a cache miss in a column of megabytes,
    // and a loop that does nothing else lets the processor wait for many at once.
    let mut matches: Vec<(i64, u32)> = rows.iter().map(|&rid| (sort.time(rid), rid)).collect();
    probe.stats.entries_walked += part.candidates.len();
    probe.stats.matched += total;
    if let Some(after) = plan.after_time() {
        after_cursor(probe, &mut matches, after.unwrap_or(i64::MIN))?;
    }
    keep_best(&mut matches, need, plan.order.dir);
    // Past the page the other parts filled: never on the page, so no row to read.
    matches.retain(|&(t, _)| !probe.is_beyond(t));
    for (_, rid) in matches {
        let row = snap.live_row(RowId(rid))?;
        probe.stats.rows_read += 1;
        hits.push(Hit { key: plan.order.key_from_row(&row), rid: RowId(rid), row });
    }
    Ok(Some(if part.exact { part.candidates.len() } else { total }))
}

/// Keeps the matches after a keyset cursor whose dialog's column value is `at` (`i64::MIN`
/// stands for no message, as in the column): those past it by value, and of those at it, the
/// ones whose row sorts after the cursor's (ties are few; their rows are read).
fn after_cursor(
    probe: &mut Probe<'_>,
    matches: &mut Vec<(i64, u32)>,
    at: i64,
) -> Result<(), Error> {
    let dir = probe.plan.order.dir;
    let mut kept = Vec::with_capacity(matches.len());
    for &(t, rid) in matches.iter() {
        let past = match dir {
            Direction::Asc => t.cmp(&at),
            Direction::Desc => at.cmp(&t),
        };
        match past {
            std::cmp::Ordering::Greater => kept.push((t, rid)),
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => {
                let row = probe.snap.live_row(RowId(rid))?;
                probe.stats.rows_read += 1;
                let hit = Hit { key: probe.plan.order.key_from_row(&row), rid: RowId(rid), row };
                if probe.keep(&hit) {
                    kept.push((t, rid));
                }
            }
        }
    }
    *matches = kept;
    Ok(())
}

/// Keeps the first `need` of `matches` in `dir` order of their column values, with every match
/// that ties the last of them (the rows decide the order of ties), in no particular order.
fn keep_best(matches: &mut Vec<(i64, u32)>, need: usize, dir: Direction) {
    if need == 0 || matches.len() <= need {
        return;
    }
    // A rank that is larger for a value that comes first.
    let rank = |value: i64| match dir {
        Direction::Desc => value,
        Direction::Asc => !value,
    };
    // The best `need` ranks so far, the worst of them on top of a heap. Past the first few
    // hundred matches most fall below it, one predictable comparison each, where a selection
    // moves every match several times.
    let mut best: BinaryHeap<Reverse<i64>> =
        matches[..need].iter().map(|m| Reverse(rank(m.0))).collect();
    for m in &matches[need..] {
        let r = rank(m.0);
        if let Some(mut worst) = best.peek_mut().filter(|worst| r > worst.0) {
            *worst = Reverse(r);
        }
    }
    let Some(&Reverse(boundary)) = best.peek() else { return };
    matches.retain(|m| rank(m.0) >= boundary);
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// `keep_best` keeps exactly what a full sort would: the first `need` values in order
        /// and every value tied with the last of them (values drawn from a small range, so ties
        /// at the boundary are common).
        #[test]
        fn keep_best_keeps_the_first_and_their_ties(
            values in proptest::collection::vec(-20i64..20, 0..300),
            need in 0usize..120,
            asc in proptest::bool::ANY,
        ) {
            let dir = if asc { Direction::Asc } else { Direction::Desc };
            let mut matches: Vec<(i64, u32)> =
                values.iter().enumerate().map(|(i, v)| (*v, i as u32)).collect();
            let mut sorted = values.clone();
            sorted.sort_unstable_by(|a, b| if asc { a.cmp(b) } else { b.cmp(a) });
            let mut expected: Vec<u32> = match sorted.get(need.wrapping_sub(1)) {
                Some(&boundary) if need > 0 && values.len() > need => matches
                    .iter()
                    .filter(|m| if asc { m.0 <= boundary } else { m.0 >= boundary })
                    .map(|m| m.1)
                    .collect(),
                _ => matches.iter().map(|m| m.1).collect(),
            };
            keep_best(&mut matches, need, dir);
            let mut kept: Vec<u32> = matches.iter().map(|m| m.1).collect();
            kept.sort_unstable();
            expected.sort_unstable();
            proptest::prop_assert_eq!(kept, expected);
        }
    }
}
