//! Flat TOML files whose values are copied into KV (`bucket.conf`, `bucket.jobs*.conf`,
//! `vars.toml`): strings as-is, other scalars as their TOML text (spec 02 §3).

/// Converts one TOML value; `None` for arrays, tables and date-times.
pub fn scalar_text(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(float_text(*f)),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// TOML text of a float: `1.5`, `3.0` stays `3.0`, as TOML writes it.
fn float_text(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Message shared by every flat-TOML scalar error (spec 04 §12).
pub fn not_scalar(key: &str, file: &str) -> String {
    format!("invalid value for key {key} in {file}: tables and arrays are not allowed")
}

/// Parses a flat table into ordered `(key, text)` pairs.
pub fn flat_table(text: &str, file: &str) -> Result<Vec<(String, String)>, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("{file}: {}", e.message().trim()))?;
    table
        .iter()
        .map(|(k, v)| {
            scalar_text(v)
                .map(|s| (k.clone(), s))
                .ok_or_else(|| not_scalar(k, file))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts() {
        let t = flat_table("a = \"x\"\nb = 30000\nc = 1.5\nd = true\ne = 3.0", "f").unwrap();
        let vals: Vec<_> = t.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(vals, ["x", "30000", "1.5", "true", "3.0"]);
        assert_eq!(
            flat_table("a = [1]", "workspace/bucket.conf").unwrap_err(),
            "invalid value for key a in workspace/bucket.conf: tables and arrays are not allowed"
        );
        assert!(flat_table("a = ", "f").is_err());
    }
}
