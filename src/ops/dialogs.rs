//! Operations on dialogs: create, update, delete (leave), import, and class declarations.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::checks::{
    check_data, check_data_name, check_name_and_photo, check_occupant_count, check_text,
    sorted_users, user_list,
};
use super::context::{is_owner_or_admin, OpContext};
use crate::dialog::{kind_of, to_dialog};
use crate::dialog::{Dialog, DialogUpdate, NewDialog};
use crate::error::{Action, Error, ValidationError};
use crate::model::{
    CustomClass, DialogId, DialogType, UserId, MAX_DATA_FIELDS, MAX_LAST_MESSAGE_CHARS,
    MAX_SHORT_TEXT_CHARS,
};
use crate::model::{Row, RowId, MAX_DELETE_IDS};
use crate::storage::Writer;

/// Creates a dialog, or returns the existing private dialog between the same two users.
pub(crate) fn create(
    w: &mut Writer<'_>,
    ctx: &OpContext<'_>,
    creator: UserId,
    new: NewDialog,
) -> Result<Dialog, Error> {
    let kind = new.dialog_type;
    let private = kind == DialogType::Private;
    if !private {
        check_name_and_photo(new.name.as_deref(), new.photo.as_deref())?;
    } else {
        check_text("photo", new.photo.as_deref(), MAX_SHORT_TEXT_CHARS)?;
    }
    let others: Vec<u64> =
        sorted_users(new.occupants_ids).into_iter().filter(|u| *u != creator.0).collect();
    let data = new.data.map(|d| check_data(w, d)).transpose()?.map(Arc::new);
    let (occupants, admins, peer) = match kind {
        DialogType::Private => {
            if others.len() != 1 {
                return Err(ValidationError::PrivateOpponents { given: others.len() }.into());
            }
            let peer = others[0];
            if let Some((rid, row)) = w.private_pair(creator.0, peer)? {
                return restore_private(w, ctx, rid, row);
            }
            (sorted_users([creator, UserId(peer)]), Vec::new(), Some(peer))
        }
        DialogType::Group => {
            check_occupant_count(others.len() + 1)?;
            (sorted_users(others.into_iter().map(UserId).chain([creator])), Vec::new(), None)
        }
        DialogType::PublicGroup => {
            if !others.is_empty() {
                return Err(ValidationError::PublicHasNoOccupants.into());
            }
            (Vec::new(), vec![creator.0], None)
        }
    };
    let (_, id) = w.next_id(ctx.now)?;
    let row = Row {
        id: id.0,
        user_id: creator.0,
        created_at: ctx.now,
        updated_at: ctx.now,
        kind: kind.code(),
        name: if private { None } else { new.name.map(Arc::from) },
        photo: new.photo.map(Arc::from),
        xmpp_room_jid: (!private).then(|| ctx.room_jid(&id).into()),
        occupants: user_list(occupants),
        admins: user_list(admins),
        last_message: None,
        last_message_id: None,
        last_message_date_sent: None,
        last_message_user_id: None,
        is_join_required: (kind == DialogType::Group)
            .then_some(new.is_join_required.unwrap_or(false)),
        data,
        peer,
    };
    let (_, row) = w.insert(row)?;
    to_dialog(&row, None)
}

/// The existing private dialog between two users, with whichever of them had left back in it.
pub(super) fn restore_private(
    w: &mut Writer<'_>,
    ctx: &OpContext<'_>,
    rid: RowId,
    row: Arc<Row>,
) -> Result<Dialog, Error> {
    let both = sorted_users([UserId(row.user_id), UserId(row.peer.unwrap_or(row.user_id))]);
    let both = user_list(both);
    if row.occupants == both {
        return to_dialog(&row, None);
    }
    let mut new = Row::clone(&row);
    new.occupants = both;
    new.updated_at = ctx.now;
    let new = w.replace(rid, &row, new)?;
    to_dialog(&new, None)
}

/// Finds a live dialog the user may see.
pub(super) fn find_visible(
    w: &Writer<'_>,
    user: UserId,
    id: DialogId,
) -> Result<(RowId, Arc<Row>), Error> {
    let (rid, row) = w.find(&id)?.ok_or(Error::NotFound { id })?;
    if !row.visible_to(user) {
        return Err(Error::AccessDenied { id, user });
    }
    Ok((rid, row))
}

