//! The `dialogstore` binary, run as a user runs it: exit statuses, what it prints on stdout,
//! and the `error CODE: message` lines on stderr.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn dialogstore(store: &Path, args: &[&str]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_dialogstore"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

impl Run {
    fn ok(self) -> String {
        assert_eq!(self.code, 0, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self.stdout
    }

    fn fails(self) -> String {
        assert_eq!(self.code, 1, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self.stderr
    }
}

/// A group dialog of QuickBlox's documented list answer, numbered so each line has its own `_id`.
fn seed_item(n: u32) -> String {
    format!(
        r#"{{"_id":"5d75393ba28f9a17e1cb0f{n:02x}","created_at":"2019-09-08T17:24:11Z","last_message":"sure, I can wait","last_message_date_sent":{sent},"last_message_id":"5d755856a0eb47411e0b72a9","last_message_user_id":96753878,"name":"New Year party {n}","occupants_ids":[96753878,96754523,96830631,96831328,96831397],"photo":"68123","type":2,"updated_at":"2019-09-08T19:36:54Z","user_id":96753878,"xmpp_room_jid":"76730_5d75393ba28f9a17e1cb0f9e@muc.chat.quickblox.com","unread_messages_count":0}}"#,
        sent = 1_567_971_400 + n
    )
}

#[test]
fn demo_at_a_tiny_size_builds_queries_and_leaves_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("demo.redb");
    let out = dialogstore(&store, &["demo", "--dialogs", "2000"]).ok();
    assert!(out.contains("dialogstore demo: 2,000 dialogs among 400 users"), "{out}");
    assert!(out.contains("dialogs   2,000 (public "), "{out}");
    // Every query string of QuickBlox's list page, adapted, with its totals and timing.
    for q in ["?limit=2", "?type[in]=1,2", "?name[ctn]=party", "(seed: ?updated_at[lt]=1556829805)"]
    {
        assert!(out.contains(q), "{q} in {out}");
    }
    assert!(out.matches("total_entries ").count() >= 15, "{out}");
    assert!(out.contains("median of 11"), "{out}");
    assert!(out.contains("== explain sort_desc=last_message_date_sent&limit=100"), "{out}");
    assert!(out.contains("The store is kept at"), "{out}");

    let stats = dialogstore(&store, &["stats", "--json"]).ok();
    let stats: Value = serde_json::from_str(&stats).unwrap();
    let live = ["public_dialogs", "group_dialogs", "private_dialogs"]
        .iter()
        .map(|k| stats[k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(live, 2000);
    assert!(dialogstore(&store, &["check"]).ok().contains("2000 live dialogs: clean"));

    // A second demo would write over the store: refused.
    let err = dialogstore(&store, &["demo", "--dialogs", "20"]).fails();
    assert!(err.starts_with("error STORAGE: "), "{err}");
}

#[test]
fn import_stops_at_a_bad_batch_writes_none_of_it_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("dialogs.redb");
    let file = dir.path().join("dialogs.jsonl");
    // Batches of 3: lines 1-3 are good; line 5 is not JSON and line 6 is a private dialog with
    // three occupants, so lines 4-6 are refused; line 7 is never read.
    let bad_json = r#"{"_id":"5d75393ba28f9a17e1cb0f05","type":2"#;
    let bad_private = seed_item(6).replace(r#""type":2"#, r#""type":3"#);
    let lines = [
        seed_item(1),
        seed_item(2),
        seed_item(3),
        seed_item(4),
        bad_json.into(),
        bad_private,
        seed_item(7),
    ];
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let path = file.to_str().unwrap();

    let err = dialogstore(&store, &["import", path, "--batch", "3"]).fails();
    let err_lines: Vec<&str> = err.lines().collect();
    assert!(
        err_lines[0].starts_with(
            "error VALIDATION: line 5: body: EOF while parsing an object at line 1 column 42"
        ),
        "{err}"
    );
    assert!(
        err_lines[1].starts_with("error VALIDATION: line 6: import of 5d75393ba28f9a17e1cb0f06"),
        "{err}"
    );
    assert!(err.contains("2 bad line(s) in lines 4 to 6"), "{err}");
    assert!(err.contains("3 dialogs from lines 1 to 3 imported"), "{err}");
    assert!(err.contains("resume with --from-line 4"), "{err}");

    // Only the first batch is in the store: line 4, good, was rolled back with its batch.
    let page = dialogstore(&store, &["list", "--as", "96753878", "sort_asc=name"]).ok();
    let page: Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["total_entries"], 3);
    let names: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["New Year party 1", "New Year party 2", "New Year party 3"]);
    let err = dialogstore(&store, &["get", "--as", "96753878", "5d75393ba28f9a17e1cb0f04"]).fails();
    assert_eq!(err, "error NOT_FOUND: dialog 5d75393ba28f9a17e1cb0f04 not found\n");

    // Fixed, and resumed where it stopped.
    let fixed = [
        seed_item(1),
        seed_item(2),
        seed_item(3),
        seed_item(4),
        seed_item(5),
        seed_item(6),
        seed_item(7),
    ];
    std::fs::write(&file, fixed.join("\n") + "\n").unwrap();
    let out = dialogstore(&store, &["import", path, "--batch", "3", "--from-line", "4"]).ok();
    assert!(out.starts_with("imported 4 dialogs (lines 4 to 7 of "), "{out}");
    // Importing it all again: every id is taken.
    let err = dialogstore(&store, &["import", path]).fails();
    assert!(
        err.starts_with(
            "error VALIDATION: line 1: _id: dialog 5d75393ba28f9a17e1cb0f01 already exists"
        ),
        "{err}"
    );
    assert!(err.contains("7 bad line(s) in lines 1 to 7"), "{err}");
}

#[test]
fn list_get_explain_check_stats_on_an_imported_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("dialogs.redb");
    let file = dir.path().join("dialogs.jsonl");
    std::fs::write(&file, (1..=4).map(seed_item).collect::<Vec<_>>().join("\n")).unwrap();
    dialogstore(&store, &["import", file.to_str().unwrap()]).ok();

