//! The change feed (`changes_since`, SPEC section 9): what each kind of write reports, to whom;
//! paging with small limits; expiry and foreign cursors; a sync across a reopen; clients
//! syncing while writers write. The random interleavings of writes and syncs against the model
//! are in `engine_model.rs` (the `Sync` step of the shared generator).

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use dialogstore::{ChangeCursor, Changes, Dialog, DialogId, DialogStore, DialogUpdate, UserId};

const ME: UserId = UserId(1);
const YOU: UserId = UserId(2);
const THEM: UserId = UserId(3);

/// A client's copy of one user's dialogs, kept by the feed.
#[derive(Default)]
struct Client {
    cursor: ChangeCursor,
    copy: BTreeMap<DialogId, Dialog>,
}

impl Client {
    /// One call of at most `limit` entries, applied (its cursor through its text form);
    /// returns the answer.
    fn step(&mut self, store: &DialogStore, user: UserId, limit: usize) -> Changes {
        let ch = store.changes_since(user, &self.cursor, limit).expect("changes_since");
        assert!(ch.dialogs.len() + ch.removed.len() <= limit);
        for d in &ch.dialogs {
            self.copy.insert(d.id, d.clone());
        }
        for id in &ch.removed {
            self.copy.remove(id);
        }
        self.cursor = ch.next.to_string().parse().expect("the token parses");
        ch
    }

    /// Syncs until caught up, `limit` entries a call; returns every answer.
    fn sync(&mut self, store: &DialogStore, user: UserId, limit: usize) -> Vec<Changes> {
        let mut answers = Vec::new();
        loop {
            let ch = self.step(store, user, limit);
            let more = ch.has_more;
            answers.push(ch);
            if !more {
                return answers;
            }
            assert!(answers.len() < 10_000, "never caught up");
        }
    }

    /// The copy equals the user's whole listing.
    fn assert_listing(&self, store: &DialogStore, user: UserId) {
        let listed: BTreeMap<DialogId, Dialog> =
            list_all(store, user).expect("list").into_iter().map(|d| (d.id, d)).collect();
        assert_eq!(self.copy, listed, "user {user}'s copy");
    }
}

/// What one sync from `cursor` reports: (ids of dialogs, ids removed).
fn delta(
    store: &DialogStore,
    user: UserId,
    cursor: &ChangeCursor,
) -> (Vec<DialogId>, Vec<DialogId>) {
    let ch = store.changes_since(user, cursor, 1000).expect("changes_since");
    assert!(!ch.has_more);
    let mut ids: Vec<_> = ch.dialogs.iter().map(|d| d.id).collect();
    ids.sort();
    (ids, ch.removed)
}

/// The cursor after a full sync of `user` now.
fn now_cursor(store: &DialogStore, user: UserId) -> ChangeCursor {
    let mut client = Client::default();
    client.sync(store, user, 1000);
    client.cursor
}

#[test]
fn the_first_sync_lists_what_the_user_sees_and_then_nothing() {
    let env = Env::new();
    let group = env.group(ME, &[YOU]);
    let public = env.public(THEM);
    let private = env.private(ME, THEM);
    let mut client = Client::default();
    let answers = client.sync(&env, ME, 100);
    assert_eq!(answers.len(), 1);
    let mut want = vec![group.id, public.id, private.id];
    want.sort();
    assert_eq!(client.copy.keys().copied().collect::<Vec<_>>(), want);
    client.assert_listing(&env, ME);
    // Caught up: the next answer is empty and says so.
    let again = env.changes_since(ME, &client.cursor, 100).unwrap();
    assert!(again.dialogs.is_empty() && again.removed.is_empty() && !again.has_more);
    assert_eq!(again.next, client.cursor, "an empty answer keeps the cursor where it was");
    // The JSON shape of SPEC section 9.
    let json = serde_json::to_value(&again).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"dialogs": [], "removed": [], "next": client.cursor.to_string(), "has_more": false})
    );
}

