//! `kill -9` in the middle of durable writes: every write whose call returned
//! `Ok` is in the store after reopening, nothing is half applied, and the store keeps working.
//!
//! A child process (this test binary again, running the ignored test `crash_child`) opens the
//! store file with the default durability and loops over random writes: creates of all three
//! types, a batch that creates a group and records messages in it, messages (some older than
//! the last one, some longer than the kept 1,024 characters), `mark_read` and leaves. Before each
//! call it prints `DO <now> <op>`, after it returned `Ok` it prints `OK <id>`, flushing each
//! line. The parent kills it with SIGKILL after a random number of acknowledgements and a random
//! delay, replays the acknowledged operations on the plain model (`dialogstore_testkit::fuzzing::model`),
//! reopens the store and requires, for every user, `list_dialogs` (every page) and `get_dialog`
//! of every dialog to equal the model's answers, unread counts included, and `check_integrity`
//! to be clean. The one operation in flight when the child died may be there entirely or not at
//! all; the state must equal the model either without it or with it. Then the parent writes
//! once itself, and the next round starts a new child on the same file.
//!
//! 20 rounds by default; `DIALOGSTORE_CRASH_ROUNDS=N` for more.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use dialogstore::{
    DialogId, DialogStore, DialogType, Durability, ManualClock, MessageMeta, NewDialog, UserId,
};
use dialogstore_testkit::fuzzing::model::Model;
use serde::{Deserialize, Serialize};

/// Every dialog has its occupants among these users (or is public), so their lists cover all.
const USERS: [u64; 6] = [1, 2, 3, 4, 5, 6];
const CHILD_STORE: &str = "DIALOGSTORE_CRASH_CHILD";
const CHILD_SEED: &str = "DIALOGSTORE_CRASH_SEED";
const CHILD_NOW: &str = "DIALOGSTORE_CRASH_NOW";
const CHILD_NO_DURABILITY: &str = "DIALOGSTORE_CRASH_NO_DURABILITY";
/// A child never writes more than this; the parent kills it long before.
const CHILD_MAX_OPS: u64 = 5_000;

// ---- the operations, as the child prints them ----

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Msg {
    sender: UserId,
    id: String,
    date_sent: i64,
    /// Characters of text: made from `id`, so the parent knows the text without it being printed.
    chars: usize,
}

