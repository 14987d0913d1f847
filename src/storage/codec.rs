//! How rows, bitmaps and classes are encoded in redb values.
//!
//! Every value starts with a format byte, then a CRC-32 of the payload (little-endian), then the
//! payload: bincode 2 (standard config) for rows and classes, roaring's portable format for
//! bitmaps. The format byte lets the codec change without breaking stores on disk (bincode is no
//! longer maintained upstream); the checksum turns bytes damaged outside the store into a
//! [`Error::Corrupted`] instead of a wrong answer, since redb verifies its own page checksums
//! only when repairing.

use bincode::{Decode, Encode};
use roaring::RoaringBitmap;

use crate::error::Error;

/// The current format of rows, bitmaps and classes.
pub(crate) const FORMAT_V1: u8 = 1;
const HEADER: usize = 5;

/// A dialog as stored: the public [`Dialog`](crate::Dialog) without the per-viewer unread count.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub(crate) struct Row {
    pub id: [u8; 12],
    pub user_id: u64,
    pub created_at: i64,
    pub updated_at: i64,
    pub kind: u8,
    pub name: Option<String>,
    pub photo: Option<String>,
    pub xmpp_room_jid: Option<String>,
    pub occupants: Vec<u64>,
    pub admins: Vec<u64>,
    pub last_message: Option<String>,
    pub last_message_id: Option<String>,
    pub last_message_date_sent: Option<i64>,
    pub last_message_user_id: Option<u64>,
    pub is_join_required: Option<bool>,
    pub data: Option<RowData>,
    /// Private dialogs: the user besides `user_id`, kept when either of them leaves, so the
    /// private-pair entry is known from the row alone.
    pub peer: Option<u64>,
}

/// Stored custom data: class name and fields sorted by name.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub(crate) struct RowData {
    pub class_name: String,
    pub fields: Vec<(String, RowValue)>,
}

/// A stored custom-data value.
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub(crate) enum RowValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// What a row id holds: a dialog, or the tombstone of a deleted one.
// Boxing the live row would cost an allocation on every read to save stack space in a value
// that only ever lives briefly on the stack.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Encode, Decode)]
pub(crate) enum StoredRow {
    Live(Row),
    Deleted { id: [u8; 12] },
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Checks the format byte and checksum and returns the payload.
fn unframe<'a>(bytes: &'a [u8], what: &dyn Fn() -> String) -> Result<&'a [u8], Error> {
    if bytes.len() < HEADER {
        return Err(Error::corrupted(format!("{}: value of {} bytes", what(), bytes.len())));
    }
    if bytes[0] != FORMAT_V1 {
        return Err(Error::corrupted(format!("{}: unknown format {}", what(), bytes[0])));
    }
    let payload = &bytes[HEADER..];
    let stored = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    if crc32fast::hash(payload) != stored {
        return Err(Error::corrupted(format!("{}: checksum mismatch", what())));
    }
    Ok(payload)
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

pub(crate) fn encode<T: Encode>(value: &T) -> Vec<u8> {
    // Encoding plain structs into a Vec cannot fail: there is no size limit and no I/O.
    frame(&bincode::encode_to_vec(value, config()).unwrap_or_default())
}

pub(crate) fn decode<T: Decode<()>>(bytes: &[u8], what: &dyn Fn() -> String) -> Result<T, Error> {
    let payload = unframe(bytes, what)?;
    match bincode::decode_from_slice::<T, _>(payload, config()) {
        Ok((v, used)) if used == payload.len() => Ok(v),
        Ok(_) => Err(Error::corrupted(format!("{}: trailing bytes", what()))),
        Err(e) => Err(Error::corrupted(format!("{}: {e}", what()))),
    }
}

pub(crate) fn encode_row(row: &StoredRow) -> Vec<u8> {
    encode(row)
}

/// [`StoredRow`] borrowed, so a live row is encoded without cloning it; bincode writes both the
/// same way (variant index, then fields).
#[derive(Encode)]
enum StoredRowRef<'a> {
    Live(&'a Row),
}

/// Encodes a live row exactly as `encode_row(&StoredRow::Live(row.clone()))` would.
pub(crate) fn encode_live(row: &Row) -> Vec<u8> {
    encode(&StoredRowRef::Live(row))
}

pub(crate) fn decode_row(row_id: u32, bytes: &[u8]) -> Result<StoredRow, Error> {
    decode(bytes, &|| format!("row {row_id}"))
}

pub(crate) fn encode_bitmap(bitmap: &RoaringBitmap) -> Vec<u8> {
    let mut payload = Vec::with_capacity(bitmap.serialized_size());
    // Writing into a Vec cannot fail.
    let _ = bitmap.serialize_into(&mut payload);
    frame(&payload)
}

pub(crate) fn decode_bitmap(
    bytes: &[u8],
    what: &dyn Fn() -> String,
) -> Result<RoaringBitmap, Error> {
    let payload = unframe(bytes, what)?;
    // The checked reader: a checksum that collides on damaged bytes still cannot make roaring
    // build an invalid bitmap.
    RoaringBitmap::deserialize_from(payload)
        .map_err(|e| Error::corrupted(format!("{}: {e}", what())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        Row {
            id: [1; 12],
            user_id: 7,
            created_at: 1,
            updated_at: 2,
            kind: 2,
            name: Some("Доброе утро".into()),
            photo: None,
            xmpp_room_jid: Some("1_x@muc".into()),
            occupants: vec![7, 8],
            admins: vec![],
            last_message: None,
            last_message_id: None,
            last_message_date_sent: None,
            last_message_user_id: None,
            is_join_required: Some(false),
            data: Some(RowData {
                class_name: "C".into(),
                fields: vec![("f".into(), RowValue::Float(1.5))],
            }),
            peer: None,
        }
    }

    #[test]
    fn rows_round_trip_and_damage_is_caught() {
        let stored = StoredRow::Live(row());
        let bytes = encode_row(&stored);
        assert_eq!(encode_live(&row()), bytes);
        assert_eq!(decode_row(3, &bytes).unwrap(), stored);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            let err = decode_row(3, &bad).unwrap_err();
            assert_eq!(err.code(), "CORRUPTED", "byte {i}");
        }
        for len in 0..bytes.len() {
            assert_eq!(decode_row(3, &bytes[..len]).unwrap_err().code(), "CORRUPTED");
        }
    }

    #[test]
    fn bitmaps_round_trip() {
        let b: RoaringBitmap = [1u32, 5, 70_000].into_iter().collect();
        let bytes = encode_bitmap(&b);
        assert_eq!(decode_bitmap(&bytes, &|| "x".into()).unwrap(), b);
        let mut bad = bytes.clone();
        bad[6] ^= 1;
        assert!(decode_bitmap(&bad, &|| "x".into()).is_err());
    }
}
