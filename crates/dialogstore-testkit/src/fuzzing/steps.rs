//! Operation sequences run on the store and the model side by side.
//!
//! Bytes decode into [`Step`]s (so the fuzzer and proptest share one generator): creates,
//! updates, deletes, messages, reads, imports, clock ticks and queries, over 20 users, and
//! batches of writes in one transaction (committed, or ended in an error so none may show).
//! After every write the store's answer must equal the model's (the dialog returned, or the
//! error code); every query must give the same total and the same page, unread counts included,
//! on every access path; and `check_integrity` must stay clean.

use std::sync::Arc;

use super::model::Model;
use super::model_ops::Env;
use dialogstore::Error;
use dialogstore::{ChangeCursor, Clock, DialogStore, FaultyDisk, ManualClock, WriteBatch};
use dialogstore::{Condition, Direction, Field, Op, PathChoice, Query, Scalar, Sort, Value};
use dialogstore::{
    CustomClass, CustomData, DataValue, Dialog, DialogId, DialogType, DialogUpdate, FieldType,
    MessageMeta, NewDialog, UserId,
};

/// Users are 1 to `USERS`.
pub const USERS: u8 = 20;
const T0: i64 = 1_600_000_000;
const APP: u64 = 76730;
const MUC: &str = "muc.chat.quickblox.com";
const NAMES: [&str; 14] = [
    "New Year party",
    "Party people",
    "Доброе утро",
    "ΟΔΟΣ σας",
    "café Crème",
    "Soccer news",
    "soccer",
    "ab",
    "A",
    "Ёлка",
    "Bob's birthday",
    "",
    "PARTY",
    "Chat with Bob, Sam, Garry",
];
const PATTERNS: [&str; 12] =
    ["party", "PA", "a", "утро", "σ", "Crème", "soc", "bob's", "zz", "ёл", "art", "Chat with"];
const DATA_FIELDS: [&str; 5] = ["level", "ratio", "vip", "title", "nope"];

/// Who acts in a step on an existing dialog.
#[derive(Clone, Copy, Debug)]
pub enum Actor {
    /// This user.
    Any(UserId),
    /// The n-th occupant (or admin, or the owner) of the dialog, so the step is allowed more often.
    Member(usize),
}

/// One step of a sequence.
#[derive(Clone, Debug)]
pub enum Step {
    /// `user` creates a dialog.
    Create {
        /// Acting user.
        user: UserId,
        /// What to create.
        new: NewDialog,
    },
    /// `user` updates the `dialog`-th known dialog.
    Update {
        /// Acting user.
        user: Actor,
        /// Index into the known dialog ids.
        dialog: usize,
        /// The change.
        update: DialogUpdate,
    },
    /// `user` deletes known dialogs.
    Delete {
        /// Acting user.
        user: Actor,
        /// Indexes into the known dialog ids.
        dialogs: Vec<usize>,
        /// For everyone.
        force: bool,
    },
    /// `user` posts in a known dialog.
    Message {
        /// Sender.
        user: Actor,
        /// Index into the known dialog ids.
        dialog: usize,
        /// `date_sent` = now minus this.
        back: i64,
    },
    /// `from` messages `to` privately.
    PrivateMessage {
        /// Sender.
        from: UserId,
        /// Recipient.
        to: UserId,
        /// `date_sent` = now minus this.
        back: i64,
    },
    /// `user` reads a known dialog.
    MarkRead {
        /// Reader.
        user: Actor,
        /// Index into the known dialog ids.
        dialog: usize,
    },
    /// A complete dialog is imported.
    Import {
        /// The dialog.
        dialog: Box<Dialog>,
    },
    /// The clock moves on.
    Tick {
        /// Seconds.
        secs: i64,
    },
    /// `viewer` lists dialogs.
    List {
        /// Viewer.
        viewer: UserId,
        /// The query.
        query: Query,
    },
    /// `user`'s client syncs once with `changes_since` (a call of at most `limit` entries);
    /// when it has caught up, its copy must equal the model's listing for the user.
    Sync {
        /// The user whose client syncs.
        user: UserId,
        /// Entries the call may return.
        limit: usize,
    },
    /// Writes run in one [`DialogStore::write`], each compared with the model as it goes (a
    /// refused one writes nothing, and the batch goes on); with `abort` the batch then returns
    /// an error, so none of it may show.
    Batch {
        /// The writes (no queries, ticks or nested batches).
        steps: Vec<Step>,
        /// Whether the batch ends in an error instead of committing.
        abort: bool,
    },
}

