//! A store file closed and opened again holds everything written to it.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use dialogstore::{
    CustomData, DataValue, Dialog, DialogId, DialogStore, DialogUpdate, ManualClock, NewDialog,
    UserId,
};

fn open(path: &Path, clock: &Arc<ManualClock>) -> DialogStore {
    builder(clock).open(path).expect("open the store file")
}

/// What each user sees of each dialog, unread counts included (`None` where refused).
fn views(store: &DialogStore, ids: &[DialogId]) -> Vec<Option<Dialog>> {
    let users = [OWNER, A, B, C, D, ME, BOB, STRANGER];
    ids.iter().flat_map(|id| users.iter().map(move |u| store.get(*u, *id).ok())).collect()
}

/// Writes one of everything: classes, all three types, an import, messages, unread counts,
/// mark_read, updates, a leave and a delete.
fn fill(store: &DialogStore, clock: &ManualClock) -> Vec<DialogId> {
    store.declare_class(&score_table()).unwrap();
    let group = store.create_dialog(OWNER, NewDialog::from_json(GROUP_DATA_BODY).unwrap()).unwrap();
    clock.advance(10);
    let public = store.create_dialog(OWNER, NewDialog::from_json(PUBLIC_BODY).unwrap()).unwrap();
    let private = store.create_dialog(ME, NewDialog::from_json(PRIVATE_BODY).unwrap()).unwrap();
    let imported = store.import(Dialog::from_json(LIST_ITEM_1).unwrap()).unwrap();
    let gone = store.group(OWNER, &[A]);
    clock.advance(10);
    for (i, sender) in [A, A, C, OWNER].into_iter().enumerate() {
        store.post(group.id, sender, &format!("g{i}"), T0 + i as i64);
    }
    store.mark_read(group.id, C).unwrap();
    store.post(private.id, ME, "p1", T0 + 5);
    store.post(imported.id, D, "i1", 1_567_971_500);
    store.post(public.id, STRANGER, "pub1", T0 + 6);
    clock.advance(10);
    store
        .update_dialog(
            A,
            group.id,
            DialogUpdate::default()
                .name("Renamed")
                .push_occupants([D])
                .data(CustomData::new("ScoreTable").field("progress", DataValue::Integer(7))),
        )
        .unwrap();
    store.update_dialog(OWNER, public.id, DialogUpdate::default().push_admins([A])).unwrap();
    store.delete_dialogs(B, &[imported.id], false).unwrap();
    store.delete_dialogs(OWNER, &[gone.id], true).unwrap();
    vec![group.id, public.id, private.id, imported.id, gone.id]
}

#[test]
fn everything_written_is_there_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dialogs.redb");
    let clock = Arc::new(ManualClock::new(T0));

    let store = open(&path, &clock);
    let ids = fill(&store, &clock);
    let dump = store.debug_dump().unwrap();
    let seen = views(&store, &ids);
    drop(store);

    let store = open(&path, &clock);
    assert_eq!(store.debug_dump().unwrap(), dump);
    assert_eq!(views(&store, &ids), seen);

    // Spot checks of what `seen` holds, so the comparison above is not of empty views.
    let [group, public, private, imported, gone] = ids[..] else { unreachable!() };
    assert_eq!(store.unread(OWNER, group), 3);
    assert_eq!(store.unread(A, group), 2);
    assert_eq!(store.unread(C, group), 0);
    assert_eq!(store.unread(BOB, private), 1);
    assert_eq!(store.unread(OWNER, imported), 1);
    let g = store.get(D, group).unwrap();
    assert_eq!(g.name.as_deref(), Some("Renamed"));
    assert_eq!(json(&g)["data"]["progress"], 7);
    assert_eq!(store.get(STRANGER, public).unwrap().admin_ids, [OWNER, A].into());
    assert_eq!(store.get(B, imported).unwrap_err().code(), "ACCESS_ERROR");
    assert_eq!(store.get(OWNER, gone).unwrap_err().code(), "NOT_FOUND");
    assert_eq!(store.get(OWNER, imported).unwrap().created_at, 1_567_963_451);
}

#[test]
fn reopened_store_keeps_enforcing_what_it_knows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dialogs.redb");
    let clock = Arc::new(ManualClock::new(T0));
    let store = open(&path, &clock);
    let ids = fill(&store, &clock);
    drop(store);

    let store = open(&path, &clock);
    // The private pair: creating it again returns the stored dialog.
    assert_eq!(store.private(BOB, ME).id, ids[2]);
    // The declared class.
    let bad = CustomData::new("ScoreTable").field("progress", DataValue::String("x".into()));
    let err = assert_refused(&store, "VALIDATION", || {
        store.create_dialog(OWNER, NewDialog::group("Team", [A]).data(bad))
    });
    assert!(matches!(
        err,
        dialogstore::Error::Validation(dialogstore::ValidationError::DataFieldType { .. })
    ));
    // Imported ids stay taken.
    let err = assert_refused(&store, "VALIDATION", || {
        store.import(Dialog::from_json(LIST_ITEM_1).unwrap())
    });
    assert!(matches!(
        err,
        dialogstore::Error::Validation(dialogstore::ValidationError::DuplicateId { .. })
    ));
    // New dialogs get new ids.
    let fresh = store.group(OWNER, &[A]);
    assert!(!ids.contains(&fresh.id));
    assert_generated_id(&fresh);
}

#[test]
fn writes_after_reopening_survive_another_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dialogs.redb");
    let clock = Arc::new(ManualClock::new(T0));
    let store = open(&path, &clock);
    let d = store.group(OWNER, &[A]);
    store.post(d.id, OWNER, "m1", T0);
    drop(store);

    let store = open(&path, &clock);
    store.post(d.id, OWNER, "m2", T0 + 1);
    let e = store.group(A, &[UserId(5)]);
    let dump = store.debug_dump().unwrap();
    drop(store);

    let store = open(&path, &clock);
    assert_eq!(store.debug_dump().unwrap(), dump);
    assert_eq!(store.unread(A, d.id), 2);
    assert_eq!(store.get(UserId(5), e.id).unwrap().user_id, A);
}

#[test]
fn an_io_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no").join("such").join("dialogs.redb");
    let err = DialogStore::open(&path).unwrap_err();
    assert_eq!(err.code(), "STORAGE");
    match &err {
        dialogstore::Error::Storage { file, .. } => assert_eq!(file.as_deref(), Some(&*path)),
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
}
