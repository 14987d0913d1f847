//! A store of more than 65,536 dialogs builds its columns on a thread of its own once opened,
//! no query builds one meanwhile, and dropping the store waits for that thread (so the file can
//! be opened again at once).

use std::time::{Duration, Instant};

use dialogstore::{
    AccessPath, DialogStore, Durability, NewDialog, PartScope, PathChoice, Query, UserId,
};

const ME: UserId = UserId(1);
const DIALOGS: u64 = 70_000;

/// A store file with `DIALOGS` private dialogs of user 1, a message in each.
fn large_store(path: &std::path::Path) {
    let store = DialogStore::builder().durability(Durability::None).open(path).unwrap();
    for start in (0..DIALOGS).step_by(5_000) {
        store
            .write(|b| {
                for i in start..start + 5_000 {
                    let d = b.create_dialog(ME, NewDialog::private(UserId(10 + i)))?;
                    let meta = dialogstore::MessageMeta {
                        id: format!("m{i}"),
                        text: "hi".into(),
                        date_sent: 1_700_000_000 + (i as i64 % 997),
                    };
                    b.record_message(d.id, ME, meta)?;
                }
                Ok(())
            })
            .unwrap();
    }
    store.sync().unwrap();
}

fn own_access(store: &DialogStore, q: &Query) -> AccessPath {
    let e = store.explain(ME, q).unwrap();
    e.parts.iter().find(|p| p.scope == PartScope::Own).unwrap().access.clone()
}

#[test]
fn a_large_store_warms_up_by_itself_and_drops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.redb");
    large_store(&path);
    let q: Query = "sort_desc=last_message_date_sent&limit=100".parse().unwrap();
    let scan = {
        let store = DialogStore::open(&path).unwrap();
        store.with_path_choice(PathChoice::FullScan).list_dialogs(ME, &q).unwrap()
    };
    // Opened again at once: the drop above waited for its warm-up thread.
    let store = DialogStore::open(&path).unwrap();
    assert_eq!(store.list_dialogs(ME, &q).unwrap(), scan, "right before the columns are built");
    // Without a warm_up call, the columns come, and with them the viewer's ordering.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(own_access(&store, &q), AccessPath::WalkUserOrder { .. }) {
        assert!(Instant::now() < deadline, "the background warm-up never built the columns");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(store.list_dialogs(ME, &q).unwrap(), scan, "after");
    drop(store);
    // Turned off, nothing builds the columns: no query does on a store this large.
    let store = DialogStore::builder().background_warm_up(false).open(&path).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!matches!(
        own_access(&store, &q),
        AccessPath::SortColumns | AccessPath::WalkUserOrder { .. }
    ));
    assert_eq!(store.list_dialogs(ME, &q).unwrap(), scan);
    // `warm_up` then builds them.
    assert!(store.warm_up().unwrap());
    assert!(matches!(own_access(&store, &q), AccessPath::WalkUserOrder { .. }));
    assert_eq!(store.list_dialogs(ME, &q).unwrap(), scan);
}
