//! Regressions in the query semantics, each pinned at the case that showed it:
//!
//! - user ids are `u64`: `user_id` and `last_message_user_id` compare and sort as unsigned
//!   numbers, also at and above 2^63, and user sets hold such ids;
//! - the 8 KiB query limit is measured on the string the caller gave, not on its printed form;
//! - which declared class a query names does not depend on the order of its conditions.

mod common;

use common::*;
use dialogstore::{CustomData, DataValue, Dialog, Error, NewDialog, Query};
use dialogstore::{DialogId, DialogStore, UserId};
use dialogstore::{Field, Op, PathChoice, QueryErrorKind, MAX_QUERY_BYTES};

const CHOICES: [PathChoice; 6] = PathChoice::ALL;

/// Lists `query` for `viewer` through every access path, asserts they agree, and returns the
/// ids of the page (or the error they all gave).
#[track_caller]
fn ids_of(env: &Env, viewer: UserId, query: &str) -> Result<Vec<DialogId>, Error> {
    let q: Query = query.parse().unwrap_or_else(|e| panic!("{query}: {e}"));
    let mut first: Option<Result<Vec<DialogId>, String>> = None;
    let mut out = None;
    for choice in CHOICES {
        let got = env.with_path_choice(choice).list_dialogs(viewer, &q);
        let ids = got
            .as_ref()
            .map(|p| p.items.iter().map(|d| d.id).collect::<Vec<_>>())
            .map_err(|e| e.to_string());
        if let Ok(page) = &got {
            assert_eq!(page.total_entries as usize, page.items.len(), "{query}: one page");
        }
        match &first {
            None => first = Some(ids),
            Some(f) => assert_eq!(&ids, f, "{query}: {choice:?} disagrees with Auto"),
        }
        out.get_or_insert(got.map(|p| p.items.iter().map(|d| d.id).collect()));
    }
    out.expect("at least one access path")
}

// ---- user ids are u64 ----

const HALF: u64 = 1 << 63;
/// Owners and last-message senders: around 2^63, the sign bit of an `i64`.
const BIG_USERS: [u64; 6] = [1, HALF - 1, HALF, HALF + 14, HALF + 34, u64::MAX];
/// Occupies every dialog of [`big_users`].
const VIEWER: UserId = UserId(5);

/// One group dialog per user of [`BIG_USERS`], owned by it, its last message sent by the user
/// three places on (also an occupant), in an order unrelated to the ids.
fn big_users() -> (Env, Vec<(Dialog, u64, u64)>) {
    let env = Env::new();
    let mut dialogs = Vec::new();
    for i in [3, 0, 5, 1, 4, 2] {
        env.tick(1);
        let owner = BIG_USERS[i];
        let sender = BIG_USERS[(i + 3) % BIG_USERS.len()];
        let d = env
            .create_dialog(UserId(owner), NewDialog::group("Team", [VIEWER, UserId(sender)]))
            .expect("create");
        env.post(d.id, UserId(sender), &format!("m{i}"), env.now());
        let d = env.get(VIEWER, d.id).unwrap();
        assert_eq!(d.user_id, UserId(owner));
        assert_eq!(d.last_message_user_id, Some(UserId(sender)));
        dialogs.push((d, owner, sender));
    }
    (env, dialogs)
}

