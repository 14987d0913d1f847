//! A read snapshot: one committed state of the store, with every table open for reading.
//!
//! Readers never block the writer and see the last commit made before the snapshot began, so a
//! dialog is in an index result if and only if it is in the table at that snapshot.

use redb::{ReadOnlyTable, ReadTransaction};
use roaring::RoaringBitmap;

use super::codec::{decode_bitmap, decode_row, Row, StoredRow};
use super::meta::Meta;
use super::read;
use super::tables::{self, TimeIndex};
use super::RowId;
use crate::dialog::{CustomClass, DialogId};
use crate::error::Error;
use crate::index::BitmapKey;
use crate::query::eval::RowKeys;

/// A boxed iterator of decoded entries that may fail.
pub(crate) type Entries<'a, T> = Box<dyn Iterator<Item = Result<T, Error>> + 'a>;

type TimeEntry<'a> =
    Result<(redb::AccessGuard<'a, (i64, u32)>, redb::AccessGuard<'a, ()>), redb::StorageError>;
type PairEntry = ((u64, u64), RowId);
type UnreadEntry = ((u64, RowId), u32);

/// One committed state, open for reading.
pub(crate) struct Snapshot {
    meta: Meta,
    rows: ReadOnlyTable<u32, &'static [u8]>,
    ids: ReadOnlyTable<&'static [u8; 12], u32>,
    pairs: ReadOnlyTable<(u64, u64), u32>,
    unread: ReadOnlyTable<(u64, u32), u32>,
    classes: ReadOnlyTable<&'static str, &'static [u8]>,
    bitmaps: ReadOnlyTable<&'static [u8], &'static [u8]>,
    times: [ReadOnlyTable<(i64, u32), ()>; 4],
    // Keeps the snapshot alive as long as the tables are read.
    _txn: ReadTransaction,
}

impl Snapshot {
    pub(crate) fn new(txn: ReadTransaction) -> Result<Snapshot, Error> {
        let meta = Meta::load(&txn.open_table(tables::META)?)?;
        Ok(Snapshot {
            meta,
            rows: txn.open_table(tables::ROWS)?,
            ids: txn.open_table(tables::IDS)?,
            pairs: txn.open_table(tables::PAIRS)?,
            unread: txn.open_table(tables::UNREAD)?,
            classes: txn.open_table(tables::CLASSES)?,
            bitmaps: txn.open_table(tables::BITMAPS)?,
            times: [
                txn.open_table(TimeIndex::ALL[0].table())?,
                txn.open_table(TimeIndex::ALL[1].table())?,
                txn.open_table(TimeIndex::ALL[2].table())?,
                txn.open_table(TimeIndex::ALL[3].table())?,
            ],
            _txn: txn,
        })
    }

    pub(crate) fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The live row an index pointed to.
    pub(crate) fn live_row(&self, rid: RowId) -> Result<Row, Error> {
        read::live_row(&self.rows, rid)
    }

    /// The sort and filter keys of a live row.
    pub(crate) fn keys(&self, rid: RowId) -> Result<RowKeys, Error> {
        self.live_row(rid).map(|row| RowKeys::of(&row))
    }

    pub(crate) fn find(&self, id: &DialogId) -> Result<Option<(RowId, Row)>, Error> {
        read::resolve_id(&self.rows, &self.ids, self.meta.store_tag, id)
    }

    pub(crate) fn unread(&self, user: u64, rid: RowId) -> Result<u32, Error> {
        read::unread(&self.unread, user, rid)
    }

    pub(crate) fn class(&self, name: &str) -> Result<Option<CustomClass>, Error> {
        read::class(&self.classes, name)
    }

    pub(crate) fn bitmap(&self, key: &BitmapKey) -> Result<RoaringBitmap, Error> {
        read::bitmap(&self.bitmaps, key)
    }

