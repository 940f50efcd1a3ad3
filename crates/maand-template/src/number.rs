//! Number literals as Go's `text/template/parse` reads them.
//!
//! gotmpl's lexer rejects `-9223372036854775808`, reads `1e400` as +Inf
//! (Go: parse error) and loses subnormal hex floats, so the scanner lexes
//! numbers itself ([`scan_number`], Go's `scanNumber`), hides them from
//! gotmpl, and the tree gets the values [`parse_number`] computes (Go's
//! `newNumber` with `strconv`'s base-0 rules).

use gotmpl::parse::Number;

/// Go's `lexer.scanNumber` from the start of `s`: the length of the number
/// token, or `None` for Go's "bad number syntax" (the length scanned then).
pub(crate) fn scan_number(s: &str) -> Result<usize, usize> {
    let b = s.as_bytes();
    let mut i = 0;
    let accept = |i: &mut usize, set: &[u8]| -> bool {
        if b.get(*i).is_some_and(|c| set.contains(c)) {
            *i += 1;
            true
        } else {
            false
        }
    };
    let run = |i: &mut usize, set: &[u8]| while accept(i, set) {};
    accept(&mut i, b"+-");
    let mut digits: &[u8] = b"0123456789_";
    let mut hex = false;
    if accept(&mut i, b"0") {
        if accept(&mut i, b"xX") {
            digits = b"0123456789abcdefABCDEF_";
            hex = true;
        } else if accept(&mut i, b"oO") {
            digits = b"01234567_";
        } else if accept(&mut i, b"bB") {
            digits = b"01_";
        }
    }
    run(&mut i, digits);
    if accept(&mut i, b".") {
        run(&mut i, digits);
    }
    if digits.len() == 11 && accept(&mut i, b"eE") {
        accept(&mut i, b"+-");
        run(&mut i, b"0123456789_");
    }
    if hex && accept(&mut i, b"pP") {
        accept(&mut i, b"+-");
        run(&mut i, b"0123456789_");
    }
    accept(&mut i, b"i");
    match s[i..].chars().next() {
        Some(c) if c.is_alphanumeric() || c == '_' => Err(i + c.len_utf8()),
        _ => Ok(i),
    }
}

/// Go's `parse.newNumber` plus `idealConstant`: an int when the text is an
/// integer that fits, a float when it has a fraction or exponent.
pub(crate) fn parse_number(text: &str) -> Result<Number, String> {
    if text.ends_with('i') && !text.starts_with("0x") && !text.starts_with("0X") {
        return Err(format!("complex number {text:?} is not supported"));
    }
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let is_hex = body.len() > 2 && (body.starts_with("0x") || body.starts_with("0X"));
    let looks_float = if is_hex {
        body.contains(['p', 'P'])
    } else {
        body.contains(['.', 'e', 'E'])
    };
    if !looks_float {
        let magnitude = match parse_uint(body) {
            Ok(m) => m,
            // Go: a decimal (or octal) integer that fails as an integer but
            // reads as a float is "too large".
            Err(true) if !body.contains(['x', 'X', 'b', 'B']) => {
                return Err(format!("integer overflow: {text:?}"))
            }
            Err(_) => return Err(format!("illegal number syntax: {text:?}")),
        };
        return match (negative, magnitude) {
            (true, m) if m <= 1 << 63 => Ok(Number::Int((m as i64).wrapping_neg())),
            (true, _) => Err(format!("illegal number syntax: {text:?}")),
            (false, m) if m <= i64::MAX as u64 => Ok(Number::Int(m as i64)),
            (false, m) => Ok(Number::Uint(m)),
        };
    }
    let value = if is_hex {
        parse_hex_float(&body[2..])
    } else {
        parse_decimal_float(body)
    };
    match value {
        Some(f) if f.is_finite() => Ok(Number::Float(if negative { -f } else { f })),
        _ => Err(format!("illegal number syntax: {text:?}")),
    }
}

