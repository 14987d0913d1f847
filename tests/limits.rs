//! The limits of the crate docs ("Limits"), at their exact boundaries, where the tests by theme
//! leave a gap. Already covered there: names of 200 and 201 characters (`create.rs`,
//! `update.rs`, `import.rs`), 10,000 and 10,001 occupants on create and update (`create.rs`,
//! `update.rs`), 32 and 33 data fields, values of 1,024 and 1,025 characters and field names of 64
//! and 65 (`data.rs`), the kept message text cut at 1,024 characters (`messages.rs`), photo and
//! message id of 1,024 and 1,025 (`create.rs`, `messages.rs`), 100 and 101 ids per delete
//! (`delete.rs`), query strings of 8,192 and 8,205 bytes parsed (`query_errors.rs`).
//!
//! Here: that the constants are the documented values; an 8 KiB query run through `list_dialogs`
//! and `explain`; the same caps on `import` and on `update_dialog` data; class names of 64 and
//! 65 characters.

mod common;

use common::*;
use dialogstore::MAX_QUERY_BYTES;
use dialogstore::{
    CustomClass, CustomData, DataValue, Dialog, DialogUpdate, Error, FieldType, NewDialog, Query,
    UserId, ValidationError, MAX_DATA_NAME_CHARS, MAX_DELETE_IDS,
};
use dialogstore::{
    MAX_DATA_FIELDS, MAX_DATA_VALUE_CHARS, MAX_LAST_MESSAGE_CHARS, MAX_NAME_CHARS, MAX_OCCUPANTS,
    MAX_SHORT_TEXT_CHARS,
};

#[test]
fn limits_are_the_documented_values() {
    assert_eq!(MAX_NAME_CHARS, 200);
    assert_eq!(MAX_OCCUPANTS, 10_000);
    assert_eq!(MAX_DATA_FIELDS, 32);
    assert_eq!(MAX_DATA_VALUE_CHARS, 1_024);
    assert_eq!(MAX_DATA_NAME_CHARS, 64);
    assert_eq!(MAX_LAST_MESSAGE_CHARS, 1_024);
    assert_eq!(MAX_SHORT_TEXT_CHARS, 1_024);
    assert_eq!(MAX_QUERY_BYTES, 8_192);
    assert_eq!(MAX_DELETE_IDS, 100);
}

/// `sort_asc=created_at&_id[nin]=<first>,<unknown ids...>&name[ne]=zzz...`, padded to `len`
/// bytes by the `name[ne]` value.
fn long_query(first: &str, len: usize) -> String {
    let unknown = (0..300).map(|i| format!("{i:024x}")).collect::<Vec<_>>().join(",");
    let head = format!("sort_asc=created_at&_id[nin]={first},{unknown}&name[ne]=");
    assert!(head.len() < len);
    format!("{head}{}", "z".repeat(len - head.len()))
}

#[test]
fn a_query_of_exactly_8_kib_runs_through_list_dialogs_and_explain() {
    let env = Env::new();
    let ids: Vec<_> = (0..3)
        .map(|_| {
            env.tick(1);
            env.group(OWNER, &[A]).id
        })
        .collect();
    let text = long_query(&ids[0].to_string(), MAX_QUERY_BYTES);
    assert_eq!(text.len(), 8_192);
    let q: Query = text.parse().expect("8 KiB is allowed");
    let page = env.list_dialogs(OWNER, &q).unwrap();
    assert_eq!(page.total_entries, 2);
    assert_eq!(page.items.iter().map(|d| d.id).collect::<Vec<_>>(), ids[1..]);
    assert_eq!(env.explain(OWNER, &q).unwrap().total_entries(), 2);

    let err = long_query(&ids[0].to_string(), MAX_QUERY_BYTES + 1).parse::<Query>().unwrap_err();
    assert_eq!(Error::from(err).code(), "QUERY");
}

