//! The change feed: what changed for one user after a [`ChangeCursor`](crate::ChangeCursor),
//! read on one snapshot.
//!
//! A first sync ([`CursorState::Start`]) lists every dialog the user sees in row order, a page
//! a call; it remembers the commit it began at and then reads the change log from there, so a
//! dialog that changed while the listing went on is sent again. After that, an answer merges
//! two logs in (commit, row) order from the cursor's position on:
//!
//! - the change log (`changes`): each dialog at the last commit that wrote it. A live dialog
//!   the user sees is sent in its current state; the tombstone of a public dialog is a removal
//!   for everyone; any other entry is another user's.
//! - the per-user changes (`user_changes`): the user left the dialog (or was removed, or it was
//!   deleted), or `mark_read` cleared their count. The dialog's current state decides: sent if
//!   the user sees it now, a removal otherwise.
//!
//! Both logs are store-wide: an answer walks every change after its cursor (at most
//! [`WALK_MAX`] entries a call, then `has_more`), so its cost is the store's changes since the
//! cursor, not the size of the user's inbox.

use std::collections::HashSet;
use std::sync::Arc;

use crate::dialog::CursorState;
use crate::error::Error;
use crate::model::{DialogId, Row, RowId, UserId};
use crate::storage::{Snapshot, CHANGED_DELETED, CHANGED_PUBLIC};

/// Log entries one call walks at most before it answers with `has_more`, however few of them
/// were the user's.
pub(crate) const WALK_MAX: usize = 4_096;

/// Entries an answer holds at most, whatever the limit asked.
pub(crate) const CHANGES_MAX: usize = 1_000;

/// An answer before its rows become dialogs.
pub(crate) struct FeedAnswer {
    /// Dialogs to send, in log order.
    pub dialogs: Vec<(RowId, Arc<Row>)>,
    pub removed: Vec<DialogId>,
    pub next: CursorState,
    pub has_more: bool,
}

/// The changes `user` has not seen after `cursor`, at most `limit` (1 to [`CHANGES_MAX`]).
pub(crate) fn changes_since(
    snap: &Snapshot,
    user: UserId,
    cursor: &CursorState,
    limit: usize,
) -> Result<FeedAnswer, Error> {
    let limit = limit.clamp(1, CHANGES_MAX);
    let meta = snap.meta()?;
    let (tag, now) = (meta.store_tag, meta.seq);
    let made = match *cursor {
        CursorState::Start => None,
        CursorState::Listing { tag, user, seq, .. } | CursorState::Log { tag, user, seq, .. } => {
            Some((tag, user, seq))
        }
    };
    if let Some((made_tag, made_user, seq)) = made {
        if made_tag != tag {
            return Err(invalid("it was made by another store".into()));
        }
        if made_user != user.0 {
            return Err(invalid(format!("it was made for user {made_user}, not {user}")));
        }
        if seq > now {
            return Err(invalid(format!("it is at commit {seq}; this store is at {now}")));
        }
        if seq < meta.history_from {
            return Err(Error::CursorExpired { seq, kept_from: meta.history_from });
        }
    }
    match *cursor {
        CursorState::Start => listing(snap, user, (tag, now), 0, limit),
        CursorState::Listing { seq, from_row, .. } => {
            listing(snap, user, (tag, seq), from_row, limit)
        }
        CursorState::Log { seq, row, .. } => log(snap, user, (tag, now), (seq, row), limit),
    }
}

fn invalid(why: String) -> Error {
    Error::CursorInvalid { why }
}

