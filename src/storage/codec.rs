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
/// A bitmap chunk of at most [`SMALL_CHUNK`] rows: their low 16 bits, little-endian, ascending
/// (the chunk number, in the key, gives the high 16). Most users' chunks hold one or two rows,
/// and roaring's own format spends about 18 bytes on a one-row bitmap.
pub(crate) const FORMAT_SMALL_CHUNK: u8 = 2;
const SMALL_CHUNK: u64 = 16;
/// A row with the commit that wrote it: the bincode row, then that commit's sequence number
/// (u64 little-endian), so the next commit that writes the row knows which change-log entry
/// (`tables::CHANGES`) to move. Rows written before the change log are format 1, with no
/// commit: they are in no entry.
pub(crate) const FORMAT_ROW_SEQ: u8 = 3;
const HEADER: usize = 5;

use crate::model::Row;

#[cfg(test)]
impl Row {
    /// A plain row for unit tests: a group of user 1, created at 0, without name, message or
    /// data. Tests set the fields they are about with struct-update syntax.
    pub(crate) fn sample() -> Row {
        Row {
            id: [0; 12],
            user_id: 1,
            created_at: 0,
            updated_at: 0,
            kind: 2,
            name: None,
            photo: None,
            xmpp_room_jid: None,
            occupants: [crate::model::UserId(1)].into(),
            admins: Default::default(),
            last_message: None,
            last_message_id: None,
            last_message_date_sent: None,
            last_message_user_id: None,
            is_join_required: None,
            data: None,
            peer: None,
        }
    }
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

/// A value whose payload `write` appends in place (about `size` bytes), after the format byte
/// and room for the checksum, which is filled in last: one allocation and no copy of the payload.
fn framed(format: u8, size: usize, write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + size);
    out.push(format);
    out.extend_from_slice(&[0; HEADER - 1]);
    write(&mut out);
    let crc = crc32fast::hash(&out[HEADER..]);
    out[1..HEADER].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Checks the format byte and checksum and returns the payload.
fn unframe<'a>(bytes: &'a [u8], what: &dyn Fn() -> String) -> Result<&'a [u8], Error> {
    unframe_any(bytes, &[FORMAT_V1], what).map(|(_, payload)| payload)
}

/// Checks the checksum and that the format is one of `formats`; returns format and payload.
fn unframe_any<'a>(
    bytes: &'a [u8],
    formats: &[u8],
    what: &dyn Fn() -> String,
) -> Result<(u8, &'a [u8]), Error> {
    if bytes.len() < HEADER {
        return Err(Error::corrupted(format!("{}: value of {} bytes", what(), bytes.len())));
    }
    if !formats.contains(&bytes[0]) {
        return Err(Error::corrupted(format!("{}: unknown format {}", what(), bytes[0])));
    }
    let payload = &bytes[HEADER..];
    let stored = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    if crc32fast::hash(payload) != stored {
        return Err(Error::corrupted(format!("{}: checksum mismatch", what())));
    }
    Ok((bytes[0], payload))
}

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

pub(crate) fn encode<T: Encode>(value: &T) -> Vec<u8> {
    // Encoding plain structs into a Vec cannot fail: there is no size limit and no I/O.
    framed(FORMAT_V1, 64, |out| {
        let _ = bincode::encode_into_std_write(value, out, config());
    })
}

pub(crate) fn decode<T: Decode<()>>(bytes: &[u8], what: &dyn Fn() -> String) -> Result<T, Error> {
    let payload = unframe(bytes, what)?;
    match bincode::decode_from_slice::<T, _>(payload, config()) {
        Ok((v, used)) if used == payload.len() => Ok(v),
        Ok(_) => Err(Error::corrupted(format!("{}: trailing bytes", what()))),
        Err(e) => Err(Error::corrupted(format!("{}: {e}", what()))),
    }
}

/// Encodes a row (or tombstone) written by commit `seq`.
pub(crate) fn encode_row(row: &StoredRow, seq: u64) -> Vec<u8> {
    encode_with_seq(row, seq)
}

/// [`StoredRow`] borrowed, so a live row is encoded without cloning it; bincode writes both the
/// same way (variant index, then fields).
#[derive(Encode)]
enum StoredRowRef<'a> {
    Live(&'a Row),
}

/// Encodes a live row exactly as `encode_row(&StoredRow::Live(row.clone()), seq)` would.
pub(crate) fn encode_live(row: &Row, seq: u64) -> Vec<u8> {
    encode_with_seq(&StoredRowRef::Live(row), seq)
}

fn encode_with_seq<T: Encode>(value: &T, seq: u64) -> Vec<u8> {
    framed(FORMAT_ROW_SEQ, 72, |out| {
        let _ = bincode::encode_into_std_write(value, out, config());
        out.extend_from_slice(&seq.to_le_bytes());
    })
}

pub(crate) fn decode_row(row_id: u32, bytes: &[u8]) -> Result<StoredRow, Error> {
    let what = || format!("row {row_id}");
    let (format, payload) = unframe_any(bytes, &[FORMAT_V1, FORMAT_ROW_SEQ], &what)?;
    let payload = match format {
        FORMAT_ROW_SEQ => match payload.len().checked_sub(8) {
            Some(end) => &payload[..end],
            None => return Err(Error::corrupted(format!("{}: no commit number", what()))),
        },
        _ => payload,
    };
    match bincode::decode_from_slice::<StoredRow, _>(payload, config()) {
        Ok((v, used)) if used == payload.len() => Ok(v),
        Ok(_) => Err(Error::corrupted(format!("{}: trailing bytes", what()))),
        Err(e) => Err(Error::corrupted(format!("{}: {e}", what()))),
    }
}

