//! Resource units (spec 02 §10): memory in MB, CPU in MHz.

/// Which resource a value measures; decides the accepted unit suffixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Memory,
    Cpu,
}

impl Unit {
    fn factor(self, suffix: &str) -> Option<f64> {
        match (self, suffix) {
            (_, "") => Some(1.0),
            (Unit::Memory, "mb") => Some(1.0),
            (Unit::Memory, "gb") => Some(1024.0),
            (Unit::Memory, "tb") => Some(1024.0 * 1024.0),
            (Unit::Cpu, "mhz") => Some(1.0),
            (Unit::Cpu, "ghz") => Some(1000.0),
            (Unit::Cpu, "thz") => Some(1_000_000.0),
            _ => None,
        }
    }

    /// The units an operator may write, for error messages.
    pub fn hint(self) -> &'static str {
        match self {
            Unit::Memory => "units: mb, gb, tb",
            Unit::Cpu => "units: mhz, ghz, thz",
        }
    }

    /// Lower-case suffix used when printing values (`mb`, `mhz`).
    pub fn base(self) -> &'static str {
        match self {
            Unit::Memory => "mb",
            Unit::Cpu => "mhz",
        }
    }
}

/// Parses `"1.5 gb"`, `"512"`, `"3.2 GHz"`; returns `None` for anything the grammar rejects
/// (signs, exponents, unknown or mismatched units).
pub fn parse(value: &str, unit: Unit) -> Option<f64> {
    let s = value.trim().to_ascii_lowercase();
    if s.is_empty() {
        return Some(0.0);
    }
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, rest) = s.split_at(num_end);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return None;
    }
    let factor = unit.factor(rest.trim_start())?;
    let n: f64 = num.parse().ok()?;
    Some(n * factor)
}

/// Prints a number the way catalog, KV and messages show it: no exponent, no trailing `.0`.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        let s = format!("{n}");
        if s.contains('e') {
            format!("{n:.6}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        } else {
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        let m = |s| parse(s, Unit::Memory);
        let c = |s| parse(s, Unit::Cpu);
        assert_eq!(m("512"), Some(512.0));
        assert_eq!(m("512mb"), Some(512.0));
        assert_eq!(m("512 MB"), Some(512.0));
        assert_eq!(m("1 GB"), Some(1024.0));
        assert_eq!(m("23 GB"), Some(23552.0));
        assert_eq!(m("1.5 gb"), Some(1536.0));
        assert_eq!(m(".5 gb"), Some(512.0));
        assert_eq!(m("1 tb"), Some(1048576.0));
        assert_eq!(m(""), Some(0.0));
        assert_eq!(c("100"), Some(100.0));
        assert_eq!(c("3.2 GHz"), Some(3200.0));
        assert_eq!(c("100 GHz"), Some(100000.0));
        assert_eq!(c("1 thz"), Some(1_000_000.0));
    }

    #[test]
    fn rejected() {
        for s in ["-1", "1e3", "12 GiB", "1 kb", "2 g", "fast", "1 mhz", "."] {
            assert_eq!(parse(s, Unit::Memory), None, "{s}");
        }
        for s in ["500 hz", "1 gb", "1.2.3"] {
            assert_eq!(parse(s, Unit::Cpu), None, "{s}");
        }
    }

    #[test]
    fn numbers_print_plainly() {
        assert_eq!(format_number(1024.0), "1024");
        assert_eq!(format_number(1536.5), "1536.5");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(1_000_000.0), "1000000");
    }
}
