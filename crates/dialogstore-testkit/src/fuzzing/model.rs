//! A plain model of the store: a `Vec<Dialog>` filtered and sorted the obvious way.
//!
//! It shares no code with the engine: its own rules for each operation, its own reading of every
//! condition and its own sort, written from the crate docs. Differential tests and the
//! `store_ops` fuzz target run the same operations on the store and the model and require the
//! same answers, order included.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use dialogstore::{CustomClass, DataValue, Dialog, DialogId, DialogType, FieldType, UserId};
use dialogstore::{Direction, Field, Op, Query, Scalar};

/// The model's state.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// Live dialogs, in creation order.
    pub dialogs: Vec<Dialog>,
    /// Unread counts above zero by (user, dialog).
    pub unread: BTreeMap<(u64, DialogId), u32>,
    /// Declared classes.
    pub classes: BTreeMap<String, CustomClass>,
    /// The two users of each private dialog, kept when either leaves.
    pub peers: BTreeMap<DialogId, Vec<UserId>>,
}

/// A model value: what a condition or sort sees of a field.
#[derive(Clone, Debug, PartialEq)]
enum V {
    B(bool),
    N(f64),
    I(i64),
    /// A user id, unsigned.
    U(u64),
    S(String),
    Id([u8; 12]),
}

fn kind_rank(v: &V) -> u8 {
    match v {
        V::B(_) => 0,
        V::N(_) | V::I(_) | V::U(_) => 1,
        V::S(_) => 2,
        V::Id(_) => 3,
    }
}

