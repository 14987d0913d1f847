//! Damaged store files (no input makes the store panic; a damaged file never
//! gives a wrong answer presented as right).
//!
//! A store file with dialogs of every type, messages, unread counts, a leave, a delete, a
//! declared class and an import is closed cleanly; then, round after round, a copy of it is
//! damaged at a random place (deterministic seed): one bit flipped among the bytes in use or
//! anywhere, one byte overwritten, a page zeroed, or the file cut short. The copy is opened
//! and read (`get_dialog` of every dialog by two users, `list_dialogs` of three users with five
//! queries, `check_integrity`) and written once, and:
//!
//! - nothing panics out of the store (each round runs under `catch_unwind` to say where);
//! - every error has the code `CORRUPTED` or `STORAGE`;
//! - opened with [`Builder::verify_on_open`](dialogstore::Builder::verify_on_open), every round
//!   either fails to open or gives exactly the undamaged store's answers;
//! - opened plainly (the default, which reads no page it is not asked for), an answer that
//!   differs from the undamaged store's is a detected error, or the damage is caught by
//!   `check_integrity` or by a verifying open. Which of these happened is counted and printed.
//!
//! 200 rounds by default; `DIALOGSTORE_CORRUPT_ROUNDS=N` for more.

mod common;

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use common::*;
use dialogstore::{
    CustomData, DataValue, Dialog, DialogId, DialogStore, DialogUpdate, ManualClock, NewDialog,
    Query, UserId,
};

const VIEWERS: [UserId; 3] = [UserId(0), UserId(20), UserId(3)];
const QUERIES: [&str; 5] = [
    "",
    "type=2&sort_asc=created_at",
    "name[ctn]=team 1",
    "count=1",
    "sort_desc=updated_at&limit=7&skip=3",
];

/// Writes the undamaged store and returns the ids of its dialogs (one of them deleted).
fn fill(path: &Path) -> Vec<DialogId> {
    let clock = Arc::new(ManualClock::new(T0));
    let store = builder(&clock).open(path).expect("create the store");
    store.declare_class(&score_table()).expect("declare");
    let mut ids = vec![store.import(Dialog::from_json(LIST_ITEM_1).expect("seed")).unwrap().id];
    for i in 0..60u64 {
        clock.advance(1);
        let owner = UserId(i % 7);
        let new = match i % 3 {
            0 => NewDialog::group(format!("team {i}"), [UserId(i % 5 + 10), UserId(20)]),
            1 => NewDialog::private(UserId(100 + i)),
            _ => NewDialog::public(format!("news {i}")),
        };
        let d = store.create_dialog(owner, new).expect("create");
        store.post(d.id, owner, &format!("m{i}"), T0 + i as i64);
        ids.push(d.id);
    }
    let data = CustomData::new("ScoreTable").field("progress", DataValue::Integer(56));
    store.update_dialog(UserId(0), ids[1], DialogUpdate::default().data(data)).expect("update");
    store.delete_dialogs(UserId(0), &[ids[22]], true).expect("delete");
    store.delete_dialogs(UserId(101), &[ids[2]], false).expect("leave");
    store.mark_read(ids[1], UserId(20)).expect("mark_read");
    ids
}

/// One answer: the value's debug form, or the error's code.
type Answer = Result<String, String>;

thread_local! {
    /// Errors of this test's thread that were a panic inside redb, turned into `CORRUPTED`.
    static CAUGHT_PANICS: Cell<u64> = const { Cell::new(0) };
    /// Plain opens whose writes turned a clean `check_integrity` dirty.
    static WRITES_SPREAD: Cell<u64> = const { Cell::new(0) };
}

fn answer<T: std::fmt::Debug>(r: Result<T, dialogstore::Error>) -> Answer {
    r.map(|v| format!("{v:?}")).map_err(|e| {
        if e.to_string().contains("the storage engine panicked") {
            CAUGHT_PANICS.set(CAUGHT_PANICS.get() + 1);
        }
        e.code().to_owned()
    })
}

