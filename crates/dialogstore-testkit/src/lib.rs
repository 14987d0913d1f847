//! dialogstore's test harness, a dev-only crate: a deterministic data generator with the
//! benchmark workload's shape (shared by the benchmarks, the `dialogstore demo` command and
//! tests), and in [`fuzzing`] the plain model and the steps of the fuzz targets.
//!
//! [`Spec::section6`] is the benchmark's data, as SPEC section 6 describes it: 1,000,000 dialogs
//! among 200,000 users, 90% private, 9% group (3 to 50 occupants) and 1% public; each dialog's
//! users drawn from a Zipf distribution (exponent 1.1), so the busiest user sits in about 30% of
//! all dialogs and the 10th busiest in about 4.5%, while the median user has a few; a year of
//! creates, then a year of messages; names in Latin, Cyrillic, Greek, accented and CJK scripts; custom data on a
//! third of the groups; then messages, a few hundred per public dialog, dozens per busy group,
//! a few per private dialog, interleaved in time, with some readers catching up. The same seed
//! gives the same events, whatever the machine.

pub mod fuzzing;

use std::collections::HashSet;
use std::sync::Arc;

use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Zipf};
use rand_pcg::Pcg64Mcg;

use dialogstore::Error;
use dialogstore::{
    CustomClass, CustomData, DataValue, DialogId, FieldType, MessageMeta, NewDialog, UserId,
};
use dialogstore::{DialogStore, ManualClock};

/// The first `created_at` of generated data (2020-09-13).
pub const T0: i64 = 1_600_000_000;
/// The seconds over which dialogs are created, from [`T0`].
pub const CREATE_SPAN: i64 = 365 * 86_400;
/// The seconds over which messages are sent, from `T0 + CREATE_SPAN`.
pub const MESSAGE_SPAN: i64 = 365 * 86_400;
/// The exponent of the Zipf distribution that places users in dialogs, and that
/// [`query_users`] draws the querying users with.
pub const ZIPF_EXPONENT: f64 = 1.1;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// Dialogs to create.
    pub dialogs: u64,
    /// Users, ids 1 to `users`; user 1 is the busiest.
    pub users: u64,
    /// The random seed.
    pub seed: u64,
    /// Share of group dialogs.
    pub group_share: f64,
    /// Share of public dialogs.
    pub public_share: f64,
    /// Scales every dialog's message count (1.0 is the benchmark data's shape).
    pub message_scale: f64,
}

impl Spec {
    /// The benchmark data: 1,000,000 dialogs, 200,000 users.
    pub fn section6() -> Spec {
        Spec::with_dialogs(1_000_000)
    }

    /// The benchmark data's shape at another size: one user per five dialogs.
    pub fn with_dialogs(dialogs: u64) -> Spec {
        Spec {
            dialogs,
            users: (dialogs / 5).max(20),
            seed: 0x5eed_d1a1_0957_0e01,
            group_share: 0.09,
            public_share: 0.01,
            message_scale: 1.0,
        }
    }
}

/// One generated operation. Dialogs are named by their creation index.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `user` creates a dialog at `at`.
    Create {
        /// Creator.
        user: UserId,
        /// Unix seconds.
        at: i64,
        /// The dialog.
        new: NewDialog,
    },
    /// `sender` posts in dialog number `dialog` at `meta.date_sent`.
    Message {
        /// Creation index of the dialog.
        dialog: u32,
        /// Sender (an occupant, or anyone in a public dialog).
        sender: UserId,
        /// The message.
        meta: MessageMeta,
    },
    /// `user` reads dialog number `dialog`.
    Read {
        /// Creation index of the dialog.
        dialog: u32,
        /// Reader.
        user: UserId,
    },
}

const LATIN: [&str; 16] = [
    "Soccer", "news", "New Year", "party", "weekend", "hiking", "team", "design", "review",
    "family", "book", "club", "coffee", "lovers", "Berlin", "jazz",
];
const CYRILLIC: [&str; 8] =
    ["Доброе", "утро", "футбол", "новости", "семья", "дача", "Москва", "кино"];
