//! Identifiers and the dialog type: [`UserId`], [`DialogId`], [`RowId`] and [`DialogType`].
//!
//! Parsing them from text, which can fail with an [`Error`](crate::Error), lives with the
//! input types in `dialog/parse.rs`, above the error type that names them.

use std::fmt;

use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

/// A user id, as QuickBlox's integer `user_id` and `occupants_ids` entries.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    bincode::Encode,
    bincode::Decode,
)]
#[serde(transparent)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A dialog id: 12 bytes, shown as 24 lowercase hex characters.
///
/// The store generates ids as 4 bytes of big-endian unix seconds followed by 8 bytes unique
/// within the store, the layout of a MongoDB ObjectId, so ids sort by creation second.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DialogId(pub [u8; 12]);

impl DialogId {
    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }

    /// The unix second in the id's first four bytes.
    pub fn timestamp(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 24];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = HEX[(b >> 4) as usize];
            out[2 * i + 1] = HEX[(b & 15) as usize];
        }
        // The buffer holds ASCII hex digits only.
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DialogId({self})")
    }
}

impl Serialize for DialogId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The three dialog types of the QuickBlox API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DialogType {
    /// `type=1`: anyone may read and post; no occupants, only admins.
    PublicGroup = 1,
    /// `type=2`: a group of occupants.
    Group = 2,
    /// `type=3`: exactly two occupants.
    Private = 3,
}

impl DialogType {
    /// The type's number in the API (1, 2 or 3).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// All three types, in code order.
    pub const ALL: [DialogType; 3] =
        [DialogType::PublicGroup, DialogType::Group, DialogType::Private];
}

impl fmt::Display for DialogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.code().fmt(f)
    }
}

impl Serialize for DialogType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

/// A dense row number: the position of a dialog in the append-only dialog table, and what
/// every index holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RowId(pub u32);
