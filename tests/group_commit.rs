//! Group commit (SPEC section 11): single write calls from many threads share transactions, and
//! each call still gets exactly its own result.
//!
//! Eight threads write at once to one store file with the default (immediate) durability. Each
//! thread has users of its own, so its dialogs are its own and a plain model per thread
//! (`dialogstore_testkit::fuzzing::model`) says what every call must answer whatever the other
//! threads do: creates of groups and private dialogs, messages, private messages, `mark_read`,
//! renames, leaves, and refusals of every kind mixed in (a message from an outsider, a name over
//! 200 characters, a non-owner removing an occupant, an unknown dialog, a second `force` delete),
//! plus `store.write` batches that fail half way and must leave nothing. At the end every user's
//! whole inbox and every dialog read one by one equals the thread's model, the integrity check
//! is clean, and the store's counters show that calls were committed in groups.
//!
//! 120 calls a thread by default; `DIALOGSTORE_GROUP_COMMIT_OPS=N` for more.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use dialogstore::{
    DialogId, DialogStore, DialogType, DialogUpdate, Error, ManualClock, MessageMeta, NewDialog,
    UserId,
};
use dialogstore_testkit::fuzzing::model::Model;

const THREADS: u64 = 8;
const USERS_PER_THREAD: u64 = 5;

fn users_of(thread: u64) -> Vec<UserId> {
    (0..USERS_PER_THREAD).map(|k| UserId(1_000 * (thread + 1) + k)).collect()
}

/// One thread's run: every call's answer against its model.
struct Run<'a> {
    store: &'a DialogStore,
    model: Model,
    users: Vec<UserId>,
    rng: Rng,
    now: i64,
    messages: u64,
    /// Calls the store accepted and refused (the model agreeing each time).
    accepted: u64,
    refused: u64,
}