/// Reads decisions from fuzz bytes; zeros once they run out.
struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::from(self.byte()) % n
        }
    }

    fn user(&mut self) -> UserId {
        UserId(u64::from(self.byte() % USERS) + 1)
    }

    /// A user who, two times in three, the runner replaces by a member of the dialog acted on.
    fn actor(&mut self) -> Actor {
        match self.below(3) {
            0 => Actor::Any(self.user()),
            _ => Actor::Member(self.below(8)),
        }
    }

    fn users(&mut self, max: usize) -> Vec<UserId> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.user()).collect()
    }

    fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    fn name(&mut self) -> Option<String> {
        match self.below(NAMES.len() + 2) {
            0 => None,
            1 => Some("Я".repeat(201)),
            i => Some(NAMES[i - 2].to_owned()),
        }
    }

    fn data(&mut self) -> Option<CustomData> {
        match self.below(4) {
            0 | 1 => None,
            2 => Some(
                CustomData::new("Free")
                    .field("tag", DataValue::String(["x", "y", "10", "9"][self.below(4)].into())),
            ),
            _ => {
                let mut d = CustomData::new("Score");
                if self.flag() {
                    d = d.field("level", DataValue::Integer(self.below(5) as i64 * 25));
                }
                if self.flag() {
                    d = d.field("ratio", DataValue::Float(self.below(4) as f64 / 2.0));
                }
                if self.flag() {
                    d = d.field("vip", DataValue::Bool(self.flag()));
                }
                if self.flag() {
                    d = d.field(
                        "title",
                        DataValue::String(["gold", "Silver", "b"][self.below(3)].into()),
                    );
                }
                Some(d)
            }
        }
    }
}

/// The domain of values queries draw from: known ids, users, times near the clock, texts.
fn scalar(b: &mut Bytes<'_>, field: &Field, known: &[DialogId], now: i64) -> Scalar {
    match field {
        // A selector the runner binds to a known id (or, one time in four, to no dialog).
        Field::Id => match known.get(b.below(known.len() + 1)) {
            Some(id) => Scalar::Id(*id),
            None => Scalar::Id(DialogId([b.byte(); 12])),
        },
        Field::UserId | Field::LastMessageUserId | Field::OccupantsIds | Field::AdminIds => {
            Scalar::User(UserId(u64::from(b.byte() % (USERS + 2))))
        }
        Field::CreatedAt | Field::UpdatedAt | Field::LastMessageDateSent => {
            Scalar::Time(now - b.below(4000) as i64 + 100)
        }
        Field::Type => Scalar::Type(DialogType::ALL[b.below(3)]),
        Field::IsJoinRequired => Scalar::Bool(b.flag()),
        Field::Name => Scalar::Str(match b.below(3) {
            0 => NAMES[b.below(NAMES.len())].to_owned(),
            _ => PATTERNS[b.below(PATTERNS.len())].to_owned(),
        }),
        Field::DataClassName => Scalar::Str(["Score", "Free", "Other"][b.below(3)].to_owned()),
        // Messages get ids `m{step}`; imported dialogs come with `m0`.
        Field::LastMessageId => Scalar::Str(format!("m{}", b.below(24))),
        Field::Data(name) => Scalar::Str(match name.as_str() {
            "level" => (b.below(6) as i64 * 25).to_string(),
            "ratio" => (b.below(4) as f64 / 2.0).to_string(),
            "vip" => ["true", "false", "1"][b.below(3)].to_owned(),
            _ => ["x", "y", "gold", "10", "9", "Silver", "b"][b.below(7)].to_owned(),
        }),
        _ => Scalar::Str(["hello", "5d755856a0eb47411e0b72a9", "m1", "x"][b.below(4)].to_owned()),
    }
}

const FIELDS: [Field; 16] = [
    Field::Id,
    Field::UserId,
    Field::CreatedAt,
    Field::UpdatedAt,
    Field::Type,
    Field::Name,
    Field::Photo,
    Field::OccupantsIds,
    Field::AdminIds,
    Field::LastMessage,
    Field::LastMessageId,
    Field::LastMessageDateSent,
    Field::LastMessageUserId,
    Field::IsJoinRequired,
    Field::DataClassName,
    Field::XmppRoomJid,
];

fn field(b: &mut Bytes<'_>) -> Field {
    match b.below(FIELDS.len() + 3) {
        i if i < FIELDS.len() => FIELDS[i].clone(),
        _ => Field::Data(DATA_FIELDS[b.below(DATA_FIELDS.len())].to_owned()),
    }
}

