//! `deployment_seq` (spec 03 §9): longest demand path to a root.

use std::collections::{BTreeMap, BTreeSet};

/// Wave number of every job of an acyclic demand graph (cycles are rejected earlier).
pub fn deployment_seq(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, i64> {
    fn seq(
        j: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        memo: &mut BTreeMap<String, i64>,
        depth: usize,
    ) -> i64 {
        if let Some(&s) = memo.get(j) {
            return s;
        }
        let ups = g.get(j).cloned().unwrap_or_default();
        // Depth guard: a cycle cannot reach here, but never recurse unboundedly on bad input.
        let s = if ups.is_empty() || depth > g.len() {
            0
        } else {
            1 + ups
                .iter()
                .map(|u| seq(u, g, memo, depth + 1))
                .max()
                .unwrap_or(0)
        };
        memo.insert(j.to_string(), s);
        s
    }
    let mut memo = BTreeMap::new();
    for j in graph.keys() {
        seq(j, graph, &mut memo, 0);
    }
    memo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_chain_and_diamond() {
        let g: BTreeMap<String, BTreeSet<String>> = [
            ("database", vec![]),
            ("cache", vec![]),
            ("monitoring", vec![]),
            ("api", vec!["database"]),
            ("migrate", vec!["database"]),
            ("frontend", vec!["api"]),
            ("worker", vec!["api", "cache"]),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.into_iter().map(String::from).collect()))
        .collect();
        let s = deployment_seq(&g);
        assert_eq!(s["database"], 0);
        assert_eq!(s["monitoring"], 0);
        assert_eq!(s["api"], 1);
        assert_eq!(s["migrate"], 1);
        assert_eq!(s["frontend"], 2);
        assert_eq!(s["worker"], 2);
    }

    #[test]
    fn diamond_takes_longest_path() {
        let g: BTreeMap<String, BTreeSet<String>> = [
            ("d", vec!["b", "c"]),
            ("b", vec!["a"]),
            ("c", vec!["b"]),
            ("a", vec![]),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.into_iter().map(String::from).collect()))
        .collect();
        assert_eq!(deployment_seq(&g)["d"], 3);
    }
}
