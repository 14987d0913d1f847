//! The query pipeline: a [`Query`](crate::Query) answered against one snapshot.
//!
//! One type per stage: the `Query` AST (from `lang/`) is compiled into typed predicates
//! (`eval.rs`), planned into a [`Plan`](plan::Plan) of access paths with their costs
//! (`plan.rs`), executed part by part (`exec.rs`), and collected into a page. `explain` shows the
//! plan and what executing it read.

mod access;
mod candidates;
mod collect;
mod columns;
mod compile;
pub(crate) mod eval;
pub(crate) mod exec;
mod explain;
pub(crate) mod feed;
mod filter;
pub(crate) mod keyset;
mod page;
pub(crate) mod plan;
mod planner;
mod prepare;

pub use explain::{
    AccessPath, CandidateStep, ConditionAnswer, ConditionPlan, Explain, PartPlan, PartScope,
};
pub use page::Page;
pub use plan::PathChoice;
pub(crate) use planner::{may_build_columns, COLUMN_BUILD_MAX_DIALOGS};
pub(crate) use prepare::prepare;
