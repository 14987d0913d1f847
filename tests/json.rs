//! The JSON forms: `NewDialog` (POST bodies), `DialogUpdate` (PUT bodies), `Dialog` (responses
//! and imports), `DialogId`.

mod common;

use common::*;
use dialogstore::{
    CustomData, DataValue, Dialog, DialogId, DialogType, DialogUpdate, Error, NewDialog, UserId,
    ValidationError,
};
use serde_json::json;

#[track_caller]
fn new_err(body: &str) -> Error {
    let err = NewDialog::from_json(body).unwrap_err();
    assert_eq!(err.code(), "VALIDATION", "{body}: {err}");
    assert!(serde_json::from_str::<NewDialog>(body).is_err(), "serde refuses it too: {body}");
    err
}

// ---- NewDialog ----

#[test]
fn seed_bodies_deserialize_as_written() {
    let private: NewDialog = serde_json::from_str(PRIVATE_BODY).unwrap();
    assert_eq!(private, NewDialog::private(BOB));

    let public: NewDialog = serde_json::from_str(PUBLIC_BODY).unwrap();
    assert_eq!(public, NewDialog::public("Soccer news").photo("67834"));

    let group: NewDialog = serde_json::from_str(GROUP_BODY).unwrap();
    assert_eq!(group, NewDialog::group("New Year party", [D, C, B, A]).photo("68123"));

    let with_data: NewDialog = serde_json::from_str(GROUP_DATA_BODY).unwrap();
    let data = CustomData::new("ScoreTable")
        .field("game_mode_name", DataValue::String("rainbow dash".into()))
        .field("expert_mode", DataValue::String("3".into()))
        .field("progress", DataValue::String("56".into()));
    assert_eq!(with_data, NewDialog::group("Chat with Bob, Sam, Garry", [A, B, C]).data(data));

    for body in [PRIVATE_BODY, PUBLIC_BODY, GROUP_BODY, GROUP_DATA_BODY] {
        assert_eq!(
            NewDialog::from_json(body).unwrap(),
            serde_json::from_str::<NewDialog>(body).unwrap()
        );
    }
}

#[test]
fn seed_data_body_as_printed_is_not_json() {
    let err = new_err(GROUP_DATA_BODY_AS_PRINTED);
    assert!(matches!(err, Error::Validation(ValidationError::Json { .. })));
}

#[test]
fn occupants_as_a_string_with_or_without_spaces_or_as_an_array() {
    let forms = [
        r#"{"type":2,"occupants_ids":"96831397,96831328"}"#,
        r#"{"type":2,"occupants_ids":"96831397, 96831328"}"#,
        r#"{"type":2,"occupants_ids":" 96831397 ,96831328 "}"#,
        r#"{"type":2,"occupants_ids":[96831397,96831328]}"#,
    ];
    for body in forms {
        let new: NewDialog = serde_json::from_str(body).unwrap();
        assert_eq!(new.occupants_ids, [D, C], "{body}");
    }
    for body in [
        r#"{"type":1}"#,
        r#"{"type":1,"occupants_ids":""}"#,
        r#"{"type":1,"occupants_ids":[]}"#,
        r#"{"type":1,"occupants_ids":null}"#,
    ] {
        let new: NewDialog = serde_json::from_str(body).unwrap();
        assert!(new.occupants_ids.is_empty(), "{body}");
    }
}

#[test]
fn missing_type_is_refused() {
    for body in [r#"{"name":"x"}"#, r#"{"type":null,"name":"x"}"#] {
        let err = new_err(body);
        assert!(matches!(err, Error::Validation(ValidationError::MissingType)), "{body}: {err:?}");
    }
}

