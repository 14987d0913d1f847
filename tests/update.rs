//! `update_dialog`: what each type lets whom change, `push_all`/`pull_all`, `updated_at`.

mod common;

use common::*;
use dialogstore::{
    Action, CustomData, DataValue, Dialog, DialogId, DialogUpdate, Error, UserId, ValidationError,
};

fn rename(name: &str) -> DialogUpdate {
    DialogUpdate::default().name(name)
}

fn score(progress: &str) -> CustomData {
    CustomData::new("ScoreTable").field("progress", DataValue::String(progress.into()))
}

/// The update is refused with `WRONG_PERMISSIONS` for this action and changes nothing.
#[track_caller]
fn assert_update_forbidden(
    env: &Env,
    user: UserId,
    id: DialogId,
    upd: DialogUpdate,
    action: Action,
) {
    assert_forbidden(env, id, user, action, || env.update_dialog(user, id, upd));
}

/// The update is refused with this validation error and changes nothing.
#[track_caller]
fn assert_invalid(env: &Env, user: UserId, id: DialogId, upd: DialogUpdate, v: ValidationError) {
    let err = assert_refused(env, "VALIDATION", || env.update_dialog(user, id, upd));
    assert!(matches!(err, Error::Validation(ref e) if *e == v), "{err:?}");
}

/// Applies an update one minute later and checks it moved `updated_at` to the clock, both in
/// the returned dialog and in what `get_dialog` reads (as an occupant left after the update).
#[track_caller]
fn apply(env: &Env, user: UserId, id: DialogId, upd: DialogUpdate) -> Dialog {
    let now = env.tick(60);
    let d = env.update_dialog(user, id, upd).unwrap();
    assert_eq!(d.updated_at, now);
    let viewer = d.occupants_ids.first().copied().unwrap_or(user);
    let read = env.get(viewer, id).unwrap();
    assert_eq!(read.updated_at, now);
    assert_eq!(
        Dialog { unread_messages_count: None, ..read },
        d,
        "the returned dialog is what is stored"
    );
    d
}

// ---- group: any occupant ----

#[test]
fn group_occupant_renames() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let d = apply(&env, A, d.id, rename("Party"));
    assert_eq!(d.name.as_deref(), Some("Party"));
    assert_eq!(d.created_at, T0);
}

#[test]
fn group_occupant_changes_the_photo() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let d = apply(&env, A, d.id, DialogUpdate::default().photo("68123"));
    assert_eq!(d.photo.as_deref(), Some("68123"));
}

#[test]
fn group_occupant_changes_the_data() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let d = apply(&env, A, d.id, DialogUpdate::default().data(score("56")));
    assert_eq!(d.data.as_deref(), Some(&score("56")));
    let d = apply(&env, A, d.id, DialogUpdate::default().data(score("57")));
    assert_eq!(d.data.as_deref(), Some(&score("57")), "new data replaces the old");
}

#[test]
fn group_occupant_adds_occupants() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let d = apply(&env, A, d.id, DialogUpdate::default().push_occupants([D, B, A]));
    assert_eq!(d.occupants_ids, [OWNER, A, B, D].into());
    assert!(env.get(D, d.id).is_ok(), "a new occupant reads the dialog");
}

#[test]
fn group_occupant_removes_themself() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    env.update_dialog(OWNER, d.id, DialogUpdate::default().push_admins([A])).unwrap();
    let d = apply(&env, B, d.id, DialogUpdate::default().pull_occupants([B]));
    assert_eq!(d.occupants_ids, [OWNER, A].into());
    let d = env.update_dialog(A, d.id, DialogUpdate::default().pull_occupants([A])).unwrap();
    assert_eq!(d.occupants_ids, [OWNER].into());
    assert!(d.admin_ids.is_empty(), "an admin who leaves is no admin");
    let err = assert_refused(&env, "ACCESS_ERROR", || env.get(A, d.id));
    assert!(matches!(err, Error::AccessDenied { .. }));
}

#[test]
fn group_occupant_may_not_remove_others() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    for pull in [vec![B], vec![A, B], vec![OWNER], vec![STRANGER]] {
        let upd = DialogUpdate::default().pull_occupants(pull);
        assert_update_forbidden(&env, A, d.id, upd, Action::RemoveOccupants);
    }
}