/// Every read the rounds compare, in a fixed order; the integrity check last.
fn answers(store: &DialogStore, ids: &[DialogId]) -> Vec<Answer> {
    let mut out = Vec::new();
    for id in ids {
        for user in [UserId(0), UserId(20)] {
            out.push(answer(store.get(user, *id)));
        }
    }
    for q in QUERIES {
        let q: Query = q.parse().expect("query");
        for user in VIEWERS {
            out.push(answer(store.list_dialogs(user, &q)));
        }
    }
    out.push(answer(store.check_integrity().map(|r| r.is_clean())));
    out
}

fn is_clean_error(a: &Answer) -> bool {
    matches!(a, Err(code) if code == "CORRUPTED" || code == "STORAGE")
}

/// How one opening of a damaged copy went.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// Open failed with a clean error.
    RefusedToOpen,
    /// Every answer as from the undamaged store.
    Identical,
    /// Some answers were clean errors (or a dirty integrity report), the rest identical.
    Detected,
    /// Some answer differed from the undamaged store's without being an error;
    /// `integrity_caught` says whether `check_integrity` reported the damage.
    Wrong { integrity_caught: bool, first: String },
}

/// Opens the damaged copy, reads everything, writes once. Panics on an unclean error code.
fn try_copy(path: &Path, ids: &[DialogId], want: &[Answer], verify: bool) -> Outcome {
    let clock = Arc::new(ManualClock::new(T0 + 1_000));
    let store = match builder(&clock).verify_on_open(verify).open(path) {
        Ok(store) => store,
        Err(e) => {
            assert!(is_clean_error(&answer::<()>(Err(e))), "open failed with an unclean code");
            return Outcome::RefusedToOpen;
        }
    };
    let got = answers(&store, ids);
    // The store takes writes or refuses them cleanly: a call, and a batch that goes on past its
    // operations' errors, as the docs allow. Nothing panics either way.
    let write = answer(store.record_message(ids[1], UserId(0), msg("after", "x", T0 + 1_000)));
    let batch = answer(store.write(|b| {
        let _ = b.create_dialog(UserId(0), NewDialog::group("after", [UserId(20)]));
        let _ = b.record_message(ids[3], UserId(2), msg("after-2", "y", T0 + 1_001));
        let _ = b.delete_dialogs(UserId(0), &[ids[1]], true);
        Ok(())
    }));
    for code in [&write, &batch].into_iter().filter_map(|a| a.as_ref().err()) {
        assert!(matches!(code.as_str(), "CORRUPTED" | "STORAGE" | "NOT_FOUND" | "ACCESS_ERROR"));
    }
    // Writes leave a consistent store consistent, unless they read damage nothing could see:
    // a damaged branch key of a B-tree hides an entry from a lookup but not from the scan of
    // `check_integrity`, and the write then stores a second one. Counted, not a failure, for a
    // plain open; a verifying open has checked every page, so it must not happen there.
    let consistent_before = got.last().map(Result::as_deref) == Some(Ok("true"));
    let after = answer(store.check_integrity().map(|r| r.is_clean()));
    let writes_spread = consistent_before && after.as_deref() == Ok("false");
    if writes_spread {
        WRITES_SPREAD.set(WRITES_SPREAD.get() + 1);
        assert!(!verify, "writes after a verifying open left the store inconsistent");
    }
    let mut detected = false;
    let mut first_wrong = None;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g == w {
            continue;
        }
        let integrity_dirty = i == got.len() - 1 && g.as_deref() == Ok("false");
        if is_clean_error(g) || integrity_dirty {
            detected = true;
        } else if first_wrong.is_none() {
            first_wrong = Some(format!("answer {i}: {g:?}, undamaged {w:?}"));
        }
    }
    match first_wrong {
        Some(first) => {
            let last = got.last().expect("the integrity answer");
            let integrity_caught = last.as_deref() == Ok("false") || is_clean_error(last);
            Outcome::Wrong { integrity_caught, first }
        }
        None if detected => Outcome::Detected,
        None => Outcome::Identical,
    }
}

