//! Messages: record one (unread counts for the other occupants, the last-message fields), a
//! private one (creating the dialog), and mark a dialog read.

use std::sync::Arc;

use super::checks::check_text;
use super::context::OpContext;
use super::dialogs::{create, find_visible};
use crate::dialog::to_dialog;
use crate::dialog::{Dialog, MessageMeta, NewDialog};
use crate::error::Error;
use crate::model::{DialogId, UserId, MAX_LAST_MESSAGE_CHARS, MAX_SHORT_TEXT_CHARS};
use crate::model::{Row, RowId};
use crate::storage::Writer;

/// Records a message: the sender must be allowed to post; every other occupant gets one more
/// unread message. The last-message fields follow the message with the latest `date_sent`.
pub(crate) fn record_message(
    w: &mut Writer<'_>,
    ctx: &OpContext<'_>,
    id: DialogId,
    sender: UserId,
    msg: MessageMeta,
) -> Result<(), Error> {
    check_text("last_message_id", Some(&msg.id), MAX_SHORT_TEXT_CHARS)?;
    let (rid, old) = find_visible(w, sender, id)?;
    write_message(w, ctx, rid, old, sender, msg).map(drop)
}

/// Records a message in a dialog the caller may write to; returns the dialog's new row.
fn write_message(
    w: &mut Writer<'_>,
    ctx: &OpContext<'_>,
    rid: RowId,
    old: Arc<Row>,
    sender: UserId,
    msg: MessageMeta,
) -> Result<Arc<Row>, Error> {
    let mut new = Row::clone(&old);
    if old.last_message_date_sent.is_none_or(|t| msg.date_sent >= t) {
        let text = if msg.text.chars().count() > MAX_LAST_MESSAGE_CHARS {
            msg.text.chars().take(MAX_LAST_MESSAGE_CHARS).collect()
        } else {
            msg.text
        };
        new.last_message = Some(text.into());
        new.last_message_id = Some(msg.id.into());
        new.last_message_date_sent = Some(msg.date_sent);
        new.last_message_user_id = Some(sender.0);
    }
    new.updated_at = ctx.now;
    let new = w.replace(rid, &old, new)?;
    for user in old.occupants.iter().filter(|u| **u != sender) {
        w.add_unread(user.0, rid, 1)?;
    }
    Ok(new)
}

/// Records a private message from `sender` to `recipient`, creating their private dialog if
/// there is none yet (and bringing back either of them who had left it).
pub(crate) fn record_private_message(
    w: &mut Writer<'_>,
    ctx: &OpContext<'_>,
    sender: UserId,
    recipient: UserId,
    msg: MessageMeta,
) -> Result<Dialog, Error> {
    check_text("last_message_id", Some(&msg.id), MAX_SHORT_TEXT_CHARS)?;
    let dialog = create(w, ctx, sender, NewDialog::private(recipient))?;
    let (rid, row) = w.find(&dialog.id)?.ok_or(Error::NotFound { id: dialog.id })?;
    let row = write_message(w, ctx, rid, row, sender, msg)?;
    to_dialog(&row, None)
}

/// Sets a user's unread count in a dialog to zero.
pub(crate) fn mark_read(w: &mut Writer<'_>, id: DialogId, user: UserId) -> Result<(), Error> {
    let (rid, _) = find_visible(w, user, id)?;
    w.clear_unread(user.0, rid)
}
