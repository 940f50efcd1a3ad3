//! `printf`: a port of Go's `fmt.Sprintf` (Go 1.19 `fmt/print.go` and
//! `fmt/format.go`) for the dialect's kinds.
//!
//! gotmpl's formatter is not exported and, measured against Go, misses
//! several verbs and flags (`%v` of large floats, `% x`, `%.1q`, `%#v`, `%T`,
//! `%O`, `%q` of non-ASCII runes, slices), so the whole of `fmt`'s directive
//! handling is reproduced here: flags, width, precision, `*`, `[n]` argument
//! indexes, and Go's inline markers (`%!d(string=x)`, `%!d(MISSING)`,
//! `%!(EXTRA int=2)`, `%!(NOVERB)`, `%!v(BADINDEX)`).

use crate::value::{is_print, quote_with, write_float, Value, CONTEXT_PRINT};

/// Go's `fmt.Sprintf(format, args...)`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> Result<String, String> {
    if args.iter().any(|a| matches!(a, Value::Context)) {
        return Err(CONTEXT_PRINT.to_string());
    }
    let mut p = Printer {
        out: String::new(),
        f: Flags::default(),
        args,
        arg_num: 0,
        reordered: false,
        good_arg_num: true,
    };
    p.run(format);
    Ok(p.out)
}

#[derive(Clone, Copy, Default)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    sharp_v: bool,
    wid: usize,
    wid_present: bool,
    prec: usize,
    prec_present: bool,
}

struct Printer<'a> {
    out: String,
    f: Flags,
    args: &'a [Value],
    arg_num: usize,
    reordered: bool,
    good_arg_num: bool,
}

/// Go's `tooLarge`: widths and precisions are capped at a million.
const MAX_NUM: usize = 1_000_000;

/// Go's `parsenum`: a decimal number in `b[start..end]`.
fn parse_num(b: &[u8], mut i: usize, end: usize) -> (usize, bool, usize) {
    let mut num = 0usize;
    let mut found = false;
    while i < end && b[i].is_ascii_digit() {
        if num > MAX_NUM {
            return (0, false, end);
        }
        num = num * 10 + usize::from(b[i] - b'0');
        found = true;
        i += 1;
    }
    (num, found, i)
}

/// Go's type names, as `%T` and the error markers show them.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Str(_) => "string",
        Value::Int(_) => "int",
        Value::Float(_) => "float64",
        Value::Bool(_) => "bool",
        Value::List(_) => "[]string",
        Value::Context => "record",
        Value::Missing => "<nil>",
    }
}