const GREEK: [&str; 6] = ["Καλημέρα", "φίλοι", "ΟΔΟΣ", "θάλασσα", "μουσική", "Αθήνα"];
const ACCENTED: [&str; 6] = ["café", "crème", "Zürich", "São Paulo", "niño", "Ångström"];
const CJK: [&str; 6] = ["東京", "ラーメン", "会議", "北京", "朋友", "音楽"];

/// The custom-object class on a third of the groups.
pub fn score_table() -> CustomClass {
    CustomClass::new("ScoreTable")
        .field("progress", FieldType::Integer)
        .field("game_mode_name", FieldType::String)
        .field("expert_mode", FieldType::Boolean)
}

/// The generator: creates first, in `created_at` order, then messages and reads in time order.
pub struct Generator {
    spec: Spec,
    rng: Pcg64Mcg,
    zipf: Zipf<f64>,
    created: u64,
    /// Users of each dialog (private: the two users; group: occupants; public: empty).
    members: Vec<Vec<u32>>,
    /// The user pairs that have a private dialog (lower id first).
    pairs: HashSet<(u32, u32)>,
    /// Message counts drawn at creation.
    planned: Vec<u32>,
    /// Messages to emit, by dialog index, shuffled; built when creates are done.
    schedule: Option<Vec<u32>>,
    next_message: usize,
    pending_read: Option<Event>,
}

impl Generator {
    /// A generator for `spec`.
    pub fn new(spec: Spec) -> Generator {
        let rng = Pcg64Mcg::seed_from_u64(spec.seed);
        let zipf = user_zipf(&spec);
        let n = spec.dialogs as usize;
        Generator {
            spec,
            rng,
            zipf,
            created: 0,
            members: Vec::with_capacity(n),
            pairs: HashSet::new(),
            planned: Vec::with_capacity(n),
            schedule: None,
            next_message: 0,
            pending_read: None,
        }
    }

