//! Hooks integration tests (spec 07, 03 §16, 08 §3): the real `maand` binary running real
//! Python hooks on temporary buckets (no fleet needed).

mod harness;

mod api;
mod bun;
mod cli;
mod helper;
mod post_build;
