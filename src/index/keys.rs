//! The keys of the bitmap table.
//!
//! One redb table holds every bitmap. Its key is the chunk number as a big-endian `u16`, then
//! the encoded [`BitmapKey`]:
//!
//! | key | bytes after the chunk |
//! | --- | --- |
//! | user `u` is an occupant | `b'u'`, `u` as big-endian u64 |
//! | dialog type `t` | `b't'`, `t` as one byte |
//! | name n-gram `g` (1 to 3 lowercased chars) | `b'g'`, byte length of `g`, `g` as UTF-8 |
//! | `data.class_name` is `c` | `b'c'`, byte length (u16 BE), `c` |
//! | `data` has field `f` | `b'f'`, byte length (u16 BE), `f` |
//! | the dialog has a last message | `b'm'` |
//!
//! The chunk comes first so that the writes of a batch of new dialogs, which all fall in the
//! newest chunk, land in one narrow key range of the table: a batch of a thousand creates dirties
//! a few hundred pages instead of one per user. A whole bitmap is read chunk by chunk (point
//! reads), and kept in the read cache. Variable-length parts carry their length, so every key
//! decodes unambiguously.

/// Row ids per chunk, as a shift: a chunk is `row >> CHUNK_BITS`.
pub(crate) const CHUNK_BITS: u32 = 16;

/// The chunk a row id falls in.
pub(crate) fn chunk_of(row: u32) -> u16 {
    (row >> CHUNK_BITS) as u16
}

/// A set of rows kept as a bitmap.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum BitmapKey {
    /// Dialogs the user occupies.
    User(u64),
    /// Dialogs of one type (1 is the public dialogs).
    Type(u8),
    /// Named dialogs whose lowercased name contains this 1-, 2- or 3-character string.
    Gram(Box<str>),
    /// Dialogs whose `data` has this class.
    Class(Box<str>),
    /// Dialogs whose `data` has this field.
    DataField(Box<str>),
    /// Dialogs with a last message (`last_message_date_sent` set).
    HasMessage,
}

impl BitmapKey {
    /// The key bytes without the chunk suffix.
    pub(crate) fn prefix(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        match self {
            BitmapKey::User(u) => {
                out.push(b'u');
                out.extend_from_slice(&u.to_be_bytes());
            }
            BitmapKey::Type(t) => {
                out.push(b't');
                out.push(*t);
            }
            BitmapKey::Gram(g) => {
                out.push(b'g');
                // A gram is at most 3 chars of at most 4 bytes each.
                out.push(g.len() as u8);
                out.extend_from_slice(g.as_bytes());
            }
            BitmapKey::Class(s) => push_long(&mut out, b'c', s),
            BitmapKey::DataField(s) => push_long(&mut out, b'f', s),
            BitmapKey::HasMessage => out.push(b'm'),
        }
        out
    }

    /// The full key of one chunk.
    pub(crate) fn chunk_key(&self, chunk: u16) -> Vec<u8> {
        let mut out = chunk.to_be_bytes().to_vec();
        out.extend_from_slice(&self.prefix());
        out
    }

    /// Decodes a full key back into the bitmap key and chunk; `None` for bytes this module did
    /// not write.
    pub(crate) fn decode(bytes: &[u8]) -> Option<(BitmapKey, u16)> {
        let (chunk, body) = bytes.split_at_checked(2)?;
        let chunk = u16::from_be_bytes([chunk[0], chunk[1]]);
        let (&tag, rest) = body.split_first()?;
        let key = match tag {
            b'u' => BitmapKey::User(u64::from_be_bytes(rest.try_into().ok()?)),
            b't' if rest.len() == 1 => BitmapKey::Type(rest[0]),
            b'm' if rest.is_empty() => BitmapKey::HasMessage,
            b'g' => {
                let (&len, s) = rest.split_first()?;
                (s.len() == len as usize).then_some(())?;
                BitmapKey::Gram(std::str::from_utf8(s).ok()?.into())
            }
            b'c' | b'f' => {
                let (len, s) = rest.split_at_checked(2)?;
                (s.len() == u16::from_be_bytes([len[0], len[1]]) as usize).then_some(())?;
                let s: Box<str> = std::str::from_utf8(s).ok()?.into();
                if tag == b'c' {
                    BitmapKey::Class(s)
                } else {
                    BitmapKey::DataField(s)
                }
            }
            _ => return None,
        };
        Some((key, chunk))
    }
}

fn push_long(out: &mut Vec<u8>, tag: u8, s: &str) {
    out.push(tag);
    // Class and field names are capped far below 64 KiB by validation.
    out.extend_from_slice(&(s.len().min(u16::MAX as usize) as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The time-ordered indexes, named for plans and integrity reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum TimeIndex {
    /// `by_last_message`.
    LastMessage,
    /// `by_updated`.
    Updated,
    /// `public_by_last_message`.
    PublicLastMessage,
    /// `public_by_updated`.
    PublicUpdated,
}

impl TimeIndex {
    pub(crate) const ALL: [TimeIndex; 4] = [
        TimeIndex::LastMessage,
        TimeIndex::Updated,
        TimeIndex::PublicLastMessage,
        TimeIndex::PublicUpdated,
    ];

    /// Whether the index holds public dialogs only (its entries are cached as a stream).
    pub(crate) fn is_public(self) -> bool {
        matches!(self, TimeIndex::PublicLastMessage | TimeIndex::PublicUpdated)
    }

    /// The index's place in [`TimeIndex::ALL`], for arrays of per-index tables.
    pub(crate) fn slot(self) -> usize {
        self as usize
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            TimeIndex::LastMessage => "by_last_message",
            TimeIndex::Updated => "by_updated",
            TimeIndex::PublicLastMessage => "public_by_last_message",
            TimeIndex::PublicUpdated => "public_by_updated",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_do_not_nest() {
        let keys = [
            BitmapKey::User(96753878),
            BitmapKey::Type(1),
            BitmapKey::Gram("ab".into()),
            BitmapKey::Gram("abc".into()),
            BitmapKey::Gram("я".into()),
            BitmapKey::Class("ScoreTable".into()),
            BitmapKey::DataField("progress".into()),
            BitmapKey::HasMessage,
        ];
        for k in &keys {
            for chunk in [0u16, 1, 0xffff] {
                assert_eq!(BitmapKey::decode(&k.chunk_key(chunk)), Some((k.clone(), chunk)));
            }
        }
        // Keys of one chunk sort together, whatever the bitmap.
        let a = BitmapKey::User(u64::MAX).chunk_key(3);
        let b = BitmapKey::Gram("a".into()).chunk_key(4);
        assert!(a < b);
        assert_eq!(BitmapKey::decode(b"x"), None);
        assert_eq!(BitmapKey::decode(b"\x00\x01u\x00\x01"), None);
    }
}