#[test]
fn each_kind_of_write_is_reported_to_whom_it_concerns() {
    let env = Env::new();
    let group = env.group(ME, &[YOU]);
    let other = env.group(THEM, &[UserId(9)]);
    let public = env.public(THEM);
    let (me, you, them) = (now_cursor(&env, ME), now_cursor(&env, YOU), now_cursor(&env, THEM));

    // A message in the group: both occupants, with their unread counts; not THEM.
    env.tick(1);
    env.post(group.id, ME, "m1", env.now());
    let ch = env.changes_since(YOU, &you, 100).unwrap();
    assert_eq!(ch.dialogs.len(), 1);
    assert_eq!(ch.dialogs[0].unread_messages_count, Some(1));
    assert_eq!(ch.dialogs[0].last_message_id.as_deref(), Some("m1"));
    assert_eq!(delta(&env, ME, &me).0, vec![group.id]);
    assert_eq!(delta(&env, THEM, &them), (vec![], vec![]));
    let you = ch.next;

    // mark_read changes YOU's count only.
    let me = now_cursor(&env, ME);
    env.mark_read(group.id, YOU).unwrap();
    let ch = env.changes_since(YOU, &you, 100).unwrap();
    assert_eq!(ch.dialogs.len(), 1);
    assert_eq!(ch.dialogs[0].unread_messages_count, Some(0));
    assert_eq!(delta(&env, ME, &me), (vec![], vec![]));
    let you = ch.next;
    // Reading a dialog with nothing unread changes nothing.
    env.mark_read(group.id, YOU).unwrap();
    assert_eq!(delta(&env, YOU, &you), (vec![], vec![]));

    // A change to a public dialog reaches everyone, occupant or not.
    let (me, nobody) = (now_cursor(&env, ME), now_cursor(&env, UserId(77)));
    env.update_dialog(THEM, public.id, DialogUpdate::default().name("Newer")).unwrap();
    assert_eq!(delta(&env, ME, &me).0, vec![public.id]);
    assert_eq!(delta(&env, UserId(77), &nobody).0, vec![public.id]);

    // Someone else's dialog is not reported.
    let me = now_cursor(&env, ME);
    env.update_dialog(THEM, other.id, DialogUpdate::default().name("Theirs")).unwrap();
    assert_eq!(delta(&env, ME, &me), (vec![], vec![]));

    // Being added reports the dialog; being removed reports its removal.
    env.update_dialog(THEM, other.id, DialogUpdate::default().push_occupants([ME])).unwrap();
    assert_eq!(delta(&env, ME, &me).0, vec![other.id]);
    let me = now_cursor(&env, ME);
    env.update_dialog(THEM, other.id, DialogUpdate::default().pull_occupants([ME])).unwrap();
    assert_eq!(delta(&env, ME, &me), (vec![], vec![other.id]));

    // Leaving (delete without force) is a removal for the leaver, a change for the others.
    let (me, you) = (now_cursor(&env, ME), now_cursor(&env, YOU));
    env.delete_dialogs(YOU, &[group.id], false).unwrap();
    assert_eq!(delta(&env, YOU, &you), (vec![], vec![group.id]));
    assert_eq!(delta(&env, ME, &me).0, vec![group.id]);

    // A forced delete is a removal for every occupant; of a public dialog, for everyone.
    let (me, nobody) = (now_cursor(&env, ME), now_cursor(&env, UserId(77)));
    env.delete_dialogs(ME, &[group.id], true).unwrap();
    env.delete_dialogs(THEM, &[public.id], true).unwrap();
    assert_eq!(delta(&env, ME, &me), (vec![], vec![group.id, public.id]));
    assert_eq!(delta(&env, UserId(77), &nobody), (vec![], vec![public.id]));
}

#[test]
fn a_dialog_changed_many_times_is_sent_once_in_its_current_state() {
    let env = Env::new();
    let group = env.group(ME, &[YOU]);
    let you = now_cursor(&env, YOU);
    for n in 0..20 {
        env.tick(1);
        env.post(group.id, ME, &format!("m{n}"), env.now());
    }
    let ch = env.changes_since(YOU, &you, 100).unwrap();
    assert_eq!(ch.dialogs.len(), 1);
    assert_eq!(ch.dialogs[0], env.get(YOU, group.id).unwrap());
    assert_eq!(ch.dialogs[0].unread_messages_count, Some(20));
}

#[test]
fn small_limits_page_through_everything() {
    let env = Env::new();
    let mut ids = Vec::new();
    for n in 0..30u64 {
        ids.push(env.group(ME, &[UserId(100 + n)]).id);
    }
    let mut client = Client::default();
    let answers = client.sync(&env, ME, 4);
    assert_eq!(answers.len(), 8, "30 dialogs at 4 a call");
    assert!(answers[..7].iter().all(|a| a.has_more && a.dialogs.len() == 4));
    client.assert_listing(&env, ME);
    // Changes to half of them, paged 3 a call.
    for (n, id) in ids.iter().enumerate().filter(|(n, _)| n % 2 == 0) {
        env.tick(1);
        env.post(*id, UserId(100 + n as u64), &format!("m{n}"), env.now());
    }
    for id in &ids[20..] {
        env.delete_dialogs(ME, &[*id], false).unwrap();
    }
    let answers = client.sync(&env, ME, 3);
    let reported: usize = answers.iter().map(|a| a.dialogs.len() + a.removed.len()).sum();
    assert_eq!(reported, 15 + 10 - 5, "15 messages, 10 removals, 5 dialogs both");
    client.assert_listing(&env, ME);
}

