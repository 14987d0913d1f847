//! Query cases as data (`tests/cases/*.txt`): a fixture built by a few operations, then queries
//! with the total and the ids they must return, in order. Each query runs on every access path
//! the planner can choose (sorting candidates on rows or on columns, walking an index, a full
//! scan, and the planner's own choice), so every path is held to the same answer.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use dialogstore::PathChoice;
use dialogstore::{
    CustomClass, Dialog, DialogId, DialogStore, ManualClock, MessageMeta, NewDialog, Query, UserId,
};

const PATHS: [PathChoice; 6] = PathChoice::ALL;

struct Case {
    store: DialogStore,
    clock: Arc<ManualClock>,
    ids: HashMap<String, DialogId>,
    names: HashMap<DialogId, String>,
}

impl Case {
    fn alias(&mut self, alias: &str, id: DialogId) {
        self.ids.insert(alias.to_owned(), id);
        self.names.insert(id, alias.to_owned());
    }

    fn id(&self, alias: &str, line: usize) -> DialogId {
        *self.ids.get(alias).unwrap_or_else(|| panic!("line {line}: unknown alias {alias}"))
    }

    fn user(word: &str, line: usize) -> UserId {
        UserId(word.parse().unwrap_or_else(|_| panic!("line {line}: bad user {word}")))
    }

    /// Runs one fixture line.
    fn step(&mut self, line: usize, text: &str) {
        let words: Vec<&str> = text.splitn(5, ' ').collect();
        let fail = |e: dialogstore::Error| -> ! { panic!("line {line}: {text}: {e}") };
        match words[0] {
            "at" => self.clock.set(words[1].parse().expect("seconds")),
            "class" => {
                let class: CustomClass =
                    serde_json::from_str(text.trim_start_matches("class ")).expect("class");
                self.store.declare_class(&class).unwrap_or_else(|e| fail(e));
            }
            "create" => {
                // create ALIAS as USER JSON
                let new = NewDialog::from_json(words[4]).unwrap_or_else(|e| fail(e));
                let d = self
                    .store
                    .create_dialog(Self::user(words[3], line), new)
                    .unwrap_or_else(|e| fail(e));
                self.alias(words[1], d.id);
            }
            "import" => {
                let rest = text.splitn(3, ' ').nth(2).expect("json");
                let d = self
                    .store
                    .import(Dialog::from_json(rest).unwrap_or_else(|e| fail(e)))
                    .unwrap_or_else(|e| fail(e));
                self.alias(words[1], d.id);
            }
            "message" => {
                // message ALIAS from USER sent SECS TEXT
                let parts: Vec<&str> = text.splitn(7, ' ').collect();
                let msg = MessageMeta {
                    id: format!("m{line}"),
                    text: parts[6].to_owned(),
                    date_sent: parts[5].parse().expect("date_sent"),
                };
                let id = self.id(parts[1], line);
                self.store
                    .record_message(id, Self::user(parts[3], line), msg)
                    .unwrap_or_else(|e| fail(e));
            }
            other => panic!("line {line}: unknown step {other}"),
        }
    }

    /// Runs one query line on every access path.
    fn query(&self, line: usize, text: &str) {
        let (ask, want) = text.split_once(" => ").unwrap_or_else(|| panic!("line {line}: no =>"));
        let mut words = ask.splitn(3, ' ').skip(1);
        let viewer = Self::user(words.next().expect("viewer"), line);
        let mut q = words.next().unwrap_or("").to_owned();
        for (alias, id) in &self.ids {
            q = q.replace(&format!("{{{alias}}}"), &id.to_string());
        }
        let query: Query = q.parse().unwrap_or_else(|e| panic!("line {line}: {q}: {e}"));
        for path in PATHS {
            let got = self.store.with_path_choice(path).list_dialogs(viewer, &query);
            let shown = match &got {
                Ok(page) => {
                    let ids: Vec<&str> = page
                        .items
                        .iter()
                        .map(|d| self.names.get(&d.id).map_or("?", |s| s.as_str()))
                        .collect();
                    format!("{}: {}", page.total_entries, ids.join(" "))
                }
                Err(e) => format!("error {}", e.code()),
            };
            // The plan is explained only for the failure message (assert_eq! formats lazily).
            assert_eq!(
                shown.trim_end(),
                want.trim_end(),
                "line {line} via {path:?}: {q}\n{:#?}",
                self.store.with_path_choice(path).explain(viewer, &query).map(|e| e.to_string())
            );
        }
    }
}

fn run_file(name: &str) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(name);
    let text = std::fs::read_to_string(&path).expect("case file");
    let clock = Arc::new(ManualClock::new(0));
    let store =
        DialogStore::builder().app_id(76730).clock(clock.clone()).in_memory().expect("store");
    let mut case = Case { store, clock, ids: HashMap::new(), names: HashMap::new() };
    let mut queries = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("query ") {
            case.query(i + 1, line);
            queries += 1;
        } else {
            case.step(i + 1, line);
        }
    }
    let report = case.store.check_integrity().expect("check");
    assert!(report.is_clean(), "{report}");
    queries
}

#[test]
fn inbox_cases_agree_on_every_access_path() {
    assert!(run_file("inbox.txt") >= 60);
}

#[test]
fn import_and_clock_cases_agree_on_every_access_path() {
    assert!(run_file("imports.txt") >= 12);
}
