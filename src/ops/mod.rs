//! The operations and the rules of the data model: who may do what, what each operation
//! changes, and what input is refused.
//!
//! Every operation first checks everything it needs (input, permissions, existence) and only
//! then writes, through the [`Writer`]. So an operation that fails has written nothing, even
//! inside a batch whose other operations go on.

mod checks;
mod context;
mod dialogs;
mod messages;

pub(crate) use context::{OpContext, Settings};
pub(crate) use dialogs::{create, declare_class, delete, import, update};
pub(crate) use messages::{mark_read, record_message, record_private_message};
