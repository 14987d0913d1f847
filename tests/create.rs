//! `create_dialog`: QuickBlox's create examples and the rules of the three dialog types.

mod common;

use common::*;
use dialogstore::{CustomData, DataValue, Error, NewDialog, UserId, ValidationError};
use serde_json::json;

fn create_seed(body: &str, user: UserId) -> (Env, dialogstore::Dialog) {
    let env = Env::new();
    let new: NewDialog = serde_json::from_str(body).expect("the seed body parses");
    let d = env.create_dialog(user, new).expect("create");
    assert_generated_id(&d);
    assert_create_keys(&d);
    (env, d)
}

fn jid(d: &dialogstore::Dialog) -> String {
    format!("76730_{}@muc.chat.quickblox.com", d.id)
}

// ---- QuickBlox's examples ----

#[test]
fn seed_private_body_gives_the_seed_response_shape() {
    let (_env, d) = create_seed(PRIVATE_BODY, ME);
    let expected = json!({
        "occupants_ids": [102433721, 102433734],
        "type": 3,
        "user_id": 102433734,
    });
    assert_eq!(json(&d), fresh(&d, expected));
}

#[test]
fn seed_public_body_gives_the_seed_response_shape() {
    let (_env, d) = create_seed(PUBLIC_BODY, OWNER);
    let expected = json!({
        "admin_ids": [96753878],
        "name": "Soccer news",
        "photo": "67834",
        "type": 1,
        "user_id": 96753878,
        "xmpp_room_jid": jid(&d),
    });
    assert_eq!(json(&d), fresh(&d, expected));
}

#[test]
fn seed_group_body_gives_the_seed_response_shape() {
    let (_env, d) = create_seed(GROUP_BODY, OWNER);
    let expected = json!({
        "is_join_required": 0,
        "name": "New Year party",
        "occupants_ids": [96753878, 96754523, 96830631, 96831328, 96831397],
        "photo": "68123",
        "type": 2,
        "user_id": 96753878,
        "xmpp_room_jid": jid(&d),
    });
    assert_eq!(json(&d), fresh(&d, expected));
}

#[test]
fn seed_group_with_data_body_gives_the_seed_response_shape() {
    let (_env, d) = create_seed(GROUP_DATA_BODY, OWNER);
    let expected = json!({
        "data": {
            "class_name": "ScoreTable",
            "expert_mode": "3",
            "game_mode_name": "rainbow dash",
            "progress": "56",
        },
        "is_join_required": 0,
        "name": "Chat with Bob, Sam, Garry",
        "occupants_ids": [96753878, 96754523, 96830631, 96831328],
        "type": 2,
        "user_id": 96753878,
        "xmpp_room_jid": jid(&d),
    });
    assert_eq!(json(&d), fresh(&d, expected));
}

#[test]
fn created_dialog_reads_back_as_created_with_the_viewers_unread_count() {
    for body in [PRIVATE_BODY, PUBLIC_BODY, GROUP_BODY, GROUP_DATA_BODY] {
        let (env, d) = create_seed(body, ME);
        let read = env.get(ME, d.id).unwrap();
        assert_eq!(read.unread_messages_count, Some(0), "{body}");
        assert_eq!(dialogstore::Dialog { unread_messages_count: None, ..read }, d, "{body}");
    }
}

// ---- ids and times ----

#[test]
fn ids_carry_the_creation_second_and_are_distinct() {
    let env = Env::new();
    let first = env.group(OWNER, &[A]);
    let second = env.group(OWNER, &[A]);
    env.tick(3600);
    let later = env.public(OWNER);
    for d in [&first, &second, &later] {
        assert_generated_id(d);
    }
    assert_eq!(i64::from(first.id.timestamp()), T0);
    assert_eq!(i64::from(later.id.timestamp()), T0 + 3600);
    assert_ne!(first.id, second.id);
    assert!(first.id.to_string().starts_with("5e261c72"));
}

#[test]
fn created_and_updated_at_are_the_clock() {
    let env = Env::at(1_567_963_451);
    let d = env.group(OWNER, &[A]);
    assert_eq!((d.created_at, d.updated_at), (1_567_963_451, 1_567_963_451));
    assert_eq!(json(&d)["created_at"], "2019-09-08T17:24:11Z");
    assert_eq!(json(&d)["updated_at"], "2019-09-08T17:24:11Z");
}

