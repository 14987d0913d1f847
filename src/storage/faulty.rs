//! A disk that fails on demand, for tests (feature `testing`): [`FaultyDisk`] wraps a store
//! file through redb's backend hook and makes its writes, syncs and resizes fail with EIO from a
//! chosen call on, or with a full disk, and its reads fail with EIO, until it is healed.

use std::fs::OpenOptions;
use std::io;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use redb::backends::{FileBackend, InMemoryBackend};
use redb::{BackendError, StorageBackend};

/// The failure plan of a store file, shared by every backend opened on it (the store opens the
/// file again after a failure). Clones share the plan.
///
/// ```
/// use dialogstore::{DialogStore, FaultyDisk, NewDialog, UserId};
/// let dir = tempfile::tempdir()?;
/// let disk = FaultyDisk::new(dir.path().join("store.redb"));
/// let store = DialogStore::builder().open_faulty(&disk)?;
/// disk.fail_from(0); // the next write, sync or resize fails, and every one after it
/// let err = store.create_dialog(UserId(1), NewDialog::private(UserId(2))).unwrap_err();
/// assert_eq!(err.code(), "STORAGE");
/// disk.heal();
/// store.create_dialog(UserId(1), NewDialog::private(UserId(2)))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct FaultyDisk {
    path: PathBuf,
    /// The bytes of a disk in memory, kept across the store's reopens; `None`: the file.
    memory: Option<Arc<InMemoryBackend>>,
    plan: Arc<Plan>,
}

#[derive(Debug)]
struct Plan {
    /// Writes, syncs and resizes made so far.
    calls: AtomicU64,
    /// The call (by `calls`) from which every call fails; `u64::MAX`: none.
    fail_at: AtomicU64,
    /// The call (by `calls`) from which the disk is full: no write lands and the file cannot
    /// grow; `u64::MAX`: never.
    full_at: AtomicU64,
    /// Whether reads fail (EIO) until healed.
    reads_fail: AtomicBool,
    /// Whether a call has failed since the last heal.
    failed: AtomicBool,
}

impl FaultyDisk {
    /// A disk that works, for the store file at `path`.
    pub fn new(path: impl AsRef<Path>) -> FaultyDisk {
        FaultyDisk::with(path.as_ref().to_path_buf(), None)
    }

    /// A disk in memory (no file; [`path`](FaultyDisk::path) is `:memory:`), which keeps its
    /// bytes while the store opens it again: for fuzzing, where a file per input is too slow.
    pub fn in_memory() -> FaultyDisk {
        FaultyDisk::with(PathBuf::from(":memory:"), Some(Arc::new(InMemoryBackend::new())))
    }

    fn with(path: PathBuf, memory: Option<Arc<InMemoryBackend>>) -> FaultyDisk {
        FaultyDisk {
            path,
            memory,
            plan: Arc::new(Plan {
                calls: AtomicU64::new(0),
                fail_at: AtomicU64::new(u64::MAX),
                full_at: AtomicU64::new(u64::MAX),
                reads_fail: AtomicBool::new(false),
                failed: AtomicBool::new(false),
            }),
        }
    }

    /// The store file (`:memory:` for a disk in memory).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the disk is a file (not [`in_memory`](FaultyDisk::in_memory)).
    pub fn is_file(&self) -> bool {
        self.memory.is_none()
    }

    /// Makes the `n`-th write, sync or resize from now (0: the next one) fail with EIO, and
    /// every one after it until [`heal`](FaultyDisk::heal).
    pub fn fail_from(&self, n: u64) {
        let now = self.plan.calls.load(Ordering::SeqCst);
        self.plan.fail_at.store(now.saturating_add(n), Ordering::SeqCst);
    }

    /// Makes the disk full from the `n`-th write, sync or resize from now (0: the next one): until
    /// healed, every write fails with ENOSPC (a store file is sparse: a page written for the
    /// first time needs a block of its own) and so does growing the file; syncs work.
    pub fn fill_from(&self, n: u64) {
        let now = self.plan.calls.load(Ordering::SeqCst);
        self.plan.full_at.store(now.saturating_add(n), Ordering::SeqCst);
    }

    /// Makes every read fail with EIO until healed (reads are not counted by
    /// [`io_calls`](FaultyDisk::io_calls)).
    pub fn fail_reads(&self) {
        self.plan.reads_fail.store(true, Ordering::SeqCst);
    }

    /// The disk works again.
    pub fn heal(&self) {
        self.plan.reads_fail.store(false, Ordering::SeqCst);
        self.plan.fail_at.store(u64::MAX, Ordering::SeqCst);
        self.plan.full_at.store(u64::MAX, Ordering::SeqCst);
        self.plan.failed.store(false, Ordering::SeqCst);
    }

    /// Writes, syncs and resizes made so far: the range [`fail_from`](FaultyDisk::fail_from)
    /// sweeps.
    pub fn io_calls(&self) -> u64 {
        self.plan.calls.load(Ordering::SeqCst)
    }

    /// Whether a call failed since the last [`heal`](FaultyDisk::heal).
    pub fn has_failed(&self) -> bool {
        self.plan.failed.load(Ordering::SeqCst)
    }

    /// A backend on the file (or the memory) following this plan.
    pub(crate) fn backend(&self) -> io::Result<FaultyBackend> {
        let medium = match &self.memory {
            Some(memory) => Medium::Memory(memory.clone()),
            None => {
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&self.path)?;
                Medium::File(FileBackend::new(file).map_err(io::Error::other)?)
            }
        };
        Ok(FaultyBackend { file: medium, plan: self.plan.clone() })
    }
}

/// redb's file backend (or a shared in-memory one) with [`FaultyDisk`]'s plan in front of it.
#[derive(Debug)]
pub(crate) struct FaultyBackend {
    file: Medium,
    plan: Arc<Plan>,
}

/// Where the bytes are.
#[derive(Debug)]
enum Medium {
    File(FileBackend),
    Memory(Arc<InMemoryBackend>),
}

impl std::ops::Deref for Medium {
    type Target = dyn StorageBackend;

    fn deref(&self) -> &(dyn StorageBackend + 'static) {
        match self {
            Medium::File(file) => file,
            Medium::Memory(memory) => &**memory,
        }
    }
}

impl FaultyBackend {
    /// Counts a call and fails it if the plan says so; `needs_space` for a write or a resize
    /// that grows the file, which a full disk refuses.
    fn check(&self, needs_space: bool) -> io::Result<()> {
        let call = self.plan.calls.fetch_add(1, Ordering::SeqCst);
        if call >= self.plan.fail_at.load(Ordering::SeqCst) {
            self.plan.failed.store(true, Ordering::SeqCst);
            return Err(io::Error::other("injected I/O error (EIO)"));
        }
        if needs_space && call >= self.plan.full_at.load(Ordering::SeqCst) {
            self.plan.failed.store(true, Ordering::SeqCst);
            return Err(io::Error::new(io::ErrorKind::StorageFull, "injected full disk (ENOSPC)"));
        }
        Ok(())
    }
}

impl StorageBackend for FaultyBackend {
    fn len(&self) -> Result<u64, io::Error> {
        self.file.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        if self.plan.reads_fail.load(Ordering::SeqCst) {
            self.plan.failed.store(true, Ordering::SeqCst);
            return Err(io::Error::other("injected read error (EIO)"));
        }
        self.file.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.check(len > self.file.len()?)?;
        self.file.set_len(len)
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        self.check(false)?;
        self.file.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.check(true)?;
        self.file.write(offset, data)
    }

    fn close(&self) -> Result<(), io::Error> {
        self.file.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}
