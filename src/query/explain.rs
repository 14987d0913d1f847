//! `explain`: the plan a query got and what executing it read, as data ([`Explain`]) printed
//! by one `Display`.
//!
//! Tests assert on the fields; the printed form is for people and may change.

use std::fmt;

use crate::lang::Direction;
use crate::model::{DialogType, UserId};

/// What `explain` shows: the plan a query got, step by step, and what executing it read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Explain {
    /// The query in canonical form (empty for a query without conditions).
    pub query: String,
    /// Who asked.
    pub viewer: UserId,
    /// The sort field as the query names it (`last_message_date_sent` by default).
    pub sort_field: String,
    /// The sort direction; ties break by `_id` in the same direction.
    pub direction: Direction,
    /// The query gave no sort: the default inbox order.
    pub default_order: bool,
    /// The `skip` asked for.
    pub skip: u32,
    /// The `limit` asked for.
    pub limit: u32,
    /// The query asked only for the count.
    pub count_only: bool,
    /// How each condition is answered, in the query's order (custom-data conditions a data
    /// filter answers are one entry).
    pub conditions: Vec<ConditionPlan>,
    /// The two parts a viewer sees, planned and read apart: own dialogs, then public ones.
    pub parts: Vec<PartPlan>,
    /// The matches the query found.
    pub total_entries: u64,
}

/// How one condition (or the conditions one data filter answers) is answered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConditionPlan {
    /// The condition's key as written (`name[ctn]`), or the keys a data filter answers.
    pub key: String,
    /// What answers it.
    pub answer: ConditionAnswer,
}

/// What answers a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConditionAnswer {
    /// A bitmap to intersect with: exactly the matches, or a superset whose rows are tested.
    Bitmap {
        /// Its rows.
        rows: u64,
        /// Whether the bitmap's rows are exactly the matches.
        exact: bool,
    },
    /// A bitmap to subtract: the matches are exactly the rows outside it.
    Minus {
        /// Its rows.
        rows: u64,
    },
    /// Only dialogs of these types match.
    Types(Vec<DialogType>),
    /// Exactly this bitmap's rows, none of them public (conditions on occupants).
    Occupied {
        /// Its rows.
        rows: u64,
    },
    /// A cached data filter answers these custom-data conditions exactly.
    DataFilter {
        /// The dialogs that pass the filter.
        rows: u64,
        /// Built by this query (and kept), rather than found in the cache.
        built: bool,
    },
    /// Tested on each candidate.
    Tested,
}

/// Which of the two sets a viewer sees a part covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PartScope {
    /// The dialogs the viewer occupies.
    Own,
    /// The public dialogs.
    Public,
}

/// One part of a plan: how its candidates were found, how it was read, and what it read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PartPlan {
    /// The part's scope.
    pub scope: PartScope,
    /// The steps that built the candidate set, starting from the scope's base set.
    pub steps: Vec<CandidateStep>,
    /// The candidates.
    pub candidates: u64,
    /// Every candidate matches: no residual test is needed.
    pub exact: bool,
    /// The access path the planner chose.
    pub access: AccessPath,
    /// The planner's estimate of the index entries and rows the path reads.
    pub estimate: u64,
    /// Index entries (or candidates, for a column sort) walked.
    pub entries_walked: u64,
    /// Rows read.
    pub rows_read: u64,
    /// Candidates that passed every test.
    pub matched: u64,
}

/// One step that narrowed a part's candidates.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CandidateStep {
    /// The scope's base set: the viewer's bitmap, or every public dialog.
    Base,
    /// No dialog of the scope can match (a public part under a type or occupant condition).
    NoneCanMatch,
    /// Intersected with the data filter.
    DataFilter,
    /// Restricted to these types.
    Types(Vec<DialogType>),
    /// Intersected with the rows a time index holds over a range.
    TimeRange {
        /// The time index (`by_last_message`, `public_by_updated`, ...).
        index: &'static str,
        /// The range's first second.
        from: i64,
        /// The range's last second.
        to: i64,
        /// Rows in the range.
        rows: u64,
    },
    /// Intersected with this many condition bitmaps.
    Bitmaps(usize),
    /// Minus this many condition bitmaps.
    MinusBitmaps(usize),
}

/// How a part produces its matches in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessPath {
    /// No candidates: nothing read.
    Empty,
    /// Only the count was asked and the candidates are exact: nothing read.
    CountOnly,
    /// Every candidate's row read, the top of the matches selected.
    SortCandidates,
    /// Sort keys and tests read from in-memory columns; only the page's rows read.
    SortColumns,
    /// A time index walked in sort order, candidates probed, stopped after the page.
    WalkTime {
        /// The index.
        index: &'static str,
        /// The range's first second.
        from: i64,
        /// The range's last second.
        to: i64,
    },
    /// The data filter's rows walked by last message date, stopped after the page.
    WalkFilter {
        /// The range's first second.
        from: i64,
        /// The range's last second.
        to: i64,
    },
    /// The viewer's own ordering of their dialogs by a time field walked in sort order,
    /// stopped after the page: the page's entries and nothing else.
    WalkUserOrder {
        /// The field (`last_message_date_sent` or `updated_at`).
        field: &'static str,
        /// The range's first second.
        from: i64,
        /// The range's last second.
        to: i64,
    },
    /// The candidates walked in row-id (= `created_at`) order, stopped after the page.
    WalkRows,
    /// Every row read, every condition tested (forced only).
    FullScan,
}

