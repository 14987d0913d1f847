//! The model layer, at the bottom: ids, limits, custom data, the stored row, sort direction
//! and text helpers. It imports nothing of the crate's other layers.

mod clock;
mod custom;
mod ids;
mod limits;
mod order;
mod row;
mod text;

pub use clock::{Clock, ManualClock, SystemClock};
pub use custom::{CustomClass, CustomData, DataValue, FieldType};
pub(crate) use ids::RowId;
pub use ids::{DialogId, DialogType, UserId};
pub use limits::{
    MAX_DATA_FIELDS, MAX_DATA_NAME_CHARS, MAX_DATA_VALUE_CHARS, MAX_DELETE_IDS,
    MAX_LAST_MESSAGE_CHARS, MAX_LIMIT, MAX_NAME_CHARS, MAX_OCCUPANTS, MAX_QUERY_BYTES,
    MAX_SHORT_TEXT_CHARS,
};
pub use order::Direction;
pub(crate) use row::Row;
pub(crate) use text::{clip, format_time, parse_time};
