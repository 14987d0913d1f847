//! Compile: a [`Query`]'s conditions turned into typed predicates ([`Pred`]) against one
//! snapshot, whose declared classes type the custom fields a query compares.

use std::collections::BTreeSet;

use super::eval::{Pred, Target, Val};
use crate::dialog::convert;
use crate::error::Error;
use crate::index::ngram;
use crate::lang::{Field, Op, Query, QueryError, QueryErrorKind, Scalar, Span, Value};
use crate::model::{CustomClass, DataValue, FieldType};
use crate::storage::Snapshot;

pub(crate) fn cond_key(field: &Field, op: Op) -> String {
    if op == Op::Eq {
        field.name()
    } else {
        format!("{}[{}]", field.name(), op)
    }
}

/// What a query's `data[class_name]` conditions say of the class of the dialogs it matches.
pub(crate) enum ClassNamed {
    /// One declared class: its custom fields compare with their declared types.
    Declared(CustomClass),
    /// No class at all can match: the answer is empty, whatever the custom-field conditions.
    Nothing,
    /// No class, several, or one undeclared: custom fields compare as text.
    Untyped,
}

/// The classes a query's `data[class_name]` conditions allow: the intersection of the values of
/// every `=` and `[in]` condition on it (conditions AND together, so their order does not
/// matter); `None` when there is no such condition. `ne` and `nin` do not narrow it.
fn allowed_classes(query: &Query) -> Option<BTreeSet<&str>> {
    let mut allowed: Option<BTreeSet<&str>> = None;
    for c in &query.conditions {
        if c.field != Field::DataClassName || !matches!(c.op, Op::Eq | Op::In) {
            continue;
        }
        let names: BTreeSet<&str> = c
            .value
            .as_slice()
            .iter()
            .filter_map(|s| match s {
                Scalar::Str(name) => Some(name.as_str()),
                _ => None,
            })
            .collect();
        allowed = Some(match allowed {
            None => names,
            Some(before) => before.intersection(&names).copied().collect(),
        });
    }
    allowed
}

/// The class a query names: the one class its `data[class_name]` conditions allow, if that is
/// declared (see [`allowed_classes`]).
fn typed_class(snap: &Snapshot, query: &Query) -> Result<ClassNamed, Error> {
    let Some(allowed) = allowed_classes(query) else { return Ok(ClassNamed::Untyped) };
    let mut names = allowed.iter();
    Ok(match (names.next(), names.next()) {
        (None, _) => ClassNamed::Nothing,
        (Some(name), None) => snap.class(name)?.map_or(ClassNamed::Untyped, ClassNamed::Declared),
        (Some(_), Some(_)) => ClassNamed::Untyped,
    })
}

/// Every condition of `query` compiled, for the full scan, which uses no bitmap.
pub(crate) fn all_preds(snap: &Snapshot, query: &Query) -> Result<Vec<Pred>, Error> {
    let class = typed_class(snap, query)?;
    query.conditions.iter().map(|c| compile(&c.field, c.op, &c.value, c.span, &class)).collect()
}

/// Compiles one condition into a typed predicate.
///
/// With [`ClassNamed::Nothing`] custom fields compare as text and no condition on them is
/// refused: the class conditions already match no dialog.
pub(crate) fn compile(
    field: &Field,
    op: Op,
    value: &Value,
    span: Option<Span>,
    class: &ClassNamed,
) -> Result<Pred, Error> {
    let key = cond_key(field, op);
    let err = |kind| Error::Query(QueryError::new(key.clone(), span.unwrap_or_default(), kind));
    let mut typed = false;
    let mut data_type = None;
    if let Field::Data(name) = field {
        match class {
            ClassNamed::Declared(class) => match class.fields.get(name) {
                Some(t) => {
                    typed = true;
                    data_type = Some(*t);
                }
                None => {
                    return Err(err(QueryErrorKind::UnknownDataField {
                        class: class.name.clone(),
                        field: name.clone(),
                    }))
                }
            },
            ClassNamed::Untyped if matches!(op, Op::Lt | Op::Lte | Op::Gt | Op::Gte) => {
                return Err(err(QueryErrorKind::UntypedComparison { field: name.clone() }))
            }
            ClassNamed::Untyped | ClassNamed::Nothing => {}
        }
    }
    let mut vals = Vec::with_capacity(value.as_slice().len());
    for scalar in value.as_slice() {
        let v = match (scalar, data_type) {
            (Scalar::Str(s), Some(t)) if op != Op::Ctn => typed_data(field, t, s).map_err(err)?,
            (Scalar::Str(s), _) if op == Op::Ctn => Val::Str(ngram::lower(s)),
            (Scalar::Id(id), _) => Val::Id(id.0),
            (Scalar::User(u), _) => Val::User(u.0),
            (Scalar::Time(t), _) => Val::Int(*t),
            (Scalar::Type(t), _) => Val::Int(i64::from(t.code())),
            (Scalar::Str(s), _) => Val::Str(s.clone()),
            (Scalar::Bool(b), _) => Val::Bool(*b),
        };
        vals.push(v);
    }
    Ok(Pred { field: field.clone(), target: Target::of(field, typed), op, vals })
}

fn typed_data(field: &Field, ty: FieldType, text: &str) -> Result<Val, QueryErrorKind> {
    let name = match field {
        Field::Data(n) => n.as_str(),
        _ => "",
    };
    match convert("", name, ty, DataValue::String(text.to_owned())) {
        Ok(DataValue::Integer(i)) => Ok(Val::Int(i)),
        Ok(DataValue::Float(f)) => Ok(Val::Float(f)),
        Ok(DataValue::Bool(b)) => Ok(Val::Bool(b)),
        Ok(DataValue::String(s)) => Ok(Val::Str(s)),
        Err(_) => Err(QueryErrorKind::BadDataValue {
            field: name.to_owned(),
            expected: ty,
            value: text.to_owned(),
        }),
    }
}
