//! `explain` is data: each condition's answer, each part's candidate steps, access path and
//! reads. These tests assert on the fields, never on the printed prose.

use dialogstore::{
    AccessPath, CandidateStep, ConditionAnswer, DialogStore, DialogType, Direction, NewDialog,
    PartScope, PathChoice, Query, UserId,
};

const ME: UserId = UserId(1);

fn store() -> DialogStore {
    let store = DialogStore::in_memory().unwrap();
    for i in 0..40u64 {
        store.create_dialog(ME, NewDialog::group(format!("party {i}"), [UserId(100 + i)])).unwrap();
        store.create_dialog(ME, NewDialog::private(UserId(1000 + i))).unwrap();
    }
    store.create_dialog(UserId(7), NewDialog::public("news")).unwrap();
    store
}

fn q(text: &str) -> Query {
    text.parse().unwrap()
}

#[test]
fn the_inbox_names_its_order_page_and_parts() {
    let store = store();
    let e = store.explain(ME, &q("limit=10")).unwrap();
    assert_eq!(e.viewer, ME);
    assert_eq!(e.query, "limit=10");
    assert_eq!(
        (e.sort_field.as_str(), e.direction, e.default_order),
        ("last_message_date_sent", Direction::Desc, true)
    );
    assert_eq!((e.skip, e.limit, e.count_only), (0, 10, false));
    assert!(e.conditions.is_empty());
    assert_eq!(e.parts.len(), 2);
    assert_eq!((e.parts[0].scope, e.parts[1].scope), (PartScope::Own, PartScope::Public));
    assert_eq!(e.parts[0].steps, [CandidateStep::Base]);
    assert_eq!(e.parts[0].candidates, 80);
    assert_eq!(e.parts[1].candidates, 1);
    assert!(e.parts.iter().all(|p| p.exact));
    assert_eq!(e.total_entries, 81);
    // The page is no more than the candidates read.
    assert!(e.rows_read() <= 81, "{e}");
}

#[test]
fn each_condition_says_what_answers_it() {
    let store = store();
    let e = store.explain(ME, &q("type=2&name[ctn]=party 1&occupants_ids=101&photo=x")).unwrap();
    let answers: Vec<(&str, &ConditionAnswer)> =
        e.conditions.iter().map(|c| (c.key.as_str(), &c.answer)).collect();
    assert_eq!(answers[0], ("type", &ConditionAnswer::Types(vec![DialogType::Group])));
    assert!(matches!(answers[1], ("name[ctn]", ConditionAnswer::Bitmap { .. })));
    assert!(matches!(answers[2], ("occupants_ids", ConditionAnswer::Occupied { rows: 1 })));
    assert_eq!(answers[3], ("photo", &ConditionAnswer::Tested));
    // Types and occupants leave no public dialog to read.
    assert!(e.parts[1].steps.starts_with(&[CandidateStep::Base, CandidateStep::NoneCanMatch]));
    assert_eq!(e.parts[1].access, AccessPath::Empty);
}

#[test]
fn a_count_of_exact_candidates_reads_nothing() {
    let store = store();
    let e = store.explain(ME, &q("count=1&type=3")).unwrap();
    assert!(e.count_only);
    assert_eq!(e.parts[0].access, AccessPath::CountOnly);
    assert_eq!(e.total_entries, 40);
    assert_eq!(e.rows_read(), 0);
}

#[test]
fn forced_paths_show_in_the_plan() {
    let store = store();
    let scan = store.with_path_choice(PathChoice::FullScan).explain(ME, &q("limit=5")).unwrap();
    assert_eq!(scan.access_paths(), [AccessPath::FullScan, AccessPath::FullScan]);
    let sort =
        store.with_path_choice(PathChoice::SortCandidates).explain(ME, &q("limit=5")).unwrap();
    assert_eq!(sort.parts[0].access, AccessPath::SortCandidates);
    let walk = store.with_path_choice(PathChoice::Walk).explain(ME, &q("limit=5")).unwrap();
    assert!(matches!(
        walk.parts[0].access,
        AccessPath::WalkTime { index: "by_last_message", from: i64::MIN, to: i64::MAX }
    ));
    let rows = store
        .with_path_choice(PathChoice::Walk)
        .explain(ME, &q("sort_asc=created_at&limit=5"))
        .unwrap();
    assert_eq!(rows.parts[0].access, AccessPath::WalkRows);
    // Every path finds the same total.
    for e in [&scan, &sort, &walk] {
        assert_eq!(e.total_entries, 81);
    }
}

#[test]
fn the_printed_form_comes_from_the_data() {
    let store = store();
    let e = store.explain(ME, &q("type=2&limit=3")).unwrap();
    let text = e.to_string();
    assert!(text.starts_with("query: type=2&limit=3\nviewer: 1\n"), "{text}");
    assert!(text.ends_with("total_entries: 40"), "{text}");
}
