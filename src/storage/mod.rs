//! Storage on redb: the tables, how values are encoded, the one write path and read snapshots.
//!
//! [`Writer`] is the only code that changes the database. It is handed a write transaction and
//! offers row-level operations (insert, replace, delete a dialog; change an unread counter;
//! declare a class); each keeps every index in step with the row inside the same transaction, by
//! applying the difference between the old row's and the new row's
//! [`IndexEntries`](crate::index::IndexEntries). [`Snapshot`] reads one committed state.

mod cache;
mod cached;
pub(crate) mod codec;
mod columns;
#[cfg(feature = "testing")]
mod faulty;
pub(crate) mod integrity;
mod meta;
mod orders;
mod read;
mod snapshot;
mod staging;
mod stats;
pub(crate) mod tables;
mod versioned;
mod writer;

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use redb::{Database, ReadableDatabase};

use cache::Cache;
pub(crate) use cached::{Entries, Filter};
use staging::Staging;
pub(crate) use staging::DEFAULT_WINDOW as DEFAULT_STAGED_ROWS;

use crate::error::Error;

pub(crate) use crate::index::TimeIndex;
pub(crate) use crate::model::{DataValue, Row};
pub(crate) use codec::StoredRow;
pub(crate) use columns::{Column, ColumnKey};
#[cfg(feature = "testing")]
pub use faulty::FaultyDisk;
pub use integrity::IntegrityReport;
pub(crate) use meta::Meta;
pub(crate) use orders::{TimeOrder, UserOrder};
pub(crate) use read::{describe_key, embedded_row};
pub(crate) use snapshot::{ChangeEntry, Snapshot, UserChangeEntry};
pub use stats::{StoreStats, TableStats};
pub(crate) use tables::{CHANGED_DELETED, CHANGED_PUBLIC};
pub(crate) use writer::Writer;

pub(crate) use crate::model::RowId;

/// How a commit reaches the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Every commit is on disk (fsync) before the call returns: it survives `kill -9` and power
    /// loss. The default.
    #[default]
    Immediate,
    /// Commits are visible at once but reach the disk with a later `Immediate` commit; a crash
    /// may lose the most recent ones, never half of one. For bulk loads.
    None,
}

impl Durability {
    fn to_redb(self) -> redb::Durability {
        match self {
            Durability::Immediate => redb::Durability::Immediate,
            Durability::None => redb::Durability::None,
        }
    }
}

/// Runs `f`, which calls into the storage engine, and turns a panic inside it into
/// [`Error::Corrupted`].
///
/// redb verifies page checksums only when it repairs a file (after a crash, or when asked with
/// [`Builder::verify_on_open`](crate::Builder::verify_on_open)); otherwise it trusts the pages
/// it reads, and bytes damaged outside it can make it index out of bounds and panic, as its
/// docs warn. Catching that at the public calls (`store.rs`) and when the database closes
/// ([`Engine`]) keeps the promise that no input panics the store. What `f` left half done is
/// dropped with it: a write transaction aborts, a snapshot ends; a lock redb poisoned becomes
/// an error of the calls after. Callers' code (a clock, the closure given to
/// [`DialogStore::write`](crate::DialogStore::write)) never runs inside, so their panics stay
/// theirs.
pub(crate) fn shield<R>(f: impl FnOnce() -> Result<R, Error>) -> Result<R, Error> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        Err(Error::corrupted(format!("the storage engine panicked: {}", panic_text(&*payload))))
    })
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    match payload.downcast_ref::<String>() {
        Some(s) => s,
        None => payload.downcast_ref::<&str>().copied().unwrap_or("(no message)"),
    }
}

/// The redb database, closed inside [`shield`] when dropped: closing writes the allocator
/// state, which a damaged file can make redb panic on, and a panic in a destructor would escape
/// every shield of the calls before it.
struct Engine(Option<Database>);

impl std::ops::Deref for Engine {
    type Target = Database;

    fn deref(&self) -> &Database {
        // Taken only by `drop`, after which nothing can deref it.
        self.0.as_ref().expect("the database is open until dropped")
    }
}

impl std::ops::DerefMut for Engine {
    fn deref_mut(&mut self) -> &mut Database {
        // As for `deref`.
        self.0.as_mut().expect("the database is open until dropped")
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(db) = self.0.take() {
            // Nothing to report an error to from a destructor; a clean close needs no report.
            let _ = shield(|| Ok(db.close()?));
        }
    }
}

