//! Shared by every integration test: QuickBlox's example bodies, a store on a manual clock, and the
//! assertions that a refused call changed nothing.
//!
//! Each file in `tests/` is its own crate and uses only part of this module.
#![allow(dead_code)]

use std::fmt::Debug;
use std::ops::Deref;
use std::sync::Arc;

use dialogstore::Query;
use dialogstore::{
    Dialog, DialogId, DialogStore, Error, ManualClock, MessageMeta, NewDialog, UserId,
};
use dialogstore_testkit::fuzzing::model::Model;
use serde_json::Value;

// ---- QuickBlox's examples ----

/// QuickBlox's create-dialog page: the private dialog body.
pub const PRIVATE_BODY: &str = r#"{
  "type":3,
  "occupants_ids":"102433721"
}"#;

/// QuickBlox's create-dialog page: the public dialog body.
pub const PUBLIC_BODY: &str = r#"{
  "type":1,
  "name":"Soccer news",
  "photo":"67834"
}"#;

/// QuickBlox's create-dialog page: the group dialog body.
pub const GROUP_BODY: &str = r#"{
  "type":2,
  "name":"New Year party",
  "occupants_ids":"96831397,96831328,96830631,96754523",
  "photo":"68123"
}"#;

/// QuickBlox's create-dialog page: the group dialog with custom data, as the page prints it,
/// trailing comma included (not valid JSON).
pub const GROUP_DATA_BODY_AS_PRINTED: &str = r#"{
  "type":2,
  "name":"Chat with Bob, Sam, Garry",
  "occupants_ids":"96754523,96830631,96831328",
  "data":{
      "class_name":"ScoreTable",
      "game_mode_name":"rainbow dash",
      "expert_mode":"3",
      "progress":"56",
  }
}"#;

/// The same body with the trailing comma removed.
pub const GROUP_DATA_BODY: &str = r#"{
  "type":2,
  "name":"Chat with Bob, Sam, Garry",
  "occupants_ids":"96754523,96830631,96831328",
  "data":{
      "class_name":"ScoreTable",
      "game_mode_name":"rainbow dash",
      "expert_mode":"3",
      "progress":"56"
  }
}"#;

/// QuickBlox's create-dialog page: the response shown for the private body (every key a create
/// response must carry).
pub const CREATE_RESPONSE: &str = r#"{
  "_id": "5e261c72a28f9a4f779f10bb",
  "created_at": "2020-01-20T21:32:34Z",
  "last_message": "Hello world",
  "last_message_date_sent": 1597748932,
  "last_message_id": "5f3bb6c4a28f9a69552944d1",
  "last_message_user_id": 102433734,
  "name": "Bob",
  "occupants_ids": [
    102433721,
    102433734
  ],
  "photo": null,
  "type": 3,
  "updated_at": "2020-08-18T11:08:52Z",
  "user_id": 102433721,
  "xmpp_room_jid": null,
  "unread_messages_count": null
}"#;

/// QuickBlox's list-dialogs page: the first item.
pub const LIST_ITEM_1: &str = r#"{
  "_id": "5d75393ba28f9a17e1cb0f9e",
  "created_at": "2019-09-08T17:24:11Z",
  "last_message": "sure, I can wait",
  "last_message_date_sent": 1567971414,
  "last_message_id": "5d755856a0eb47411e0b72a9",
  "last_message_user_id": 96753878,
  "name": "New Year party",
  "occupants_ids": [
    96753878,
    96754523,
    96830631,
    96831328,
    96831397
  ],
  "photo": "68123",
  "type": 2,
  "updated_at": "2019-09-08T19:36:54Z",
  "user_id": 96753878,
  "xmpp_room_jid": "76730_5d75393ba28f9a17e1cb0f9e@muc.chat.quickblox.com",
  "unread_messages_count": 0
}"#;

/// QuickBlox's list-dialogs page: the second item.
pub const LIST_ITEM_2: &str = r#"{
  "_id": "5d753421a28f9a2596cb0f98",
  "created_at": "2019-09-08T17:02:26Z",
  "last_message": "let's do it at 7pm",
  "last_message_date_sent": 1567971391,
  "last_message_id": "5d75583fa0eb473c350b72ab",
  "last_message_user_id": 96753878,
  "name": "Daniel's birthday",
  "occupants_ids": [
    96753878,
    96754523,
    96830631,
    96831328,
    96831397
  ],
  "photo": "68123",
  "type": 2,
  "updated_at": "2019-09-08T19:36:31Z",
  "user_id": 96753878,
  "xmpp_room_jid": "76730_5d753421a28f9a2596cb0f98@muc.chat.quickblox.com",
  "unread_messages_count": 0
}"#;