fn query(b: &mut Bytes<'_>, known: &[DialogId], now: i64) -> Query {
    let mut q = Query::default();
    for _ in 0..[0, 1, 1, 2, 3][b.below(5)] {
        let field = field(b);
        let allowed: Vec<Op> = Op::ALL.into_iter().filter(|op| field.allows(*op)).collect();
        let op = allowed[b.below(allowed.len())];
        let value = if op.takes_list() {
            Value::List((0..1 + b.below(3)).map(|_| scalar(b, &field, known, now)).collect())
        } else if op == Op::Ctn {
            Value::One(Scalar::Str(PATTERNS[b.below(PATTERNS.len())].to_owned()))
        } else {
            Value::One(scalar(b, &field, known, now))
        };
        q.conditions.push(Condition { field, op, value, span: None });
        if b.below(4) == 0 {
            // Custom fields compare with their types only when the query names the class.
            let class = Scalar::Str("Score".to_owned());
            q.conditions.push(Condition {
                field: Field::DataClassName,
                op: Op::Eq,
                value: Value::One(class),
                span: None,
            });
        }
    }
    if b.below(3) != 0 {
        let field = loop {
            let f = field(b);
            if f.sortable() {
                break f;
            }
        };
        let direction = if b.flag() { Direction::Asc } else { Direction::Desc };
        q.sort = Some(Sort { field, direction });
    }
    q.skip = [0, 0, 1, 3, 10][b.below(5)];
    q.limit = [1, 2, 5, 20, 100][b.below(5)];
    q.count = b.below(8) == 0;
    q.include_unread_message_count = b.below(6) != 0;
    q
}

/// Decodes a sequence of steps from bytes. `known` is how many dialog ids the runner will know
/// by then, for generating `_id` operands; queries about ids use the ids known at decode time.
pub fn decode(data: &[u8]) -> Vec<Step> {
    let mut b = Bytes { data, pos: 0 };
    let mut steps = Vec::new();
    let mut imports = 0u32;
    while !b.done() {
        let step = match b.below(34) {
            32 | 33 => Step::Sync { user: b.user(), limit: 1 + b.below(4) * b.below(4) },
            31 => {
                let n = 2 + b.below(7);
                let steps = (0..n)
                    .map(|_| {
                        let pick = b.below(WRITES);
                        decode_step(&mut b, &mut imports, pick)
                    })
                    .collect();
                Step::Batch { steps, abort: b.below(4) == 0 }
            }
            pick => decode_step(&mut b, &mut imports, pick),
        };
        steps.push(step);
    }
    steps
}

/// The picks of [`decode_step`] below this are writes.
const WRITES: usize = 25;

/// One step of kind `pick`: 0 to 24 a write (see [`WRITES`]), 25 a tick, above a query.
fn decode_step(b: &mut Bytes<'_>, imports: &mut u32, pick: usize) -> Step {
    match pick {
        0..=9 => {
            let user = b.user();
            let kind = match b.below(10) {
                0..=4 => DialogType::Private,
                5..=8 => DialogType::Group,
                _ => DialogType::PublicGroup,
            };
            let mut new = NewDialog::new(kind);
            new.occupants_ids = match kind {
                DialogType::Private if b.below(8) != 0 => vec![b.user()],
                DialogType::PublicGroup if b.below(8) != 0 => vec![],
                _ => b.users(4),
            };
            new.name = b.name();
            new.data = b.data();
            if b.below(4) == 0 {
                new.is_join_required = Some(b.flag());
            }
            Step::Create { user, new }
        }
        10..=15 => Step::Message {
            user: b.actor(),
            dialog: usize::from(b.byte()),
            back: b.below(3) as i64 * 50,
        },
        16..=18 => {
            let mut update = DialogUpdate::default();
            if b.flag() {
                update.name = b.name();
            }
            if b.below(4) == 0 {
                update.photo = Some("p1".into());
            }
            if b.below(4) == 0 {
                update.data = b.data();
            }
            match b.below(5) {
                0 => update.push_all.occupants_ids.0 = b.users(2),
                1 => update.pull_all.occupants_ids.0 = b.users(2),
                2 => update.push_all.admin_ids.0 = b.users(1),
                3 => update.pull_all.admin_ids.0 = b.users(1),
                _ => {}
            }
            Step::Update { user: b.actor(), dialog: usize::from(b.byte()), update }
        }
        19..=20 => {
            let n = 1 + b.below(2);
            let dialogs = (0..n).map(|_| usize::from(b.byte())).collect();
            Step::Delete { user: b.actor(), dialogs, force: b.below(3) == 0 }
        }
        21..=22 => {
            Step::PrivateMessage { from: b.user(), to: b.user(), back: b.below(3) as i64 * 50 }
        }
        23 => Step::MarkRead { user: b.actor(), dialog: usize::from(b.byte()) },
        24 => {
            *imports += 1;
            // Ids anywhere near the generated ones, so `_id` order is not row order.
            let mut id = [0xA0u8; 12];
            let secs = (T0 - 2000 + b.below(4000) as i64) as u32;
            id[..4].copy_from_slice(&secs.to_be_bytes());
            id[4] = b.byte();
            id[8..].copy_from_slice(&imports.to_be_bytes());
            let kind = DialogType::ALL[b.below(3)];
            let owner = b.user();
            let mut occupants = match kind {
                DialogType::PublicGroup => vec![],
                DialogType::Private => vec![owner, b.user()],
                _ => {
                    let mut v = b.users(3);
                    v.push(owner);
                    v
                }
            };
            occupants.sort();
            let created = T0 - 4000 + b.below(4000) as i64;
            let lmds = b.flag().then(|| created + b.below(100) as i64);
            let dialog = Dialog {
                id: DialogId(id),
                user_id: owner,
                created_at: created,
                updated_at: lmds.unwrap_or(created),
                dialog_type: kind,
                name: b.name().filter(|n| n.chars().count() <= 200).map(Into::into),
                photo: None,
                xmpp_room_jid: None,
                occupants_ids: occupants.into(),
                admin_ids: Default::default(),
                last_message: lmds.map(|_| "imported".into()),
                last_message_id: lmds.map(|_| "m0".into()),
                last_message_date_sent: lmds,
                last_message_user_id: lmds.map(|_| owner),
                unread_messages_count: None,
                is_join_required: None,
                data: b.data().map(Arc::new),
            };
            Step::Import { dialog: Box::new(dialog) }
        }
        // Mostly forward; sometimes back, as a wall clock does after a correction.
        25 => Step::Tick { secs: b.below(250) as i64 - 50 },
        _ => {
            let viewer = b.user();
            // Ids for `_id` conditions are filled in by the runner from the dialogs it knows.
            Step::List { viewer, query: query(b, &[], T0) }
        }
    }
}

