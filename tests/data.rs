//! Custom `data`: class names, field limits, undeclared and declared classes.

mod common;

use common::*;
use dialogstore::{
    CustomClass, CustomData, DataValue, DialogUpdate, Error, FieldType, NewDialog, ValidationError,
};
use serde_json::json;

/// A store with `ScoreTable` declared.
fn declared() -> Env {
    let env = Env::new();
    env.declare_class(&score_table()).unwrap();
    env
}

/// A group created with `data` given as JSON.
fn group_with(env: &Env, data: serde_json::Value) -> Result<dialogstore::Dialog, Error> {
    let body = json!({"type": 2, "name": "Team", "occupants_ids": [A.0], "data": data});
    let new = NewDialog::from_json(&body.to_string())?;
    env.create_dialog(OWNER, new)
}

/// `data` of one field, as JSON.
fn one(field: &str, v: serde_json::Value) -> serde_json::Value {
    json!({"class_name": "ScoreTable", field: v})
}

/// Creating a group with this `data` is refused with a validation error and writes nothing.
#[track_caller]
fn refused(env: &Env, data: serde_json::Value) -> ValidationError {
    match assert_refused(env, "VALIDATION", || group_with(env, data)) {
        Error::Validation(v) => v,
        other => panic!("not a validation error: {other:?}"),
    }
}

// ---- class_name and limits ----

#[test]
fn data_needs_a_class_name() {
    let env = Env::new();
    for data in [
        CustomData::new(""),
        CustomData::new("   "),
        CustomData::new("").field("progress", DataValue::String("56".into())),
    ] {
        let new = NewDialog::group("Team", [A]).data(data);
        let err = assert_refused(&env, "VALIDATION", || env.create_dialog(OWNER, new));
        assert!(matches!(err, Error::Validation(ValidationError::DataWithoutClassName)));
    }
}

fn fields(n: usize) -> CustomData {
    (0..n).fold(CustomData::new("Wide"), |d, i| {
        d.field(format!("f{i}"), DataValue::String(i.to_string()))
    })
}

#[test]
fn data_of_32_fields_is_valid() {
    let env = Env::new();
    let d = env.create_dialog(OWNER, NewDialog::group("Team", [A]).data(fields(32))).unwrap();
    assert_eq!(d.data.unwrap().fields.len(), 32);
}

#[test]
fn data_of_33_fields_is_refused() {
    let env = Env::new();
    let new = NewDialog::group("Team", [A]).data(fields(33));
    let err = assert_refused(&env, "VALIDATION", || env.create_dialog(OWNER, new));
    assert!(matches!(err, Error::Validation(ValidationError::TooManyDataFields { count: 33 })));
}

#[test]
fn field_names_empty_bracketed_or_over_64_chars_are_refused() {
    let env = Env::new();
    let long = "ж".repeat(65);
    for name in ["", "a[b]", "a]", "[", long.as_str()] {
        let v = refused(&env, json!({"class_name": "Free", name: "x"}));
        assert!(
            matches!(&v, ValidationError::DataFieldName { field, .. } if field == name),
            "{name:?}: {v:?}"
        );
    }
    let ok = "ж".repeat(64);
    let d = group_with(&env, json!({"class_name": "Free", ok.clone(): "x"})).unwrap();
    assert!(d.data.unwrap().fields.contains_key(&ok));
}

#[test]
fn string_value_over_1024_chars_is_refused() {
    for env in [Env::new(), declared()] {
        let v = refused(&env, one("game_mode_name", json!("ы".repeat(1025))));
        assert_eq!(v, ValidationError::TextTooLong { field: "data", chars: 1025, max: 1024 });
        let d = group_with(&env, one("game_mode_name", json!("ы".repeat(1024)))).unwrap();
        let kept = &d.data.unwrap().fields["game_mode_name"];
        assert_eq!(kept, &DataValue::String("ы".repeat(1024)));
    }
}

// ---- undeclared classes ----

#[test]
fn undeclared_class_keeps_values_as_text() {
    let env = Env::new();
    let d = group_with(&env, json!({"class_name": "Free", "n": 3, "x": 5.5, "b": true, "s": "56"}))
        .unwrap();
    assert_eq!(
        json(&d)["data"],
        json!({"class_name": "Free", "n": "3", "x": "5.5", "b": "true", "s": "56"})
    );
    let read = env.get(A, d.id).unwrap();
    assert_eq!(read.data, d.data);
}

// ---- declared classes ----

#[test]
fn declared_class_types_the_seed_data() {
    let env = declared();
    let new = NewDialog::from_json(GROUP_DATA_BODY).unwrap();
    let d = env.create_dialog(OWNER, new).unwrap();
    let expected = json!({
        "class_name": "ScoreTable",
        "expert_mode": 3,
        "game_mode_name": "rainbow dash",
        "progress": 56,
    });
    assert_eq!(json(&d)["data"], expected);
    assert_eq!(json(&env.get(A, d.id).unwrap())["data"], expected);
}