    let page = dialogstore(&store, &["list", "--as", "96831397", "name[ctn]=party 3"]).ok();
    assert!(page.starts_with("{\n  \"total_entries\": 1,\n  \"skip\": 0,\n  \"limit\": 100,\n  \"items\": [\n    {\n      \"_id\": \"5d75393ba28f9a17e1cb0f03\","), "{page}");
    let page: Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["items"][0]["last_message"], "sure, I can wait");
    assert_eq!(page["items"][0]["unread_messages_count"], 0);
    let count = dialogstore(&store, &["list", "--as", "96831397", "count=1"]).ok();
    assert_eq!(count, "{\n  \"items\": {\n    \"count\": 4\n  }\n}\n");

    let dialog = dialogstore(&store, &["get", "--as", "96754523", "5d75393ba28f9a17e1cb0f02"]).ok();
    let dialog: Value = serde_json::from_str(&dialog).unwrap();
    assert_eq!(dialog["name"], "New Year party 2");
    assert_eq!(dialog["updated_at"], "2019-09-08T19:36:54Z");
    let err = dialogstore(&store, &["get", "--as", "7", "5d75393ba28f9a17e1cb0f02"]).fails();
    assert_eq!(
        err,
        "error ACCESS_ERROR: user 7 has no access to dialog 5d75393ba28f9a17e1cb0f02\n"
    );
    let err = dialogstore(&store, &["get", "--as", "7", ""]).fails();
    assert_eq!(err, "error DIALOG_ID_EMPTY: dialog id can't be empty\n");

    // The change feed: everything at first, two a call; then nothing new.
    let mut since = String::new();
    let mut seen = 0;
    loop {
        let args = ["changes", "--as", "96831397", "--limit", "3", "--since", &since];
        let out: Value = serde_json::from_str(&dialogstore(&store, &args).ok()).unwrap();
        seen += out["dialogs"].as_array().unwrap().len();
        since = out["next"].as_str().unwrap().to_owned();
        if out["has_more"] == false {
            break;
        }
    }
    assert_eq!(seen, 4);
    let args = ["changes", "--as", "96831397", "--since", &since];
    let out: Value = serde_json::from_str(&dialogstore(&store, &args).ok()).unwrap();
    assert_eq!(out["dialogs"], serde_json::json!([]));
    let err = dialogstore(&store, &["changes", "--as", "7", "--since", &since]).fails();
    assert!(err.starts_with("error CURSOR_INVALID: "), "{err}");
    // A limit out of range is a usage error (clap's status 2).
    let run = dialogstore(&store, &["changes", "--as", "7", "--limit", "0"]);
    assert!(run.code == 2 && run.stderr.contains("--limit"), "{}", run.stderr);

    let plan =
        dialogstore(&store, &["explain", "--as", "96753878", "type=2&sort_desc=updated_at"]).ok();
    assert!(plan.contains("viewer: 96753878"), "{plan}");
    assert!(plan.ends_with("total_entries: 4\n"), "{plan}");

    assert_eq!(dialogstore(&store, &["check"]).ok(), "4 rows, 4 live dialogs: clean\n");

    let stats = dialogstore(&store, &["stats"]).ok();
    assert!(stats.starts_with("dialogs   4 (public 0, group 4, private 0)\n"), "{stats}");
    assert!(stats.contains("users     5 (occupying at least one dialog)"), "{stats}");
    assert!(stats.contains("\nrows "), "{stats}");
    assert!(stats.contains("\nbitmaps "), "{stats}");
    let json: Value =
        serde_json::from_str(&dialogstore(&store, &["stats", "--json"]).ok()).unwrap();
    let size = std::fs::metadata(&store).unwrap().len();
    assert_eq!(json["file_bytes"], size);
    let rows = json["tables"].as_array().unwrap().iter().find(|t| t["name"] == "rows").unwrap();
    assert_eq!(rows["entries"], 4);
}