/// How thoroughly a run checks. Every answer is always compared with the model's; these say how
/// often the expensive whole-store checks run.
#[derive(Clone, Copy, Debug)]
pub struct Checks {
    /// Run `check_integrity` after every `n`-th write step (0: only at the end, where it always
    /// runs).
    pub integrity_every: u32,
    /// Run every `n`-th query on every access path, not only the planner's choice (0: none, 1:
    /// every query).
    pub plans_every: u32,
    /// The store's staging window ([`Builder::staged_rows`](crate::Builder::staged_rows)):
    /// small windows seal often, in the middle of batches and of their aborts.
    pub staged_rows: u32,
    /// A failing disk, from this seed (`None`: a store in memory that never fails): the store
    /// runs on a [`FaultyDisk`] in memory, and about a quarter of the single writes that change
    /// a dialog (messages, updates, deletes, reads) meet a disk that fails from one of their
    /// first I/O calls on, with EIO or as a full disk. Such a write must fail with `STORAGE` or
    /// succeed; once the disk heals the same store takes writes again and holds the model's
    /// state either before the write or after it (a commit whose last sync failed may have
    /// reached the disk), never anything else.
    pub faults: Option<u64>,
}

fn same<T: PartialEq + std::fmt::Debug>(
    stats: &mut Stats,
    what: &str,
    store: Result<T, dialogstore::Error>,
    model: Result<T, &'static str>,
) -> Result<(), String> {
    match (store, model) {
        (Ok(a), Ok(b)) if a == b => {
            stats.writes_ok += 1;
            Ok(())
        }
        (Err(e), Err(c)) if e.code() == c => {
            stats.writes_refused += 1;
            Ok(())
        }
        // The disk failed under it: the runner decides what the store holds once it heals.
        (Err(e), _) if e.code() == "STORAGE" => {
            stats.storage_failures += 1;
            Ok(())
        }
        (s, m) => Err(format!("{what}: store {s:?}, model {m:?}")),
    }
}

/// Replaces the `_id` operands of decoded queries (selectors) with ids the runner knows, one
/// time in four with an id of no dialog.
fn bind_ids(query: &mut Query, known: &[DialogId]) {
    for c in &mut query.conditions {
        let scalars = match &mut c.value {
            Value::One(s) => std::slice::from_mut(s),
            Value::List(v) => v.as_mut_slice(),
        };
        for s in scalars {
            if let Scalar::Id(id) = s {
                let selector = usize::from(id.0[0]);
                if selector % 4 != 0 {
                    if let Some(k) = known.get(selector % known.len().max(1)) {
                        *id = *k;
                    }
                }
            }
        }
    }
}

/// What a run exercised, to show that a passing run tested something.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Writes that succeeded.
    pub writes_ok: u64,
    /// Writes refused (the same way by store and model).
    pub writes_refused: u64,
    /// Queries answered.
    pub queries: u64,
    /// Queries whose page held at least one dialog.
    pub queries_nonempty: u64,
    /// Queries refused.
    pub queries_refused: u64,
    /// Live dialogs at the end.
    pub dialogs: u64,
    /// Batches committed.
    pub batches: u64,
    /// Batches that ended in an error (nothing of them may show).
    pub batches_aborted: u64,
    /// Writes that succeeded inside batches (of either kind).
    pub batch_writes_ok: u64,
    /// Write steps run (single writes and batches).
    pub write_steps: u64,
    /// List steps run.
    pub lists: u64,
    /// Operations that failed with `STORAGE` (a failing disk).
    pub storage_failures: u64,
    /// Writes that met the failing disk: found absent, and found committed, once it healed.
    pub faults_absent: u64,
    pub faults_present: u64,
    /// `changes_since` calls, and clients found caught up and equal to the model.
    pub syncs: u64,
    pub syncs_caught_up: u64,
    /// Queries paged to the end by keyset cursor and found equal to the model's answer.
    pub keyset_walks: u64,
}

