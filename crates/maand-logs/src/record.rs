//! One structured log line: its fields, their canonical order and the two encodings.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::format::LogFormat;

/// Keys in the order every encoded line uses (spec 09 §8.2); any other key follows in
/// alphabetical order.
pub const CANONICAL_KEYS: [&str; 16] = [
    "ts",
    "level",
    "event",
    "run",
    "maand",
    "seq",
    "worker",
    "job",
    "phase",
    "action",
    "cmd",
    "stream",
    "exit",
    "duration_ms",
    "reason",
    "msg",
];

/// Keys written as JSON integers (when their value is one); everything else is a string.
const INTEGER_KEYS: [&str; 3] = ["seq", "exit", "duration_ms"];

/// Longest `cmd` summary, in characters (spec 09 §8.3).
pub const CMD_SUMMARY_MAX: usize = 200;

/// A log record: a set of string fields, encoded in canonical key order.
///
/// Values are kept as strings because both encodings are textual and the reader gets
/// strings back from either; only `seq`, `exit` and `duration_ms` become JSON numbers.
/// Empty values are never stored, so they are never written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    fields: BTreeMap<String, String>,
}

impl Record {
    /// An empty record.
    pub fn new() -> Record {
        Record::default()
    }

    /// A record for the event `name` (`deploy_skip`, `command_begin`, …).
    pub fn event(name: &str) -> Record {
        Record::new().with("event", name)
    }

    /// Sets `key` to `value`; an empty value removes the key.
    ///
    /// Keys are reduced to `[A-Za-z0-9_.-]` and values lose control characters (a newline
    /// inside a value would split the line and break every reader), so any input yields a
    /// well-formed line.
    pub fn set(&mut self, key: &str, value: impl AsRef<str>) -> &mut Record {
        let key = sanitize_key(key);
        if key.is_empty() {
            return self;
        }
        let value = sanitize_value(value.as_ref());
        if value.is_empty() {
            self.fields.remove(&key);
        } else {
            self.fields.insert(key, value);
        }
        self
    }

    /// Builder form of [`Record::set`].
    pub fn with(mut self, key: &str, value: impl AsRef<str>) -> Record {
        self.set(key, value);
        self
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.fields.remove(key)
    }

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Fields in canonical order: the [`CANONICAL_KEYS`] first, then the rest sorted.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        let canonical = CANONICAL_KEYS
            .iter()
            .filter_map(|k| self.fields.get_key_value(*k));
        let rest = self
            .fields
            .iter()
            .filter(|(k, _)| !CANONICAL_KEYS.contains(&k.as_str()));
        canonical.chain(rest).map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Encodes the record in `format`, without a trailing newline.
    pub fn encode(&self, format: LogFormat) -> String {
        match format {
            LogFormat::Kv => self.to_kv(),
            LogFormat::Json => self.to_json(),
        }
    }

    /// `key=value` pairs separated by one space; values with whitespace, `=`, `"` or `\`
    /// are quoted, with `"` and `\` escaped inside the quotes.
    pub fn to_kv(&self) -> String {
        let mut out = String::new();
        for (key, value) in self.fields() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(key);
            out.push('=');
            push_kv_value(&mut out, value);
        }
        out
    }

    /// One JSON object in canonical key order; `seq`, `exit` and `duration_ms` are
    /// integers. Written by hand so the key order never depends on serde_json features.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        for (i, (key, value)) in self.fields().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&json_string(key));
            out.push(':');
            match value.parse::<i64>() {
                Ok(n) if INTEGER_KEYS.contains(&key) => {
                    let _ = write!(out, "{n}");
                }
                _ => out.push_str(&json_string(value)),
            }
        }
        out.push('}');
        out
    }

    /// Applies `f` to every value (used for redaction); values that become empty are
    /// dropped like any other empty value.
    pub(crate) fn map_values(&mut self, mut f: impl FnMut(&str) -> String) {
        let keys: Vec<String> = self.fields.keys().cloned().collect();
        for key in keys {
            if let Some(value) = self.fields.get(&key) {
                let new = f(value);
                self.set(&key, new);
            }
        }
    }

    /// Builds a record from already-decoded fields (the reader), keeping values as they
    /// are apart from dropping empty ones.
    pub(crate) fn from_decoded(fields: BTreeMap<String, String>) -> Record {
        Record {
            fields: fields.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
        }
    }
}

/// The one-line `cmd` summary of spec 09 §8.3: whitespace runs collapsed to one space,
/// and at most [`CMD_SUMMARY_MAX`] characters, the last three replaced by `...` when cut.
pub fn summarize_cmd(cmd: &str) -> String {
    let collapsed = cmd.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= CMD_SUMMARY_MAX {
        return collapsed;
    }
    let mut cut: String = collapsed.chars().take(CMD_SUMMARY_MAX - 3).collect();
    cut.push_str("...");
    cut
}

