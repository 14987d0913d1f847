//! The column path (`Access::SortColumns`): queries with more candidates than the planner's
//! threshold sort and test on in-memory columns, which every later commit patches. Each query
//! here runs as the planner chooses and as a full scan, before and after writes that move
//! dialogs in the order, change the tested field, delete and create dialogs: the answers must be
//! equal, and the planner must have chosen the columns. Also here: how the planner narrows the
//! candidates before choosing (one intersection per distinct bitmap, public time ranges first).

mod common;

use common::{msg, Env};
use dialogstore::{AccessPath, CandidateStep, ConditionAnswer, PartScope, PathChoice};
use dialogstore::{
    CustomClass, CustomData, DataValue, DialogId, DialogStore, DialogUpdate, FieldType, NewDialog,
    Query, UserId,
};

const ME: UserId = UserId(1);

fn class() -> CustomClass {
    CustomClass::new("Game")
        .field("progress", FieldType::Integer)
        .field("mode", FieldType::String)
        .field("ratio", FieldType::Float)
}

fn data(i: u64) -> CustomData {
    CustomData::new("Game")
        .field("progress", DataValue::Integer((i * 37 % 101) as i64))
        .field(
            "mode",
            DataValue::String(["classic", "blitz", "Rainbow Dash"][i as usize % 3].into()),
        )
        .field("ratio", DataValue::Float((i % 17) as f64 / 4.0))
}

/// 2,400 groups of user 1, two thirds with `Game` data; most with a message (many sent at the
/// same second, so the column's ties matter), some without.
fn store() -> (Env, Vec<DialogId>) {
    let env = Env::at(1_600_000_000);
    env.declare_class(&class()).unwrap();
    let mut ids = Vec::new();
    env.write(|b| {
        for i in 0..2_400u64 {
            let mut new = NewDialog::group(format!("room {i}"), [ME, UserId(2 + i % 5)]);
            if i % 3 != 0 {
                new = new.data(data(i));
            }
            let d = b.create_dialog(ME, new)?;
            if i % 7 != 0 {
                let sent = 1_600_000_000 + (i as i64 * 13) % 500;
                b.record_message(d.id, ME, msg(&format!("m{i}"), "hi", sent))?;
            }
            ids.push(d.id);
        }
        Ok(())
    })
    .unwrap();
    (env, ids)
}

const QUERIES: [&str; 8] = [
    "data[class_name]=Game&data[progress][gte]=50&limit=100",
    "data[class_name]=Game&data[progress][lt]=20&data[ratio][gte]=2.5&limit=30&skip=40",
    "data[class_name]=Game&data[mode]=blitz&sort_asc=last_message_date_sent&limit=100",
    "data[class_name]=Game&data[mode][ctn]=dash&sort_desc=updated_at&limit=10",
    "data[class_name]=Game&data[progress][in]=1,2,3,50&sort_asc=updated_at&limit=100",
    "data[class_name]=Game&data[progress][ne]=10&limit=100",
    "data[class_name]=Game&data[progress][gte]=50&count=1",
    "limit=100&sort_desc=last_message_date_sent",
];

/// Every query agrees with the full scan; returns how many were answered on columns: sorted
/// and tested there, or with their data conditions answered by a filter built from them.
fn check(store: &DialogStore, stage: &str) -> usize {
    let mut columns = 0;
    for text in QUERIES {
        let q: Query = text.parse().unwrap();
        let auto = store.list_dialogs(ME, &q).unwrap();
        let scan = store.with_path_choice(PathChoice::FullScan).list_dialogs(ME, &q).unwrap();
        let forced = store.with_path_choice(PathChoice::Columns).list_dialogs(ME, &q).unwrap();
        assert_eq!(auto, scan, "{stage}: {text}");
        assert_eq!(forced, scan, "{stage}: {text} (forced columns)");
        let explain = store.explain(ME, &q).unwrap();
        if explain.access_paths()[0] == AccessPath::SortColumns
            || explain
                .conditions
                .iter()
                .any(|c| matches!(c.answer, ConditionAnswer::DataFilter { .. }))
        {
            columns += 1;
        }
        // Dates in the fixture tie a few dialogs at most: the first query reads its page's rows
        // and those ties, not the candidates. (Ties on the column value are all read: the
        // `updated_at` queries, whose dialogs were created in one write, read every match.)
        if text == QUERIES[0] {
            assert!(
                explain.rows_read() <= 130,
                "{stage}: {text}: the column path read {} rows",
                explain.rows_read()
            );
        }
    }
    columns
}

