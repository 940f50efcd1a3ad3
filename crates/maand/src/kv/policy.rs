//! Who may read and write which namespace (spec 04 §5–6). One place, used by templates,
//! hooks and `cat kv --jobs`.

/// The caller an access decision is made for: one allocation `(job, worker)` or, for the
/// build-time scrape template, a job without a worker.
#[derive(Debug, Clone)]
pub struct Reader {
    pub job: String,
    pub worker: Option<String>,
    /// Jobs named in `demands.job` of any of the job's commands.
    pub upstream: Vec<String>,
}

/// Hook events for which a `rollout_order` write is allowed.
const ROLLOUT_ORDER_EVENTS: [&str; 2] = ["pre_deploy", "cli"];

impl Reader {
    /// The exact namespaces this reader may read, in the order of the spec's table.
    pub fn read_set(&self) -> Vec<String> {
        let j = &self.job;
        let mut set = vec!["maand/bucket".to_string(), "vars/bucket".to_string()];
        if let Some(w) = &self.worker {
            set.push("maand/worker".into());
            set.push(format!("maand/worker/{w}"));
            set.push(format!("maand/worker/{w}/tags"));
        }
        set.push(format!("maand/job/{j}"));
        set.push(format!("vars/bucket/job/{j}"));
        set.push(format!("vars/job/{j}"));
        set.push(format!("secrets/job/{j}"));
        if let Some(w) = &self.worker {
            set.push(format!("maand/job/{j}/worker/{w}"));
            set.push("maand/prometheus".into());
        }
        for u in &self.upstream {
            set.push(format!("maand/job/{u}"));
            set.push(format!("vars/job/{u}"));
            set.push(format!("secrets/job/{u}"));
        }
        set
    }

    pub fn can_read(&self, ns: &str) -> bool {
        self.read_set().iter().any(|n| n == ns)
    }

    /// Message for a refused read (template wording of spec 05 §6).
    pub fn denied(&self, ns: &str) -> String {
        let on = self
            .worker
            .as_ref()
            .map(|w| format!(" on {w}"))
            .unwrap_or_default();
        format!(
            "namespace {ns} is not readable by job {}{on} (other jobs' namespaces need a command demand on that job)",
            self.job
        )
    }

    /// Plain `PUT /kv` by a hook running `event`.
    pub fn can_put(&self, ns: &str, key: &str, event: &str) -> bool {
        ns == format!("vars/job/{}", self.job)
            || (ns == format!("maand/job/{}", self.job)
                && key == "rollout_order"
                && ROLLOUT_ORDER_EVENTS.contains(&event))
    }

    /// Plain `DELETE /kv`.
    pub fn can_delete(&self, ns: &str) -> bool {
        ns == format!("vars/job/{}", self.job)
    }

    /// `PUT`/`DELETE /kv/secret`.
    pub fn can_write_secret(&self, ns: &str) -> bool {
        ns == format!("secrets/job/{}", self.job)
    }
}

/// Secret namespaces are encrypted at rest and masked in listings.
pub fn is_secret_namespace(ns: &str) -> bool {
    ns.starts_with(SECRET_PREFIX)
}

/// Every secret namespace starts with this.
pub const SECRET_PREFIX: &str = "secrets/job/";

#[cfg(test)]
mod tests {
    use super::*;

    fn api() -> Reader {
        Reader {
            job: "api".into(),
            worker: Some("10.0.0.1".into()),
            upstream: vec!["db".into()],
        }
    }

    #[test]
    fn read_set_of_spec_checklist() {
        let r = api();
        assert!(r.can_read("maand/worker/10.0.0.1/tags"));
        assert!(!r.can_read("maand/worker/10.0.0.2"));
        assert!(!r.can_read("maand/job/api/worker/10.0.0.2"));
        assert!(r.can_read("vars/job/db"));
        assert!(r.can_read("secrets/job/db"));
        assert!(!r.can_read("vars/bucket/job/db"));
        assert!(!r.can_read("maand/job/db/worker/10.0.0.1"));
        assert!(!r.can_read("vars/job/other"));
        let scrape = Reader {
            worker: None,
            ..api()
        };
        assert!(!scrape.can_read("maand/worker"));
        assert!(!scrape.can_read("maand/prometheus"));
        assert!(scrape.can_read("vars/job/api"));
        assert_eq!(
            r.denied("vars/job/other"),
            "namespace vars/job/other is not readable by job api on 10.0.0.1 (other jobs' namespaces need a command demand on that job)"
        );
    }

    #[test]
    fn writes() {
        let r = api();
        assert!(r.can_put("vars/job/api", "x", "post_deploy"));
        assert!(r.can_put("maand/job/api", "rollout_order", "pre_deploy"));
        assert!(r.can_put("maand/job/api", "rollout_order", "cli"));
        assert!(!r.can_put("maand/job/api", "rollout_order", "post_deploy"));
        assert!(!r.can_put("maand/job/api", "workers", "cli"));
        assert!(!r.can_put("secrets/job/api", "x", "cli"));
        assert!(!r.can_put("vars/job/db", "x", "cli"));
        assert!(r.can_write_secret("secrets/job/api"));
        assert!(!r.can_write_secret("secrets/job/db"));
        assert!(!r.can_delete("maand/job/api"));
    }
}
