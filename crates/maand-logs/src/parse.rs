//! Reading stored lines back: kv, JSON and legacy payload-only lines.

use std::collections::BTreeMap;

use crate::record::Record;
use crate::sink::Stream;

/// What a stored line turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A kv or JSON line.
    Structured(Record),
    /// A legacy `| msg` / `! msg` line from older files.
    Legacy { stream: Stream, msg: String },
    /// Anything else (a torn or foreign line): kept, shown only when no filter is set,
    /// never a reason to fail.
    Other,
}

/// Parses one stored line; `None` for a blank line.
pub(crate) fn parse_line(line: &str) -> Option<Parsed> {
    let line = line.trim_end_matches(['\n', '\r']);
    if line.trim().is_empty() {
        return None;
    }
    if let Some((stream, msg)) = legacy(line) {
        return Some(Parsed::Legacy {
            stream,
            msg: msg.to_string(),
        });
    }
    let fields = if line.trim_start().starts_with('{') {
        parse_json(line)
    } else {
        parse_kv(line)
    };
    Some(match fields {
        Some(fields) if !fields.is_empty() => Parsed::Structured(Record::from_decoded(fields)),
        _ => Parsed::Other,
    })
}

fn legacy(line: &str) -> Option<(Stream, &str)> {
    let stream = match line.chars().next()? {
        '|' => Stream::Stdout,
        '!' => Stream::Stderr,
        _ => return None,
    };
    let rest = &line[1..];
    if rest.is_empty() {
        return Some((stream, ""));
    }
    rest.strip_prefix(' ').map(|msg| (stream, msg))
}

fn parse_json(line: &str) -> Option<BTreeMap<String, String>> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let object = value.as_object()?;
    let mut fields = BTreeMap::new();
    for (k, v) in object {
        let v = match v {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        fields.insert(k.clone(), v);
    }
    Some(fields)
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Parses `key=value` pairs. The line counts as kv only when it starts with a valid
/// pair; a later token that is not a pair is skipped rather than rejecting the line.
fn parse_kv(line: &str) -> Option<BTreeMap<String, String>> {
    let chars: Vec<char> = line.chars().collect();
    let mut fields = BTreeMap::new();
    let mut i = 0;
    loop {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let key_start = i;
        while i < chars.len() && is_key_char(chars[i]) {
            i += 1;
        }
        if i == key_start || i >= chars.len() || chars[i] != '=' {
            if fields.is_empty() {
                return None;
            }
            // Not a pair: skip the token.
            while i < chars.len() && !chars[i].is_whitespace() {
                i += 1;
            }
            continue;
        }
        let key: String = chars[key_start..i].iter().collect();
        i += 1; // '='
        let mut value = String::new();
        if i < chars.len() && chars[i] == '"' {
            i += 1;
            while i < chars.len() {
                match chars[i] {
                    '"' => {
                        i += 1;
                        break;
                    }
                    '\\' if i + 1 < chars.len() && matches!(chars[i + 1], '"' | '\\') => {
                        value.push(chars[i + 1]);
                        i += 2;
                    }
                    c => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                value.push(chars[i]);
                i += 1;
            }
        }
        fields.insert(key, value);
    }
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::LogFormat;

    fn record(line: &str) -> Record {
        match parse_line(line) {
            Some(Parsed::Structured(r)) => r,
            other => panic!("not structured: {other:?}"),
        }
    }

    #[test]
    fn kv_round_trip() {
        let r = Record::new()
            .with("ts", "2026-06-02T22:07:01.123Z")
            .with("msg", r#"a "quoted" \ value=x"#)
            .with("cmd", "echo hi")
            .with("exit", "3");
        let back = record(&r.to_kv());
        assert_eq!(back, r);
    }

    #[test]
    fn json_round_trip_with_numbers() {
        let r = Record::new()
            .with("seq", "17")
            .with("exit", "0")
            .with("msg", "x\ty");
        let back = record(&r.encode(LogFormat::Json));
        assert_eq!(back, r);
        let b = record(r#"{"removed":true,"n":null,"x":[1]}"#);
        assert_eq!(b.get("removed"), Some("true"));
        assert_eq!(b.get("n"), None);
        assert_eq!(b.get("x"), Some("[1]"));
    }

    #[test]
    fn legacy_lines() {
        assert_eq!(
            parse_line("| hello there"),
            Some(Parsed::Legacy {
                stream: Stream::Stdout,
                msg: "hello there".into()
            })
        );
        assert_eq!(
            parse_line("! oops\n"),
            Some(Parsed::Legacy {
                stream: Stream::Stderr,
                msg: "oops".into()
            })
        );
        assert_eq!(
            parse_line("|"),
            Some(Parsed::Legacy {
                stream: Stream::Stdout,
                msg: String::new()
            })
        );
    }

    #[test]
    fn malformed_lines_never_fail() {
        assert_eq!(parse_line(""), None);
        assert_eq!(parse_line("   "), None);
        assert_eq!(parse_line("just some text"), Some(Parsed::Other));
        assert_eq!(parse_line("{not json"), Some(Parsed::Other));
        assert_eq!(parse_line("[1,2]"), Some(Parsed::Other));
        assert_eq!(parse_line("|no-space"), Some(Parsed::Other));
        // Unterminated quote: value runs to the end of the line.
        assert_eq!(record("a=1 msg=\"open").get("msg"), Some("open"));
        // Stray tokens are skipped.
        let r = record("a=1 junk b=2 =x");
        assert_eq!(r.get("a"), Some("1"));
        assert_eq!(r.get("b"), Some("2"));
        // Unknown escapes are kept literally.
        assert_eq!(record(r#"m="a\nb""#).get("m"), Some(r"a\nb"));
    }
}
