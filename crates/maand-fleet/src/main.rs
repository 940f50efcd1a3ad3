//! `maand-fleet`: start, stop and inspect a detached local fleet (README demo, benchmarks).

use std::path::PathBuf;
use std::process::ExitCode;

use maand_fleet::{Fleet, FleetOptions, FleetState, DEFAULT_PORT};

const USAGE: &str = "usage:
  maand-fleet start --workers N --state DIR [--port PORT]   start N sshd workers, detached
  maand-fleet stop --state DIR                              stop them (by recorded pids)
  maand-fleet status --state DIR                            show each worker's state
  maand-fleet bucket --state DIR --bucket B [--print workers-json|maand-conf]
      copy the client key to B/secrets/worker.key and print the workers.json text and
      the maand.conf lines for the fleet (both, with headers, unless --print picks one)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("maand-fleet: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn run(args: &[String]) -> Result<(), String> {
    let Some(verb) = args.first() else {
        return Err(USAGE.to_string());
    };
    if verb == "-h" || verb == "--help" {
        println!("{USAGE}");
        return Ok(());
    }
    let state = flag(args, "--state")
        .map(PathBuf::from)
        .ok_or_else(|| format!("--state DIR is required\n{USAGE}"))?;
    match verb.as_str() {
        "start" => {
            let workers: usize = flag(args, "--workers")
                .ok_or_else(|| format!("--workers N is required\n{USAGE}"))?
                .parse()
                .map_err(|_| "--workers must be a positive number".to_string())?;
            if workers == 0 || workers > 250 {
                return Err("--workers must be between 1 and 250".into());
            }
            let port = match flag(args, "--port") {
                Some(p) => p
                    .parse()
                    .map_err(|_| "--port must be a port number".to_string())?,
                None => DEFAULT_PORT,
            };
            if let Ok(old) = FleetState::read(&state) {
                if old.status().iter().any(|w| w.alive) {
                    return Err(format!(
                        "a fleet is already running in {}; run: maand-fleet stop --state {}",
                        state.display(),
                        state.display()
                    ));
                }
            }
            std::fs::create_dir_all(&state)
                .map_err(|e| format!("create {}: {e}", state.display()))?;
            let state =
                std::fs::canonicalize(&state).map_err(|e| format!("{}: {e}", state.display()))?;
            let fleet = Fleet::start_with(FleetOptions {
                workers,
                port,
                root: Some(state.clone()),
            })
            .map_err(|e| e.to_string())?;
            let hosts = fleet.hosts();
            let key = fleet.client_key();
            let port = fleet.port();
            fleet.detach().map_err(|e| e.to_string())?;
            for h in &hosts {
                println!("{h}");
            }
            eprintln!(
                "maand-fleet: {} workers on port {port}; client key {}; stop with: maand-fleet stop --state {}",
                hosts.len(),
                key.display(),
                state.display()
            );
            Ok(())
        }
        "stop" => {
            let fleet = FleetState::read(&state).map_err(|e| e.to_string())?;
            let n = fleet.stop().map_err(|e| e.to_string())?;
            eprintln!("maand-fleet: stopped {n} running workers");
            Ok(())
        }
        "status" => {
            let fleet = FleetState::read(&state).map_err(|e| e.to_string())?;
            for w in fleet.status() {
                let pid = w.pid.map(|p| p.to_string()).unwrap_or_else(|| "-".into());
                let state = match (w.alive, w.accepting) {
                    (true, true) => "running",
                    (true, false) => "running (not accepting: frozen?)",
                    (false, _) => "stopped",
                };
                println!("{}:{}\tpid {pid}\t{state}", w.host, fleet.port);
            }
            Ok(())
        }
        "bucket" => {
            let fleet = FleetState::read(&state).map_err(|e| e.to_string())?;
            let bucket = flag(args, "--bucket")
                .map(PathBuf::from)
                .ok_or_else(|| format!("--bucket B is required\n{USAGE}"))?;
            let frag = fleet.configure_bucket(&bucket).map_err(|e| e.to_string())?;
            match flag(args, "--print") {
                Some("workers-json") => print!("{}", frag.workers_json),
                Some("maand-conf") => print!("{}", frag.maand_conf),
                Some(other) => {
                    return Err(format!(
                        "--print must be workers-json or maand-conf, not {other:?}"
                    ))
                }
                None => print!(
                    "# workspace/workers.json\n{}# maand.conf\n{}",
                    frag.workers_json, frag.maand_conf
                ),
            }
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}
