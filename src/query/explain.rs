//! `explain`: the plan a query got and what executing it read.

use std::fmt;

use super::exec::PartStats;
use super::plan::Plan;
use crate::lang::Direction;

/// What `explain` shows: the plan and what executing it read.
#[derive(Clone, Debug)]
pub struct Explain {
    /// The query explained (the plan does not keep it: only explain prints it).
    pub(crate) query: crate::lang::Query,
    pub(crate) plan: Plan,
    pub(crate) stats: Vec<PartStats>,
    pub(crate) total: u64,
}

impl Explain {
    /// The matches the query found.
    pub fn total_entries(&self) -> u64 {
        self.total
    }

    /// The access path of each part, in plain words, as [`Display`](fmt::Display) prints them.
    pub fn access_paths(&self) -> Vec<String> {
        self.plan.parts.iter().map(|p| p.access.to_string()).collect()
    }

    /// Rows read over all parts.
    pub fn rows_read(&self) -> u64 {
        self.stats.iter().map(|s| s.rows_read).sum()
    }
}

impl fmt::Display for Explain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.plan;
        let query = self.query.to_string();
        writeln!(f, "query: {}", if query.is_empty() { "(all)" } else { &query })?;
        writeln!(f, "viewer: {}", p.viewer)?;
        // The default order is by last message.
        let field = self
            .query
            .sort
            .as_ref()
            .map_or("last_message_date_sent".to_owned(), |s| s.field.to_string());
        let dir = match p.order.dir {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        };
        writeln!(
            f,
            "order: {field} {dir}{}, ties by _id {dir}",
            if p.order.default { " (default)" } else { "" }
        )?;
        writeln!(
            f,
            "page: skip {} limit {}{}",
            p.skip,
            p.limit,
            if p.count_only { " (count only)" } else { "" }
        )?;
        for note in &p.notes {
            writeln!(f, "condition {note}")?;
        }
        for (part, stats) in p.parts.iter().zip(&self.stats) {
            writeln!(
                f,
                "part {}: {} = {} candidates{}",
                part.scope,
                part.formula,
                part.candidates.len(),
                if part.exact { " (exact)" } else { "" }
            )?;
            writeln!(f, "  access: {} (estimate {} reads)", part.access, part.estimate)?;
            writeln!(
                f,
                "  read: {} index entries walked, {} rows read, {} matched",
                stats.entries_walked, stats.rows_read, stats.matched
            )?;
        }
        write!(f, "total_entries: {}", self.total)
    }
}
