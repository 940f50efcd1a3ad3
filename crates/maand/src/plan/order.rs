//! Rollout order (spec 06 "Batches, order"; 07 §7.8): an optional KV override of the
//! catalog order, softly repaired when stale.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Kv,
    Default,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Kv => "kv",
            Source::Default => "default",
        }
    }
}

/// The resolved order and, when the override had to be repaired, why.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub order: Vec<String>,
    pub source: Source,
    pub repaired: Option<String>,
}

/// `active` is the job's active allocations in catalog order; `stored` the KV value.
/// The build writes the catalog order itself, which counts as `default`.
pub fn resolve(active: &[String], stored: Option<&str>) -> Resolved {
    let default = Resolved {
        order: active.to_vec(),
        source: Source::Default,
        repaired: None,
    };
    let Some(stored) = stored else { return default };
    let listed: Vec<String> = stored
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if listed.is_empty() || listed == active {
        return default;
    }
    let mut order: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for ip in &listed {
        if !active.contains(ip) {
            problems.push(format!("{ip} is not an active allocation"));
        } else if order.contains(ip) {
            problems.push(format!("{ip} is listed twice"));
        } else {
            order.push(ip.clone());
        }
    }
    for ip in active {
        if !order.contains(ip) {
            problems.push(format!("{ip} is missing"));
            order.push(ip.clone());
        }
    }
    let repaired = (!problems.is_empty()).then(|| problems.join(", "));
    Resolved {
        order,
        source: Source::Kv,
        repaired,
    }
}

/// Orders `items` (worker IPs) by the resolved order.
pub fn sort_by_order(items: &mut [String], order: &[String]) {
    items.sort_by_key(|ip| order.iter().position(|o| o == ip).unwrap_or(usize::MAX));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn override_and_repair() {
        let active = v(&["a", "b", "c"]);
        assert_eq!(resolve(&active, None).source, Source::Default);
        assert_eq!(resolve(&active, Some("a,b,c")).source, Source::Default);
        let r = resolve(&active, Some("c, b ,a"));
        assert_eq!(
            (r.order.clone(), r.source, r.repaired),
            (v(&["c", "b", "a"]), Source::Kv, None)
        );
        let r = resolve(&active, Some("c,x,c"));
        assert_eq!(r.order, v(&["c", "a", "b"]));
        assert_eq!(
            r.repaired.unwrap(),
            "x is not an active allocation, c is listed twice, a is missing, b is missing"
        );
        assert_eq!(resolve(&active, Some(" , ")).source, Source::Default);
    }
}
