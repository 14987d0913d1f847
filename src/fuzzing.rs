//! Fuzz-target bodies and the differential model, public for `fuzz/` and `tests/` only.

pub mod model;
mod model_ops;
pub mod steps;

pub use model_ops::Env;

/// The `store_ops` target: decodes operations and queries from `data`, runs them on a store and
/// on the model, and panics on the first disagreement or integrity problem.
pub fn store_ops(data: &[u8]) {
    let steps = steps::decode(data);
    let checks = steps::Checks {
        integrity_every_step: true,
        every_plan: true,
    };
    if let Err(problem) = steps::run(&steps, checks) {
        panic!("store and model disagree: {problem}");
    }
}