#[test]
fn group_owner_and_admin_remove_others() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B, C]);
    env.update_dialog(OWNER, d.id, DialogUpdate::default().push_admins([A])).unwrap();
    let d = apply(&env, OWNER, d.id, DialogUpdate::default().pull_occupants([B]));
    assert_eq!(d.occupants_ids, [OWNER, A, C].into());
    let d = apply(&env, A, d.id, DialogUpdate::default().pull_occupants([C]));
    assert_eq!(d.occupants_ids, [OWNER, A].into());
    let err = assert_refused(&env, "ACCESS_ERROR", || env.get(C, d.id));
    assert!(matches!(err, Error::AccessDenied { .. }));
}

#[test]
fn group_occupant_may_not_change_admins() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    env.update_dialog(OWNER, d.id, DialogUpdate::default().push_admins([B])).unwrap();
    for upd in [
        DialogUpdate::default().push_admins([A]),
        DialogUpdate::default().push_admins([C]),
        DialogUpdate::default().pull_admins([B]),
    ] {
        assert_update_forbidden(&env, A, d.id, upd, Action::ChangeAdmins);
    }
}

#[test]
fn group_owner_and_admin_change_admins() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B, C]);
    let d = apply(&env, OWNER, d.id, DialogUpdate::default().push_admins([B, A]));
    assert_eq!(d.admin_ids, [A, B].into());
    let d = apply(&env, A, d.id, DialogUpdate::default().push_admins([C]));
    assert_eq!(d.admin_ids, [A, B, C].into());
    let d = apply(&env, A, d.id, DialogUpdate::default().pull_admins([B, C]));
    assert_eq!(d.admin_ids, [A].into());
    assert_eq!(d.occupants_ids, [OWNER, A, B, C].into(), "pulling an admin keeps the occupant");
}

#[test]
fn group_admin_must_be_an_occupant() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let upd = DialogUpdate::default().push_admins([A, STRANGER]);
    let v = ValidationError::AdminNotOccupant { user: STRANGER };
    assert_invalid(&env, OWNER, d.id, upd, v);
}

#[test]
fn group_admin_may_be_added_with_the_occupant() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let upd = DialogUpdate::default().push_occupants([B]).push_admins([B]);
    let d = apply(&env, OWNER, d.id, upd);
    assert_eq!(d.occupants_ids, [OWNER, A, B].into());
    assert_eq!(d.admin_ids, [B].into());
}

#[test]
fn group_admin_may_not_stay_admin_when_removed_in_the_same_update() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let upd = DialogUpdate::default().pull_occupants([A]).push_admins([A]);
    let v = ValidationError::AdminNotOccupant { user: A };
    assert_invalid(&env, OWNER, d.id, upd, v);
}

#[test]
fn group_removed_occupant_is_removed_from_admins() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    env.update_dialog(OWNER, d.id, DialogUpdate::default().push_admins([A, B])).unwrap();
    let d = apply(&env, OWNER, d.id, DialogUpdate::default().pull_occupants([B]));
    assert_eq!(d.occupants_ids, [OWNER, A].into());
    assert_eq!(d.admin_ids, [A].into());
}

#[test]
fn group_is_deleted_when_its_last_occupant_leaves() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    env.update_dialog(OWNER, d.id, DialogUpdate::default().pull_occupants([OWNER])).unwrap();
    env.update_dialog(A, d.id, DialogUpdate::default().pull_occupants([A])).unwrap();
    for user in [OWNER, A] {
        let err = assert_refused(&env, "NOT_FOUND", || env.get(user, d.id));
        assert!(matches!(err, Error::NotFound { .. }));
    }
}

#[test]
fn group_owner_who_left_has_no_say_any_more() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    env.update_dialog(OWNER, d.id, DialogUpdate::default().pull_occupants([OWNER])).unwrap();
    let err = assert_refused(&env, "ACCESS_ERROR", || {
        env.update_dialog(OWNER, d.id, DialogUpdate::default().pull_occupants([A]))
    });
    assert!(matches!(err, Error::AccessDenied { .. }));
}

// ---- public ----

