//! Every limit of the crate in one place: the data model's, the query language's and the
//! calls'. Each breach is a `VALIDATION` or `QUERY` error that names the field.

/// The most characters a dialog name may have (chars, not bytes), as in QuickBlox.
pub const MAX_NAME_CHARS: usize = 200;
/// The most occupants a dialog may have, creator included.
pub const MAX_OCCUPANTS: usize = 10_000;
/// The most fields a dialog's `data` may hold, `class_name` not counted.
pub const MAX_DATA_FIELDS: usize = 32;
/// The most characters of one `data` string value or field name.
pub const MAX_DATA_VALUE_CHARS: usize = 1024;
/// The most characters of a message text kept as `last_message`; longer texts are cut here.
pub const MAX_LAST_MESSAGE_CHARS: usize = 1024;
/// The most characters of a `photo` value or a message id.
pub const MAX_SHORT_TEXT_CHARS: usize = 1024;
/// The most dialog ids one delete call takes.
pub const MAX_DELETE_IDS: usize = 100;
/// The most characters of a class name or a data field name.
pub const MAX_DATA_NAME_CHARS: usize = 64;
/// The default and largest `limit`.
pub const MAX_LIMIT: u32 = 100;
/// The longest query accepted, in bytes.
///
/// A query string is measured as the caller gave it: the length of the `&str` passed to
/// [`Query::from_str`](std::str::FromStr::from_str) (`str::parse`), whatever it holds, raw UTF-8
/// or percent-encoded; longer, it is refused with [`QueryErrorKind::TooLong`] before it is read.
/// A query built with [`QueryBuilder`](crate::QueryBuilder) has no such string and is measured on
/// its canonical printed form (its `Display`), the string it would be sent as; longer, it is
/// refused with [`QueryErrorKind::CanonicalTooLong`]. So a built query always prints as a string
/// that parses back to it, while a parsed one may print longer than it was given: the printer
/// percent-encodes all but ASCII letters, digits and `-_.~`, so Cyrillic text prints three times
/// as long, and a printed string over the limit is refused as any other.
///
/// [`QueryErrorKind::TooLong`]: crate::QueryErrorKind::TooLong
/// [`QueryErrorKind::CanonicalTooLong`]: crate::QueryErrorKind::CanonicalTooLong
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