/// The commit that wrote an encoded row, without decoding it: 0 for a row written before the
/// change log (or bytes too short to tell, which decoding the row reports).
pub(crate) fn row_seq(bytes: &[u8]) -> u64 {
    match bytes.first() {
        Some(&FORMAT_ROW_SEQ) if bytes.len() >= HEADER + 8 => {
            let tail: [u8; 8] = bytes[bytes.len() - 8..].try_into().unwrap_or_default();
            u64::from_le_bytes(tail)
        }
        _ => 0,
    }
}

/// Encodes one chunk of a bitmap (every row id in it has the same high 16 bits).
pub(crate) fn encode_bitmap(bitmap: &RoaringBitmap) -> Vec<u8> {
    if bitmap.len() <= SMALL_CHUNK {
        return framed(FORMAT_SMALL_CHUNK, 2 * bitmap.len() as usize, |out| {
            for rid in bitmap {
                out.extend_from_slice(&(rid as u16).to_le_bytes());
            }
        });
    }
    // Writing into a Vec cannot fail.
    framed(FORMAT_V1, bitmap.serialized_size(), |out| {
        let _ = bitmap.serialize_into(out);
    })
}

/// Decodes one chunk of a bitmap, chunk number `chunk`.
pub(crate) fn decode_bitmap(
    bytes: &[u8],
    chunk: u16,
    what: &dyn Fn() -> String,
) -> Result<RoaringBitmap, Error> {
    let (format, payload) = unframe_any(bytes, &[FORMAT_V1, FORMAT_SMALL_CHUNK], what)?;
    let bad = |why: &str| Error::corrupted(format!("{}: {why}", what()));
    let high = u32::from(chunk) << crate::index::CHUNK_BITS;
    let bitmap = if format == FORMAT_SMALL_CHUNK {
        if payload.len() % 2 != 0 || payload.len() as u64 > 2 * SMALL_CHUNK {
            return Err(bad("small chunk of odd length"));
        }
        let rows =
            payload.chunks_exact(2).map(|p| high | u32::from(u16::from_le_bytes([p[0], p[1]])));
        RoaringBitmap::from_sorted_iter(rows).map_err(|_| bad("small chunk not ascending"))?
    } else {
        // The checked reader: a checksum that collides on damaged bytes still cannot make
        // roaring build an invalid bitmap.
        RoaringBitmap::deserialize_from(payload).map_err(|e| bad(&e.to_string()))?
    };
    let outside = |row: Option<u32>| row.is_some_and(|r| crate::index::chunk_of(r) != chunk);
    if outside(bitmap.min()) || outside(bitmap.max()) {
        return Err(bad("rows outside the chunk"));
    }
    Ok(bitmap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CustomData, DataValue, UserId};

    fn row() -> Row {
        Row {
            id: [1; 12],
            user_id: 7,
            created_at: 1,
            updated_at: 2,
            name: Some("Доброе утро".into()),
            xmpp_room_jid: Some("1_x@muc".into()),
            occupants: [UserId(7), UserId(8)].into(),
            is_join_required: Some(false),
            data: Some(std::sync::Arc::new(CustomData {
                class_name: "C".into(),
                fields: [("f".into(), DataValue::Float(1.5))].into(),
            })),
            ..Row::sample()
        }
    }

    #[test]
    fn rows_round_trip_and_damage_is_caught() {
        let stored = StoredRow::Live(row());
        let bytes = encode_row(&stored, 77);
        assert_eq!(encode_live(&row(), 77), bytes);
        assert_eq!(decode_row(3, &bytes).unwrap(), stored);
        assert_eq!(row_seq(&bytes), 77);
        // A row of the format before the change log decodes, and was written by no commit.
        let v1 = encode(&stored);
        assert_eq!(decode_row(3, &v1).unwrap(), stored);
        assert_eq!(row_seq(&v1), 0);
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
        let small: RoaringBitmap = [65_537u32, 65_540, 131_071].into_iter().collect();
        let bytes = encode_bitmap(&small);
        assert_eq!(bytes[0], FORMAT_SMALL_CHUNK);
        assert_eq!(bytes.len(), 5 + 6);
        assert_eq!(decode_bitmap(&bytes, 1, &|| "x".into()).unwrap(), small);
        let big: RoaringBitmap = (0..1000u32).map(|i| i * 3).collect();
        let bytes = encode_bitmap(&big);
        assert_eq!(bytes[0], FORMAT_V1);
        assert_eq!(decode_bitmap(&bytes, 0, &|| "x".into()).unwrap(), big);
        // A roaring chunk carries its rows' high bits: stored under another chunk, it is damage.
        assert!(decode_bitmap(&bytes, 1, &|| "x".into()).is_err(), "rows outside the chunk");
        let mut bad = bytes.clone();
        bad[6] ^= 1;
        assert!(decode_bitmap(&bad, 0, &|| "x".into()).is_err());
    }
}
