//! Where the store reads the time for `created_at` and `updated_at`: the system clock, or a
//! [`ManualClock`] for tests and data generators.

use std::sync::atomic::{AtomicI64, Ordering};

/// Where the store reads the time for `created_at` and `updated_at`.
pub trait Clock: Send + Sync + 'static {
    /// Unix seconds now.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

/// A clock that says what it is told, for tests and data generators.
///
/// ```
/// use std::sync::Arc;
/// use dialogstore::{DialogStore, ManualClock, NewDialog, UserId};
/// let clock = Arc::new(ManualClock::new(1_567_963_451));
/// let store = DialogStore::builder().clock(clock.clone()).in_memory()?;
/// let d = store.create_dialog(UserId(1), NewDialog::public("News"))?;
/// assert_eq!(d.created_at, 1_567_963_451);
/// clock.advance(60);
/// # Ok::<(), dialogstore::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock standing at `secs`.
    pub fn new(secs: i64) -> ManualClock {
        ManualClock(AtomicI64::new(secs))
    }

    /// Moves the clock to `secs`.
    pub fn set(&self, secs: i64) {
        self.0.store(secs, Ordering::SeqCst);
    }

    /// Moves the clock forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
