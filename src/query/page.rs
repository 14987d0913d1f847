//! The answer to a list query.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::dialog::Dialog;

/// A page of dialogs: `{total_entries, skip, limit, items}` as QuickBlox answers it.
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
}

impl Serialize for Page {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.count_only {
            let mut m = s.serialize_map(Some(1))?;
            m.serialize_entry("items", &Count { count: self.total_entries })?;
            return m.end();
        }
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("total_entries", &self.total_entries)?;
        m.serialize_entry("skip", &self.skip)?;
        m.serialize_entry("limit", &self.limit)?;
        m.serialize_entry("items", &self.items)?;
        m.end()
    }
}

#[derive(Serialize)]
struct Count {
    count: u64,
}