/// A page of the first sync: the dialogs `user` sees from row `from_row` on. `began` is the
/// store tag and the commit the listing began at.
fn listing(
    snap: &Snapshot,
    user: UserId,
    (tag, began): (u32, u64),
    from_row: u32,
    limit: usize,
) -> Result<FeedAnswer, Error> {
    use crate::index::BitmapKey;
    let own = snap.bitmap(&BitmapKey::User(user.0))?;
    let public = snap.bitmap(&BitmapKey::Type(1))?;
    let mut own_rows = own.range(from_row..).peekable();
    let mut public_rows = public.range(from_row..).peekable();
    let mut dialogs = Vec::with_capacity(limit.min(own.len() as usize + public.len() as usize));
    let next_row = loop {
        // The two sets are disjoint (a user's bitmap holds no public dialog): merge by row.
        let next = match (own_rows.peek(), public_rows.peek()) {
            (Some(a), Some(b)) if a < b => own_rows.next(),
            (Some(_), None) => own_rows.next(),
            (_, Some(_)) => public_rows.next(),
            (None, None) => break None,
        };
        let Some(rid) = next else { break None };
        if dialogs.len() == limit {
            break Some(rid);
        }
        dialogs.push((RowId(rid), snap.live_row(RowId(rid))?));
    };
    let seq_now = snap.meta()?.seq;
    Ok(match next_row {
        Some(from_row) => FeedAnswer {
            dialogs,
            removed: Vec::new(),
            next: CursorState::Listing { tag, user: user.0, seq: began, from_row },
            has_more: true,
        },
        // Listed: the log from the listing's first commit on holds what changed meanwhile.
        None => FeedAnswer {
            dialogs,
            removed: Vec::new(),
            next: CursorState::Log { tag, user: user.0, seq: began, row: u32::MAX },
            has_more: seq_now > began,
        },
    })
}

/// The changes after log position `after` that concern `user`.
fn log(
    snap: &Snapshot,
    user: UserId,
    (tag, now): (u32, u64),
    after: (u64, u32),
    limit: usize,
) -> Result<FeedAnswer, Error> {
    let mut changes = snap.changes_after(after)?.peekable();
    let mut mine = snap
        .user_changes_after(after)?
        .filter(|entry| !matches!(entry, Ok((_, _, u, _)) if *u != user.0))
        .peekable();
    let mut answer = FeedAnswer {
        dialogs: Vec::new(),
        removed: Vec::new(),
        next: CursorState::Log { tag, user: user.0, seq: now, row: u32::MAX },
        has_more: false,
    };
    let mut sent: HashSet<u32> = HashSet::new();
    let mut walked = 0;
    loop {
        let change_at = match changes.peek() {
            Some(Ok((seq, rid, _))) => Some((*seq, rid.0)),
            Some(Err(_)) => return Err(changes.next().and_then(Result::err).unwrap_or_else(gone)),
            None => None,
        };
        if let Some(Err(_)) = mine.peek() {
            return Err(mine.next().and_then(Result::err).unwrap_or_else(gone));
        }
        let user_at = match mine.peek() {
            Some(Ok((seq, rid, _, _))) => Some((*seq, rid.0)),
            _ => None,
        };
        let at = match (change_at, user_at) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => break,
        };
        if answer.dialogs.len() + answer.removed.len() == limit || walked == WALK_MAX {
            answer.has_more = true;
            break;
        }
        let rid = RowId(at.1);
        // What the entries at this position say: the row's own change, the user's.
        let mut bits = None;
        if change_at == Some(at) {
            if let Some(Ok((_, _, b))) = changes.next() {
                bits = Some(b);
            }
            walked += 1;
        }
        let mut theirs = false;
        if user_at == Some(at) {
            mine.next();
            theirs = true;
            walked += 1;
        }
        answer.next = CursorState::Log { tag, user: user.0, seq: at.0, row: at.1 };
        if sent.contains(&rid.0) {
            continue;
        }
        let deleted = bits.is_some_and(|b| b & CHANGED_DELETED != 0);
        let public = bits.is_some_and(|b| b & CHANGED_PUBLIC != 0);
        let row = if deleted { None } else { snap.row_at(rid)? };
        match row {
            Some(row) if row.visible_to(user) => answer.dialogs.push((rid, row)),
            // Someone else's dialog.
            Some(_) if !theirs => continue,
            None if !theirs && !public => continue,
            _ => answer.removed.extend(snap.id_at(rid)?),
        }
        sent.insert(rid.0);
    }
    Ok(answer)
}

/// An iterator said it held an error and then gave none.
fn gone() -> Error {
    Error::corrupted("a change-log entry vanished while it was read")
}