/// The runner's side of the comparison: the model, the dialog ids seen, the counts.
struct Side<'a> {
    model: &'a mut Model,
    known: &'a mut Vec<DialogId>,
    stats: &'a mut Stats,
    env: &'a Env<'a>,
}

impl Side<'_> {
    /// The `i`-th known dialog (the default id when none is known).
    fn pick(&self, i: usize) -> DialogId {
        self.known.get(i % self.known.len().max(1)).copied().unwrap_or_default()
    }

    /// The user an actor names in dialog `id`, as the model has it.
    fn resolve(&self, actor: Actor, id: DialogId) -> UserId {
        match actor {
            Actor::Any(u) => u,
            Actor::Member(k) => match self.model.get(id) {
                Some(d) => {
                    let members: Vec<UserId> = d
                        .occupants_ids
                        .iter()
                        .chain(d.admin_ids.iter())
                        .copied()
                        .chain([d.user_id])
                        .collect();
                    members[k % members.len()]
                }
                None => UserId(1),
            },
        }
    }

    /// Runs write step `n` on `w` and on the model; `Err` when they disagree.
    fn write(
        &mut self,
        w: &mut WriteBatch<'_, '_>,
        n: usize,
        step: &Step,
        what: &str,
    ) -> Result<(), String> {
        let env = self.env;
        match step {
            Step::Create { user, new } => {
                let got = w.create_dialog(*user, new.clone());
                let want = self.model.create(env, *user, new, got.as_ref().ok().map(|d| d.id));
                if let Ok(d) = &got {
                    self.known.push(d.id);
                }
                same(self.stats, what, got, want)
            }
            Step::Update { user, dialog, update } => {
                let id = self.pick(*dialog);
                let user = self.resolve(*user, id);
                same(
                    self.stats,
                    what,
                    w.update_dialog(user, id, update.clone()),
                    self.model.update(env, user, id, update),
                )
            }
            Step::Delete { user, dialogs, force } => {
                let ids: Vec<DialogId> = dialogs.iter().map(|i| self.pick(*i)).collect();
                let user = self.resolve(*user, ids[0]);
                if ids.iter().any(|id| *id == DialogId::default()) {
                    return Ok(());
                }
                same(
                    self.stats,
                    what,
                    w.delete_dialogs(user, &ids, *force),
                    self.model.delete(env, user, &ids, *force),
                )
            }
            Step::Message { user, dialog, back } => {
                let id = self.pick(*dialog);
                let user = self.resolve(*user, id);
                let msg = MessageMeta {
                    id: format!("m{n}"),
                    text: format!("hello {n}"),
                    date_sent: env.now - back,
                };
                same(
                    self.stats,
                    what,
                    w.record_message(id, user, msg.clone()),
                    self.model.message(env, id, user, &msg),
                )
            }
            Step::PrivateMessage { from, to, back } => {
                let msg = MessageMeta {
                    id: format!("m{n}"),
                    text: format!("hi {n}"),
                    date_sent: env.now - back,
                };
                let got = w.record_private_message(*from, *to, msg.clone());
                let want = self.model.private_message(
                    env,
                    *from,
                    *to,
                    &msg,
                    got.as_ref().ok().map(|d| d.id),
                );
                if let Ok(d) = &got {
                    if !self.known.contains(&d.id) {
                        self.known.push(d.id);
                    }
                }
                same(self.stats, what, got, want)
            }
            Step::MarkRead { user, dialog } => {
                let id = self.pick(*dialog);
                let user = self.resolve(*user, id);
                same(self.stats, what, w.mark_read(id, user), self.model.mark_read(id, user))
            }
            Step::Import { dialog } => {
                let got = w.import((**dialog).clone());
                let want = self.model.import(env, dialog);
                if got.is_ok() {
                    self.known.push(dialog.id);
                }
                same(self.stats, what, got, want)
            }
            Step::Tick { .. } | Step::List { .. } | Step::Batch { .. } | Step::Sync { .. } => {
                Err(format!("{what}: not a write"))
            }
        }
    }
}