#[test]
fn the_column_path_agrees_with_a_full_scan_through_writes() {
    let (store, ids) = store();
    // Every query but the unfiltered inbox (exact, which walks the time index) qualifies, the
    // count too (its residual is tested on a column).
    assert_eq!(check(&store, "fresh"), 7, "the planner did not choose the columns");

    // Messages move dialogs to the top, data changes move them in and out of the filters,
    // deletes and creates change the candidates: each commit patches the cached columns.
    for (n, id) in ids.iter().enumerate().step_by(9) {
        store.tick(1);
        store.record_message(*id, ME, msg(&format!("late{n}"), "again", 1_700_000_000)).unwrap();
    }
    check(&store, "after messages");
    for (n, id) in ids.iter().enumerate().skip(1).step_by(11) {
        store.tick(1);
        store.update_dialog(ME, *id, DialogUpdate::default().data(data(n as u64 * 3 + 1))).unwrap();
    }
    check(&store, "after data changes");
    let gone: Vec<DialogId> = ids.iter().copied().skip(2).step_by(13).collect();
    for some in gone.chunks(100) {
        store.delete_dialogs(ME, some, true).unwrap();
    }
    for i in 0..300u64 {
        store.tick(1);
        store.create_dialog(ME, NewDialog::group(format!("new {i}"), [ME]).data(data(i))).unwrap();
    }
    assert_eq!(check(&store, "after deletes and creates"), 7);
}

#[test]
fn a_commit_patches_the_columns_a_query_built() {
    let (store, _) = store();
    let q: Query = QUERIES[0].parse().unwrap();
    let before = store.list_dialogs(ME, &q).unwrap();
    // A write that moves a dialog out of the filter and one to the top.
    let (top, out) = (before.items[50].id, before.items[0].id);
    // `data(0)` has progress 0, below the filter's 50.
    store.update_dialog(ME, out, DialogUpdate::default().data(data(0))).unwrap();
    store.record_message(top, ME, msg("x", "x", 1_800_000_000)).unwrap();
    let after = store.list_dialogs(ME, &q).unwrap();
    assert_eq!(after, store.with_path_choice(PathChoice::FullScan).list_dialogs(ME, &q).unwrap());
    assert_eq!(after.items[0].id, top);
    assert_eq!(after.total_entries, before.total_entries - 1);
    assert!(after.items.iter().all(|d| d.id != out), "{out} left the filter");
}

#[test]
fn columns_built_by_warm_up_answer_like_a_full_scan_and_follow_writes() {
    let (store, ids) = store();
    assert!(store.warm_up().unwrap(), "no commit was in flight");
    assert_eq!(check(&store, "warmed"), 7);
    for (n, id) in ids.iter().enumerate().step_by(5) {
        store.tick(1);
        let sent = 1_650_000_000 + n as i64;
        store.record_message(*id, ME, msg(&format!("w{n}"), "again", sent)).unwrap();
    }
    assert_eq!(check(&store, "warmed, after messages"), 7);
    // warm_up built the fields' columns too: commits patch them like those a query built.
    for (n, id) in ids.iter().enumerate().skip(3).step_by(7) {
        store.tick(1);
        store.update_dialog(ME, *id, DialogUpdate::default().data(data(n as u64 * 5 + 2))).unwrap();
    }
    assert_eq!(check(&store, "warmed, after data changes"), 7);
}

