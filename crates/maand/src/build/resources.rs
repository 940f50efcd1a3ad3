//! Reservations and worker capacity (spec 03 §11).

use crate::error::{Error, Kind, Result};
use crate::workspace::manifest::Bounds;
use crate::workspace::units::{self, Unit};

/// One resource of a job after overrides: stored bounds, current reservation, its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub min: f64,
    pub max: f64,
    pub current: f64,
    pub source: String,
}

/// Applies an optional bucket.jobs override (`raw` as written) to manifest bounds.
pub fn reserve(
    job: &str,
    bounds: Bounds,
    raw: Option<&str>,
    unit: Unit,
    file: &str,
) -> Result<Reservation> {
    let Some(raw) = raw else {
        return Ok(Reservation {
            min: bounds.min,
            max: bounds.max,
            current: bounds.max,
            source: "manifest".into(),
        });
    };
    let key = if unit == Unit::Memory {
        "memory"
    } else {
        "cpu"
    };
    let o = units::parse(raw, unit).ok_or_else(|| {
        Error::new(
            Kind::InvalidBucketConf,
            format!(
                "workspace/{file}: [{job}] {key}: invalid value \"{raw}\" ({})",
                unit.hint()
            ),
        )
    })?;
    let (suffix, field) = if unit == Unit::Memory {
        ("mb", "memory_mb")
    } else {
        ("mhz", "cpu_mhz")
    };
    let unsupported = |bound: &str, b: f64| {
        Error::new(
            Kind::UnsupportedResourceConfiguration,
            format!("{file}, job {job} {bound}_{field} {b:.2} {suffix}, requested {o:.2} {suffix}"),
        )
    };
    if bounds.max > 0.0 && o > bounds.max {
        return Err(unsupported("max", bounds.max));
    }
    if bounds.min > 0.0 && o < bounds.min {
        return Err(unsupported("min", bounds.min));
    }
    let (min, max) = if bounds.min == 0.0 && bounds.max == 0.0 {
        (o, o)
    } else {
        (bounds.min, bounds.max)
    };
    Ok(Reservation {
        min,
        max,
        current: o,
        source: file.to_string(),
    })
}

/// A worker's capacity and the summed reservations of its active allocations.
#[derive(Debug, Clone)]
pub struct Load<'a> {
    pub host: &'a str,
    pub memory_capacity: f64,
    pub cpu_capacity: f64,
    pub memory_required: f64,
    pub cpu_required: f64,
}

/// Every offending line over all workers (given in worker order), memory before CPU.
pub fn check_capacity(loads: &[Load]) -> Result<()> {
    let mut lines = Vec::new();
    for l in loads {
        for (name, unit, cap, req) in [
            ("memory", "MB", l.memory_capacity, l.memory_required),
            ("cpu", "MHZ", l.cpu_capacity, l.cpu_required),
        ] {
            if req > 0.0 && cap == 0.0 {
                lines.push(format!(
                    "worker_ip {} must specify {name} in workers.json (allocated jobs require {req:.2} {unit})",
                    l.host
                ));
            } else if req > cap && cap > 0.0 {
                lines.push(format!(
                    "worker_ip {}, available {name} is {cap:.2} {unit}, required {name} is {req:.2} {unit}",
                    l.host
                ));
            }
        }
    }
    if lines.is_empty() {
        Ok(())
    } else {
        Err(Error::bare(
            Kind::InsufficientResource,
            format!("insufficient resource\n{}", lines.join("\n")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(min: f64, max: f64) -> Bounds {
        Bounds { min, max }
    }

    #[test]
    fn spec_table() {
        let r = |bounds, o| reserve("api", bounds, o, Unit::Memory, "bucket.jobs.prod.conf");
        let cur = |bounds, o| r(bounds, o).map(|x| (x.min, x.max, x.current, x.source));
        assert_eq!(
            cur(b(0.0, 0.0), None).unwrap(),
            (0.0, 0.0, 0.0, "manifest".into())
        );
        assert_eq!(
            cur(b(256.0, 256.0), None).unwrap(),
            (256.0, 256.0, 256.0, "manifest".into())
        );
        assert_eq!(cur(b(256.0, 1024.0), None).unwrap().2, 1024.0);
        assert_eq!(cur(b(0.0, 1024.0), None).unwrap().2, 1024.0);
        assert_eq!(
            cur(b(256.0, 1024.0), Some("512")).unwrap(),
            (256.0, 1024.0, 512.0, "bucket.jobs.prod.conf".into())
        );
        assert_eq!(
            cur(b(0.0, 0.0), Some("256 mb")).unwrap(),
            (256.0, 256.0, 256.0, "bucket.jobs.prod.conf".into())
        );
        let e = r(b(256.0, 2048.0), Some("4 gb")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported resource configuration: bucket.jobs.prod.conf, job api max_memory_mb 2048.00 mb, requested 4096.00 mb"
        );
        let e = reserve(
            "api",
            b(500.0, 1000.0),
            Some("100"),
            Unit::Cpu,
            "bucket.jobs.conf",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported resource configuration: bucket.jobs.conf, job api min_cpu_mhz 500.00 mhz, requested 100.00 mhz"
        );
        assert_eq!(
            r(b(0.0, 0.0), Some("lots")).unwrap_err().kind,
            Kind::InvalidBucketConf
        );
    }

    #[test]
    fn capacity_lines() {
        let loads = [
            Load {
                host: "10.0.0.1",
                memory_capacity: 4096.0,
                cpu_capacity: 0.0,
                memory_required: 5120.0,
                cpu_required: 0.0,
            },
            Load {
                host: "10.0.0.3",
                memory_capacity: 0.0,
                cpu_capacity: 100.0,
                memory_required: 1280.0,
                cpu_required: 50.0,
            },
        ];
        let e = check_capacity(&loads).unwrap_err();
        assert_eq!(
            e.to_string(),
            "insufficient resource\nworker_ip 10.0.0.1, available memory is 4096.00 MB, required memory is 5120.00 MB\nworker_ip 10.0.0.3 must specify memory in workers.json (allocated jobs require 1280.00 MB)"
        );
        assert!(check_capacity(&loads[1..1]).is_ok());
    }
}