/// Runs `steps` on a new in-memory store and on the model; `Err` describes the first
/// disagreement.
pub fn run(steps: &[Step], checks: Checks) -> Result<Stats, String> {
    let mut stats = Stats::default();
    let clock = Arc::new(ManualClock::new(T0));
    let builder = DialogStore::builder()
        .app_id(APP)
        .muc_domain(MUC)
        .clock(clock.clone())
        .staged_rows(checks.staged_rows);
    let disk = checks.faults.map(|seed| (FaultyDisk::in_memory(), seed));
    let store = match &disk {
        Some((disk, _)) => builder.open_faulty(disk),
        None => builder.in_memory(),
    }
    .map_err(|e| e.to_string())?;
    let score = CustomClass::new("Score")
        .field("level", FieldType::Integer)
        .field("ratio", FieldType::Float)
        .field("vip", FieldType::Boolean)
        .field("title", FieldType::String);
    store.declare_class(&score).map_err(|e| e.to_string())?;
    let mut model = Model::default();
    model.classes.insert(score.name.clone(), score);
    let mut known: Vec<DialogId> = Vec::new();
    let mut clients: std::collections::HashMap<UserId, Client> = Default::default();
    for (n, step) in steps.iter().enumerate() {
        let env = Env { now: clock.now(), app_id: APP, muc: MUC };
        let what = format!("step {n} {step:?}");
        let mut side = Side { model: &mut model, known: &mut known, stats: &mut stats, env: &env };
        match step {
            Step::Batch { steps: writes, abort } => {
                let before = side.model.clone();
                let ok_before = side.stats.writes_ok;
                let mut problem = None;
                let out = store.write(|batch| {
                    for (i, write) in writes.iter().enumerate() {
                        let what = format!("{what}, write {i} in the batch");
                        if let Err(p) = side.write(batch, n, write, &what) {
                            problem = Some(p);
                            break;
                        }
                    }
                    if *abort {
                        Err(Error::DialogIdEmpty)
                    } else {
                        Ok(())
                    }
                });
                if let Some(problem) = problem {
                    return Err(problem);
                }
                match (out, abort) {
                    (Ok(()), false) => side.stats.batches += 1,
                    (Err(Error::DialogIdEmpty), true) => {
                        *side.model = before;
                        side.stats.batches_aborted += 1;
                    }
                    (out, _) => return Err(format!("{what}: the batch ended {out:?}")),
                }
                side.stats.batch_writes_ok += side.stats.writes_ok - ok_before;
            }
            Step::Tick { secs } => clock.advance(*secs),
            Step::Sync { user, limit } => {
                let client = clients.entry(*user).or_default();
                if !client
                    .sync(&store, *user, *limit, &mut stats)
                    .map_err(|e| format!("{what}: {e}"))?
                {
                    client
                        .agrees(&store, &model, *user, &mut stats)
                        .map_err(|e| format!("{what}: {e}"))?;
                }
            }
            Step::List { viewer, query } => {
                let mut query = query.clone();
                bind_ids(&mut query, &known);
                let want = model.list(*viewer, &query);
                stats.lists += 1;
                let every =
                    checks.plans_every > 0 && stats.lists % u64::from(checks.plans_every) == 0;
                let choices: &[PathChoice] =
                    if every { &PathChoice::ALL } else { &[PathChoice::Auto] };
                for choice in choices {
                    let got = store.with_path_choice(*choice).list_dialogs(*viewer, &query);
                    match (&got, &want) {
                        (Ok(page), Ok((total, items)))
                            if page.total_entries == *total && page.items == *items =>
                        {
                            stats.queries += 1;
                            stats.queries_nonempty += u64::from(!items.is_empty());
                        }
                        (Err(e), Err(c)) if e.code() == *c => stats.queries_refused += 1,
                        _ => {
                            let plan = store
                                .with_path_choice(*choice)
                                .explain(*viewer, &query)
                                .map(|e| e.to_string());
                            return Err(format!(
                                "{what} via {choice:?}: store {:?}\nmodel {:?}\nplan {:?}",
                                got.map(|p| (
                                    p.total_entries,
                                    p.items.iter().map(|d| d.id).collect::<Vec<_>>()
                                )),
                                want.as_ref()
                                    .map(|(t, i)| (*t, i.iter().map(|d| d.id).collect::<Vec<_>>())),
                                plan
                            ));
                        }
                    }
                }
                // Every page by keyset cursor, on every path: the model's whole answer.
                if (every || stats.lists % 8 == 0) && !query.count && query.cursor.is_none() {
                    if let Ok((total, _)) = &want {
                        let all = model_pages(&model, *viewer, &query, *total)?;
                        for choice in choices {
                            let store = store.with_path_choice(*choice);
                            let got = keyset_pages(&store, *viewer, &query)
                                .map_err(|e| format!("{what} by cursor via {choice:?}: {e}"))?;
                            if got != all {
                                let ids = |v: &[Dialog]| v.iter().map(|d| d.id).collect::<Vec<_>>();
                                return Err(format!(
                                    "{what} by cursor via {choice:?}: store {:?}\nmodel {:?}",
                                    ids(&got),
                                    ids(&all)
                                ));
                            }
                            stats.keyset_walks += 1;
                        }
                    }
                }
            }
            write => {
                // A write on its own, as DialogStore's write methods run it: a transaction of
                // one operation, whose refusal is the transaction's error.
                let refused = side.stats.writes_refused;
                let failures = side.stats.storage_failures;
                let fault = disk.as_ref().filter(|(_, seed)| arms_fault(write, *seed, n));
                let before = fault.map(|_| side.model.clone());
                if let Some((disk, seed)) = fault {
                    let from = (seed >> 8).wrapping_add(n as u64) % 12;
                    if seed & 0x80 == 0 {
                        disk.fail_from(from);
                    } else {
                        disk.fill_from(from);
                    }
                }
                let mut outcome = Ok(());
                let out = store.write(|batch| {
                    outcome = side.write(batch, n, write, &what);
                    if side.stats.writes_refused > refused {
                        Err(Error::DialogIdEmpty)
                    } else {
                        Ok(())
                    }
                });
                outcome?;
                let failed = side.stats.storage_failures > failures
                    || matches!(&out, Err(e) if e.code() == "STORAGE");
                if let (Some((disk, _)), Some(before)) = (fault, before) {
                    disk.heal();
                    if failed {
                        heal(&store, side.model, before, side.stats, &what)?;
                        continue;
                    }
                }
                if let (Err(e), false) = (&out, side.stats.writes_refused > refused) {
                    return Err(format!("{what}: the transaction failed: {e}"));
                }
            }
        }
        if !matches!(step, Step::List { .. } | Step::Tick { .. } | Step::Sync { .. }) {
            stats.write_steps += 1;
            let every = checks.integrity_every;
            if every > 0 && stats.write_steps % u64::from(every) == 0 {
                integrity(&store, &what)?;
            }
        }
    }
    integrity(&store, "end")?;
    // Every client catches up and holds the model's listing; so does one that starts now, for
    // a few users (each costs a first sync of the whole store on both paths).
    for n in 1..=u64::from(USERS) {
        let user = UserId(n);
        let fresh = (n <= 3).then(Client::default);
        for client in clients.remove(&user).into_iter().chain(fresh) {
            let mut client = client;
            let mut calls = 0;
            while client.sync(&store, user, 7, &mut stats).map_err(|e| format!("end: {e}"))? {
                calls += 1;
                if calls > 10_000 {
                    return Err(format!("end: user {user}'s client never caught up"));
                }
            }
            client.agrees(&store, &model, user, &mut stats).map_err(|e| format!("end: {e}"))?;
        }
    }
    // Every dialog the model holds reads the same through get_dialog, unread count included.
    for d in &model.dialogs {
        let viewer = d.occupants_ids.first().copied().unwrap_or(d.user_id);
        let mut want = d.clone();
        want.unread_messages_count = Some(if d.dialog_type == DialogType::PublicGroup {
            0
        } else {
            model.unread_of(viewer, d.id)
        });
        let got = store
            .get_dialog(viewer, &d.id.to_string())
            .map_err(|e| format!("get {}: {e}", d.id))?;
        if got != want {
            return Err(format!("get {}: store {got:?}, model {want:?}", d.id));
        }
    }
    stats.dialogs = model.dialogs.len() as u64;
    Ok(stats)
}