impl Explain {
    /// Rows read over all parts.
    pub fn rows_read(&self) -> u64 {
        self.parts.iter().map(|p| p.rows_read).sum()
    }

    /// The access path of each part.
    pub fn access_paths(&self) -> Vec<AccessPath> {
        self.parts.iter().map(|p| p.access.clone()).collect()
    }

    /// The matches the query found (the same as [`Explain::total_entries`] the field).
    pub fn total_entries(&self) -> u64 {
        self.total_entries
    }
}

fn types(list: &[DialogType]) -> String {
    if list.is_empty() {
        return "none".to_owned();
    }
    list.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(",")
}

fn bound(t: i64) -> String {
    match t {
        i64::MIN => "-∞".to_owned(),
        i64::MAX => "∞".to_owned(),
        t => t.to_string(),
    }
}

impl fmt::Display for ConditionAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConditionAnswer::Bitmap { rows, exact: true } => {
                write!(f, "bitmap of {rows} rows, exact")
            }
            ConditionAnswer::Bitmap { rows, exact: false } => {
                write!(f, "bitmap of {rows} rows narrows, each candidate tested")
            }
            ConditionAnswer::Minus { rows } => write!(f, "minus bitmap of {rows} rows, exact"),
            ConditionAnswer::Types(list) => write!(f, "types {}, exact", types(list)),
            ConditionAnswer::Occupied { rows } => {
                write!(f, "bitmap of {rows} rows, exact, none public")
            }
            ConditionAnswer::DataFilter { rows, built } => write!(
                f,
                "filter of {rows} rows{}, exact",
                if *built { " (built by this query, kept)" } else { " (cached)" }
            ),
            ConditionAnswer::Tested => f.write_str("tested on each candidate"),
        }
    }
}

impl fmt::Display for PartScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PartScope::Own => "own dialogs",
            PartScope::Public => "public dialogs",
        })
    }
}

impl PartPlan {
    /// The candidate formula (`user(7) ∩ 2 bitmap(s)`), as `Display` prints it.
    fn formula(&self, viewer: UserId) -> String {
        let mut out = String::new();
        for step in &self.steps {
            match step {
                CandidateStep::Base => match self.scope {
                    PartScope::Own => out.push_str(&format!("user({viewer})")),
                    PartScope::Public => out.push_str("public"),
                },
                CandidateStep::NoneCanMatch => out.push_str(" (none can match)"),
                CandidateStep::DataFilter => out.push_str(" ∩ data filter"),
                CandidateStep::Types(list) => out.push_str(&format!(" of types {}", types(list))),
                CandidateStep::TimeRange { index, from, to, rows } => {
                    out.push_str(&format!(" ∩ {index} over [{from}, {to}] ({rows} rows)"))
                }
                CandidateStep::Bitmaps(n) => out.push_str(&format!(" ∩ {n} bitmap(s)")),
                CandidateStep::MinusBitmaps(n) => out.push_str(&format!(" − {n} bitmap(s)")),
            }
        }
        out
    }
}

impl fmt::Display for AccessPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessPath::Empty => f.write_str("nothing to read (no candidates)"),
            AccessPath::CountOnly => f.write_str("count from the bitmap, no rows read"),
            AccessPath::SortCandidates => {
                f.write_str("read every candidate's sort key, select the top")
            }
            AccessPath::SortColumns => f.write_str(
                "read every candidate's sort key and tested fields from columns, select the top, \
                 read the page's rows",
            ),
            AccessPath::WalkTime { index, from, to } => write!(
                f,
                "walk {index} over [{}, {}] in sort order, probe candidates, stop after the page",
                bound(*from),
                bound(*to)
            ),
            AccessPath::WalkFilter { from, to } => write!(
                f,
                "walk the data filter's rows by last_message_date_sent over [{}, {}] in sort \
                 order, probe candidates, stop after the page",
                bound(*from),
                bound(*to)
            ),
            AccessPath::WalkUserOrder { field, from, to } => write!(
                f,
                "walk the viewer's dialogs by {field} over [{}, {}] in sort order, stop after \
                 the page",
                bound(*from),
                bound(*to)
            ),
            AccessPath::WalkRows => f.write_str(
                "walk candidates in row-id order (= created_at order), stop after the page",
            ),
            AccessPath::FullScan => f.write_str("full scan: read every row, test every condition"),
        }
    }
}

impl fmt::Display for Explain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let query = if self.query.is_empty() { "(all)" } else { &self.query };
        writeln!(f, "query: {query}")?;
        writeln!(f, "viewer: {}", self.viewer)?;
        let dir = match self.direction {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        };
        writeln!(
            f,
            "order: {} {dir}{}, ties by _id {dir}",
            self.sort_field,
            if self.default_order { " (default)" } else { "" }
        )?;
        writeln!(
            f,
            "page: skip {} limit {}{}",
            self.skip,
            self.limit,
            if self.count_only { " (count only)" } else { "" }
        )?;
        for c in &self.conditions {
            writeln!(f, "condition {}: {}", c.key, c.answer)?;
        }
        for part in &self.parts {
            writeln!(
                f,
                "part {}: {} = {} candidates{}",
                part.scope,
                part.formula(self.viewer),
                part.candidates,
                if part.exact { " (exact)" } else { "" }
            )?;
            writeln!(f, "  access: {} (estimate {} reads)", part.access, part.estimate)?;
            writeln!(
                f,
                "  read: {} index entries walked, {} rows read, {} matched",
                part.entries_walked, part.rows_read, part.matched
            )?;
        }
        write!(f, "total_entries: {}", self.total_entries)
    }
}
