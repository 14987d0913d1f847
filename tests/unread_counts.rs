//! `unread_counts` (SPEC section 10): the kept total equals the sum of the user's unread
//! counts after every kind of write, after an aborted batch, across group commits and after
//! reopening; ids asked for, errors, and QuickBlox's JSON shape.

mod common;

use std::sync::Arc;

use common::*;
use dialogstore::{DialogId, DialogStore, DialogUpdate, Error, UserId};

/// The sum of `user`'s unread counts over everything they list.
fn summed(store: &DialogStore, user: UserId) -> u64 {
    let all = list_all(store, user).expect("list");
    all.iter().map(|d| u64::from(d.unread_messages_count.unwrap_or(0))).sum()
}

fn assert_totals(store: &DialogStore, users: &[UserId]) {
    for &user in users {
        let kept = store.unread_counts(user, &[]).unwrap();
        assert_eq!(kept.total, summed(store, user), "user {user}");
        let listed: u64 = kept.dialogs.iter().map(|(_, n)| u64::from(*n)).sum();
        assert_eq!(listed, kept.total, "user {user}: every dialog with unread messages");
        assert!(kept.dialogs.iter().all(|(_, n)| *n > 0));
    }
}

#[test]
fn the_total_follows_every_kind_of_write_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unread.redb");
    let clock = Arc::new(dialogstore::ManualClock::new(T0));
    let users: Vec<UserId> = (1..=6).map(UserId).collect();
    let mut rng = Rng::new(3);
    {
        let store = builder(&clock).open(&path).unwrap();
        let mut ids: Vec<DialogId> = Vec::new();
        for n in 0..400 {
            let user = *rng.pick(&users);
            let other = *rng.pick(&users);
            // The totals are read (and so cached) before most writes, so later commits move them.
            if n % 3 == 0 {
                let _ = store.unread_counts(user, &[]);
            }
            let _ = match rng.below(10) {
                0 => {
                    store.group(user, &[other, *rng.pick(&users)]);
                    Ok(())
                }
                1 => store
                    .create_dialog(user, dialogstore::NewDialog::private(UserId(other.0 % 6 + 1)))
                    .map(drop),
                2 if !ids.is_empty() => store.mark_read(*rng.pick(&ids), user),
                3 if !ids.is_empty() => store.delete_dialogs(user, &[*rng.pick(&ids)], false),
                4 if !ids.is_empty() => store
                    .update_dialog(
                        user,
                        *rng.pick(&ids),
                        DialogUpdate::default().pull_occupants([other]),
                    )
                    .map(drop),
                5 if !ids.is_empty() => store.delete_dialogs(user, &[*rng.pick(&ids)], true),
                _ if !ids.is_empty() => {
                    store.record_message(*rng.pick(&ids), user, msg(&format!("m{n}"), "hi", T0 + n))
                }
                _ => Ok(()),
            };
            ids = new_ids_of(&store);
            if n % 50 == 0 {
                assert_totals(&store, &users);
            }
        }
        assert_totals(&store, &users);
        // A batch that fails after recording messages moves nothing.
        let before: Vec<u64> =
            users.iter().map(|u| store.unread_counts(*u, &[]).unwrap().total).collect();
        let aborted = store.write(|b| {
            for id in &ids {
                let d = store.get_dialog(UserId(1), &id.to_string());
                if let Ok(d) = d {
                    b.record_message(d.id, UserId(1), msg("x", "lost", T0))?;
                }
            }
            Err::<(), _>(Error::DialogIdEmpty)
        });
        assert!(aborted.is_err());
        let after: Vec<u64> =
            users.iter().map(|u| store.unread_counts(*u, &[]).unwrap().total).collect();
        assert_eq!(before, after);
        assert_totals(&store, &users);
    }
    let store = builder(&clock).open(&path).unwrap();
    assert_totals(&store, &users);
}

/// Every live dialog id, in row order.
fn new_ids_of(store: &DialogStore) -> Vec<DialogId> {
    let mut ids = Vec::new();
    store
        .for_each_dialog(|d| {
            ids.push(d.id);
            Ok(())
        })
        .unwrap();
    ids
}

#[test]
fn concurrent_writers_keep_the_totals() {
    let store = Arc::new(DialogStore::in_memory().unwrap());
    let users: Vec<UserId> = (1..=5).map(UserId).collect();
    let ids: Vec<DialogId> = (0..5).map(|n| store.group(users[n], &users).id).collect();
    for u in &users {
        store.unread_counts(*u, &[]).unwrap();
    }
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (store, ids, users) = (&store, &ids, &users);
            s.spawn(move || {
                let mut rng = Rng::new(t);
                for n in 0..150 {
                    let (id, user) = (*rng.pick(ids), *rng.pick(users));
                    if rng.below(4) == 0 {
                        store.mark_read(id, user).unwrap();
                    } else {
                        store.record_message(id, user, msg(&format!("{t}-{n}"), "hi", T0)).unwrap();
                    }
                }
            });
        }
    });
    assert_totals(&store, &users);
}

#[test]
fn ids_asked_for_errors_and_json() {
    let env = Env::new();
    let group = env.group(ME, &[YOU]);
    let public = env.public(THEM);
    let theirs = env.group(THEM, &[UserId(9)]);
    env.post(group.id, ME, "m1", T0);
    env.post(group.id, ME, "m2", T0);
    let counts = env.unread_counts(YOU, &[public.id, group.id]).unwrap();
    assert_eq!(counts.total, 2);
    assert_eq!(counts.dialogs, vec![(public.id, 0), (group.id, 2)]);
    let json = serde_json::to_string(&counts).unwrap();
    assert_eq!(json, format!(r#"{{"total":2,"{}":0,"{}":2}}"#, public.id, group.id));
    assert_eq!(env.unread_counts(YOU, &[theirs.id]).unwrap_err().code(), "ACCESS_ERROR");
    assert_eq!(env.unread_counts(YOU, &[unknown_id()]).unwrap_err().code(), "NOT_FOUND");
    // Nothing unread: only the total.
    assert_eq!(
        serde_json::to_string(&env.unread_counts(ME, &[]).unwrap()).unwrap(),
        r#"{"total":0}"#
    );
}

const ME: UserId = UserId(1);
const YOU: UserId = UserId(2);
const THEM: UserId = UserId(3);
