//! An embedded store for chat dialogs that answers inbox queries in microseconds.
#![warn(missing_docs)]

pub mod dialog;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
mod index;
pub mod query;
mod rules;
mod storage;
pub mod store;

pub use dialog::{
    CustomClass, CustomData, DataValue, Dialog, DialogId, DialogType, DialogUpdate, FieldType,
    Members, MessageMeta, NewDialog, UserId, UserIdList,
};
pub use error::{Action, Error, ValidationError};
pub use index::IntegrityReport;
pub use query::{Explain, Page, Query, QueryBuilder, QueryError};
pub use rules::{MAX_DATA_NAME_CHARS, MAX_DELETE_IDS};
pub use storage::Durability;
pub use store::{Builder, Clock, DialogStore, ManualClock, SystemClock, WriteBatch};
