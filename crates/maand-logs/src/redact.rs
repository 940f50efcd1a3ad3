//! Masking secrets before anything reaches a log file or the terminal.

use std::borrow::Cow;
use std::sync::{Arc, PoisonError, RwLock};

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// A shared, growing list of secret strings that must never be written anywhere.
///
/// The caller registers every secret it learns (KV secrets, the runtime API token,
/// private key material); the [`LogSink`](crate::LogSink) and the
/// [`Progress`](crate::Progress) echo run every value through [`Redactor::redact`].
/// Cloning shares the list, so one registration protects every writer.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    /// An empty redactor.
    pub fn new() -> Redactor {
        Redactor::default()
    }

    /// Registers a secret. Empty (or whitespace-only) strings are ignored, since they
    /// would match everywhere. A multi-line secret (a PEM key) is also registered line by
    /// line, because output is logged one line at a time.
    pub fn add_secret(&self, secret: &str) {
        let mut new: Vec<String> = Vec::new();
        if !secret.trim().is_empty() {
            new.push(secret.to_string());
        }
        if secret.contains('\n') {
            for line in secret.lines() {
                let line = line.trim_end_matches('\r');
                if !line.trim().is_empty() {
                    new.push(line.to_string());
                }
            }
        }
        if new.is_empty() {
            return;
        }
        let mut secrets = self.secrets.write().unwrap_or_else(PoisonError::into_inner);
        for s in new {
            if !secrets.contains(&s) {
                secrets.push(s);
            }
        }
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// `text` with every registered secret replaced by [`REDACTED`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let secrets = self.secrets.read().unwrap_or_else(PoisonError::into_inner);
        let mut out = Cow::Borrowed(text);
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
        out
    }

    /// True when no secret is registered.
    pub fn is_empty(&self) -> bool {
        self.secrets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence() {
        let r = Redactor::new();
        r.add_secret("hunter2");
        assert_eq!(
            r.redact("pw=hunter2 again hunter2"),
            "pw=[redacted] again [redacted]"
        );
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn ignores_empty_secrets_and_prefers_longest() {
        let r = Redactor::new();
        r.add_secret("");
        r.add_secret("   ");
        assert!(r.is_empty());
        r.add_secret("abc");
        r.add_secret("abcdef");
        assert_eq!(r.redact("xabcdefx abc"), "x[redacted]x [redacted]");
    }

    #[test]
    fn multi_line_secret_is_masked_line_by_line() {
        let r = Redactor::new();
        r.add_secret("-----BEGIN KEY-----\nMIIBsecretbody\n-----END KEY-----\n");
        assert_eq!(r.redact("MIIBsecretbody"), REDACTED);
    }

    #[test]
    fn clones_share_the_list() {
        let r = Redactor::new();
        let c = r.clone();
        r.add_secret("tok3n");
        assert_eq!(c.redact("Bearer tok3n"), "Bearer [redacted]");
    }
}
