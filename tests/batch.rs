//! `store.write(|batch| ...)`: many operations in one transaction, all or nothing for the
//! closure, nothing at all for an operation that fails inside it.

mod common;

use common::*;
use dialogstore::{
    CustomClass, Dialog, DialogUpdate, Error, FieldType, NewDialog, UserId, ValidationError,
};

#[test]
fn batch_commits_everything_and_returns_the_closures_value() {
    let env = Env::new();
    let (group, private) = env
        .write(|b| {
            b.declare_class(&CustomClass::new("Score").field("n", FieldType::Integer))?;
            let group = b.create_dialog(OWNER, NewDialog::group("Team", [A, B]))?;
            b.update_dialog(OWNER, group.id, DialogUpdate::default().name("Party"))?;
            b.record_message(group.id, A, msg("m1", "hi", T0))?;
            b.record_message(group.id, A, msg("m2", "there", T0 + 1))?;
            b.mark_read(group.id, B)?;
            let private = b.record_private_message(ME, BOB, msg("m3", "yo", T0))?;
            b.import(Dialog::from_json(LIST_ITEM_1)?)?;
            Ok((group, private))
        })
        .unwrap();
    let read = env.get(OWNER, group.id).unwrap();
    assert_eq!(read.name.as_deref(), Some("Party"));
    assert_eq!(read.last_message_id.as_deref(), Some("m2"));
    assert_eq!(env.unread(OWNER, group.id), 2);
    assert_eq!(env.unread(B, group.id), 0);
    assert_eq!(env.unread(BOB, private.id), 1);
    assert!(env.get_dialog(OWNER, "5d75393ba28f9a17e1cb0f9e").is_ok());
    let same = CustomClass::new("Score").field("n", FieldType::Integer);
    unchanged(&env, || env.declare_class(&same)).unwrap();
}

#[test]
fn closure_returning_an_error_writes_nothing() {
    let env = Env::new();
    let group = env.group(OWNER, &[A]);
    let mut created = None;
    let err = assert_unchanged(&env, || {
        env.write(|b| {
            let d = b.create_dialog(OWNER, NewDialog::group("Team", [B]))?;
            created = Some(d.id);
            b.record_message(group.id, A, msg("m1", "hi", T0))?;
            b.update_dialog(OWNER, group.id, DialogUpdate::default().name("Party"))?;
            b.import(Dialog::from_json(LIST_ITEM_1)?)?;
            b.declare_class(&CustomClass::new("Score"))?;
            // Fails, and `?` hands the error to write().
            b.create_dialog(ME, NewDialog::private(ME))?;
            Ok(())
        })
    });
    assert!(matches!(err, Error::Validation(ValidationError::PrivateOpponents { given: 0 })));
    let created = created.expect("the first create ran");
    assert_eq!(env.get(OWNER, created).unwrap_err().code(), "NOT_FOUND");
    assert_eq!(env.unread(OWNER, group.id), 0);
}

#[test]
fn closure_giving_up_after_successful_operations_writes_nothing() {
    let env = Env::new();
    let err = assert_unchanged(&env, || {
        env.write(|b| {
            b.create_dialog(OWNER, NewDialog::public("News"))?;
            Err::<(), _>(Error::DialogIdEmpty)
        })
    });
    assert!(matches!(err, Error::DialogIdEmpty));
}

#[test]
fn operations_that_fail_inside_a_batch_write_nothing() {
    let env = Env::new();
    let group = env.group(OWNER, &[A]);
    let public = env.public(OWNER);
    env.import(Dialog::from_json(LIST_ITEM_1).unwrap()).unwrap();
    let codes = unchanged(&env, || {
        env.write(|b| {
            let errors = [
                b.create_dialog(OWNER, NewDialog::public("News").occupants([A])).unwrap_err(),
                b.create_dialog(OWNER, NewDialog::group("я".repeat(201), [A])).unwrap_err(),
                b.update_dialog(A, group.id, DialogUpdate::default().pull_occupants([OWNER]))
                    .unwrap_err(),
                b.update_dialog(STRANGER, public.id, DialogUpdate::default().name("Mine"))
                    .unwrap_err(),
                b.delete_dialogs(OWNER, &[group.id, public.id], false).unwrap_err(),
                b.delete_dialogs(A, &[group.id], true).unwrap_err(),
                b.record_message(group.id, STRANGER, msg("m1", "hi", T0)).unwrap_err(),
                b.record_private_message(ME, BOB, msg(&"i".repeat(1025), "hi", T0)).unwrap_err(),
                b.mark_read(group.id, STRANGER).unwrap_err(),
                b.import(Dialog::from_json(LIST_ITEM_1)?).unwrap_err(),
                b.declare_class(&CustomClass::new("a[b]")).unwrap_err(),
            ];
            Ok(errors.map(|e| e.code()))
        })
    })
    .unwrap();
    assert_eq!(
        codes,
        [
            "VALIDATION",
            "VALIDATION",
            "WRONG_PERMISSIONS",
            "WRONG_PERMISSIONS",
            "WRONG_PERMISSIONS",
            "WRONG_PERMISSIONS",
            "ACCESS_ERROR",
            "VALIDATION",
            "ACCESS_ERROR",
            "VALIDATION",
            "VALIDATION",
        ]
    );
}

