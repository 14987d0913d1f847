//! `import`: complete dialogs in QuickBlox's JSON shape, written as they are.

mod common;

use common::*;
use dialogstore::{Dialog, Error, ValidationError};
use serde_json::{json, Value};

fn item(s: &str) -> Dialog {
    Dialog::from_json(s).expect("the seed item parses")
}

/// A QuickBlox example list item with some keys replaced.
fn item_with(s: &str, changes: Value) -> Dialog {
    let mut v = value(s);
    for (key, x) in changes.as_object().expect("object") {
        v[key] = x.clone();
    }
    Dialog::from_json(&v.to_string()).expect("the changed item parses")
}

/// A private dialog in QuickBlox's shape, between `user_id` and the given occupants.
fn private_item(id: &str, user_id: u64, occupants: Value) -> Dialog {
    item_with(
        LIST_ITEM_1,
        json!({
            "_id": id,
            "type": 3,
            "name": null,
            "xmpp_room_jid": null,
            "user_id": user_id,
            "occupants_ids": occupants,
        }),
    )
}

#[track_caller]
fn assert_inconsistent(env: &Env, d: Dialog) {
    let id = d.id;
    let err = assert_refused(env, "VALIDATION", || env.import(d));
    assert!(
        matches!(err, Error::Validation(ValidationError::Inconsistent { id: i, .. }) if i == id),
        "{err:?}"
    );
}

#[test]
fn seed_items_read_back_as_the_seed_shows_them() {
    let env = Env::new();
    for s in [LIST_ITEM_1, LIST_ITEM_2] {
        env.import(item(s)).unwrap();
    }
    for s in [LIST_ITEM_1, LIST_ITEM_2] {
        let seed = value(s);
        let id = seed["_id"].as_str().unwrap();
        let read = env.get_dialog(OWNER, id).unwrap();
        assert_json_has(&json(&read), &seed);
        for user in [A, B, C, D] {
            assert_eq!(env.get_dialog(user, id).unwrap().id, read.id);
        }
    }
}

#[test]
fn import_keeps_ids_times_last_message_occupants_photo_and_jid() {
    let env = Env::new();
    let given = item(LIST_ITEM_2);
    let returned = env.import(given.clone()).unwrap();
    assert_eq!(returned, Dialog { unread_messages_count: None, ..given.clone() });
    let read = env.get(OWNER, given.id).unwrap();
    assert_eq!(read.id.to_string(), "5d753421a28f9a2596cb0f98");
    assert_eq!(read.created_at, 1_567_962_146, "not the clock, not the id's second");
    assert_eq!(read.updated_at, 1_567_971_391);
    assert_eq!(read.last_message.as_deref(), Some("let's do it at 7pm"));
    assert_eq!(read.last_message_id.as_deref(), Some("5d75583fa0eb473c350b72ab"));
    assert_eq!(read.last_message_date_sent, Some(1_567_971_391));
    assert_eq!(read.last_message_user_id, Some(OWNER));
    assert_eq!(read.occupants_ids, [OWNER, A, B, C, D].into());
    assert_eq!(read.photo.as_deref(), Some("68123"));
    assert_eq!(
        read.xmpp_room_jid.as_deref(),
        Some("76730_5d753421a28f9a2596cb0f98@muc.chat.quickblox.com")
    );
}

#[test]
fn imported_dialog_lives_on_like_a_created_one() {
    let env = Env::new();
    let d = env.import(item(LIST_ITEM_1)).unwrap();
    let now = env.tick(10);
    env.post(d.id, A, "m1", 1_567_971_500);
    assert_eq!(env.unread(OWNER, d.id), 1);
    assert_eq!(env.get(OWNER, d.id).unwrap().updated_at, now);
    env.delete_dialogs(OWNER, &[d.id], true).unwrap();
    assert_eq!(env.get(A, d.id).unwrap_err().code(), "NOT_FOUND");
}

#[test]
fn duplicate_id_is_refused() {
    let env = Env::new();
    let first = env.import(item(LIST_ITEM_1)).unwrap();
    let again = item_with(LIST_ITEM_1, json!({"name": "Other"}));
    let err = assert_refused(&env, "VALIDATION", || env.import(again));
    assert!(matches!(
        err,
        Error::Validation(ValidationError::DuplicateId { id }) if id == first.id
    ));
}