impl Printer<'_> {
    fn run(&mut self, format: &str) {
        let b = format.as_bytes();
        let end = b.len();
        let mut i = 0;
        while i < end {
            self.good_arg_num = true;
            let last = i;
            while i < end && b[i] != b'%' {
                i += 1;
            }
            self.out.push_str(&format[last..i]);
            if i >= end {
                break;
            }
            i += 1;
            self.f = Flags::default();
            while i < end {
                match b[i] {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = !self.f.minus,
                    b'+' => self.f.plus = true,
                    b'-' => {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    b' ' => self.f.space = true,
                    _ => break,
                }
                i += 1;
            }
            let mut after_index;
            (i, after_index) = self.arg_number(b, i);
            if i < end && b[i] == b'*' {
                i += 1;
                let (w, ok) = self.int_from_arg();
                self.f.wid_present = ok;
                if !ok {
                    self.out.push_str("%!(BADWIDTH)");
                }
                self.f.wid = w.unsigned_abs() as usize;
                if w < 0 {
                    self.f.minus = true;
                    self.f.zero = false;
                }
                after_index = false;
            } else {
                let (w, present, next) = parse_num(b, i, end);
                (self.f.wid, self.f.wid_present, i) = (w, present, next);
                if after_index && present {
                    self.good_arg_num = false;
                }
            }
            if i + 1 < end && b[i] == b'.' {
                i += 1;
                if after_index {
                    self.good_arg_num = false;
                }
                (i, after_index) = self.arg_number(b, i);
                if i < end && b[i] == b'*' {
                    i += 1;
                    let (p, ok) = self.int_from_arg();
                    let ok = ok && p >= 0;
                    self.f.prec = if ok { p as usize } else { 0 };
                    self.f.prec_present = ok;
                    if !ok {
                        self.out.push_str("%!(BADPREC)");
                    }
                    after_index = false;
                } else {
                    let (p, _, next) = parse_num(b, i, end);
                    (self.f.prec, self.f.prec_present, i) = (p, true, next);
                }
            }
            if !after_index {
                (i, _) = self.arg_number(b, i);
            }
            let Some(verb) = format[i..].chars().next() else {
                self.out.push_str("%!(NOVERB)");
                break;
            };
            i += verb.len_utf8();
            match verb {
                '%' => self.out.push('%'),
                _ if !self.good_arg_num => {
                    self.out.push_str(&format!("%!{verb}(BADINDEX)"));
                }
                _ if self.arg_num >= self.args.len() => {
                    self.out.push_str(&format!("%!{verb}(MISSING)"));
                }
                _ => {
                    if verb == 'v' {
                        self.f.sharp_v = self.f.sharp;
                        self.f.sharp = false;
                        self.f.plus = false;
                    }
                    let arg = &self.args[self.arg_num];
                    self.print_arg(arg, verb);
                    self.arg_num += 1;
                }
            }
        }
        if !self.reordered && self.arg_num < self.args.len() {
            self.f = Flags::default();
            self.out.push_str("%!(EXTRA ");
            for (k, a) in self.args[self.arg_num..].iter().enumerate() {
                if k > 0 {
                    self.out.push_str(", ");
                }
                if matches!(a, Value::Missing) {
                    self.out.push_str("<nil>");
                } else {
                    self.out.push_str(type_name(a));
                    self.out.push('=');
                    self.print_arg(a, 'v');
                }
            }
            self.out.push(')');
        }
    }

    /// Go's `argNumber`: an optional `[n]` explicit argument index.
    fn arg_number(&mut self, b: &[u8], i: usize) -> (usize, bool) {
        if b.get(i) != Some(&b'[') {
            return (i, false);
        }
        self.reordered = true;
        let rest = &b[i..];
        let close = (rest.len() >= 3)
            .then(|| rest.iter().position(|c| *c == b']'))
            .flatten();
        let Some(close) = close else {
            self.good_arg_num = false;
            return (i + 1, false);
        };
        let (n, ok, next) = parse_num(rest, 1, close);
        if !ok || next != close {
            self.good_arg_num = false;
            return (i + close + 1, false);
        }
        if n >= 1 && n <= self.args.len() {
            self.arg_num = n - 1;
        } else {
            self.good_arg_num = false;
        }
        (i + close + 1, true)
    }

    /// Go's `intFromArg`: a `*` width or precision taken from the arguments.
    fn int_from_arg(&mut self) -> (i64, bool) {
        let Some(a) = self.args.get(self.arg_num) else {
            return (0, false);
        };
        self.arg_num += 1;
        match a {
            Value::Int(n) if n.unsigned_abs() <= MAX_NUM as u64 => (*n, true),
            _ => (0, false),
        }
    }

    fn print_arg(&mut self, arg: &Value, verb: char) {
        match arg {
            Value::Missing => match verb {
                'T' | 'v' => self.pad("<nil>"),
                _ => self.bad_verb(verb, arg),
            },
            _ if verb == 'T' => self.fmt_s(type_name(arg)),
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, arg),
            },
            Value::Int(n) => self.fmt_integer(*n, verb),
            Value::Float(x) => self.fmt_float_verb(*x, verb),
            Value::Str(s) => self.fmt_string(s, verb, arg),
            Value::List(items) => {
                let (open, sep, close) = if self.f.sharp_v {
                    ("[]string{", ", ", "}")
                } else {
                    ("[", " ", "]")
                };
                self.out.push_str(open);
                for (k, item) in items.iter().enumerate() {
                    if k > 0 {
                        self.out.push_str(sep);
                    }
                    self.fmt_string(item, verb, &Value::Str(item.clone()));
                }
                self.out.push_str(close);
            }
            // Rejected in `sprintf` before formatting starts.
            Value::Context => self.out.push_str(CONTEXT_PRINT),
        }
    }

    /// Go's `badVerb`: `%!d(string=x)`, printed with the current flags.
    fn bad_verb(&mut self, verb: char, arg: &Value) {
        self.out.push_str(&format!("%!{verb}("));
        if matches!(arg, Value::Missing) {
            self.out.push_str("<nil>");
        } else {
            self.out.push_str(type_name(arg));
            self.out.push('=');
            self.print_arg(arg, 'v');
        }
        self.out.push(')');
    }

    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero { '0' } else { ' ' };
        self.out.extend(std::iter::repeat_n(c, n));
    }

    /// Go's `pad`: width counts characters; `-` pads on the right.
    fn pad(&mut self, s: &str) {
        let n = s.chars().count();
        let fill = if self.f.wid_present {
            self.f.wid.saturating_sub(n)
        } else {
            0
        };
        if self.f.minus {
            self.out.push_str(s);
            self.write_padding(fill);
        } else {
            self.write_padding(fill);
            self.out.push_str(s);
        }
    }

    /// Padding that never uses zeros (numbers that handled zeros already).
    fn pad_spaces(&mut self, s: &str) {
        let zero = self.f.zero;
        self.f.zero = false;
        self.pad(s);
        self.f.zero = zero;
    }

    fn truncate<'s>(&self, s: &'s str) -> &'s str {
        if !self.f.prec_present {
            return s;
        }
        match s.char_indices().nth(self.f.prec) {
            Some((i, _)) => &s[..i],
            None => s,
        }
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad(s);
    }

    fn fmt_string(&mut self, s: &str, verb: char, arg: &Value) {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => self.fmt_s(s),
            'x' => self.fmt_sx(s, false),
            'X' => self.fmt_sx(s, true),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, arg),
        }
    }

    /// Go's `fmtSbx`: hex of the bytes, `% x` spaced, `%#x` prefixed.
    fn fmt_sx(&mut self, s: &str, upper: bool) {
        let digits: &[u8; 16] = if upper {
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        let length = if self.f.prec_present {
            s.len().min(self.f.prec)
        } else {
            s.len()
        };
        let mut width = 2 * length;
        if width == 0 {
            if self.f.wid_present {
                self.write_padding(self.f.wid);
            }
            return;
        }
        if self.f.space {
            if self.f.sharp {
                width *= 2;
            }
            width += length - 1;
        } else if self.f.sharp {
            width += 2;
        }
        let fill = if self.f.wid_present {
            self.f.wid.saturating_sub(width)
        } else {
            0
        };
        if !self.f.minus {
            self.write_padding(fill);
        }
        let x = if upper { 'X' } else { 'x' };
        if self.f.sharp {
            self.out.push('0');
            self.out.push(x);
        }
        for (i, byte) in s.bytes().take(length).enumerate() {
            if self.f.space && i > 0 {
                self.out.push(' ');
                if self.f.sharp {
                    self.out.push('0');
                    self.out.push(x);
                }
            }
            self.out.push(char::from(digits[usize::from(byte >> 4)]));
            self.out.push(char::from(digits[usize::from(byte & 15)]));
        }
        if self.f.minus {
            self.write_padding(fill);
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(s) {
            self.pad(&format!("`{s}`"));
        } else {
            let q = quote_with(s, '"', self.f.plus);
            self.pad(&q);
        }
    }

    fn fmt_integer(&mut self, n: i64, verb: char) {
        match verb {
            'v' | 'd' => self.fmt_int(n, 10, verb, false),
            'b' => self.fmt_int(n, 2, verb, false),
            'o' | 'O' => self.fmt_int(n, 8, verb, false),
            'x' => self.fmt_int(n, 16, verb, false),
            'X' => self.fmt_int(n, 16, verb, true),
            'c' => {
                let c = rune(n);
                self.pad(c.encode_utf8(&mut [0; 4]));
            }
            'q' => {
                let q = quote_with(rune(n).encode_utf8(&mut [0; 4]), '\'', self.f.plus);
                self.pad(&q);
            }
            'U' => self.fmt_unicode(n as u64),
            _ => self.bad_verb(verb, &Value::Int(n)),
        }
    }

    /// Go's `fmt.fmtInteger`.
    fn fmt_int(&mut self, n: i64, base: u64, verb: char, upper: bool) {
        let negative = n < 0;
        let mut u = n.unsigned_abs();
        let mut prec = 0;
        if self.f.prec_present {
            prec = self.f.prec;
            if prec == 0 && u == 0 {
                let zero = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid);
                self.f.zero = zero;
                return;
            }
        } else if self.f.zero && self.f.wid_present {
            prec = self.f.wid;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let digits: &[u8; 16] = if upper {
            b"0123456789ABCDEF"
        } else {
            b"0123456789abcdef"
        };
        let mut buf = Vec::new();
        loop {
            buf.push(digits[(u % base) as usize]);
            u /= base;
            if u == 0 {
                break;
            }
        }
        while buf.len() < prec {
            buf.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => buf.extend_from_slice(b"b0"),
                8 if buf.last() != Some(&b'0') => buf.push(b'0'),
                16 => buf.extend_from_slice(if upper { b"X0" } else { b"x0" }),
                _ => {}
            }
        }
        if verb == 'O' {
            buf.extend_from_slice(b"o0");
        }
        if negative {
            buf.push(b'-');
        } else if self.f.plus {
            buf.push(b'+');
        } else if self.f.space {
            buf.push(b' ');
        }
        buf.reverse();
        self.pad_spaces(&String::from_utf8_lossy(&buf));
    }

    /// Go's `fmtUnicode`: `U+0041`, with `%#U` also `'A'`.
    fn fmt_unicode(&mut self, u: u64) {
        let prec = if self.f.prec_present && self.f.prec > 4 {
            self.f.prec
        } else {
            4
        };
        let mut s = format!("U+{u:0prec$X}");
        if self.f.sharp {
            if let Some(c) = u32::try_from(u)
                .ok()
                .and_then(char::from_u32)
                .filter(|c| is_print(*c))
            {
                s.push_str(&format!(" '{c}'"));
            }
        }
        self.pad_spaces(&s);
    }

    fn fmt_float_verb(&mut self, x: f64, verb: char) {
        match verb {
            'v' => self.fmt_float(x, 'g', None),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float(x, verb, None),
            'f' | 'F' | 'e' | 'E' => {
                self.fmt_float(x, if verb == 'F' { 'f' } else { verb }, Some(6))
            }
            _ => self.bad_verb(verb, &Value::Float(x)),
        }
    }

    /// Go's `fmt.fmtFloat`; `prec` None is the shortest representation.
    fn fmt_float(&mut self, x: f64, verb: char, prec: Option<usize>) {
        let prec = if self.f.prec_present {
            Some(self.f.prec)
        } else {
            prec
        };
        let mut num = format_float(x, verb, prec);
        if !num.starts_with(['-', '+']) {
            num.insert(0, '+');
        }
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        if num[1..].starts_with(['I', 'N']) {
            if num[1..].starts_with('N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad_spaces(&num);
            return;
        }
        if self.f.sharp && verb != 'b' {
            num = sharp_float(&num, verb, prec);
        }
        if self.f.plus || !num.starts_with('+') {
            let len = num.chars().count();
            if self.f.zero && self.f.wid_present && self.f.wid > len {
                self.out.push_str(&num[..1]);
                self.write_padding(self.f.wid - len);
                self.out.push_str(&num[1..]);
                return;
            }
            self.pad(&num);
            return;
        }
        self.pad(&num[1..]);
    }
}

/// A rune from an int as Go's `%c` takes it: invalid → U+FFFD.
fn rune(n: i64) -> char {
    u32::try_from(n)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{FFFD}')
}

/// Go's `strconv.CanBackquote`.
fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| !((c < ' ' && c != '\t') || c == '`' || c == '\u{7f}' || c == '\u{FEFF}'))
}

