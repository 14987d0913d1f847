//! Printing a [`Query`](super::Query) as its canonical query string.

impl std::fmt::Display for super::Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.conditions)
    }
}
