//! The crate docs' quick start, runnable: `cargo run --example quickstart`.
//!
//! Opens a store file in a temporary directory, creates a group dialog from QuickBlox's JSON,
//! records a message, lists the inbox and prints the plan the store chose.

use dialogstore::{DialogStore, DialogUpdate, MessageMeta, NewDialog, Query, UserId};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("dialogs.redb");

    let store =
        DialogStore::builder().app_id(76730).muc_domain("muc.chat.example.com").open(&path)?;
    let me = UserId(96753878);
    // NewDialog reads QuickBlox's POST bodies as they are (occupants_ids as "1,2" or [1,2]).
    let new: NewDialog = serde_json::from_str(
        r#"{"type":2,"name":"New Year party","occupants_ids":"96831397,96831328"}"#,
    )?;
    let dialog = store.create_dialog(me, new)?; // -> Dialog, serializes to QuickBlox's JSON
    println!("created: {}", serde_json::to_string_pretty(&dialog)?);

    let same = store.get_dialog(me, &dialog.id.to_string())?; // id as text: "" -> DIALOG_ID_EMPTY
    assert_eq!(same.id, dialog.id);
    match store.get_dialog(me, "") {
        Err(e) => println!("get_dialog(\"\") -> {}: {e}", e.code()),
        Ok(_) => unreachable!("an empty id is refused"),
    }

    let q: Query = "type[in]=1,2&sort_desc=last_message_date_sent&limit=2".parse()?;
    store.record_message(
        dialog.id,
        me,
        MessageMeta {
            id: "5d755856a0eb47411e0b72a9".into(),
            text: "hi".into(),
            date_sent: 1567971414,
        },
    )?;
    let page = store.list_dialogs(UserId(96831397), &q)?; // {total_entries, skip, limit, items}
    println!("inbox of 96831397: {}", serde_json::to_string_pretty(&page)?);
    store.mark_read(dialog.id, UserId(96831397))?;
    store.update_dialog(me, dialog.id, DialogUpdate::default().name("Party"))?;

    println!("plan:\n{}", store.explain(me, &q)?);
    println!("integrity: {}", store.check_integrity()?);
    store.delete_dialogs(me, &[dialog.id], false)?;
    println!("store file: {} ({} bytes)", path.display(), std::fs::metadata(&path)?.len());
    Ok(())
}