    /// Entries `(time, row)` of a time index with `lo <= time <= hi`, ascending or descending.
    pub(crate) fn walk(
        &self,
        index: TimeIndex,
        lo: i64,
        hi: i64,
        dir: crate::query::Direction,
    ) -> Result<Entries<'_, (i64, RowId)>, Error> {
        if lo > hi {
            return Ok(Box::new(std::iter::empty()));
        }
        let table = &self.times[TimeIndex::ALL.iter().position(|t| *t == index).unwrap_or(0)];
        let range = table.range((lo, 0u32)..=(hi, u32::MAX))?;
        let map = |entry: TimeEntry<'_>| {
            let (k, _) = entry?;
            let (t, r) = k.value();
            Ok((t, RowId(r)))
        };
        Ok(match dir {
            crate::query::Direction::Asc => Box::new(range.map(map)),
            crate::query::Direction::Desc => Box::new(range.rev().map(map)),
        })
    }

    /// Every stored row, live or tombstone, in row-id order.
    pub(crate) fn all_rows(
        &self,
    ) -> Result<impl Iterator<Item = Result<(RowId, StoredRow), Error>> + '_, Error> {
        Ok(self.rows.range::<u32>(..)?.map(|entry| {
            let (k, v) = entry?;
            let rid = k.value();
            Ok((RowId(rid), decode_row(rid, v.value())?))
        }))
    }

    /// Every bitmap chunk as stored: (key bytes, decoded bitmap).
    pub(crate) fn all_bitmaps(
        &self,
    ) -> Result<impl Iterator<Item = Result<(Vec<u8>, RoaringBitmap), Error>> + '_, Error> {
        Ok(self.bitmaps.range::<&[u8]>(..)?.map(|entry| {
            let (k, v) = entry?;
            let key = k.value().to_vec();
            let bitmap = decode_bitmap(v.value(), &|| read::describe_key(&key))?;
            Ok((key, bitmap))
        }))
    }

    /// Every entry of a time index in ascending order.
    pub(crate) fn all_times(
        &self,
        index: TimeIndex,
    ) -> Result<impl Iterator<Item = Result<(i64, RowId), Error>> + '_, Error> {
        let table = &self.times[TimeIndex::ALL.iter().position(|t| *t == index).unwrap_or(0)];
        Ok(table.range::<(i64, u32)>(..)?.map(|entry| {
            let (k, _) = entry?;
            let (t, r) = k.value();
            Ok((t, RowId(r)))
        }))
    }

    /// Every private-pair entry.
    pub(crate) fn all_pairs(
        &self,
    ) -> Result<impl Iterator<Item = Result<PairEntry, Error>> + '_, Error> {
        Ok(self.pairs.range::<(u64, u64)>(..)?.map(|entry| {
            let (k, v) = entry?;
            Ok((k.value(), RowId(v.value())))
        }))
    }

    /// Every unread counter.
    pub(crate) fn all_unread(
        &self,
    ) -> Result<impl Iterator<Item = Result<UnreadEntry, Error>> + '_, Error> {
        Ok(self.unread.range::<(u64, u32)>(..)?.map(|entry| {
            let (k, v) = entry?;
            let (u, r) = k.value();
            Ok(((u, RowId(r)), v.value()))
        }))
    }

    /// Every declared class name with its encoded declaration.
    pub(crate) fn all_classes(&self) -> Result<Vec<CustomClass>, Error> {
        let mut out = Vec::new();
        for entry in self.classes.range::<&str>(..)? {
            let (k, _) = entry?;
            if let Some(class) = self.class(k.value())? {
                out.push(class);
            }
        }
        Ok(out)
    }

    /// Every entry of the imported-id table.
    pub(crate) fn all_ids(
        &self,
    ) -> Result<impl Iterator<Item = Result<([u8; 12], RowId), Error>> + '_, Error> {
        Ok(self.ids.range::<&[u8; 12]>(..)?.map(|entry| {
            let (k, v) = entry?;
            Ok((*k.value(), RowId(v.value())))
        }))
    }
}
