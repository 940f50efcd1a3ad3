//! The job-relative glob dialect of `restart_globs` and `.dashboardignore`: `*`, `?`,
//! `[…]` never cross `/`; `**` only as a whole path segment.

/// Compiles one glob; the error text says what is wrong with it.
pub fn compile(pattern: &str) -> Result<globset::GlobMatcher, String> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

/// Whether any of `patterns` matches `path`; patterns were validated at build.
pub fn any_match(patterns: &[String], path: &str) -> bool {
    patterns
        .iter()
        .filter_map(|p| compile(p).ok())
        .any(|m| m.is_match(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect() {
        assert!(any_match(&["*.yml".into()], "a.yml"));
        assert!(!any_match(&["*.yml".into()], "conf/a.yml"));
        assert!(any_match(&["**/*.yml".into()], "conf/a.yml"));
        assert!(any_match(&["bin/**".into()], "bin/x/y"));
        assert!(any_match(&["Makefile".into()], "Makefile"));
        assert!(compile("a[").is_err());
    }
}
