//! Ids and types read from text and JSON: the parsing that can fail with an [`Error`] that
//! names what was wrong.

use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use super::input::Loose;
use crate::error::{Error, ValidationError};
use crate::model::{clip, DialogId, DialogType, UserId};

impl FromStr for UserId {
    type Err = Error;

    /// Parses a decimal user id; surrounding spaces are allowed, as in `"1, 2"`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::UserIdNotNumeric { value: clip(s) }.into());
        }
        t.parse::<u64>()
            .map(UserId)
            .map_err(|_| ValidationError::UserIdNotNumeric { value: clip(s) }.into())
    }
}

impl FromStr for DialogId {
    type Err = Error;

    /// Parses 24 hex characters (either case). An empty string is [`Error::DialogIdEmpty`],
    /// anything else that is not 24 hex characters is [`Error::DialogIdInvalid`].
    fn from_str(s: &str) -> Result<Self, Error> {
        if s.is_empty() {
            return Err(Error::DialogIdEmpty);
        }
        let bytes = s.as_bytes();
        if bytes.len() != 24 {
            return Err(Error::DialogIdInvalid { input: clip(s) });
        }
        let mut id = [0u8; 12];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = hex_value(pair[0]);
            let lo = hex_value(pair[1]);
            match (hi, lo) {
                (Some(h), Some(l)) => id[i] = (h << 4) | l,
                _ => return Err(Error::DialogIdInvalid { input: clip(s) }),
            }
        }
        Ok(DialogId(id))
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for DialogId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

impl DialogType {
    /// The type with that number, or a validation error naming it.
    pub fn from_code(code: i64) -> Result<DialogType, Error> {
        match code {
            1 => Ok(DialogType::PublicGroup),
            2 => Ok(DialogType::Group),
            3 => Ok(DialogType::Private),
            _ => Err(ValidationError::UnknownType { value: code.to_string() }.into()),
        }
    }
}

impl<'de> Deserialize<'de> for DialogType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Loose::deserialize(d)?;
        let code = raw.as_i64().ok_or_else(|| {
            de::Error::custom(ValidationError::UnknownType { value: raw.to_string() })
        })?;
        DialogType::from_code(code).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialog_id_round_trips_and_rejects_bad_hex() {
        let id: DialogId = "5d75393ba28f9a17e1cb0f9e".parse().unwrap();
        assert_eq!(id.to_string(), "5d75393ba28f9a17e1cb0f9e");
        assert_eq!(id.timestamp(), 0x5d75393b);
        assert_eq!("5D75393BA28F9A17E1CB0F9E".parse::<DialogId>().unwrap(), id);
        assert_eq!("".parse::<DialogId>().unwrap_err().code(), "DIALOG_ID_EMPTY");
        for bad in [
            "5d75",
            "5d75393ba28f9a17e1cb0f9g",
            "ééééééééééééééééééééééé",
            "5d75393ba28f9a17e1cb0f9e0",
        ] {
            assert_eq!(bad.parse::<DialogId>().unwrap_err().code(), "DIALOG_ID_INVALID", "{bad}");
        }
    }
}
