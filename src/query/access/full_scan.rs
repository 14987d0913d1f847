//! [`FullScan`]: every row read and every condition tested; the oracle the other paths are
//! checked against, taken only when forced.

use std::sync::Arc;

use super::{AccessPath, Hit, Probe, Shape};
use crate::error::Error;
use crate::model::UserId;
use crate::query::explain::PartScope;
use crate::query::plan::{Access, Part};
use crate::storage::StoredRow;

/// Reads every row and tests every condition (the probe holds them all).
pub(crate) struct FullScan;

impl AccessPath for FullScan {
    fn cost(&self, shape: &Shape<'_>) -> Option<(Access, u64)> {
        Some((Access::FullScan, shape.meta.live_total()))
    }

    fn counts_by_testing(&self) -> bool {
        false
    }

    fn run(
        &self,
        probe: &mut Probe<'_>,
        part: &Part,
        _: usize,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, Error> {
        full_scan(probe, part.scope, hits)
    }
}

fn full_scan(probe: &mut Probe<'_>, scope: PartScope, hits: &mut Vec<Hit>) -> Result<u64, Error> {
    let viewer = probe.plan.viewer.0;
    let mut total = 0;
    let rows: Vec<_> = probe.snap.all_rows()?.collect::<Result<_, _>>()?;
    for (rid, stored) in rows {
        let StoredRow::Live(row) = stored else {
            continue;
        };
        probe.stats.entries_walked += 1;
        let in_scope = match scope {
            PartScope::Own => row.occupants.binary_search(&UserId(viewer)).is_ok(),
            PartScope::Public => row.is_public(),
        };
        if in_scope {
            if let Some(hit) = probe.test_row(rid, Arc::new(row)) {
                total += 1;
                if probe.keep(&hit) {
                    hits.push(hit);
                }
            }
        }
    }
    Ok(total)
}
