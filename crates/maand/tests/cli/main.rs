//! CLI tests: the real `maand` binary on temporary buckets, asserting exact exit status,
//! stdout and stderr (spec 02, 03, 04 §10–11, 09 §1–4).

mod harness;

mod build_errors;
mod build_example;
mod cat;
mod database;
mod init;
mod job_create;
mod lock;
mod misc;
mod prometheus;
mod removal;
mod render;