/// `strconv.ParseUint(s, 0, 64)`: base prefixes, leading-zero octal and `_`
/// separators where Go allows them; `Err(true)` when only too large.
fn parse_uint(s: &str) -> Result<u64, bool> {
    if !underscore_ok(s) {
        return Err(false);
    }
    let lower = s.to_ascii_lowercase();
    let (base, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(base)) {
        return Err(false);
    }
    u64::from_str_radix(&digits, base).map_err(|_| true)
}

/// Go's `underscoreOK`: `_` only between digits or after a base prefix.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = b[1].eq_ignore_ascii_case(&b'x');
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// A decimal float (`1.5`, `.5`, `1e3`, `1_000.5`); overflow is an error.
fn parse_decimal_float(s: &str) -> Option<f64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    if !clean
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    clean.parse::<f64>().ok()
}

/// A hex float after `0x`: hex mantissa with optional point, `p` exponent.
fn parse_hex_float(s: &str) -> Option<f64> {
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    let (mantissa, exp) = clean.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    // Accumulate up to 60 significant bits exactly; track the binary point.
    let mut m: u64 = 0;
    let mut shift: i32 = 0;
    let mut sticky = false;
    for (k, c) in int_part.chars().chain(frac_part.chars()).enumerate() {
        let d = u64::from(c.to_digit(16)?);
        if m >> 56 == 0 {
            m = m << 4 | d;
            if k >= int_part.len() {
                shift -= 4;
            }
        } else {
            sticky |= d != 0;
            if k < int_part.len() {
                shift += 4;
            }
        }
    }
    if sticky {
        m |= 1;
    }
    Some(scale(m, exp + shift))
}

/// `m × 2^e`. `m as f64` rounds once (the sticky bit keeps it correct);
/// the power of two is applied in two halves so that neither factor
/// underflows on the way to a subnormal result.
fn scale(m: u64, e: i32) -> f64 {
    let half = e / 2;
    (m as f64) * 2f64.powi(half) * 2f64.powi(e - half)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(t: &str) -> String {
        match parse_number(t) {
            Ok(Number::Int(i)) => format!("int {i}"),
            Ok(Number::Uint(u)) => format!("uint {u}"),
            Ok(Number::Float(f)) => format!("float {f:e}"),
            Err(e) => e,
        }
    }

    #[test]
    fn reads_numbers_as_go() {
        assert_eq!(n("-9223372036854775808"), "int -9223372036854775808");
        assert_eq!(n("-0x8000000000000000"), "int -9223372036854775808");
        assert_eq!(n("18446744073709551615"), "uint 18446744073709551615");
        assert_eq!(n("0x1F"), "int 31");
        assert_eq!(n("0x1E"), "int 30");
        assert_eq!(n("017"), "int 15");
        assert_eq!(n("0o17"), "int 15");
        assert_eq!(n("0b101"), "int 5");
        assert_eq!(n("1_000"), "int 1000");
        assert_eq!(n("1e3"), "float 1e3");
        assert_eq!(n(".5"), "float 5e-1");
        assert_eq!(n("1_0.5"), "float 1.05e1");
        assert_eq!(n("0x1p-2"), "float 2.5e-1");
        assert_eq!(n("0x1.8p1"), "float 3e0");
        assert_eq!(n("0x1p-1074"), "float 5e-324");
        assert_eq!(n("1e400"), "illegal number syntax: \"1e400\"");
        assert_eq!(n("1__0"), "illegal number syntax: \"1__0\"");
        assert_eq!(n("0x"), "illegal number syntax: \"0x\"");
    }

    #[test]
    fn scans_like_go() {
        assert_eq!(scan_number("-3}}"), Ok(2));
        assert_eq!(scan_number("1.2.3"), Ok(3));
        assert_eq!(scan_number("0x1Fp-2 "), Ok(7));
        assert_eq!(scan_number("1e+5|"), Ok(4));
        assert_eq!(scan_number("12ab"), Err(3));
    }
}
