//! The one error type of the crate, with a stable machine code per variant.
//!
//! The codes follow existing APIs (`DIALOG_ID_EMPTY` and `ACCESS_ERROR` from Bitrix24,
//! `WrongPermissions` from QuickBlox spelled `WRONG_PERMISSIONS`), so a service can pass them to
//! its clients unchanged. Variants carry the dialog, user and field they are about; messages are
//! written once, here.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::lang::QueryError;
use crate::model::{DialogId, FieldType, UserId};

/// Everything that can go wrong in a dialogstore call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An empty dialog id (Bitrix24's `DIALOG_ID_EMPTY`).
    #[error("dialog id can't be empty")]
    DialogIdEmpty,
    /// A dialog id that is not 24 hex characters.
    #[error("dialog id {input:?} is not 24 hex characters")]
    DialogIdInvalid {
        /// What was given (cut to 64 characters).
        input: String,
    },
    /// No dialog has this id (or it was deleted).
    #[error("dialog {id} not found")]
    NotFound {
        /// The id asked for.
        id: DialogId,
    },
    /// The user is not an occupant of this non-public dialog (Bitrix24's `ACCESS_ERROR`).
    #[error("user {user} has no access to dialog {id}")]
    AccessDenied {
        /// The dialog.
        id: DialogId,
        /// The user who asked.
        user: UserId,
    },
    /// The user may see the dialog but not make this change (QuickBlox's `WrongPermissions`).
    #[error("user {user} may not {action} in dialog {id}")]
    WrongPermissions {
        /// The dialog.
        id: DialogId,
        /// The user who asked.
        user: UserId,
        /// What was refused.
        action: Action,
    },
    /// Input that breaks a rule of the data model.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// A query string or builder that is not a valid query.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The store file holds bytes that do not decode: it was damaged outside the store.
    #[error("store is corrupted: {what}")]
    Corrupted {
        /// Which table or record, and what is wrong with it.
        what: String,
    },
    /// A write call (or `sync`) on a store from inside that store's own
    /// [`write`](crate::DialogStore::write) closure, on the same thread: it would wait for the
    /// transaction it runs in. The closure's batch makes the same calls.
    #[error(
        "a write on this store from inside its own `write` closure would wait for itself: \
         call it on the batch the closure was given"
    )]
    NestedWrite,
    /// A change cursor older than the history the store keeps
    /// ([`Builder::change_history`](crate::Builder::change_history)): the client syncs again
    /// from [`ChangeCursor::start`](crate::ChangeCursor::start).
    #[error("change cursor at commit {seq} has expired: the store keeps changes from commit {kept_from} on; sync again from the start")]
    CursorExpired {
        /// The commit the cursor was made at.
        seq: u64,
        /// The oldest commit after which the store still knows every change.
        kept_from: u64,
    },
    /// A change cursor or page cursor that is not one this store made (for this user, or for
    /// this query): garbage, another store's, or from a commit this store has not reached.
    #[error("invalid cursor: {why}")]
    CursorInvalid {
        /// What is wrong with it.
        why: String,
    },
    /// The storage engine failed (I/O, a full disk, a file locked by another process).
    #[error("storage error{}: {source}", in_file(file.as_deref()))]
    Storage {
        /// The engine's error.
        source: Box<dyn std::error::Error + Send + Sync>,
        /// The store file it concerns; `None` for a store in memory.
        file: Option<PathBuf>,
    },
}