/// A copy of QuickBlox's first example list item with `f` applied, imported into a fresh store.
fn import_with(f: impl FnOnce(&mut Dialog)) -> Result<Dialog, Error> {
    let env = Env::new();
    let mut d = Dialog::from_json(LIST_ITEM_1).unwrap();
    f(&mut d);
    let before = env.debug_dump().unwrap();
    let out = env.import(d);
    if out.is_err() {
        assert_eq!(env.debug_dump().unwrap(), before, "a refused import wrote something");
    }
    out
}

#[test]
fn import_takes_10_000_occupants_and_refuses_10_001() {
    let crowd = |n: u64| move |d: &mut Dialog| d.occupants_ids = (1..=n).map(UserId).collect();
    assert_eq!(import_with(crowd(10_000)).unwrap().occupants_ids.len(), 10_000);
    let err = import_with(crowd(10_001)).unwrap_err();
    assert!(matches!(
        err,
        Error::Validation(ValidationError::TooManyOccupants { count: 10_001, max: 10_000 })
    ));
}

#[test]
fn import_takes_a_last_message_of_1024_chars_and_refuses_1025() {
    let text = |n: usize| move |d: &mut Dialog| d.last_message = Some("ё".repeat(n).into());
    assert_eq!(import_with(text(1_024)).unwrap().last_message, Some("ё".repeat(1_024).into()));
    let err = import_with(text(1_025)).unwrap_err();
    assert!(matches!(
        err,
        Error::Validation(ValidationError::TextTooLong { field: "last_message", chars: 1_025, .. })
    ));
    let id = |n: usize| move |d: &mut Dialog| d.last_message_id = Some("i".repeat(n).into());
    assert!(import_with(id(1_024)).is_ok());
    let err = import_with(id(1_025)).unwrap_err();
    assert!(matches!(
        err,
        Error::Validation(ValidationError::TextTooLong { field: "last_message_id", .. })
    ));
}

fn fields(n: usize) -> CustomData {
    (0..n).fold(CustomData::new("Wide"), |c, i| c.field(format!("f{i}"), DataValue::Integer(1)))
}

#[test]
fn import_and_update_take_32_data_fields_and_refuse_33() {
    assert!(import_with(|d| d.data = Some(fields(32).into())).is_ok());
    let err = import_with(|d| d.data = Some(fields(33).into())).unwrap_err();
    assert!(matches!(err, Error::Validation(ValidationError::TooManyDataFields { count: 33 })));

    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let upd = |n| DialogUpdate::default().data(fields(n));
    let err = assert_refused(&env, "VALIDATION", || env.update_dialog(A, d.id, upd(33)));
    assert!(matches!(err, Error::Validation(ValidationError::TooManyDataFields { count: 33 })));
    assert_eq!(env.update_dialog(A, d.id, upd(32)).unwrap().data.unwrap().fields.len(), 32);
}

#[test]
fn class_names_of_64_chars_are_valid_and_65_are_refused() {
    let env = Env::new();
    let name = |n: usize| "К".repeat(n);
    let err = assert_refused(&env, "VALIDATION", || {
        env.declare_class(&CustomClass::new(name(65)).field("n", FieldType::Integer))
    });
    assert!(matches!(err, Error::Validation(ValidationError::DataFieldName { .. })));
    let new = NewDialog::group("Team", [A]).data(CustomData::new(name(65)));
    let err = assert_refused(&env, "VALIDATION", || env.create_dialog(OWNER, new));
    assert!(matches!(err, Error::Validation(ValidationError::DataFieldName { .. })));

    env.declare_class(&CustomClass::new(name(64)).field("n", FieldType::Integer)).unwrap();
    let data = CustomData::new(name(64)).field("n", DataValue::String("7".into()));
    let d = env.create_dialog(OWNER, NewDialog::group("Team", [A]).data(data)).unwrap();
    assert_eq!(d.data.unwrap().fields["n"], DataValue::Integer(7));
}