#[test]
fn unknown_type_is_refused() {
    for (body, given) in [(r#"{"type":7}"#, "7"), (r#"{"type":0}"#, "0"), (r#"{"type":-1}"#, "-1")]
    {
        let err = new_err(body);
        assert!(
            matches!(&err, Error::Validation(ValidationError::UnknownType { value }) if value == given),
            "{body}: {err:?}"
        );
    }
    for body in [r#"{"type":"group"}"#, r#"{"type":2.5}"#, r#"{"type":[2]}"#] {
        let err = new_err(body);
        assert!(
            matches!(err, Error::Validation(ValidationError::UnknownType { .. })),
            "{body}: {err:?}"
        );
    }
}

#[test]
fn non_numeric_occupants_are_refused() {
    for body in [
        r#"{"type":2,"occupants_ids":"1,x"}"#,
        r#"{"type":2,"occupants_ids":[1,-2]}"#,
        r#"{"type":2,"occupants_ids":"1,,2"}"#,
        r#"{"type":2,"occupants_ids":"1;2"}"#,
        r#"{"type":2,"occupants_ids":[1.5]}"#,
        r#"{"type":2,"occupants_ids":"-3"}"#,
    ] {
        new_err(body);
    }
}

#[test]
fn data_without_class_name_is_refused() {
    for body in [
        r#"{"type":2,"data":{"progress":"56"}}"#,
        r#"{"type":2,"data":{"class_name":"","progress":"56"}}"#,
        r#"{"type":2,"data":{"class_name":null}}"#,
        r#"{"type":2,"data":{"class_name":5}}"#,
    ] {
        let err = new_err(body);
        assert!(
            matches!(err, Error::Validation(ValidationError::DataWithoutClassName)),
            "{body}: {err:?}"
        );
    }
}

#[test]
fn data_values_must_be_scalars() {
    for body in [
        r#"{"type":2,"data":{"class_name":"S","tags":["a"]}}"#,
        r#"{"type":2,"data":{"class_name":"S","nested":{"a":1}}}"#,
    ] {
        let err = new_err(body);
        assert!(
            matches!(err, Error::Validation(ValidationError::DataValueNotScalar { .. })),
            "{body}: {err:?}"
        );
    }
}

#[test]
fn body_that_is_not_json_is_refused() {
    for body in ["", "{", "[]", r#"{"type":2,"name":5}"#] {
        new_err(body);
    }
}

#[test]
fn join_required_reads_as_0_1_or_bool() {
    for (body, want) in [
        (r#"{"type":2,"is_join_required":1}"#, Some(true)),
        (r#"{"type":2,"is_join_required":0}"#, Some(false)),
        (r#"{"type":2,"is_join_required":true}"#, Some(true)),
        (r#"{"type":2}"#, None),
    ] {
        let new = NewDialog::from_json(body).unwrap();
        assert_eq!(new.is_join_required, want, "{body}");
    }
}

// ---- DialogUpdate ----

#[test]
fn update_body_reads_push_all_and_pull_all() {
    let body = r#"{
        "name": "Party",
        "photo": "68123",
        "data": {"class_name": "ScoreTable", "progress": "56"},
        "push_all": {"occupants_ids": [96831397, 96831328], "admin_ids": "96754523"},
        "pull_all": {"occupants_ids": "96830631, 7", "admin_ids": [96753878]}
    }"#;
    let upd = DialogUpdate::from_json(body).unwrap();
    let expected = DialogUpdate::default()
        .name("Party")
        .photo("68123")
        .data(CustomData::new("ScoreTable").field("progress", DataValue::String("56".into())))
        .push_occupants([D, C])
        .push_admins([A])
        .pull_occupants([B, STRANGER])
        .pull_admins([OWNER]);
    assert_eq!(upd, expected);
    assert_eq!(DialogUpdate::from_json("{}").unwrap(), DialogUpdate::default());
}

#[test]
fn update_body_errors_are_validation_errors() {
    for body in [
        r#"{"push_all":{"occupants_ids":"1,x"}}"#,
        r#"{"pull_all":{"occupants_ids":[-1]}}"#,
        r#"{"data":{"progress":"56"}}"#,
        r#"{"name":"x""#,
    ] {
        let err = DialogUpdate::from_json(body).unwrap_err();
        assert_eq!(err.code(), "VALIDATION", "{body}: {err}");
    }
}

// ---- Dialog ----

#[test]
fn seed_items_parse_into_dialogs() {
    let d = Dialog::from_json(LIST_ITEM_1).unwrap();
    assert_eq!(d.id.to_string(), "5d75393ba28f9a17e1cb0f9e");
    assert_eq!(d.user_id, OWNER);
    assert_eq!(d.dialog_type, DialogType::Group);
    assert_eq!(d.created_at, 1_567_963_451);
    assert_eq!(d.updated_at, 1_567_971_414);
    assert_eq!(d.name.as_deref(), Some("New Year party"));
    assert_eq!(d.photo.as_deref(), Some("68123"));
    assert_eq!(d.occupants_ids, [OWNER, A, B, C, D].into());
    assert!(d.admin_ids.is_empty());
    assert_eq!(d.last_message.as_deref(), Some("sure, I can wait"));
    assert_eq!(d.last_message_id.as_deref(), Some("5d755856a0eb47411e0b72a9"));
    assert_eq!(d.last_message_date_sent, Some(1_567_971_414));
    assert_eq!(d.last_message_user_id, Some(OWNER));
    assert_eq!(d.unread_messages_count, Some(0));
    assert_eq!(d.is_join_required, None);
    assert_eq!(d.data, None);
}

#[test]
fn dialog_serializes_back_to_the_seed_json() {
    for s in [LIST_ITEM_1, LIST_ITEM_2] {
        let d = Dialog::from_json(s).unwrap();
        assert_json_has(&json(&d), &value(s));
        assert_eq!(Dialog::from_json(&d.to_json()).unwrap(), d);
        assert_eq!(serde_json::from_str::<Dialog>(s).unwrap(), d);
    }
}

#[test]
fn dialog_json_has_every_key_with_nulls_where_absent() {
    let d = Dialog::from_json(
        r#"{"_id":"5e261c72a28f9a4f779f10bb","user_id":1,"type":3,
        "created_at":"2020-01-20T21:32:34Z","updated_at":1579555954}"#,
    )
    .unwrap();
    assert_eq!(d.created_at, T0);
    assert_eq!(json(&d), fresh(&d, json!({"type": 3, "user_id": 1})));
}

#[test]
fn dialog_json_writes_join_required_as_0_or_1() {
    let mut d = Dialog::from_json(LIST_ITEM_1).unwrap();
    for (flag, want) in [(Some(true), json!(1)), (Some(false), json!(0)), (None, json!(null))] {
        d.is_join_required = flag;
        assert_eq!(json(&d)["is_join_required"], want);
        assert_eq!(Dialog::from_json(&d.to_json()).unwrap(), d);
    }
}

#[test]
fn dialog_json_errors_are_validation_errors() {
    let item = value(LIST_ITEM_1);
    for (key, bad) in [
        ("_id", json!(null)),
        ("_id", json!("5d75")),
        ("type", json!(7)),
        ("type", json!(null)),
        ("user_id", json!(null)),
        ("user_id", json!(-5)),
        ("created_at", json!("yesterday")),
        ("updated_at", json!(null)),
        ("occupants_ids", json!("1,x")),
    ] {
        let mut v = item.clone();
        v[key] = bad.clone();
        let err = Dialog::from_json(&v.to_string()).unwrap_err();
        assert_eq!(err.code(), "VALIDATION", "{key} = {bad}: {err}");
    }
}

// ---- DialogId ----

#[test]
fn dialog_id_round_trips_as_text_and_json() {
    let id: DialogId = "5d75393ba28f9a17e1cb0f9e".parse().unwrap();
    assert_eq!(id.to_string(), "5d75393ba28f9a17e1cb0f9e");
    assert_eq!(id.timestamp(), 0x5d75393b);
    assert_eq!(serde_json::to_value(id).unwrap(), json!("5d75393ba28f9a17e1cb0f9e"));
    let back: DialogId = serde_json::from_value(json!("5d75393ba28f9a17e1cb0f9e")).unwrap();
    assert_eq!(back, id);
    assert!(serde_json::from_value::<DialogId>(json!("5d75")).is_err());
    assert_eq!("".parse::<DialogId>().unwrap_err().code(), "DIALOG_ID_EMPTY");
    assert_eq!(
        "5d75393ba28f9a17e1cb0f9z".parse::<DialogId>().unwrap_err().code(),
        "DIALOG_ID_INVALID"
    );
}

#[test]
fn user_id_is_a_plain_number_in_json() {
    assert_eq!(serde_json::to_value(UserId(96753878)).unwrap(), json!(96753878));
}
