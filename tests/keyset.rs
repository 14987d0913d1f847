//! Keyset page cursors (`cursor=`, SPEC section 9): paging by cursor yields what paging by
//! `skip` yields, on every access path, for light and heavy users and for every kind of sort;
//! no dialog that stays put is repeated or dropped while writes go on; misuse is a `QUERY`
//! error; `next_cursor` is in the JSON only when asked for.

mod common;

use common::*;
use dialogstore::{DialogId, DialogStore, DialogUpdate, PathChoice, Query, UserId};

const PATHS: [PathChoice; 6] = PathChoice::ALL;

/// Every page of `query` (which has no cursor) by cursor: the ids in order, and the pages'
/// totals.
fn by_cursor(store: &DialogStore, user: UserId, query: &str) -> (Vec<DialogId>, Vec<u64>) {
    let sep = if query.is_empty() { "" } else { "&" };
    let mut cursor = String::new();
    let (mut ids, mut totals) = (Vec::new(), Vec::new());
    loop {
        let q: Query = format!("{query}{sep}cursor={cursor}").parse().expect("query");
        let page = store.list_dialogs(user, &q).expect("list_dialogs");
        ids.extend(page.items.iter().map(|d| d.id));
        totals.push(page.total_entries);
        match page.next_cursor {
            Some(next) => cursor = next,
            None => return (ids, totals),
        }
        assert!(totals.len() < 10_000, "never ended");
    }
}

/// Every page of `query` by `skip`.
fn by_skip(store: &DialogStore, user: UserId, query: &str) -> (Vec<DialogId>, u64) {
    let sep = if query.is_empty() { "" } else { "&" };
    let mut ids = Vec::new();
    loop {
        let q: Query = format!("{query}{sep}skip={}", ids.len()).parse().expect("query");
        let page = store.list_dialogs(user, &q).expect("list_dialogs");
        let n = page.items.len();
        ids.extend(page.items.iter().map(|d| d.id));
        if n == 0 || ids.len() as u64 >= page.total_entries {
            return (ids, page.total_entries);
        }
    }
}

/// A store where user 1 is heavy (in most dialogs), user 2 light, with public dialogs, ties on
/// every time field, dialogs without messages, names and custom data.
fn store() -> Env {
    let env = Env::new();
    env.declare_class(&score_table()).unwrap();
    let mut ids = Vec::new();
    for n in 0..140u64 {
        if n % 7 == 0 {
            env.tick(1); // several dialogs a second: ties on created_at and updated_at
        }
        let d = match n % 10 {
            0 => env.public(UserId(5)),
            1 => env.private(UserId(2), UserId(100 + n)),
            2..=4 => env.private(UserId(1), UserId(100 + n)),
            _ => env.group(UserId(1), &[UserId(100 + n)]),
        };
        ids.push(d.id);
    }
    for (n, id) in ids.iter().enumerate() {
        if n % 3 == 0 {
            continue; // no message
        }
        let d = env.get(UserId(1), *id).or_else(|_| env.get(UserId(2), *id)).unwrap();
        let sender = d.occupants_ids.first().copied().unwrap_or(UserId(5));
        // Few distinct dates: many ties.
        env.post(*id, sender, &format!("m{n}"), T0 + (n as i64 % 9));
        if n % 4 == 0 {
            let data = dialogstore::CustomData::new("ScoreTable")
                .field("progress", dialogstore::DataValue::Integer((n % 5) as i64));
            let update = DialogUpdate::default().data(data);
            let _ = env.update_dialog(sender, *id, update);
        }
        if n % 5 == 0 {
            let _ =
                env.update_dialog(sender, *id, DialogUpdate::default().name(format!("n{}", n % 4)));
        }
    }
    env
}

const QUERIES: [&str; 11] = [
    "",
    "limit=7",
    "sort_asc=last_message_date_sent&limit=9",
    "sort_desc=updated_at&limit=5",
    "sort_asc=updated_at&limit=11",
    "sort_desc=created_at&limit=6",
    "sort_asc=created_at&limit=7",
    "sort_asc=name&limit=4",
    "type[in]=2,3&sort_desc=last_message_date_sent&limit=8",
    "data[class_name]=ScoreTable&sort_desc=data[progress]&limit=3",
    "updated_at[gte]=1579555960&limit=5",
];

