//! Input checks: texts, user lists and custom data, each breach a `VALIDATION` error that names
//! the field.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::dialog::convert;
use crate::error::{Error, ValidationError};
use crate::model::MAX_DATA_NAME_CHARS;
use crate::model::{
    CustomData, DataValue, UserId, MAX_DATA_FIELDS, MAX_DATA_VALUE_CHARS, MAX_NAME_CHARS,
    MAX_OCCUPANTS, MAX_SHORT_TEXT_CHARS,
};
use crate::storage::Writer;

pub(super) fn check_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<(), Error> {
    if let Some(v) = value {
        let chars = v.chars().count();
        if chars > max {
            return Err(if field == "name" {
                ValidationError::NameTooLong { chars }
            } else {
                ValidationError::TextTooLong { field, chars, max }
            }
            .into());
        }
    }
    Ok(())
}

pub(super) fn check_name_and_photo(name: Option<&str>, photo: Option<&str>) -> Result<(), Error> {
    check_text("name", name, MAX_NAME_CHARS)?;
    check_text("photo", photo, MAX_SHORT_TEXT_CHARS)
}

pub(super) fn sorted_users(users: impl IntoIterator<Item = UserId>) -> Vec<u64> {
    let mut out: Vec<u64> = users.into_iter().map(|u| u.0).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// A sorted list of user ids as a row holds it.
pub(super) fn user_list(users: impl IntoIterator<Item = u64>) -> Arc<[UserId]> {
    users.into_iter().map(UserId).collect()
}

pub(super) fn check_occupant_count(count: usize) -> Result<(), Error> {
    if count > MAX_OCCUPANTS {
        return Err(ValidationError::TooManyOccupants { count, max: MAX_OCCUPANTS }.into());
    }
    Ok(())
}

pub(super) fn check_data_name(name: &str) -> Result<(), Error> {
    let reason = if name.is_empty() {
        "is empty"
    } else if name.chars().count() > MAX_DATA_NAME_CHARS {
        "is longer than 64 characters"
    } else if name.contains(['[', ']']) {
        "contains a bracket, which queries cannot address"
    } else if name.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(ValidationError::DataFieldName { field: name.to_owned(), reason }.into())
}

/// Checks `data` against its class, if declared, and converts it to the stored form. Values of
/// a declared class take their field's type; values of an undeclared class are kept as text.
pub(super) fn check_data(w: &Writer<'_>, data: CustomData) -> Result<CustomData, Error> {
    if data.class_name.trim().is_empty() {
        return Err(ValidationError::DataWithoutClassName.into());
    }
    check_data_name(&data.class_name)?;
    if data.fields.len() > MAX_DATA_FIELDS {
        return Err(ValidationError::TooManyDataFields { count: data.fields.len() }.into());
    }
    let class = w.class(&data.class_name)?;
    let mut fields = BTreeMap::new();
    for (name, value) in data.fields {
        check_data_name(&name)?;
        let value = match &class {
            Some(class) => match class.fields.get(&name) {
                Some(ty) => convert(&class.name, &name, *ty, value)?,
                None => {
                    return Err(ValidationError::DataFieldUnknown {
                        class: class.name.clone(),
                        field: name,
                    }
                    .into())
                }
            },
            None => match value {
                DataValue::String(s) => DataValue::String(s),
                other => DataValue::String(other.to_string()),
            },
        };
        if let DataValue::String(s) = &value {
            let chars = s.chars().count();
            if chars > MAX_DATA_VALUE_CHARS {
                return Err(ValidationError::TextTooLong {
                    field: "data",
                    chars,
                    max: MAX_DATA_VALUE_CHARS,
                }
                .into());
            }
        }
        fields.insert(name, value);
    }
    Ok(CustomData { class_name: data.class_name, fields })
}
