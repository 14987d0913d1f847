//! An embedded store for chat dialogs that answers inbox queries in microseconds.
#![warn(missing_docs)]

pub mod dialog;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod query;

pub use dialog::{
    CustomClass, CustomData, DataValue, Dialog, DialogId, DialogType, DialogUpdate, FieldType,
    Members, MessageMeta, NewDialog, UserId, UserIdList,
};
pub use error::{Action, Error, ValidationError};
pub use query::{Query, QueryBuilder, QueryError};
