//! Keyset page cursors (`cursor=` in a query): where the last page ended, as the sort key of
//! its last dialog, and which query it was made for.
//!
//! A token is lowercase hex of: a format byte, a CRC-32 of the query's conditions and sort as
//! printed (so a cursor used with other conditions or another sort is refused), the sort key
//! (the sort field's value, the `created_at` that orders dialogs without a message, the
//! `_id`), and a CRC-32 of all that, so a damaged token is refused rather than misread.

use super::eval::{SortKey, Val};
use crate::lang::{Query, QueryError, QueryErrorKind, Span};

const VERSION: u8 = 1;

/// The conditions and sort of `query`, as a number a cursor carries.
pub(crate) fn fingerprint(query: &Query) -> u32 {
    let shape = Query {
        conditions: query.conditions.clone(),
        sort: query.sort.clone(),
        ..Query::default()
    };
    crc32fast::hash(shape.to_string().as_bytes())
}

/// The token of a page that ended at `key`, for the query of `fingerprint`.
pub(crate) fn encode(fingerprint: u32, key: &SortKey) -> String {
    let mut out = vec![VERSION];
    out.extend_from_slice(&fingerprint.to_be_bytes());
    match &key.primary {
        None => out.push(0),
        Some(Val::Bool(b)) => out.extend_from_slice(&[1, u8::from(*b)]),
        Some(Val::Int(n)) => {
            out.push(2);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Some(Val::User(u)) => {
            out.push(3);
            out.extend_from_slice(&u.to_be_bytes());
        }
        Some(Val::Float(f)) => {
            out.push(4);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Some(Val::Str(s)) => {
            out.push(5);
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        Some(Val::Id(id)) => {
            out.push(6);
            out.extend_from_slice(id);
        }
    }
    out.extend_from_slice(&key.secondary.to_be_bytes());
    out.extend_from_slice(&key.id);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out.iter().map(|b| format!("{b:02x}")).collect()
}

fn bad(why: &str) -> QueryError {
    QueryError::new("cursor", Span::default(), QueryErrorKind::BadCursor { why: why.to_owned() })
}

/// Reads bytes off the front of a token.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], QueryError> {
        if self.0.len() < n {
            return Err(bad("it is cut short"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], QueryError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
}

/// The sort key a token holds, if it was made for the query of `fingerprint`.
pub(crate) fn decode(token: &str, fingerprint: u32) -> Result<SortKey, QueryError> {
    // The parser and the builder let only lowercase hex of even length through.
    let bytes: Vec<u8> = (0..token.len() / 2)
        .map(|i| u8::from_str_radix(token.get(2 * i..2 * i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()
        .map_err(|_| bad("it is not hex"))?;
    let (body, crc) = bytes.split_at(bytes.len().saturating_sub(4));
    if crc.len() != 4 || crc32fast::hash(body).to_be_bytes() != crc {
        return Err(bad("it is damaged, or not one a page gave"));
    }
    let mut r = Reader(body);
    if r.array::<1>()?[0] != VERSION {
        return Err(bad("it is of another version"));
    }
    if u32::from_be_bytes(r.array()?) != fingerprint {
        return Err(QueryError::new(
            "cursor",
            Span::default(),
            QueryErrorKind::CursorOfAnotherQuery,
        ));
    }
    let primary = match r.array::<1>()?[0] {
        0 => None,
        1 => Some(Val::Bool(r.array::<1>()?[0] != 0)),
        2 => Some(Val::Int(i64::from_be_bytes(r.array()?))),
        3 => Some(Val::User(u64::from_be_bytes(r.array()?))),
        4 => Some(Val::Float(f64::from_bits(u64::from_be_bytes(r.array()?)))),
        5 => {
            let len = u32::from_be_bytes(r.array()?) as usize;
            let text = std::str::from_utf8(r.take(len)?).map_err(|_| bad("bad text"))?;
            Some(Val::Str(text.to_owned()))
        }
        6 => Some(Val::Id(r.array()?)),
        _ => return Err(bad("unknown value kind")),
    };
    let secondary = i64::from_be_bytes(r.array()?);
    let id = r.array()?;
    if !r.0.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(SortKey { primary, secondary, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_damage_is_refused() {
        let keys = [
            SortKey { primary: None, secondary: -5, id: [7; 12] },
            SortKey { primary: Some(Val::Int(i64::MIN)), secondary: 0, id: [0; 12] },
            SortKey { primary: Some(Val::Str("Ёлка & co".into())), secondary: 0, id: [1; 12] },
            SortKey { primary: Some(Val::Float(-0.5)), secondary: 0, id: [2; 12] },
            SortKey { primary: Some(Val::User(u64::MAX)), secondary: 0, id: [3; 12] },
            SortKey { primary: Some(Val::Id([9; 12])), secondary: 0, id: [4; 12] },
            SortKey { primary: Some(Val::Bool(true)), secondary: 0, id: [5; 12] },
        ];
        for key in keys {
            let token = encode(42, &key);
            let back = decode(&token, 42).unwrap();
            assert_eq!(format!("{back:?}"), format!("{key:?}"));
            assert!(matches!(
                decode(&token, 43).unwrap_err().kind,
                QueryErrorKind::CursorOfAnotherQuery
            ));
            for i in 0..token.len() {
                let mut bad = token.clone().into_bytes();
                bad[i] = if bad[i] == b'0' { b'1' } else { b'0' };
                assert!(decode(std::str::from_utf8(&bad).unwrap(), 42).is_err(), "{i}");
            }
            assert!(decode(&token[..token.len() - 2], 42).is_err());
        }
    }
}
