//! Shared by the benches: the benchmark data set (built once per size and kept under
//! `target/bench-data/`), the store and SQLite behind one small trait, and the query classes.
//!
//! The data comes from `dialogstore_testkit` (a fixed seed): `DIALOGSTORE_BENCH_DIALOGS`
//! dialogs (default 1,000,000) among one user per five dialogs. SQLite gets exactly the store's
//! dialogs and unread counts (exported from the store) in a schema with equivalent indexes:
//! `members(user_id, rid)` for the user bitmaps, `(type, ord, id)` for the public streams
//! (`ord` is the inbox order key: the last message date, or for a dialog without messages its
//! creation time pushed below every date), `(ord, id)` and `(updated_at)` for the time B-trees,
//! `(class_name)` for the class bitmaps, and an FTS5 trigram table for names. WAL journal, cached
//! prepared statements. Before any timing, both answer every benched query and must return the
//! same total and the same ids in the same order.

#![allow(dead_code)]

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialogstore::{
    CustomData, Dialog, DialogId, DialogStore, DialogType, Durability, ManualClock, Query, UserId,
    UserIdList,
};
use dialogstore_testkit::Spec;
use rusqlite::{params, Connection, OptionalExtension};

/// Dialogs in the benched data set.
pub fn size() -> u64 {
    std::env::var("DIALOGSTORE_BENCH_DIALOGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// The order key SQLite sorts the inbox by: the last message date, or for a dialog without
/// messages its creation time shifted below every possible date (`2^40` seconds is 35,000
/// years).
pub fn ord(d: &Dialog) -> i64 {
    d.last_message_date_sent.unwrap_or(d.created_at - (1 << 40))
}

/// What was built, and how long it took.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Build {
    pub dialogs: u64,
    pub users: u64,
    pub messages: u64,
    pub reads: u64,
    pub store_create_per_sec: f64,
    pub store_message_per_sec: f64,
    pub sqlite_load_secs: f64,
    pub store_bytes: u64,
    pub sqlite_bytes: u64,
}

/// The data set on disk.
pub struct Dataset {
    pub dir: PathBuf,
    pub spec: Spec,
    pub build: Build,
}

impl Dataset {
    pub fn store_path(&self) -> PathBuf {
        self.dir.join("dialogs.redb")
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.dir.join("dialogs.sqlite")
    }

    /// Typical users: spread over the users past the busiest tenth, as most users are.
    pub fn typical_users(&self, n: usize) -> Vec<u64> {
        let users = self.spec.users;
        (0..n as u64).map(|i| 1 + (i * 7919) % users).collect()
    }

    /// The busiest users, in tens of thousands of dialogs.
    pub fn heavy_users(&self) -> Vec<u64> {
        vec![1, 2, 3]
    }

    /// `n` users drawn with the same Zipf weights that place users in dialogs (SPEC section 6:
    /// users query in proportion to their activity), from the generator.
    pub fn weighted_users(&self, n: usize) -> Vec<u64> {
        dialogstore_testkit::query_users(&self.spec, n)
    }

    /// The `n` users in the most dialogs, busiest first.
    pub fn busiest_users(&self, n: usize) -> Vec<u64> {
        let conn = Connection::open(self.sqlite_path()).expect("open sqlite");
        let mut stmt = conn
            .prepare("SELECT user_id FROM members GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT ?1")
            .unwrap();
        let rows = stmt.query_map([n as i64], |r| r.get::<_, i64>(0)).unwrap();
        rows.map(|r| r.unwrap() as u64).collect()
    }

    /// The viewer sets every class is measured for: 256 activity-weighted users, the 10
    /// busiest, and (an extra column, never instead) 64 users drawn uniformly.
    pub fn viewer_sets(&self) -> Vec<(&'static str, Vec<u64>)> {
        vec![
            ("weighted", self.weighted_users(256)),
            ("busiest10", self.busiest_users(10)),
            ("uniform", self.typical_users(64)),
        ]
    }

    /// Who asks `class`: the busiest users where the class says so, else `typical` typical
    /// users.
    pub fn viewers(&self, class: &Class, typical: usize) -> Vec<u64> {
        if class.heavy_viewers {
            self.heavy_users()
        } else {
            self.typical_users(typical)
        }
    }
}

/// The data set's layout version, in its directory name: a build whose store or SQLite layout
/// changed builds its data set again (v3: staged rows, pairs keyed by chunk; v4: SPEC section
/// 6's shape, Zipf 1.1, 9% groups of 3 to 50, a year of creates and a year of messages).
const FORMAT: &str = "bench-data-v4";

/// The data set for [`size`], built if it is not on disk yet.
pub fn dataset() -> Dataset {
    let n = size();
    let spec = Spec::with_dialogs(n);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    let dir = root.join(format!("{FORMAT}-{n}-{:x}", spec.seed));
    let meta = dir.join("build.json");
    if let Ok(text) = std::fs::read_to_string(&meta) {
        if let Ok(build) = serde_json::from_str(&text) {
            return Dataset { dir, spec, build };
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let mut ds = Dataset { dir, spec, build: Build::default() };
    eprintln!("building the {n}-dialog data set in {} (once) ...", ds.dir.display());
    build_store(&mut ds);
    build_sqlite(&mut ds);
    std::fs::write(&meta, serde_json::to_string_pretty(&ds.build).expect("json"))
        .expect("build.json");
    ds
}

fn build_store(ds: &mut Dataset) {
    let clock = Arc::new(ManualClock::new(0));
    let mut store = DialogStore::builder()
        .clock(clock.clone())
        .durability(Durability::None)
        .cache_size(256 << 20)
        .open(ds.store_path())
        .expect("open store");
    let stats = dialogstore_testkit::load(&store, &clock, &ds.spec, 1000, |done| {
        if done % 500_000 == 0 {
            eprintln!("  {done} events");
        }
    })
    .expect("load");
    store.sync().expect("sync");
    // SQLite's file is measured after its bulk load too: give back copy-on-write's free pages.
    store.compact().expect("compact");
    ds.build.dialogs = stats.dialogs;
    ds.build.users = ds.spec.users;
    ds.build.messages = stats.messages;
    ds.build.reads = stats.reads;
    ds.build.store_create_per_sec = stats.dialogs as f64 / stats.create_secs;
    ds.build.store_message_per_sec =
        (stats.messages + stats.reads) as f64 / stats.message_secs.max(1e-9);
    drop(store);
    ds.build.store_bytes = std::fs::metadata(ds.store_path()).map(|m| m.len()).unwrap_or(0);
}

/// The SQLite schema: one row per dialog, members and unread counts beside it.
pub const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE dialogs (
  rid INTEGER PRIMARY KEY,
  id BLOB NOT NULL UNIQUE,
  user_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  type INTEGER NOT NULL,
  name TEXT,
  photo TEXT,
  xmpp_room_jid TEXT,
  occupants TEXT NOT NULL,
  admins TEXT NOT NULL,
  last_message TEXT,
  last_message_id TEXT,
  lmds INTEGER,
  last_message_user_id INTEGER,
  is_join_required INTEGER,
  class_name TEXT,
  data TEXT,
  ord INTEGER NOT NULL
);
CREATE TABLE members (user_id INTEGER NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (user_id, rid)) WITHOUT ROWID;
CREATE TABLE unread (user_id INTEGER NOT NULL, rid INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (user_id, rid)) WITHOUT ROWID;
CREATE TABLE private_pairs (lo INTEGER NOT NULL, hi INTEGER NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (lo, hi)) WITHOUT ROWID;
CREATE VIRTUAL TABLE names USING fts5(name, tokenize = 'trigram');
";

/// Indexes, created after a bulk load (or before, for ingest).
pub const INDEXES: &str = "
CREATE INDEX dialogs_type_ord ON dialogs (type, ord, id);
CREATE INDEX dialogs_ord ON dialogs (ord, id);
CREATE INDEX dialogs_updated ON dialogs (updated_at, id);
CREATE INDEX dialogs_class ON dialogs (class_name);
";

fn join_ids(ids: &[UserId]) -> String {
    ids.iter().map(|u| u.0.to_string()).collect::<Vec<_>>().join(",")
}

fn data_json(d: &Dialog) -> Option<String> {
    d.data.as_ref().map(|data| serde_json::to_string(data).expect("json"))
}

/// Inserts one dialog (row, members, private pair, name) with prepared statements.
pub fn sqlite_insert(tx: &rusqlite::Transaction<'_>, rid: i64, d: &Dialog) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO dialogs (rid, id, user_id, created_at, updated_at, type, name, photo, xmpp_room_jid, occupants,
         admins, last_message, last_message_id, lmds, last_message_user_id, is_join_required, class_name, data, ord)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )?
    .execute(params![
        rid,
        &d.id.0[..],
        d.user_id.0 as i64,
        d.created_at,
        d.updated_at,
        d.dialog_type.code(),
        d.name,
        d.photo,
        d.xmpp_room_jid,
        join_ids(&d.occupants_ids),
        join_ids(&d.admin_ids),
        d.last_message,
        d.last_message_id,
        d.last_message_date_sent,
        d.last_message_user_id.map(|u| u.0 as i64),
        d.is_join_required,
        d.data.as_ref().map(|x| x.class_name.clone()),
        data_json(d),
        ord(d),
    ])?;
    let mut member = tx.prepare_cached("INSERT INTO members (user_id, rid) VALUES (?1, ?2)")?;
    for u in d.occupants_ids.iter() {
        member.execute(params![u.0 as i64, rid])?;
    }
    if d.dialog_type == DialogType::Private {
        if let [a, b] = d.occupants_ids[..] {
            tx.prepare_cached("INSERT INTO private_pairs (lo, hi, rid) VALUES (?1, ?2, ?3)")?
                .execute(params![a.0 as i64, b.0 as i64, rid])?;
        }
    }
    if let Some(name) = &d.name {
        tx.prepare_cached("INSERT INTO names (rowid, name) VALUES (?1, ?2)")?
            .execute(params![rid, name])?;
    }
    Ok(())
}

fn build_sqlite(ds: &mut Dataset) {
    let started = Instant::now();
    let store =
        DialogStore::builder().cache_size(64 << 20).open(ds.store_path()).expect("open store");
    let mut conn = Connection::open(ds.sqlite_path()).expect("sqlite");
    conn.execute_batch(SCHEMA).expect("schema");
    let mut rid = 0i64;
    let mut ids = std::collections::HashMap::new();
    let mut batch = Vec::with_capacity(10_000);
    let flush = |conn: &mut Connection, batch: &mut Vec<Dialog>, rid: &mut i64| {
        let tx = conn.transaction().expect("tx");
        for d in batch.drain(..) {
            sqlite_insert(&tx, *rid, &d).expect("insert");
            *rid += 1;
        }
        tx.commit().expect("commit");
    };
    store
        .for_each_dialog(|d| {
            ids.insert(d.id, rid + batch.len() as i64);
            batch.push(d);
            if batch.len() == 10_000 {
                flush(&mut conn, &mut batch, &mut rid);
            }
            Ok(())
        })
        .expect("export");
    flush(&mut conn, &mut batch, &mut rid);
    let tx = conn.transaction().expect("tx");
    {
        let mut put = tx
            .prepare("INSERT INTO unread (user_id, rid, count) VALUES (?1, ?2, ?3)")
            .expect("stmt");
        store
            .for_each_unread(|user, id, count| {
                put.execute(params![user.0 as i64, ids[&id], count]).expect("unread");
                Ok(())
            })
            .expect("export unread");
    }
    tx.commit().expect("commit");
    conn.execute_batch(INDEXES).expect("indexes");
    conn.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);").expect("analyze");
    drop(conn);
    ds.build.sqlite_load_secs = started.elapsed().as_secs_f64();
    ds.build.sqlite_bytes = std::fs::metadata(ds.sqlite_path()).map(|m| m.len()).unwrap_or(0);
}

