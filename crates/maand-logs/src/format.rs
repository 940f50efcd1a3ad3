//! `log_format` from `maand.conf`.

use std::fmt;

/// Encoding of the lines in `logs/*.log` (spec 09 §8.2, `log_format` in spec 02 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Space-separated `key=value` pairs (the default).
    #[default]
    Kv,
    /// One JSON object per line (`json` and `jsonl` both mean this).
    Json,
}

/// Returned by [`LogFormat::parse`] when the configured value is unknown, so the caller
/// can print it as a warning (and write it to the bucket log). The format falls back to
/// [`LogFormat::Kv`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLogFormat(pub String);

impl fmt::Display for UnknownLogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "maand.conf: unknown log_format \"{}\" (expected kv, json or jsonl); using kv",
            self.0
        )
    }
}

impl LogFormat {
    /// Parses a `log_format` value case-insensitively (surrounding whitespace ignored).
    ///
    /// Never fails: an unknown value yields `Kv` plus the warning to show, because a
    /// bad log setting must not stop a deploy.
    pub fn parse(value: &str) -> (LogFormat, Option<UnknownLogFormat>) {
        match value.trim().to_ascii_lowercase().as_str() {
            "kv" => (LogFormat::Kv, None),
            "json" | "jsonl" => (LogFormat::Json, None),
            _ => (LogFormat::Kv, Some(UnknownLogFormat(value.to_string()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_values_case_insensitively() {
        assert_eq!(LogFormat::parse("kv"), (LogFormat::Kv, None));
        assert_eq!(LogFormat::parse("KV"), (LogFormat::Kv, None));
        assert_eq!(LogFormat::parse("Json"), (LogFormat::Json, None));
        assert_eq!(LogFormat::parse(" JSONL "), (LogFormat::Json, None));
    }

    #[test]
    fn unknown_value_falls_back_to_kv_with_warning() {
        let (format, warning) = LogFormat::parse("yaml");
        assert_eq!(format, LogFormat::Kv);
        assert_eq!(
            warning.unwrap().to_string(),
            "maand.conf: unknown log_format \"yaml\" (expected kv, json or jsonl); using kv"
        );
        assert_eq!(LogFormat::parse("").0, LogFormat::Kv);
    }
}
