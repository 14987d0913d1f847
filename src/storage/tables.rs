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

/// (commit, row id) → [`CHANGED_DELETED`] and [`CHANGED_PUBLIC`] bits: the change log. Each
/// row written since the log exists has one entry, at the last commit that wrote it (the row's
/// value carries that commit, so the next one moves the entry), so the log never holds more
/// entries than rows and a walk from a cursor reads each changed dialog once.
pub(crate) const CHANGES: TableDefinition<(u64, u32), u8> = TableDefinition::new("changes");

/// The [`CHANGES`] entries of public dialogs (live or deleted), the same keys and bits: every
/// one is a change for every user, so a reader walks these without skipping anyone else's.
pub(crate) const PUBLIC_CHANGES: TableDefinition<(u64, u32), u8> =
    TableDefinition::new("public_changes");

/// A [`CHANGES`] entry's bit: the row is a tombstone.
pub(crate) const CHANGED_DELETED: u8 = 1;
/// A [`CHANGES`] entry's bit: the dialog is public (in every user's view).
pub(crate) const CHANGED_PUBLIC: u8 = 2;

/// (commit, row id, user id) → [`USER_LEFT`] or [`USER_READ`]: changes only one user sees, which
/// the row's own entry in [`CHANGES`] does not tell them: they stopped seeing the dialog (left,
/// were removed, it was deleted), or `mark_read` cleared their unread count. Entries older than
/// the history the store keeps (`meta.history_from`) are removed.
pub(crate) const USER_CHANGES: TableDefinition<(u64, u32, u64), u8> =
    TableDefinition::new("user_changes");

/// [`USER_CHANGES`] by user first: (user id, commit, row id) → kind, so one user's changes
/// are one range. The same entries, trimmed with it.
pub(crate) const USER_CHANGES_BY_USER: TableDefinition<(u64, u64, u32), u8> =
    TableDefinition::new("user_changes_by_user");

/// A [`USER_CHANGES`] kind: the user no longer occupies the dialog.
pub(crate) const USER_LEFT: u8 = 1;
/// A [`USER_CHANGES`] kind: the user's unread count went to zero.
pub(crate) const USER_READ: u8 = 2;

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