/// The answer every backend gives: the total and the page.
pub struct Answer {
    pub total: u64,
    pub items: Vec<Dialog>,
}

impl Answer {
    pub fn dialogs(&self) -> Vec<Dialog> {
        self.items.clone()
    }

    pub fn ids(&self) -> Vec<DialogId> {
        self.dialogs().iter().map(|d| d.id).collect()
    }
}

/// One benched query: the store's query string and the SQL that asks SQLite the same.
pub struct Class {
    /// Short name, used in result files.
    pub name: &'static str,
    /// The query string; `{viewer}`, `{heavy}` ([`SECOND_USER`]), `{n6}` and `{n7}`
    /// ([`Class::numbers`]) are filled in by [`Class::render`].
    pub query: &'static str,
    /// SQL returning the page: `?1` is the viewer, `?2` skip + limit, `?3` limit, `?4` skip,
    /// `?5` a second user, `?6` and `?7` two numbers.
    pub page_sql: &'static str,
    /// SQL returning the total, with the same parameters.
    pub count_sql: &'static str,
    /// Extra numbers for `?6` and `?7`.
    pub numbers: (i64, i64),
    /// Whether the page is asked (false: `count=1`).
    pub page: bool,
    /// Who asks: typical users or the busiest ones.
    pub heavy_viewers: bool,
    /// The query's `skip` and `limit`, read from it once by [`classes`] for SQLite's binds.
    pub skip_limit: (i64, i64),
}

