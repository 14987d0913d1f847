//! The executor: runs each part of a [`Plan`] on its snapshot, merges the parts in sort order and
//! cuts the page.
//!
//! Every access path yields the same matches in the same total order; they differ only in what
//! they read. A walk stops once it holds `skip + limit` matches and the sort value changes, so
//! ties at the page boundary are all seen and ordered by `_id`. The total comes from the
//! candidates' cardinality when they are exact, otherwise from testing every candidate.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::eval::{Pred, RowKeys, SortKey};
use super::plan::{Access, Part, Plan, Scope};
use crate::error::Error;
use crate::index::BitmapKey;
use crate::lang::Direction;
use crate::storage::{Column, Entries, Row, RowId, Snapshot, StoredRow, TimeIndex};

/// What one part read, for explain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PartStats {
    pub entries_walked: u64,
    pub rows_read: u64,
    pub matched: u64,
}

/// The result of executing a plan: the total and the page's rows in order.
pub(crate) struct Outcome {
    pub total: u64,
    pub page: Vec<(RowId, Arc<Row>)>,
    pub stats: Vec<PartStats>,
}

/// A matching row: its sort key, its id, and the row itself (kept for the page).
pub(crate) struct Hit {
    key: SortKey,
    rid: RowId,
    row: Arc<Row>,
}

/// Candidate evaluation: reads each candidate's row once and counts what it read.
struct Eval<'a> {
    snap: &'a Snapshot,
    preds: &'a [Pred],
    plan: &'a Plan,
    stats: PartStats,
}

