//! Secondary indexes: what each index holds for a row, and how keys are laid out.
//!
//! Indexes speak in [`RowId`](crate::storage::RowId)s. Sets of rows are roaring bitmaps stored in
//! chunks of 65,536 row ids (the high 16 bits of the row id, as roaring's own containers split),
//! so a write rewrites one small chunk however many dialogs a user has. Orders are redb B-trees
//! keyed `(time, row id)`. [`IndexEntries`] lists every index entry a row owns; a write computes
//! the entries of the old and the new row and applies the difference, in the same transaction.

mod entries;
mod keys;
pub(crate) mod ngram;

pub(crate) use entries::IndexEntries;
pub(crate) use keys::{chunk_of, BitmapKey, TimeIndex, CHUNK_BITS};