/// Applies an update under the permission rules (the crate docs' "Visibility and rights").
pub(crate) fn update(
    w: &mut Writer<'_>,
    ctx: &OpContext<'_>,
    user: UserId,
    id: DialogId,
    upd: DialogUpdate,
) -> Result<Dialog, Error> {
    let (rid, old) = find_visible(w, user, id)?;
    let kind = kind_of(old.kind)?;
    let refuse = |action| Err(Error::WrongPermissions { id, user, action });
    let privileged = is_owner_or_admin(&old, user);

    if kind == DialogType::Private {
        // The name of a private dialog is ignored, so it is not checked either (as in create).
        check_text("photo", upd.photo.as_deref(), MAX_SHORT_TEXT_CHARS)?;
    } else {
        check_name_and_photo(upd.name.as_deref(), upd.photo.as_deref())?;
    }
    let data = upd.data.map(|d| check_data(w, d)).transpose()?;
    let push_occ = sorted_users(upd.push_all.occupants_ids.0);
    let pull_occ = sorted_users(upd.pull_all.occupants_ids.0);
    let push_adm = sorted_users(upd.push_all.admin_ids.0);
    let pull_adm = sorted_users(upd.pull_all.admin_ids.0);
    let admins_change = !push_adm.is_empty() || !pull_adm.is_empty();

    match kind {
        DialogType::Private => {
            if !push_occ.is_empty() {
                return refuse(Action::AddOccupants);
            }
            if !pull_occ.is_empty() {
                return refuse(Action::RemoveOccupants);
            }
            if admins_change {
                return refuse(Action::ChangeAdmins);
            }
        }
        DialogType::PublicGroup => {
            if !push_occ.is_empty() || !pull_occ.is_empty() {
                return Err(ValidationError::PublicHasNoOccupants.into());
            }
            if !privileged {
                let action = if upd.name.is_some() {
                    Action::Rename
                } else if upd.photo.is_some() {
                    Action::ChangePhoto
                } else if data.is_some() {
                    Action::ChangeData
                } else if admins_change {
                    Action::ChangeAdmins
                } else {
                    return to_dialog(&old, None);
                };
                return refuse(action);
            }
        }
        DialogType::Group => {
            if pull_occ.iter().any(|u| *u != user.0) && !privileged {
                return refuse(Action::RemoveOccupants);
            }
            if admins_change && !privileged {
                return refuse(Action::ChangeAdmins);
            }
        }
    }

    let mut new = Row::clone(&old);
    if kind != DialogType::Private {
        if let Some(name) = upd.name {
            new.name = Some(name.into());
        }
    }
    if let Some(photo) = upd.photo {
        new.photo = Some(photo.into());
    }
    if let Some(data) = data {
        new.data = Some(Arc::new(data));
    }
    if kind == DialogType::Group {
        let mut occ: BTreeSet<u64> = old.occupants.iter().map(|u| u.0).collect();
        occ.extend(&push_occ);
        occ.retain(|u| pull_occ.binary_search(u).is_err());
        check_occupant_count(occ.len())?;
        new.occupants = user_list(occ);
    }
    if kind != DialogType::Private {
        let mut adm: BTreeSet<u64> = old.admins.iter().map(|u| u.0).collect();
        adm.extend(&push_adm);
        adm.retain(|u| pull_adm.binary_search(u).is_err());
        if kind == DialogType::Group {
            if let Some(u) =
                push_adm.iter().find(|u| new.occupants.binary_search(&UserId(**u)).is_err())
            {
                return Err(ValidationError::AdminNotOccupant { user: UserId(*u) }.into());
            }
            // A removed occupant is no longer an admin.
            adm.retain(|u| new.occupants.binary_search(&UserId(*u)).is_ok());
        }
        new.admins = user_list(adm);
    }
    if new == *old {
        return to_dialog(&old, None);
    }
    new.updated_at = ctx.now;
    if kind == DialogType::Group && new.occupants.is_empty() {
        // The last occupant left: nobody can see the dialog any more, so it is deleted.
        let out = to_dialog(&new, None);
        w.delete(rid, &old)?;
        out
    } else {
        let new = w.replace(rid, &old, new)?;
        to_dialog(&new, None)
    }
}