// ---- users and times from QuickBlox's examples ----

/// The owner of QuickBlox's example list items.
pub const OWNER: UserId = UserId(96753878);
/// The other occupants of QuickBlox's example group dialogs.
pub const A: UserId = UserId(96754523);
pub const B: UserId = UserId(96830631);
pub const C: UserId = UserId(96831328);
pub const D: UserId = UserId(96831397);
/// The private dialog's creator and opponent on QuickBlox's create-dialog page.
pub const ME: UserId = UserId(102433734);
pub const BOB: UserId = UserId(102433721);
/// Someone in no dialog.
pub const STRANGER: UserId = UserId(7);

/// 2020-01-20T21:32:34Z, the second in the create example's `_id` (`5e261c72...`).
pub const T0: i64 = 1_579_555_954;
pub const T0_ISO: &str = "2020-01-20T21:32:34Z";

/// The application id and MUC domain of QuickBlox's examples.
pub const APP_ID: u64 = 76730;
pub const MUC: &str = "muc.chat.quickblox.com";

// ---- a store on a manual clock ----

/// An in-memory store whose clock the test moves. Derefs to the store.
pub struct Env {
    pub store: DialogStore,
    pub clock: Arc<ManualClock>,
}

impl Env {
    /// A store with QuickBlox's example app id and MUC domain, its clock at [`T0`].
    pub fn new() -> Env {
        Env::at(T0)
    }

    /// The same, its clock at `secs`.
    pub fn at(secs: i64) -> Env {
        let clock = Arc::new(ManualClock::new(secs));
        let store = builder(&clock).in_memory().expect("in-memory store");
        Env { store, clock }
    }

    /// Moves the clock forward and returns the new time.
    pub fn tick(&self, secs: i64) -> i64 {
        self.clock.advance(secs);
        self.now()
    }

    pub fn now(&self) -> i64 {
        dialogstore::Clock::now(&*self.clock)
    }
}

impl Deref for Env {
    type Target = DialogStore;
    fn deref(&self) -> &DialogStore {
        &self.store
    }
}

/// The builder every test store uses: QuickBlox's example app id and MUC domain, the given clock.
pub fn builder(clock: &Arc<ManualClock>) -> dialogstore::Builder {
    DialogStore::builder().app_id(APP_ID).muc_domain(MUC).clock(clock.clone())
}

/// Short forms of calls the tests make often.
pub trait StoreExt {
    /// `get_dialog` with a typed id.
    fn get(&self, user: UserId, id: DialogId) -> Result<Dialog, Error>;
    /// The user's unread count in a dialog, as `get_dialog` reports it.
    fn unread(&self, user: UserId, id: DialogId) -> u32;
    /// A group dialog named "Team" created by `owner` with `others`.
    fn group(&self, owner: UserId, others: &[UserId]) -> Dialog;
    /// A public dialog named "News" created by `owner`.
    fn public(&self, owner: UserId) -> Dialog;
    /// A private dialog created by `me` with `opponent`.
    fn private(&self, me: UserId, opponent: UserId) -> Dialog;
    /// Records a message with the given id and `date_sent`.
    fn post(&self, id: DialogId, sender: UserId, msg_id: &str, date_sent: i64);
}

impl StoreExt for DialogStore {
    fn get(&self, user: UserId, id: DialogId) -> Result<Dialog, Error> {
        self.get_dialog(user, &id.to_string())
    }

    fn unread(&self, user: UserId, id: DialogId) -> u32 {
        self.get(user, id)
            .expect("get_dialog")
            .unread_messages_count
            .expect("get_dialog carries the unread count")
    }

    fn group(&self, owner: UserId, others: &[UserId]) -> Dialog {
        self.create_dialog(owner, NewDialog::group("Team", others.iter().copied()))
            .expect("create group")
    }

    fn public(&self, owner: UserId) -> Dialog {
        self.create_dialog(owner, NewDialog::public("News")).expect("create public")
    }

    fn private(&self, me: UserId, opponent: UserId) -> Dialog {
        self.create_dialog(me, NewDialog::private(opponent)).expect("create private")
    }

    fn post(&self, id: DialogId, sender: UserId, msg_id: &str, date_sent: i64) {
        self.record_message(id, sender, msg(msg_id, "hello", date_sent)).expect("record_message")
    }
}

/// A message's metadata.
pub fn msg(id: &str, text: &str, date_sent: i64) -> MessageMeta {
    MessageMeta { id: id.to_owned(), text: text.to_owned(), date_sent }
}