macro_rules! page_sql {
    ($own:expr, $public:expr) => {
        page_sql_by!("d.ord", $own, $public)
    };
}

/// [`page_sql!`] sorted by another column (descending, ties by id).
macro_rules! page_sql_by {
    ($key:expr, $own:expr, $public:expr) => {
        concat!(
            "SELECT d.id, d.user_id, d.created_at, d.updated_at, d.type, d.name, d.photo, d.xmpp_room_jid, d.occupants,
    d.admins, d.last_message, d.last_message_id, d.lmds, d.last_message_user_id, d.is_join_required, d.data,
    COALESCE(u.count, 0) FROM (
  SELECT * FROM (SELECT d.rid, ", $key, " AS ord, d.id FROM dialogs d WHERE ",
            $own,
            " ORDER BY ", $key, " DESC, d.id DESC LIMIT ?2)
  UNION ALL
  SELECT * FROM (SELECT d.rid, ", $key, " AS ord, d.id FROM dialogs d WHERE d.type = 1 AND ",
            $public,
            " ORDER BY ", $key, " DESC, d.id DESC LIMIT ?2)
) t JOIN dialogs d ON d.rid = t.rid LEFT JOIN unread u ON u.user_id = ?1 AND u.rid = d.rid
ORDER BY t.ord DESC, t.id DESC LIMIT ?3 OFFSET ?4"
        )
    };
}

macro_rules! count_sql {
    ($own:expr, $public:expr) => {
        concat!(
            "SELECT (SELECT count(*) FROM dialogs d WHERE ",
            $own,
            ") + (SELECT count(*) FROM dialogs d WHERE d.type = 1 AND ",
            $public,
            ") + 0 * ?1 + 0 * ?2 + 0 * ?3 + 0 * ?4 + 0 * ?5 + 0 * ?6 + 0 * ?7"
        )
    };
}

/// The second user of `occupants_ids[all]` (`{heavy}`, SQLite's `?5`): the busiest user.
pub const SECOND_USER: u64 = 1;

impl Class {
    /// The query string `viewer` sends. Rendered before timing: a service receives the text.
    pub fn render(&self, viewer: u64) -> String {
        self.query
            .replace("{viewer}", &viewer.to_string())
            .replace("{heavy}", &SECOND_USER.to_string())
            .replace("{n6}", &self.numbers.0.to_string())
            .replace("{n7}", &self.numbers.1.to_string())
    }
}

/// The benchmark's query classes.
pub fn classes() -> Vec<Class> {
    // A 30-day window of `updated_at` in the middle of the message period.
    let month = dialogstore_testkit::T0
        + dialogstore_testkit::CREATE_SPAN
        + dialogstore_testkit::MESSAGE_SPAN / 2;
    let mut classes = vec![
        Class {
            name: "inbox",
            query: "sort_desc=last_message_date_sent&limit=100",
            page_sql: page_sql!("d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND 0 * ?5 + 0 * ?6 + 0 * ?7 = 0", "1"),
            count_sql: count_sql!("d.rid IN (SELECT rid FROM members WHERE user_id = ?1)", "1"),
            numbers: (0, 0),
            page: true,
            heavy_viewers: false,
            skip_limit: (0, 0),
        },
        Class {
            name: "inbox_heavy_user",
            query: "sort_desc=last_message_date_sent&limit=100",
            page_sql: page_sql!("d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND 0 * ?5 + 0 * ?6 + 0 * ?7 = 0", "1"),
            count_sql: count_sql!("d.rid IN (SELECT rid FROM members WHERE user_id = ?1)", "1"),
            numbers: (0, 0),
            page: true,
            heavy_viewers: true,
            skip_limit: (0, 0),
        },
        Class {
            name: "count_type",
            query: "count=1&type=2",
            page_sql: "",
            count_sql: count_sql!("d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND d.type = 2", "d.type = 2"),
            numbers: (0, 0),
            page: false,
            heavy_viewers: false,
            skip_limit: (0, 0),
        },
        Class {
            name: "filter_type_in",
            query: "type[in]=2,3&sort_desc=last_message_date_sent&limit=100",
            page_sql: page_sql!(
                "d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND d.type IN (2, 3) AND 0 * ?5 + 0 * ?6 + 0 * ?7 = 0",
                "d.type IN (2, 3)"
            ),
            count_sql: count_sql!("d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND d.type IN (2, 3)", "d.type IN (2, 3)"),
            numbers: (0, 0),
            page: true,
            heavy_viewers: false,
            skip_limit: (0, 0),
        },
        Class {
            name: "filter_time_range",
            query: "updated_at[gte]={n6}&updated_at[lt]={n7}&sort_desc=updated_at&limit=100",
            page_sql: page_sql_by!(
                "d.updated_at",
                "d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND d.updated_at >= ?6 AND d.updated_at < ?7 AND 0 * ?5 = 0",
                "d.updated_at >= ?6 AND d.updated_at < ?7"
            ),
            count_sql: count_sql!(
                "d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND d.updated_at >= ?6 AND d.updated_at < ?7",
                "d.updated_at >= ?6 AND d.updated_at < ?7"
            ),
            numbers: (month, month + 30 * 86_400),
            page: true,
            heavy_viewers: false,
            skip_limit: (0, 0),
        },
        Class {
            name: "filter_occupants_all",
            query: "occupants_ids[all]={viewer},{heavy}&limit=100",
            page_sql: page_sql!(
                "d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND d.rid IN (SELECT rid FROM members WHERE user_id = ?5) AND 0 * ?6 + 0 * ?7 = 0",
                "0"
            ),
            count_sql: count_sql!(
                "d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND d.rid IN (SELECT rid FROM members WHERE user_id = ?5)",
                "0"
            ),
            numbers: (0, 0),
            page: true,
            heavy_viewers: false,
            skip_limit: (0, 0),
        },
        Class {
            name: "filter_data",
            query: "data[class_name]=ScoreTable&data[progress][gte]=50&limit=100",
            page_sql: page_sql!(
                "d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND d.class_name = 'ScoreTable' AND json_extract(d.data, '$.progress') >= 50 AND 0 * ?5 + 0 * ?6 + 0 * ?7 = 0",
                "d.class_name = 'ScoreTable' AND json_extract(d.data, '$.progress') >= 50"
            ),
            count_sql: count_sql!(
                "d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND d.class_name = 'ScoreTable' AND json_extract(d.data, '$.progress') >= 50",
                "d.class_name = 'ScoreTable' AND json_extract(d.data, '$.progress') >= 50"
            ),
            numbers: (0, 0),
            page: true,
            heavy_viewers: true,
            skip_limit: (0, 0),
        },
        Class {
            name: "name_ctn_3",
            query: "name[ctn]=par&limit=100",
            page_sql: page_sql!(
                "d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND d.rid IN (SELECT rowid FROM names WHERE name LIKE '%par%') AND 0 * ?5 + 0 * ?6 + 0 * ?7 = 0",
                "d.rid IN (SELECT rowid FROM names WHERE name LIKE '%par%')"
            ),
            count_sql: count_sql!(
                "d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND d.rid IN (SELECT rowid FROM names WHERE name LIKE '%par%')",
                "d.rid IN (SELECT rowid FROM names WHERE name LIKE '%par%')"
            ),
            numbers: (0, 0),
            page: true,
            heavy_viewers: false,
            skip_limit: (0, 0),
        },
        Class {
            name: "name_ctn_5",
            query: "name[ctn]=party&limit=100",
            page_sql: page_sql!(
                "d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND d.rid IN (SELECT rowid FROM names WHERE name LIKE '%party%') AND 0 * ?5 + 0 * ?6 + 0 * ?7 = 0",
                "d.rid IN (SELECT rowid FROM names WHERE name LIKE '%party%')"
            ),
            count_sql: count_sql!(
                "d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND d.rid IN (SELECT rowid FROM names WHERE name LIKE '%party%')",
                "d.rid IN (SELECT rowid FROM names WHERE name LIKE '%party%')"
            ),
            numbers: (0, 0),
            page: true,
            heavy_viewers: false,
            skip_limit: (0, 0),
        },
        Class {
            name: "skip_1000",
            query: "sort_desc=last_message_date_sent&skip=1000&limit=100",
            page_sql: page_sql!("d.rid IN (SELECT rid FROM members WHERE user_id = ?1) AND 0 * ?5 + 0 * ?6 + 0 * ?7 = 0", "1"),
            count_sql: count_sql!("d.rid IN (SELECT rid FROM members WHERE user_id = ?1)", "1"),
            numbers: (0, 0),
            page: true,
            heavy_viewers: false,
            skip_limit: (0, 0),
        },
    ];
    for class in &mut classes {
        let q: Query = class.render(1).parse().expect("bench query parses");
        class.skip_limit = (i64::from(q.skip), i64::from(q.limit));
    }
    classes
}

/// The two systems under test.
pub trait Backend {
    fn name(&self) -> &'static str;
    /// Answers `class` for `viewer`, who sends `text` ([`Class::render`]).
    fn answer(&self, class: &Class, viewer: u64, text: &str) -> Answer;
}

/// dialogstore, with its query parsed once per call as a service would, answering with
/// `list_dialogs`.
pub struct Store {
    pub store: Arc<DialogStore>,
}

impl Store {
    pub fn open(ds: &Dataset) -> Store {
        Store {
            store: Arc::new(
                DialogStore::builder()
                    .cache_size(512 << 20)
                    .open(ds.store_path())
                    .expect("open store"),
            ),
        }
    }
}

impl Backend for Store {
    fn name(&self) -> &'static str {
        "dialogstore"
    }

    fn answer(&self, _class: &Class, viewer: u64, text: &str) -> Answer {
        let q: Query = text.parse().expect("bench query parses");
        let page = self.store.list_dialogs(UserId(viewer), &q).expect("list");
        Answer { total: page.total_entries, items: page.items }
    }
}

/// SQLite with the equivalent schema.
pub struct Sqlite {
    pub conn: Connection,
}

impl Sqlite {
    pub fn open(ds: &Dataset) -> Sqlite {
        let conn = Connection::open(ds.sqlite_path()).expect("sqlite");
        conn.execute_batch("PRAGMA cache_size = -524288; PRAGMA mmap_size = 0;").expect("pragmas");
        conn.set_prepared_statement_cache_capacity(64);
        Sqlite { conn }
    }
}

fn users(text: &str) -> Vec<UserId> {
    UserIdList::parse(text).expect("user ids").0
}

/// A dialog from a row of [`COLS`].
pub fn dialog_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Dialog> {
    let id: Vec<u8> = row.get(0)?;
    let mut id12 = [0u8; 12];
    id12.copy_from_slice(&id);
    let kind: i64 = row.get(4)?;
    let data: Option<String> = row.get(15)?;
    let data = data.map(|text| serde_json::from_str::<CustomData>(&text).expect("data json"));
    let occupants: String = row.get(8)?;
    let admins: String = row.get(9)?;
    Ok(Dialog {
        id: DialogId(id12),
        user_id: UserId(row.get::<_, i64>(1)? as u64),
        created_at: row.get(2)?,
        updated_at: row.get(3)?,
        dialog_type: DialogType::from_code(kind).expect("type"),
        name: row.get(5)?,
        photo: row.get(6)?,
        xmpp_room_jid: row.get(7)?,
        occupants_ids: users(&occupants).into(),
        admin_ids: users(&admins).into(),
        last_message: row.get(10)?,
        last_message_id: row.get(11)?,
        last_message_date_sent: row.get(12)?,
        last_message_user_id: row.get::<_, Option<i64>>(13)?.map(|u| UserId(u as u64)),
        unread_messages_count: Some(row.get::<_, i64>(16)? as u32),
        is_join_required: row.get(14)?,
        data: data.map(Arc::new),
    })
}

impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn answer(&self, class: &Class, viewer: u64, _text: &str) -> Answer {
        let (skip, limit) = class.skip_limit;
        let args = params![
            viewer as i64,
            skip + limit,
            limit,
            skip,
            SECOND_USER as i64,
            class.numbers.0,
            class.numbers.1
        ];
        let total: i64 = self
            .conn
            .prepare_cached(class.count_sql)
            .expect("count sql")
            .query_row(args, |r| r.get(0))
            .optional()
            .expect("count")
            .unwrap_or(0);
        let mut items = Vec::new();
        if class.page {
            let mut stmt = self.conn.prepare_cached(class.page_sql).expect("page sql");
            let rows = stmt.query_map(args, dialog_from_row).expect("page");
            for row in rows {
                items.push(row.expect("row"));
            }
        }
        Answer { total: total as u64, items }
    }
}