    fn user(&mut self) -> u32 {
        (self.zipf.sample(&mut self.rng) as u32).clamp(1, self.spec.users as u32)
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.rng.random_range(0..words.len())]
    }

    fn name(&mut self) -> String {
        let script: &[&str] = match self.rng.random_range(0..10) {
            0..=4 => &LATIN,
            5 | 6 => &CYRILLIC,
            7 => &GREEK,
            8 => &ACCENTED,
            _ => &CJK,
        };
        let words = self.rng.random_range(1..=3);
        (0..words).map(|_| self.pick(script)).collect::<Vec<_>>().join(" ")
    }

    fn create(&mut self) -> Event {
        let i = self.created;
        self.created += 1;
        let at = T0 + (i as i128 * CREATE_SPAN as i128 / self.spec.dialogs.max(1) as i128) as i64;
        let roll: f64 = self.rng.random();
        let mut creator = self.user();
        let scale = self.spec.message_scale;
        let (new, members, messages) = if roll < self.spec.public_share {
            let mut new = NewDialog::public(self.name());
            if self.rng.random_bool(0.5) {
                new = new.photo(format!("{}", 60000 + i));
            }
            (new, Vec::new(), self.rng.random_range(50..=300))
        } else if roll < self.spec.public_share + self.spec.group_share {
            // 3 to 50 occupants with the creator, fewer when draws repeat.
            let size = self.rng.random_range(2..=49);
            let mut occ: Vec<u32> = (0..size).map(|_| self.user()).collect();
            occ.push(creator);
            occ.sort_unstable();
            occ.dedup();
            let mut new = NewDialog::group(self.name(), occ.iter().map(|u| UserId(u64::from(*u))));
            if self.rng.random_bool(1.0 / 3.0) {
                let progress = self.rng.random_range(0..=100);
                let mode = self.pick(&["rainbow dash", "classic", "blitz"]);
                new = new.data(
                    CustomData::new("ScoreTable")
                        .field("progress", DataValue::Integer(progress))
                        .field("game_mode_name", DataValue::String(mode.to_owned()))
                        .field("expert_mode", DataValue::Bool(self.rng.random_bool(0.2))),
                );
            }
            let busy = if self.rng.random_bool(0.2) {
                self.rng.random_range(20..=100)
            } else {
                self.rng.random_range(0..=10)
            };
            (new, occ, busy)
        } else {
            // Creating a private dialog again returns the existing one, so a pair that has one
            // is drawn again (Zipf a few times, then uniformly), or the store would hold fewer
            // than `dialogs` dialogs. A small spec can run out of the busiest users' pairs: then
            // both users are drawn uniformly, and only a spec with no pair left repeats one.
            let mut other = self.user();
            let mut tries = 0;
            while tries < 64
                && (other == creator || self.pairs.contains(&sorted_pair(creator, other)))
            {
                other = if tries < 8 {
                    self.user()
                } else {
                    self.rng.random_range(1..=self.spec.users as u32)
                };
                tries += 1;
            }
            let mut spins = 0;
            while spins < 100_000
                && (other == creator || self.pairs.contains(&sorted_pair(creator, other)))
            {
                creator = self.rng.random_range(1..=self.spec.users as u32);
                other = self.rng.random_range(1..=self.spec.users as u32);
                spins += 1;
            }
            while other == creator {
                other = self.rng.random_range(1..=self.spec.users as u32);
            }
            let (lo, hi) = sorted_pair(creator, other);
            self.pairs.insert((lo, hi));
            let pair = vec![lo, hi];
            let count = if self.rng.random_bool(0.3) { 0 } else { self.rng.random_range(1..=4) };
            (NewDialog::private(UserId(u64::from(other))), pair, count)
        };
        self.members.push(members);
        self.planned.push((f64::from(messages) * scale).round() as u32);
        Event::Create { user: UserId(u64::from(creator)), at, new }
    }

    fn build_schedule(&mut self) -> Vec<u32> {
        let total: usize = self.planned.iter().map(|c| *c as usize).sum();
        let mut schedule = Vec::with_capacity(total);
        for (i, count) in self.planned.iter().enumerate() {
            schedule.extend(std::iter::repeat_n(i as u32, *count as usize));
        }
        // Fisher-Yates with the generator's own stream, so the order is deterministic.
        for i in (1..schedule.len()).rev() {
            let j = self.rng.random_range(0..=i);
            schedule.swap(i, j);
        }
        schedule
    }

    fn message(&mut self, dialog: u32, k: usize, total: usize) -> Event {
        let end = T0 + CREATE_SPAN;
        let date_sent = end + (k as i128 * MESSAGE_SPAN as i128 / total.max(1) as i128) as i64;
        let n = self.members[dialog as usize].len();
        let sender = if n == 0 {
            self.user()
        } else {
            self.members[dialog as usize][self.rng.random_range(0..n)]
        };
        if n > 0 && self.rng.random_bool(0.3) {
            let reader = self.members[dialog as usize][self.rng.random_range(0..n)];
            self.pending_read = Some(Event::Read { dialog, user: UserId(u64::from(reader)) });
        }
        let text = format!("{} {}", self.name(), k);
        Event::Message {
            dialog,
            sender: UserId(u64::from(sender)),
            meta: MessageMeta {
                id: format!("{:024x}", (date_sent as u128) << 64 | k as u128),
                text,
                date_sent,
            },
        }
    }
}

/// The Zipf distribution over the users (exponent [`ZIPF_EXPONENT`]); `users` is at least 20
/// for every spec, so this cannot fail.
fn user_zipf(spec: &Spec) -> Zipf<f64> {
    Zipf::new(spec.users.max(2) as f64, ZIPF_EXPONENT).unwrap_or_else(|_| unreachable_zipf())
}

/// `n` querying users drawn with the same Zipf weights that place users in dialogs, as SPEC
/// section 6 draws who asks: users query in proportion to their activity. Deterministic for a
/// spec and `n`.
pub fn query_users(spec: &Spec, n: usize) -> Vec<u64> {
    let zipf = user_zipf(spec);
    let mut rng = Pcg64Mcg::seed_from_u64(spec.seed ^ 0x9e37_79b9_7f4a_7c15);
    (0..n).map(|_| (zipf.sample(&mut rng) as u64).clamp(1, spec.users)).collect()
}

