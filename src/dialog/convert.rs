//! Conversions between the stored [`Row`] and the public [`Dialog`], and of custom-data values
//! to a declared field type (for stored data and for query operands alike).

use super::Dialog;
use crate::error::{Error, ValidationError};
use crate::model::{clip, DataValue, DialogId, DialogType, FieldType, Row, UserId};

pub(crate) fn kind_of(code: u8) -> Result<DialogType, Error> {
    DialogType::from_code(i64::from(code))
        .map_err(|_| Error::corrupted(format!("row of unknown type {code}")))
}

/// The public form of a row, with the viewer's unread count if asked for.
pub(crate) fn to_dialog(row: &Row, unread: Option<u32>) -> Result<Dialog, Error> {
    Ok(dialog_of(row, kind_of(row.kind)?, unread))
}

/// [`to_dialog`] for a row whose type code has been checked already.
pub(crate) fn dialog_of(row: &Row, kind: DialogType, unread: Option<u32>) -> Dialog {
    Dialog {
        id: DialogId(row.id),
        user_id: UserId(row.user_id),
        created_at: row.created_at,
        updated_at: row.updated_at,
        dialog_type: kind,
        name: row.name.clone(),
        photo: row.photo.clone(),
        xmpp_room_jid: row.xmpp_room_jid.clone(),
        occupants_ids: row.occupants.clone(),
        admin_ids: row.admins.clone(),
        last_message: row.last_message.clone(),
        last_message_id: row.last_message_id.clone(),
        last_message_date_sent: row.last_message_date_sent,
        last_message_user_id: row.last_message_user_id.map(UserId),
        unread_messages_count: unread,
        is_join_required: row.is_join_required,
        data: row.data.clone(),
    }
}

/// Converts a value to a declared field type, or says why it does not fit.
pub(crate) fn convert(
    class: &str,
    field: &str,
    ty: FieldType,
    value: DataValue,
) -> Result<DataValue, Error> {
    let converted = match (ty, &value) {
        (FieldType::String, DataValue::String(_)) => Some(value.clone()),
        (FieldType::String, other) => Some(DataValue::String(other.to_string())),
        (FieldType::Integer, DataValue::Integer(_)) => Some(value.clone()),
        (FieldType::Integer, DataValue::String(s)) => s.trim().parse().ok().map(DataValue::Integer),
        (FieldType::Integer, DataValue::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Some(DataValue::Integer(*f as i64))
        }
        (FieldType::Float, DataValue::Float(_)) => Some(value.clone()),
        (FieldType::Float, DataValue::Integer(i)) => Some(DataValue::Float(*i as f64)),
        (FieldType::Float, DataValue::String(s)) => {
            s.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map(DataValue::Float)
        }
        (FieldType::Boolean, DataValue::Bool(_)) => Some(value.clone()),
        (FieldType::Boolean, DataValue::Integer(0)) => Some(DataValue::Bool(false)),
        (FieldType::Boolean, DataValue::Integer(1)) => Some(DataValue::Bool(true)),
        (FieldType::Boolean, DataValue::String(s)) => match s.trim() {
            "true" | "1" => Some(DataValue::Bool(true)),
            "false" | "0" => Some(DataValue::Bool(false)),
            _ => None,
        },
        _ => None,
    };
    converted.ok_or_else(|| {
        ValidationError::DataFieldType {
            class: class.to_owned(),
            field: field.to_owned(),
            expected: ty,
            found: clip(&value.to_string()),
        }
        .into()
    })
}
