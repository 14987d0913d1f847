//! In-memory columns: one field's value for every row, for queries with thousands of candidates.
//!
//! Sorting or testing a few thousand candidates through the row cache costs a hash lookup and a
//! decoded row each; a column answers the same value with an
//! array index. Columns are not stored: a column is built from the tables by `warm_up` or the
//! first time a query needs it (a time index read whole, or the rows that have a custom field),
//! kept in the read cache under the same versioning as everything else there, and patched by
//! every commit with the rows it wrote (see `storage/cache.rs`). Only the planner's
//! large-candidate paths use them, so a store that neither answers such a query nor warms up
//! never builds one.
//!
//! A column is split into chunks of [`CHUNK_ROWS`] rows, each behind its own `Arc`: a commit
//! that changes a row copies that chunk alone, while readers keep the old one.

use std::sync::Arc;

use crate::index::TimeIndex;
use crate::model::{DataValue, Row};

/// Row ids per column chunk, as a shift.
const CHUNK_BITS: u32 = 14;

/// Row ids per column chunk.
pub(crate) const CHUNK_ROWS: usize = 1 << CHUNK_BITS;

/// Which field a column holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ColumnKey {
    /// `last_message_date_sent`, [`NO_MESSAGE`] for a dialog without one.
    LastMessage,
    /// `updated_at`.
    Updated,
    /// A custom field, by name: the stored value of every row whose `data` has it.
    Data(Box<str>),
    /// The commit that wrote each row last (`i64::MIN` for a row written before the change
    /// log), from the `changes` table; each commit sets it for the rows it wrote.
    Commit,
}

/// The [`ColumnKey::LastMessage`] value of a dialog without a message. A sort coarsened to it
/// is still monotone: no message sorts below every date, and an actual date equal to it ties,
/// which the exact sort of the tied rows resolves.
pub(crate) const NO_MESSAGE: i64 = i64::MIN;

impl ColumnKey {
    /// The time index a time column is built from; `None` for a custom-field column.
    pub(crate) fn time_index(&self) -> Option<TimeIndex> {
        match self {
            ColumnKey::LastMessage => Some(TimeIndex::LastMessage),
            ColumnKey::Updated => Some(TimeIndex::Updated),
            ColumnKey::Data(_) | ColumnKey::Commit => None,
        }
    }

    /// The value of a time column for a row (never asked of a custom-field column, whose
    /// chunks are sparse).
    fn time_of(&self, row: &Row) -> i64 {
        match self {
            ColumnKey::LastMessage => row.last_message_date_sent.unwrap_or(NO_MESSAGE),
            ColumnKey::Updated => row.updated_at,
            // Not in the row: the commit sets it (Cache::end_commit).
            ColumnKey::Data(_) | ColumnKey::Commit => 0,
        }
    }

    /// The value of a custom-field column for a row, if it has the field (read as a query's
    /// condition reads it, [`CustomData::field`](super::codec::CustomData::field)).
    fn data_of<'r>(&self, row: &'r Row) -> Option<&'r DataValue> {
        let ColumnKey::Data(name) = self else { return None };
        row.data.as_ref()?.get(name)
    }
}

/// One chunk of a column.
#[derive(Clone, Debug, PartialEq)]
enum Chunk {
    /// A time column: a value for every row of the chunk (rows not live hold any value; no
    /// candidate points to them).
    Dense(Vec<i64>),
    /// A custom-field column: the rows that have the field, ascending, and their values (apart,
    /// so a pass over the rows reads four bytes a row).
    Sparse { rows: Vec<u32>, values: Vec<DataValue> },
}

/// One field's value for every row of a snapshot.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Column {
    key: ColumnKey,
    chunks: Vec<Arc<Chunk>>,
    /// Rows `0..rows` are covered.
    rows: u32,
}

impl Column {
    /// An empty column for `rows` rows: every time value [`NO_MESSAGE`]-like (`i64::MIN`), no
    /// custom value.
    pub(crate) fn new(key: ColumnKey, rows: u32) -> Column {
        let mut column = Column { key, chunks: Vec::new(), rows: 0 };
        column.cover(rows);
        column
    }

    pub(crate) fn key(&self) -> &ColumnKey {
        &self.key
    }

    /// Whether row `rid` is covered (every row the column's snapshot had).
    pub(crate) fn covers(&self, rid: u32) -> bool {
        rid < self.rows
    }