#[test]
fn two_bounds_on_one_field_intersect_its_bitmap_once() {
    let (store, _) = store();
    for text in [
        "data[class_name]=Game&data[progress][gte]=20&data[progress][lt]=60&limit=100",
        "last_message_date_sent[gte]=1600000100&last_message_date_sent[lt]=1600000300&limit=50",
    ] {
        let q: Query = text.parse().unwrap();
        // One bitmap beyond the user's: the field's (or the has-message one), not once a bound.
        // (Sorting candidates on rows builds no data filter, which would answer all three.)
        let explain = store.with_path_choice(PathChoice::SortCandidates).explain(ME, &q).unwrap();
        let own = &explain.parts[0];
        assert_eq!(own.scope, PartScope::Own);
        // The field's bitmap (or the has-message one) once, whatever time range narrows.
        assert!(
            own.steps.starts_with(&[CandidateStep::Base, CandidateStep::Bitmaps(1)]),
            "{text}:\n{explain}"
        );
        if text.starts_with("data") {
            let explain = store.explain(ME, &q).unwrap();
            // The filter answers every condition: no bitmap beside it.
            assert_eq!(
                explain.parts[0].steps,
                [CandidateStep::Base, CandidateStep::DataFilter],
                "{explain}"
            );
        }
        let scan = store.with_path_choice(PathChoice::FullScan).list_dialogs(ME, &q).unwrap();
        assert_eq!(store.list_dialogs(ME, &q).unwrap(), scan, "{text}");
        assert!(scan.total_entries > 0 && scan.total_entries < 2_400, "{text}: a narrow filter");
    }
}

/// A narrow time range over many public dialogs is read from the public stream before the
/// has-message bitmap is intersected; every access path still answers like a full scan.
#[test]
fn a_narrow_time_range_narrows_the_public_dialogs_first() {
    let env = Env::at(1_600_000_000);
    env.write(|b| {
        for i in 0..400i64 {
            let public = b.create_dialog(UserId(9), NewDialog::public(format!("hall {i}")))?;
            let own = b.create_dialog(ME, NewDialog::group(format!("own {i}"), [UserId(2)]))?;
            for (n, d) in [public, own].iter().enumerate() {
                if i % 5 != 0 {
                    let sent = 1_600_000_000 + i * 10 + n as i64;
                    b.record_message(d.id, UserId(9 - 7 * n as u64), msg("m", "hi", sent))?;
                }
            }
        }
        Ok(())
    })
    .unwrap();
    for text in [
        "last_message_date_sent[gte]=1600000500&last_message_date_sent[lt]=1600000800&limit=20",
        "last_message_date_sent[gt]=1600003800&sort_asc=last_message_date_sent&limit=100",
        "last_message_date_sent[lte]=1600000101&type=1&count=1",
    ] {
        let q: Query = text.parse().unwrap();
        let explain = env.explain(ME, &q).unwrap();
        let public = &explain.parts[1];
        assert_eq!(public.scope, PartScope::Public);
        assert!(
            matches!(
                public.steps[..2],
                [
                    CandidateStep::Base,
                    CandidateStep::TimeRange { index: "public_by_last_message", .. }
                ]
            ),
            "{text}:\n{explain}"
        );
        let scan = env.with_path_choice(PathChoice::FullScan).list_dialogs(ME, &q).unwrap();
        assert!(scan.total_entries > 0, "{text}: the range holds dialogs");
        for choice in
            [PathChoice::Auto, PathChoice::SortCandidates, PathChoice::Walk, PathChoice::UserOrder]
        {
            assert_eq!(
                env.with_path_choice(choice).list_dialogs(ME, &q).unwrap(),
                scan,
                "{text} {choice:?}"
            );
        }
    }
}