/// Damages `good` in one of the ways of the module docs; says what it did.
fn damage(good: &[u8], in_use: &[usize], rng: &mut Rng, round: u64) -> (Vec<u8>, String) {
    let mut bytes = good.to_vec();
    let anywhere = rng.below(good.len() as u64) as usize;
    let used = *rng.pick(in_use);
    let what = match round % 8 {
        0..=3 => {
            let bit = 1u8 << rng.below(8);
            bytes[used] ^= bit;
            format!("bit {bit:#04x} of byte {used} (in use) flipped")
        }
        4 => {
            let bit = 1u8 << rng.below(8);
            bytes[anywhere] ^= bit;
            format!("bit {bit:#04x} of byte {anywhere} flipped")
        }
        5 => {
            let value = (rng.below(255) + 1) as u8;
            bytes[used] = bytes[used].wrapping_add(value);
            format!("byte {used} (in use) overwritten")
        }
        6 => {
            let page = used / 4096 * 4096;
            bytes[page..(page + 4096).min(good.len())].fill(0);
            format!("page at {page} zeroed")
        }
        _ => {
            // Not to zero bytes: an empty file is a new store (see below).
            let len = anywhere.max(1);
            bytes.truncate(len);
            format!("cut to {len} bytes")
        }
    };
    (bytes, what)
}

#[derive(Default)]
struct Tally {
    /// The first wrong answers of a plain open, to print.
    examples: Vec<String>,
    refused: u64,
    identical: u64,
    detected: u64,
    wrong_caught_by_integrity: u64,
    wrong_caught_by_verify: u64,
    verified_refused: u64,
    verified_identical: u64,
}

/// The undamaged store: its file, its dialogs, and its answers.
struct Good {
    _dir: tempfile::TempDir,
    bytes: Vec<u8>,
    ids: Vec<DialogId>,
    want: Vec<Answer>,
    bad_path: std::path::PathBuf,
}

/// The undamaged store file, its ids and its answers: built once, shared by every test (each
/// has its own directory for the damaged copies).
fn good() -> Good {
    static FILE: OnceLock<(Vec<u8>, Vec<DialogId>, Vec<Answer>)> = OnceLock::new();
    let (bytes, ids, want) = FILE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("good.redb");
        let ids = fill(&path);
        let bytes = std::fs::read(&path).expect("read the store file");
        let want = {
            let clock = Arc::new(ManualClock::new(T0 + 1_000));
            answers(&builder(&clock).open(&path).expect("reopen"), &ids)
        };
        (bytes, ids, want)
    });
    assert!(want.iter().all(|a| !is_clean_error(a)), "the undamaged store answers");
    assert_eq!(want.last().map(|a| a.as_deref()), Some(Ok("true")), "undamaged store is clean");
    let dir = tempfile::tempdir().expect("tempdir");
    let bad_path = dir.path().join("bad.redb");
    Good { _dir: dir, bytes: bytes.clone(), ids: ids.clone(), want: want.clone(), bad_path }
}

impl Good {
    /// Opens `bytes` plainly and verifying; counts the outcomes, or says what went wrong.
    fn check(&self, bytes: &[u8], tally: &mut Tally) -> Result<(), String> {
        let run = |verify: bool| {
            std::fs::write(&self.bad_path, bytes).expect("write the damaged copy");
            catch_unwind(AssertUnwindSafe(|| {
                try_copy(&self.bad_path, &self.ids, &self.want, verify)
            }))
        };
        let (plain, verified) = match (run(false), run(true)) {
            (Ok(plain), Ok(verified)) => (plain, verified),
            (Err(p), _) => return Err(format!("the plain open panicked: {}", panic_message(&*p))),
            (_, Err(p)) => {
                return Err(format!("the verifying open panicked: {}", panic_message(&*p)))
            }
        };
        let verify_refused = verified == Outcome::RefusedToOpen;
        match verified {
            Outcome::RefusedToOpen => tally.verified_refused += 1,
            Outcome::Identical => tally.verified_identical += 1,
            other => return Err(format!("verifying open: {other:?}")),
        }
        match plain {
            Outcome::RefusedToOpen => tally.refused += 1,
            Outcome::Identical => tally.identical += 1,
            Outcome::Detected => tally.detected += 1,
            Outcome::Wrong { integrity_caught, first } => {
                if tally.examples.len() < 5 {
                    tally.examples.push(first.clone());
                }
                if integrity_caught {
                    tally.wrong_caught_by_integrity += 1;
                } else if verify_refused {
                    tally.wrong_caught_by_verify += 1;
                } else {
                    return Err(format!("undetected wrong answer: {first}"));
                }
            }
        }
        Ok(())
    }
}

