//! The query pipeline: a [`Query`](crate::Query) answered against one snapshot.
//!
//! One type per stage: the `Query` AST (from `lang/`) is compiled into typed predicates
//! (`eval.rs`), planned into a [`Plan`](plan::Plan) of access paths with their costs
//! (`plan.rs`), executed part by part (`exec.rs`), and collected into a page. `explain` shows the
//! plan and what executing it read.

pub(crate) mod eval;
pub(crate) mod exec;
mod filter;
mod page;
pub(crate) mod plan;
mod view;

pub use exec::Explain;
pub use page::Page;
pub use plan::PathChoice;
pub use view::{DialogView, PageView};
