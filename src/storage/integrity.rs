//! `check_integrity`: every index rebuilt from the rows in memory and compared with what is
//! stored, difference by difference.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use roaring::RoaringBitmap;

use crate::error::Error;
use crate::index::{chunk_of, BitmapKey, IndexEntries};
use crate::model::{DialogId, UserId};
use crate::storage::{Snapshot, StoredRow, TimeIndex};

/// The result of [`DialogStore::check_integrity`](crate::DialogStore::check_integrity).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Rows read (live and deleted).
    pub rows: u64,
    /// Live dialogs.
    pub live: u64,
    /// Every difference found between the rows and the indexes, counters and ids.
    pub problems: Vec<String>,
}

impl IntegrityReport {
    /// Whether nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for IntegrityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rows, {} live dialogs: ", self.rows, self.live)?;
        if self.is_clean() {
            return f.write_str("clean");
        }
        writeln!(f, "{} problem(s)", self.problems.len())?;
        for p in &self.problems {
            writeln!(f, "- {p}")?;
        }
        Ok(())
    }
}

/// Rebuilds the indexes from the rows of `snap` and reports every difference.
pub(crate) fn check(snap: &Snapshot) -> Result<IntegrityReport, Error> {
    let mut report = IntegrityReport::default();
    let meta = snap.meta()?.clone();
    let mut bitmaps: BTreeMap<Vec<u8>, RoaringBitmap> = BTreeMap::new();
    let mut times: BTreeMap<TimeIndex, BTreeSet<(i64, u32)>> = BTreeMap::new();
    let mut pairs: BTreeMap<(u64, u64), u32> = BTreeMap::new();
    let mut staged_pairs: BTreeMap<(u64, u64), u32> = BTreeMap::new();
    let mut staged_users: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
    let mut occupants: BTreeMap<u32, Arc<[UserId]>> = BTreeMap::new();
    // Live rows, and whether each is public.
    let mut public: BTreeMap<u32, bool> = BTreeMap::new();
    let mut imported: BTreeMap<[u8; 12], u32> = BTreeMap::new();
    let mut live = [0u64; 3];
    let mut last_created = i64::MIN;
    let mut sorted = true;
    let mut expected_rid = 0u32;
    let problem = |report: &mut IntegrityReport, p: String| report.problems.push(p);

    // Each row's last commit, for the change log.
    let mut commits: Vec<(u32, u64)> = Vec::new();
    for entry in snap.all_rows_with_commits()? {
        let (rid, stored, commit) = entry?;
        commits.push((rid.0, commit));
        report.rows += 1;
        if rid.0 != expected_rid {
            problem(&mut report, format!("row ids jump from {} to {}", expected_rid, rid.0));
        }
        expected_rid = rid.0.wrapping_add(1);
        let StoredRow::Live(row) = stored else {
            continue;
        };
        report.live += 1;
        let id = DialogId(row.id);
        match row.kind {
            1..=3 => live[usize::from(row.kind - 1)] += 1,
            other => problem(&mut report, format!("row {} has unknown type {other}", rid.0)),
        }
        if row.created_at < last_created {
            sorted = false;
        }
        last_created = last_created.max(row.created_at);
        if !row.occupants.windows(2).all(|w| w[0] < w[1]) {
            problem(&mut report, format!("row {} occupants are not sorted and unique", rid.0));
        }
        // A generated id names its row itself; an imported one resolves through `ids`.
        if crate::storage::embedded_row(&id, meta.store_tag) != Some(rid) {
            imported.insert(row.id, rid.0);
            match snap.find(&id) {
                Ok(Some((found, _))) if found == rid => {}
                Ok(other) => problem(
                    &mut report,
                    format!("id {id} of row {} resolves to {:?}", rid.0, other.map(|(r, _)| r.0)),
                ),
                Err(e) => problem(&mut report, format!("id {id} of row {}: {e}", rid.0)),
            }
        }
        let entries = IndexEntries::of(&row);
        // A staged row's user entries and pair are in the staging, not the tables.
        let staged = rid.0 >= meta.staged_from;
        for key in entries.bitmaps {
            match key {
                BitmapKey::User(user) if staged => {
                    staged_users.entry(user).or_default().push(rid.0);
                }
                key => {
                    bitmaps.entry(key.chunk_key(chunk_of(rid.0))).or_default().insert(rid.0);
                }
            }
        }
        for (index, t) in entries.times {
            times.entry(index).or_default().insert((t, rid.0));
        }
        if let Some(pair) = entries.pair {
            let held = if staged { &mut staged_pairs } else { &mut pairs };
            if let Some(other) = held.insert(pair, rid.0) {
                problem(
                    &mut report,
                    format!("private pair {pair:?} held by rows {other} and {}", rid.0),
                );
            }
        }
        occupants.insert(rid.0, row.occupants.clone());
        public.insert(rid.0, row.is_public());
    }

    if meta.next_row != expected_rid {
        problem(
            &mut report,
            format!("meta next_row {} but rows end at {}", meta.next_row, expected_rid),
        );
    }
    if meta.live != live {
        problem(&mut report, format!("meta live counts {:?} but rows say {:?}", meta.live, live));
    }
    if meta.created_sorted && !sorted {
        problem(
            &mut report,
            "meta says created_at follows row order, rows say it does not".to_owned(),
        );
    }

    let stored_bitmaps: BTreeMap<_, _> = snap.all_bitmaps()?.collect::<Result<_, _>>()?;
    compare_bitmaps(&mut report, &bitmaps, &stored_bitmaps);

    for index in TimeIndex::ALL {
        let want = times.remove(&index).unwrap_or_default();
        let have: BTreeSet<_> = snap
            .all_times(index)?
            .map(|e| e.map(|(t, rid)| (t, rid.0)))
            .collect::<Result<_, _>>()?;
        for missing in want.difference(&have) {
            problem(&mut report, format!("{} lacks entry {missing:?}", index.name()));
        }
        for extra in have.difference(&want) {
            problem(&mut report, format!("{} has stray entry {extra:?}", index.name()));
        }
    }

    let mut have_pairs = BTreeMap::new();
    for entry in snap.all_pairs()? {
        let (chunk, pair, rid) = entry?;
        if chunk != chunk_of(rid.0) {
            problem(
                &mut report,
                format!("private pair {pair:?} of row {} under chunk {chunk}", rid.0),
            );
        }
        if let Some(other) = have_pairs.insert(pair, rid.0) {
            problem(
                &mut report,
                format!("private pair {pair:?} stored for rows {other} and {}", rid.0),
            );
        }
    }
    if have_pairs != pairs {
        problem(
            &mut report,
            format!("private pairs differ: stored {have_pairs:?}, rows say {pairs:?}"),
        );
    }

    if let Some((pair, rid)) = staged_pairs.iter().find(|(pair, _)| pairs.contains_key(pair)) {
        problem(
            &mut report,
            format!("private pair {pair:?} held by staged row {rid} and by row {}", pairs[pair]),
        );
    }
    let have_staged: BTreeMap<u64, Vec<u32>> = snap
        .staged_users()?
        .into_iter()
        .map(|(user, mut rows)| {
            rows.sort_unstable();
            (user, rows)
        })
        .collect();
    if have_staged != staged_users {
        let differ: Vec<u64> = have_staged
            .keys()
            .chain(staged_users.keys())
            .filter(|u| have_staged.get(u) != staged_users.get(u))
            .take(5)
            .copied()
            .collect();
        problem(
            &mut report,
            format!("staged user entries differ from the rows for users {differ:?}"),
        );
    }

    let have_ids: BTreeMap<_, _> =
        snap.all_ids()?.map(|e| e.map(|(id, rid)| (id, rid.0))).collect::<Result<_, _>>()?;
    if have_ids != imported {
        problem(
            &mut report,
            format!("{} imported-id entries, rows say {}", have_ids.len(), imported.len()),
        );
    }

    check_change_log(snap, &meta, &commits, &public, &mut report)?;

    for entry in snap.all_unread()? {
        let ((user, rid), count) = entry?;
        let occupant =
            occupants.get(&rid.0).is_some_and(|o| o.binary_search(&UserId(user)).is_ok());
        if !occupant {
            problem(
                &mut report,
                format!("unread counter of user {user} in row {} who is not an occupant", rid.0),
            );
        }
        if count == 0 {
            problem(
                &mut report,
                format!("unread counter of user {user} in row {} stored as zero", rid.0),
            );
        }
    }
    Ok(report)
}

