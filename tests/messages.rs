//! `record_message`, `record_private_message` and `mark_read`: last-message fields, `updated_at`
//! and unread counts.

mod common;

use common::*;
use dialogstore::{Error, ValidationError};

#[test]
fn message_sets_the_last_message_fields_and_updated_at() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    let now = env.tick(120);
    env.record_message(d.id, A, msg("5d755856a0eb47411e0b72a9", "sure, I can wait", 1567971414))
        .unwrap();
    let read = env.get(OWNER, d.id).unwrap();
    assert_eq!(read.last_message.as_deref(), Some("sure, I can wait"));
    assert_eq!(read.last_message_id.as_deref(), Some("5d755856a0eb47411e0b72a9"));
    assert_eq!(read.last_message_date_sent, Some(1567971414));
    assert_eq!(read.last_message_user_id, Some(A));
    assert_eq!(read.updated_at, now);
    assert_eq!(read.created_at, T0);
    assert_eq!(json(&read)["last_message_date_sent"], 1567971414);
    assert_eq!(json(&read)["last_message_user_id"], A.0);
}

#[test]
fn message_adds_one_unread_for_every_other_occupant() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    env.post(d.id, A, "m1", T0 + 1);
    assert_eq!(env.unread(A, d.id), 0, "not for the sender");
    assert_eq!(env.unread(OWNER, d.id), 1);
    assert_eq!(env.unread(B, d.id), 1);
    env.post(d.id, A, "m2", T0 + 2);
    env.post(d.id, B, "m3", T0 + 3);
    assert_eq!(env.unread(A, d.id), 1);
    assert_eq!(env.unread(OWNER, d.id), 3);
    assert_eq!(env.unread(B, d.id), 2);
}

#[test]
fn message_from_a_non_occupant_is_refused() {
    let env = Env::new();
    let group = env.group(OWNER, &[A]);
    let private = env.private(ME, BOB);
    for id in [group.id, private.id] {
        let err = assert_refused(&env, "ACCESS_ERROR", || {
            env.record_message(id, STRANGER, msg("m1", "hi", T0))
        });
        assert!(matches!(err, Error::AccessDenied { id: i, user } if i == id && user == STRANGER));
    }
}

#[test]
fn message_to_an_unknown_or_deleted_dialog_is_not_found() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    env.delete_dialogs(OWNER, &[d.id], true).unwrap();
    for id in [unknown_id(), d.id] {
        let err = assert_refused(&env, "NOT_FOUND", || {
            env.record_message(id, OWNER, msg("m1", "hi", T0))
        });
        assert!(matches!(err, Error::NotFound { id: i } if i == id));
    }
}

#[test]
fn anyone_posts_in_a_public_dialog() {
    let env = Env::new();
    let d = env.public(OWNER);
    let now = env.tick(5);
    env.post(d.id, STRANGER, "m1", T0 + 5);
    let read = env.get(A, d.id).unwrap();
    assert_eq!(read.last_message_user_id, Some(STRANGER));
    assert_eq!(read.updated_at, now);
    assert_eq!(read.unread_messages_count, Some(0));
}

#[test]
fn last_message_text_is_cut_to_1024_chars() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let long = "щ".repeat(1500);
    env.record_message(d.id, A, msg("m1", &long, T0)).unwrap();
    let kept = env.get(OWNER, d.id).unwrap().last_message.unwrap();
    assert_eq!(kept, "щ".repeat(1024).into());
    let exact = "ю".repeat(1024);
    env.record_message(d.id, A, msg("m2", &exact, T0 + 1)).unwrap();
    assert_eq!(env.get(OWNER, d.id).unwrap().last_message, Some(exact.into()));
}

#[test]
fn older_message_counts_as_unread_but_keeps_the_last_message() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    env.record_message(d.id, A, msg("new", "newer", T0 + 100)).unwrap();
    let now = env.tick(300);
    env.record_message(d.id, A, msg("old", "older", T0 + 50)).unwrap();
    let read = env.get(OWNER, d.id).unwrap();
    assert_eq!(read.last_message.as_deref(), Some("newer"));
    assert_eq!(read.last_message_id.as_deref(), Some("new"));
    assert_eq!(read.last_message_date_sent, Some(T0 + 100));
    assert_eq!(read.last_message_user_id, Some(A));
    assert_eq!(read.updated_at, now);
    assert_eq!(read.unread_messages_count, Some(2));
}

#[test]
fn message_id_over_1024_chars_is_refused() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let err = assert_refused(&env, "VALIDATION", || {
        env.record_message(d.id, A, msg(&"i".repeat(1025), "hi", T0))
    });
    assert!(matches!(
        err,
        Error::Validation(ValidationError::TextTooLong { chars: 1025, max: 1024, .. })
    ));
    env.record_message(d.id, A, msg(&"i".repeat(1024), "hi", T0)).unwrap();
}

