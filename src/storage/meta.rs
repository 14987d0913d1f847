//! Store-wide counters kept in the `meta` table, loaded by each transaction and written back by
//! the writer when they change.

use redb::ReadableTable;

use crate::error::Error;

/// The file format this build reads and writes: 3 has the change log (rows carry the commit
/// that wrote them, `changes`, `user_changes`).
pub(crate) const FORMAT: u64 = 3;

/// The file format before the change log. Opening one needs no migration: its rows were
/// written by no commit the log knows, and the log starts empty.
pub(crate) const FORMAT_V2: u64 = 2;

/// The file format before the pair table was keyed by chunk first ([`tables::PAIRS`]); opening
/// such a store moves its pairs.
///
/// [`tables::PAIRS`]: super::tables::PAIRS
pub(crate) const FORMAT_V1: u64 = 1;

/// The values of the `meta` table.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Meta {
    /// `format`: the file format; 0 until the store is initialized.
    pub format: u64,
    /// `next_row`: the next row id to hand out.
    pub next_row: u32,
    /// `store_tag`: random bytes 4..8 of every id this store generates.
    pub store_tag: u32,
    /// `seq`: the number of committed write transactions.
    pub seq: u64,
    /// `live.1`, `live.2`, `live.3`: live dialogs by type.
    pub live: [u64; 3],
    /// `created_sorted`: 1 while `created_at` never decreases in row-id order, so row-id order is
    /// `created_at` order (imports of older dialogs can end it).
    pub created_sorted: bool,
    /// `max_created`: the largest `created_at` so far (i64 bits).
    pub max_created: i64,
    /// `staged_from`: the first row whose user-bitmap entries and private pair are staged in
    /// memory (storage/staging.rs) rather than in the tables. A store written before staging
    /// existed has no such key: every row's entries are in the tables, so it reads as
    /// `next_row`.
    pub staged_from: u32,
    /// `history_from`: the commit from which the per-user change log (`user_changes`) is
    /// whole; a change cursor made before it has expired. 0 in a store that never trimmed it.
    pub history_from: u64,
}

const KEYS: [&str; 11] = [
    "format",
    "next_row",
    "store_tag",
    "seq",
    "live.1",
    "live.2",
    "live.3",
    "created_sorted",
    "max_created",
    "staged_from",
    "history_from",
];

impl Meta {
    pub(crate) fn load(table: &impl ReadableTable<&'static str, u64>) -> Result<Meta, Error> {
        let mut stored = [None; 11];
        for (slot, key) in stored.iter_mut().zip(KEYS) {
            *slot = table.get(key)?.map(|g| g.value());
        }
        let v = stored.map(|value| value.unwrap_or(0));
        let next_row = u32::try_from(v[1]).map_err(|_| Error::corrupted("meta next_row"))?;
        let store_tag = u32::try_from(v[2]).map_err(|_| Error::corrupted("meta store_tag"))?;
        let staged_from = match stored[9] {
            Some(from) => u32::try_from(from)
                .ok()
                .filter(|from| *from <= next_row)
                .ok_or_else(|| Error::corrupted(format!("meta staged_from {from}")))?,
            None => next_row,
        };
        Ok(Meta {
            format: v[0],
            next_row,
            store_tag,
            seq: v[3],
            live: [v[4], v[5], v[6]],
            created_sorted: v[7] == 1,
            max_created: v[8] as i64,
            staged_from,
            history_from: v[10],
        })
    }

    pub(crate) fn save(&self, table: &mut redb::Table<'_, &'static str, u64>) -> Result<(), Error> {
        let v = [
            self.format,
            u64::from(self.next_row),
            u64::from(self.store_tag),
            self.seq,
            self.live[0],
            self.live[1],
            self.live[2],
            u64::from(self.created_sorted),
            self.max_created as u64,
            u64::from(self.staged_from),
            self.history_from,
        ];
        for (key, value) in KEYS.into_iter().zip(v) {
            table.insert(key, value)?;
        }
        Ok(())
    }

    /// Live dialogs of all types.
    pub(crate) fn live_total(&self) -> u64 {
        self.live.iter().sum()
    }
}