#[test]
fn public_owner_and_admin_change_everything() {
    let env = Env::new();
    let d = env.public(OWNER);
    let d = apply(&env, OWNER, d.id, DialogUpdate::default().push_admins([A]));
    assert_eq!(d.admin_ids, [OWNER, A].into(), "a public admin needs no occupancy");
    let d = apply(&env, A, d.id, rename("Football news"));
    assert_eq!(d.name.as_deref(), Some("Football news"));
    let d = apply(&env, A, d.id, DialogUpdate::default().photo("1"));
    assert_eq!(d.photo.as_deref(), Some("1"));
    let d = apply(&env, A, d.id, DialogUpdate::default().data(score("1")));
    assert_eq!(d.data.as_deref(), Some(&score("1")));
    let d = apply(&env, A, d.id, DialogUpdate::default().push_admins([B]));
    assert_eq!(d.admin_ids, [OWNER, A, B].into());
    let d = apply(&env, OWNER, d.id, DialogUpdate::default().pull_admins([A, B]));
    assert_eq!(d.admin_ids, [OWNER].into());
    assert!(d.occupants_ids.is_empty());
}

#[test]
fn public_non_admin_may_not_rename() {
    let env = Env::new();
    let d = env.public(OWNER);
    assert_update_forbidden(&env, STRANGER, d.id, rename("Mine"), Action::Rename);
}

#[test]
fn public_non_admin_may_not_change_the_photo() {
    let env = Env::new();
    let d = env.public(OWNER);
    let upd = DialogUpdate::default().photo("1");
    assert_update_forbidden(&env, STRANGER, d.id, upd, Action::ChangePhoto);
}

#[test]
fn public_non_admin_may_not_change_the_data() {
    let env = Env::new();
    let d = env.public(OWNER);
    let upd = DialogUpdate::default().data(score("1"));
    assert_update_forbidden(&env, STRANGER, d.id, upd, Action::ChangeData);
}

#[test]
fn public_non_admin_may_not_change_admins() {
    let env = Env::new();
    let d = env.public(OWNER);
    for upd in [
        DialogUpdate::default().push_admins([STRANGER]),
        DialogUpdate::default().pull_admins([OWNER]),
    ] {
        assert_update_forbidden(&env, STRANGER, d.id, upd, Action::ChangeAdmins);
    }
}

#[test]
fn public_has_no_occupants_to_push_or_pull() {
    let env = Env::new();
    let d = env.public(OWNER);
    for user in [OWNER, STRANGER] {
        for upd in [
            DialogUpdate::default().push_occupants([A]),
            DialogUpdate::default().pull_occupants([user]),
        ] {
            assert_invalid(&env, user, d.id, upd, ValidationError::PublicHasNoOccupants);
        }
    }
}

// ---- private ----

#[test]
fn private_name_is_silently_ignored() {
    let env = Env::new();
    let d = env.private(ME, BOB);
    env.tick(60);
    for name in ["Bob".to_owned(), "я".repeat(201)] {
        let after = unchanged(&env, || env.update_dialog(BOB, d.id, rename(&name))).unwrap();
        assert_eq!(after, d, "nothing changed, updated_at included");
    }
}

#[test]
fn private_occupants_may_not_be_pushed_or_pulled() {
    let env = Env::new();
    let d = env.private(ME, BOB);
    for user in [ME, BOB] {
        let push = DialogUpdate::default().push_occupants([A]);
        assert_update_forbidden(&env, user, d.id, push, Action::AddOccupants);
        let pull = DialogUpdate::default().pull_occupants([user]);
        assert_update_forbidden(&env, user, d.id, pull, Action::RemoveOccupants);
    }
}

#[test]
fn private_admins_may_not_be_changed() {
    let env = Env::new();
    let d = env.private(ME, BOB);
    for upd in
        [DialogUpdate::default().push_admins([ME]), DialogUpdate::default().pull_admins([ME])]
    {
        assert_update_forbidden(&env, ME, d.id, upd, Action::ChangeAdmins);
    }
}

#[test]
fn private_photo_and_data_are_changed_by_either_occupant() {
    let env = Env::new();
    let d = env.private(ME, BOB);
    let d = apply(&env, BOB, d.id, DialogUpdate::default().photo("1"));
    assert_eq!(d.photo.as_deref(), Some("1"));
    let d = apply(&env, ME, d.id, DialogUpdate::default().photo("2"));
    assert_eq!(d.photo.as_deref(), Some("2"));
    let d = apply(&env, BOB, d.id, DialogUpdate::default().data(score("3")));
    assert_eq!(d.data.as_deref(), Some(&score("3")));
    let d = apply(&env, ME, d.id, DialogUpdate::default().data(score("4")));
    assert_eq!(d.data.as_deref(), Some(&score("4")));
    assert_eq!(d.name, None);
}