/// The database and what every transaction needs to know about it.
pub(crate) struct Storage {
    /// The open database with its read cache and staging; replaced together when the file is
    /// opened again after an I/O error.
    live: RwLock<Live>,
    durability: Durability,
    /// How to open the file again (`None` in memory, where no I/O fails).
    opener: Option<Opener>,
    /// A call failed in storage: redb may refuse the database now, and the next call opens
    /// the file again before it begins.
    suspect: AtomicBool,
    /// Held by the call opening the file again.
    reopening: Mutex<()>,
    /// The read cache's budget and the staging window, for a reopened file's fresh ones.
    cache_bytes: usize,
    staged_rows: u32,
    /// Commits of per-user changes the change log keeps (`Builder::change_history`).
    change_history: u64,
}

/// Commits of per-user changes the change log keeps unless the builder says otherwise.
pub(crate) const DEFAULT_CHANGE_HISTORY: u64 = 1 << 20;

/// Opens the store's database (again).
type Opener = Box<dyn Fn() -> Result<Database, Error> + Send + Sync>;

/// What a database holds in memory beside it. A reopened database gets fresh ones: a commit
/// made with `Durability::None` that the failure kept from the disk is gone from the file, and
/// must be gone from them too.
struct Live {
    /// `None` after the database was closed to be opened again and the opening failed. Shared
    /// with the calls beginning a transaction on it, which hold no lock meanwhile.
    db: Option<Arc<Engine>>,
    cache: Arc<Cache>,
    staging: Arc<Staging>,
    /// How many times the database was opened, so that two calls that met the same failure
    /// open it again once.
    generation: u64,
}

impl Live {
    /// `db` with a fresh read cache and staging.
    fn new(db: Database, cache_bytes: usize, staged_rows: u32, generation: u64) -> Live {
        // The read cache is sized like redb's page cache: a decoded row is about 400 bytes, a
        // cached bitmap a few hundred on average, an unread counter about 40 (its share is a
        // twentieth of the budget: a page of a hundred counters for every thousand viewers at
        // the default size).
        // Users' orderings take about a third of the budget at 16 bytes an entry.
        let cache = Arc::new(Cache::new(
            cache_bytes / 400,
            cache_bytes / 2048,
            cache_bytes / 800,
            cache_bytes / 48,
        ));
        let staging = Arc::new(Staging::new(staged_rows));
        Live { db: Some(Arc::new(Engine(Some(db)))), cache, staging, generation }
    }

    fn db(&self) -> Result<&Database, Error> {
        self.db.as_deref().map(|engine| &**engine).ok_or_else(closed)
    }
}

/// What a call found open: [`Live`] without the lock.
struct Current {
    db: Option<Arc<Engine>>,
    cache: Arc<Cache>,
    staging: Arc<Staging>,
    generation: u64,
}

/// The error of a call while the file is closed between two openings.
fn closed() -> Error {
    Error::storage(std::io::Error::other(
        "the store file was closed after an I/O error and is not open again yet",
    ))
}

/// How many times a reopening tries to open the file (2 ms apart) while a transaction of the
/// old database holds it.
const REOPEN_TRIES: u32 = 250;

/// redb's builder with the store's page cache.
fn redb_builder(cache_bytes: usize) -> redb::Builder {
    let mut builder = Database::builder();
    builder.set_cache_size(cache_bytes);
    builder
}

/// Whether redb refuses every transaction after an earlier I/O error (it must be reopened).
fn poisoned(e: &redb::TransactionError) -> bool {
    matches!(e, redb::TransactionError::Storage(redb::StorageError::PreviousIo))
}

impl Storage {
    /// Opens or creates a store file; with `verify`, redb checks every page's checksum first.
    /// `staged_rows` is the staging window (storage/staging.rs).
    pub(crate) fn open(
        path: &Path,
        cache_bytes: usize,
        durability: Durability,
        verify: bool,
        staged_rows: u32,
    ) -> Result<Storage, Error> {
        let path = path.to_path_buf();
        let opener = move || {
            let mut builder = redb_builder(cache_bytes);
            builder.set_check_integrity_on_open(verify);
            Ok(builder.create(&path)?)
        };
        Storage::start(Some(Box::new(opener)), None, durability, cache_bytes, staged_rows)
    }

    /// Opens a store file through a disk that fails on demand (tests).
    #[cfg(feature = "testing")]
    pub(crate) fn open_faulty(
        disk: &FaultyDisk,
        cache_bytes: usize,
        durability: Durability,
        staged_rows: u32,
    ) -> Result<Storage, Error> {
        let disk = disk.clone();
        let opener = move || Ok(redb_builder(cache_bytes).create_with_backend(disk.backend()?)?);
        Storage::start(Some(Box::new(opener)), None, durability, cache_bytes, staged_rows)
    }