#[test]
fn the_other_operations_of_a_batch_commit_around_a_failed_one() {
    let env = Env::new();
    let (group, other) = env
        .write(|b| {
            let group = b.create_dialog(OWNER, NewDialog::group("Team", [A]))?;
            // All or nothing inside the batch too: the group is not deleted.
            let err = b.delete_dialogs(OWNER, &[group.id, unknown_id()], true).unwrap_err();
            assert_eq!(err.code(), "NOT_FOUND");
            b.record_message(group.id, OWNER, msg("m1", "hi", T0))?;
            let err =
                b.record_message(group.id, STRANGER, msg("m2", "let me in", T0 + 1)).unwrap_err();
            assert_eq!(err.code(), "ACCESS_ERROR");
            let err =
                b.update_dialog(A, group.id, DialogUpdate::default().push_admins([A])).unwrap_err();
            assert_eq!(err.code(), "WRONG_PERMISSIONS");
            let other = b.create_dialog(A, NewDialog::private(B))?;
            Ok((group, other))
        })
        .unwrap();
    let read = env.get(A, group.id).unwrap();
    assert_eq!(read.last_message_id.as_deref(), Some("m1"));
    assert!(read.admin_ids.is_empty());
    assert_eq!(read.unread_messages_count, Some(1));
    assert_eq!(env.unread(OWNER, group.id), 0);
    assert_eq!(env.get(B, other.id).unwrap().occupants_ids, [A, B].into());
}

#[test]
fn a_thousand_creates_in_one_batch() {
    let env = Env::new();
    let ids = env
        .write(|b| {
            (1..=1000)
                .map(|u| b.create_dialog(OWNER, NewDialog::private(UserId(u))).map(|d| d.id))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 1000);
    for (u, id) in (1..=1000).zip(&ids).step_by(97) {
        let d = env.get(UserId(u), *id).unwrap();
        assert_eq!(d.occupants_ids, [UserId(u), OWNER].into());
    }
}

#[test]
fn a_panic_in_the_closure_is_the_callers_and_writes_nothing() {
    let env = Env::new();
    let before = env.debug_dump().unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        env.write(|b| -> Result<(), Error> {
            b.create_dialog(OWNER, NewDialog::group("Team", [A]))?;
            panic!("the caller's own bug");
        })
    }));
    // The panic comes back as it was thrown, not as a storage error.
    let payload = caught.expect_err("the panic propagates");
    assert_eq!(panic_message(&*payload), "the caller's own bug");
    assert_eq!(env.debug_dump().unwrap(), before);
    env.group(OWNER, &[A]);
}

/// A batch keeps its private-pair changes in memory and writes them at commit: every later
/// operation of the batch, and every later batch, must see them as if written at once.
#[test]
fn private_pairs_made_and_freed_inside_one_batch() {
    let env = Env::new();
    let (first, again, second, gone) = env
        .write(|b| {
            let first = b.create_dialog(ME, NewDialog::private(BOB))?;
            // The pair is found again from the other side, before anything is on disk.
            let again = b.create_dialog(BOB, NewDialog::private(ME))?;
            b.delete_dialogs(ME, &[first.id], true)?;
            // Freed inside the batch, so a new dialog takes the pair.
            let second = b.create_dialog(ME, NewDialog::private(BOB))?;
            let gone = b.create_dialog(ME, NewDialog::private(STRANGER))?;
            b.delete_dialogs(ME, &[gone.id], true)?;
            Ok((first, again, second, gone))
        })
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_ne!(second.id, first.id);
    assert!(env.get(ME, first.id).is_err());
    assert!(env.get(ME, gone.id).is_err());
    // Later batches find what the first one wrote.
    assert_eq!(env.create_dialog(BOB, NewDialog::private(ME)).unwrap().id, second.id);
    let fresh = env.create_dialog(STRANGER, NewDialog::private(ME)).unwrap();
    assert_ne!(fresh.id, gone.id);
    let report = env.check_integrity().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}