/// The change log holds one entry for each row written since it exists, at the commit the row
/// carries (`commits`: each row's), with the right bits; the per-user changes lie within the
/// history kept.
fn check_change_log(
    snap: &Snapshot,
    meta: &crate::storage::Meta,
    commits: &[(u32, u64)],
    public: &BTreeMap<u32, bool>,
    report: &mut IntegrityReport,
) -> Result<(), Error> {
    use crate::storage::{CHANGED_DELETED, CHANGED_PUBLIC};
    let mut want = BTreeMap::new();
    for &(rid, seq) in commits {
        if seq > meta.seq {
            report.problems.push(format!("row {rid} written by commit {seq} of {}", meta.seq));
        }
        if seq > 0 {
            want.insert((seq, rid), public.get(&rid).copied());
        }
    }
    let mut have = BTreeMap::new();
    for entry in snap.changes_after((0, 0))? {
        let (seq, rid, bits) = entry?;
        have.insert((seq, rid.0), bits);
    }
    for (key, live) in &want {
        let Some(bits) = have.get(key) else {
            report.problems.push(format!("change log lacks entry {key:?}"));
            continue;
        };
        let deleted = bits & CHANGED_DELETED != 0;
        let bad = match live {
            Some(public) => deleted || (bits & CHANGED_PUBLIC != 0) != *public,
            None => !deleted,
        };
        if bad {
            report.problems.push(format!("change log entry {key:?} has bits {bits}"));
        }
    }
    for key in have.keys().filter(|k| !want.contains_key(*k)) {
        report.problems.push(format!("change log has stray entry {key:?}"));
    }
    // The public dialogs' entries, apart.
    let mut have_public = BTreeMap::new();
    for entry in snap.public_changes_after((0, 0))? {
        let (seq, rid, bits) = entry?;
        have_public.insert((seq, rid.0), bits);
    }
    have.retain(|_, bits| *bits & CHANGED_PUBLIC != 0);
    if have_public != have {
        let differ: Vec<_> = have_public
            .iter()
            .filter(|(k, b)| have.get(k) != Some(b))
            .chain(have.iter().filter(|(k, b)| have_public.get(k) != Some(b)))
            .take(5)
            .collect();
        report.problems.push(format!("public change log differs from the log at {differ:?}"));
    }
    let mut by_seq = BTreeMap::new();
    for entry in snap.user_changes_after((0, 0))? {
        let (seq, rid, user, kind) = entry?;
        if seq > meta.seq || seq < meta.history_from {
            report.problems.push(format!("per-user change {seq} of user {user} in row {}", rid.0));
        }
        by_seq.insert((user, seq, rid.0), kind);
    }
    let by_user: BTreeMap<_, _> = snap
        .all_changes_by_user()?
        .map(|e| e.map(|(user, seq, rid, kind)| ((user, seq, rid), kind)))
        .collect::<Result<_, _>>()?;
    if by_user != by_seq {
        report.problems.push(format!(
            "per-user changes by user ({}) differ from those by commit ({})",
            by_user.len(),
            by_seq.len()
        ));
    }
    Ok(())
}

fn compare_bitmaps(
    report: &mut IntegrityReport,
    want: &BTreeMap<Vec<u8>, RoaringBitmap>,
    have: &BTreeMap<Vec<u8>, RoaringBitmap>,
) {
    let name = |key: &[u8]| crate::storage::describe_key(key);
    for (key, bitmap) in want {
        match have.get(key) {
            None => report.problems.push(format!("{} missing ({} rows)", name(key), bitmap.len())),
            Some(stored) if stored != bitmap => {
                let missing: Vec<u32> = (bitmap - stored).iter().take(5).collect();
                let stray: Vec<u32> = (stored - bitmap).iter().take(5).collect();
                report
                    .problems
                    .push(format!("{} differs: lacks {missing:?}, has stray {stray:?}", name(key)));
            }
            Some(_) => {}
        }
    }
    for key in have.keys().filter(|k| !want.contains_key(*k)) {
        let what = match BitmapKey::decode(key) {
            Some(_) => name(key),
            None => format!("undecodable bitmap key {key:?}"),
        };
        report.problems.push(format!("{what} is stored but no row needs it"));
    }
}