/// Every operand the comparisons are tried with: the users and their neighbours.
fn operands() -> Vec<u64> {
    let mut v: Vec<u64> = BIG_USERS
        .iter()
        .flat_map(|u| [u.wrapping_sub(1), *u, u.wrapping_add(1)])
        .chain([0, 2, HALF + 20])
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The ids of `dialogs` whose value passes `keep`, in the order given.
fn expected(dialogs: &[(Dialog, u64)], keep: impl Fn(u64) -> bool) -> Vec<DialogId> {
    dialogs.iter().filter(|(_, v)| keep(*v)).map(|(d, _)| d.id).collect()
}

#[test]
fn user_ids_compare_as_u64_in_every_operator() {
    let (env, dialogs) = big_users();
    for (field, value_of) in [
        ("user_id", (|&(_, owner, _)| owner) as fn(&(Dialog, u64, u64)) -> u64),
        ("last_message_user_id", |&(_, _, sender)| sender),
    ] {
        // The answer in creation order, so sorted by created_at ascending.
        let values: Vec<(Dialog, u64)> =
            dialogs.iter().map(|t| (t.0.clone(), value_of(t))).collect();
        for x in operands() {
            type Cmp = fn(u64, u64) -> bool;
            let ops: [(&str, Cmp); 6] = [
                ("", |v, x| v == x),
                ("[ne]", |v, x| v != x),
                ("[lt]", |v, x| v < x),
                ("[lte]", |v, x| v <= x),
                ("[gt]", |v, x| v > x),
                ("[gte]", |v, x| v >= x),
            ];
            for (op, holds) in ops {
                let query = format!("{field}{op}={x}&sort_asc=created_at");
                let want = expected(&values, |v| holds(v, x));
                assert_eq!(ids_of(&env, VIEWER, &query).unwrap(), want, "{query}");
            }
        }
        for list in [vec![HALF, u64::MAX], vec![1, HALF + 14, 77], vec![HALF - 1, HALF + 34]] {
            let text = list.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
            let query = format!("{field}[in]={text}&sort_asc=created_at");
            let want = expected(&values, |v| list.contains(&v));
            assert_eq!(ids_of(&env, VIEWER, &query).unwrap(), want, "{query}");
            let query = format!("{field}[nin]={text}&sort_asc=created_at");
            let want = expected(&values, |v| !list.contains(&v));
            assert_eq!(ids_of(&env, VIEWER, &query).unwrap(), want, "{query}");
        }
    }
}

#[test]
fn the_reported_cases_of_big_user_ids() {
    let (env, dialogs) = big_users();
    let owned_by = |u: u64| dialogs.iter().find(|t| t.1 == u).unwrap().0.id;
    let lt_max = ids_of(&env, VIEWER, "user_id[lt]=18446744073709551615").unwrap();
    assert_eq!(lt_max.len(), 5, "every dialog but u64::MAX's");
    let gt_half = ids_of(&env, VIEWER, "user_id[gt]=9223372036854775808").unwrap();
    assert!(!gt_half.contains(&owned_by(1)));
    assert_eq!(gt_half.len(), 3);
    let asc = ids_of(&env, VIEWER, "sort_asc=user_id").unwrap();
    let pos = |u: u64| asc.iter().position(|id| *id == owned_by(u)).unwrap();
    assert!(pos(HALF + 14) < pos(HALF + 34));
}

#[test]
fn user_ids_sort_as_u64_both_ways() {
    let (env, dialogs) = big_users();
    for (field, value_of) in [
        ("user_id", (|&(_, owner, _)| owner) as fn(&(Dialog, u64, u64)) -> u64),
        ("last_message_user_id", |&(_, _, sender)| sender),
    ] {
        let mut sorted: Vec<(u64, DialogId)> =
            dialogs.iter().map(|t| (value_of(t), t.0.id)).collect();
        sorted.sort();
        let asc: Vec<DialogId> = sorted.iter().map(|(_, id)| *id).collect();
        let desc: Vec<DialogId> = asc.iter().rev().copied().collect();
        assert_eq!(ids_of(&env, VIEWER, &format!("sort_asc={field}")).unwrap(), asc, "{field}");
        assert_eq!(ids_of(&env, VIEWER, &format!("sort_desc={field}")).unwrap(), desc, "{field}");
        // The same through a filter that keeps them all.
        let query = format!("{field}[gte]=1&sort_desc={field}");
        assert_eq!(ids_of(&env, VIEWER, &query).unwrap(), desc, "{query}");
    }
}

#[test]
fn user_sets_hold_big_user_ids() {
    let (env, dialogs) = big_users();
    // Each dialog's occupants: owner, viewer, sender.
    let has = |t: &(Dialog, u64, u64), u: u64| t.1 == u || t.2 == u || u == VIEWER.0;
    for x in operands() {
        for (op, negate) in [("", false), ("[ne]", true), ("[in]", false), ("[nin]", true)] {
            let query = format!("occupants_ids{op}={x}&sort_asc=created_at");
            let want: Vec<DialogId> =
                dialogs.iter().filter(|t| has(t, x) != negate).map(|t| t.0.id).collect();
            assert_eq!(ids_of(&env, VIEWER, &query).unwrap(), want, "{query}");
        }
        // Nobody is an admin.
        let query = format!("admin_ids[nin]={x}");
        assert_eq!(ids_of(&env, VIEWER, &query).unwrap().len(), dialogs.len(), "{query}");
        assert_eq!(ids_of(&env, VIEWER, &format!("admin_ids={x}")).unwrap(), vec![]);
    }
    let query = format!("occupants_ids[all]={HALF},{}&sort_asc=created_at", u64::MAX);
    let want: Vec<DialogId> =
        dialogs.iter().filter(|t| has(t, HALF) && has(t, u64::MAX)).map(|t| t.0.id).collect();
    assert_eq!(want.len(), 2);
    assert_eq!(ids_of(&env, VIEWER, &query).unwrap(), want, "{query}");
    // The owner of u64::MAX's dialog sees it through the user bitmap.
    let mine = ids_of(&env, UserId(u64::MAX), "").unwrap();
    assert_eq!(mine.len(), 2, "owner of one, last sender of another");
}

#[test]
fn user_id_values_up_to_u64_max_parse_and_others_are_query_errors() {
    for field in ["user_id", "last_message_user_id", "occupants_ids", "admin_ids"] {
        let q: Query = format!("{field}[in]={},{HALF}", u64::MAX).parse().unwrap();
        assert_eq!(q.to_string(), format!("{field}[in]=18446744073709551615,9223372036854775808"));
        for bad in ["-1", "18446744073709551616", "-9223372036854775808", "1.5"] {
            let query = format!("{field}={bad}");
            let err = query.parse::<Query>().expect_err(&query);
            assert_eq!(err.key, field, "{query}");
            assert_eq!(err.kind, QueryErrorKind::BadUserId { value: bad.into() }, "{query}");
            assert_eq!(Error::from(err).code(), "QUERY");
        }
    }
}

// ---- the query limit is on the input string ----

/// A query of conditions with Cyrillic values, `len` bytes long as given.
fn cyrillic_query(len: usize) -> String {
    let mut query = String::from("name[nin]=");
    let words = ["Привет", "мир", "Новый год", "День рождения"];
    let mut i = 0;
    while query.len() + 40 < len {
        if i > 0 {
            query.push(',');
        }
        query.push_str(words[i % words.len()]);
        query.push_str(&i.to_string());
        i += 1;
    }
    query.push_str("&data[title][ne]=");
    while query.len() + 2 <= len {
        query.push('ж');
    }
    while query.len() < len {
        query.push('z');
    }
    assert_eq!(query.len(), len);
    query
}

#[test]
fn a_long_query_with_cyrillic_values_parses_by_its_own_length() {
    let env = Env::new();
    let d = env.group(OWNER, &[A]);
    let text = cyrillic_query(7_808);
    let q: Query = text.parse().expect("7,808 bytes as given fit in 8 KiB");
    // Its printed form is far longer: every Cyrillic byte becomes three.
    assert!(q.to_string().len() > 3 * MAX_QUERY_BYTES / 2, "{}", q.to_string().len());
    let page = env.list_dialogs(OWNER, &q).unwrap();
    assert_eq!(page.items.iter().map(|d| d.id).collect::<Vec<_>>(), [d.id]);

    // Exactly 8 KiB as given, and one byte more.
    let q: Query = cyrillic_query(MAX_QUERY_BYTES).parse().expect("8 KiB");
    assert_eq!(env.list_dialogs(OWNER, &q).unwrap().total_entries, 1);
    let over = cyrillic_query(MAX_QUERY_BYTES + 1);
    let err = over.parse::<Query>().unwrap_err();
    assert_eq!(err.kind, QueryErrorKind::TooLong { len: MAX_QUERY_BYTES + 1 });
    assert_eq!(err.to_string(), "query: 8193 bytes, the most is 8192");
    assert_eq!(Error::from(err).code(), "QUERY");
}

#[test]
fn the_limit_counts_the_bytes_given_however_they_print() {
    // Percent-encoded as given: 3 bytes a byte of text, both in and out.
    let encoded = format!("name={}", "%D0%96".repeat(1364));
    assert_eq!(encoded.len(), 8_189);
    assert!(encoded.parse::<Query>().is_ok());
    let encoded = format!("name={}", "%D0%96".repeat(1365));
    let err = encoded.parse::<Query>().unwrap_err();
    assert_eq!(err.kind, QueryErrorKind::TooLong { len: 8_195 });
    // Raw, the same text is a third as long.
    let raw = format!("name={}", "Ж".repeat(4093));
    assert_eq!(raw.len(), 8_191);
    assert!(raw.parse::<Query>().is_ok());
    let raw = format!("name={}", "Ж".repeat(4094));
    let err = raw.parse::<Query>().unwrap_err();
    assert_eq!(err.kind, QueryErrorKind::TooLong { len: 8_193 });
    // Spaces written `+` print as `%20`, `!` prints as `%21`: the input's length counts.
    let spaced = format!("name[ne]={}", "+!".repeat(4091));
    assert_eq!(spaced.len(), 8_191);
    assert!(spaced.parse::<Query>().is_ok());
}

#[test]
fn a_built_query_is_measured_on_its_printed_form() {
    // The builder has no input string: its canonical string is the one measured, so every
    // built query prints as a string that parses back.
    let err = Query::builder().filter(Field::Name, Op::Ne, "Ж".repeat(2000)).build().unwrap_err();
    assert_eq!(err.kind, QueryErrorKind::CanonicalTooLong { len: 12_009 });
    let q = Query::builder().filter(Field::Name, Op::Ne, "Ж".repeat(1360)).build().unwrap();
    assert_eq!(q.to_string().parse::<Query>(), Ok(q));
}

// ---- which class a query names does not depend on order ----

/// A store with `ScoreTable` declared, `Meta` not, and a dialog of each for [`OWNER`]:
/// ScoreTable progress 3 and 56, and a Meta dialog whose `progress` is the text "9".
fn classes() -> (Env, Dialog, Dialog, Dialog) {
    let env = Env::new();
    env.declare_class(&score_table()).unwrap();
    let score = |p: i64| {
        env.tick(1);
        let data = CustomData::new("ScoreTable").field("progress", DataValue::Integer(p));
        env.create_dialog(OWNER, NewDialog::group("Team", [A]).data(data)).unwrap()
    };
    let (low, high) = (score(3), score(56));
    env.tick(1);
    let data = CustomData::new("Meta").field("progress", DataValue::String("9".into()));
    let meta = env.create_dialog(OWNER, NewDialog::group("Team", [A]).data(data)).unwrap();
    (env, low, high, meta)
}

/// The answer to the conditions joined in the given order, with a sort.
fn answer(env: &Env, conditions: &[&str]) -> Result<Vec<DialogId>, Error> {
    ids_of(env, OWNER, &format!("{}&sort_asc=created_at", conditions.join("&")))
}

#[test]
fn contradicting_class_names_answer_nothing_in_either_order() {
    let (env, ..) = classes();
    let score = "data[class_name]=ScoreTable";
    let meta = "data[class_name]=Meta";
    for progress in ["data[progress][gt]=5", "data[progress]=56", "data[progress][lt]=x"] {
        for order in [[score, meta, progress], [meta, score, progress], [progress, meta, score]] {
            assert_eq!(answer(&env, &order).unwrap(), vec![], "{order:?}");
        }
    }
    // An `in` that leaves nothing is the same.
    let none = ["data[class_name][in]=Meta,Other", score, "data[progress][gte]=1"];
    assert_eq!(answer(&env, &none).unwrap(), vec![]);
}

#[test]
fn one_class_left_by_the_conditions_is_named_in_any_order() {
    let (env, _, high, _) = classes();
    let want = vec![high.id];
    let cases: [&[&str]; 6] = [
        &["data[class_name]=ScoreTable", "data[progress][gt]=5"],
        &["data[progress][gt]=5", "data[class_name]=ScoreTable"],
        &["data[class_name][in]=ScoreTable", "data[progress][gt]=5"],
        &["data[class_name][in]=ScoreTable,ScoreTable", "data[progress][gt]=5"],
        // Two lists that share one class, in either order.
        &[
            "data[class_name][in]=ScoreTable,Meta",
            "data[progress][gt]=5",
            "data[class_name][in]=Other,ScoreTable",
        ],
        &[
            "data[class_name][in]=Other,ScoreTable",
            "data[progress][gt]=5",
            "data[class_name][in]=ScoreTable,Meta",
        ],
    ];
    for conditions in cases {
        assert_eq!(answer(&env, conditions).unwrap(), want, "{conditions:?}");
    }
    // A list and an equality that leave ScoreTable.
    let mixed = [
        "data[class_name][in]=Meta,ScoreTable",
        "data[progress][gte]=3",
        "data[class_name]=ScoreTable",
    ];
    assert_eq!(answer(&env, &mixed).unwrap().len(), 2);
    // Typed: 56 > 9 as numbers, and "9" of Meta is not a ScoreTable row.
    let typed = ["data[progress][gt]=9", "data[class_name][in]=ScoreTable"];
    assert_eq!(answer(&env, &typed).unwrap(), vec![high.id]);
}

#[test]
fn several_classes_left_name_none_in_any_order() {
    let (env, low, high, meta) = classes();
    let two = "data[class_name][in]=ScoreTable,Meta";
    // An order comparison needs one declared class: refused, in either order.
    for order in [[two, "data[progress][gt]=5"], ["data[progress][gt]=5", two]] {
        let err = answer(&env, &order).unwrap_err();
        assert_eq!(err.code(), "QUERY", "{order:?}");
        let Error::Query(q) = &err else { panic!("{err:?}") };
        assert_eq!(q.kind, QueryErrorKind::UntypedComparison { field: "progress".into() });
    }
    // Equality compares as text: "56" matches the integer 56, "9" the text "9".
    for order in [[two, "data[progress]=56"], ["data[progress]=56", two]] {
        assert_eq!(answer(&env, &order).unwrap(), vec![high.id], "{order:?}");
    }
    for order in [[two, "data[progress][in]=3,9"], ["data[progress][in]=3,9", two]] {
        assert_eq!(answer(&env, &order).unwrap(), vec![low.id, meta.id], "{order:?}");
    }
}

#[test]
fn an_undeclared_class_left_alone_names_none() {
    let (env, _, _, meta) = classes();
    let only_meta = ["data[class_name][in]=Meta,ScoreTable", "data[class_name]=Meta"];
    assert_eq!(answer(&env, &only_meta).unwrap(), vec![meta.id]);
    let err = answer(&env, &[only_meta[0], only_meta[1], "data[progress][gt]=5"]).unwrap_err();
    assert_eq!(err.code(), "QUERY");
    let eq = [only_meta[1], "data[progress]=9", only_meta[0]];
    assert_eq!(answer(&env, &eq).unwrap(), vec![meta.id]);
    // A declared class named alone still refuses a field it does not declare.
    let err = answer(&env, &["data[nope]=1", "data[class_name][in]=ScoreTable"]).unwrap_err();
    assert_eq!(err.code(), "QUERY");
}

/// A dialog owned by (and holding, and last written to by) users at or above 2^63 exports to
/// JSON that imports back: user ids are unsigned in JSON input too.
#[test]
fn big_user_ids_round_trip_through_json_import() {
    let store = DialogStore::in_memory().unwrap();
    let big = UserId(u64::MAX);
    let d =
        store.create_dialog(big, NewDialog::group("Big", [UserId(1), UserId(1 << 63)])).unwrap();
    let json = d.to_json();
    assert!(json.contains("18446744073709551615"), "{json}");
    let back = Dialog::from_json(&json).unwrap();
    assert_eq!(back.user_id, big);
    assert_eq!(*back.occupants_ids, [UserId(1), UserId(1 << 63), big]);
    let other = DialogStore::in_memory().unwrap();
    let imported = other.import(back).unwrap();
    assert_eq!(imported.user_id, big);
    assert_eq!(other.get_dialog(big, &d.id.to_string()).unwrap().occupants_ids, d.occupants_ids);
    // occupants_ids as numbers in a create body, too.
    let body =
        r#"{"type":2,"name":"x","occupants_ids":[18446744073709551615, 9223372036854775808]}"#;
    let new: NewDialog = serde_json::from_str(body).unwrap();
    assert_eq!(new.occupants_ids, [big, UserId(1 << 63)]);
}