/// Fails unless both backends give the same answer for every viewer of every class.
pub fn assert_same(classes: &[Class], ds: &Dataset, a: &dyn Backend, b: &dyn Backend) {
    for class in classes {
        for viewer in ds.viewers(class, 8) {
            let text = class.render(viewer);
            let (x, y) = (a.answer(class, viewer, &text), b.answer(class, viewer, &text));
            assert_eq!(x.total, y.total, "{}: totals differ for viewer {viewer}", class.name);
            assert_eq!(x.ids(), y.ids(), "{}: ids differ for viewer {viewer}", class.name);
            assert_eq!(
                x.dialogs(),
                y.dialogs(),
                "{}: dialogs differ for viewer {viewer}",
                class.name
            );
        }
    }
}

/// This process's peak resident memory (`VmHWM`), 0 where `/proc` does not say.
pub fn peak_resident_bytes() -> u64 {
    proc_status_kib("VmHWM:") * 1024
}

fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l[field.len()..].trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The machine, as the README names it: CPU model and core count.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("{cpu}, {cores} cores")
}

/// Where the result files of [`size`] go: `benches/results/`, or `size-N/` under it for a size
/// other than the full 1,000,000.
pub fn results_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/results");
    if size() == 1_000_000 {
        dir
    } else {
        dir.join(format!("size-{}", size()))
    }
}