#[test]
fn writes_during_a_paged_first_sync_are_not_lost() {
    let env = Env::new();
    let mut ids = Vec::new();
    for n in 0..20u64 {
        ids.push(env.group(ME, &[UserId(100 + n)]).id);
    }
    let mut client = Client::default();
    // Page by page, with writes between the pages: before and after the listing's position.
    for round in 0..10 {
        client.step(&env, ME, 3);
        env.tick(1);
        env.post(ids[round], ME, &format!("a{round}"), env.now());
        env.post(ids[19 - round], UserId(119 - round as u64), &format!("b{round}"), env.now());
        if round == 3 {
            env.delete_dialogs(ME, &[ids[0], ids[18]], false).unwrap();
            env.group(ME, &[YOU]);
        }
    }
    client.sync(&env, ME, 3);
    client.assert_listing(&env, ME);
}

#[test]
fn cursors_of_other_stores_users_or_commits_are_invalid() {
    let env = Env::new();
    env.group(ME, &[YOU]);
    let cursor = now_cursor(&env, ME);
    let code = |store: &DialogStore, user, cursor: &ChangeCursor| {
        store.changes_since(user, cursor, 10).unwrap_err().code()
    };
    // Another user's cursor.
    assert_eq!(code(&env, YOU, &cursor), "CURSOR_INVALID");
    // Another store's cursor, even one at a commit that store has reached.
    let other = Env::new();
    for _ in 0..5 {
        other.group(ME, &[YOU]);
    }
    assert_eq!(code(&other, ME, &cursor), "CURSOR_INVALID");
    // Garbage.
    for bad in ["x", "00", &"f".repeat(60), &cursor.to_string()[1..]] {
        let err = bad.parse::<ChangeCursor>().unwrap_err();
        assert_eq!(err.code(), "CURSOR_INVALID", "{bad}");
        assert!(err.to_string().contains("cursor"), "{err}");
    }
}

#[test]
fn a_cursor_older_than_the_history_expires_and_a_new_sync_recovers() {
    let clock = Arc::new(dialogstore::ManualClock::new(T0));
    let store = builder(&clock).change_history(32).in_memory().unwrap();
    let group = store.group(ME, &[YOU]);
    let mut client = Client::default();
    client.sync(&store, YOU, 100);
    let old = client.cursor;
    // Within the history: fine.
    for n in 0..10 {
        store.post(group.id, ME, &format!("m{n}"), T0);
        store.mark_read(group.id, YOU).unwrap();
    }
    assert!(store.changes_since(YOU, &old, 100).is_ok());
    // Far past it: expired, never a partial answer.
    for n in 0..100 {
        store.post(group.id, ME, &format!("n{n}"), T0);
        store.mark_read(group.id, YOU).unwrap();
    }
    let err = store.changes_since(YOU, &old, 100).unwrap_err();
    assert_eq!(err.code(), "CURSOR_EXPIRED");
    assert!(err.to_string().contains("sync again"), "{err}");
    // Starting again catches up.
    let mut fresh = Client::default();
    fresh.sync(&store, YOU, 100);
    fresh.assert_listing(&store, YOU);
}

#[test]
fn a_sync_goes_on_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.redb");
    let clock = Arc::new(dialogstore::ManualClock::new(T0));
    let mut client = Client::default();
    let mut ids = Vec::new();
    {
        let store = builder(&clock).open(&path).unwrap();
        for n in 0..10u64 {
            ids.push(store.group(ME, &[UserId(100 + n)]).id);
        }
        // Half of the first sync before the store closes.
        assert!(client.step(&store, ME, 5).has_more);
    }
    let store = builder(&clock).open(&path).unwrap();
    store.post(ids[0], UserId(100), "m1", T0);
    store.delete_dialogs(ME, &[ids[9]], false).unwrap();
    client.sync(&store, ME, 5);
    client.assert_listing(&store, ME);
    // And a caught-up cursor stays good across another reopen.
    let cursor = client.cursor;
    drop(store);
    let store = builder(&clock).open(&path).unwrap();
    assert_eq!(delta(&store, ME, &cursor), (vec![], vec![]));
    store.post(ids[1], ME, "m2", T0);
    assert_eq!(delta(&store, ME, &cursor).0, vec![ids[1]]);
}