#[test]
fn room_jid_uses_the_builders_app_id_and_domain() {
    let clock = std::sync::Arc::new(dialogstore::ManualClock::new(T0));
    let store = dialogstore::DialogStore::builder()
        .app_id(42)
        .muc_domain("muc.example.org")
        .clock(clock)
        .in_memory()
        .unwrap();
    let group = store.group(OWNER, &[A]);
    let public = store.public(OWNER);
    let private = store.private(OWNER, A);
    assert_eq!(group.xmpp_room_jid, Some(format!("42_{}@muc.example.org", group.id).into()));
    assert_eq!(public.xmpp_room_jid, Some(format!("42_{}@muc.example.org", public.id).into()));
    assert_eq!(private.xmpp_room_jid, None);
}

// ---- occupants ----

#[test]
fn creator_is_added_and_occupants_are_sorted_and_unique() {
    let env = Env::new();
    let d = env.create_dialog(OWNER, NewDialog::group("Team", [D, A, C, A, OWNER, D])).unwrap();
    assert_eq!(d.occupants_ids, [OWNER, A, C, D].into());
    assert_eq!(d.user_id, OWNER);
}

#[test]
fn group_has_no_admins_and_join_not_required_by_default() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    assert!(d.admin_ids.is_empty());
    assert_eq!(d.is_join_required, Some(false));
    assert_eq!(json(&d)["is_join_required"], 0);
}

#[test]
fn group_keeps_a_given_join_required() {
    let env = Env::new();
    let d = env.create_dialog(OWNER, NewDialog::group("Team", [A]).join_required(true)).unwrap();
    assert_eq!(d.is_join_required, Some(true));
    assert_eq!(json(&d)["is_join_required"], 1);
    let read = env.get(A, d.id).unwrap();
    assert_eq!(read.is_join_required, Some(true));
}

#[test]
fn join_required_is_null_for_public_and_private_even_when_given() {
    let env = Env::new();
    for new in [NewDialog::public("News"), NewDialog::private(A)] {
        let d = env.create_dialog(OWNER, new.join_required(true)).unwrap();
        assert_eq!(d.is_join_required, None);
        assert_eq!(json(&d)["is_join_required"], serde_json::Value::Null);
    }
}

#[test]
fn group_with_only_its_creator_is_allowed() {
    let env = Env::new();
    let d = env.group(OWNER, &[]);
    assert_eq!(d.occupants_ids, [OWNER].into());
}

#[test]
fn group_of_ten_thousand_is_allowed_and_one_more_is_refused() {
    let env = Env::new();
    let others: Vec<UserId> = (1..=10_000).map(UserId).collect();
    let err = assert_refused(&env, "VALIDATION", || {
        env.create_dialog(OWNER, NewDialog::group("Crowd", others.iter().copied()))
    });
    assert!(matches!(
        err,
        Error::Validation(ValidationError::TooManyOccupants { count: 10_001, max: 10_000 })
    ));
    let d =
        env.create_dialog(OWNER, NewDialog::group("Crowd", others[1..].iter().copied())).unwrap();
    assert_eq!(d.occupants_ids.len(), 10_000);
}

// ---- private dialogs ----

#[test]
fn private_ignores_the_creators_own_id_and_collapses_duplicates() {
    let env = Env::new();
    let d = env
        .create_dialog(
            ME,
            NewDialog::new(dialogstore::DialogType::Private).occupants([BOB, ME, BOB]),
        )
        .unwrap();
    assert_eq!(d.occupants_ids, [BOB, ME].into());
    assert!(d.admin_ids.is_empty());
}

#[test]
fn private_without_an_opponent_is_refused() {
    let env = Env::new();
    for occupants in [vec![], vec![ME], vec![ME, ME]] {
        let new = NewDialog::new(dialogstore::DialogType::Private).occupants(occupants);
        let err = assert_refused(&env, "VALIDATION", || env.create_dialog(ME, new));
        assert!(matches!(err, Error::Validation(ValidationError::PrivateOpponents { given: 0 })));
    }
}

#[test]
fn private_with_two_opponents_is_refused() {
    let env = Env::new();
    let new = NewDialog::new(dialogstore::DialogType::Private).occupants([BOB, A, ME]);
    let err = assert_refused(&env, "VALIDATION", || env.create_dialog(ME, new));
    assert!(matches!(err, Error::Validation(ValidationError::PrivateOpponents { given: 2 })));
}

#[test]
fn private_created_again_from_either_side_returns_the_first() {
    let env = Env::new();
    let first = env.private(ME, BOB);
    env.tick(60);
    let again = unchanged(&env, || env.private(ME, BOB));
    let reverse = unchanged(&env, || env.private(BOB, ME));
    assert_eq!(again, first);
    assert_eq!(reverse, first);
    assert_eq!(reverse.user_id, ME);
}