#[test]
fn errors_print_their_code_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("dialogs.redb");
    std::fs::write(dir.path().join("one.jsonl"), seed_item(1)).unwrap();
    dialogstore(&store, &["import", dir.path().join("one.jsonl").to_str().unwrap()]).ok();

    // A bad query: the code, the message, then the query with a caret under the bad pair.
    let err = dialogstore(&store, &["list", "--as", "1", "type=2&limit=0"]).fails();
    assert_eq!(
        err,
        "error QUERY: limit: must be an integer from 1 to 100, got \"0\"\n\
         type=2&limit=0\n       ^^^^^^^ limit: must be an integer from 1 to 100, got \"0\"\n"
    );
    let err = dialogstore(&store, &["explain", "--as", "1", "type[ctn]=2"]).fails();
    assert!(err.starts_with("error QUERY: type[ctn]: operator ctn does not apply to type\ntype[ctn]=2\n^^^^^^^^^^^ "), "{err}");
    let err = dialogstore(&store, &["list", "--as", "bob", ""]).fails();
    assert!(err.starts_with("error VALIDATION: user id \"bob\""), "{err}");

    // Reading commands never create a store file.
    let missing = dir.path().join("missing.redb");
    let err = dialogstore(&missing, &["stats"]).fails();
    assert!(
        err.starts_with(&format!("error STORAGE: {}: no store file here", missing.display())),
        "{err}"
    );
    assert!(!missing.exists());
    let err = dialogstore(&store, &["import", "/nonexistent/dialogs.jsonl"]).fails();
    assert!(err.starts_with("error IO: /nonexistent/dialogs.jsonl: "), "{err}");
    // A usage error is clap's, with status 2.
    assert_eq!(dialogstore(&store, &["list"]).code, 2);
}