impl Run<'_> {
    fn env(&self) -> dialogstore_testkit::fuzzing::Env<'static> {
        dialogstore_testkit::fuzzing::Env { now: self.now, app_id: APP_ID, muc: MUC }
    }

    fn user(&mut self) -> UserId {
        *self.rng.pick(&self.users)
    }

    fn live(&mut self) -> Option<DialogId> {
        if self.model.dialogs.is_empty() {
            return None;
        }
        Some(self.rng.pick(&self.model.dialogs).id)
    }

    /// Mostly an occupant of dialog `id`, sometimes any user of the thread (who may have left).
    fn member(&mut self, id: DialogId) -> UserId {
        let occupants = self.model.get(id).map(|d| d.occupants_ids.to_vec()).unwrap_or_default();
        match occupants.is_empty() || self.rng.percent(20) {
            true => self.user(),
            false => *self.rng.pick(&occupants),
        }
    }

    fn message(&mut self) -> MessageMeta {
        self.messages += 1;
        let id = format!("{:024x}", (self.users[0].0 << 32) + self.messages);
        // Now and then older than the dialog's last message, which then keeps its own.
        let date_sent = self.now - self.rng.below(3) as i64;
        MessageMeta { id, text: format!("message {}", self.messages), date_sent }
    }

    /// Compares a call's outcome with the model's.
    fn same<T: std::fmt::Debug, U: std::fmt::Debug>(
        &mut self,
        what: &str,
        store: &Result<T, Error>,
        model: &Result<U, &'static str>,
    ) {
        let code = |r: &Result<T, Error>| r.as_ref().err().map(Error::code);
        assert_eq!(
            code(store),
            model.as_ref().err().copied(),
            "{what}: the store answered {store:?}, the model {model:?}"
        );
        match store.is_ok() {
            true => self.accepted += 1,
            false => self.refused += 1,
        }
    }

    fn step(&mut self) {
        let env = self.env();
        match self.rng.below(12) {
            0 | 1 => {
                let owner = self.user();
                let others: Vec<UserId> = (0..1 + self.rng.below(3)).map(|_| self.user()).collect();
                let name = if self.rng.percent(15) { "x".repeat(201) } else { "Team".into() };
                let new = NewDialog::group(name, others);
                let out = self.store.create_dialog(owner, new.clone());
                let id = out.as_ref().ok().map(|d| d.id);
                let want = self.model.create(&env, owner, &new, id);
                self.same("create group", &out, &want);
                if let (Ok(have), Ok(want)) = (&out, &want) {
                    assert_eq!(have.occupants_ids, want.occupants_ids, "create group");
                }
            }
            2 => {
                let (me, other) = (self.user(), self.user());
                let new = NewDialog::private(other);
                let out = self.store.create_dialog(me, new.clone());
                let id = out.as_ref().ok().map(|d| d.id);
                let want = self.model.create(&env, me, &new, id);
                self.same("create private", &out, &want);
            }
            3..=5 => {
                let Some(id) = self.live() else { return };
                // A sender of the thread, who may have left; or, now and then, an outsider.
                let sender = if self.rng.percent(10) { UserId(7) } else { self.member(id) };
                let msg = self.message();
                let out = self.store.record_message(id, sender, msg.clone());
                let want = self.model.message(&env, id, sender, &msg);
                self.same("record_message", &out, &want);
            }
            6 => {
                let (from, to) = (self.user(), self.user());
                let msg = self.message();
                let out = self.store.record_private_message(from, to, msg.clone());
                let id = out.as_ref().ok().map(|d| d.id);
                let want = self.model.private_message(&env, from, to, &msg, id);
                self.same("record_private_message", &out, &want);
            }
            7 => {
                let Some(id) = self.live() else { return };
                let user = self.member(id);
                let out = self.store.mark_read(id, user);
                let want = self.model.mark_read(id, user);
                self.same("mark_read", &out, &want);
            }
            8 => {
                let Some(id) = self.live() else { return };
                let user = self.member(id);
                // A rename any occupant may make; or removing someone, which only the owner or
                // an admin may.
                let update = match self.rng.percent(50) {
                    true => DialogUpdate::default().name(format!("Team {}", self.now)),
                    false => DialogUpdate::default().pull_occupants([self.user()]),
                };
                let out = self.store.update_dialog(user, id, update.clone());
                let want = self.model.update(&env, user, id, &update);
                self.same("update_dialog", &out, &want);
            }
            9 => {
                let Some(id) = self.live() else { return };
                let user = self.member(id);
                let force = self.rng.percent(30);
                let ids = match self.rng.percent(10) {
                    true => vec![id, unknown_id()],
                    false => vec![id],
                };
                let out = self.store.delete_dialogs(user, &ids, force);
                let want = self.model.delete(&env, user, &ids, force);
                self.same("delete_dialogs", &out, &want);
            }
            10 => {
                // A batch that creates, records a message, then fails: nothing of it is there.
                let owner = self.user();
                let other = self.user();
                let out: Result<(), Error> = self.store.write(|b| {
                    let d = b.create_dialog(owner, NewDialog::group("Doomed", [other]))?;
                    b.record_message(
                        d.id,
                        owner,
                        MessageMeta {
                            id: "0".repeat(24),
                            text: "never".into(),
                            date_sent: env.now,
                        },
                    )?;
                    b.record_message(
                        d.id,
                        UserId(7),
                        MessageMeta {
                            id: "1".repeat(24),
                            text: "refused".into(),
                            date_sent: env.now,
                        },
                    )
                });
                assert_eq!(out.map_err(|e| e.code()), Err("ACCESS_ERROR"), "failing batch");
            }
            _ => {
                let out = self.store.record_message(unknown_id(), self.user(), self.message());
                assert_eq!(out.map_err(|e| e.code()), Err("NOT_FOUND"), "unknown dialog");
            }
        }
    }
}

fn run_thread(store: &DialogStore, clock: &ManualClock, thread: u64, ops: u64) -> Model {
    let (users, now) = (users_of(thread), dialogstore::Clock::now(clock));
    let (model, rng) = (Model::default(), Rng::new(thread));
    let mut run = Run { store, model, users, rng, now, messages: 0, accepted: 0, refused: 0 };
    for _ in 0..ops {
        run.step();
    }
    // Both kinds, in numbers, or the run proves little.
    let (accepted, refused) = (run.accepted, run.refused);
    assert!(
        accepted >= ops / 3 && refused >= ops / 20,
        "thread {thread}: {accepted} accepted, {refused} refused"
    );
    run.model
}

#[test]
fn concurrent_single_calls_commit_in_groups_each_with_its_own_result() {
    let ops = env_count("DIALOGSTORE_GROUP_COMMIT_OPS", 120);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("group.redb");
    // The clock stands still: every thread's model knows `now`.
    let clock = Arc::new(ManualClock::new(T0));
    let store = builder(&clock).open(&path).expect("open");
    let models: Vec<Model> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (store, clock) = (&store, &clock);
                s.spawn(move || run_thread(store, clock, t, ops))
            })
            .collect();
        threads.into_iter().map(|t| t.join().expect("writer thread")).collect()
    });
    let stats = store.stats().expect("stats");
    eprintln!(
        "{} calls in {} group commits; {} live dialogs",
        stats.grouped_writes,
        stats.group_commits,
        models.iter().map(|m| m.dialogs.len()).sum::<usize>()
    );
    assert!(
        stats.group_commits < stats.grouped_writes,
        "{} single calls in {} group commits: none shared a commit",
        stats.grouped_writes,
        stats.group_commits
    );
    for (t, model) in models.iter().enumerate() {
        agree(&store, model, &users_of(t as u64)).unwrap_or_else(|e| panic!("thread {t}: {e}"));
    }
    // And after reopening, the same.
    drop(store);
    let store = builder(&clock).open(&path).expect("reopen");
    for (t, model) in models.iter().enumerate() {
        agree(&store, model, &users_of(t as u64)).unwrap_or_else(|e| panic!("thread {t}: {e}"));
    }
    let live = models.iter().map(|m| m.dialogs.len() as u64).sum::<u64>();
    assert_eq!(store.stats().expect("stats").dialogs(), live);
}