fn sorted_pair(a: u32, b: u32) -> (u32, u32) {
    (a.min(b), a.max(b))
}

fn unreachable_zipf() -> Zipf<f64> {
    // Zipf::new(n >= 1, s >= 0) cannot fail; a fixed valid distribution keeps this total.
    Zipf::new(2.0, ZIPF_EXPONENT).unwrap_or_else(|_| unreachable_zipf())
}

impl Iterator for Generator {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if let Some(read) = self.pending_read.take() {
            return Some(read);
        }
        if self.created < self.spec.dialogs {
            return Some(self.create());
        }
        if self.schedule.is_none() {
            self.schedule = Some(self.build_schedule());
        }
        let schedule = self.schedule.as_deref()?;
        let (d, total) = (*schedule.get(self.next_message)?, schedule.len());
        let k = self.next_message;
        self.next_message += 1;
        Some(self.message(d, k, total))
    }
}

/// What [`load`] wrote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadStats {
    /// Dialogs created.
    pub dialogs: u64,
    /// Messages recorded.
    pub messages: u64,
    /// Reads recorded.
    pub reads: u64,
    /// Seconds spent creating dialogs.
    pub create_secs: f64,
    /// Seconds spent recording messages and reads.
    pub message_secs: f64,
}

/// Writes the data of `spec` into `store`, `batch` operations per transaction, moving `clock`
/// along with the events; `progress` is called after each transaction with the events so far.
pub fn load(
    store: &DialogStore,
    clock: &Arc<ManualClock>,
    spec: &Spec,
    batch: usize,
    mut progress: impl FnMut(u64),
) -> Result<LoadStats, Error> {
    store.declare_class(&score_table())?;
    let mut ids: Vec<DialogId> = Vec::with_capacity(spec.dialogs as usize);
    let mut stats = LoadStats::default();
    let mut events = Generator::new(spec.clone()).peekable();
    let mut done = 0u64;
    let started = std::time::Instant::now();
    let mut creates_done_at = None;
    while events.peek().is_some() {
        let chunk: Vec<Event> = events.by_ref().take(batch.max(1)).collect();
        if creates_done_at.is_none() && !matches!(chunk.first(), Some(Event::Create { .. })) {
            creates_done_at = Some(started.elapsed().as_secs_f64());
        }
        let n = chunk.len() as u64;
        store.write(|b| {
            for event in chunk {
                match event {
                    Event::Create { user, at, new } => {
                        clock.set(at);
                        ids.push(b.create_dialog(user, new)?.id);
                        stats.dialogs += 1;
                    }
                    Event::Message { dialog, sender, meta } => {
                        clock.set(meta.date_sent);
                        b.record_message(ids[dialog as usize], sender, meta)?;
                        stats.messages += 1;
                    }
                    Event::Read { dialog, user } => {
                        b.mark_read(ids[dialog as usize], user)?;
                        stats.reads += 1;
                    }
                }
            }
            Ok(())
        })?;
        done += n;
        progress(done);
    }
    let total = started.elapsed().as_secs_f64();
    stats.create_secs = creates_done_at.unwrap_or(total);
    stats.message_secs = total - stats.create_secs;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dialogstore::DialogType;

    #[test]
    fn every_private_create_is_a_new_pair() {
        // A repeated pair would return the existing dialog, leaving fewer dialogs than asked.
        let mut pairs = HashSet::new();
        let mut private = 0;
        for event in Generator::new(Spec::with_dialogs(20_000)) {
            if let Event::Create { user, new, .. } = event {
                if new.dialog_type == DialogType::Private {
                    private += 1;
                    let other = new.occupants_ids[0];
                    pairs.insert((user.min(other), user.max(other)));
                }
            }
        }
        assert!(private > 18_000, "{private}");
        assert_eq!(pairs.len(), private);
    }
}
