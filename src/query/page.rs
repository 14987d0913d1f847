//! The answer to a list query.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::dialog::Dialog;

/// A page of dialogs: `{total_entries, skip, limit, items}` as QuickBlox answers it.
///
/// With `cursor=` in the query it also carries `next_cursor` (keyset paging: SPEC section 9).
///
/// With `count=1` the page holds only the count: `items` is empty, `total_entries` is the
/// count, and it serializes as QuickBlox answers a count request, `{"items": {"count": N}}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// Every dialog that matched, not only this page's.
    pub total_entries: u64,
    /// The `skip` asked for.
    pub skip: u32,
    /// The `limit` asked for.
    pub limit: u32,
    /// This page's dialogs, in order.
    pub items: Vec<Dialog>,
    /// The query asked only for the count.
    pub count_only: bool,
    /// With `cursor=` in the query: the `cursor` of the next page, `None` on the last page.
    pub next_cursor: Option<String>,
    /// The query had `cursor=`: the page serializes `next_cursor` (as `null` on the last
    /// page); without it, the seeds' shape.
    pub keyset: bool,
}

impl Serialize for Page {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.count_only {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry("items", &Count { count: self.total_entries })?;
            return m.end();
        }
        let mut m = s.serialize_map(Some(4 + usize::from(self.keyset)))?;
        m.serialize_entry("total_entries", &self.total_entries)?;
        m.serialize_entry("skip", &self.skip)?;
        m.serialize_entry("limit", &self.limit)?;
        m.serialize_entry("items", &self.items)?;
        if self.keyset {
            m.serialize_entry("next_cursor", &self.next_cursor)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct Count {
    count: u64,
}