// ---- private messages ----

#[test]
fn private_message_creates_the_dialog_with_the_message_applied() {
    let env = Env::new();
    let now = env.tick(10);
    let d = env.record_private_message(ME, BOB, msg("m1", "Hello world", T0 + 10)).unwrap();
    assert_generated_id(&d);
    assert_eq!(d.dialog_type, dialogstore::DialogType::Private);
    assert_eq!(d.user_id, ME, "the sender owns it");
    assert_eq!(d.occupants_ids, [BOB, ME].into());
    assert_eq!(d.last_message.as_deref(), Some("Hello world"));
    assert_eq!(d.last_message_id.as_deref(), Some("m1"));
    assert_eq!(d.last_message_date_sent, Some(T0 + 10));
    assert_eq!(d.last_message_user_id, Some(ME));
    assert_eq!((d.created_at, d.updated_at), (now, now));
    assert_eq!(env.unread(BOB, d.id), 1);
    assert_eq!(env.unread(ME, d.id), 0);
}

#[test]
fn private_message_goes_to_the_existing_dialog() {
    let env = Env::new();
    let first = env.private(BOB, ME);
    let d = env.record_private_message(ME, BOB, msg("m1", "hi", T0)).unwrap();
    assert_eq!(d.id, first.id);
    assert_eq!(d.user_id, BOB, "the owner stays who created it");
    let d = env.record_private_message(ME, BOB, msg("m2", "there?", T0 + 1)).unwrap();
    assert_eq!(d.id, first.id);
    assert_eq!(env.unread(BOB, d.id), 2);
}

#[test]
fn private_message_brings_back_a_recipient_who_left() {
    let env = Env::new();
    let first = env.private(ME, BOB);
    env.delete_dialogs(BOB, &[first.id], false).unwrap();
    let d = env.record_private_message(ME, BOB, msg("m1", "hi", T0)).unwrap();
    assert_eq!(d.id, first.id);
    assert_eq!(d.occupants_ids, [BOB, ME].into());
    assert_eq!(env.unread(BOB, d.id), 1);
}

#[test]
fn private_message_to_oneself_is_refused() {
    let env = Env::new();
    let err = assert_refused(&env, "VALIDATION", || {
        env.record_private_message(ME, ME, msg("m1", "hi", T0))
    });
    assert!(matches!(err, Error::Validation(ValidationError::PrivateOpponents { given: 0 })));
}

#[test]
fn private_message_with_an_over_long_id_creates_nothing() {
    let env = Env::new();
    let err = assert_refused(&env, "VALIDATION", || {
        env.record_private_message(ME, BOB, msg(&"i".repeat(1025), "hi", T0))
    });
    assert!(matches!(err, Error::Validation(ValidationError::TextTooLong { .. })));
}

// ---- mark_read ----

#[test]
fn mark_read_sets_the_users_unread_to_zero() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    for i in 0..3 {
        env.post(d.id, OWNER, &format!("m{i}"), T0 + i);
    }
    env.mark_read(d.id, A).unwrap();
    assert_eq!(env.unread(A, d.id), 0);
    assert_eq!(env.unread(B, d.id), 3, "only the reader's count");
    env.post(d.id, OWNER, "m3", T0 + 3);
    assert_eq!(env.unread(A, d.id), 1);
}

#[test]
fn mark_read_with_nothing_unread_changes_nothing() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    unchanged(&env, || env.mark_read(d.id, A)).unwrap();
}

#[test]
fn mark_read_by_a_non_occupant_is_refused() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    env.post(d.id, OWNER, "m1", T0);
    let err = assert_refused(&env, "ACCESS_ERROR", || env.mark_read(d.id, STRANGER));
    assert!(matches!(err, Error::AccessDenied { id, user } if id == d.id && user == STRANGER));
}

#[test]
fn mark_read_on_an_unknown_dialog_is_not_found() {
    let env = Env::new();
    let err = assert_refused(&env, "NOT_FOUND", || env.mark_read(unknown_id(), A));
    assert!(matches!(err, Error::NotFound { .. }));
}

#[test]
fn unread_counts_are_per_dialog() {
    let env = Env::new();
    let one = env.group(OWNER, &[A]);
    let two = env.group(OWNER, &[A]);
    env.post(one.id, OWNER, "m1", T0);
    env.post(one.id, OWNER, "m2", T0);
    env.post(two.id, OWNER, "m3", T0);
    env.mark_read(one.id, A).unwrap();
    assert_eq!(env.unread(A, one.id), 0);
    assert_eq!(env.unread(A, two.id), 1);
}
