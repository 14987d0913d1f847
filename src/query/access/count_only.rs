//! [`CountOnly`]: a `count=1` query whose candidates are exact is answered by their count.

use super::{AccessPath, Hit, Probe, Shape};
use crate::error::Error;
use crate::query::plan::{Access, Part};

/// The count from the bitmap, no rows read.
pub(crate) struct CountOnly;

impl AccessPath for CountOnly {
    fn cost(&self, shape: &Shape<'_>) -> Option<(Access, u64)> {
        (shape.plan.count_only && shape.exact).then_some((Access::CountOnly, 0))
    }

    fn counts_by_testing(&self) -> bool {
        false
    }

    fn run(
        &self,
        _: &mut Probe<'_>,
        part: &Part,
        _: usize,
        _: &mut Vec<Hit>,
    ) -> Result<u64, Error> {
        Ok(part.len())
    }
}