/// Prints the tally and fails on any failure.
fn report(name: &str, t: &Tally, failures: &[String], started: std::time::Instant) {
    let cut = |e: &String| e.chars().take(240).collect::<String>();
    eprintln!(
        "{name} ({:?}):\n  plain open: {} refused to open, {} identical, {} with errors, {} with \
         a wrong answer caught by check_integrity, {} caught only by a verifying open\n  \
         verifying open: {} refused to open, {} identical\n  {} panics inside redb became \
         CORRUPTED; {} plain opens took writes that made check_integrity report damage it had \
         not seen\n  wrong answers, for example:\n    {}",
        started.elapsed(),
        t.refused,
        t.identical,
        t.detected,
        t.wrong_caught_by_integrity,
        t.wrong_caught_by_verify,
        t.verified_refused,
        t.verified_identical,
        CAUGHT_PANICS.get(),
        WRITES_SPREAD.get(),
        t.examples.iter().map(cut).collect::<Vec<_>>().join("\n    "),
    );
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn damaged_files_give_errors_or_right_answers_never_panics() {
    let rounds = env_count("DIALOGSTORE_CORRUPT_ROUNDS", 200);
    let started = std::time::Instant::now();
    let good = good();
    let in_use: Vec<usize> = (0..good.bytes.len()).filter(|i| good.bytes[*i] != 0).collect();
    let mut rng = Rng::new(0xBAD_F11E);
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for round in 0..rounds {
        let (bytes, what) = damage(&good.bytes, &in_use, &mut rng, round);
        if let Err(e) = good.check(&bytes, &mut tally) {
            failures.push(format!("round {round}, {what}: {e}"));
        }
    }
    let name = format!("corruption, {rounds} random damages of a {}-byte file", good.bytes.len());
    report(&name, &tally, &failures, started);
}

/// Every page of the file zeroed in turn, and the file cut at every page boundary but the first
/// (an empty file is where `open` creates a new store, as redb does, so a file cut to nothing
/// opens empty; `a_file_cut_to_nothing_opens_as_a_new_store` pins that down): the same promises,
/// over the whole file rather than a sample.
#[test]
fn every_page_zeroed_and_every_page_boundary_cut() {
    let started = std::time::Instant::now();
    let good = good();
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for page in (0..good.bytes.len()).step_by(4096) {
        let mut zeroed = good.bytes.clone();
        zeroed[page..(page + 4096).min(good.bytes.len())].fill(0);
        if let Err(e) = good.check(&zeroed, &mut tally) {
            failures.push(format!("page at {page} zeroed: {e}"));
        }
        if page == 0 {
            continue;
        }
        if let Err(e) = good.check(&good.bytes[..page], &mut tally) {
            failures.push(format!("cut to {page} bytes: {e}"));
        }
    }
    report("corruption, every page zeroed and cut", &tally, &failures, started);
}

/// The one damage that is not detected: an empty file is what `open` initializes a new store in
/// (the crate docs say so), so a store file cut to zero bytes opens as a new, empty store.
#[test]
fn a_file_cut_to_nothing_opens_as_a_new_store() {
    let good = good();
    std::fs::write(&good.bad_path, b"").expect("write an empty file");
    let store = DialogStore::open(&good.bad_path).expect("an empty file is a new store");
    assert_eq!(store.get(UserId(0), good.ids[1]).unwrap_err().code(), "NOT_FOUND");
    assert!(store.check_integrity().unwrap().is_clean());
}
