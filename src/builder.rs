//! Opening a store: [`Builder`] and its options, and the constructors of [`DialogStore`].

use std::path::Path;
use std::sync::Arc;

use crate::error::Error;
use crate::model::{Clock, SystemClock};
use crate::ops::Settings;
use crate::query::PathChoice;
use crate::storage::{shield, Durability, Storage};
use crate::store::Background;
use crate::store::DialogStore;

/// The default redb page cache: 64 MiB (redb's own default is 1 GiB).
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// Options for opening a store.
pub struct Builder {
    app_id: u64,
    muc_domain: String,
    cache_bytes: usize,
    durability: Durability,
    verify: bool,
    staged_rows: u32,
    change_history: u64,
    clock: Arc<dyn Clock>,
    paths: PathChoice,
    background_warm_up: bool,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            app_id: 0,
            muc_domain: "muc.chat.quickblox.com".to_owned(),
            cache_bytes: DEFAULT_CACHE_BYTES,
            durability: Durability::Immediate,
            verify: false,
            staged_rows: crate::storage::DEFAULT_STAGED_ROWS,
            change_history: crate::storage::DEFAULT_CHANGE_HISTORY,
            clock: Arc::new(SystemClock),
            paths: PathChoice::Auto,
            background_warm_up: true,
        }
    }
}

impl Builder {
    /// The application id in `xmpp_room_jid` (`{app_id}_{_id}@{muc_domain}`). Default 0.
    pub fn app_id(mut self, app_id: u64) -> Builder {
        self.app_id = app_id;
        self
    }

    /// The MUC domain in `xmpp_room_jid`. Default `muc.chat.quickblox.com`.
    pub fn muc_domain(mut self, domain: impl Into<String>) -> Builder {
        self.muc_domain = domain.into();
        self
    }

    /// The page cache in bytes. Default [`DEFAULT_CACHE_BYTES`] (64 MiB).
    pub fn cache_size(mut self, bytes: usize) -> Builder {
        self.cache_bytes = bytes;
        self
    }

    /// How commits reach the disk. Default [`Durability::Immediate`].
    pub fn durability(mut self, durability: Durability) -> Builder {
        self.durability = durability;
        self
    }

    /// Whether opening a store file verifies the checksum of every page in it. Default `false`.
    ///
    /// Rows, bitmaps and classes carry their own checksum, checked on every read, and redb verifies
    /// every page when it opens a file that was not closed cleanly (after a crash). A file closed
    /// cleanly and damaged afterwards (a bad disk, a bad copy) is otherwise trusted: damage to a
    /// key or a counter can give wrong answers, which [`DialogStore::check_integrity`] catches only
    /// where an index disagrees with the rows. With this set, such a file fails to open with
    /// `CORRUPTED` instead. It reads the whole file, which takes far longer than a plain open on
    /// a large store.
    pub fn verify_on_open(mut self, verify: bool) -> Builder {
        self.verify = verify;
        self
    }

    /// How many of the newest rows keep their user-bitmap entries and private pairs in memory
    /// before one commit writes them all to the file in key order. Default 32,768; at least 1.
    ///
    /// A create adds its row to the bitmap of every occupant and, for a private dialog, its
    /// pair to the pair index. Written one commit at a time, those entries fall at random places
    /// in large B-trees, and each commit rewrites most of the pages they touch; staged, they are
    /// written once per window, thousands to a page. Nothing is lost if the process dies: the
    /// staged rows are in the file, and opening a store reads them again to rebuild what was
    /// staged. A larger window makes batched creates faster and opening
    /// slower; 1 writes every row's entries with its own commit, as an index without staging
    /// would.
    pub fn staged_rows(mut self, rows: u32) -> Builder {
        self.staged_rows = rows.max(1);
        self
    }

