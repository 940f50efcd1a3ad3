//! Name rules for strings that end up in KV keys, worker paths and remote command lines
//! (spec 02 §9). Checked before anything is written.

/// `^[A-Za-z0-9][A-Za-z0-9_.-]*$` — job names, cert names, runbook slugs.
pub fn is_simple_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

pub fn is_job_name(s: &str) -> bool {
    is_simple_name(s) && s.len() <= 128
}

/// `^[a-z][a-z0-9_]*$`
pub fn is_port_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `^[a-z0-9][a-z0-9_.:-]*$`
pub fn is_label(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.:-".contains(c))
}

/// `^command_[A-Za-z0-9_][A-Za-z0-9_-]*$`
pub fn is_command_name(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("command_") else {
        return false;
    };
    let mut chars = rest.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Worker host: ≤ 253 chars of `A–Z a–z 0–9 . - : _`, not starting with `-`.
pub fn is_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:_".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(is_job_name("api-v2.x_1"));
        assert!(!is_job_name(".hidden"));
        assert!(!is_job_name("a/b"));
        assert!(!is_job_name(&"a".repeat(129)));
        assert!(is_port_name("api_http_port"));
        assert!(!is_port_name("Bad-Port"));
        assert!(!is_port_name("1port"));
        assert!(is_label("zone:a"));
        assert!(!is_label("-x"));
        assert!(is_command_name("command_migrate-db"));
        assert!(!is_command_name("command_"));
        assert!(!is_command_name("migrate"));
        assert!(is_host("10.0.0.1"));
        assert!(is_host("fe80::1"));
        assert!(!is_host("-oProxyCommand=x"));
        assert!(!is_host("a b"));
    }
}
