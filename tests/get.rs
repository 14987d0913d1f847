//! `get_dialog` (Bitrix24 `imbot.dialog.get`): id errors, visibility, the viewer's unread count.

mod common;

use common::*;
use dialogstore::Error;

#[test]
fn empty_id_is_dialog_id_empty() {
    let env = Env::new();
    env.group(OWNER, &[A]);
    let err = assert_refused(&env, "DIALOG_ID_EMPTY", || env.get_dialog(OWNER, ""));
    assert!(matches!(err, Error::DialogIdEmpty));
}

#[test]
fn id_that_is_not_24_hex_chars_is_dialog_id_invalid() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let id = d.id.to_string();
    for bad in [
        "chat29".to_owned(),
        " ".to_owned(),
        id[..23].to_owned(),
        format!("{id}0"),
        format!(" {}", &id[1..]),
        format!("{}g", &id[..23]),
        format!("{}é", &id[..22]),
        "ж".repeat(12),
    ] {
        let err = assert_refused(&env, "DIALOG_ID_INVALID", || env.get_dialog(OWNER, &bad));
        assert!(matches!(err, Error::DialogIdInvalid { .. }), "{bad:?}: {err:?}");
    }
}

#[test]
fn id_in_upper_case_hex_names_the_same_dialog() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let read = env.get_dialog(OWNER, &d.id.to_string().to_uppercase()).unwrap();
    assert_eq!(read.id, d.id);
}

#[test]
fn unknown_id_is_not_found() {
    let env = Env::new();
    env.group(OWNER, &[A]);
    let err = assert_refused(&env, "NOT_FOUND", || env.get(OWNER, unknown_id()));
    assert!(matches!(err, Error::NotFound { id } if id == unknown_id()));
}

#[test]
fn deleted_dialog_is_not_found() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    env.delete_dialogs(OWNER, &[d.id], true).unwrap();
    for user in [OWNER, A, STRANGER] {
        let err = assert_refused(&env, "NOT_FOUND", || env.get(user, d.id));
        assert!(matches!(err, Error::NotFound { id } if id == d.id));
    }
}

#[test]
fn non_occupant_of_a_group_gets_access_error() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let err = assert_refused(&env, "ACCESS_ERROR", || env.get(STRANGER, d.id));
    assert!(matches!(err, Error::AccessDenied { id, user } if id == d.id && user == STRANGER));
}

#[test]
fn non_occupant_of_a_private_dialog_gets_access_error() {
    let env = Env::new();
    let d = env.private(ME, BOB);
    let err = assert_refused(&env, "ACCESS_ERROR", || env.get(OWNER, d.id));
    assert!(matches!(err, Error::AccessDenied { id, user } if id == d.id && user == OWNER));
}

#[test]
fn anyone_reads_a_public_dialog() {
    let env = Env::new();
    let d = env.public(OWNER);
    for user in [OWNER, STRANGER, A] {
        let read = unchanged(&env, || env.get(user, d.id)).unwrap();
        assert_eq!(read.id, d.id);
        assert_eq!(read.unread_messages_count, Some(0));
    }
}

#[test]
fn occupants_read_a_group_and_a_private_dialog() {
    let env = Env::new();
    let group = env.group(OWNER, &[A, B]);
    let private = env.private(ME, BOB);
    for (user, id) in
        [(OWNER, group.id), (A, group.id), (B, group.id), (ME, private.id), (BOB, private.id)]
    {
        let read = unchanged(&env, || env.get(user, id)).unwrap();
        assert_eq!(read.id, id);
    }
}

#[test]
fn result_carries_the_viewers_unread_count() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    assert_eq!(
        env.get(A, d.id).unwrap().unread_messages_count,
        Some(0),
        "0 when there is nothing unread, not null"
    );
    env.post(d.id, OWNER, "m1", T0);
    env.post(d.id, OWNER, "m2", T0 + 1);
    env.post(d.id, A, "m3", T0 + 2);
    assert_eq!(env.get(OWNER, d.id).unwrap().unread_messages_count, Some(1));
    assert_eq!(env.get(A, d.id).unwrap().unread_messages_count, Some(2));
    assert_eq!(env.get(B, d.id).unwrap().unread_messages_count, Some(3));
}
