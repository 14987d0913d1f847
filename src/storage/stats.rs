//! What a store holds and what its tables weigh, for [`DialogStore::stats`](crate::DialogStore::stats)
//! and the `dialogstore stats` command.
//!
//! Everything here is read in one read transaction of its own: the meta counters, redb's
//! per-table [`stats`](redb::ReadableTableMetadata::stats) and `len`, and one range scan per
//! chunk over the keys of the user bitmaps to count distinct users. No row is decoded, so the
//! cost grows with the number of users and chunks, not of dialogs.

use std::path::Path;

use redb::{ReadTransaction, ReadableTableMetadata, TableHandle};
use serde::Serialize;

use super::tables;
use super::Storage;
use crate::error::Error;
use crate::index::BitmapKey;
use crate::index::TimeIndex;

/// A summary of a store: dialogs by type, users, and the size of every table and of the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StoreStats {
    /// Live public dialogs (`type=1`).
    pub public_dialogs: u64,
    /// Live group dialogs (`type=2`).
    pub group_dialogs: u64,
    /// Live private dialogs (`type=3`).
    pub private_dialogs: u64,
    /// Rows ever written, live and deleted: row ids are never reused.
    pub rows: u64,
    /// Distinct users who occupy at least one live dialog. A user who only owns public dialogs
    /// (which have no occupants) is not counted.
    pub users: u64,
    /// Write transactions committed so far.
    pub commits: u64,
    /// Group commits of single write calls (SPEC section 11) by this store value since it was
    /// opened, failed ones included.
    pub group_commits: u64,
    /// Single write calls those group commits held: `grouped_writes / group_commits` is the
    /// mean group size.
    pub grouped_writes: u64,
    /// Every table of the store, in the order of `docs/design.md`.
    pub tables: Vec<TableStats>,
    /// The store file's size in bytes; `None` for a store in memory.
    pub file_bytes: Option<u64>,
}

impl StoreStats {
    /// Live dialogs of every type.
    pub fn dialogs(&self) -> u64 {
        self.public_dialogs + self.group_dialogs + self.private_dialogs
    }
}

/// One redb table: how many entries it holds and the bytes they take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TableStats {
    /// The table's name in the redb file (`rows`, `bitmaps`, `by_last_message`, ...).
    pub name: String,
    /// Entries (keys) in the table.
    pub entries: u64,
    /// Bytes of keys and values as stored, without the B-tree's own overhead.
    pub stored_bytes: u64,
    /// Bytes of the table's pages: stored bytes plus branch keys, page metadata and
    /// fragmentation.
    pub total_bytes: u64,
    /// The B-tree's height.
    pub tree_height: u32,
}

impl Storage {
    /// The counters, the table sizes and the distinct users of the last commit.
    pub(crate) fn stats(&self, path: Option<&Path>) -> Result<StoreStats, Error> {
        let snap = self.snapshot()?;
        let txn = &snap.txn;
        let meta = snap.meta()?;
        let mut sizes = vec![
            table_stats(txn, tables::META)?,
            table_stats(txn, tables::ROWS)?,
            table_stats(txn, tables::IDS)?,
            table_stats(txn, tables::PAIRS)?,
            table_stats(txn, tables::UNREAD)?,
            table_stats(txn, tables::CLASSES)?,
            table_stats(txn, tables::BITMAPS)?,
        ];
        for index in TimeIndex::ALL {
            sizes.push(table_stats(txn, index.table())?);
        }
        sizes.push(table_stats(txn, tables::CHANGES)?);
        sizes.push(table_stats(txn, tables::USER_CHANGES)?);
        let file_bytes = match path {
            Some(p) => Some(std::fs::metadata(p)?.len()),
            None => None,
        };
        Ok(StoreStats {
            public_dialogs: meta.live[0],
            group_dialogs: meta.live[1],
            private_dialogs: meta.live[2],
            rows: u64::from(meta.next_row),
            users: distinct_users(
                txn,
                crate::index::chunk_of(meta.next_row.saturating_sub(1)),
                snap.staged_users()?.into_iter().map(|(user, _)| user),
            )?,
            commits: meta.seq,
            group_commits: 0,
            grouped_writes: 0,
            tables: sizes,
            file_bytes,
        })
    }
}

fn table_stats<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &ReadTransaction,
    def: redb::TableDefinition<'static, K, V>,
) -> Result<TableStats, Error> {
    let table = txn.open_table(def)?;
    let stats = table.stats()?;
    Ok(TableStats {
        name: def.name().to_owned(),
        entries: table.len()?,
        stored_bytes: stats.stored_bytes(),
        total_bytes: stats.stored_bytes() + stats.metadata_bytes() + stats.fragmented_bytes(),
        tree_height: stats.tree_height(),
    })
}

/// Distinct users among the keys of the user bitmaps and the staged users: each chunk's user
/// keys (the chunk, then `b'u'` and the user id) are one key range; users are counted once over
/// all chunks.
fn distinct_users(
    txn: &ReadTransaction,
    last_chunk: u16,
    staged: impl Iterator<Item = u64>,
) -> Result<u64, Error> {
    let bitmaps = txn.open_table(tables::BITMAPS)?;
    let mut users: std::collections::HashSet<u64> = staged.collect();
    for chunk in 0..=last_chunk {
        // Every key of the chunk that starts like a user key, malformed ones included.
        let lo = [&chunk.to_be_bytes()[..], b"u"].concat();
        let hi = [&chunk.to_be_bytes()[..], b"v"].concat();
        for entry in bitmaps.range(lo.as_slice()..hi.as_slice())? {
            let (key, _) = entry?;
            let Some((BitmapKey::User(user), _)) = BitmapKey::decode(key.value()) else {
                return Err(Error::corrupted("a user bitmap key without its 8-byte user id"));
            };
            users.insert(user);
        }
    }
    Ok(users.len() as u64)
}

#[cfg(test)]
mod tests {
    use crate::{DialogStore, NewDialog, UserId};

    #[test]
    fn counts_follow_creates_leaves_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dialogs.redb");
        let store = DialogStore::open(&path).unwrap();
        let group = store.create_dialog(UserId(1), NewDialog::group("g", [UserId(2)])).unwrap();
        store.create_dialog(UserId(1), NewDialog::private(UserId(3))).unwrap();
        // A public dialog has no occupants: its owner 9 is not counted as a user.
        store.create_dialog(UserId(9), NewDialog::public("news")).unwrap();
        let s = store.stats().unwrap();
        assert_eq!((s.public_dialogs, s.group_dialogs, s.private_dialogs), (1, 1, 1));
        assert_eq!((s.rows, s.users), (3, 3));
        assert_eq!(s.file_bytes, Some(std::fs::metadata(&path).unwrap().len()));
        let names: Vec<&str> = s.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names.len(), 13);
        assert_eq!(names[..3], ["meta", "rows", "ids"]);
        assert_eq!(names[11..], ["changes", "user_changes"]);

        // User 2 leaves, then user 1 (the last occupant) deletes the group by leaving.
        store.delete_dialogs(UserId(2), &[group.id], false).unwrap();
        assert_eq!(store.stats().unwrap().users, 2);
        store.delete_dialogs(UserId(1), &[group.id], false).unwrap();
        let s = store.stats().unwrap();
        assert_eq!((s.dialogs(), s.rows, s.users), (2, 3, 2));
        let rows = s.tables.iter().find(|t| t.name == "rows").unwrap();
        assert_eq!(rows.entries, 3); // the tombstone stays
        assert!(rows.stored_bytes > 0 && rows.total_bytes >= rows.stored_bytes);
    }
}