#[test]
fn private_created_again_brings_back_whoever_left() {
    let env = Env::new();
    let first = env.private(ME, BOB);
    env.delete_dialogs(BOB, &[first.id], false).unwrap();
    assert_eq!(env.get(ME, first.id).unwrap().occupants_ids, [ME].into());

    // The one who left asks again.
    let back = env.private(BOB, ME);
    assert_eq!(back.id, first.id);
    assert_eq!(back.occupants_ids, [BOB, ME].into());
    assert_eq!(env.get(BOB, first.id).unwrap().occupants_ids, [BOB, ME].into());

    // The one who stayed asks again after the other left.
    env.delete_dialogs(ME, &[first.id], false).unwrap();
    let back = env.private(BOB, ME);
    assert_eq!(back.id, first.id);
    assert_eq!(back.occupants_ids, [BOB, ME].into());
    assert_eq!(env.get(ME, first.id).unwrap().occupants_ids, [BOB, ME].into());
}

#[test]
fn private_dialog_deleted_for_everyone_is_created_anew() {
    let env = Env::new();
    let first = env.private(ME, BOB);
    env.delete_dialogs(ME, &[first.id], true).unwrap();
    let second = env.private(BOB, ME);
    assert_ne!(second.id, first.id);
    assert_eq!(second.user_id, BOB);
}

#[test]
fn private_name_is_ignored() {
    let env = Env::new();
    let d = env.create_dialog(ME, NewDialog::private(BOB).name("Bob")).unwrap();
    assert_eq!(d.name, None);
    assert_eq!(env.get(BOB, d.id).unwrap().name, None);
}

#[test]
fn private_name_over_the_limit_is_ignored_too() {
    let env = Env::new();
    let d = env.create_dialog(ME, NewDialog::private(BOB).name("я".repeat(201))).unwrap();
    assert_eq!(d.name, None);
}

#[test]
fn private_keeps_a_photo() {
    let env = Env::new();
    let d = env.create_dialog(ME, NewDialog::private(BOB).photo("67834")).unwrap();
    assert_eq!(d.photo.as_deref(), Some("67834"));
}

// ---- public dialogs ----

#[test]
fn public_with_occupants_is_refused() {
    let env = Env::new();
    let err = assert_refused(&env, "VALIDATION", || {
        env.create_dialog(OWNER, NewDialog::public("News").occupants([A]))
    });
    assert!(matches!(err, Error::Validation(ValidationError::PublicHasNoOccupants)));
}

#[test]
fn public_has_its_creator_as_admin_and_no_occupants() {
    let env = Env::new();
    let d = env.public(OWNER);
    assert_eq!(d.admin_ids, [OWNER].into());
    assert!(d.occupants_ids.is_empty());
    assert_eq!(d.is_join_required, None);
}

// ---- name and photo ----

#[test]
fn name_of_200_cyrillic_chars_is_valid() {
    let env = Env::new();
    let name = "я".repeat(200);
    assert_eq!(name.len(), 400);
    let group = env.create_dialog(OWNER, NewDialog::group(name.clone(), [A])).unwrap();
    let public = env.create_dialog(OWNER, NewDialog::public(name.clone())).unwrap();
    assert_eq!(group.name.as_deref(), Some(name.as_str()));
    assert_eq!(public.name.as_deref(), Some(name.as_str()));
}

#[test]
fn name_of_201_cyrillic_chars_is_refused() {
    let env = Env::new();
    let name = "я".repeat(201);
    for new in [NewDialog::group(name.clone(), [A]), NewDialog::public(name.clone())] {
        let err = assert_refused(&env, "VALIDATION", || env.create_dialog(OWNER, new));
        assert!(matches!(err, Error::Validation(ValidationError::NameTooLong { chars: 201 })));
    }
}

#[test]
fn photo_of_1024_chars_is_valid_and_1025_is_refused() {
    let env = Env::new();
    let d =
        env.create_dialog(OWNER, NewDialog::group("Team", [A]).photo("p".repeat(1024))).unwrap();
    assert_eq!(d.photo.map(|p| p.len()), Some(1024));
    for new in [NewDialog::group("Team", [A]), NewDialog::public("News"), NewDialog::private(A)] {
        let new = new.photo("ф".repeat(1025));
        let err = assert_refused(&env, "VALIDATION", || env.create_dialog(OWNER, new));
        assert!(matches!(
            err,
            Error::Validation(ValidationError::TextTooLong {
                field: "photo",
                chars: 1025,
                max: 1024
            })
        ));
    }
}

// ---- data on create (the rules themselves are in data.rs) ----

#[test]
fn bad_data_refuses_the_whole_create() {
    let env = Env::new();
    let new = NewDialog::group("Team", [A])
        .data(CustomData::new("").field("progress", DataValue::String("56".into())));
    let err = assert_refused(&env, "VALIDATION", || env.create_dialog(OWNER, new));
    assert!(matches!(err, Error::Validation(ValidationError::DataWithoutClassName)));
}
