//! Comma-separated filters (`--jobs`, `--workers`) and their validation (spec 09 §1).

use crate::error::{Error, Kind, Result};

/// Splits a CSV flag: items trimmed, empty ones dropped, duplicates removed.
pub fn csv(value: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in value.unwrap_or("").split(',') {
        let item = item.trim();
        if !item.is_empty() && !out.iter().any(|x| x == item) {
            out.push(item.to_string());
        }
    }
    out
}

/// Keeps the requested names that exist. None matching → `invalid input, <what> [a, b]`;
/// some unknown → a warning. An empty request means "no filter" (`None`).
pub fn validate(what: &str, requested: &[String], known: &[String]) -> Result<Option<Vec<String>>> {
    if requested.is_empty() {
        return Ok(None);
    }
    let (ok, unknown): (Vec<String>, Vec<String>) =
        requested.iter().cloned().partition(|r| known.contains(r));
    if ok.is_empty() {
        return Err(Error::bare(
            Kind::Input,
            format!("invalid input, {what} [{}]", requested.join(", ")),
        ));
    }
    if !unknown.is_empty() {
        eprintln!("warning: unknown {what} ignored: [{}]", unknown.join(", "));
    }
    Ok(Some(ok))
}

/// Whether `name` passes an optional filter.
pub fn admits(filter: &Option<Vec<String>>, name: &str) -> bool {
    filter.as_ref().is_none_or(|f| f.iter().any(|x| x == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_validate() {
        assert_eq!(csv(Some(" a, ,b,a ")), ["a", "b"]);
        let known = vec!["a".to_string(), "b".to_string()];
        assert_eq!(validate("jobs", &[], &known).unwrap(), None);
        assert_eq!(
            validate("jobs", &["a".into(), "x".into()], &known).unwrap(),
            Some(vec!["a".to_string()])
        );
        assert_eq!(
            validate("jobs", &["x".into(), "y".into()], &known)
                .unwrap_err()
                .to_string(),
            "invalid input, jobs [x, y]"
        );
    }
}
