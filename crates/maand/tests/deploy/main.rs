//! Deploy fleet tests: the real `maand` binary against a local fleet of sshd workers
//! (`maand_fleet::Fleet`), one fleet per test. Job Makefiles record what ran, and when, on
//! the workers; tests assert files on workers, catalog rows, exit status and output.
//! Skipped, loudly, only when this machine cannot host a fleet (not root, no sshd).

mod batches;
mod certs;
mod drain;
mod dry_run;
mod example;
mod faults;
mod harness;
mod hooks;
mod job_cmd;
mod prometheus;
mod rollout;
mod sudo;
mod templates;