/// Decimal digits of |x| (no trailing zeros; none for zero) and the
/// decimal point position, like Go's `decimalSlice`.
fn decimal(x: f64, significant: Option<usize>) -> (Vec<u8>, i32) {
    if x == 0.0 {
        return (Vec::new(), 0);
    }
    let s = match significant {
        Some(n) => format!("{:.*e}", n.max(1) - 1, x.abs()),
        None => format!("{:e}", x.abs()),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mut d: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    (d, exp.parse::<i32>().unwrap_or(0) + 1)
}

/// Go's `fmtE`.
fn fmt_e(out: &mut String, d: &[u8], dp: i32, prec: usize, e: char) {
    out.push(d.first().map_or('0', |c| char::from(*c)));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(d.get(i).map_or('0', |c| char::from(*c)));
        }
    }
    out.push(e);
    let exp = if d.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.unsigned_abs()));
}

/// Go's `fmtF` from digits.
fn fmt_f(out: &mut String, d: &[u8], dp: i32, prec: usize) {
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(d.get(i).map_or('0', |c| char::from(*c)));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec as i32 {
            let j = dp + i - 1;
            let c = usize::try_from(j).ok().and_then(|j| d.get(j));
            out.push(c.map_or('0', |c| char::from(*c)));
        }
    }
}

