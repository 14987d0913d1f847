//! The direction of a sort, which queries name and indexes walk.

/// A sort direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `sort_asc`.
    Asc,
    /// `sort_desc`.
    Desc,
}
