//! The values a template computes with (spec 05 §3) and how Go prints them.

use std::fmt::Write as _;
use std::rc::Rc;

/// One value of the template dialect. There are no maps and no `nil` literal;
/// every list holds strings because every list source (`split`, `keys`,
/// `.Labels`, `slice`) produces strings.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Str(Rc<str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Rc<[Rc<str>]>),
    /// The dot context record; its fields live in the executor.
    Context,
    /// Go's invalid `reflect.Value`: the dot of `{{template "x"}}` without an
    /// argument, and anything read from it. Printed `<no value>`.
    Missing,
}

impl Value {
    pub(crate) fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }

    pub(crate) fn list<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> Value {
        Value::List(items.into_iter().map(|s| Rc::from(s.as_ref())).collect())
    }

    /// Go's `truth`: zero values and empty lists are false, records always true.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Value::Str(s) => !s.is_empty(),
            Value::Int(n) => *n != 0,
            Value::Float(f) => *f != 0.0,
            Value::Bool(b) => *b,
            Value::List(l) => !l.is_empty(),
            Value::Context => true,
            Value::Missing => false,
        }
    }

    /// The kind name used in error messages (spec 05 §3).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::List(_) => "list",
            Value::Context => "record",
            Value::Missing => "<no value>",
        }
    }
}

/// Printing the context record is refused (spec 05 §2, decision): the
/// original dumped a Go struct, which no configuration file wants.
pub(crate) const CONTEXT_PRINT: &str = "cannot print the template context";

/// Appends Go's `%v` form of `v`; `Err` only for the context record.
pub(crate) fn write_value(out: &mut String, v: &Value) -> Result<(), String> {
    match v {
        Value::Str(s) => out.push_str(s),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(f) => write_float(out, *f),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::List(l) => {
            out.push('[');
            for (i, s) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(s);
            }
            out.push(']');
        }
        Value::Context => return Err(CONTEXT_PRINT.to_string()),
        // Go's fmt prints a nil interface as <nil>; only the action printer
        // says <no value>.
        Value::Missing => out.push_str("<nil>"),
    }
    Ok(())
}

/// `fmt.Sprint`: `%v` forms with a space between two operands when neither
/// is a string.
pub(crate) fn sprint(args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::Str(_)) && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        write_value(&mut out, a)?;
    }
    Ok(out)
}

/// Go's `%v` for a float64: shortest round-trip digits, exponent form when
/// the decimal exponent is < -4 or >= 6 (e.g. `1e+06`, `1e-05`, `100000`).
pub(crate) fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if f.is_sign_negative() {
        out.push('-');
    }
    // Rust's `{:e}` yields the shortest round-trip digits, e.g. "1.25e-7".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
}

/// Go's `%q` (`strconv.Quote`), used for strings quoted in error messages.
pub(crate) fn go_quote(s: &str) -> String {
    quote_with(s, '"', false)
}

/// Go's `strconv.Quote`/`QuoteRune` (`quote` `'`), or their `ToASCII` forms.
pub(crate) fn quote_with(s: &str, quote: char, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        if c == quote || c == '\\' {
            out.push('\\');
            out.push(c);
            continue;
        }
        if is_print(c) && (!ascii || c.is_ascii()) {
            out.push(c);
            continue;
        }
        let _ = match c {
            '\u{7}' => write!(out, "\\a"),
            '\u{8}' => write!(out, "\\b"),
            '\u{c}' => write!(out, "\\f"),
            '\n' => write!(out, "\\n"),
            '\r' => write!(out, "\\r"),
            '\t' => write!(out, "\\t"),
            '\u{b}' => write!(out, "\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => write!(out, "\\x{:02x}", c as u32),
            c if (c as u32) < 0x10000 => write!(out, "\\u{:04x}", c as u32),
            c => write!(out, "\\U{:08x}", c as u32),
        };
    }
    out.push(quote);
    out
}

/// Go's `strconv.IsPrint`, without the table of unassigned code points.
pub(crate) fn is_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    !c.is_control()
        && !matches!(u,
            0xA0 | 0xAD | 0x61C | 0x1680 | 0x180E | 0x2000..=0x200F | 0x2028..=0x202F
            | 0x205F..=0x206F | 0x3000 | 0xFEFF | 0xFFF9..=0xFFFB | 0xFFFE | 0xFFFF
            | 0xE000..=0xF8FF | 0xE0000..=0xE007F | 0xF0000..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(f: f64) -> String {
        let mut s = String::new();
        write_float(&mut s, f);
        s
    }

    #[test]
    fn floats_print_like_go() {
        assert_eq!(float(1.5), "1.5");
        assert_eq!(float(3.0), "3");
        assert_eq!(float(100000.0), "100000");
        assert_eq!(float(1e6), "1e+06");
        assert_eq!(float(0.00001), "1e-05");
        assert_eq!(float(0.0001), "0.0001");
        assert_eq!(float(123456789.0), "1.23456789e+08");
        assert_eq!(float(-2.5), "-2.5");
        assert_eq!(float(0.0), "0");
        assert_eq!(float(1e21), "1e+21");
        assert_eq!(float(1.25e-7), "1.25e-07");
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("a\"b\n\u{1}é"), "\"a\\\"b\\n\\x01é\"");
    }
}
