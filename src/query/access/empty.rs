//! [`Empty`]: a part without candidates reads nothing.

use super::{AccessPath, Hit, Probe, Shape};
use crate::error::Error;
use crate::query::plan::{Access, Part};

/// Nothing to read: the part has no candidates.
pub(crate) struct Empty;

impl AccessPath for Empty {
    fn cost(&self, shape: &Shape<'_>) -> Option<(Access, u64)> {
        (shape.n() == 0).then_some((Access::Empty, 0))
    }

    fn counts_by_testing(&self) -> bool {
        false
    }

    fn run(&self, _: &mut Probe<'_>, _: &Part, _: usize, _: &mut Vec<Hit>) -> Result<u64, Error> {
        Ok(0)
    }
}