    /// A store that lives in memory only.
    pub(crate) fn in_memory(cache_bytes: usize, staged_rows: u32) -> Result<Storage, Error> {
        let backend = redb::backends::InMemoryBackend::new();
        let db = redb_builder(cache_bytes).create_with_backend(backend)?;
        Storage::start(None, Some(db), Durability::Immediate, cache_bytes, staged_rows)
    }

    /// The storage of `db`, or of what `opener` opens (which opens it again after an I/O
    /// error; a store in memory has none). Creates the tables and the meta record on first
    /// open, checks the format after, and loads the staging from the staged rows.
    fn start(
        opener: Option<Opener>,
        db: Option<Database>,
        durability: Durability,
        cache_bytes: usize,
        staged_rows: u32,
    ) -> Result<Storage, Error> {
        let db = match (db, &opener) {
            (Some(db), _) => db,
            (None, Some(open)) => open()?,
            (None, None) => return Err(closed()),
        };
        let storage = Storage {
            live: RwLock::new(Live::new(db, cache_bytes, staged_rows, 0)),
            durability,
            opener,
            suspect: AtomicBool::new(false),
            reopening: Mutex::new(()),
            cache_bytes,
            staged_rows,
            change_history: DEFAULT_CHANGE_HISTORY,
        };
        storage.write(|w| w.check_format())?;
        Ok(storage)
    }

    /// Keeps the per-user changes of the last `commits` commits (at least 1).
    pub(crate) fn set_change_history(&mut self, commits: u64) {
        self.change_history = commits.max(1);
    }

    /// The read cache of the open database, for unit tests.
    #[cfg(test)]
    pub(crate) fn cache(&self) -> Arc<Cache> {
        self.read_live().cache.clone()
    }

    /// The staging of the open database, for unit tests.
    #[cfg(test)]
    pub(crate) fn staging(&self) -> Arc<Staging> {
        self.read_live().staging.clone()
    }

    fn read_live(&self) -> std::sync::RwLockReadGuard<'_, Live> {
        self.live.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Begins a transaction with `begin` on the database `at` holds, or on the file opened
    /// again; returns it with what it began on. redb refuses every transaction after an I/O
    /// error until the file is opened again (and a read transaction begun on such a database
    /// fails at its first page not in memory): after a call failed in storage, or when redb
    /// refuses, the file is closed and opened again (redb repairs it to its last commit) and
    /// the transaction begun on it. If the disk still fails, so does the call, and the next one
    /// tries again. No lock is held while redb waits for its write lock.
    fn begin<T>(
        &self,
        at: Current,
        begin: impl Fn(&Database) -> Result<T, redb::TransactionError>,
    ) -> Result<(T, Current), Error> {
        if let Some(db) = at.db.as_ref().filter(|_| !self.suspect.load(Ordering::Acquire)) {
            match begin(db) {
                Ok(txn) => return Ok((txn, at)),
                Err(e) if !poisoned(&e) => return Err(e.into()),
                Err(_) => {}
            }
        }
        // The old database must be closed to open the file again: `at` lets go of it.
        let generation = at.generation;
        drop(at);
        self.reopen(generation)?;
        let now = self.current();
        let db = now.db.as_ref().ok_or_else(closed)?;
        Ok((begin(db)?, now))
    }

    /// The open database (if any), its cache and staging, and how many times it was opened.
    fn current(&self) -> Current {
        let live = self.read_live();
        Current {
            db: live.db.clone(),
            cache: live.cache.clone(),
            staging: live.staging.clone(),
            generation: live.generation,
        }
    }

