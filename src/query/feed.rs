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
use crate::lang::Direction;
use crate::model::{DialogId, Row, RowId, UserId};
use crate::storage::{Snapshot, TimeOrder, CHANGED_DELETED, CHANGED_PUBLIC};

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
///
/// With `store_wide` (the oracle that tests compare with) the answer walks the whole log even
/// where the user's feed would serve; `build_columns` lets it build the commit column the feed
/// is built from (see `planner::may_build_columns`).
pub(crate) fn changes_since(
    snap: &Snapshot,
    user: UserId,
    cursor: &CursorState,
    limit: usize,
    (store_wide, build_columns): (bool, bool),
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
        CursorState::Log { seq, row, .. } => {
            let feed = match store_wide {
                true => None,
                false => snap.user_feed(user.0, build_columns)?,
            };
            log(snap, user, (tag, now), (seq, row), limit, feed)
        }
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

/// One log entry as the merge sees it: its position (commit, row) and what it says.
struct Entry {
    at: (u64, u32),
    /// The row's own change, with its `CHANGED_*` bits; `None` for a per-user change.
    bits: Option<u8>,
}

type Stream<'s> = std::iter::Peekable<Box<dyn Iterator<Item = Result<Entry, Error>> + 's>>;

/// The streams of log entries after `after` that may concern `user`, each in (commit, row)
/// order: with their change feed, the dialogs they occupy, the public dialogs' changes and
/// their own per-user changes (each entry theirs); without it (the feed is not cached and
/// its column not built, or `store_wide`), the whole log and every user's per-user changes.
fn streams<'s>(
    snap: &'s Snapshot,
    user: UserId,
    after: (u64, u32),
    feed: Option<Arc<TimeOrder>>,
) -> Result<Vec<Stream<'s>>, Error> {
    let rows = |entries: crate::storage::Entries<'s, crate::storage::ChangeEntry>| {
        let mapped =
            entries.map(|e| e.map(|(seq, rid, bits)| Entry { at: (seq, rid.0), bits: Some(bits) }));
        Box::new(mapped) as Box<dyn Iterator<Item = Result<Entry, Error>> + 's>
    };
    let theirs = |entries: crate::storage::Entries<'s, crate::storage::UserChangeEntry>| {
        let mine = entries.filter(move |e| !matches!(e, Ok((_, _, u, _)) if *u != user.0));
        let mapped = mine.map(|e| e.map(|(seq, rid, _, _)| Entry { at: (seq, rid.0), bits: None }));
        Box::new(mapped) as Box<dyn Iterator<Item = Result<Entry, Error>> + 's>
    };
    let streams = match feed {
        Some(feed) => {
            let own = feed
                .range(after.0 as i64, i64::MAX, Direction::Asc)
                .map(|(seq, rid)| (seq as u64, rid))
                .filter(move |at| *at > after)
                .map(|at| Ok(Entry { at, bits: Some(0) }));
            vec![
                Box::new(own) as Box<dyn Iterator<Item = Result<Entry, Error>> + 's>,
                rows(snap.public_changes_after(after)?),
                theirs(snap.changes_of_user(user.0, after)?),
            ]
        }
        None => vec![rows(snap.changes_after(after)?), theirs(snap.user_changes_after(after)?)],
    };
    Ok(streams.into_iter().map(Iterator::peekable).collect())
}

/// The changes after log position `after` that concern `user`.
fn log(
    snap: &Snapshot,
    user: UserId,
    (tag, now): (u32, u64),
    after: (u64, u32),
    limit: usize,
    feed: Option<Arc<TimeOrder>>,
) -> Result<FeedAnswer, Error> {
    let mut streams = streams(snap, user, after, feed)?;
    let mut answer = FeedAnswer {
        dialogs: Vec::new(),
        removed: Vec::new(),
        next: CursorState::Log { tag, user: user.0, seq: now, row: u32::MAX },
        has_more: false,
    };
    let mut sent: HashSet<u32> = HashSet::new();
    let mut walked = 0;
    // The last position consumed: where the next call goes on if this one stops early. A
    // call that reads every stream to its end goes on after the snapshot's last commit.
    let mut consumed = None;
    loop {
        // The next position of any stream.
        let mut at: Option<(u64, u32)> = None;
        for stream in &mut streams {
            match stream.peek() {
                Some(Ok(entry)) => at = Some(at.map_or(entry.at, |a| a.min(entry.at))),
                Some(Err(_)) => {
                    return Err(stream.next().and_then(Result::err).unwrap_or_else(gone))
                }
                None => {}
            }
        }
        let Some(at) = at else { break };
        if answer.dialogs.len() + answer.removed.len() == limit || walked >= WALK_MAX {
            if let Some((seq, row)) = consumed {
                answer.next = CursorState::Log { tag, user: user.0, seq, row };
            }
            answer.has_more = true;
            break;
        }
        // What the entries at this position say: the row's own change, the user's.
        let (mut bits, mut theirs) = (None, false);
        for stream in &mut streams {
            while let Some(Ok(entry)) = stream.next_if(|e| e.as_ref().is_ok_and(|e| e.at == at)) {
                walked += 1;
                match entry.bits {
                    Some(b) => bits = Some(b),
                    None => theirs = true,
                }
            }
        }
        let rid = RowId(at.1);
        consumed = Some(at);
        if sent.contains(&rid.0) {
            continue;
        }
        let deleted = bits.is_some_and(|b| b & CHANGED_DELETED != 0);
        let public = bits.is_some_and(|b| b & CHANGED_PUBLIC != 0);
        let row = if deleted { None } else { snap.row_if_live(rid)? };
        match row {
            Some(row) if row.visible_to(user) => answer.dialogs.push((rid, row)),
            // Someone else's dialog.
            Some(_) if !theirs => continue,
            None if !theirs && !public => continue,
            _ => {
                let Some(id) = snap.id_at(rid)? else { continue };
                // The id of a deleted dialog imported again names a new row, whose own
                // entry comes later and sends it: dropping it here would lose it.
                let again =
                    snap.find(&id)?.is_some_and(|(r, row)| r != rid && row.visible_to(user));
                if !again {
                    answer.removed.push(id);
                }
            }
        }
        sent.insert(rid.0);
    }
    Ok(answer)
}

/// An iterator said it held an error and then gave none.
fn gone() -> Error {
    Error::corrupted("a change-log entry vanished while it was read")
}
