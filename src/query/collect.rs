//! Collect: a part's matches cut to the first `skip + limit` in result order, and the parts
//! merged into the page.

use super::access::Hit;
use crate::lang::Direction;

/// Keeps the first `n` of `hits` in result order.
pub(crate) fn top(hits: &mut Vec<Hit>, n: usize, dir: Direction) {
    let cmp = |a: &Hit, b: &Hit| a.key.cmp_in(&b.key, dir);
    // A walk yields its hits in order but for ties of the sort value: check before sorting.
    if !hits.is_sorted_by(|a, b| cmp(a, b).is_le()) {
        if hits.len() > n && n > 0 {
            hits.select_nth_unstable_by(n - 1, cmp);
            hits.truncate(n);
        }
        // Keys are unique (ties break by _id), so an unstable sort gives the one order, without
        // the stable sort's scratch buffer.
        hits.sort_unstable_by(cmp);
    }
    hits.truncate(n);
}

/// Merges two runs in result order, keeping the first `n`.
pub(crate) fn merge(a: Vec<Hit>, b: Vec<Hit>, n: usize, dir: Direction) -> Vec<Hit> {
    if a.is_empty() || b.is_empty() {
        let mut out = if a.is_empty() { b } else { a };
        out.truncate(n);
        return out;
    }
    let mut out = Vec::with_capacity(n.min(a.len() + b.len()));
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    while out.len() < n {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.key.cmp_in(&y.key, dir).is_le(),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        out.extend(if take_a { a.next() } else { b.next() });
    }
    out
}