impl Msg {
    fn meta(&self) -> MessageMeta {
        let text = format!("{} ж", self.id).chars().cycle().take(self.chars).collect();
        MessageMeta { id: self.id.clone(), text, date_sent: self.date_sent }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
enum Op {
    Create {
        owner: UserId,
        kind: u8,
        others: Vec<UserId>,
    },
    /// One batch: create a group and record messages in it.
    GroupWithMessages {
        owner: UserId,
        others: Vec<UserId>,
        messages: Vec<Msg>,
    },
    Message {
        dialog: DialogId,
        msg: Msg,
    },
    MarkRead {
        dialog: DialogId,
        user: UserId,
    },
    Leave {
        dialog: DialogId,
        user: UserId,
    },
}

fn new_dialog(kind: u8, others: &[UserId], name: &str) -> NewDialog {
    match kind {
        1 => NewDialog::public(name),
        2 => NewDialog::group(name, others.iter().copied()),
        _ => NewDialog::private(others[0]),
    }
}

impl Op {
    /// The name a created dialog gets: fixed by the operation, so the model knows it.
    fn name(owner: UserId, others: &[UserId]) -> String {
        format!("d{}-{}", owner, others.len())
    }

    /// Runs the operation on the store; the id of the dialog it created or wrote to.
    fn run(&self, store: &DialogStore) -> Result<DialogId, dialogstore::Error> {
        match self {
            Op::Create { owner, kind, others } => {
                let new = new_dialog(*kind, others, &Op::name(*owner, others));
                store.create_dialog(*owner, new).map(|d| d.id)
            }
            Op::GroupWithMessages { owner, others, messages } => store.write(|b| {
                let new = new_dialog(2, others, &Op::name(*owner, others));
                let id = b.create_dialog(*owner, new)?.id;
                for m in messages {
                    b.record_message(id, m.sender, m.meta())?;
                }
                Ok(id)
            }),
            Op::Message { dialog, msg } => {
                store.record_message(*dialog, msg.sender, msg.meta()).map(|()| *dialog)
            }
            Op::MarkRead { dialog, user } => store.mark_read(*dialog, *user).map(|()| *dialog),
            Op::Leave { dialog, user } => {
                store.delete_dialogs(*user, &[*dialog], false).map(|()| *dialog)
            }
        }
    }

    /// Applies the operation to the model at time `now`; `id` is the dialog the store created.
    fn apply(&self, model: &mut Model, now: i64, id: Option<DialogId>) -> Result<(), String> {
        let env = dialogstore_testkit::fuzzing::Env { now, app_id: APP_ID, muc: MUC };
        let out = match self {
            Op::Create { owner, kind, others } => model
                .create(&env, *owner, &new_dialog(*kind, others, &Op::name(*owner, others)), id)
                .map(drop),
            Op::GroupWithMessages { owner, others, messages } => {
                let new = new_dialog(2, others, &Op::name(*owner, others));
                model.create(&env, *owner, &new, id).and_then(|d| {
                    messages.iter().try_for_each(|m| model.message(&env, d.id, m.sender, &m.meta()))
                })
            }
            Op::Message { dialog, msg } => model.message(&env, *dialog, msg.sender, &msg.meta()),
            Op::MarkRead { dialog, user } => model.mark_read(*dialog, *user),
            Op::Leave { dialog, user } => model.delete(&env, *user, &[*dialog], false),
        };
        out.map_err(|code| format!("the model refuses {self:?}: {code}"))
    }
}

// ---- the child ----

/// A live dialog as the child knows it, to pick its next operation.
struct Live {
    id: DialogId,
    kind: DialogType,
    occupants: Vec<UserId>,
}

/// Every live dialog (each is one some user of [`USERS`] sees), in id order.
fn live_dialogs(store: &DialogStore) -> Vec<Live> {
    let mut live = Vec::new();
    store
        .for_each_dialog(|d| {
            live.push(Live { id: d.id, kind: d.dialog_type, occupants: d.occupants_ids.to_vec() });
            Ok(())
        })
        .expect("for_each_dialog");
    live.sort_by_key(|l| l.id);
    live
}

fn some_users(rng: &mut Rng, max: u64) -> Vec<UserId> {
    (0..1 + rng.below(max)).map(|_| UserId(*rng.pick(&USERS))).collect()
}

fn choose(rng: &mut Rng, live: &[Live], tag: &str, now: i64) -> Op {
    let msg = |rng: &mut Rng, sender: UserId| Msg {
        sender,
        id: format!("{tag}-{}", rng.below(1 << 40)),
        // Mostly newer than everything so far; one in ten older than the dialog's last message.
        date_sent: if rng.percent(10) { now - 1 - rng.below(500) as i64 } else { now },
        chars: if rng.percent(10) {
            1_000 + rng.below(100) as usize
        } else {
            rng.below(40) as usize
        },
    };
    let owner = UserId(*rng.pick(&USERS));
    let roll = if live.is_empty() { 0 } else { rng.below(100) };
    if roll < 12 {
        return Op::Create { owner, kind: 2, others: some_users(rng, 3) };
    }
    if roll < 16 {
        // Any user but the owner (`USERS[i]` is `i + 1`): a pair that has its dialog gets it
        // back, with a user who left it restored.
        let peer = USERS[(owner.0 as usize + rng.below(5) as usize) % USERS.len()];
        return Op::Create { owner, kind: 3, others: vec![UserId(peer)] };
    }
    if roll < 19 {
        return Op::Create { owner, kind: 1, others: Vec::new() };
    }
    if roll < 25 {
        let others = some_users(rng, 3);
        let mut all = others.clone();
        all.push(owner);
        let messages = (0..1 + rng.below(3))
            .map(|_| {
                let sender = *rng.pick(&all);
                msg(rng, sender)
            })
            .collect();
        return Op::GroupWithMessages { owner, others, messages };
    }
    let d = rng.pick(live);
    let member = if d.occupants.is_empty() { owner } else { *rng.pick(&d.occupants) };
    match roll {
        25..=74 => Op::Message { dialog: d.id, msg: msg(rng, member) },
        75..=89 => Op::MarkRead { dialog: d.id, user: member },
        _ if d.kind == DialogType::PublicGroup => {
            Op::Message { dialog: d.id, msg: msg(rng, member) }
        }
        _ => Op::Leave { dialog: d.id, user: member },
    }
}

/// The child's side: write until killed, acknowledging each `Ok` on stdout.
#[test]
#[ignore = "the child process of the crash tests, which run it themselves"]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_STORE) else {
        return;
    };
    let seed = env_count(CHILD_SEED, 0);
    let mut now = env_count(CHILD_NOW, T0 as u64) as i64;
    let durability = if std::env::var_os(CHILD_NO_DURABILITY).is_some() {
        Durability::None
    } else {
        Durability::Immediate
    };
    let clock = Arc::new(ManualClock::new(now));
    let store = builder(&clock).durability(durability).open(&path).expect("the child opens");
    let mut live = live_dialogs(&store);
    let mut rng = Rng::new(seed);
    let tag = format!("s{seed}");
    let mut out = std::io::stdout().lock();
    // On a line of its own, whatever the test harness printed before.
    writeln!(out, "\nSTART").and_then(|()| out.flush()).expect("stdout");
    for _ in 0..CHILD_MAX_OPS {
        now += 1;
        clock.set(now);
        let op = choose(&mut rng, &live, &tag, now);
        let json = serde_json::to_string(&op).expect("an op serializes");
        writeln!(out, "DO {now} {json}").and_then(|()| out.flush()).expect("stdout");
        let line = match op.run(&store) {
            Ok(id) => {
                refresh(&store, &mut live, id);
                format!("OK {id}")
            }
            Err(e) => format!("ERR {}", e.code()),
        };
        writeln!(out, "{line}").and_then(|()| out.flush()).expect("stdout");
    }
}