/// Every dialog `query` (without a cursor) matches for `viewer` in the model, in order.
fn model_pages(
    model: &Model,
    viewer: UserId,
    query: &Query,
    total: u64,
) -> Result<Vec<Dialog>, String> {
    let mut all = Vec::new();
    while (all.len() as u64) < total {
        let q = Query { skip: all.len() as u32, ..query.clone() };
        let (_, items) = model.list(viewer, &q).map_err(|e| e.to_owned())?;
        if items.is_empty() {
            break;
        }
        all.extend(items);
    }
    Ok(all)
}

/// Every page of `query` from the store by keyset cursor (the query's `skip` ignored).
fn keyset_pages(store: &DialogStore, viewer: UserId, query: &Query) -> Result<Vec<Dialog>, String> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    for _ in 0..10_000 {
        let q = Query { skip: 0, cursor: Some(cursor), ..query.clone() };
        let page = store.list_dialogs(viewer, &q).map_err(|e| e.to_string())?;
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = next,
            None => return Ok(all),
        }
    }
    Err("the cursor pages never ended".into())
}

/// A client of the change feed: its cursor and its copy of one user's dialogs.
#[derive(Default)]
struct Client {
    cursor: ChangeCursor,
    copy: std::collections::BTreeMap<DialogId, Dialog>,
}

impl Client {
    /// One `changes_since` call, applied (its cursor also through its text form); whether more
    /// changes are waiting.
    fn sync(
        &mut self,
        store: &DialogStore,
        user: UserId,
        limit: usize,
        stats: &mut Stats,
    ) -> Result<bool, String> {
        let ch = store
            .changes_since(user, &self.cursor, limit)
            .map_err(|e| format!("changes_since as {user}: {e}"))?;
        stats.syncs += 1;
        // The user's feed and the walk of the whole log give the same entries (where the
        // answer ends may differ: the walk cannot tell that what is left is others').
        let oracle = store.with_path_choice(PathChoice::FullScan);
        let whole = oracle
            .changes_since(user, &self.cursor, limit)
            .map_err(|e| format!("changes_since as {user} on the whole log: {e}"))?;
        let same = whole.dialogs == ch.dialogs && whole.removed == ch.removed;
        if !same || (ch.has_more && !whole.has_more) {
            return Err(format!("changes_since as {user}: feed {ch:?}, whole log {whole:?}"));
        }
        if ch.dialogs.len() + ch.removed.len() > limit {
            return Err(format!("changes_since as {user}: more than {limit} entries"));
        }
        for d in ch.dialogs {
            self.copy.insert(d.id, d);
        }
        for id in ch.removed {
            self.copy.remove(&id);
        }
        self.cursor = ch.next.to_string().parse().map_err(|e| format!("cursor: {e}"))?;
        Ok(ch.has_more)
    }