impl Eval<'_> {
    /// Tests a candidate; on a match returns its hit.
    fn test(&mut self, rid: RowId) -> Result<Option<Hit>, Error> {
        let row = self.snap.live_row(rid)?;
        self.stats.rows_read += 1;
        Ok(self.test_row(rid, row))
    }

    /// Tests a row already read: key conditions first, then the others.
    fn test_row(&mut self, rid: RowId, row: Arc<Row>) -> Option<Hit> {
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
    fn test_all(
        &mut self,
        rows: impl Iterator<Item = u32>,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, Error> {
        let mut total = 0;
        for rid in rows {
            if let Some(hit) = self.test(RowId(rid))? {
                total += 1;
                hits.push(hit);
            }
        }
        Ok(total)
    }

    /// Counts the matches among `rows` without keeping them.
    fn count(&mut self, rows: &RoaringBitmap) -> Result<u64, Error> {
        let mut total = 0;
        for rid in rows {
            total += u64::from(self.test(RowId(rid))?.is_some());
        }
        Ok(total)
    }
}

/// Keeps the first `n` of `hits` in result order.
fn top(hits: &mut Vec<Hit>, n: usize, dir: Direction) {
    let cmp = |a: &Hit, b: &Hit| a.key.cmp_in(&b.key, dir);
    // A walk yields its hits in order but for ties of the sort value: check before sorting.
    if !hits.is_sorted_by(|a, b| cmp(a, b).is_le()) {
        if hits.len() > n && n > 0 {
            hits.select_nth_unstable_by(n - 1, cmp);
            hits.truncate(n);
        }
        // Keys are unique (ties break by _id), so an unstable sort gives the one order, without
        // the stable sort's scratch buffer.
        hits.sort_unstable_by(cmp);
    }
    hits.truncate(n);
}

/// Merges two runs in result order, keeping the first `n`.
fn merge(a: Vec<Hit>, b: Vec<Hit>, n: usize, dir: Direction) -> Vec<Hit> {
    if a.is_empty() || b.is_empty() {
        let mut out = if a.is_empty() { b } else { a };
        out.truncate(n);
        return out;
    }
    let mut out = Vec::with_capacity(n.min(a.len() + b.len()));
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while out.len() < n {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.key.cmp_in(&y.key, dir).is_le(),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
    out
}

/// Runs a plan.
pub(crate) fn execute(snap: &Snapshot, plan: &Plan, all_preds: &[Pred]) -> Result<Outcome, Error> {
    let need = plan.needed();
    let mut hits: Vec<Hit> = Vec::new();
    let mut total = 0;
    let mut stats = Vec::with_capacity(plan.parts.len());
    for part in &plan.parts {
        let preds = if part.access == Access::FullScan { all_preds } else { &plan.residual[..] };
        let mut eval = Eval { snap, preds, plan, stats: PartStats::default() };
        let mut part_hits = Vec::with_capacity(need.min(part.candidates.len() as usize) + 8);
        total += run_part(&mut eval, part, need, &mut part_hits)?;
        top(&mut part_hits, need, plan.order.dir);
        // Each part is in order: merge them, keeping the first `need`.
        hits = merge(hits, part_hits, need, plan.order.dir);
        stats.push(eval.stats);
    }
    let page = hits.into_iter().skip(plan.skip as usize).map(|h| (h.rid, h.row)).collect();
    Ok(Outcome { total, page, stats })
}

/// The candidates without a message: they sort below every message date.
fn without_message(eval: &Eval<'_>, part: &Part) -> Result<RoaringBitmap, Error> {
    Ok(&*part.candidates - &*eval.snap.bitmap(&BitmapKey::HasMessage)?)
}

/// Produces a part's matches (at least its first `need` in order) and returns its total.
fn run_part(
    eval: &mut Eval<'_>,
    part: &Part,
    need: usize,
    hits: &mut Vec<Hit>,
) -> Result<u64, Error> {
    let dir = eval.plan.order.dir;
    if part.access == Access::SortColumns {
        if let Some(total) = sort_columns(eval, part, need, hits)? {
            return Ok(total);
        }
    }
    if need == 0 && !part.exact && !matches!(part.access, Access::Empty | Access::FullScan) {
        return eval.count(&part.candidates);
    }
    match &part.access {
        Access::Empty => Ok(0),
        Access::CountOnly => Ok(part.candidates.len()),
        // Without columns (see `sort_columns`), the same work on rows.
        Access::SortCandidates | Access::SortColumns => {
            let total = eval.test_all(part.candidates.iter(), hits)?;
            Ok(if part.exact { part.candidates.len() } else { total })
        }
        Access::FullScan => full_scan(eval, part.scope, hits),
        Access::WalkRows => {
            let rows: Box<dyn Iterator<Item = u32>> = match dir {
                Direction::Asc => Box::new(part.candidates.iter()),
                Direction::Desc => Box::new(part.candidates.iter().rev()),
            };
            let mut complete = true;
            let mut boundary: Option<i64> = None;
            let mut counted = 0;
            for rid in rows {
                let row = eval.snap.live_row(RowId(rid))?;
                eval.stats.rows_read += 1;
                let created_at = row.created_at;
                if boundary.is_some_and(|b| b != created_at) {
                    complete = false;
                    break;
                }
                eval.stats.entries_walked += 1;
                if let Some(hit) = eval.test_row(RowId(rid), row) {
                    counted += 1;
                    hits.push(hit);
                    if hits.len() >= need && boundary.is_none() {
                        boundary = Some(created_at);
                    }
                }
            }
            finish_total(eval, part, complete, counted)
        }
        Access::WalkTime { index, lo, hi } => {
            let by_last_message =
                matches!(index, TimeIndex::LastMessage | TimeIndex::PublicLastMessage);
            let probe = !(part.all_public && index.is_public());
            let snap = eval.snap;
            let entries = || snap.walk(*index, *lo, *hi, dir);
            walk(eval, part, need, hits, (*lo, *hi, by_last_message, probe), entries)
        }
        Access::WalkFilter { lo, hi } => {
            // The planner walks a filter only when the plan has one.
            let filter = eval.plan.filter.clone();
            let entries = || -> Result<Entries<'_, (i64, RowId)>, Error> {
                Ok(filter
                    .map_or_else(|| Box::new(std::iter::empty()) as _, |f| f.walk(*lo, *hi, dir)))
            };
            walk(eval, part, need, hits, (*lo, *hi, true, true), entries)
        }
    }
}

/// [`Access::WalkTime`] and [`Access::WalkFilter`]: walks `entries` (time and row, in sort order
/// over `[lo, hi]`) probing the candidates (unless `probe` is false: every entry is one), and
/// stops after `need` matches once the time changes. `by_last_message` says the entries are
/// last message dates: candidates without a message then sort below every entry.
fn walk<'s>(
    eval: &mut Eval<'s>,
    part: &Part,
    need: usize,
    hits: &mut Vec<Hit>,
    (lo, hi, by_last_message, probe): (i64, i64, bool, bool),
    entries: impl FnOnce() -> Result<Entries<'s, (i64, RowId)>, Error>,
) -> Result<u64, Error> {
    let dir = eval.plan.order.dir;
    // Candidates without a message sort below every message date: before the walk in
    // ascending order, after it in descending order. They can only match when no condition
    // bounds the last message date.
    let nulls_possible = by_last_message && lo == i64::MIN && hi == i64::MAX;
    let mut counted = 0;
    if dir == Direction::Asc && nulls_possible {
        counted += eval.test_all(without_message(eval, part)?.iter(), hits)?;
    }
    let mut complete = true;
    let mut boundary: Option<i64> = None;
    if !(dir == Direction::Asc && hits.len() >= need && need > 0) {
        for entry in entries()? {
            let (t, rid) = entry?;
            if boundary.is_some_and(|b| b != t) {
                complete = false;
                break;
            }
            eval.stats.entries_walked += 1;
            if probe && !part.candidates.contains(rid.0) {
                continue;
            }
            if let Some(hit) = eval.test(rid)? {
                counted += 1;
                hits.push(hit);
                if hits.len() >= need && boundary.is_none() {
                    boundary = Some(t);
                }
            }
        }
    } else {
        complete = false;
    }
    if dir == Direction::Desc && complete && nulls_possible {
        counted += eval.test_all(without_message(eval, part)?.iter(), hits)?;
    }
    finish_total(eval, part, complete, counted)
}