    fn empty_chunk(&self) -> Chunk {
        match self.key {
            ColumnKey::Data(_) => Chunk::Sparse { rows: Vec::new(), values: Vec::new() },
            _ => Chunk::Dense(vec![i64::MIN; CHUNK_ROWS]),
        }
    }

    /// Extends the column to rows `0..rows`.
    fn cover(&mut self, rows: u32) {
        let chunks = (rows as usize).div_ceil(CHUNK_ROWS);
        while self.chunks.len() < chunks {
            let chunk = Arc::new(self.empty_chunk());
            self.chunks.push(chunk);
        }
        self.rows = self.rows.max(rows);
    }

    /// A time column's value at a covered row.
    pub(crate) fn time(&self, rid: u32) -> i64 {
        match self.chunks.get((rid >> CHUNK_BITS) as usize).map(|c| &**c) {
            Some(Chunk::Dense(values)) => values[rid as usize & (CHUNK_ROWS - 1)],
            _ => i64::MIN,
        }
    }

    /// A reader of a custom-field column's values for ascending row ids (see [`Values`]).
    pub(crate) fn values(&self) -> Values<'_> {
        Values { column: self, chunk: usize::MAX, rows: &[], values: &[], at: 0 }
    }

    /// Sets a time value while building (rows arrive in any order).
    pub(crate) fn set_time(&mut self, rid: u32, time: i64) {
        self.cover(rid.saturating_add(1));
        if let Chunk::Dense(values) = Arc::make_mut(&mut self.chunks[(rid >> CHUNK_BITS) as usize])
        {
            values[rid as usize & (CHUNK_ROWS - 1)] = time;
        }
    }

    /// Brings row `rid` up to date with its new state (`None`: no longer live). A chunk is
    /// copied (when readers share it) only if the row's value in it changes: a commit that
    /// renames dialogs leaves the time columns' chunks where they are.
    pub(crate) fn patch(&mut self, rid: u32, row: Option<&Row>) {
        self.cover(rid.saturating_add(1));
        let Column { key, chunks, .. } = self;
        let slot = &mut chunks[(rid >> CHUNK_BITS) as usize];
        let at = rid as usize & (CHUNK_ROWS - 1);
        match &**slot {
            Chunk::Dense(values) => {
                let time = row.map_or(i64::MIN, |r| key.time_of(r));
                if values[at] != time {
                    if let Chunk::Dense(values) = Arc::make_mut(slot) {
                        values[at] = time;
                    }
                }
            }
            Chunk::Sparse { rows, values } => {
                let value = row.and_then(|r| key.data_of(r));
                let found = rows.binary_search(&rid);
                let unchanged = match (found, value) {
                    (Ok(i), Some(v)) => values[i] == *v,
                    (Err(_), None) => true,
                    _ => false,
                };
                if unchanged {
                    return;
                }
                if let Chunk::Sparse { rows, values } = Arc::make_mut(slot) {
                    match (found, value) {
                        (Ok(i), Some(v)) => values[i] = v.clone(),
                        (Ok(i), None) => {
                            rows.remove(i);
                            values.remove(i);
                        }
                        (Err(i), Some(v)) => {
                            rows.insert(i, rid);
                            values.insert(i, v.clone());
                        }
                        (Err(_), None) => {}
                    }
                }
            }
        }
    }

    /// Adds a row's value while building a custom-field column; rows must come in row-id order.
    pub(crate) fn push_row(&mut self, rid: u32, row: &Row) {
        self.cover(rid.saturating_add(1));
        let Some(value) = self.key.data_of(row).cloned() else { return };
        if let Chunk::Sparse { rows, values } =
            Arc::make_mut(&mut self.chunks[(rid >> CHUNK_BITS) as usize])
        {
            rows.push(rid);
            values.push(value);
        }
    }
}

/// A custom-field column read forward: [`Values::get`] asks for ascending row ids (the order
/// a bitmap's candidates come in) and moves on from the last one found, so a pass over a few
/// thousand candidates reads the column's entries up to the last of them once, instead of
/// building a bitmap of every row that passes (which costs more than the test when the column
/// holds thousands of rows the candidates leave out).
pub(crate) struct Values<'c> {
    column: &'c Column,
    /// The chunk `rows` and `values` belong to (`usize::MAX` before the first).
    chunk: usize,
    rows: &'c [u32],
    values: &'c [DataValue],
    /// Entries before `at` hold rows below every row asked for since entering the chunk.
    at: usize,
}

