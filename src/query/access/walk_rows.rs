//! [`WalkRows`]: `created_at` order is row-id order while the store says so: iterate the
//! candidates in row-id order and stop after the page.

use super::{AccessPath, Hit, Probe, Shape};
use crate::error::Error;
use crate::lang::Direction;
use crate::model::RowId;
use crate::query::eval::Target;
use crate::query::plan::{Access, Part};

/// Walks the candidates in row-id order (= `created_at` order while `created_sorted` holds)
/// and stops after the page once `created_at` changes.
pub(crate) struct WalkRows;

impl AccessPath for WalkRows {
    fn cost(&self, shape: &Shape<'_>) -> Option<(Access, u64)> {
        if shape.plan.order.target != Target::CreatedAt || !shape.meta.created_sorted {
            return None;
        }
        let (n, needed) = (shape.n(), shape.plan.needed() as u64);
        Some((Access::WalkRows, if shape.exact { needed.min(n) } else { n }))
    }

    fn run(
        &self,
        probe: &mut Probe<'_>,
        part: &Part,
        need: usize,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, Error> {
        let rows: Box<dyn Iterator<Item = u32>> = match probe.plan.order.dir {
            Direction::Asc => Box::new(part.candidates.iter()),
            Direction::Desc => Box::new(part.candidates.iter().rev()),
        };
        let mut complete = true;
        let mut boundary: Option<i64> = None;
        let mut counted = 0;
        for rid in rows {
            let row = probe.snap.live_row(RowId(rid))?;
            probe.stats.rows_read += 1;
            let created_at = row.created_at;
            if boundary.is_some_and(|b| b != created_at) {
                complete = false;
                break;
            }
            probe.stats.entries_walked += 1;
            if let Some(hit) = probe.test_row(RowId(rid), row) {
                counted += 1;
                if !probe.keep(&hit) {
                    continue;
                }
                hits.push(hit);
                if hits.len() >= need && boundary.is_none() {
                    boundary = Some(created_at);
                }
            }
        }
        probe.finish_total(part, complete, counted)
    }
}