#[test]
fn paging_by_cursor_is_paging_by_skip_on_every_path() {
    let env = store();
    for user in [UserId(1), UserId(2), UserId(77)] {
        for query in QUERIES {
            let (want, total) = by_skip(&env, user, query);
            for path in PATHS {
                let store = env.with_path_choice(path);
                let (have, totals) = by_cursor(&store, user, query);
                assert_eq!(have, want, "user {user} {query:?} via {path:?}");
                assert!(totals.iter().all(|t| *t == total), "totals {totals:?} want {total}");
            }
        }
    }
}

#[test]
fn no_dialog_that_stays_put_is_repeated_or_dropped_while_writes_go_on() {
    let env = store();
    let user = UserId(1);
    for query in ["limit=5", "sort_asc=updated_at&limit=4", "sort_desc=created_at&limit=6"] {
        let before = by_skip(&env, user, query).0;
        // Page through while each page moves a dialog (a message, which moves it to the top
        // of the inbox and the end of updated_at) and adds a new one.
        let mut moved: Vec<DialogId> = Vec::new();
        let mut seen: Vec<DialogId> = Vec::new();
        let mut cursor = String::new();
        for round in 0.. {
            let q: Query = format!("{query}&cursor={cursor}").parse().unwrap();
            let page = env.list_dialogs(user, &q).unwrap();
            seen.extend(page.items.iter().map(|d| d.id));
            let Some(next) = page.next_cursor else { break };
            cursor = next;
            let victim = before[(round * 7 + 3) % before.len()];
            env.tick(1);
            if env.get(user, victim).is_ok() {
                env.post(victim, user, &format!("w{round}"), env.now());
                moved.push(victim);
            }
            env.group(user, &[UserId(999)]);
        }
        for id in before.iter().filter(|id| !moved.contains(id)) {
            let n = seen.iter().filter(|s| *s == id).count();
            assert_eq!(n, 1, "{query:?}: {id} seen {n} times");
        }
        for id in &seen {
            assert!(seen.iter().filter(|s| *s == id).count() == 1 || moved.contains(id));
        }
    }
}

#[test]
fn misused_cursors_are_query_errors() {
    let env = store();
    let user = UserId(1);
    let q: Query = "limit=3&cursor=".parse().unwrap();
    let next = env.list_dialogs(user, &q).unwrap().next_cursor.expect("more pages");
    let code = |q: String| match q.parse::<Query>() {
        Err(e) => dialogstore::Error::from(e).code(),
        Ok(q) => env.list_dialogs(user, &q).unwrap_err().code(),
    };
    // Same conditions and sort: fine, with another limit too.
    assert!(env.list_dialogs(user, &format!("limit=5&cursor={next}").parse().unwrap()).is_ok());
    assert_eq!(code(format!("limit=3&skip=3&cursor={next}")), "QUERY");
    assert_eq!(code(format!("type=2&limit=3&cursor={next}")), "QUERY");
    assert_eq!(code(format!("sort_asc=updated_at&limit=3&cursor={next}")), "QUERY");
    assert_eq!(code(format!("limit=3&cursor={}", &next[2..])), "QUERY");
    assert_eq!(code("limit=3&cursor=xyz".into()), "QUERY");
    assert_eq!(code("limit=3&cursor=&cursor=".into()), "QUERY");
    let err = format!("type=2&limit=3&cursor={next}").parse::<Query>().unwrap();
    let err = env.list_dialogs(user, &err).unwrap_err();
    assert!(err.to_string().contains("other conditions"), "{err}");
    // skip with an empty cursor (the first page) is allowed.
    assert!(env.list_dialogs(user, &"skip=2&cursor=".parse().unwrap()).is_ok());
}

#[test]
fn next_cursor_is_in_the_json_only_when_asked_for() {
    let env = store();
    let user = UserId(2);
    let plain = env.list_dialogs(user, &"limit=2".parse().unwrap()).unwrap();
    let json = serde_json::to_value(&plain).unwrap();
    assert!(json.get("next_cursor").is_none(), "{json}");
    let first = env.list_dialogs(user, &"limit=2&cursor=".parse().unwrap()).unwrap();
    let json = serde_json::to_value(&first).unwrap();
    assert!(json["next_cursor"].is_string(), "{json}");
    let last = env.list_dialogs(user, &"limit=100&cursor=".parse().unwrap()).unwrap();
    let json = serde_json::to_value(&last).unwrap();
    assert!(json["next_cursor"].is_null() && json.get("next_cursor").is_some(), "{json}");
    // The query prints its cursor back.
    let q: Query = "limit=2&cursor=".parse().unwrap();
    assert_eq!(q.to_string(), "limit=2&cursor=");
    assert_eq!(q.to_string().parse::<Query>().unwrap(), q);
}

