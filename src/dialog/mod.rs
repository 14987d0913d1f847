//! The dialogs layer: the public [`Dialog`] record and the inputs that create and change it,
//! in QuickBlox's JSON (`Serialize` and lenient `Deserialize`), and their conversion from and
//! to stored rows.
//!
//! Timestamps are unix seconds inside and ISO 8601 (`2019-09-08T17:24:11Z`) in JSON;
//! `last_message_date_sent` stays an integer, as QuickBlox sends it.

mod changes;
mod convert;
mod input;
mod parse;
mod record;
mod unread;

pub(crate) use changes::CursorState;
pub use changes::{ChangeCursor, Changes};
pub(crate) use convert::{convert, kind_of, to_dialog};
pub use input::{DialogUpdate, Members, MessageMeta, NewDialog, UserIdList};
pub use record::Dialog;
pub use unread::UnreadCounts;
