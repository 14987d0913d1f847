//! [`SortCandidates`]: read every candidate's row, test it, and select the top of the matches.

use super::{AccessPath, Hit, Probe, Shape};
use crate::error::Error;
use crate::query::plan::{Access, Part};

/// Reads the sort key of every candidate and selects the top `skip + limit`; its cost grows
/// with the candidates. It can answer every part.
pub(crate) struct SortCandidates;

/// What reading and decoding a candidate's row costs, in walked index entries, in a warm
/// cache (a row at about a tenth of a microsecond, an in-memory entry at a few hundredths)...
const ROW_COST: u64 = 4;

/// ... and before the cache is warm, when rows come from redb (a few microseconds each, where
/// a walked entry of a B-tree costs a few tenths).
const COLD_ROW_COST: u64 = 24;

impl AccessPath for SortCandidates {
    fn cost(&self, shape: &Shape<'_>) -> Option<(Access, u64)> {
        let row = if shape.cold { COLD_ROW_COST } else { ROW_COST };
        Some((Access::SortCandidates, shape.n().saturating_mul(row)))
    }

    fn run(
        &self,
        probe: &mut Probe<'_>,
        part: &Part,
        _need: usize,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, Error> {
        let total = probe.test_all(part.candidates.iter(), hits)?;
        Ok(if part.exact { part.candidates.len() } else { total })
    }
}
