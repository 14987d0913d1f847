//! `delete_dialogs`: leaving, deleting for everyone, several ids, all or nothing.

mod common;

use common::*;
use dialogstore::{Action, DialogId, Error, UserId, ValidationError};

/// The call is refused with `WRONG_PERMISSIONS` for `action` on `id` and changes nothing.
#[track_caller]
fn assert_delete_forbidden(
    env: &Env,
    user: UserId,
    ids: &[DialogId],
    force: bool,
    id: DialogId,
    action: Action,
) {
    assert_forbidden(env, id, user, action, || env.delete_dialogs(user, ids, force));
}

#[track_caller]
fn assert_gone(env: &Env, id: DialogId, users: &[UserId]) {
    for user in users {
        let err = env.get(*user, id).unwrap_err();
        assert_eq!(err.code(), "NOT_FOUND", "{user}");
    }
}

// ---- ids ----

#[test]
fn no_ids_is_refused() {
    let env = Env::new();
    env.group(OWNER, &[A]);
    for force in [false, true] {
        let err = assert_refused(&env, "VALIDATION", || env.delete_dialogs(OWNER, &[], force));
        assert!(matches!(err, Error::Validation(ValidationError::NoIds)));
    }
}

#[test]
fn more_than_100_ids_is_refused() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let ids = vec![d.id; 101];
    let err = assert_refused(&env, "VALIDATION", || env.delete_dialogs(OWNER, &ids, true));
    assert!(matches!(err, Error::Validation(ValidationError::TooManyIds { given: 101, max: 100 })));
    env.delete_dialogs(OWNER, &ids[..100], true).unwrap();
    assert_gone(&env, d.id, &[OWNER, A]);
}

#[test]
fn repeated_ids_are_fine() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    env.delete_dialogs(A, &[d.id, d.id], false).unwrap();
    assert_eq!(env.get(OWNER, d.id).unwrap().occupants_ids, [OWNER, B].into());
    let e = env.group(OWNER, &[A]);
    env.delete_dialogs(OWNER, &[e.id, e.id, e.id], true).unwrap();
    assert_gone(&env, e.id, &[OWNER, A]);
}

#[test]
fn several_ids_in_one_call() {
    let env = Env::new();
    let group = env.group(OWNER, &[A]);
    let private = env.private(OWNER, B);
    let other = env.group(C, &[OWNER, D]);
    env.delete_dialogs(OWNER, &[group.id, private.id, other.id], false).unwrap();
    assert_eq!(env.get(A, group.id).unwrap().occupants_ids, [A].into());
    assert_eq!(env.get(B, private.id).unwrap().occupants_ids, [B].into());
    assert_eq!(env.get(C, other.id).unwrap().occupants_ids, [C, D].into());
}

// ---- all or nothing ----

#[test]
fn one_unknown_id_fails_the_whole_call() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    for force in [false, true] {
        let err = assert_refused(&env, "NOT_FOUND", || {
            env.delete_dialogs(OWNER, &[d.id, unknown_id()], force)
        });
        assert!(matches!(err, Error::NotFound { id } if id == unknown_id()));
    }
}

#[test]
fn one_dialog_without_access_fails_the_whole_call() {
    let env = Env::new();
    let mine = env.group(OWNER, &[A]);
    let theirs = env.private(B, C);
    for force in [false, true] {
        let err = assert_refused(&env, "ACCESS_ERROR", || {
            env.delete_dialogs(OWNER, &[mine.id, theirs.id], force)
        });
        assert!(
            matches!(err, Error::AccessDenied { id, user } if id == theirs.id && user == OWNER)
        );
    }
}

#[test]
fn one_dialog_not_owned_fails_a_forced_call() {
    let env = Env::new();
    let mine = env.group(OWNER, &[A]);
    let theirs = env.group(A, &[OWNER]);
    let ids = [mine.id, theirs.id];
    assert_delete_forbidden(&env, OWNER, &ids, true, theirs.id, Action::DeleteForEveryone);
}

#[test]
fn one_public_dialog_fails_a_leave_call() {
    let env = Env::new();
    let group = env.group(OWNER, &[A]);
    let public = env.public(A);
    let ids = [group.id, public.id];
    assert_delete_forbidden(&env, OWNER, &ids, false, public.id, Action::LeavePublic);
}

// ---- leave (without force) ----

