//! Predicates tested on in-memory columns instead of rows: the inner loop shared by the
//! column sort (`access/sort_columns.rs`) and the data filters (`filter.rs`).

use std::sync::Arc;

use roaring::RoaringBitmap;

use super::eval::Pred;
use crate::error::Error;
use crate::storage::Column;

/// The candidates whose values pass every test (kept only when `keep`; with `keep` false, the
/// first of them or none) and how many pass. Each value is found by a forward read of its
/// column as the candidates ascend; a missing value passes only the negations (`ne`, `nin`), as
/// `test_stored(None)` says.
pub(crate) fn column_matches(
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

pub(crate) fn beyond_the_rows(row: u32) -> Error {
    Error::corrupted(format!("a bitmap holds row {row}, beyond the rows this snapshot has"))
}