impl Error {
    /// The stable machine code of this error, for APIs and logs.
    ///
    /// ```
    /// let err = "".parse::<dialogstore::DialogId>().unwrap_err();
    /// assert_eq!(err.code(), "DIALOG_ID_EMPTY");
    /// ```
    pub fn code(&self) -> &'static str {
        match self {
            Error::DialogIdEmpty => "DIALOG_ID_EMPTY",
            Error::DialogIdInvalid { .. } => "DIALOG_ID_INVALID",
            Error::NotFound { .. } => "NOT_FOUND",
            Error::AccessDenied { .. } => "ACCESS_ERROR",
            Error::WrongPermissions { .. } => "WRONG_PERMISSIONS",
            Error::Validation(_) => "VALIDATION",
            Error::Query(_) => "QUERY",
            Error::Corrupted { .. } => "CORRUPTED",
            Error::NestedWrite => "NESTED_WRITE",
            Error::CursorExpired { .. } => "CURSOR_EXPIRED",
            Error::CursorInvalid { .. } => "CURSOR_INVALID",
            Error::Storage { .. } => "STORAGE",
        }
    }

    pub(crate) fn storage(e: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Storage { source: Box::new(e), file: None }
    }

    /// The same error, naming `file` if it is a storage error that names none yet.
    pub(crate) fn in_file(self, file: Option<&Path>) -> Error {
        match self {
            Error::Storage { source, file: None } => {
                Error::Storage { source, file: file.map(Path::to_path_buf) }
            }
            other => other,
        }
    }

    /// A copy of a failure in storage (`CORRUPTED` or `STORAGE`, whose source is not `Clone`),
    /// for each of the calls it fails; `None` for any other error.
    pub(crate) fn engine_failure_copy(&self) -> Option<Error> {
        match self {
            Error::Corrupted { what } => Some(Error::corrupted(what.clone())),
            Error::Storage { source, file } => Some(Error::Storage {
                source: Box::new(std::io::Error::other(source.to_string())),
                file: file.clone(),
            }),
            _ => None,
        }
    }

    pub(crate) fn corrupted(what: impl Into<String>) -> Error {
        Error::Corrupted { what: what.into() }
    }
}

/// ` in FILE`, for a storage error's message.
fn in_file(file: Option<&Path>) -> String {
    file.map(|f| format!(" in {}", f.display())).unwrap_or_default()
}

impl From<redb::Error> for Error {
    /// redb's own finding that the file is damaged is `CORRUPTED`, as the store's is; every
    /// other engine error is `STORAGE`.
    fn from(e: redb::Error) -> Error {
        match e {
            redb::Error::Corrupted(what) => Error::Corrupted { what },
            other => Error::storage(other),
        }
    }
}

macro_rules! storage_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Error {
                Error::from(redb::Error::from(e))
            }
        }
    )*};
}

storage_errors!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError,
    redb::CompactionError
);

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::storage(e)
    }
}

/// A change a user was not allowed to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Rename the dialog.
    Rename,
    /// Change the photo.
    ChangePhoto,
    /// Change the custom data.
    ChangeData,
    /// Add occupants.
    AddOccupants,
    /// Remove other occupants.
    RemoveOccupants,
    /// Add or remove admins.
    ChangeAdmins,
    /// Delete the dialog for everyone.
    DeleteForEveryone,
    /// Leave a public dialog, which has no occupants to leave.
    LeavePublic,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Rename => "rename the dialog",
            Action::ChangePhoto => "change the photo",
            Action::ChangeData => "change the custom data",
            Action::AddOccupants => "add occupants",
            Action::RemoveOccupants => "remove other occupants",
            Action::ChangeAdmins => "change the admins",
            Action::DeleteForEveryone => "delete the dialog for everyone",
            Action::LeavePublic => {
                "leave a public dialog (it has no occupants; its owner deletes it with force)"
            }
        })
    }
}