#[test]
fn skip_pages_the_first_cursor_page_and_a_hand_built_limit_does_not_overflow() {
    let env = store();
    let user = UserId(1);
    let plain = env.list_dialogs(user, &"skip=2&limit=2".parse().unwrap()).unwrap();
    let keyset = env.list_dialogs(user, &"skip=2&limit=2&cursor=".parse().unwrap()).unwrap();
    assert_eq!(keyset.skip, 2);
    assert_eq!(plain.items, keyset.items);
    // The next page goes on after it.
    let next = keyset.next_cursor.expect("more");
    let q: Query = format!("limit=2&cursor={next}").parse().unwrap();
    let skipped = env.list_dialogs(user, &"skip=4&limit=2".parse().unwrap()).unwrap();
    assert_eq!(env.list_dialogs(user, &q).unwrap().items, skipped.items);
    // Query's fields are public: a limit no parser allows still answers.
    let q = Query { limit: u32::MAX, cursor: Some(String::new()), ..Query::default() };
    let page = env.list_dialogs(user, &q).unwrap();
    assert_eq!(page.next_cursor, None);
    assert_eq!(page.items.len() as u64, page.total_entries);
}

/// Pages read on one thread while another writes: every dialog the writer did not touch is
/// seen exactly once, on every sort a walk serves.
#[test]
fn cursor_pages_under_a_concurrent_writer() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;
    let env = store();
    let user = UserId(1);
    for query in ["limit=3", "sort_asc=updated_at&limit=4", "sort_desc=updated_at&limit=5"] {
        let before = by_skip(&env, user, query).0;
        let touched = Mutex::new(Vec::new());
        let done = AtomicBool::new(false);
        let seen = std::thread::scope(|s| {
            s.spawn(|| {
                let mut rng = Rng::new(7);
                for n in 0..300 {
                    if done.load(Ordering::Relaxed) {
                        break;
                    }
                    let id = *rng.pick(&before);
                    // Recorded before the write, so a page that sees the write knows of it.
                    touched.lock().unwrap().push(id);
                    let _ = env.record_message(id, user, msg("w", "moved", T0 + 50 + n));
                }
            });
            let mut seen = Vec::new();
            let mut cursor = String::new();
            loop {
                let q: Query = format!("{query}&cursor={cursor}").parse().unwrap();
                let page = env.list_dialogs(user, &q).unwrap();
                seen.extend(page.items.iter().map(|d| d.id));
                std::thread::yield_now();
                match page.next_cursor {
                    Some(next) => cursor = next,
                    None => break,
                }
            }
            done.store(true, Ordering::Relaxed);
            seen
        });
        let touched = touched.into_inner().unwrap();
        for id in before.iter().filter(|id| !touched.contains(id)) {
            let n = seen.iter().filter(|s| *s == id).count();
            assert_eq!(n, 1, "{query:?}: {id} seen {n} times");
        }
    }
}

#[test]
fn explain_shows_a_cursor_page() {
    let env = store();
    let user = UserId(1);
    let first = env.list_dialogs(user, &"sort_asc=updated_at&limit=4&cursor=".parse().unwrap());
    let next = first.unwrap().next_cursor.expect("more");
    let q: Query = format!("sort_asc=updated_at&limit=4&cursor={next}").parse().unwrap();
    let e = env.explain(user, &q).unwrap();
    assert_eq!((e.limit, e.skip), (4, 0));
    assert!(e.query.contains(&format!("cursor={next}")), "{}", e.query);
    let read: u64 = e.parts.iter().map(|p| p.rows_read).sum();
    let all = env.explain(user, &"sort_asc=updated_at&limit=4&skip=60".parse().unwrap()).unwrap();
    let read_all: u64 = all.parts.iter().map(|p| p.rows_read).sum();
    assert!(read <= read_all, "a cursor page read {read} rows, skip=60 read {read_all}");
    // Misuse is refused by explain as by list_dialogs.
    let bad: Query = format!("type=2&limit=4&cursor={next}").parse().unwrap();
    assert_eq!(env.explain(user, &bad).unwrap_err().code(), "QUERY");
}
