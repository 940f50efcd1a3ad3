//! Port assignment (spec 03 §10): fixed ports claimed, pool ports kept stable across builds.

use crate::catalog::jobs::PortRow;
use crate::error::{Error, Kind, Result};
use crate::workspace::manifest::PortSpec;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Declared ports of one job: (job, [(name, spec)]), jobs in name order, ports in name order.
pub type Declared<'a> = Vec<(&'a str, &'a [(String, PortSpec)])>;

pub fn assign(declared: &Declared, pool: (u16, u16), previous: &[PortRow]) -> Result<Vec<PortRow>> {
    let (lo, hi) = pool;
    let spec_of: HashMap<(&str, &str), &PortSpec> = declared
        .iter()
        .flat_map(|(j, ps)| ps.iter().map(move |(n, s)| ((*j, n.as_str()), s)))
        .collect();
    // 1. Retain.
    let mut retained: BTreeMap<(String, String), u16> = BTreeMap::new();
    for p in previous {
        let keep = match spec_of.get(&(p.job.as_str(), p.name.as_str())) {
            Some(PortSpec::Pool) => (lo..=hi).contains(&p.port),
            Some(PortSpec::Fixed(n)) => *n == p.port,
            None => false,
        };
        if keep {
            retained.insert((p.job.clone(), p.name.clone()), p.port);
        }
    }
    let mut holder: HashMap<u16, (String, String)> =
        retained.iter().map(|(k, v)| (*v, k.clone())).collect();
    let mut result: BTreeMap<(String, String), u16> = BTreeMap::new();
    // 2. Fixed ports.
    for (job, ports) in declared {
        for (name, spec) in ports.iter() {
            let PortSpec::Fixed(n) = spec else { continue };
            let me = (job.to_string(), name.clone());
            match holder.get(n) {
                Some(other) if *other != me => {
                    return Err(Error::new(
                        Kind::PortCollision,
                        format!("port {n} (job {job} port \"{name}\") is already used by job {} port \"{}\"", other.0, other.1),
                    ))
                }
                _ => {
                    holder.insert(*n, me.clone());
                    result.insert(me, *n);
                }
            }
        }
    }
    // 3. Pool ports.
    let used: HashSet<u16> = holder.keys().copied().collect();
    let mut used = used;
    let mut next = lo as u32;
    for (job, ports) in declared {
        for (name, spec) in ports.iter() {
            if !matches!(spec, PortSpec::Pool) {
                continue;
            }
            let me = (job.to_string(), name.clone());
            if let Some(n) = retained.get(&me) {
                result.insert(me, *n);
                continue;
            }
            while next <= hi as u32 && used.contains(&(next as u16)) {
                next += 1;
            }
            if next > hi as u32 {
                return Err(Error::new(
                    Kind::PortRangeExhausted,
                    format!("no free ports in range {lo}-{hi}"),
                ));
            }
            used.insert(next as u16);
            result.insert(me, next as u16);
        }
    }
    Ok(result
        .into_iter()
        .map(|((job, name), port)| PortRow { job, name, port })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use PortSpec::{Fixed, Pool};

    fn run(
        decl: &[(&str, Vec<(&str, PortSpec)>)],
        pool: (u16, u16),
        prev: &[(&str, &str, u16)],
    ) -> Result<Vec<(String, String, u16)>> {
        let owned: Vec<(&str, Vec<(String, PortSpec)>)> = decl
            .iter()
            .map(|(j, ps)| {
                (
                    *j,
                    ps.iter().map(|(n, s)| (n.to_string(), s.clone())).collect(),
                )
            })
            .collect();
        let d: Declared = owned.iter().map(|(j, ps)| (*j, ps.as_slice())).collect();
        let prev: Vec<PortRow> = prev
            .iter()
            .map(|(j, n, p)| PortRow {
                job: j.to_string(),
                name: n.to_string(),
                port: *p,
            })
            .collect();
        assign(&d, pool, &prev)
            .map(|rows| rows.into_iter().map(|r| (r.job, r.name, r.port)).collect())
    }

    fn t(j: &str, n: &str, p: u16) -> (String, String, u16) {
        (j.into(), n.into(), p)
    }

    #[test]
    fn stable_and_lowest_free() {
        let decl = vec![
            ("a", vec![("x", Pool), ("y", Pool)]),
            ("b", vec![("z", Fixed(30001))]),
        ];
        let first = run(&decl, (30000, 39999), &[]).unwrap();
        assert_eq!(
            first,
            [t("a", "x", 30000), t("a", "y", 30002), t("b", "z", 30001)]
        );
        let prev: Vec<_> = first
            .iter()
            .map(|(j, n, p)| (j.as_str(), n.as_str(), *p))
            .collect();
        assert_eq!(run(&decl, (30000, 39999), &prev).unwrap(), first);
        // adding a port keeps existing ones
        let decl2 = vec![
            ("a", vec![("w", Pool), ("x", Pool), ("y", Pool)]),
            ("b", vec![("z", Fixed(30001))]),
        ];
        let r = run(&decl2, (30000, 39999), &prev).unwrap();
        assert_eq!(r[0], t("a", "w", 30003));
        assert_eq!(r[1], t("a", "x", 30000));
    }

    #[test]
    fn fixed_to_pool_transitions() {
        assert_eq!(
            run(
                &[("a", vec![("p", Pool)])],
                (30000, 39999),
                &[("a", "p", 30010)]
            )
            .unwrap(),
            [t("a", "p", 30010)]
        );
        assert_eq!(
            run(
                &[("a", vec![("p", Pool)])],
                (30000, 39999),
                &[("a", "p", 9500)]
            )
            .unwrap(),
            [t("a", "p", 30000)]
        );
        assert_eq!(
            run(
                &[("a", vec![("p", Fixed(30004))])],
                (30000, 39999),
                &[("a", "p", 30004)]
            )
            .unwrap(),
            [t("a", "p", 30004)]
        );
        // pool shrink reassigns
        assert_eq!(
            run(
                &[("a", vec![("p", Pool)])],
                (31000, 31005),
                &[("a", "p", 30004)]
            )
            .unwrap(),
            [t("a", "p", 31000)]
        );
        // removed port frees its number for others in the same build
        assert_eq!(
            run(
                &[("b", vec![("q", Pool)])],
                (30000, 39999),
                &[("a", "p", 30000)]
            )
            .unwrap(),
            [t("b", "q", 30000)]
        );
    }

    #[test]
    fn collisions_and_exhaustion() {
        let e = run(
            &[
                ("a", vec![("p", Fixed(8080))]),
                ("b", vec![("q", Fixed(8080))]),
            ],
            (30000, 39999),
            &[],
        )
        .unwrap_err();
        assert_eq!(e.kind, Kind::PortCollision);
        assert_eq!(
            e.to_string(),
            "port collision: port 8080 (job b port \"q\") is already used by job a port \"p\""
        );
        let e = run(
            &[("a", vec![("p", Fixed(8080)), ("q", Fixed(8080))])],
            (30000, 39999),
            &[],
        )
        .unwrap_err();
        assert_eq!(e.kind, Kind::PortCollision);
        let e = run(
            &[("a", vec![("p", Pool)]), ("b", vec![("q", Fixed(30000))])],
            (30000, 39999),
            &[("a", "p", 30000)],
        )
        .unwrap_err();
        assert_eq!(e.kind, Kind::PortCollision);
        let e = run(
            &[("a", vec![("p", Pool), ("q", Pool)])],
            (30000, 30000),
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "port range exhausted: no free ports in range 30000-30000"
        );
    }
}
