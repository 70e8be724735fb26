//! The chaos run shared by `tests/chaos.rs` (small, in CI) and `benches/chaos.rs` (big):
//! mixed kinds under churn, cloud and cluster faults and operator SIGKILLs, then faults off
//! until convergence, then everything deleted; the cloud is counted at both points through
//! modelarts-emulator's inventory, never through the operator.
//!
//! Seeded: every object's actions and pauses, the fault sequence and the kill times follow from
//! the seed; how they interleave with the operator's own work does not.
#![allow(dead_code)]

#[path = "../scale/harness.rs"]
pub mod harness;

pub mod cluster;
pub mod count;
pub mod faults;
pub mod objects;
pub mod operator;
pub mod run;

pub use run::{Settings, Setup, run};

/// The namespace every object lives in.
pub const NS: &str = "chaos";
/// The token the run's own "console user" authenticates with (seeding).
pub const SEED_TOKEN: &str = "chaos-seed";