/// A dialog id that no store has handed out.
pub fn unknown_id() -> DialogId {
    "0123456789abcdef01234567".parse().expect("valid id")
}

// ---- "nothing changed" ----

/// Runs `op` and asserts that every table of the store is as it was before.
#[track_caller]
pub fn unchanged<T>(store: &DialogStore, op: impl FnOnce() -> T) -> T {
    let before = store.debug_dump().expect("debug_dump before");
    let out = op();
    let after = store.debug_dump().expect("debug_dump after");
    assert_eq!(before, after, "the call changed the store");
    out
}

/// Runs `op`, asserts that it failed and that it changed nothing, and returns its error.
#[track_caller]
pub fn assert_unchanged<T: Debug>(
    store: &DialogStore,
    op: impl FnOnce() -> Result<T, Error>,
) -> Error {
    match unchanged(store, op) {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e,
    }
}

/// [`assert_unchanged`], and the error has this code.
#[track_caller]
pub fn assert_refused<T: Debug>(
    store: &DialogStore,
    code: &str,
    op: impl FnOnce() -> Result<T, Error>,
) -> Error {
    let err = assert_unchanged(store, op);
    assert_eq!(err.code(), code, "{err}");
    err
}

// ---- JSON ----

/// A dialog as its JSON value.
pub fn json(d: &Dialog) -> Value {
    serde_json::to_value(d).expect("a dialog serializes")
}

/// Parses a JSON constant.
pub fn value(s: &str) -> Value {
    serde_json::from_str(s).expect("valid JSON")
}

/// Asserts that `actual` has every key of `expected`, with the same value.
#[track_caller]
pub fn assert_json_has(actual: &Value, expected: &Value) {
    let expected = expected.as_object().expect("expected is an object");
    let actual = actual.as_object().expect("actual is an object");
    for (key, want) in expected {
        assert_eq!(actual.get(key), Some(want), "key {key}");
    }
}