/// Go's `strconv.FormatFloat(x, verb, prec, 64)`, sign included.
fn format_float(x: f64, verb: char, prec: Option<usize>) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let mut out = String::new();
    if x.is_sign_negative() {
        out.push('-');
    }
    match verb {
        'e' | 'E' => {
            let (d, dp) = decimal(x, prec.map(|p| p + 1));
            let p = prec.unwrap_or(d.len().saturating_sub(1));
            fmt_e(&mut out, &d, dp, p, verb);
        }
        'f' => match prec {
            Some(p) => out.push_str(&format!("{:.*}", p, x.abs())),
            None => {
                let (d, dp) = decimal(x, None);
                fmt_f(&mut out, &d, dp, (d.len() as i32 - dp).max(0) as usize);
            }
        },
        'g' | 'G' => {
            if prec.is_none() {
                // Shortest: Go's %v, shared with printing actions.
                let mut s = String::new();
                write_float(&mut s, x.abs());
                if verb == 'G' {
                    s = s.to_uppercase();
                }
                out.push_str(&s);
                return out;
            }
            let p = prec.unwrap_or(0).max(1);
            let (d, dp) = decimal(x, Some(p));
            let nd = d.len() as i32;
            let mut eprec = p as i32;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                let p = (p as i32).min(nd).max(1);
                fmt_e(
                    &mut out,
                    &d,
                    dp,
                    (p - 1) as usize,
                    if verb == 'G' { 'E' } else { 'e' },
                );
            } else {
                let p = if p as i32 > dp { nd } else { p as i32 };
                fmt_f(&mut out, &d, dp, (p - dp).max(0) as usize);
            }
        }
        'b' => {
            let bits = x.to_bits();
            let mut exp = ((bits >> 52) & 0x7FF) as i64;
            let mut mant = bits & ((1 << 52) - 1);
            if exp == 0 {
                exp += 1;
            } else {
                mant |= 1 << 52;
            }
            exp -= 1023 + 52;
            out.push_str(&format!("{mant}p{}{exp}", if exp >= 0 { "+" } else { "" }));
        }
        _ => hex_float(&mut out, x, verb, prec),
    }
    out
}

