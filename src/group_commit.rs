//! Group commit (SPEC section 11): the single write calls of many threads share transactions.
//!
//! A call puts its operation in the queue and waits. When no commit is in flight, the first
//! waiting call becomes the leader: it takes every operation queued so far, runs them in order
//! in one write transaction (one [`WriteBatch`]), commits (one fsync for all of them), hands each
//! call its own result and wakes the others; one of the calls that queued meanwhile leads the
//! next group. A single caller pays a lock and an allocation more than a transaction of its own;
//! 64 callers share one fsync instead of waiting for 64 in turn.
//!
//! An operation that fails (permission, validation, not found) writes nothing (see
//! [`DialogStore::write`](crate::DialogStore::write)), so it fails alone and the group commits without it. A failure in
//! storage (`STORAGE`, `CORRUPTED`), or a commit that fails, fails every call of the group, and
//! nothing of the group is written. A batch given to `DialogStore::write` is not grouped: it
//! stays a transaction of its own, atomic as a unit.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::batch::WriteBatch;
use crate::error::Error;

/// The most calls one group commits; the rest wait for the next.
const MAX_GROUP: usize = 4096;

/// The calls waiting for a commit, shared by the handles of one store.
#[derive(Default)]
pub(crate) struct CommitQueue {
    state: Mutex<Queue>,
    /// Signalled when a group is done.
    done: Condvar,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Box<dyn Call>>,
    /// Whether a leader is committing a group.
    committing: bool,
    /// Groups committed and calls they held, for `DialogStore::stats`.
    groups: u64,
    calls: u64,
}

/// One queued call, its result type erased.
trait Call: Send {
    /// Runs the operation in the group's batch and keeps its result.
    fn run(&mut self, batch: &mut WriteBatch<'_, '_>);
    /// Hands the call its result: its own, or `failed` when the group did not commit.
    fn answer(self: Box<Self>, failed: Option<&Error>);
}

/// Where a call finds its result.
type Slot<R> = Arc<Mutex<Option<Result<R, Error>>>>;

struct Queued<F, R> {
    op: Option<F>,
    out: Option<Result<R, Error>>,
    slot: Slot<R>,
}

impl<F, R> Call for Queued<F, R>
where
    F: FnOnce(&mut WriteBatch<'_, '_>) -> Result<R, Error> + Send,
    R: Send,
{
    fn run(&mut self, batch: &mut WriteBatch<'_, '_>) {
        if let Some(op) = self.op.take() {
            self.out = Some(op(batch));
        }
    }

    fn answer(self: Box<Self>, failed: Option<&Error>) {
        let out = match (failed, self.out) {
            (Some(e), _) => Err(copy_failure(e)),
            (None, Some(out)) => out,
            (None, None) => Err(Error::corrupted("a grouped write was never run")),
        };
        *lock(&self.slot) = Some(out);
    }
}

/// The group's failure for one of its calls: a group fails only in storage.
fn copy_failure(e: &Error) -> Error {
    e.engine_failure_copy().unwrap_or_else(|| {
        Error::storage(std::io::Error::other(format!("the group commit failed: {e}")))
    })
}

/// Locks, taking over a lock a panicking thread left poisoned: the queue's state is changed
/// only in steps that cannot panic half way.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl CommitQueue {
    /// `(groups, calls)` committed (or failed) so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        let q = lock(&self.state);
        (q.groups, q.calls)
    }
}

/// A leader's turn: when it ends, even by a panic, every call of the group is answered (with
/// `failed`, if set) and the next waiting call may lead.
struct Turn<'q> {
    queue: &'q CommitQueue,
    group: Vec<Box<dyn Call>>,
    /// What the group's calls get instead of their own results: a panic's error until the
    /// commit returns, then the commit's error, if any.
    failed: Option<Error>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        for call in self.group.drain(..) {
            call.answer(self.failed.as_ref());
        }
        lock(&self.queue.state).committing = false;
        self.queue.done.notify_all();
    }
}

impl CommitQueue {
    /// Runs `op` as a single write call: in a group with the calls of other threads, which
    /// `commit` runs in one transaction (it calls the function it is given with the batch).
    /// Returns once the group is committed (durable with immediate durability).
    pub(crate) fn call<R, F>(
        &self,
        op: F,
        commit: impl Fn(&mut dyn FnMut(&mut WriteBatch<'_, '_>)) -> Result<(), Error>,
    ) -> Result<R, Error>
    where
        F: FnOnce(&mut WriteBatch<'_, '_>) -> Result<R, Error> + Send + 'static,
        R: Send + 'static,
    {
        let slot: Slot<R> = Arc::new(Mutex::new(None));
        let mut q = lock(&self.state);
        q.waiting.push(Box::new(Queued { op: Some(op), out: None, slot: slot.clone() }));
        loop {
            if let Some(out) = lock(&slot).take() {
                return out;
            }
            if q.committing {
                q = self.done.wait(q).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            q.committing = true;
            let take = q.waiting.len().min(MAX_GROUP);
            let group: Vec<_> = q.waiting.drain(..take).collect();
            q.groups += 1;
            q.calls += group.len() as u64;
            drop(q);
            let panicked = Error::corrupted("a write committed in the same group panicked");
            let mut turn = Turn { queue: self, group, failed: Some(panicked) };
            let committed = commit(&mut |batch| {
                for call in &mut turn.group {
                    call.run(batch);
                }
            });
            turn.failed = committed.err();
            // Every call answered; the next group may start.
            drop(turn);
            q = lock(&self.state);
        }
    }
}