/// Conditions on custom data are answered by a filter: the first query that tests them on
/// columns builds it, later queries with the same conditions (in any order, by any user)
/// intersect it, and every commit patches it. After each kind of write the filter is still the
/// cached one (not built again) and every user's answer equals a full scan's on every path.
#[test]
fn a_data_filter_is_built_once_and_patched_by_every_commit() {
    let (store, ids) = store();
    // Public dialogs with data: in every user's view, so in the filter's public half.
    let halls: Vec<DialogId> = (0..30u64)
        .map(|i| {
            let new = NewDialog::public(format!("hall {i}")).data(data(i + 1));
            store.create_dialog(ME, new).unwrap().id
        })
        .collect();
    let text = "data[class_name]=Game&data[progress][gte]=50&limit=100";
    let same = "data[progress][gte]=50&data[class_name]=Game&limit=20&skip=10";
    let note = |text: &str, user: UserId| {
        let explain = store.explain(user, &text.parse().unwrap()).unwrap();
        let filter = explain
            .conditions
            .iter()
            .find(|c| matches!(c.answer, ConditionAnswer::DataFilter { .. }))
            .cloned();
        filter.unwrap_or_else(|| panic!("{text}: no filter:\n{explain}"))
    };
    let built = note(text, ME);
    assert_eq!(built.key, "data[class_name], data[progress][gte]");
    assert!(matches!(built.answer, ConditionAnswer::DataFilter { built: true, .. }), "{built:?}");
    let agree = |stage: &str| {
        for text in [text, same, "data[class_name]=Game&data[progress][gte]=50&count=1"] {
            // A user of a handful of the dialogs uses the filter as well as the one in all.
            for user in [ME, UserId(2), UserId(6)] {
                assert!(
                    matches!(
                        note(text, user).answer,
                        ConditionAnswer::DataFilter { built: false, .. }
                    ),
                    "{stage}: {text} as {user}"
                );
                let q: Query = text.parse().unwrap();
                let scan =
                    store.with_path_choice(PathChoice::FullScan).list_dialogs(user, &q).unwrap();
                for choice in [
                    PathChoice::Auto,
                    PathChoice::SortCandidates,
                    PathChoice::Walk,
                    PathChoice::UserOrder,
                ] {
                    let page = store.with_path_choice(choice).list_dialogs(user, &q).unwrap();
                    assert_eq!(page, scan, "{stage}: {text} as {user}, {choice:?}");
                }
            }
        }
        store.list_dialogs(ME, &text.parse().unwrap()).unwrap().total_entries
    };
    let fresh = agree("fresh");
    assert!(fresh > 500 && fresh < 1_600, "a filter that keeps part of the class: {fresh}");

    // Data changes move dialogs in and out of the filter, and out of the class.
    for (n, id) in ids.iter().enumerate().skip(1).step_by(7) {
        store.tick(1);
        store.update_dialog(ME, *id, DialogUpdate::default().data(data(n as u64 * 3 + 1))).unwrap();
    }
    let other = CustomData::new("Other").field("progress", DataValue::String("99".into()));
    store.update_dialog(ME, ids[2], DialogUpdate::default().data(other)).unwrap();
    for (n, id) in halls.iter().enumerate().step_by(3) {
        store.update_dialog(ME, *id, DialogUpdate::default().data(data(n as u64 * 5))).unwrap();
    }
    agree("after data changes");
    // Users leave and join (the filter holds no user: it must not change), messages arrive.
    store.update_dialog(ME, ids[4], DialogUpdate::default().pull_occupants([ME])).unwrap();
    store
        .update_dialog(UserId(2), ids[5], DialogUpdate::default().push_occupants([UserId(6)]))
        .unwrap();
    for id in ids.iter().step_by(10) {
        store.tick(1);
        store
            .record_message(*id, UserId(2 + id.0[11] as u64 % 5), msg("f", "x", 1_650_000_000))
            .ok();
    }
    agree("after members and messages");
    // Deletes and creates, some in one batch that aborts (the filter stays as committed).
    store.delete_dialogs(ME, &ids[10..40], true).unwrap();
    store.delete_dialogs(ME, &halls[..5], true).unwrap();
    let _ = store.write(|b| {
        for i in 0..50u64 {
            b.create_dialog(ME, NewDialog::group(format!("gone {i}"), [ME]).data(data(i)))?;
        }
        Err::<(), _>(dialogstore::Error::DialogIdEmpty)
    });
    for i in 0..200u64 {
        store.tick(1);
        let new = NewDialog::group(format!("new {i}"), [ME, UserId(6)]).data(data(i * 7));
        store.create_dialog(ME, new).unwrap();
    }
    let last = agree("after deletes, an aborted batch and creates");
    assert_ne!(last, fresh, "the writes moved dialogs in and out of the filter");
}
