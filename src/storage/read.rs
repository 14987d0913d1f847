//! Reads shared by the writer (inside its transaction) and by snapshots: generic over redb's
//! [`ReadableTable`], so both see the same decoding and the same checks.

use std::sync::Arc;

use redb::ReadableTable;
use roaring::RoaringBitmap;

use super::codec::{self, decode_bitmap, decode_row, StoredRow};
use super::staging::{staged_row, StagedRow};
use super::RowId;
use crate::error::Error;
use crate::index::BitmapKey;
use crate::model::Row;
use crate::model::{CustomClass, DialogId, FieldType};

/// The stored row at `rid`, live or tombstone.
pub(crate) fn row(
    rows: &impl ReadableTable<u32, &'static [u8]>,
    rid: RowId,
) -> Result<Option<StoredRow>, Error> {
    match rows.get(rid.0)? {
        Some(bytes) => decode_row(rid.0, bytes.value()).map(Some),
        None => Ok(None),
    }
}

/// The live row at `rid`; an error if the row is missing or deleted, since an index pointed there.
pub(crate) fn live_row(
    rows: &impl ReadableTable<u32, &'static [u8]>,
    rid: RowId,
) -> Result<Row, Error> {
    match row(rows, rid)? {
        Some(StoredRow::Live(row)) => Ok(row),
        Some(StoredRow::Deleted { .. }) => {
            Err(Error::corrupted(format!("an index points to deleted row {}", rid.0)))
        }
        None => Err(Error::corrupted(format!("an index points to missing row {}", rid.0))),
    }
}

/// The row id a generated id names: bytes 4..8 are the store tag, bytes 8..12 the row id.
pub(crate) fn embedded_row(id: &DialogId, store_tag: u32) -> Option<RowId> {
    let b = id.as_bytes();
    (b[4..8] == store_tag.to_be_bytes())
        .then(|| RowId(u32::from_be_bytes([b[8], b[9], b[10], b[11]])))
}

/// The live dialog with this id, if any: a generated id names its row, an imported one is found
/// through `imported` (a lookup in the `ids` table, made only when needed). `live` reads the row
/// at a row id if it is a live dialog, from wherever the caller keeps rows.
pub(crate) fn resolve_id(
    id: &DialogId,
    store_tag: u32,
    mut live: impl FnMut(RowId) -> Result<Option<Arc<Row>>, Error>,
    imported: impl FnOnce() -> Result<Option<RowId>, Error>,
) -> Result<Option<(RowId, Arc<Row>)>, Error> {
    if let Some(rid) = embedded_row(id, store_tag) {
        if let Some(row) = live(rid)?.filter(|row| row.id == id.0) {
            return Ok(Some((rid, row)));
        }
    }
    let Some(rid) = imported()? else {
        return Ok(None);
    };
    match live(rid)? {
        Some(row) if row.id == id.0 => Ok(Some((rid, row))),
        _ => {
            Err(Error::corrupted(format!("ids entry {id} points to row {} that is not it", rid.0)))
        }
    }
}

/// The staged entries (storage/staging.rs) of the live rows from `from` on.
pub(crate) fn staged_rows(
    rows: &impl ReadableTable<u32, &'static [u8]>,
    from: u32,
) -> Result<Vec<StagedRow>, Error> {
    let mut out = Vec::new();
    for entry in rows.range(from..)? {
        let (rid, bytes) = entry?;
        if let StoredRow::Live(row) = decode_row(rid.value(), bytes.value())? {
            out.push(staged_row(rid.value(), &row));
        }
    }
    Ok(out)
}

/// Every pair in the pair table, `(lower user, higher user)`, for the writers' Bloom filter.
pub(crate) fn pair_keys(
    pairs: &impl ReadableTable<(u16, u64, u64), u32>,
) -> Result<Vec<(u64, u64)>, Error> {
    let mut out = Vec::new();
    for entry in pairs.range::<(u16, u64, u64)>(..)? {
        let (_, lo, hi) = entry?.0.value();
        out.push((lo, hi));
    }
    Ok(out)
}

/// One chunk of a bitmap, if stored.
pub(crate) fn chunk(
    bitmaps: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<RoaringBitmap>, Error> {
    match bitmaps.get(key)? {
        Some(v) => decode_bitmap(v.value(), key_chunk(key), &|| describe_key(key)).map(Some),
        None => Ok(None),
    }
}

/// A whole bitmap: the union of its chunks `0..=last_chunk`, one point read each.
pub(crate) fn bitmap(
    bitmaps: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &BitmapKey,
    last_chunk: u16,
) -> Result<RoaringBitmap, Error> {
    let mut out = RoaringBitmap::new();
    for number in 0..=last_chunk {
        if let Some(part) = chunk(bitmaps, &key.chunk_key(number))? {
            out |= part;
        }
    }
    Ok(out)
}

/// The chunk number at the front of a bitmap key.
pub(crate) fn key_chunk(key: &[u8]) -> u16 {
    match key {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    }
}

pub(crate) fn describe_key(key: &[u8]) -> String {
    match BitmapKey::decode(key) {
        Some((k, chunk)) => format!("bitmap {k:?} chunk {chunk}"),
        None => format!("bitmap key {key:?}"),
    }
}

/// A user's unread messages in a dialog.
pub(crate) fn unread(
    table: &impl ReadableTable<(u64, u32), u32>,
    user: u64,
    rid: RowId,
) -> Result<u32, Error> {
    Ok(table.get((user, rid.0))?.map_or(0, |g| g.value()))
}

/// A class as stored: name and (field, type code) pairs.
#[derive(bincode::Encode, bincode::Decode)]
struct StoredClass {
    name: String,
    fields: Vec<(String, u8)>,
}

fn type_code(t: FieldType) -> u8 {
    match t {
        FieldType::String => 0,
        FieldType::Integer => 1,
        FieldType::Float => 2,
        FieldType::Boolean => 3,
    }
}

fn type_from_code(c: u8) -> Option<FieldType> {
    Some(match c {
        0 => FieldType::String,
        1 => FieldType::Integer,
        2 => FieldType::Float,
        3 => FieldType::Boolean,
        _ => return None,
    })
}

pub(crate) fn encode_class(class: &CustomClass) -> Vec<u8> {
    codec::encode(&StoredClass {
        name: class.name.clone(),
        fields: class.fields.iter().map(|(k, t)| (k.clone(), type_code(*t))).collect(),
    })
}

/// A declared class, if any.
pub(crate) fn class(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    name: &str,
) -> Result<Option<CustomClass>, Error> {
    let Some(v) = table.get(name)? else {
        return Ok(None);
    };
    decode_class(name, v.value()).map(Some)
}

/// A class declaration as stored under `name`.
pub(crate) fn decode_class(name: &str, bytes: &[u8]) -> Result<CustomClass, Error> {
    let what = || format!("class {name}");
    let stored: StoredClass = codec::decode(bytes, &what)?;
    let mut class = CustomClass::new(stored.name);
    for (field, code) in stored.fields {
        let ty = type_from_code(code).ok_or_else(|| Error::corrupted(what()))?;
        class.fields.insert(field, ty);
    }
    Ok(class)
}