impl<'c> Values<'c> {
    /// The value of row `rid`, if it has the field; `rid` must not be below the last asked.
    pub(crate) fn get(&mut self, rid: u32) -> Option<&'c DataValue> {
        let chunk = (rid >> CHUNK_BITS) as usize;
        if chunk != self.chunk {
            debug_assert!(self.chunk == usize::MAX || chunk > self.chunk, "rows must ascend");
            (self.rows, self.values) = match self.column.chunks.get(chunk).map(|c| &**c) {
                Some(Chunk::Sparse { rows, values }) => (rows.as_slice(), values.as_slice()),
                _ => (&[][..], &[][..]),
            };
            self.chunk = chunk;
            self.at = 0;
        }
        // Count the entries below `rid` eight at a time: without a branch per entry (which
        // mispredicts when candidates and entries interleave at random), and in one window
        // when the next candidate is near, as it is among a column's own rows.
        loop {
            let below: usize = match self.rows.get(self.at..self.at + 8) {
                // A fixed window compiles to a few vector instructions.
                Some(window) => window.iter().take(8).map(|&r| usize::from(r < rid)).sum(),
                None => self.rows[self.at..].iter().map(|&r| usize::from(r < rid)).sum(),
            };
            self.at += below;
            if below < 8 {
                break;
            }
        }
        (self.rows.get(self.at) == Some(&rid)).then(|| &self.values[self.at])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CustomData;

    fn row(last: Option<i64>, progress: Option<i64>) -> Row {
        Row {
            updated_at: 7,
            last_message_date_sent: last,
            data: progress.map(|p| {
                std::sync::Arc::new(CustomData {
                    class_name: "T".into(),
                    fields: [("progress".into(), DataValue::Integer(p))].into(),
                })
            }),
            ..Row::sample()
        }
    }

    #[test]
    fn time_columns_follow_patches_across_chunks() {
        let mut c = Column::new(ColumnKey::LastMessage, 3);
        c.set_time(1, 50);
        let far = CHUNK_ROWS as u32 * 2 + 5;
        c.patch(far, Some(&row(Some(9), None)));
        assert!(c.covers(far) && !c.covers(far + 1));
        assert_eq!((c.time(1), c.time(far)), (50, 9));
        c.patch(1, Some(&row(None, None)));
        assert_eq!(c.time(1), NO_MESSAGE);
        let mut u = Column::new(ColumnKey::Updated, 2);
        u.patch(0, Some(&row(None, None)));
        assert_eq!(u.time(0), 7);
    }

    #[test]
    fn data_columns_insert_update_and_remove() {
        let mut c = Column::new(ColumnKey::Data("progress".into()), 0);
        c.push_row(2, &row(None, Some(10)));
        c.push_row(4, &row(None, None));
        c.push_row(6, &row(None, Some(30)));
        let old = c.clone();
        c.patch(4, Some(&row(None, Some(20))));
        c.patch(2, None);
        c.patch(6, Some(&row(None, Some(31))));
        let values = |c: &Column| {
            let mut values = c.values();
            (0..8).map(|r| values.get(r).cloned()).collect::<Vec<_>>()
        };
        assert_eq!(
            values(&c),
            [
                None,
                None,
                None,
                None,
                Some(DataValue::Integer(20)),
                None,
                Some(DataValue::Integer(31)),
                None
            ]
        );
        // The copy a reader holds is untouched.
        assert_eq!(values(&old)[2..5], [Some(DataValue::Integer(10)), None, None]);
    }

    /// `Values::get` against a plain lookup: rows asked in ascending order with gaps of every
    /// size (within the eight-entry window, past it, across chunks, beyond the last row).
    #[test]
    fn values_read_forward_finds_every_row() {
        let mut c = Column::new(ColumnKey::Data("progress".into()), 0);
        let has = |r: u32| r.is_multiple_of(3) || (r / 50) % 7 == 2;
        let last = CHUNK_ROWS as u32 * 3 + 100;
        for r in (0..last).filter(|&r| has(r)) {
            c.push_row(r, &row(None, Some(i64::from(r))));
        }
        let expect = |r: u32| (r < last && has(r)).then_some(DataValue::Integer(i64::from(r)));
        for step in [1, 2, 5, 9, 17, 100, 4_099, 20_000] {
            for start in [0, 1, 7] {
                let mut values = c.values();
                for r in (start..last + 300).step_by(step) {
                    assert_eq!(values.get(r).cloned(), expect(r), "row {r}, step {step}");
                }
            }
        }
    }
}