    /// Closes the database and opens it again, unless another call did since `generation`.
    /// The file allows one open database, and a transaction still running on the old one keeps
    /// it open until it ends, so the opening is tried again for a while. Meanwhile no lock is
    /// held that other calls wait for: a call that finds the database closed while another
    /// opens it fails at once with `STORAGE` (it may be the very call whose transaction keeps
    /// the old database open).
    fn reopen(&self, generation: u64) -> Result<(), Error> {
        let Some(opener) = &self.opener else { return Ok(()) };
        let _reopening = match self.reopening.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Err(closed()),
        };
        {
            let mut live = self.live.write().unwrap_or_else(|e| e.into_inner());
            if live.generation != generation {
                return Ok(());
            }
            drop(live.db.take());
        }
        let mut tries = 0;
        let db = loop {
            match opener() {
                Ok(db) => break db,
                Err(e) if tries >= REOPEN_TRIES => return Err(e),
                Err(_) => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
            }
        };
        let fresh = Live::new(db, self.cache_bytes, self.staged_rows, generation + 1);
        // The staging is rebuilt from the file before any call sees it.
        let txn = fresh.db()?.begin_write()?;
        self.write_in(txn, &fresh.cache, &fresh.staging, |w| w.check_format())?;
        *self.live.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        self.suspect.store(false, Ordering::Release);
        Ok(())
    }

    /// Runs `f` in one write transaction and commits it if `f` succeeds; on an error nothing
    /// of it is written.
    pub(crate) fn write<R>(
        &self,
        f: impl FnOnce(&mut Writer<'_>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let (txn, at) = self.begin(self.current(), |db| db.begin_write())?;
        self.write_in(txn, &at.cache, &at.staging, f)
    }

    /// [`Storage::write`] in a transaction begun on the database of `cache` and `staging`.
    fn write_in<R>(
        &self,
        mut txn: redb::WriteTransaction,
        cache: &Cache,
        staging: &Staging,
        f: impl FnOnce(&mut Writer<'_>) -> Result<R, Error>,
    ) -> Result<R, Error> {
        txn.set_durability(self.durability.to_redb())?;
        let (out, touched, staged) = {
            let mut writer = Writer::new(&txn, staging, self.change_history)?;
            if staging.is_stale() {
                // First write since open, or since a commit whose staged changes were applied
                // did not reach redb: the staging is rebuilt from the last commit's staged rows.
                let rows = writer.staged_rows()?;
                let meta = writer.meta();
                staging.reset(meta.seq, meta.staged_from, rows);
            }
            let out = f(&mut writer)?;
            let (touched, staged) = writer.finish()?;
            (out, touched, staged)
        };
        if touched.is_empty() {
            txn.commit()?;
            return Ok(out);
        }
        // The read cache's commit protocol (storage/cache.rs): nothing this commit touches stays
        // cached while it becomes visible.
        let removed = cache.begin_commit(&touched);
        // The staging gets the commit's changes just before redb makes them visible, tagged with
        // the commit's number, which no earlier snapshot has.
        let seq = touched.meta.as_ref().map(|meta| meta.seq);
        let staged = match (staged.is_empty(), seq) {
            (false, Some(seq)) => {
                staging.commit(seq, staged);
                true
            }
            _ => false,
        };
        let committed = txn.commit();
        if staged && committed.is_ok() {
            staging.committed();
        }
        cache.end_commit(touched, removed, committed.is_ok());
        committed?;
        Ok(out)
    }

    /// Makes every commit so far durable: an empty commit with immediate durability, which is
    /// what persists commits made with [`Durability::None`].
    pub(crate) fn sync(&self) -> Result<(), Error> {
        let (mut txn, _) = self.begin(self.current(), |db| db.begin_write())?;
        txn.set_durability(redb::Durability::Immediate)?;
        txn.commit()?;
        Ok(())
    }

    /// Rewrites the file to give back free space (pages copy-on-write left behind).
    pub(crate) fn compact(&mut self) -> Result<bool, Error> {
        let generation = self.current().generation;
        if *self.suspect.get_mut() {
            self.reopen(generation)?;
        }
        let live = self.live.get_mut().unwrap_or_else(|e| e.into_inner());
        // `&mut self`: no call is beginning a transaction, so no one else holds the database.
        let db = live.db.as_mut().and_then(Arc::get_mut).ok_or_else(closed)?;
        Ok(db.compact()?)
    }

    /// Notes an error of a call (`DialogStore` notes every one): after a failure in storage
    /// (a read's too) redb may refuse the database from now on, and the next call opens the
    /// file again before it begins.
    pub(crate) fn note(&self, e: &Error) {
        if matches!(e, Error::Storage { .. }) && self.opener.is_some() {
            self.suspect.store(true, Ordering::Release);
        }
    }

    /// A read snapshot of the last commit.
    pub(crate) fn snapshot(&self) -> Result<Snapshot, Error> {
        // The cache's version is taken before the read transaction begins (storage/cache.rs).
        let at = self.current();
        let (before, generation) = (at.cache.before_read(), at.generation);
        let (txn, at) = self.begin(at, |db| db.begin_read())?;
        // Reopened meanwhile: the fresh cache's version was not taken before the transaction,
        // and this snapshot reads without the cache.
        let view = (at.generation == generation).then(|| at.cache.view(before)).flatten();
        Ok(Snapshot::new(txn, at.cache, at.staging, view))
    }
}