fn compare(a: &V, b: &V) -> Option<Ordering> {
    match (a, b) {
        (V::B(x), V::B(y)) => Some(x.cmp(y)),
        (V::I(x), V::I(y)) => Some(x.cmp(y)),
        (V::U(x), V::U(y)) => Some(x.cmp(y)),
        (V::I(x), V::U(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (V::U(x), V::I(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (V::U(x), V::N(y)) => Some((*x as f64).total_cmp(y)),
        (V::N(x), V::U(y)) => Some(x.total_cmp(&(*y as f64))),
        (V::N(x), V::N(y)) => Some(x.total_cmp(y)),
        (V::I(x), V::N(y)) => Some((*x as f64).total_cmp(y)),
        (V::N(x), V::I(y)) => Some(x.total_cmp(&(*y as f64))),
        (V::S(x), V::S(y)) => Some(x.cmp(y)),
        (V::Id(x), V::Id(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn order(a: &Option<V>, b: &Option<V>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => compare(x, y).unwrap_or_else(|| kind_rank(x).cmp(&kind_rank(y))),
    }
}

fn lower(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

fn data_v(v: &DataValue, typed: bool) -> V {
    match (v, typed) {
        (DataValue::String(s), _) => V::S(s.clone()),
        (DataValue::Integer(i), true) => V::I(*i),
        (DataValue::Float(f), true) => V::N(*f),
        (DataValue::Bool(b), true) => V::B(*b),
        (other, false) => V::S(other.to_string()),
        other => unimplemented!("the model does not know {other:?}"),
    }
}

/// The scalar value of a field of a dialog, as the model reads it.
fn field_value(d: &Dialog, field: &Field, typed: bool) -> Option<V> {
    let s = |o: &Option<std::sync::Arc<str>>| o.as_deref().map(|t| V::S(t.to_owned()));
    match field {
        Field::Id => Some(V::Id(d.id.0)),
        Field::UserId => Some(V::U(d.user_id.0)),
        Field::CreatedAt => Some(V::I(d.created_at)),
        Field::UpdatedAt => Some(V::I(d.updated_at)),
        Field::Type => Some(V::I(i64::from(d.dialog_type.code()))),
        Field::Name => s(&d.name),
        Field::Photo => s(&d.photo),
        Field::XmppRoomJid => s(&d.xmpp_room_jid),
        Field::LastMessage => s(&d.last_message),
        Field::LastMessageId => s(&d.last_message_id),
        Field::LastMessageDateSent => d.last_message_date_sent.map(V::I),
        Field::LastMessageUserId => d.last_message_user_id.map(|u| V::U(u.0)),
        Field::IsJoinRequired => d.is_join_required.map(V::B),
        Field::DataClassName => d.data.as_ref().map(|x| V::S(x.class_name.clone())),
        Field::Data(name) => {
            d.data.as_ref().and_then(|x| x.fields.get(name)).map(|v| data_v(v, typed))
        }
        Field::OccupantsIds | Field::AdminIds => None,
        other => unimplemented!("the model does not know {other:?}"),
    }
}

fn scalar_v(s: &Scalar) -> V {
    match s {
        Scalar::Id(id) => V::Id(id.0),
        Scalar::User(u) => V::U(u.0),
        Scalar::Time(t) => V::I(*t),
        Scalar::Type(t) => V::I(i64::from(t.code())),
        Scalar::Str(s) => V::S(s.clone()),
        Scalar::Bool(b) => V::B(*b),
        other => unimplemented!("the model does not know {other:?}"),
    }
}

/// Reads a query's text operand as a declared field type; `None` if it does not fit.
fn typed_operand(t: FieldType, text: &str) -> Option<V> {
    match t {
        FieldType::String => Some(V::S(text.to_owned())),
        FieldType::Integer => text.trim().parse::<i64>().ok().map(V::I),
        FieldType::Float => text.trim().parse::<f64>().ok().filter(|f| f.is_finite()).map(V::N),
        FieldType::Boolean => match text.trim() {
            "true" | "1" => Some(V::B(true)),
            "false" | "0" => Some(V::B(false)),
            _ => None,
        },
        other => unimplemented!("the model does not know {other:?}"),
    }
}

fn eq(a: &V, b: &V) -> bool {
    compare(a, b) == Some(Ordering::Equal)
}

impl Model {
    /// The live dialog with this id.
    pub fn get(&self, id: DialogId) -> Option<&Dialog> {
        self.dialogs.iter().find(|d| d.id == id)
    }

    /// A user's unread count in a dialog.
    pub fn unread_of(&self, user: UserId, id: DialogId) -> u32 {
        self.unread.get(&(user.0, id)).copied().unwrap_or(0)
    }

    /// Lists as the store should: `Err(code)` for a refused query, else (total, page).
    pub fn list(&self, viewer: UserId, q: &Query) -> Result<(u64, Vec<Dialog>), &'static str> {
        // The classes every data[class_name]=X and data[class_name][in]=X,Y allows. Exactly
        // one, declared, types custom fields; none at all matches nothing, so no comparison on
        // a custom field is refused.
        let mut allowed: Option<Vec<String>> = None;
        for c in q.conditions.iter().filter(|c| c.field == Field::DataClassName) {
            if let Op::Eq | Op::In = c.op {
                let names: Vec<String> = c
                    .value
                    .as_slice()
                    .iter()
                    .filter_map(|s| match s {
                        Scalar::Str(name) => Some(name.clone()),
                        _ => None,
                    })
                    .collect();
                allowed = Some(match allowed {
                    None => names,
                    Some(before) => before.into_iter().filter(|n| names.contains(n)).collect(),
                });
            }
        }
        if let Some(names) = &mut allowed {
            names.sort();
            names.dedup();
        }
        let no_class = allowed.as_ref().is_some_and(Vec::is_empty);
        let class = match allowed.as_deref() {
            Some([name]) => self.classes.get(name),
            _ => None,
        };
        // Typed operands per condition, or the query's refusal.
        let mut conds = Vec::new();
        for c in &q.conditions {
            let mut typed = false;
            let mut ty = None;
            if let Field::Data(name) = &c.field {
                match class {
                    Some(class) => match class.fields.get(name) {
                        Some(t) => {
                            typed = true;
                            ty = Some(*t);
                        }
                        None => return Err("QUERY"),
                    },
                    None if !no_class && matches!(c.op, Op::Lt | Op::Lte | Op::Gt | Op::Gte) => {
                        return Err("QUERY")
                    }
                    None => {}
                }
            }
            let mut operands = Vec::new();
            for s in c.value.as_slice() {
                let v = match (s, ty) {
                    (Scalar::Str(text), Some(t)) if c.op != Op::Ctn => {
                        typed_operand(t, text).ok_or("QUERY")?
                    }
                    _ => scalar_v(s),
                };
                operands.push(v);
            }
            conds.push((c.field.clone(), c.op, operands, typed));
        }
        let holds = |d: &Dialog| {
            conds.iter().all(|(field, op, operands, typed)| match field {
                Field::OccupantsIds | Field::AdminIds => {
                    let set =
                        if *field == Field::OccupantsIds { &d.occupants_ids } else { &d.admin_ids };
                    let has = |v: &V| set.iter().any(|u| eq(&V::U(u.0), v));
                    match op {
                        Op::Eq | Op::In => operands.iter().any(has),
                        Op::Ne | Op::Nin => !operands.iter().any(has),
                        Op::All => operands.iter().all(has),
                        _ => false,
                    }
                }
                _ => {
                    let value = field_value(d, field, *typed);
                    let first = operands.first();
                    match (value, op) {
                        (None, Op::Ne | Op::Nin) => true,
                        (None, _) => false,
                        (Some(v), Op::Eq) => first.is_some_and(|o| eq(&v, o)),
                        (Some(v), Op::Ne) => !first.is_some_and(|o| eq(&v, o)),
                        (Some(v), Op::In) => operands.iter().any(|o| eq(&v, o)),
                        (Some(v), Op::Nin) => !operands.iter().any(|o| eq(&v, o)),
                        (Some(v), Op::Lt | Op::Lte | Op::Gt | Op::Gte) => {
                            first.and_then(|o| compare(&v, o)).is_some_and(|ord| match op {
                                Op::Lt => ord.is_lt(),
                                Op::Lte => ord.is_le(),
                                Op::Gt => ord.is_gt(),
                                _ => ord.is_ge(),
                            })
                        }
                        (Some(V::S(text)), Op::Ctn) => match first {
                            Some(V::S(p)) => lower(&text).contains(&lower(p)),
                            _ => false,
                        },
                        _ => false,
                    }
                }
            })
        };
        let mut hits: Vec<&Dialog> =
            self.dialogs.iter().filter(|d| d.is_visible_to(viewer)).filter(|d| holds(d)).collect();
        let (field, dir) = match &q.sort {
            Some(s) => (s.field.clone(), s.direction),
            None => (Field::LastMessageDateSent, Direction::Desc),
        };
        let key = |d: &Dialog| {
            let primary = field_value(d, &field, true);
            let secondary = if field == Field::LastMessageDateSent && primary.is_none() {
                d.created_at
            } else {
                0
            };
            (primary, secondary, d.id)
        };
        hits.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            let asc = order(&ka.0, &kb.0).then(ka.1.cmp(&kb.1)).then(ka.2.cmp(&kb.2));
            match dir {
                Direction::Asc => asc,
                Direction::Desc => asc.reverse(),
            }
        });
        let total = hits.len() as u64;
        if q.count {
            return Ok((total, Vec::new()));
        }
        let page = hits
            .into_iter()
            .skip(q.skip as usize)
            .take(q.limit as usize)
            .map(|d| {
                let mut d = d.clone();
                d.unread_messages_count = if !q.include_unread_message_count {
                    None
                } else if d.dialog_type == DialogType::PublicGroup {
                    Some(0)
                } else {
                    Some(self.unread_of(viewer, d.id))
                };
                d
            })
            .collect();
        Ok((total, page))
    }
}