#[test]
fn a_refused_call_in_a_group_changes_nothing_and_the_others_commit() {
    // Many threads, each alternating a message that must commit and one that must be refused,
    // into dialogs of their own: every accepted message is counted, no refused one is.
    let env = Env::new();
    let dialogs: Vec<_> =
        (0..16u64).map(|t| env.group(UserId(100 + t), &[UserId(200 + t)]).id).collect();
    std::thread::scope(|s| {
        for (t, &id) in dialogs.iter().enumerate() {
            let store = &env.store;
            s.spawn(move || {
                for n in 0..50u64 {
                    let ok = store.record_message(id, UserId(100 + t as u64), msg("m", "hi", 1));
                    assert!(ok.is_ok(), "{ok:?}");
                    let refused = store.record_message(id, UserId(999), msg("m", "hi", 1));
                    assert_eq!(refused.map_err(|e| e.code()), Err("ACCESS_ERROR"), "call {n}");
                    let empty = store.create_dialog(
                        UserId(100 + t as u64),
                        NewDialog {
                            dialog_type: DialogType::Private,
                            ..NewDialog::private(UserId(100 + t as u64))
                        },
                    );
                    assert_eq!(empty.map_err(|e| e.code()), Err("VALIDATION"), "call {n}");
                }
            });
        }
    });
    for (t, &id) in dialogs.iter().enumerate() {
        assert_eq!(env.unread(UserId(200 + t as u64), id), 50);
        assert_eq!(env.unread(UserId(100 + t as u64), id), 0);
    }
    assert_eq!(env.stats().expect("stats").dialogs(), 16);
    assert!(env.check_integrity().expect("integrity").is_clean());
}

// ---- kill -9 with concurrent callers ----

const CHILD_STORE: &str = "DIALOGSTORE_GROUP_CRASH_CHILD";
const CRASH_THREADS: u64 = 8;
/// A child's thread never writes more than this; the parent kills it long before.
const CHILD_MAX_OPS: u64 = 100_000;

/// Thread `t`'s sender and reader.
fn pair(t: u64) -> (UserId, UserId) {
    (UserId(10_000 + t), UserId(20_000 + t))
}

/// The id of thread `t`'s `i`-th call when it records a message.
fn message_id(t: u64, i: u64) -> String {
    format!("{t:04}{i:020}")
}

/// The child's side: eight threads, each creating a group of its two users every tenth call and
/// recording messages in its latest group otherwise; `DO t i` before each call and `OK t i`
/// after it returned `Ok`.
#[test]
#[ignore = "the child process of the group-commit crash test, which runs it itself"]
fn group_crash_child() {
    let Ok(path) = std::env::var(CHILD_STORE) else {
        return;
    };
    let clock = Arc::new(ManualClock::new(T0));
    let store = builder(&clock).open(&path).expect("the child opens");
    let out = std::sync::Mutex::new(std::io::stdout());
    let say = |line: String| {
        use std::io::Write;
        let mut out = out.lock().expect("stdout");
        writeln!(out, "{line}").and_then(|()| out.flush()).expect("stdout");
    };
    say("\nSTART".into());
    std::thread::scope(|s| {
        for t in 0..CRASH_THREADS {
            let (store, say) = (&store, &say);
            s.spawn(move || {
                let (a, b) = pair(t);
                let mut latest = None;
                for i in 0..CHILD_MAX_OPS {
                    say(format!("DO {t} {i}"));
                    let out = match latest {
                        Some(id) if i % 10 != 0 => {
                            let meta = msg(&message_id(t, i), "hi", i as i64);
                            store.record_message(id, a, meta)
                        }
                        _ => store
                            .create_dialog(a, NewDialog::group(format!("{t}-{i}"), [b]))
                            .map(|d| latest = Some(d.id)),
                    };
                    out.expect("a write of the child");
                    say(format!("OK {t} {i}"));
                }
            });
        }
    });
}