#[test]
fn id_of_a_created_dialog_is_a_duplicate() {
    let env = Env::new();
    let created = env.group(OWNER, &[A]);
    let copy = item_with(LIST_ITEM_1, json!({"_id": created.id.to_string()}));
    let err = assert_refused(&env, "VALIDATION", || env.import(copy));
    assert!(matches!(
        err,
        Error::Validation(ValidationError::DuplicateId { id }) if id == created.id
    ));
}

#[test]
fn unread_count_in_the_input_is_ignored() {
    let env = Env::new();
    let d = item_with(LIST_ITEM_1, json!({"unread_messages_count": 5}));
    assert_eq!(d.unread_messages_count, Some(5));
    let returned = env.import(d).unwrap();
    assert_eq!(returned.unread_messages_count, None);
    for user in [OWNER, A, B, C, D] {
        assert_eq!(env.unread(user, returned.id), 0);
    }
}

// ---- private ----

#[test]
fn private_is_imported_with_its_owner_and_one_other() {
    let env = Env::new();
    let d = private_item("5e261c72a28f9a4f779f10bb", BOB.0, json!([ME.0, BOB.0]));
    let d = env.import(d).unwrap();
    assert_eq!(d.occupants_ids, [BOB, ME].into());
    assert_eq!(d.xmpp_room_jid, None);
    assert_eq!(env.private(ME, BOB).id, d.id, "the pair is known");
}

#[test]
fn private_name_is_dropped() {
    let env = Env::new();
    let mut d = private_item("5e261c72a28f9a4f779f10bb", BOB.0, json!([ME.0, BOB.0]));
    d.name = Some("Bob".into());
    let d = env.import(d).unwrap();
    assert_eq!(d.name, None);
    assert_eq!(env.get(ME, d.id).unwrap().name, None);
}

#[test]
fn private_needs_its_owner_and_exactly_one_other_occupant() {
    let env = Env::new();
    for occupants in
        [json!([BOB.0]), json!([]), json!([BOB.0, ME.0, A.0]), json!([ME.0, A.0]), json!([ME.0])]
    {
        let d = private_item("5e261c72a28f9a4f779f10bb", BOB.0, occupants);
        assert_inconsistent(&env, d);
    }
}

#[test]
fn private_has_no_admins() {
    let env = Env::new();
    let mut d = private_item("5e261c72a28f9a4f779f10bb", BOB.0, json!([ME.0, BOB.0]));
    d.admin_ids = [BOB].into();
    assert_inconsistent(&env, d);
}

#[test]
fn private_for_a_pair_that_has_one_is_refused() {
    let env = Env::new();
    env.private(ME, BOB);
    let d = private_item("5e261c72a28f9a4f779f10bb", BOB.0, json!([ME.0, BOB.0]));
    assert_inconsistent(&env, d);

    let env = Env::new();
    env.import(private_item("5e261c72a28f9a4f779f10bb", BOB.0, json!([ME.0, BOB.0]))).unwrap();
    let d = private_item("5e261c72a28f9a4f779f10bc", ME.0, json!([ME.0, BOB.0]));
    assert_inconsistent(&env, d);
}

// ---- group and public ----

#[test]
fn public_with_occupants_is_refused() {
    let env = Env::new();
    let d = item_with(LIST_ITEM_1, json!({"type": 1}));
    assert_inconsistent(&env, d);
}

#[test]
fn public_without_occupants_is_imported() {
    let env = Env::new();
    let d = item_with(LIST_ITEM_1, json!({"type": 1, "occupants_ids": [], "admin_ids": [OWNER.0]}));
    let d = env.import(d).unwrap();
    assert_eq!(env.get(STRANGER, d.id).unwrap().admin_ids, [OWNER].into());
}

#[test]
fn group_without_occupants_is_refused() {
    let env = Env::new();
    let d = item_with(LIST_ITEM_1, json!({"occupants_ids": []}));
    assert_inconsistent(&env, d);
}

#[test]
fn imported_name_over_200_chars_is_refused() {
    let env = Env::new();
    let d = item_with(LIST_ITEM_1, json!({"name": "я".repeat(201)}));
    let err = assert_refused(&env, "VALIDATION", || env.import(d));
    assert!(matches!(err, Error::Validation(ValidationError::NameTooLong { chars: 201 })));
}
