//! Calls back into the caller's code from inside the storage shield: a panic there is the
//! caller's and is resumed, not turned into `CORRUPTED`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use crate::error::Error;
use crate::storage::shield;

/// Runs `f` inside [`shield`] where `f` calls back into the caller's code (the closure given to
/// [`DialogStore::write`] or `for_each_*`) through [`Caller::call`]: a panic there is the
/// caller's, so it ends what `f` was doing (a write transaction aborts) and is resumed past the
/// shield instead of becoming `CORRUPTED`.
pub(crate) fn shield_calling<R>(
    f: impl FnOnce(&mut Caller) -> Result<R, Error>,
) -> Result<R, Error> {
    let mut caller = Caller { panic: None };
    let out = shield(|| f(&mut caller));
    if let Some(payload) = caller.panic {
        resume_unwind(payload);
    }
    out
}

/// The caller's code as [`shield_calling`] runs it.
pub(crate) struct Caller {
    panic: Option<Box<dyn std::any::Any + Send>>,
}

impl Caller {
    pub(crate) fn call<T>(&mut self, g: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
        catch_unwind(AssertUnwindSafe(g)).unwrap_or_else(|payload| {
            self.panic = Some(payload);
            Err(Error::corrupted("the caller's closure panicked"))
        })
    }
}