    /// How many commits of history the change feed keeps
    /// ([`DialogStore::changes_since`]): a [`ChangeCursor`](crate::ChangeCursor) made
    /// more than about this many commits ago is `CURSOR_EXPIRED`, and its client syncs again
    /// from [`ChangeCursor::start`](crate::ChangeCursor::start). Default 1,048,576; at least 1.
    ///
    /// What the history costs is one small entry for each user who left a dialog or had
    /// their unread count cleared by `mark_read`; the dialogs' own changes take one entry per
    /// dialog however old, and never expire. The history is trimmed in steps of a sixteenth,
    /// so a cursor may stay good up to that much longer than the count says, never shorter.
    pub fn change_history(mut self, commits: u64) -> Builder {
        self.change_history = commits.max(1);
        self
    }

    /// The clock for `created_at` and `updated_at`. Default the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Builder {
        self.clock = clock;
        self
    }

    /// Which access paths the planner takes. Default [`PathChoice::Auto`], its own choice by
    /// cost; the others force one kind of path, for tests that compare them.
    pub fn path_choice(mut self, paths: PathChoice) -> Builder {
        self.paths = paths;
        self
    }

    /// Whether a store with more than 65,536 dialogs builds what [`DialogStore::warm_up`]
    /// builds on a thread of its own once opened. Default true. Until it is done, queries take
    /// paths that need none of it (a store that large never builds a column during a query:
    /// at a million dialogs that costs a few hundred milliseconds), so the first answer after
    /// opening comes in milliseconds. Dropping the last handle of the store (and
    /// [`DialogStore::compact`]) waits for the thread. Turn it off to call `warm_up` yourself,
    /// or not at all.
    pub fn background_warm_up(mut self, on: bool) -> Builder {
        self.background_warm_up = on;
        self
    }

    /// Opens the store file at `path`, creating it if it does not exist.
    pub fn open(self, path: impl AsRef<Path>) -> Result<DialogStore, Error> {
        let path = path.as_ref();
        let storage = shield(|| {
            Storage::open(path, self.cache_bytes, self.durability, self.verify, self.staged_rows)
        })
        .map_err(|e| e.in_file(Some(path)))?;
        Ok(self.finish(storage, Some(path)))
    }

    /// Opens the store file of `disk`, a disk that fails on demand, for tests of what the store
    /// does when writes, syncs or space fail (only with the feature `testing`). The store opens
    /// the file again through `disk` after a failure, as it opens a plain file again.
    #[cfg(feature = "testing")]
    pub fn open_faulty(self, disk: &crate::storage::FaultyDisk) -> Result<DialogStore, Error> {
        let file = disk.is_file().then(|| disk.path());
        let storage = shield(|| {
            Storage::open_faulty(disk, self.cache_bytes, self.durability, self.staged_rows)
        })
        .map_err(|e| e.in_file(file))?;
        Ok(self.finish(storage, file))
    }

    /// Opens a store that lives in memory and is gone when dropped.
    pub fn in_memory(self) -> Result<DialogStore, Error> {
        let storage = shield(|| Storage::in_memory(self.cache_bytes, self.staged_rows))?;
        Ok(self.finish(storage, None))
    }

    /// The store of `storage`, whose file is `path` (`None` in memory).
    fn finish(self, mut storage: Storage, path: Option<&Path>) -> DialogStore {
        storage.set_change_history(self.change_history);
        let storage = Arc::new(storage);
        let background = match self.background_warm_up {
            true => Background::start(&storage),
            false => Background::default(),
        };
        DialogStore {
            background: Arc::new(background),
            storage,
            settings: Arc::new(Settings {
                app_id: self.app_id,
                muc_domain: self.muc_domain.into(),
                clock: self.clock,
            }),
            path: path.map(Path::to_path_buf),
            paths: self.paths,
            commits: Default::default(),
        }
    }
}

impl DialogStore {
    /// Options for opening a store.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Opens the store file at `path` with default options, creating it if needed.
    pub fn open(path: impl AsRef<Path>) -> Result<DialogStore, Error> {
        Builder::default().open(path)
    }

    /// A store in memory, for tests.
    pub fn in_memory() -> Result<DialogStore, Error> {
        Builder::default().in_memory()
    }
}
