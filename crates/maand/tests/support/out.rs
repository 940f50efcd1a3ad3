//! One finished `maand` run and the assertions the fleet test binaries (`deploy`, `fleet`)
//! share. Included by path from each harness: every test binary is its own crate.
// Each binary uses a different subset of these helpers.
#![allow(dead_code)]

use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Out {
    pub fn new(out: std::process::Output, took: Duration) -> Out {
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            took,
        }
    }

    /// Asserts exit 0 and no panic; returns self for chaining.
    #[track_caller]
    pub fn ok(self) -> Out {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self.no_panic()
    }

    /// Asserts a clean failure (exit 1, no panic).
    #[track_caller]
    pub fn failed(self) -> Out {
        assert_eq!(self.code, 1, "expected exit 1: {self:#?}");
        self.no_panic()
    }

    #[track_caller]
    fn no_panic(self) -> Out {
        for needle in ["panicked", "RUST_BACKTRACE"] {
            assert!(!self.stderr.contains(needle), "panic text: {self:#?}");
        }
        self
    }

    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Lines of stdout + stderr.
    pub fn lines(&self) -> Vec<String> {
        self.all().lines().map(str::to_string).collect()
    }

    #[track_caller]
    pub fn has(&self, needle: &str) -> &Out {
        assert!(
            self.all().contains(needle),
            "missing {needle:?} in {self:#?}"
        );
        self
    }

    #[track_caller]
    pub fn lacks(&self, needle: &str) -> &Out {
        assert!(
            !self.all().contains(needle),
            "unexpected {needle:?} in {self:#?}"
        );
        self
    }

    /// How many lines equal `line` exactly.
    pub fn count_line(&self, line: &str) -> usize {
        self.lines().iter().filter(|l| *l == line).count()
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:#?}"))
    }
}