/// Writes a result file under [`results_dir`].
pub fn write_result(name: &str, value: &serde_json::Value) {
    let dir = results_dir();
    std::fs::create_dir_all(&dir).expect("results dir");
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).expect("json"))
        .expect("write result");
    eprintln!("wrote {}", path.display());
}

/// Each call's latency inside criterion's `iter_custom`, kept per call of the routine so that
/// criterion's warm-up calls, which come first, are left out: the measurement makes exactly one
/// call per sample, so the last `samples` calls are the measured ones. Give the benchmark group
/// the same `sample_size`.
pub struct Timings {
    samples: usize,
    batches: RefCell<Vec<Vec<f64>>>,
}

impl Timings {
    pub fn new(samples: usize) -> Timings {
        Timings { samples, batches: RefCell::new(Vec::new()) }
    }

    /// Times `f(0..iters)` call by call; returns the total for criterion.
    pub fn run(&self, iters: u64, mut f: impl FnMut(u64)) -> Duration {
        let mut total = Duration::ZERO;
        let mut seen = Vec::with_capacity(iters as usize);
        for i in 0..iters {
            let started = Instant::now();
            f(i);
            let took = started.elapsed();
            total += took;
            seen.push(took.as_secs_f64() * 1e6);
        }
        self.batches.borrow_mut().push(seen);
        total
    }

    /// The measured calls' latencies, or `None` when criterion did not measure the benchmark
    /// (a name filter skipped it, or `--test` ran it once): then there is nothing to report.
    pub fn measured(&self) -> Option<Measured> {
        let batches = self.batches.borrow();
        let first = batches.len().checked_sub(self.samples)?;
        let mut all = batches[first..].concat();
        all.sort_by(f64::total_cmp);
        Some(Measured(all))
    }
}

/// The latencies of a benchmark's measured calls in µs, ascending.
pub struct Measured(Vec<f64>);

impl Measured {
    /// Latencies in µs, in any order.
    pub fn from_us(mut us: Vec<f64>) -> Measured {
        us.sort_by(f64::total_cmp);
        Measured(us)
    }

    pub fn calls(&self) -> usize {
        self.0.len()
    }

    /// A percentile of the calls, in µs (0 without any).
    pub fn percentile_us(&self, p: f64) -> f64 {
        match self.0.len() {
            0 => 0.0,
            n => self.0[((n - 1) as f64 * p).round() as usize],
        }
    }

    pub fn mean_us(&self) -> f64 {
        self.0.iter().sum::<f64>() / self.0.len().max(1) as f64
    }
}