/// Deletes dialogs for the calling user (leave) or, with `force`, for everyone (owner only).
/// All ids are checked before anything is written.
pub(crate) fn delete(
    w: &mut Writer<'_>,
    ctx: &OpContext<'_>,
    user: UserId,
    ids: &[DialogId],
    force: bool,
) -> Result<(), Error> {
    if ids.is_empty() {
        return Err(ValidationError::NoIds.into());
    }
    if ids.len() > MAX_DELETE_IDS {
        return Err(ValidationError::TooManyIds { given: ids.len(), max: MAX_DELETE_IDS }.into());
    }
    let distinct: BTreeSet<DialogId> = ids.iter().copied().collect();
    let mut targets = Vec::with_capacity(distinct.len());
    for id in distinct {
        let (rid, row) = find_visible(w, user, id)?;
        if force {
            if row.user_id != user.0 {
                return Err(Error::WrongPermissions {
                    id,
                    user,
                    action: Action::DeleteForEveryone,
                });
            }
        } else if row.is_public() {
            return Err(Error::WrongPermissions { id, user, action: Action::LeavePublic });
        }
        targets.push((rid, row));
    }
    for (rid, old) in targets {
        let mut new = Row::clone(&old);
        new.occupants = old.occupants.iter().copied().filter(|u| *u != user).collect();
        new.admins = old.admins.iter().copied().filter(|u| *u != user).collect();
        if force || new.occupants.is_empty() {
            w.delete(rid, &old)?;
        } else {
            new.updated_at = ctx.now;
            w.replace(rid, &old, new)?;
        }
    }
    Ok(())
}

/// Writes a complete dialog as given, keeping its id and timestamps.
pub(crate) fn import(
    w: &mut Writer<'_>,
    ctx: &OpContext<'_>,
    dialog: Dialog,
) -> Result<Dialog, Error> {
    let id = dialog.id;
    if w.find(&id)?.is_some() {
        return Err(ValidationError::DuplicateId { id }.into());
    }
    let kind = dialog.dialog_type;
    let inconsistent = |reason| Err(ValidationError::Inconsistent { id, reason }.into());
    check_name_and_photo(dialog.name.as_deref(), dialog.photo.as_deref())?;
    check_text("last_message_id", dialog.last_message_id.as_deref(), MAX_SHORT_TEXT_CHARS)?;
    check_text("last_message", dialog.last_message.as_deref(), MAX_LAST_MESSAGE_CHARS)?;
    let occupants = sorted_users(dialog.occupants_ids.iter().copied());
    let admins = sorted_users(dialog.admin_ids.iter().copied());
    check_occupant_count(occupants.len())?;
    let data =
        dialog.data.map(|d| check_data(w, Arc::unwrap_or_clone(d))).transpose()?.map(Arc::new);
    let mut peer = None;
    match kind {
        DialogType::Private => {
            let others: Vec<u64> =
                occupants.iter().copied().filter(|u| *u != dialog.user_id.0).collect();
            if others.len() != 1 || occupants.len() != 2 {
                return inconsistent(
                    "a private dialog needs user_id and exactly one other occupant",
                );
            }
            if !admins.is_empty() {
                return inconsistent("a private dialog has no admins");
            }
            if w.private_pair(dialog.user_id.0, others[0])?.is_some() {
                return inconsistent("a private dialog between these two users already exists");
            }
            peer = Some(others[0]);
        }
        DialogType::PublicGroup if !occupants.is_empty() => {
            return inconsistent("a public dialog has no occupants");
        }
        DialogType::Group if occupants.is_empty() => {
            return inconsistent("a group dialog needs occupants");
        }
        _ => {}
    }
    let private = kind == DialogType::Private;
    let row = Row {
        id: id.0,
        user_id: dialog.user_id.0,
        created_at: dialog.created_at,
        updated_at: dialog.updated_at,
        kind: kind.code(),
        name: if private { None } else { dialog.name },
        photo: dialog.photo,
        xmpp_room_jid: if private {
            None
        } else {
            dialog.xmpp_room_jid.or_else(|| Some(ctx.room_jid(&id).into()))
        },
        occupants: user_list(occupants),
        admins: user_list(admins),
        last_message: dialog.last_message,
        last_message_id: dialog.last_message_id,
        last_message_date_sent: dialog.last_message_date_sent,
        last_message_user_id: dialog.last_message_user_id.map(|u| u.0),
        is_join_required: if kind == DialogType::Group { dialog.is_join_required } else { None },
        data,
        peer,
    };
    let (_, row) = w.insert(row)?;
    to_dialog(&row, None)
}

/// Declares a custom-object class; declaring the same class again is allowed, changing it is not.
pub(crate) fn declare_class(w: &mut Writer<'_>, class: &CustomClass) -> Result<(), Error> {
    check_data_name(&class.name)?;
    if class.fields.len() > MAX_DATA_FIELDS {
        return Err(ValidationError::TooManyDataFields { count: class.fields.len() }.into());
    }
    for name in class.fields.keys() {
        check_data_name(name)?;
    }
    match w.class(&class.name)? {
        Some(existing) if existing == *class => Ok(()),
        Some(_) => Err(ValidationError::ClassConflict { class: class.name.clone() }.into()),
        None => w.put_class(class),
    }
}