// ---- who and which ----

#[test]
fn non_occupant_gets_access_error() {
    let env = Env::new();
    let group = env.group(OWNER, &[A]);
    let private = env.private(ME, BOB);
    for id in [group.id, private.id] {
        let err = assert_refused(&env, "ACCESS_ERROR", || {
            env.update_dialog(STRANGER, id, rename("Mine"))
        });
        assert!(matches!(err, Error::AccessDenied { id: i, user } if i == id && user == STRANGER));
    }
}

#[test]
fn unknown_id_is_not_found() {
    let env = Env::new();
    env.group(OWNER, &[A]);
    let err = assert_refused(&env, "NOT_FOUND", || {
        env.update_dialog(OWNER, unknown_id(), rename("Party"))
    });
    assert!(matches!(err, Error::NotFound { id } if id == unknown_id()));
}

// ---- updated_at ----

#[test]
fn update_that_changes_nothing_does_not_move_updated_at() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let d = env.update_dialog(OWNER, d.id, rename("Team").photo("1")).unwrap();
    env.update_dialog(OWNER, d.id, DialogUpdate::default().push_admins([A])).unwrap();
    let d = env.get(OWNER, d.id).unwrap();
    env.tick(60);
    for upd in [
        DialogUpdate::default(),
        rename("Team"),
        DialogUpdate::default().photo("1"),
        DialogUpdate::default().push_occupants([A, OWNER]),
        DialogUpdate::default().pull_occupants([STRANGER]),
        DialogUpdate::default().push_admins([A]),
        DialogUpdate::default().pull_admins([B]),
    ] {
        let after = unchanged(&env, || env.update_dialog(OWNER, d.id, upd.clone())).unwrap();
        assert_eq!(after.updated_at, T0, "{upd:?}");
    }
    let public = env.public(OWNER);
    unchanged(&env, || env.update_dialog(STRANGER, public.id, DialogUpdate::default())).unwrap();
}

#[test]
fn update_from_the_quickblox_body() {
    let env = Env::new();
    let d = env.group(OWNER, &[A, B]);
    let body = r#"{"name":"New Year party","push_all":{"occupants_ids":[96831397, 96831328]},
                   "pull_all":{"occupants_ids":"96830631"}}"#;
    let d = apply(&env, OWNER, d.id, DialogUpdate::from_json(body).unwrap());
    assert_eq!(d.name.as_deref(), Some("New Year party"));
    assert_eq!(d.occupants_ids, [OWNER, A, C, D].into());
}

// ---- limits ----

#[test]
fn occupants_are_capped_at_ten_thousand() {
    let env = Env::new();
    let d = env.group(OWNER, &[]);
    let upd = DialogUpdate::default().push_occupants((1..=9_999).map(UserId));
    let d = env.update_dialog(OWNER, d.id, upd).unwrap();
    assert_eq!(d.occupants_ids.len(), 10_000);
    let upd = DialogUpdate::default().push_occupants([UserId(10_000)]);
    let v = ValidationError::TooManyOccupants { count: 10_001, max: 10_000 };
    assert_invalid(&env, OWNER, d.id, upd, v);
}

#[test]
fn name_over_200_chars_is_refused() {
    let env = Env::new();
    let group = env.group(OWNER, &[A]);
    let public = env.public(OWNER);
    for id in [group.id, public.id] {
        let v = ValidationError::NameTooLong { chars: 201 };
        assert_invalid(&env, OWNER, id, rename(&"я".repeat(201)), v);
        let d = env.update_dialog(OWNER, id, rename(&"я".repeat(200))).unwrap();
        assert_eq!(d.name.map(|n| n.chars().count()), Some(200));
    }
}

#[test]
fn photo_over_1024_chars_is_refused() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let upd = DialogUpdate::default().photo("p".repeat(1025));
    let v = ValidationError::TextTooLong { field: "photo", chars: 1025, max: 1024 };
    assert_invalid(&env, A, d.id, upd, v);
}