/// Reads a dialog again after a write (as any user who still sees it), or forgets it.
fn refresh(store: &DialogStore, live: &mut Vec<Live>, id: DialogId) {
    live.retain(|d| d.id != id);
    let read = USERS.iter().find_map(|u| store.get(UserId(*u), id).ok());
    if let Some(d) = read {
        live.push(Live { id, kind: d.dialog_type, occupants: d.occupants_ids.to_vec() });
    }
}

// ---- the parent ----

/// What one child wrote, as the parent read it.
#[derive(Default)]
struct Transcript {
    /// (now, op, the store's id) of every acknowledged operation, in order.
    acked: Vec<(i64, Op, DialogId)>,
    /// The operation started and never answered, if any.
    pending: Option<(i64, Op)>,
    /// The clock's last reading.
    now: i64,
}

fn parse_transcript(lines: &[String]) -> Transcript {
    let mut t = Transcript::default();
    for line in lines.iter().skip_while(|l| *l != "START").skip(1) {
        if let Some(rest) = line.strip_prefix("DO ") {
            let (now, json) = rest.split_once(' ').expect("DO <now> <op>");
            let now = now.parse().expect("now");
            t.pending = Some((now, serde_json::from_str(json).expect("op")));
            t.now = now;
        } else if let Some(id) = line.strip_prefix("OK ") {
            let (now, op) = t.pending.take().expect("OK follows DO");
            t.acked.push((now, op, id.parse().expect("id")));
        } else if let Some(code) = line.strip_prefix("ERR ") {
            panic!("the child's {:?} failed with {code}", t.pending);
        }
    }
    t
}

/// Runs a child on the store file until it has acknowledged `acks` writes, waits `delay` more,
/// kills it with SIGKILL and returns every line it printed.
fn run_child(
    path: &Path,
    seed: u64,
    now: i64,
    acks: u64,
    delay: Duration,
    durable: bool,
) -> Vec<String> {
    let mut env = vec![
        (CHILD_STORE, path.display().to_string()),
        (CHILD_SEED, seed.to_string()),
        (CHILD_NOW, now.to_string()),
    ];
    if !durable {
        env.push((CHILD_NO_DURABILITY, "1".into()));
    }
    kill_child("crash_child", &env, acks, delay)
}

