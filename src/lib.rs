//! An embedded store for chat dialogs that answers inbox queries in microseconds.
//!
//! `dialogstore` links into a chat backend's own process (no server, no network layer) and
//! stores dialogs: a user's inbox sorted by last activity, filtered by type, time range, members,
//! name substring or custom fields, paged with `skip`/`limit`, with per-user unread counts. Its
//! behaviour follows the QuickBlox Chat Dialog API and Bitrix24's `imbot.dialog.get`: dialogs
//! serialize to QuickBlox's JSON, queries are QuickBlox's query strings, errors carry
//! Bitrix24-style codes. Data lives in one [redb](https://docs.rs/redb) file, with every index
//! changed in the same transaction as the rows it indexes.
//!
//! # Quick start
//!
//! ```
//! use dialogstore::{DialogStore, DialogUpdate, MessageMeta, NewDialog, Query, UserId};
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("dialogs.redb");
//! let store = DialogStore::builder().app_id(76730).muc_domain("muc.chat.example.com").open(&path)?;
//! let me = UserId(96753878);
//! // NewDialog reads QuickBlox's POST bodies as they are (occupants_ids as "1,2" or [1,2]).
//! let new: NewDialog = serde_json::from_str(
//!     r#"{"type":2,"name":"New Year party","occupants_ids":"96831397,96831328"}"#,
//! ).unwrap();
//! let dialog = store.create_dialog(me, new)?;
//! let same = store.get_dialog(me, &dialog.id.to_string())?;
//! assert_eq!(same.name.as_deref(), Some("New Year party"));
//!
//! let msg = MessageMeta { id: "5d755856a0eb47411e0b72a9".into(), text: "hi".into(), date_sent: 1567971414 };
//! store.record_message(dialog.id, me, msg)?;
//! assert_eq!(store.get_dialog(UserId(96831397), &dialog.id.to_string())?.unread_messages_count, Some(1));
//! store.mark_read(dialog.id, UserId(96831397))?;
//!
//! let q: Query = "type[in]=1,2&sort_desc=last_message_date_sent&limit=2".parse()?;
//! let page = store.list_dialogs(me, &q)?;
//! assert_eq!(page.total_entries, 1);
//! println!("{}", serde_json::to_string(&page).unwrap()); // {"total_entries":1,"skip":0,"limit":2,"items":[...]}
//!
//! store.update_dialog(me, dialog.id, DialogUpdate::default().name("Party"))?;
//! println!("{}", store.explain(me, &q)?);
//! assert!(store.check_integrity()?.is_clean());
//! store.delete_dialogs(me, &[dialog.id], false)?;
//! # Ok::<(), dialogstore::Error>(())
//! ```
//!
//! # Behaviour QuickBlox and Bitrix24 leave open
//!
//! Where the QuickBlox and Bitrix24 APIs are silent, the store does what a backend engineer would
//! expect, as follows.
//!
//! **Visibility and rights.** A user sees the dialogs they occupy and every public dialog
//! (`type=1`). Reading one they may not see is `ACCESS_ERROR`; changing one they may see but not
//! change is `WRONG_PERMISSIONS`. Owner rights follow `user_id`, admin rights `admin_ids`.
//! Group: any occupant renames, changes photo and data, and adds occupants; an occupant may
//! remove only themself; the owner or an admin removes others and changes admins, and an admin
//! must be an occupant. Public: only the owner or an admin changes anything. Private: the name
//! is ignored (never stored, never checked) and nobody changes the occupants.
//!
//! **Leaving and deleting.** `delete_dialogs` without `force` makes the user leave (occupants
//! and admins); the last occupant to leave deletes the dialog, and a public dialog cannot be
//! left. With `force` only the owner deletes, for everyone. A call takes 1 to
//! [`MAX_DELETE_IDS`] ids and is all or nothing. A user who left a private dialog is back in it
//! when either user creates it again or sends a private message
//! ([`DialogStore::record_private_message`]).
//!
//! **Messages.** `record_message` sets `updated_at` to the store's clock and gives every other
//! occupant one unread message; the `last_message*` fields follow the message with the latest
//! `date_sent`, so a late, older message counts as unread without replacing them. The kept text
//! is cut to [`MAX_LAST_MESSAGE_CHARS`] characters. Public dialogs have no occupants,
//! hence no unread counts: they report 0.
//!
//! **Query semantics.** MongoDB's, which QuickBlox runs on: a missing value (no name, no last
//! message, no such data field) fails `eq lt lte gt gte in ctn` and passes `ne nin`; values of
//! different kinds never compare. User ids (`user_id`, `last_message_user_id` and the members of
//! `occupants_ids` and `admin_ids`) are unsigned 64-bit numbers, and compare and sort as such up
//! to `18446744073709551615`. On `occupants_ids` and `admin_ids`, `eq` is "contains", `ne`
//! "does not contain", `in` "contains one of", `nin` "contains none of", `all` "contains all".
//! `ctn` lowercases each character of both sides ([`char::to_lowercase`]) and matches a
//! substring, for any pattern length. Custom `data` fields compare with their declared types
//! when the query names a declared class (`data[class_name]=ScoreTable&data[progress][gte]=50`);
//! otherwise they compare as text, by equality (an order comparison is a `QUERY` error). A query
//! names class C when the classes its `data[class_name]` conditions allow (the intersection of
//! the values of all its `=` and `[in]` conditions on `data[class_name]`, so their order does not
//! matter; `ne` and `nin` do not narrow it) are exactly C, and C is declared. So
//! `data[class_name][in]=ScoreTable` names ScoreTable, and so does
//! `data[class_name][in]=ScoreTable,Meta&data[class_name]=ScoreTable` in either order, while
//! `data[class_name][in]=ScoreTable,Meta` names no class. Conditions that allow no class at all
//! (`data[class_name]=ScoreTable&data[class_name]=Meta`) match no dialog, and then no condition
//! on a custom field is refused.
//!
//! **Order.** Every result is in a total order: a missing value sorts below every value, and ties
//! break by `_id` in the sort direction. A dialog without messages sorts below every message date
//! and, among such dialogs, by `created_at` then `_id`. With no sort given the order is
//! `sort_desc=last_message_date_sent`: last activity first, dialogs without messages last,
//! newest first. Mixed kinds in one sort (custom fields of different classes) order as booleans,
//! numbers, text.
//!
//! **Responses.** `create_dialog` and `update_dialog` return `unread_messages_count: null` (as
//! QuickBlox's create response); `get_dialog` and `list_dialogs` return the viewer's count,
//! unless the query says `include_unread_message_count=0`. With `count=1`, a [`Page`] holds only
//! `total_entries` and serializes as QuickBlox answers a count, `{"items":{"count":N}}`.
//! `is_join_required` is `0`/`1` in JSON (QuickBlox's model), set for group dialogs only.
//! A [`Dialog`]'s texts (`Arc<str>`) and user lists (`Arc<[UserId]>`) are shared with the
//! store's cached row, so a page of dialogs costs reference counts, not copies: compare them as
//! `dialog.name.as_deref() == Some("Party")` and `*dialog.occupants_ids == [UserId(1)]`.
//!
//! **Access paths.** The planner picks the cheapest way to read each query (sort the candidates,
//! sort them on in-memory columns, walk a time index or a data filter in order, walk row ids);
//! [`DialogStore::explain`] says which and what it read. [`PathChoice`] forces one kind, for
//! tests that check every path gives the same answer; services leave it at `Auto`.
//!
//! **Custom data.** `data` needs a `class_name` and holds at most 32 scalar fields. Values of an
//! undeclared class are kept as text (`3` becomes `"3"`); a class declared with
//! [`DialogStore::declare_class`] checks its fields and converts values to their types (`"56"` to
//! 56 for an integer field), and returns them typed. Which class a query names, and so how its
//! custom fields compare, is under **Query semantics** above. Conditions on custom data
//! (`data[class_name]=ScoreTable&data[progress][gte]=50`) have no index of their own: the first
//! query that would test them over thousands of dialogs keeps the dialogs that pass as a filter
//! in the read cache (at most 32 filters, 4 million rows in all), which every later query with
//! the same conditions uses, whoever asks, and every write keeps exact. So the first such query
//! pays for all of them.
//!
//! **Staged index entries.** The user-bitmap entries and private pairs of the newest dialogs
//! (32,768 by default, [`Builder::staged_rows`]) are kept in memory and written to the file
//! together by the commit that fills the window, in key order; written one commit at a time they
//! fell at random places in large B-trees and were most of a create's cost. Every commit is
//! still complete and durable on its own: the staged dialogs' rows are in the file, and opening a
//! store reads them again to rebuild what was staged, so a larger window makes an open slower.
//! The commit that fills the window takes longer than the others, and so does the first private
//! create after opening, which reads the pair table once to build the filter that spares later
//! creates a lookup.
//!
//! **Concurrent writers.** The single write calls of many threads are committed together: the
//! calls that arrive while a commit is in flight share the next transaction and its fsync, each
//! answered with its own result once that commit is durable. A refused call (permission,
//! validation, not found) fails alone; a failure in storage fails every call of its group.
//! [`DialogStore::write`] batches are not grouped and stay atomic. A write call (or `sync`) on a
//! store from inside that store's own `write` closure would wait for the transaction it runs
//! in: it fails at once with `NESTED_WRITE` (the closure's batch makes the same calls).
//!
//! **Failing disks.** A write that meets an I/O error or a full disk fails with `STORAGE`, and
//! the store reopens its file by itself on the next call, so once the disk works again the same
//! [`DialogStore`] takes writes (no restart). redb's commits are atomic, so a failed write is
//! never half applied; one whose final sync failed may still have reached the disk, so
//! `STORAGE` from a write means "not acknowledged", not "certainly absent".
//!
//! **Delta sync.** [`DialogStore::changes_since`] tells a client what changed for one user after
//! a [`ChangeCursor`]: the dialogs to upsert (in their current state, with the user's unread
//! count) and the ids to drop, at most `limit` (1 to 1,000) a call. From
//! [`ChangeCursor::start`] it first lists everything the user sees; after that, a dialog is
//! reported when a commit wrote it (any change, a message) or cleared the user's unread count
//! (`mark_read`), and removed when the user left, was removed, or it was deleted (a public
//! dialog's deletion reaches everyone). A dialog changed several times is sent once, as it is
//! now. Applying every answer until `has_more` is false leaves the client with exactly what
//! `list_dialogs` pages through. Cursors print as 64 hex characters (or `start`), carry the
//! store's tag and the user, and survive reopening; another store's or user's cursor is
//! `CURSOR_INVALID`, one older than [`Builder::change_history`] (default 2^20 commits of the
//! per-user changes) is `CURSOR_EXPIRED`: sync again from the start. A deleted dialog imported
//! again under its id is a change, not a removal. Cost: the changes of the user's own dialogs
//! (an in-memory feed per user, kept by every commit), the public dialogs' changes and the
//! user's own per-user changes since the cursor, not the size of the inbox; until the store's
//! commit column is built (stores over 65,536 dialogs build it in the background warm-up) an
//! answer walks every change since its cursor, at most 4,096 log entries a call.
//!
//! **Unread counts.** [`DialogStore::unread_counts`] gives a user's unread messages in all
//! their dialogs and in each dialog asked for (with none asked, in every dialog where they
//! have any), as QuickBlox's `GET /chat/Message/unread.json` answers:
//! `{"total": 5, "<id>": 2}`. The total is kept in the read cache and moved by every commit
//! (summed from the user's counters the first time), so reading it does not depend on how many
//! dialogs the user is in. An id the user cannot see is `NOT_FOUND` or `ACCESS_ERROR`.
//!
//! **Keyset pages.** A query with `cursor=` (empty for the first page) pages by keyset:
//! [`Page::next_cursor`] (in JSON only when the query has `cursor=`, `null` on the last page)
//! continues right after the page's last dialog in the query's order, so paging while others
//! write neither repeats nor drops a dialog that stays put. The cursor holds that dialog's sort
//! key and a checksum of the query's conditions and sort: another query's cursor, a damaged one,
//! or `skip` beside a non-empty cursor is a `QUERY` error. `total_entries` stays the query's
//! total. Walks of a time index, or of rows in `created_at` order, start at the cursor, so a later
//! page costs about what the first costs; sorts on other fields sort every candidate, as the
//! first page does, and keep those after the cursor.
//!
//! **File format.** Format 3: rows carry the commit that wrote them, and the change log's tables
//! exist. A format-2 store opens without migration (its rows were written before the log); a
//! format-1 store also has its private pairs moved into the new pair table, in one commit.
//!
//! **Imports.** [`DialogStore::import`] writes a dialog in QuickBlox's JSON shape as it is, with
//! its `_id`, timestamps and last message; a private dialog's name is dropped, and it needs its
//! owner plus exactly one other occupant. The viewer-specific `unread_messages_count` of the
//! input is ignored.
//!
//! **Limits.** Name 200 characters; 10,000 occupants; 32 data fields of at most 1,024
//! characters each, named in at most 64 characters without brackets; photo and message id 1,024
//! characters; a query string 8 KiB as given (a built query, which has no string, by its printed
//! form: see [`MAX_QUERY_BYTES`]); 100 ids per delete call. Each breach is a `VALIDATION` or
//! `QUERY` error that names the field.
//!
//! **Damaged files.** No file makes the store panic: a damaged one gives `CORRUPTED` (or
//! `STORAGE` for I/O) errors. Rows, bitmaps and classes carry a CRC-32 checked on every read,
//! and redb verifies every page of a file that was not closed cleanly. A cleanly closed file
//! damaged afterwards is trusted, for a fast open: damage to a key or a counter can then give a
//! wrong answer, and writes can spread it. [`DialogStore::check_integrity`] reports the damage
//! that makes an index disagree with the rows; [`Builder::verify_on_open`] checks every page
//! (and reads the whole file), and finds all of it.
//! An empty file is a new store, as for redb.
//!
//! **Ids.** A generated `_id` is 4 bytes of creation second, 4 bytes of a random tag of the store
//! file and the 4-byte row id, so ids sort by creation second and find their row without a
//! lookup. An id that is not 24 hex characters is `DIALOG_ID_INVALID`; an empty one
//! `DIALOG_ID_EMPTY`.
#![warn(missing_docs)]