/// Go's `fmtX`: `%x` of a float, e.g. `0x1.8p+00`.
fn hex_float(out: &mut String, x: f64, verb: char, prec: Option<usize>) {
    let bits = x.to_bits();
    let mut exp = ((bits >> 52) & 0x7FF) as i64;
    let mut mant = bits & ((1 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1 << 52;
    }
    exp -= 1023;
    if mant == 0 {
        exp = 0;
    }
    mant <<= 8;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if let Some(p) = prec.filter(|p| *p < 15) {
        let shift = (p * 4) as u32;
        let extra = (mant << shift) & ((1 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8; 16] = if verb == 'X' {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    out.push('0');
    out.push(verb);
    out.push(if (mant >> 60) & 1 == 1 { '1' } else { '0' });
    mant <<= 4;
    let digit = |m: u64| char::from(hex[((m >> 60) & 15) as usize]);
    match prec {
        None if mant != 0 => {
            out.push('.');
            while mant != 0 {
                out.push(digit(mant));
                mant <<= 4;
            }
        }
        Some(p) if p > 0 => {
            out.push('.');
            for _ in 0..p {
                out.push(digit(mant));
                mant <<= 4;
            }
        }
        _ => {}
    }
    out.push(if verb == 'X' { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.unsigned_abs()));
}

/// Go's handling of the `#` flag on floats: keep the decimal point and pad
/// `%#g` to its precision with zeros.
fn sharp_float(num: &str, verb: char, prec: Option<usize>) -> String {
    let mut digits: i64 = match verb {
        'v' | 'g' | 'G' | 'x' => prec.map_or(6, |p| p as i64),
        _ => 0,
    };
    let (mut body, mut tail) = (num.to_string(), String::new());
    let mut has_point = false;
    let mut saw_nonzero = false;
    for (i, c) in num.char_indices().skip(1) {
        match c {
            '.' => has_point = true,
            'p' | 'P' => {
                tail = num[i..].to_string();
                body = num[..i].to_string();
                break;
            }
            'e' | 'E' if verb != 'x' && verb != 'X' => {
                tail = num[i..].to_string();
                body = num[..i].to_string();
                break;
            }
            _ => {
                if c != '0' {
                    saw_nonzero = true;
                }
                if saw_nonzero {
                    digits -= 1;
                }
            }
        }
    }
    if !has_point {
        if body.len() == 2 && body.ends_with('0') {
            digits -= 1;
        }
        body.push('.');
    }
    while digits > 0 {
        body.push('0');
        digits -= 1;
    }
    body + &tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(format: &str, args: &[Value]) -> String {
        sprintf(format, args).unwrap_or_else(|e| e)
    }

    #[test]
    fn floats_follow_strconv() {
        let f = Value::Float;
        assert_eq!(
            p("%e|%.2e|%E", &[f(1234.5), f(1.125), f(0.0)]),
            "1.234500e+03|1.12e+00|0.000000E+00"
        );
        assert_eq!(
            p(
                "%g|%.3g|%.3g|%g|%G",
                &[f(1e-10), f(1.23456), f(1234567.0), f(0.0), f(1e21)]
            ),
            "1e-10|1.23|1.23e+06|0|1E+21"
        );
        assert_eq!(
            p("%#g|%#.3x|%b", &[f(1.0), f(1.0), f(1.0)]),
            "1.00000|0x1.000p+00|4503599627370496p-52"
        );
        assert_eq!(
            p(
                "%08.3f|%+.1f|% .1f|%6.1f",
                &[f(-1.23456), f(2.0), f(2.0), f(f64::INFINITY)]
            ),
            "-001.235|+2.0| 2.0|  +Inf"
        );
    }

    #[test]
    fn directives_and_markers() {
        let (s, i) = (|v: &str| Value::str(v), Value::Int);
        assert_eq!(
            p("%[2]s %[1]s|%[3]d", &[s("a"), s("b")]),
            "b a|%!d(BADINDEX)"
        );
        assert_eq!(
            p("%*d|%.*f", &[i(5), i(3), i(2), Value::Float(1.23456)]),
            "    3|1.23"
        );
        assert_eq!(
            p("%d %d|%z|%", &[i(1), i(2), i(3)]),
            "1 2|%!z(int=3)|%!(NOVERB)"
        );
        assert_eq!(p("%d", &[i(1), s("x")]), "1%!(EXTRA string=x)");
        assert_eq!(
            p(
                "%5d|%x|%#o|%+d|%U|%#U",
                &[s("x"), i(-255), i(8), i(0), i(0x1F600), i(65)]
            ),
            "%!d(string=    x)|-ff|010|+0|U+1F600|U+0041 'A'"
        );
    }
}
