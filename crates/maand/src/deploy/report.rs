//! What deploy prints: the dry-run plan (text or JSON) and the final summary.

use crate::plan::{Action, JobPlan, ReconcileItem};
use serde::Serialize;

/// The whole plan of a deploy.
#[derive(Debug, Serialize)]
pub struct Plan {
    pub deployment_required: bool,
    pub reconcile: Vec<ReconcileItem>,
    pub waves: Vec<Wave>,
}

#[derive(Debug, Serialize)]
pub struct Wave {
    pub deployment_seq: i64,
    pub jobs: Vec<WaveJob>,
}

#[derive(Debug, Serialize)]
pub struct WaveJob {
    #[serde(flatten)]
    pub plan: Option<JobPlan>,
    pub job: String,
    pub needs_rollout: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn short(h: &str) -> String {
    format!("{}…", h.chars().take(8).collect::<String>())
}

/// The text form of spec 06 "Dry run".
pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str(if plan.deployment_required {
        "deploy dry-run: deployment required\n"
    } else {
        "deploy dry-run: no deployment required\n"
    });
    let rec: Vec<&ReconcileItem> = plan
        .reconcile
        .iter()
        .filter(|r| r.stop || r.cleanup)
        .collect();
    if !rec.is_empty() {
        out.push_str("\nreconcile:\n");
        for r in rec {
            let what = match (r.stop, r.cleanup) {
                (true, true) => "stop+cleanup",
                (true, false) => "stop",
                _ => "cleanup",
            };
            let why = if r.removed { "removed" } else { "disabled" };
            out.push_str(&format!("  {}@{}  {what}  ({why})\n", r.job, r.worker_ip));
        }
    }
    for wave in &plan.waves {
        out.push_str(&format!("\ndeployment sequence {}:\n", wave.deployment_seq));
        for j in &wave.jobs {
            if let Some(e) = &j.error {
                out.push_str(&format!("  job \"{}\": failed: {e}\n", j.job));
                continue;
            }
            let Some(p) = &j.plan else { continue };
            if !j.needs_rollout {
                let promote = p.allocations.iter().any(|a| a.action == Action::Promote);
                let note = if promote {
                    " (promote disabled allocations)"
                } else {
                    ""
                };
                out.push_str(&format!(
                    "  job \"{}\": skip (already promoted on all allocations){note}\n",
                    j.job
                ));
                continue;
            }
            out.push_str(&format!("  job \"{}\": deploy required\n", j.job));
            for a in &p.allocations {
                let detail = match &a.previous_hash {
                    None => "(no hash row yet)".to_string(),
                    Some(prev) => {
                        let mut d = format!(
                            "previous_hash={} current_hash={}",
                            short(prev),
                            short(&a.current_hash)
                        );
                        if !a.matched.is_empty() {
                            d.push_str(&format!(" matched={}", a.matched.join(",")));
                        }
                        d
                    }
                };
                let disabled = if a.disabled { " (disabled)" } else { "" };
                out.push_str(&format!(
                    "    {}  {:<8} {detail}{disabled}\n",
                    a.worker_ip,
                    a.action.as_str()
                ));
            }
        }
    }
    out
}

/// Result of one job in a real deploy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Deployed,
    Skipped,
    Failed(String),
}

pub fn summary(outcomes: &[(String, JobOutcome)]) -> String {
    let mut out = String::from("deploy summary:\n");
    for (job, o) in outcomes {
        let s = match o {
            JobOutcome::Deployed => "deployed".to_string(),
            JobOutcome::Skipped => "skipped".to_string(),
            JobOutcome::Failed(r) => format!("failed: {r}"),
        };
        out.push_str(&format!("  {job}: {s}\n"));
    }
    out
}
