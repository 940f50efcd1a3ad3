//! Hooks integration tests (spec 07, 03 §16, 08 §3): the real `maand` binary running real
//! Python (and, where installed, Bun) hooks on temporary buckets. Most need no fleet; the
//! deploy and health gate tests run against a local sshd fleet (`fleet`, the deploy
//! tests' harness) and skip loudly where the machine cannot host one.

mod harness;

// The deploy tests' fleet harness; this binary uses part of it.
#[allow(dead_code)]
#[path = "../deploy/harness.rs"]
mod fleet;

mod api;
mod bun;
mod cli;
mod deploy;
mod health;
mod helper;
mod post_build;