    /// The copy is the model's listing for `user`, unread counts included.
    fn agrees(
        &self,
        store: &DialogStore,
        model: &Model,
        user: UserId,
        stats: &mut Stats,
    ) -> Result<(), String> {
        let q: Query = "limit=100".parse().map_err(|e| format!("{e}"))?;
        let (total, _) = model.list(user, &q).map_err(|e| e.to_owned())?;
        let mut want = std::collections::BTreeMap::new();
        let mut skip = 0;
        while skip < total {
            let q: Query = format!("limit=100&skip={skip}").parse().map_err(|e| format!("{e}"))?;
            for d in model.list(user, &q).map_err(|e| e.to_owned())?.1 {
                want.insert(d.id, d);
            }
            skip += 100;
        }
        if self.copy != want {
            let extra: Vec<_> = self.copy.keys().filter(|id| !want.contains_key(id)).collect();
            let missing: Vec<_> = want.keys().filter(|id| !self.copy.contains_key(id)).collect();
            let stale: Vec<_> = want
                .iter()
                .filter(|(id, d)| self.copy.get(id).is_some_and(|c| c != *d))
                .map(|(id, d)| (id, d, self.copy.get(id)))
                .collect();
            return Err(format!(
                "user {user}'s synced copy differs from the listing: extra {extra:?}, missing \
                 {missing:?}, stale {stale:#?}"
            ));
        }
        // The user's unread total, kept by the store, is the sum over what they see.
        let total: u64 =
            want.values().map(|d| u64::from(d.unread_messages_count.unwrap_or(0))).sum();
        let kept = store.unread_counts(user, &[]).map_err(|e| format!("unread_counts: {e}"))?;
        if kept.total != total
            || kept
                .dialogs
                .iter()
                .any(|(id, n)| want.get(id).and_then(|d| d.unread_messages_count) != Some(*n))
        {
            return Err(format!("user {user}'s unread counts {kept:?}, the listing sums {total}"));
        }
        stats.syncs_caught_up += 1;
        Ok(())
    }
}

/// Whether write step `n` meets a failing disk, for the fault seed `seed`: about a quarter of
/// the writes that change an existing dialog (whose model after the write is known without the
/// store's answer).
fn arms_fault(step: &Step, seed: u64, n: usize) -> bool {
    let changes = matches!(
        step,
        Step::Message { .. } | Step::Update { .. } | Step::Delete { .. } | Step::MarkRead { .. }
    );
    changes && (seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 61 < 2
}

/// After a write failed with `STORAGE` and the disk healed: the same store writes again (a sync
/// opens the file again), and holds the model `before` the write or `after` it (a commit whose
/// last sync failed may have reached the disk); `after` is what `model` holds now.
fn heal(
    store: &DialogStore,
    model: &mut Model,
    before: Model,
    stats: &mut Stats,
    what: &str,
) -> Result<(), String> {
    store.sync().map_err(|e| format!("{what}: sync once the disk healed: {e}"))?;
    if holds(store, &before)? {
        *model = before;
        stats.faults_absent += 1;
        return Ok(());
    }
    if holds(store, model)? {
        stats.faults_present += 1;
        return Ok(());
    }
    Err(format!(
        "{what}: after the failed write the store holds neither the state before it nor after it"
    ))
}

/// Whether every user's whole inbox (unread counts included) is the model's.
fn holds(store: &DialogStore, model: &Model) -> Result<bool, String> {
    for user in 1..=u64::from(USERS) {
        let user = UserId(user);
        let mut skip = 0;
        loop {
            let query: Query =
                format!("limit=100&skip={skip}").parse().map_err(|e| format!("{e}"))?;
            let want = model.list(user, &query).map_err(str::to_owned)?;
            let page = store.list_dialogs(user, &query).map_err(|e| format!("list: {e}"))?;
            if page.total_entries != want.0 || page.items != want.1 {
                return Ok(false);
            }
            skip += 100;
            if skip >= want.0 {
                break;
            }
        }
    }
    Ok(true)
}

fn integrity(store: &DialogStore, what: &str) -> Result<(), String> {
    match store.check_integrity() {
        Ok(report) if report.is_clean() => Ok(()),
        Ok(report) => Err(format!("after {what}: {report}")),
        Err(e) => Err(format!("after {what}: check_integrity failed: {e}")),
    }
}
