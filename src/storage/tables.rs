//! Every redb table of the store, one `const` each, with its key and value layout.
//!
//! `docs/design.md` describes the same tables for readers who do not read code.

use crate::index::TimeIndex;
use redb::TableDefinition;

/// Store-wide counters and settings, by name (see [`meta`](super::meta)).
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Row id → encoded row ([`codec`](super::codec)): a live dialog or a tombstone. Append-only:
/// row ids are handed out in insertion order and never reused.
pub(crate) const ROWS: TableDefinition<u32, &[u8]> = TableDefinition::new("rows");

/// Dialog id → row id, only for ids that do not name their row themselves (imported ids). A
/// generated id carries the store tag and the row id in its last 8 bytes.
pub(crate) const IDS: TableDefinition<&[u8; 12], u32> = TableDefinition::new("ids");

/// (chunk of the row, lower user id, higher user id) → row id of their live private dialog.
///
/// The chunk comes first so that the pairs a seal writes (storage/staging.rs), all of rows of
/// the newest chunk, are appended at the end of the table instead of scattered over all of it.
/// A lookup by pair asks a Bloom filter first (almost every create's pair is new) and then each
/// chunk, newest first.
pub(crate) const PAIRS: TableDefinition<(u16, u64, u64), u32> =
    TableDefinition::new("private_pairs_by_chunk");

/// The pair table of file format 1, keyed (lower user id, higher user id); moved into
/// [`PAIRS`] when a store of that format is opened.
pub(crate) const PAIRS_V1: TableDefinition<(u64, u64), u32> = TableDefinition::new("private_pairs");

/// (user id, row id) → unread messages; only counts above zero are stored.
pub(crate) const UNREAD: TableDefinition<(u64, u32), u32> = TableDefinition::new("unread");

/// Class name → encoded [`CustomClass`](crate::CustomClass) (a format byte, then bincode).
pub(crate) const CLASSES: TableDefinition<&str, &[u8]> = TableDefinition::new("classes");

/// Bitmap key and chunk ([`BitmapKey`](crate::index::BitmapKey)) → checksummed roaring bitmap
/// of the row ids in that chunk. Empty bitmaps are removed.
pub(crate) const BITMAPS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("bitmaps");

/// (last_message_date_sent, row id) for every live dialog with a message.
pub(crate) const BY_LAST_MESSAGE: TableDefinition<(i64, u32), ()> =
    TableDefinition::new("by_last_message");

/// (updated_at, row id) for every live dialog.
pub(crate) const BY_UPDATED: TableDefinition<(i64, u32), ()> = TableDefinition::new("by_updated");

/// (last_message_date_sent, row id) for live public dialogs with a message: the public stream
/// every inbox merges, kept apart so it is walked without skipping every other dialog's entry.
pub(crate) const PUBLIC_BY_LAST_MESSAGE: TableDefinition<(i64, u32), ()> =
    TableDefinition::new("public_by_last_message");

/// (updated_at, row id) for live public dialogs.
pub(crate) const PUBLIC_BY_UPDATED: TableDefinition<(i64, u32), ()> =
    TableDefinition::new("public_by_updated");

/// The redb table of each time index.
impl TimeIndex {
    pub(crate) fn table(self) -> TableDefinition<'static, (i64, u32), ()> {
        match self {
            TimeIndex::LastMessage => BY_LAST_MESSAGE,
            TimeIndex::Updated => BY_UPDATED,
            TimeIndex::PublicLastMessage => PUBLIC_BY_LAST_MESSAGE,
            TimeIndex::PublicUpdated => PUBLIC_BY_UPDATED,
        }
    }
}
