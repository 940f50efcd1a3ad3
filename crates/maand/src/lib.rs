//! maand: an agentless workload orchestrator for fixed fleets of Linux hosts.
//!
//! Data flows one way: `workspace` (parse) → `build` → `catalog` + `kv` → (plan → stage →
//! transport) → workers. `cli` only wires arguments to these modules.

pub mod bucket;
pub mod build;
pub mod catalog;
pub mod certs;
pub mod cli;
pub mod deploy;
pub mod error;
pub mod facts;
pub mod gc;
pub mod glob;
pub mod health;
pub mod hooks;
pub mod ids;
pub mod job_control;
pub mod kv;
pub mod plan;
pub mod run_command;
pub mod session;
pub mod snapshot;
pub mod stage;
pub mod warnings;
pub mod workspace;

pub use error::{Error, Kind, Result};
