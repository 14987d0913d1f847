//! The index entries a row owns.

use super::keys::BitmapKey;
use super::ngram;
use super::TimeIndex;
use crate::model::DialogType;
use crate::model::Row;

/// Every index entry of one live row. A deleted row owns none.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct IndexEntries {
    /// Bitmaps the row is in, sorted and distinct.
    pub bitmaps: Vec<BitmapKey>,
    /// Time indexes the row is in, with its time in each, sorted.
    pub times: Vec<(TimeIndex, i64)>,
    /// The private-pair entry: (lower user, higher user).
    pub pair: Option<(u64, u64)>,
}

impl IndexEntries {
    /// The entries of a live row.
    pub(crate) fn of(row: &Row) -> IndexEntries {
        IndexEntries::of_parts(row, Parts::ALL)
    }

    /// A live row's private-pair entry: (lower user, higher user) of a private dialog.
    pub(crate) fn pair_of(row: &Row) -> Option<(u64, u64)> {
        match (row.kind == DialogType::Private.code(), row.peer) {
            (true, Some(peer)) => Some((row.user_id.min(peer), row.user_id.max(peer))),
            _ => None,
        }
    }

    /// The entries that differ between two versions of a row: (to remove, to add). Parts whose
    /// fields are equal (occupants, name, data) are not computed at all, so a message, which
    /// moves only times, does not lowercase and split the name into n-grams twice.
    pub(crate) fn change(old: &Row, new: &Row) -> (IndexEntries, IndexEntries) {
        let parts = Parts {
            occupants: old.occupants != new.occupants,
            name: old.name != new.name || old.kind != new.kind,
            data: old.data != new.data,
        };
        let (before, after) =
            (IndexEntries::of_parts(old, parts), IndexEntries::of_parts(new, parts));
        (before.minus(&after), after.minus(&before))
    }

    /// The entries of a row, leaving out the parts not asked for.
    fn of_parts(row: &Row, parts: Parts) -> IndexEntries {
        let mut bitmaps =
            Vec::with_capacity(if parts.occupants { row.occupants.len() } else { 0 } + 4);
        if parts.occupants {
            bitmaps.extend(row.occupants.iter().map(|u| BitmapKey::User(u.0)));
        }
        bitmaps.push(BitmapKey::Type(row.kind));
        if row.last_message_date_sent.is_some() {
            bitmaps.push(BitmapKey::HasMessage);
        }
        if parts.name && row.kind != DialogType::Private.code() {
            if let Some(name) = &row.name {
                bitmaps.extend(ngram::name_grams(name).into_iter().map(BitmapKey::Gram));
            }
        }
        if let (true, Some(data)) = (parts.data, &row.data) {
            bitmaps.push(BitmapKey::Class(data.class_name.as_str().into()));
            bitmaps.extend(data.fields.keys().map(|f| BitmapKey::DataField(f.as_str().into())));
        }
        bitmaps.sort_unstable();
        bitmaps.dedup();

        let public = row.is_public();
        let mut times = vec![(TimeIndex::Updated, row.updated_at)];
        if let Some(t) = row.last_message_date_sent {
            times.push((TimeIndex::LastMessage, t));
        }
        if public {
            times.push((TimeIndex::PublicUpdated, row.updated_at));
            if let Some(t) = row.last_message_date_sent {
                times.push((TimeIndex::PublicLastMessage, t));
            }
        }
        times.sort_unstable();

        let pair = IndexEntries::pair_of(row);
        IndexEntries { bitmaps, times, pair }
    }

    /// Entries in `self` that are not in `other`: what to remove when `self` becomes `other`,
    /// or what to add when `other` becomes `self`.
    pub(crate) fn minus(&self, other: &IndexEntries) -> IndexEntries {
        IndexEntries {
            bitmaps: sorted_minus(&self.bitmaps, &other.bitmaps),
            times: sorted_minus(&self.times, &other.times),
            pair: if self.pair == other.pair { None } else { self.pair },
        }
    }
}

/// Which parts of a row's entries to compute.
#[derive(Clone, Copy)]
struct Parts {
    occupants: bool,
    name: bool,
    data: bool,
}

impl Parts {
    const ALL: Parts = Parts { occupants: true, name: true, data: true };
}

fn sorted_minus<T: Ord + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().filter(|x| b.binary_search(x).is_err()).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UserId;

    fn row(kind: u8) -> Row {
        Row {
            created_at: 10,
            updated_at: 20,
            kind,
            name: Some("Ab".into()),
            occupants: [UserId(1), UserId(2)].into(),
            peer: if kind == 3 { Some(2) } else { None },
            ..Row::sample()
        }
    }

    #[test]
    fn change_equals_the_difference_of_the_full_entries() {
        let base = {
            let mut r = row(2);
            r.data = Some(std::sync::Arc::new(crate::model::CustomData {
                class_name: "C".into(),
                fields: Default::default(),
            }));
            r
        };
        let variants: [fn(&mut Row); 7] = [
            |_| {},
            |r| r.name = Some("New name".into()),
            |r| r.name = None,
            |r| r.occupants = [UserId(1), UserId(3)].into(),
            |r| r.data = None,
            |r| r.last_message_date_sent = Some(99),
            |r| r.updated_at = 77,
        ];
        for (i, a) in variants.iter().enumerate() {
            for (j, b) in variants.iter().enumerate() {
                let (mut old, mut new) = (base.clone(), base.clone());
                a(&mut old);
                b(&mut new);
                let (full_old, full_new) = (IndexEntries::of(&old), IndexEntries::of(&new));
                let want = (full_old.minus(&full_new), full_new.minus(&full_old));
                assert_eq!(IndexEntries::change(&old, &new), want, "variant {i} -> {j}");
            }
        }
    }

    #[test]
    fn private_rows_have_no_grams_and_a_pair() {
        let e = IndexEntries::of(&row(3));
        assert!(!e.bitmaps.iter().any(|k| matches!(k, BitmapKey::Gram(_))));
        assert_eq!(e.pair, Some((1, 2)));
        assert_eq!(e.times, vec![(TimeIndex::Updated, 20)]);
    }

    #[test]
    fn a_message_moves_time_entries_only() {
        let old = row(1);
        let mut new = old.clone();
        new.last_message_date_sent = Some(30);
        new.updated_at = 30;
        let (a, b) = (IndexEntries::of(&old), IndexEntries::of(&new));
        let removed = a.minus(&b);
        let added = b.minus(&a);
        assert!(removed.bitmaps.is_empty());
        assert_eq!(added.bitmaps, vec![BitmapKey::HasMessage]);
        assert_eq!(removed.times, vec![(TimeIndex::Updated, 20), (TimeIndex::PublicUpdated, 20)]);
        assert_eq!(added.times.len(), 4);
    }
}