/// What thread `t` of a child had acknowledged: calls `0..acked` returned, call `acked` may be
/// in flight.
fn acknowledged(lines: &[String], t: u64) -> u64 {
    let prefix = format!("OK {t} ");
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|i| i.parse::<u64>().expect("i") + 1)
        .max()
        .unwrap_or(0)
}

#[test]
fn acknowledged_concurrent_writes_survive_kill_9() {
    let rounds = env_count("DIALOGSTORE_CRASH_ROUNDS", 6);
    let mut rng = Rng::new(0x6C0_3317);
    let (mut acked_total, mut in_flight_applied) = (0, 0);
    for round in 0..rounds {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("group-crash.redb");
        let acks = 50 + rng.below(400);
        let delay = Duration::from_micros(rng.below(2_000));
        let lines = kill_child(
            "group_crash_child",
            &[(CHILD_STORE, path.display().to_string())],
            acks,
            delay,
        );
        let clock = Arc::new(ManualClock::new(T0));
        let store = builder(&clock).open(&path).expect("reopen after the kill");
        for t in 0..CRASH_THREADS {
            let acked = acknowledged(&lines, t);
            acked_total += acked;
            let (a, b) = pair(t);
            // Calls that happened: every acknowledged one, and perhaps the one in flight.
            let groups = store.list_dialogs(b, &"sort_asc=created_at&limit=100".parse().unwrap());
            let groups = groups.expect("list").items;
            assert!(groups.len() < 100, "round {round}: more groups than one page");
            // Each group holds the messages of the calls after its create, up to the next.
            let mut calls = 0;
            for (k, d) in groups.iter().enumerate() {
                let first = 10 * k as u64;
                assert_eq!(
                    d.name.as_deref(),
                    Some(format!("{t}-{first}").as_str()),
                    "round {round}"
                );
                let messages = u64::from(d.unread_messages_count.expect("unread"));
                assert!(messages <= 9, "round {round}: thread {t}'s group {k} has {messages}");
                if messages > 0 {
                    let last = message_id(t, first + messages);
                    assert_eq!(d.last_message_id.as_deref(), Some(last.as_str()), "round {round}");
                } else {
                    assert_eq!(d.last_message_id, None, "round {round}");
                }
                // The sender's own view: no unread messages, the same dialog.
                let mine = store.get(a, d.id).expect("the sender sees it");
                assert_eq!(mine.unread_messages_count, Some(0), "round {round}");
                assert_eq!(mine.last_message_id, d.last_message_id, "round {round}");
                calls = first + 1 + messages;
                if k + 1 < groups.len() {
                    assert_eq!(messages, 9, "round {round}: thread {t}'s group {k} is not full");
                }
            }
            assert!(
                calls == acked || calls == acked + 1,
                "round {round}: thread {t} acknowledged {acked} calls, the store holds {calls}"
            );
            in_flight_applied += calls - acked;
        }
        let report = store.check_integrity().expect("check_integrity");
        assert!(report.is_clean(), "round {round}: {report}");
    }
    eprintln!(
        "group crash: {rounds} rounds, {acked_total} acknowledged calls, {in_flight_applied} \
         calls in flight found committed"
    );
}

#[test]
fn a_write_call_inside_the_stores_own_write_closure_is_refused_not_a_hang() {
    let env = Env::new();
    let other = Env::new();
    let d = env.group(UserId(1), &[UserId(2)]);
    let out = env.write(|b| {
        b.record_message(d.id, UserId(1), msg("a", "in the batch", 1))?;
        // Each of these would wait for the transaction it runs in.
        let nested = env.record_message(d.id, UserId(1), msg("b", "nested", 2));
        assert_eq!(nested.map_err(|e| e.code()), Err("NESTED_WRITE"));
        let handle = env.with_path_choice(dialogstore::PathChoice::FullScan);
        let nested = handle.create_dialog(UserId(3), NewDialog::private(UserId(4)));
        assert_eq!(nested.map_err(|e| e.code()), Err("NESTED_WRITE"));
        assert_eq!(env.write(|_| Ok(())).map_err(|e| e.code()), Err("NESTED_WRITE"));
        assert_eq!(env.sync().map_err(|e| e.code()), Err("NESTED_WRITE"));
        // Reads and another store's writes are fine.
        assert_eq!(env.get(UserId(2), d.id).expect("a read").unread_messages_count, Some(0));
        other.create_dialog(UserId(1), NewDialog::private(UserId(2))).expect("another store");
        Ok(())
    });
    out.expect("the batch commits");
    assert_eq!(env.unread(UserId(2), d.id), 1, "the batch's message only");
    // After the closure, the same calls work.
    env.record_message(d.id, UserId(1), msg("c", "after", 3)).expect("a write after");
    env.sync().expect("sync after");
}