/// Asserts that `_id` is 24 lowercase hex characters whose first four bytes are `created_at`.
#[track_caller]
pub fn assert_generated_id(d: &Dialog) {
    let text = d.id.to_string();
    assert_eq!(text.len(), 24, "{text}");
    assert!(text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{text}");
    assert_eq!(i64::from(d.id.timestamp()), d.created_at, "{text}");
    assert_eq!(text.parse::<DialogId>().expect("round trip"), d.id);
}

/// Asserts that `d`'s JSON has every key of QuickBlox's create response, plus `admin_ids` and
/// `is_join_required`.
#[track_caller]
pub fn assert_create_keys(d: &Dialog) {
    let actual = json(d);
    let seed = value(CREATE_RESPONSE);
    let seed_keys = seed.as_object().expect("object").keys().map(String::as_str);
    for key in seed_keys.chain(["admin_ids", "is_join_required"]) {
        assert!(actual.get(key).is_some(), "missing key {key}");
    }
}

/// Runs `op`, asserts that it changed nothing and was refused with `WRONG_PERMISSIONS` for
/// `user` doing `action` on `id`.
#[track_caller]
pub fn assert_forbidden<T: Debug>(
    store: &DialogStore,
    id: DialogId,
    user: UserId,
    action: dialogstore::Action,
    op: impl FnOnce() -> Result<T, Error>,
) {
    let err = assert_refused(store, "WRONG_PERMISSIONS", op);
    assert!(
        matches!(err, Error::WrongPermissions { id: i, user: u, action: a }
            if i == id && u == user && a == action),
        "{err:?}"
    );
}

/// QuickBlox's example `ScoreTable` class, declared with typed fields (and two more types besides).
pub fn score_table() -> dialogstore::CustomClass {
    use dialogstore::{CustomClass, FieldType};
    CustomClass::new("ScoreTable")
        .field("game_mode_name", FieldType::String)
        .field("expert_mode", FieldType::Integer)
        .field("progress", FieldType::Integer)
        .field("ratio", FieldType::Float)
        .field("finished", FieldType::Boolean)
}

/// The JSON of a dialog created at [`T0`] with no message yet, `fields` set over it.
pub fn fresh(d: &Dialog, fields: Value) -> Value {
    let mut v = serde_json::json!({
        "_id": d.id.to_string(),
        "admin_ids": [],
        "created_at": T0_ISO,
        "data": null,
        "is_join_required": null,
        "last_message": null,
        "last_message_date_sent": null,
        "last_message_id": null,
        "last_message_user_id": null,
        "name": null,
        "occupants_ids": [],
        "photo": null,
        "type": null,
        "updated_at": T0_ISO,
        "user_id": null,
        "xmpp_room_jid": null,
        "unread_messages_count": null,
    });
    for (key, value) in fields.as_object().expect("object") {
        assert!(v.get(key).is_some(), "fresh() has no key {key}");
        v[key] = value.clone();
    }
    v
}

// ---- the store against the plain model ----

/// Every page of a user's inbox.
pub fn list_all(store: &DialogStore, user: UserId) -> Result<Vec<dialogstore::Dialog>, String> {
    let mut items = Vec::new();
    loop {
        let q: Query = format!("limit=100&skip={}", items.len()).parse().expect("query");
        let page = store.list_dialogs(user, &q).map_err(|e| format!("list_dialogs: {e}"))?;
        let done = page.items.len() < 100;
        items.extend(page.items);
        if done || items.len() as u64 >= page.total_entries {
            return Ok(items);
        }
    }
}

/// The store answers exactly as the model: every user's whole inbox (of `users`), every dialog
/// read by each user who sees it, and a clean integrity check.
pub fn agree(store: &DialogStore, model: &Model, users: &[UserId]) -> Result<(), String> {
    for &user in users {
        let q: Query = "limit=100".parse().expect("query");
        let (total, _) = model.list(user, &q).map_err(|e| e.to_owned())?;
        let mut want = Vec::new();
        while (want.len() as u64) < total {
            let q: Query = format!("limit=100&skip={}", want.len()).parse().expect("query");
            want.extend(model.list(user, &q).map_err(|e| e.to_owned())?.1);
        }
        let have = list_all(store, user)?;
        if have != want {
            let ids = |v: &[dialogstore::Dialog]| v.iter().map(|d| d.id).collect::<Vec<_>>();
            let first = have.iter().zip(&want).find(|(h, w)| h != w);
            return Err(format!(
                "user {user}'s inbox differs: store {:?}, model {:?}; first difference {first:#?}",
                ids(&have),
                ids(&want)
            ));
        }
        for d in want {
            let read = store.get(user, d.id).map_err(|e| format!("get_dialog {}: {e}", d.id))?;
            if read != d {
                return Err(format!("get_dialog {} as {user}: {read:#?}, listed {d:#?}", d.id));
            }
        }
    }
    let report = store.check_integrity().map_err(|e| format!("check_integrity: {e}"))?;
    if !report.is_clean() {
        return Err(format!("check_integrity: {report}"));
    }
    Ok(())
}

/// Dialog ids the store holds that the model does not, in row order.
pub fn new_ids(store: &DialogStore, model: &Model) -> Vec<DialogId> {
    let mut ids = Vec::new();
    store
        .for_each_dialog(|d| {
            if model.get(d.id).is_none() {
                ids.push(d.id);
            }
            Ok(())
        })
        .expect("for_each_dialog");
    ids
}

// ---- a child process killed with SIGKILL ----

/// Runs the ignored test `name` of this test binary as a child process with the environment
/// `env`, until it has printed `acks` lines starting with `OK ` after a line `START`; waits
/// `delay` more, kills it with SIGKILL and returns every line it printed.
pub fn kill_child(
    name: &str,
    env: &[(&str, String)],
    acks: u64,
    delay: std::time::Duration,
) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args([name, "--exact", "--ignored", "--nocapture", "--test-threads=1", "-q"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn the child");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    let mut seen = 0;
    let mut line = String::new();
    while seen < acks || !lines.iter().any(|l| l == "START") {
        line.clear();
        if reader.read_line(&mut line).expect("read the child") == 0 {
            break;
        }
        let l = line.trim_end().to_owned();
        seen += u64::from(l.starts_with("OK "));
        lines.push(l);
    }
    std::thread::sleep(delay);
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("reap the child");
    for l in reader.lines() {
        lines.push(l.expect("read the child"));
    }
    if status.success() || lines.iter().all(|l| l != "START") {
        let mut err = String::new();
        let _ = std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err);
        panic!("the child ended by itself ({status}) before being killed: {err}");
    }
    lines
}

// ---- deterministic randomness and bounded counts ----

/// A small deterministic random generator (SplitMix64), so every random test replays exactly
/// from its seed, with no dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True `percent` times in a hundred.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A count from the environment variable `var`, or `default` when it is unset: CI runs the
/// default, a longer run sets the variable.
pub fn env_count(var: &str, default: u64) -> u64 {
    match std::env::var(var) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{var}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// The message of a caught panic.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match payload.downcast_ref::<String>() {
        Some(s) => s.clone(),
        None => payload.downcast_ref::<&str>().map_or_else(String::new, |s| (*s).to_owned()),
    }
}
