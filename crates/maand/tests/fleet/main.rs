//! Fleet tests: the real `maand` binary against a local fleet of sshd workers
//! (`maand_fleet::Fleet`, 127.0.k.i:2222). Skipped, loudly, only when this machine cannot
//! host a fleet (not root, no sshd).

mod collect_facts;
mod harness;
mod health_check;
mod logs;
mod run_command;
mod secrets;
mod transport;