/// The current time as a log timestamp: UTC with milliseconds, `2026-06-02T22:07:01.123Z`.
pub fn now_ts() -> String {
    format_ts(chrono::Utc::now())
}

/// Formats `at` as a log timestamp (see [`now_ts`]).
pub fn format_ts(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn sanitize_key(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Drops ANSI escape sequences (coloured tool output) and turns other control
/// characters except tab into spaces.
fn sanitize_value(value: &str) -> String {
    if !value.chars().any(|c| c.is_control() && c != '\t') {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte (0x40..=0x7e); other escapes: drop ESC only.
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
        } else if c.is_control() && c != '\t' {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

fn push_kv_value(out: &mut String, value: &str) {
    let needs_quotes = value
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '=' | '"' | '\\'));
    if !needs_quotes {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

fn json_string(s: &str) -> String {
    // Serialising a &str cannot fail; fall back to an empty string rather than panic.
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record::new()
            .with("msg", "hello world")
            .with("removed", "true")
            .with("ts", "2026-06-02T22:07:01.123Z")
            .with("disabled", "false")
            .with("worker", "10.0.0.1")
            .with("exit", "0")
            .with("level", "INFO")
            .with("seq", "17")
            .with("event", "command_end")
            .with("duration_ms", "1300")
    }

    #[test]
    fn kv_uses_canonical_order_then_alphabetical_extras() {
        assert_eq!(
            sample().to_kv(),
            "ts=2026-06-02T22:07:01.123Z level=INFO event=command_end seq=17 worker=10.0.0.1 \
             exit=0 duration_ms=1300 msg=\"hello world\" disabled=false removed=true"
        );
    }

    #[test]
    fn kv_quotes_and_escapes() {
        let r = Record::new()
            .with("a", "plain")
            .with("b", "two words")
            .with("c", "k=v")
            .with("d", "say \"hi\"")
            .with("e", r"C:\dir")
            .with("f", "tab\there")
            .with("g", "");
        assert_eq!(
            r.to_kv(),
            r#"a=plain b="two words" c="k=v" d="say \"hi\"" e="C:\\dir" f="tab	here""#
        );
    }

    #[test]
    fn empty_values_are_omitted() {
        let mut r = Record::new().with("job", "api").with("phase", "");
        assert_eq!(r.to_kv(), "job=api");
        r.set("job", "");
        assert!(r.is_empty());
        assert_eq!(r.to_kv(), "");
        assert_eq!(r.to_json(), "{}");
    }

    #[test]
    fn json_has_integer_fields_and_canonical_order() {
        assert_eq!(
            sample().to_json(),
            r#"{"ts":"2026-06-02T22:07:01.123Z","level":"INFO","event":"command_end","seq":17,"worker":"10.0.0.1","exit":0,"duration_ms":1300,"msg":"hello world","disabled":"false","removed":"true"}"#
        );
    }

    #[test]
    fn json_keeps_non_numeric_integer_fields_as_strings_and_escapes() {
        let r = Record::new()
            .with("exit", "-1")
            .with("seq", "x")
            .with("msg", "a \"q\" \\ b");
        assert_eq!(r.to_json(), r#"{"seq":"x","exit":-1,"msg":"a \"q\" \\ b"}"#);
    }

    #[test]
    fn values_lose_newlines_and_ansi_escapes() {
        let r = Record::new()
            .with("msg", "\u{1b}[31mred\u{1b}[0m line\r\nnext")
            .with("weird key=", "x");
        assert_eq!(r.get("msg"), Some("red line  next"));
        assert_eq!(r.to_kv(), "msg=\"red line  next\" weird_key_=x");
    }

    #[test]
    fn cmd_summary_collapses_whitespace() {
        assert_eq!(
            summarize_cmd("  python3\n  runner.py\t stop   --jobs a "),
            "python3 runner.py stop --jobs a"
        );
    }

    #[test]
    fn cmd_summary_truncates_to_200_chars() {
        let exact = "x".repeat(200);
        assert_eq!(summarize_cmd(&exact), exact);
        let long = format!("{} tail", "é".repeat(250));
        let s = summarize_cmd(&long);
        assert_eq!(s.chars().count(), 200);
        assert!(s.ends_with("é..."));
        assert_eq!(s, format!("{}...", "é".repeat(197)));
    }

    #[test]
    fn timestamps_are_utc_milliseconds() {
        use chrono::TimeZone;
        let at = chrono::Utc
            .timestamp_millis_opt(1_780_437_621_123)
            .single()
            .unwrap();
        assert_eq!(format_ts(at), "2026-06-02T22:00:21.123Z");
        assert_eq!(now_ts().len(), "2026-06-02T22:07:01.123Z".len());
    }
}