/// A rule of the data model that the input broke. Code `VALIDATION`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// `type` is missing.
    #[error("type: required (1 public group, 2 group, 3 private)")]
    MissingType,
    /// `type` is not 1, 2 or 3.
    #[error("type: {value} is not a dialog type (1 public group, 2 group, 3 private)")]
    UnknownType {
        /// What was given.
        value: String,
    },
    /// A required field is missing (in an import).
    #[error("{field}: required")]
    MissingField {
        /// The field.
        field: &'static str,
    },
    /// A field holds a value of the wrong kind.
    #[error("{field}: {found} is not a valid value")]
    BadField {
        /// The field.
        field: &'static str,
        /// What was given.
        found: String,
    },
    /// A user id that is not a non-negative integer.
    #[error("user id {value:?} is not a non-negative integer")]
    UserIdNotNumeric {
        /// What was given.
        value: String,
    },
    /// A private dialog needs exactly one opponent besides its creator.
    #[error("occupants_ids: a private dialog needs exactly one opponent besides its creator, got {given}")]
    PrivateOpponents {
        /// How many opponents were given.
        given: usize,
    },
    /// A name over [`MAX_NAME_CHARS`](crate::model::MAX_NAME_CHARS) characters.
    #[error("name: {chars} characters, the most is 200")]
    NameTooLong {
        /// How many characters were given.
        chars: usize,
    },
    /// A text field over its cap.
    #[error("{field}: {chars} characters, the most is {max}")]
    TextTooLong {
        /// The field.
        field: &'static str,
        /// How many characters were given.
        chars: usize,
        /// The cap.
        max: usize,
    },
    /// More occupants than [`MAX_OCCUPANTS`](crate::model::MAX_OCCUPANTS).
    #[error("occupants_ids: {count} occupants, the most is {max}")]
    TooManyOccupants {
        /// How many there would be.
        count: usize,
        /// The cap.
        max: usize,
    },
    /// `data` without a `class_name`.
    #[error("data: class_name is required")]
    DataWithoutClassName,
    /// A `data` value that is an array or object.
    #[error("data.{field}: {found} is not a scalar (string, number or boolean)")]
    DataValueNotScalar {
        /// The field.
        field: String,
        /// What kind of value was found.
        found: &'static str,
    },
    /// More than [`MAX_DATA_FIELDS`](crate::model::MAX_DATA_FIELDS) fields.
    #[error("data: {count} fields, the most is 32")]
    TooManyDataFields {
        /// How many were given.
        count: usize,
    },
    /// A `data` field name that cannot be stored or queried.
    #[error("data: field name {field:?} {reason}")]
    DataFieldName {
        /// The name.
        field: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A `data` field the dialog's declared class does not have.
    #[error("data.{field}: class {class} has no such field")]
    DataFieldUnknown {
        /// The class.
        class: String,
        /// The field.
        field: String,
    },
    /// A `data` value that does not fit its declared field type.
    #[error("data.{field}: {found:?} is not a valid {expected} (class {class})")]
    DataFieldType {
        /// The class.
        class: String,
        /// The field.
        field: String,
        /// The declared type.
        expected: FieldType,
        /// What was given.
        found: String,
    },
    /// A class declared again with different fields.
    #[error("class {class} is already declared with other fields")]
    ClassConflict {
        /// The class.
        class: String,
    },
    /// Occupants given for a public dialog, which has none.
    #[error("occupants_ids: public dialogs have no occupants")]
    PublicHasNoOccupants,
    /// An admin of a group dialog must be one of its occupants.
    #[error("admin_ids: user {user} is not an occupant")]
    AdminNotOccupant {
        /// The user.
        user: UserId,
    },
    /// A delete call with no ids.
    #[error("ids: at least one dialog id is required")]
    NoIds,
    /// A delete call with more ids than allowed.
    #[error("ids: {given} ids in one call, the most is {max}")]
    TooManyIds {
        /// How many were given.
        given: usize,
        /// The cap.
        max: usize,
    },
    /// An import whose `_id` is already in the store.
    #[error("_id: dialog {id} already exists")]
    DuplicateId {
        /// The id.
        id: DialogId,
    },
    /// An imported dialog that breaks a rule of its type.
    #[error("import of {id}: {reason}")]
    Inconsistent {
        /// The dialog.
        id: DialogId,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// A body that is not valid JSON, or has unknown fields.
    #[error("body: {message}")]
    Json {
        /// serde_json's message, with line and column.
        message: String,
    },
}

impl ValidationError {
    pub(crate) fn json(e: &serde_json::Error) -> ValidationError {
        ValidationError::Json { message: e.to_string() }
    }
}
