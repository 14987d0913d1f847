//! [`SortCandidates`]: read every candidate's row, test it, and select the top of the matches.

use super::{AccessPath, Hit, Probe, Shape};
use crate::error::Error;
use crate::query::plan::{Access, Part};

/// Reads the sort key of every candidate and selects the top `skip + limit`; its cost grows
/// with the candidates. It can answer every part.
pub(crate) struct SortCandidates;

impl AccessPath for SortCandidates {
    fn cost(&self, shape: &Shape<'_>) -> Option<(Access, u64)> {
        Some((Access::SortCandidates, shape.n()))
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