/// [`Access::SortColumns`]: finds the matches by testing each candidate's values in the
/// residual conditions' columns, keeps the matches' sort values from the sort
/// field's column, and reads the rows of the
/// first `need` only, with every match that ties the last of them on the column value (the
/// exact order, which may break such ties by `_id` or `created_at`, is the rows' to decide).
/// Returns the total, or `None` when the snapshot has no columns: then the rows answer.
fn sort_columns(
    eval: &mut Eval<'_>,
    part: &Part,
    need: usize,
    hits: &mut Vec<Hit>,
) -> Result<Option<u64>, Error> {
    let snap = eval.snap;
    let plan = eval.plan;
    let Some(sort_key) = plan.order.target.sort_column() else { return Ok(None) };
    let Some(sort) = snap.column(&sort_key)? else { return Ok(None) };
    let mut tests = Vec::with_capacity(eval.preds.len());
    for pred in eval.preds {
        let Some(key) = pred.target.test_column() else { return Ok(None) };
        let Some(column) = snap.column(&key)? else { return Ok(None) };
        tests.push((pred, column));
    }
    if let Some(max) = part.candidates.max().filter(|max| !sort.covers(*max)) {
        return Err(beyond_the_rows(max));
    }
    let (rows, total) = column_matches(&part.candidates, &tests, need > 0)?;
    // The sort values in a loop of their own: each is a cache miss in a column of megabytes,
    // and a loop that does nothing else lets the processor wait for many at once.
    let mut matches: Vec<(i64, u32)> = rows.iter().map(|&rid| (sort.time(rid), rid)).collect();
    eval.stats.entries_walked += part.candidates.len();
    eval.stats.matched += total;
    keep_best(&mut matches, need, plan.order.dir);
    for (_, rid) in matches {
        let row = snap.live_row(RowId(rid))?;
        eval.stats.rows_read += 1;
        hits.push(Hit { key: plan.order.key_from_row(&row), rid: RowId(rid), row });
    }
    Ok(Some(if part.exact { part.candidates.len() } else { total }))
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

/// The candidates whose values pass every test (kept only when `keep`; with `keep` false, the
/// first of them or none) and how many pass. Each value is found by a forward read of its
/// column as the candidates ascend; a missing value passes only the negations (`ne`, `nin`), as
/// `test_stored(None)` says.
pub(super) fn column_matches(
    candidates: &RoaringBitmap,
    tests: &[(&Pred, Arc<Column>)],
    keep: bool,
) -> Result<(Vec<u32>, u64), Error> {
    if let Some(max) = candidates.max() {
        if tests.iter().any(|(_, column)| !column.covers(max)) {
            return Err(beyond_the_rows(max));
        }
    }
    let mut columns: Vec<_> = tests.iter().map(|(pred, column)| (*pred, column.values())).collect();
    // Without a branch on the outcome (random values mispredict half the time): every
    // candidate is written, and kept by moving on only if it passed.
    let mut rows = vec![0; if keep { candidates.len() as usize } else { 1 }];
    let (mut total, keep) = (0, usize::from(keep));
    // The candidates a block at a time: roaring's bulk read costs a fraction of its per-row
    // iterator, which dispatches on the container kind for every row.
    let (mut block, mut ascending) = ([0; 256], candidates.iter());
    loop {
        let rids = ascending.next_many(&mut block);
        if rids.is_empty() {
            break;
        }
        for &rid in rids.iter() {
            let pass = columns
                .iter_mut()
                .fold(true, |pass, (pred, values)| pass & pred.test_stored(values.get(rid)));
            rows[total * keep] = rid;
            total += usize::from(pass);
        }
    }
    rows.truncate(total * keep);
    Ok((rows, total as u64))
}

fn beyond_the_rows(row: u32) -> Error {
    Error::corrupted(format!("a bitmap holds row {row}, beyond the rows this snapshot has"))
}

/// A walk's total: the candidates' cardinality when exact, what it counted when it saw every
/// candidate, otherwise a counting pass.
fn finish_total(
    eval: &mut Eval<'_>,
    part: &Part,
    complete: bool,
    counted: u64,
) -> Result<u64, Error> {
    if part.exact {
        Ok(part.candidates.len())
    } else if complete {
        // A walk bounded by a time range skips the dialogs without a message, but the range's
        // own conditions (which stay in the residual) refuse those anyway.
        Ok(counted)
    } else {
        eval.count(&part.candidates)
    }
}

fn full_scan(eval: &mut Eval<'_>, scope: Scope, hits: &mut Vec<Hit>) -> Result<u64, Error> {
    let viewer = eval.plan.viewer.0;
    let mut total = 0;
    let rows: Vec<_> = eval.snap.all_rows()?.collect::<Result<_, _>>()?;
    for (rid, stored) in rows {
        let StoredRow::Live(row) = stored else {
            continue;
        };
        eval.stats.entries_walked += 1;
        let in_scope = match scope {
            Scope::Own => row.occupants.binary_search(&viewer).is_ok(),
            Scope::Public => row.is_public(),
        };
        if in_scope {
            if let Some(hit) = eval.test_row(rid, Arc::new(row)) {
                total += 1;
                hits.push(hit);
            }
        }
    }
    Ok(total)
}

/// What `explain` shows: the plan and what executing it read.
#[derive(Clone, Debug)]
pub struct Explain {
    /// The query explained (the plan does not keep it: only explain prints it).
    pub(crate) query: crate::lang::Query,
    pub(crate) plan: Plan,
    pub(crate) stats: Vec<PartStats>,
    pub(crate) total: u64,
}

impl Explain {
    /// The matches the query found.
    pub fn total_entries(&self) -> u64 {
        self.total
    }

    /// The access path of each part, in plain words, as [`Display`](fmt::Display) prints them.
    pub fn access_paths(&self) -> Vec<String> {
        self.plan.parts.iter().map(|p| p.access.to_string()).collect()
    }

    /// Rows read over all parts.
    pub fn rows_read(&self) -> u64 {
        self.stats.iter().map(|s| s.rows_read).sum()
    }
}

impl fmt::Display for Explain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.plan;
        let query = self.query.to_string();
        writeln!(f, "query: {}", if query.is_empty() { "(all)" } else { &query })?;
        writeln!(f, "viewer: {}", p.viewer)?;
        // The default order is by last message.
        let field = self
            .query
            .sort
            .as_ref()
            .map_or("last_message_date_sent".to_owned(), |s| s.field.to_string());
        let dir = match p.order.dir {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        };
        writeln!(
            f,
            "order: {field} {dir}{}, ties by _id {dir}",
            if p.order.default { " (default)" } else { "" }
        )?;
        writeln!(
            f,
            "page: skip {} limit {}{}",
            p.skip,
            p.limit,
            if p.count_only { " (count only)" } else { "" }
        )?;
        for note in &p.notes {
            writeln!(f, "condition {note}")?;
        }
        for (part, stats) in p.parts.iter().zip(&self.stats) {
            writeln!(
                f,
                "part {}: {} = {} candidates{}",
                part.scope,
                part.formula,
                part.candidates.len(),
                if part.exact { " (exact)" } else { "" }
            )?;
            writeln!(f, "  access: {} (estimate {} reads)", part.access, part.estimate)?;
            writeln!(
                f,
                "  read: {} index entries walked, {} rows read, {} matched",
                stats.entries_walked, stats.rows_read, stats.matched
            )?;
        }
        write!(f, "total_entries: {}", self.total)
    }
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
