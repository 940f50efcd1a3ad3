//! The compact live echo of output lines (spec 09 §8.5).

use crate::sink::Stream;

/// The display target of a line: `job@worker`, `worker` alone, or `job` alone.
pub fn target(job: Option<&str>, worker: Option<&str>) -> Option<String> {
    let job = job.filter(|j| !j.is_empty());
    let worker = worker.filter(|w| !w.is_empty() && *w != "-");
    match (job, worker) {
        (Some(j), Some(w)) => Some(format!("{j}@{w}")),
        (None, Some(w)) => Some(w.to_string()),
        (Some(j), None) => Some(j.to_string()),
        (None, None) => None,
    }
}

/// One echoed line, without timestamp: `postgres@10.0.0.3 | text`, `10.0.0.1 ! text`,
/// or just `| text` when neither job nor worker is known.
pub fn echo_line(job: Option<&str>, worker: Option<&str>, stream: Stream, line: &str) -> String {
    let line = line.trim_end_matches(['\n', '\r']);
    match target(job, worker) {
        Some(t) => format!("{t} {} {line}", stream.marker()),
        None => format!("{} {line}", stream.marker()),
    }
}

/// True when `MAAND_QUIET` asks to suppress the echo (`1`, or any value other than
/// empty, `0` and `false`). Log files are written either way.
pub fn quiet_from_env() -> bool {
    quiet_value(std::env::var("MAAND_QUIET").ok().as_deref())
}

fn quiet_value(value: Option<&str>) -> bool {
    match value.map(str::trim) {
        None | Some("") | Some("0") => false,
        Some(v) => !v.eq_ignore_ascii_case("false"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_follow_spec_examples() {
        assert_eq!(
            echo_line(
                Some("postgres"),
                Some("10.48.200.3"),
                Stream::Stdout,
                "Container postgres  Stopping"
            ),
            "postgres@10.48.200.3 | Container postgres  Stopping"
        );
        assert_eq!(
            echo_line(
                Some("postgres"),
                Some("10.48.200.3"),
                Stream::Stderr,
                "warning: volume already exists\n"
            ),
            "postgres@10.48.200.3 ! warning: volume already exists"
        );
        assert_eq!(
            echo_line(None, Some("10.0.0.1"), Stream::Stdout, "14:02:11 up 3 days"),
            "10.0.0.1 | 14:02:11 up 3 days"
        );
        assert_eq!(
            echo_line(Some("api"), Some("-"), Stream::Stdout, "rendering config"),
            "api | rendering config"
        );
        assert_eq!(echo_line(None, None, Stream::Stderr, "x"), "! x");
    }

    #[test]
    fn quiet_values() {
        assert!(!quiet_value(None));
        assert!(!quiet_value(Some("")));
        assert!(!quiet_value(Some("0")));
        assert!(!quiet_value(Some("false")));
        assert!(quiet_value(Some("1")));
        assert!(quiet_value(Some("yes")));
    }
}