mod batch;
mod builder;
mod calling;
mod dialog;
mod error;
mod group_commit;
mod index;
mod lang;
mod model;
mod ops;
mod query;
mod storage;
mod store;
mod writes;

pub use batch::WriteBatch;
pub use builder::{Builder, DEFAULT_CACHE_BYTES};
pub use dialog::{
    ChangeCursor, Changes, Dialog, DialogUpdate, Members, MessageMeta, NewDialog, UnreadCounts,
    UserIdList,
};
pub use error::{Action, Error, ValidationError};
pub use lang::{
    Condition, Direction, Field, IntoValue, Op, Query, QueryBuilder, QueryError, QueryErrorKind,
    Scalar, Sort, Span, Value, ValueKind,
};
pub use model::{Clock, ManualClock, SystemClock};
pub use model::{
    CustomClass, CustomData, DataValue, DialogId, DialogType, FieldType, UserId, MAX_DATA_FIELDS,
    MAX_DATA_NAME_CHARS, MAX_DATA_VALUE_CHARS, MAX_DELETE_IDS, MAX_LAST_MESSAGE_CHARS, MAX_LIMIT,
    MAX_NAME_CHARS, MAX_OCCUPANTS, MAX_QUERY_BYTES, MAX_SHORT_TEXT_CHARS,
};
pub use query::{
    AccessPath, CandidateStep, ConditionAnswer, ConditionPlan, Explain, Page, PartPlan, PartScope,
    PathChoice,
};
#[cfg(feature = "testing")]
pub use storage::FaultyDisk;
pub use storage::{Durability, IntegrityReport, StoreStats, TableStats};
pub use store::DialogStore;