#[test]
fn clients_syncing_while_writers_write_end_with_the_listing() {
    let store = Arc::new(DialogStore::in_memory().unwrap());
    let users: Vec<UserId> = (1..=6).map(UserId).collect();
    let mut ids = Vec::new();
    for (n, u) in users.iter().enumerate() {
        ids.push(store.group(*u, &[users[(n + 1) % 6], users[(n + 2) % 6]]).id);
    }
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (store, ids, users) = (store.clone(), ids.clone(), users.clone());
            std::thread::spawn(move || {
                let mut rng = Rng::new(w);
                for n in 0..400 {
                    let id = *rng.pick(&ids);
                    let user = *rng.pick(&users);
                    let _ = match rng.below(5) {
                        0 => store.mark_read(id, user),
                        1 => store
                            .update_dialog(user, id, DialogUpdate::default().push_occupants([user]))
                            .map(|_| ()),
                        2 => store.delete_dialogs(user, &[id], false),
                        _ => store.record_message(id, user, msg(&format!("{w}-{n}"), "hi", T0)),
                    };
                }
            })
        })
        .collect();
    let readers: Vec<_> = users
        .iter()
        .map(|&user| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut client = Client::default();
                for _ in 0..50 {
                    client.sync(&store, user, 2);
                }
                client
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    for (reader, user) in readers.into_iter().zip(&users) {
        let mut client = reader.join().unwrap();
        client.sync(&store, *user, 3);
        client.assert_listing(&store, *user);
    }
}

#[test]
fn check_integrity_finds_a_damaged_change_log() {
    use redb::{ReadableTable, TableDefinition};
    const CHANGES: TableDefinition<(u64, u32), u8> = TableDefinition::new("changes");
    const USER_CHANGES: TableDefinition<(u64, u32, u64), u8> = TableDefinition::new("user_changes");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.redb");
    {
        let store = DialogStore::open(&path).unwrap();
        let group = store.group(ME, &[YOU]);
        store.group(ME, &[THEM]);
        store.delete_dialogs(YOU, &[group.id], false).unwrap();
        assert!(store.check_integrity().unwrap().is_clean());
    }
    {
        let db = redb::Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut log = txn.open_table(CHANGES).unwrap();
            let first = log.first().unwrap().map(|(k, _)| k.value()).unwrap();
            log.remove(first).unwrap();
            log.insert((999, 7), 0).unwrap();
            txn.open_table(USER_CHANGES).unwrap().insert((1_000, 0, 5), 1).unwrap();
        }
        txn.commit().unwrap();
    }
    let report = DialogStore::open(&path).unwrap().check_integrity().unwrap();
    let problems = report.problems.join("\n");
    assert!(problems.contains("change log lacks entry"), "{problems}");
    assert!(problems.contains("change log has stray entry (999, 7)"), "{problems}");
    assert!(problems.contains("per-user change 1000"), "{problems}");
}

/// A cursor in the middle of a commit (a call stopped by its limit) at the edge of the
/// history: either every change after it comes, or it has expired; never a lost removal.
#[test]
fn a_cursor_inside_a_commit_at_the_edge_of_the_history_loses_nothing() {
    for more in [15u64, 16, 17, 40] {
        let clock = Arc::new(dialogstore::ManualClock::new(T0));
        let store = builder(&clock).change_history(16).in_memory().unwrap();
        let (g1, g2) = (store.group(ME, &[YOU]), store.group(ME, &[YOU]));
        let mut client = Client::default();
        client.sync(&store, YOU, 100);
        // One commit removes YOU from both; the client reads one removal of it.
        store
            .write(|b| {
                b.update_dialog(ME, g1.id, DialogUpdate::default().pull_occupants([YOU]))?;
                b.update_dialog(ME, g2.id, DialogUpdate::default().pull_occupants([YOU]))?;
                Ok(())
            })
            .unwrap();
        let ch = client.step(&store, YOU, 1);
        assert_eq!((ch.removed.clone(), ch.has_more), (vec![g1.id], true));
        for n in 0..more {
            store.group(UserId(50 + n), &[UserId(80)]);
        }
        match store.changes_since(YOU, &client.cursor, 100) {
            Ok(_) => {
                client.sync(&store, YOU, 100);
                client.assert_listing(&store, YOU);
            }
            Err(e) => assert_eq!(e.code(), "CURSOR_EXPIRED", "after {more} commits"),
        }
    }
}

/// A dialog deleted and imported again under its id (a new row): the client keeps it,
/// whether it had synced before or is in the middle of its first sync.
#[test]
fn a_dialog_deleted_and_imported_again_stays_in_the_copy() {
    let env = Env::new();
    let g = env.group(ME, &[YOU]);
    env.group(ME, &[YOU]);
    let mut synced = Client::default();
    synced.sync(&env, YOU, 100);
    let mut listing = Client::default();
    assert!(listing.step(&env, YOU, 1).has_more);
    let full = env.get(ME, g.id).unwrap();
    env.delete_dialogs(ME, &[g.id], true).unwrap();
    env.import(full).unwrap();
    for client in [&mut synced, &mut listing] {
        let answers = client.sync(&env, YOU, 100);
        assert!(answers.iter().all(|a| !a.removed.contains(&g.id)));
        client.assert_listing(&env, YOU);
    }
}
