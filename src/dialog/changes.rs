//! The change feed's public types: [`ChangeCursor`], where a client's copy of a user's dialogs
//! stands, and [`Changes`], one answer of
//! [`DialogStore::changes_since`](crate::DialogStore::changes_since).
//!
//! A cursor is opaque to clients: it prints as 64 lowercase hex characters (URL-safe) holding
//! a format byte, the phase, the store's tag, the user, a commit number and a row, and a CRC-32
//! of those, so garbage, a truncated token or another store's cursor is `CURSOR_INVALID`
//! rather than a wrong answer. [`ChangeCursor::start`] prints as `start`.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use super::record::Dialog;
use crate::error::Error;
use crate::model::DialogId;

/// Where a client's copy of one user's dialogs stands in the store's change feed.
///
/// Start from [`ChangeCursor::start`] and pass each answer's [`Changes::next`] to the next call
/// of [`DialogStore::changes_since`](crate::DialogStore::changes_since); keep it between
/// sessions as text (`to_string`, `parse`). A cursor is made for one user of one store.
///
/// ```
/// use dialogstore::ChangeCursor;
/// let start = ChangeCursor::start();
/// assert_eq!(start.to_string().parse::<ChangeCursor>()?, start);
/// assert_eq!("not a cursor".parse::<ChangeCursor>().unwrap_err().code(), "CURSOR_INVALID");
/// # Ok::<(), dialogstore::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChangeCursor(pub(crate) CursorState);

/// What a cursor holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CursorState {
    /// Nothing synced yet.
    Start,
    /// The first sync lists every dialog the user sees in row order: it began at commit `seq`
    /// and rows from `from_row` on are still to list. Then the log is read from `seq` on.
    Listing { tag: u32, user: u64, seq: u64, from_row: u32 },
    /// Every change up to position (`seq`, `row`) of the change log is in the client's copy.
    Log { tag: u32, user: u64, seq: u64, row: u32 },
}

/// The token's format byte.
const VERSION: u8 = 1;
const LISTING: u8 = 1;
const LOG: u8 = 2;
/// Format, phase, tag, user, commit, row.
const BODY: usize = 1 + 1 + 4 + 8 + 8 + 4;
/// The body and its CRC-32.
const TOKEN: usize = BODY + 4;
const START: &str = "start";

impl ChangeCursor {
    /// The cursor of a client that holds nothing yet: its first answers list every dialog the
    /// user sees.
    pub fn start() -> ChangeCursor {
        ChangeCursor(CursorState::Start)
    }

    /// Whether this is [`ChangeCursor::start`].
    pub fn is_start(&self) -> bool {
        self.0 == CursorState::Start
    }

    fn bytes(&self) -> Option<[u8; TOKEN]> {
        let (phase, tag, user, seq, row) = match self.0 {
            CursorState::Start => return None,
            CursorState::Listing { tag, user, seq, from_row } => {
                (LISTING, tag, user, seq, from_row)
            }
            CursorState::Log { tag, user, seq, row } => (LOG, tag, user, seq, row),
        };
        let mut out = [0u8; TOKEN];
        out[0] = VERSION;
        out[1] = phase;
        out[2..6].copy_from_slice(&tag.to_be_bytes());
        out[6..14].copy_from_slice(&user.to_be_bytes());
        out[14..22].copy_from_slice(&seq.to_be_bytes());
        out[22..26].copy_from_slice(&row.to_be_bytes());
        let crc = crc32fast::hash(&out[..BODY]);
        out[BODY..].copy_from_slice(&crc.to_be_bytes());
        Some(out)
    }
}

impl Default for ChangeCursor {
    fn default() -> ChangeCursor {
        ChangeCursor::start()
    }
}

impl fmt::Display for ChangeCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bytes() {
            None => f.write_str(START),
            Some(bytes) => bytes.iter().try_for_each(|b| write!(f, "{b:02x}")),
        }
    }
}

fn invalid(why: impl Into<String>) -> Error {
    Error::CursorInvalid { why: why.into() }
}

impl FromStr for ChangeCursor {
    type Err = Error;

    /// Parses a token [`Display`](fmt::Display) printed; `start` and the empty string are
    /// [`ChangeCursor::start`]. Anything else is `CURSOR_INVALID`.
    fn from_str(s: &str) -> Result<ChangeCursor, Error> {
        if s.is_empty() || s == START {
            return Ok(ChangeCursor::start());
        }
        let shown = || s.chars().take(80).collect::<String>();
        if s.len() != 2 * TOKEN || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(format!("{:?} is not a change cursor", shown())));
        }
        let mut bytes = [0u8; TOKEN];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16)
                .map_err(|_| invalid(format!("{:?} is not a change cursor", shown())))?;
        }
        let crc = u32::from_be_bytes(bytes[BODY..].try_into().unwrap_or_default());
        if crc32fast::hash(&bytes[..BODY]) != crc || bytes[0] != VERSION {
            return Err(invalid(format!("{:?} is not a change cursor of this version", shown())));
        }
        let tag = u32::from_be_bytes(bytes[2..6].try_into().unwrap_or_default());
        let user = u64::from_be_bytes(bytes[6..14].try_into().unwrap_or_default());
        let seq = u64::from_be_bytes(bytes[14..22].try_into().unwrap_or_default());
        let row = u32::from_be_bytes(bytes[22..26].try_into().unwrap_or_default());
        let state = match bytes[1] {
            LISTING => CursorState::Listing { tag, user, seq, from_row: row },
            LOG => CursorState::Log { tag, user, seq, row },
            _ => return Err(invalid(format!("{:?} has an unknown phase", shown()))),
        };
        Ok(ChangeCursor(state))
    }
}

impl Serialize for ChangeCursor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One answer of [`DialogStore::changes_since`](crate::DialogStore::changes_since): what
/// changed for the user after the cursor, serialized as
/// `{"dialogs": [...], "removed": ["<id>", ...], "next": "<token>", "has_more": false}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Changes {
    /// Each dialog the user sees that changed after the cursor (its row, or the user's unread
    /// count in it), once, in its current state as `get_dialog` returns it.
    pub dialogs: Vec<Dialog>,
    /// Each dialog the user no longer sees (left, was removed, it was deleted): drop it.
    pub removed: Vec<DialogId>,
    /// The cursor of the next call.
    pub next: ChangeCursor,
    /// More changes are waiting: call again with `next` at once.
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_damage_is_invalid() {
        let cursors = [
            ChangeCursor::start(),
            ChangeCursor(CursorState::Listing { tag: 7, user: u64::MAX, seq: 3, from_row: 9 }),
            ChangeCursor(CursorState::Log { tag: 1, user: 2, seq: u64::MAX, row: u32::MAX }),
        ];
        for cursor in cursors {
            let token = cursor.to_string();
            assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()), "{token}");
            assert_eq!(token.parse::<ChangeCursor>().unwrap(), cursor);
        }
        let token = cursors[2].to_string();
        for i in 0..token.len() {
            let mut bad = token.clone().into_bytes();
            bad[i] = if bad[i] == b'0' { b'1' } else { b'0' };
            let bad = String::from_utf8(bad).unwrap();
            assert_eq!(bad.parse::<ChangeCursor>().unwrap_err().code(), "CURSOR_INVALID");
        }
        for bad in [&token[..10], "zz", "é", "start2", &format!("{token}00")] {
            assert_eq!(bad.parse::<ChangeCursor>().unwrap_err().code(), "CURSOR_INVALID");
        }
        assert_eq!("".parse::<ChangeCursor>().unwrap(), ChangeCursor::start());
    }
}