#[test]
fn leaving_removes_the_user_from_occupants_and_admins() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    env.update_dialog(OWNER, d.id, dialogstore::DialogUpdate::default().push_admins([A])).unwrap();
    env.delete_dialogs(A, &[d.id], false).unwrap();
    let read = env.get(OWNER, d.id).unwrap();
    assert_eq!(read.occupants_ids, [OWNER, B].into());
    assert!(read.admin_ids.is_empty());
    let err = assert_refused(&env, "ACCESS_ERROR", || env.get(A, d.id));
    assert!(matches!(err, Error::AccessDenied { .. }));
}

#[test]
fn others_keep_a_dialog_someone_left_and_go_on_chatting() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    env.delete_dialogs(OWNER, &[d.id], false).unwrap();
    env.post(d.id, A, "m1", T0 + 1);
    assert_eq!(env.unread(B, d.id), 1);
    let read = env.get(B, d.id).unwrap();
    assert_eq!(read.user_id, OWNER, "the owner stays the owner");
    assert_eq!(read.last_message_id.as_deref(), Some("m1"));
    let err = assert_refused(&env, "ACCESS_ERROR", || {
        env.record_message(d.id, OWNER, msg("m2", "back?", T0 + 2))
    });
    assert!(matches!(err, Error::AccessDenied { .. }));
}

#[test]
fn leaving_a_private_dialog_keeps_it_for_the_other() {
    let env = Env::new();
    let d = env.private(ME, BOB);
    env.delete_dialogs(ME, &[d.id], false).unwrap();
    let read = env.get(BOB, d.id).unwrap();
    assert_eq!(read.occupants_ids, [BOB].into());
    env.post(d.id, BOB, "m1", T0 + 1);
    let err = assert_refused(&env, "ACCESS_ERROR", || env.get(ME, d.id));
    assert!(matches!(err, Error::AccessDenied { .. }));
}

#[test]
fn the_last_one_to_leave_deletes_the_dialog() {
    let env = Env::new();
    let group = env.group(OWNER, &[A]);
    let private = env.private(ME, BOB);
    env.delete_dialogs(OWNER, &[group.id], false).unwrap();
    env.delete_dialogs(A, &[group.id], false).unwrap();
    env.delete_dialogs(BOB, &[private.id], false).unwrap();
    env.delete_dialogs(ME, &[private.id], false).unwrap();
    assert_gone(&env, group.id, &[OWNER, A]);
    assert_gone(&env, private.id, &[ME, BOB]);
}

#[test]
fn a_public_dialog_cannot_be_left() {
    let env = Env::new();
    let d = env.public(OWNER);
    for user in [OWNER, A] {
        assert_delete_forbidden(&env, user, &[d.id], false, d.id, Action::LeavePublic);
    }
}

// ---- force ----

#[test]
fn owner_deletes_for_everyone() {
    let env = Env::new();
    let group = env.group(OWNER, &[A, B]);
    let private = env.private(OWNER, C);
    let public = env.public(OWNER);
    env.post(group.id, A, "m1", T0);
    env.delete_dialogs(OWNER, &[group.id, private.id, public.id], true).unwrap();
    assert_gone(&env, group.id, &[OWNER, A, B]);
    assert_gone(&env, private.id, &[OWNER, C]);
    assert_gone(&env, public.id, &[OWNER, STRANGER]);
}

#[test]
fn an_admin_may_not_delete_for_everyone() {
    let env = Env::new();
    let group = env.group(OWNER, &[A]);
    env.update_dialog(OWNER, group.id, dialogstore::DialogUpdate::default().push_admins([A]))
        .unwrap();
    let public = env.public(OWNER);
    env.update_dialog(OWNER, public.id, dialogstore::DialogUpdate::default().push_admins([A]))
        .unwrap();
    for id in [group.id, public.id] {
        assert_delete_forbidden(&env, A, &[id], true, id, Action::DeleteForEveryone);
    }
}

#[test]
fn an_occupant_may_not_delete_for_everyone() {
    let env = Env::new();
    let group = env.group(OWNER, &[A]);
    let private = env.private(ME, BOB);
    assert_delete_forbidden(&env, A, &[group.id], true, group.id, Action::DeleteForEveryone);
    assert_delete_forbidden(&env, BOB, &[private.id], true, private.id, Action::DeleteForEveryone);
}

#[test]
fn a_deleted_dialog_cannot_be_deleted_again() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    env.delete_dialogs(OWNER, &[d.id], true).unwrap();
    for force in [false, true] {
        let err = assert_refused(&env, "NOT_FOUND", || env.delete_dialogs(OWNER, &[d.id], force));
        assert!(matches!(err, Error::NotFound { id } if id == d.id));
    }
}