/// Checks the reopened store against the acknowledged writes, the one in flight applied or not,
/// and returns the model of what the store holds and whether the write in flight is in it.
fn verify(
    store: &DialogStore,
    model: Model,
    pending: Option<(i64, Op)>,
) -> Result<(Model, bool), String> {
    let without = match agree(store, &model, &USERS.map(UserId)) {
        Ok(()) => return Ok((model, false)),
        Err(e) => e,
    };
    let Some((now, op)) = pending else {
        return Err(format!("an acknowledged write is missing or wrong: {without}"));
    };
    let mut with = model.clone();
    let created = new_ids(store, &model);
    // A create in flight that left no new dialog cannot be applied: the store is not after it.
    match op
        .apply(&mut with, now, created.first().copied())
        .and_then(|()| agree(store, &with, &USERS.map(UserId)))
    {
        Ok(()) => Ok((with, true)),
        Err(e) => Err(format!(
            "the store is neither before nor after the write in flight {op:?}:\n\
             without it: {without}\nwith it: {e}"
        )),
    }
}

fn open(path: &Path, clock: &Arc<ManualClock>) -> DialogStore {
    builder(clock).open(path).expect("reopen after the kill")
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let rounds = env_count("DIALOGSTORE_CRASH_ROUNDS", 20);
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.redb");
    let clock = Arc::new(ManualClock::new(T0));
    let mut rng = Rng::new(0xC4A5_0000);
    let mut model = Model::default();
    let (mut acked, mut in_flight_applied, mut in_flight_lost) = (0, 0, 0);
    for round in 0..rounds {
        let acks = rng.below(30);
        let delay = Duration::from_micros(rng.below(3_000));
        let lines = run_child(&path, round, clock_now(&clock), acks, delay, true);
        let t = parse_transcript(&lines);
        for (now, op, id) in &t.acked {
            op.apply(&mut model, *now, Some(*id)).unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        acked += t.acked.len();
        clock.set(t.now.max(clock_now(&clock)) + 1);

        let store = open(&path, &clock);
        let pending = t.pending.is_some();
        let (after, applied) =
            verify(&store, model, t.pending).unwrap_or_else(|e| panic!("round {round}: {e}"));
        model = after;
        in_flight_applied += u64::from(applied);
        in_flight_lost += u64::from(pending && !applied);

        // The reopened store takes writes: one from the parent, checked by the next round.
        let live = live_dialogs(&store);
        let op = choose(&mut rng, &live, &format!("p{round}"), clock_now(&clock));
        let id =
            op.run(&store).unwrap_or_else(|e| panic!("round {round}: {op:?} after reopening: {e}"));
        op.apply(&mut model, clock_now(&clock), Some(id))
            .expect("the model takes the parent's write");
        clock.advance(1);
    }
    let store = open(&path, &clock);
    agree(&store, &model, &USERS.map(UserId)).expect("the final state");
    eprintln!(
        "crash: {rounds} rounds, {acked} acknowledged writes, the write in flight applied \
         {in_flight_applied} times and absent {in_flight_lost} times, {} dialogs at the end, {:?}",
        model.dialogs.len(),
        started.elapsed()
    );
}

/// The check above would notice lost writes: with `Durability::None` the child's acknowledged
/// writes are gone after the kill, and `verify` says so.
#[test]
fn lost_writes_are_noticed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.redb");
    let clock = Arc::new(ManualClock::new(T0));
    let lines = run_child(&path, 7, T0, 5, Duration::ZERO, false);
    let t = parse_transcript(&lines);
    assert!(t.acked.len() >= 5);
    // The first five acknowledged writes, which any store that kept its acknowledged writes
    // holds. Seed 7's first five (a create, a message, a leave, two messages) leave a dialog;
    // its eighth is the owner leaving, which removes it, so a model of every write the parent
    // happened to read before the kill landed could be empty, and agree with the empty store.
    let mut model = Model::default();
    for (now, op, id) in t.acked.iter().take(5) {
        op.apply(&mut model, *now, Some(*id)).unwrap();
    }
    let store = open(&path, &clock);
    let err = verify(&store, model, None).map(drop).expect_err("lost writes went unnoticed");
    assert!(err.contains("acknowledged write is missing") || err.contains("neither"), "{err}");
    // Nothing of the child's writes is there: the store is as new.
    assert!(live_dialogs(&store).is_empty());
}

fn clock_now(clock: &ManualClock) -> i64 {
    dialogstore::Clock::now(clock)
}
