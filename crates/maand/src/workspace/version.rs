//! Job version strings (spec 02 §11): lenient parsing, semver-like ordering with byte-wise
//! prerelease comparison (deliberately not semver's identifier rules, to match the original).

use std::cmp::Ordering;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: Option<String>,
}

impl Version {
    /// Parses an input; the error text explains which part is wrong (it is embedded in
    /// `invalid job version` messages).
    pub fn parse(input: &str) -> Result<Version, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("empty version".into());
        }
        if s.eq_ignore_ascii_case("unknown") {
            return Err(format!("\"{s}\" is not a version"));
        }
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) => {
                if p.is_empty() {
                    return Err(format!("empty prerelease in \"{}\"", input.trim()));
                }
                (c, Some(p.to_string()))
            }
            None => (s, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 3 {
            return Err(format!("too many segments in \"{}\"", input.trim()));
        }
        let mut nums = [0u64; 3];
        for (i, p) in parts.iter().enumerate() {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("invalid segment \"{p}\" in \"{}\"", input.trim()));
            }
            nums[i] = p
                .parse()
                .map_err(|_| format!("segment \"{p}\" is too large in \"{}\"", input.trim()))?;
        }
        Ok(Version {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre,
        })
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(a), Some(b)) => a.as_bytes().cmp(b.as_bytes()),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(p) = &self.pre {
            write!(f, "-{p}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> String {
        Version::parse(s)
            .map(|v| v.to_string())
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn parses_spec_table() {
        assert_eq!(v("1.0.0"), "1.0.0");
        assert_eq!(v("v2.1"), "2.1.0");
        assert_eq!(v("3"), "3.0.0");
        assert_eq!(v("2.0.0-rc1"), "2.0.0-rc1");
        assert_eq!(v("V1.2-beta.2"), "1.2.0-beta.2");
        assert_eq!(v(" 1.4 "), "1.4.0");
        assert_eq!(v("01.2"), "1.2.0");
        for bad in [
            "1.2.3.4",
            "1..2",
            "1.x",
            "1.0.0-",
            "1.0.0+build5",
            "unknown",
            "UNKNOWN",
            "-1",
            "",
        ] {
            assert!(v(bad).starts_with("ERR"), "{bad}");
        }
    }

    #[test]
    fn orders() {
        let p = |s| Version::parse(s).unwrap();
        assert!(p("1.0.0-rc1") < p("1.0.0"));
        assert!(p("1.0.0-rc10") < p("1.0.0-rc2"));
        assert!(p("1.10") > p("1.9"));
        assert_eq!(p("v1.4"), p("1.4.0"));
    }
}
