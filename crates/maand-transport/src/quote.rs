//! POSIX shell quoting for everything that ends up in a remote shell line.

use std::borrow::Cow;

use crate::TransportError;

/// Quote `s` for a POSIX shell (`sh`, `bash`), exactly like Python's `shlex.quote` (what
/// Ansible uses): words made only of `A-Z a-z 0-9 _ @ % + = : , . / -` stay bare, everything
/// else is wrapped in single quotes with each `'` written as `'"'"'`. One simple rule keeps
/// the ssh lines asserted in tests and shown in logs predictable (the `shlex` crate's
/// quoter mixes quoting styles and quotes `=`). NUL bytes cannot pass through a shell and
/// are dropped here; [`try_quote`] rejects them instead.
pub fn quote(s: &str) -> Cow<'_, str> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        return Cow::Borrowed(s);
    }
    let mut q = String::with_capacity(s.len() + 2);
    q.push('\'');
    for c in s.chars() {
        match c {
            '\'' => q.push_str("'\"'\"'"),
            '\0' => {}
            c => q.push(c),
        }
    }
    q.push('\'');
    Cow::Owned(q)
}

/// Quote `s`, rejecting NUL bytes with a typed error naming `what`.
pub fn try_quote(what: &'static str, s: &str) -> Result<String, TransportError> {
    if s.contains('\0') {
        return Err(TransportError::InvalidArgument {
            what,
            value: s.chars().take(80).collect(),
            reason: "contains a NUL byte",
        });
    }
    Ok(quote(s).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_a_posix_shell() {
        assert_eq!(quote("/opt/worker/b1"), "/opt/worker/b1");
        assert_eq!(quote("echo hi"), "'echo hi'");
        assert_eq!(quote("echo $HOME"), "'echo $HOME'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("ControlPath=/t/%C"), "ControlPath=/t/%C");
        assert_eq!(quote("it's"), "'it'\"'\"'s'");
        assert_eq!(
            shlex::split(&quote("it's \"x\" $y\n`z`")).unwrap(),
            vec!["it's \"x\" $y\n`z`".to_string()]
        );
    }

    #[test]
    fn nul_is_rejected_with_a_typed_error() {
        let err = try_quote("script", "a\0b").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid script \"a\\0b\": contains a NUL byte"
        );
    }
}
