//! Custom data: a dialog's `data` ([`CustomData`]), its values ([`DataValue`]) and the typed
//! classes ([`CustomClass`], [`FieldType`]) a store may declare, as QuickBlox's custom objects.

use std::collections::BTreeMap;
use std::fmt;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// A scalar value of a dialog's custom `data`.
#[derive(Clone, Debug, PartialEq, bincode::Encode, bincode::Decode)]
#[non_exhaustive]
pub enum DataValue {
    /// Text; every value of an undeclared class is kept as text.
    String(String),
    /// A whole number (`integer` fields of a declared class).
    Integer(i64),
    /// A floating-point number (`float` fields). Never NaN.
    Float(f64),
    /// `true` or `false` (`boolean` fields).
    Bool(bool),
}

impl fmt::Display for DataValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataValue::String(s) => f.write_str(s),
            DataValue::Integer(i) => i.fmt(f),
            DataValue::Float(x) => x.fmt(f),
            DataValue::Bool(b) => b.fmt(f),
        }
    }
}

impl Serialize for DataValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            DataValue::String(v) => s.serialize_str(v),
            DataValue::Integer(v) => s.serialize_i64(*v),
            DataValue::Float(v) => s.serialize_f64(*v),
            DataValue::Bool(v) => s.serialize_bool(*v),
        }
    }
}

/// The type of one field of a declared custom-object class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FieldType {
    /// Text.
    String,
    /// A signed 64-bit whole number; accepts `56` and `"56"`.
    Integer,
    /// A 64-bit float; accepts `5.6`, `"5.6"` and whole numbers.
    Float,
    /// `true`/`false`, also `1`/`0` and their string forms.
    Boolean,
}

impl FieldType {
    /// The type's name as QuickBlox custom objects spell it.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Float => "float",
            FieldType::Boolean => "boolean",
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A declared custom-object class: the typed fields a dialog's `data` of this class may hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomClass {
    /// The class name, matched against `data.class_name`.
    pub name: String,
    /// Field names and their types.
    pub fields: BTreeMap<String, FieldType>,
}

impl CustomClass {
    /// A class with no fields yet.
    pub fn new(name: impl Into<String>) -> CustomClass {
        CustomClass { name: name.into(), fields: BTreeMap::new() }
    }

    /// Adds a typed field.
    pub fn field(mut self, name: impl Into<String>, ty: FieldType) -> CustomClass {
        self.fields.insert(name.into(), ty);
        self
    }
}

/// A dialog's custom `data`: a class name and named scalar fields.
///
/// In JSON it is one flat object: `{"class_name": "ScoreTable", "progress": "56"}`.
///
/// Stored as it is in a row: bincode encodes the class name, then the fields in name order.
#[derive(Clone, Debug, PartialEq, Default, bincode::Encode, bincode::Decode)]
pub struct CustomData {
    /// The custom-object class these fields belong to.
    pub class_name: String,
    /// The fields, by name.
    pub fields: BTreeMap<String, DataValue>,
}

impl CustomData {
    /// Data of the given class with no fields yet.
    pub fn new(class_name: impl Into<String>) -> CustomData {
        CustomData { class_name: class_name.into(), fields: BTreeMap::new() }
    }

    /// The value of field `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&DataValue> {
        self.fields.get(name)
    }

    /// Adds a field.
    pub fn field(mut self, name: impl Into<String>, value: DataValue) -> CustomData {
        self.fields.insert(name.into(), value);
        self
    }
}

impl Serialize for CustomData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.fields.len() + 1))?;
        m.serialize_entry("class_name", &self.class_name)?;
        for (k, v) in &self.fields {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}