#[test]
fn declared_class_refuses_an_unknown_field() {
    let env = declared();
    let v = refused(&env, one("level", json!("3")));
    assert_eq!(
        v,
        ValidationError::DataFieldUnknown { class: "ScoreTable".into(), field: "level".into() }
    );
}

#[test]
fn integer_field_accepts_numbers_and_numeric_text() {
    let env = declared();
    for given in [json!(56), json!("56"), json!(" 56 ")] {
        let d = group_with(&env, one("progress", given.clone())).unwrap();
        assert_eq!(json(&d)["data"]["progress"], json!(56), "{given}");
    }
}

#[test]
fn float_field_accepts_floats_text_and_whole_numbers() {
    let env = declared();
    for (given, want) in
        [(json!(5.6), json!(5.6)), (json!("5.6"), json!(5.6)), (json!(5), json!(5.0))]
    {
        let d = group_with(&env, one("ratio", given.clone())).unwrap();
        assert_eq!(json(&d)["data"]["ratio"], want, "{given}");
        assert!(json(&d)["data"]["ratio"].is_f64(), "{given}");
    }
}

#[test]
fn boolean_field_accepts_bools_ones_and_zeros() {
    let env = declared();
    for (given, want) in [
        (json!(true), true),
        (json!(false), false),
        (json!(1), true),
        (json!(0), false),
        (json!("true"), true),
        (json!("1"), true),
        (json!("false"), false),
        (json!("0"), false),
    ] {
        let d = group_with(&env, one("finished", given.clone())).unwrap();
        assert_eq!(json(&d)["data"]["finished"], json!(want), "{given}");
    }
}

#[test]
fn string_field_keeps_text() {
    let env = declared();
    let d = group_with(&env, one("game_mode_name", json!("rainbow dash"))).unwrap();
    assert_eq!(json(&d)["data"]["game_mode_name"], "rainbow dash");
}

#[test]
fn values_that_do_not_fit_their_declared_type_are_refused() {
    let env = declared();
    for (field, given, expected) in [
        ("progress", json!("abc"), FieldType::Integer),
        ("progress", json!("5.6"), FieldType::Integer),
        ("progress", json!(5.6), FieldType::Integer),
        ("progress", json!(true), FieldType::Integer),
        ("ratio", json!("fast"), FieldType::Float),
        ("ratio", json!(false), FieldType::Float),
        ("finished", json!("yes"), FieldType::Boolean),
        ("finished", json!(2), FieldType::Boolean),
        ("finished", json!(1.5), FieldType::Boolean),
    ] {
        let v = refused(&env, one(field, given.clone()));
        assert!(
            matches!(
                &v,
                ValidationError::DataFieldType { class, field: f, expected: e, .. }
                    if class == "ScoreTable" && f == field && *e == expected
            ),
            "{field} = {given}: {v:?}"
        );
    }
}

#[test]
fn update_data_is_checked_against_the_class_too() {
    let env = declared();
    let d = env.group(OWNER, &[A]);
    let data = CustomData::new("ScoreTable").field("progress", DataValue::String("lots".into()));
    let err = assert_refused(&env, "VALIDATION", || {
        env.update_dialog(A, d.id, DialogUpdate::default().data(data))
    });
    assert!(matches!(err, Error::Validation(ValidationError::DataFieldType { .. })));
    let data = CustomData::new("ScoreTable").field("progress", DataValue::String("70".into()));
    let d = env.update_dialog(A, d.id, DialogUpdate::default().data(data)).unwrap();
    assert_eq!(json(&d)["data"], json!({"class_name": "ScoreTable", "progress": 70}));
}

// ---- declaring classes ----

#[test]
fn declaring_the_same_class_again_is_ok_and_changes_nothing() {
    let env = declared();
    unchanged(&env, || env.declare_class(&score_table())).unwrap();
}

#[test]
fn declaring_another_class_under_the_same_name_is_refused() {
    let env = declared();
    for other in [
        score_table().field("level", FieldType::Integer),
        score_table().field("progress", FieldType::Float),
        CustomClass::new("ScoreTable"),
    ] {
        let err = assert_refused(&env, "VALIDATION", || env.declare_class(&other));
        assert!(matches!(
            err,
            Error::Validation(ValidationError::ClassConflict { ref class }) if class == "ScoreTable"
        ));
    }
}

#[test]
fn declaring_a_class_with_a_bad_field_name_is_refused() {
    let env = Env::new();
    let bad = CustomClass::new("Scores").field("a[b]", FieldType::Integer);
    let err = assert_refused(&env, "VALIDATION", || env.declare_class(&bad));
    assert!(matches!(err, Error::Validation(ValidationError::DataFieldName { .. })));
}

#[test]
fn declaring_a_class_of_33_fields_is_refused() {
    let env = Env::new();
    let wide =
        (0..33).fold(CustomClass::new("Wide"), |c, i| c.field(format!("f{i}"), FieldType::String));
    let err = assert_refused(&env, "VALIDATION", || env.declare_class(&wide));
    assert!(matches!(err, Error::Validation(ValidationError::TooManyDataFields { count: 33 })));
}
