//! The function table (spec 05 §4): maand's functions and Go's built-ins,
//! with Go's signatures so argument checks give Go's messages.

use std::rc::Rc;

use crate::printf::sprintf;
use crate::value::{go_quote, is_print, sprint, write_value, Value};
use crate::{Dialect, KvSource};

/// Every function a template may call. `call` is deliberately absent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Func {
    Get,
    GetOptional,
    GetSecret,
    Keys,
    Split,
    Trim,
    Join,
    Upper,
    Lower,
    Add,
    Sub,
    Mul,
    Div,
    Min,
    Max,
    Int,
    ScrapeConfigs,
    RuleFiles,
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Print,
    Println,
    Printf,
    Html,
    Js,
    Urlquery,
}

/// The Go parameter type of one argument; decides how it is checked.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Param {
    Str,
    Int,
    List,
    Any,
}

/// Fixed parameters and, for variadic functions, the type of the rest.
pub(crate) struct Sig {
    pub(crate) fixed: &'static [Param],
    pub(crate) rest: Option<Param>,
}

impl Func {
    /// Resolves a name in a dialect; `None` is the parse error
    /// `function "<name>" not defined`.
    pub(crate) fn lookup(name: &str, dialect: Dialect) -> Option<Func> {
        use Func::*;
        let f = match name {
            "get" => Get,
            "getOptional" => GetOptional,
            "getSecret" => GetSecret,
            "keys" => Keys,
            "split" => Split,
            "trim" => Trim,
            "join" => Join,
            "upper" => Upper,
            "lower" => Lower,
            "add" => Add,
            "sub" => Sub,
            "mul" => Mul,
            "div" => Div,
            "min" => Min,
            "max" => Max,
            "int" => Int,
            "scrapeConfigs" => ScrapeConfigs,
            "ruleFiles" => RuleFiles,
            "and" => And,
            "or" => Or,
            "not" => Not,
            "len" => Len,
            "index" => Index,
            "slice" => Slice,
            "eq" => Eq,
            "ne" => Ne,
            "lt" => Lt,
            "le" => Le,
            "gt" => Gt,
            "ge" => Ge,
            "print" => Print,
            "println" => Println,
            "printf" => Printf,
            "html" => Html,
            "js" => Js,
            "urlquery" => Urlquery,
            _ => return None,
        };
        // The build-time dialect has no allocation, so no optional reads and
        // no Prometheus helpers (spec 05 §7).
        let deploy_only = matches!(f, GetOptional | ScrapeConfigs | RuleFiles);
        (!deploy_only || matches!(dialect, Dialect::Deploy)).then_some(f)
    }

    pub(crate) fn sig(self) -> Sig {
        use Param::{Any, Str};
        let (fixed, rest): (&'static [Param], _) = match self {
            Func::Get | Func::GetOptional | Func::Split => (&[Str, Str], None),
            Func::GetSecret | Func::Keys | Func::Trim | Func::Upper | Func::Lower => (&[Str], None),
            Func::Join => (&[Param::List, Str], None),
            Func::Add | Func::Sub | Func::Mul | Func::Div | Func::Min | Func::Max => {
                (&[Param::Int, Param::Int], None)
            }
            Func::Int | Func::Not | Func::Len => (&[Any], None),
            Func::ScrapeConfigs | Func::RuleFiles => (&[], None),
            Func::And | Func::Or | Func::Index | Func::Slice | Func::Eq => (&[Any], Some(Any)),
            Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => (&[Any, Any], None),
            Func::Print | Func::Println | Func::Html | Func::Js | Func::Urlquery => {
                (&[], Some(Any))
            }
            Func::Printf => (&[Str], Some(Any)),
        };
        Sig { fixed, rest }
    }

    pub(crate) fn name(self) -> &'static str {
        use Func::*;
        match self {
            Get => "get",
            GetOptional => "getOptional",
            GetSecret => "getSecret",
            Keys => "keys",
            Split => "split",
            Trim => "trim",
            Join => "join",
            Upper => "upper",
            Lower => "lower",
            Add => "add",
            Sub => "sub",
            Mul => "mul",
            Div => "div",
            Min => "min",
            Max => "max",
            Int => "int",
            ScrapeConfigs => "scrapeConfigs",
            RuleFiles => "ruleFiles",
            And => "and",
            Or => "or",
            Not => "not",
            Len => "len",
            Index => "index",
            Slice => "slice",
            Eq => "eq",
            Ne => "ne",
            Lt => "lt",
            Le => "le",
            Gt => "gt",
            Ge => "ge",
            Print => "print",
            Println => "println",
            Printf => "printf",
            Html => "html",
            Js => "js",
            Urlquery => "urlquery",
        }
    }
}

/// What KV functions need besides their arguments.
pub(crate) struct Env<'a> {
    pub(crate) kv: &'a dyn KvSource,
    pub(crate) job: &'a str,
    /// Values read from `secrets/…` namespaces, to redact from errors.
    pub(crate) secrets: Vec<String>,
}

impl Env<'_> {
    /// Masks every secret value read so far: Go's messages quote values
    /// (`range can't iterate over …`, `int: invalid integer "…"`), and
    /// secret values must never reach an error (spec 05 §6).
    pub(crate) fn redact(&self, detail: String) -> String {
        self.secrets
            .iter()
            .filter(|s| !s.is_empty())
            .fold(detail, |d, s| d.replace(s.as_str(), "******"))
    }
}

/// Calls `f` with arguments already checked against its signature.
/// `and`/`or` never get here: the executor short-circuits them.
pub(crate) fn call(f: Func, args: &[Value], env: &mut Env<'_>) -> Result<Value, String> {
    use Func::*;
    let s = |i: usize| -> &str {
        match args.get(i) {
            Some(Value::Str(s)) => s,
            _ => "",
        }
    };
    let n = |i: usize| -> i64 {
        match args.get(i) {
            Some(Value::Int(n)) => *n,
            _ => 0,
        }
    };
    Ok(match f {
        Get | GetOptional => read(env, f, s(0), s(1))?,
        GetSecret => {
            let ns = format!("secrets/job/{}", env.job);
            read(env, f, &ns, s(0))?
        }
        Keys => {
            let mut keys = env
                .kv
                .keys(s(0))
                .map_err(|e| format!("keys {}: {e}", go_quote(s(0))))?;
            // Output must be deterministic (spec 05 §1) whatever the source's order.
            keys.sort_unstable();
            Value::list(keys)
        }
        ScrapeConfigs => Value::str(
            &env.kv
                .scrape_configs()
                .map_err(|e| format!("scrapeConfigs: {e}"))?,
        ),
        RuleFiles => Value::str(&env.kv.rule_files().map_err(|e| format!("ruleFiles: {e}"))?),
        Split => split(s(0), s(1)),
        Trim => Value::str(s(0).trim()),
        Join => match args.first() {
            Some(Value::List(l)) => Value::str(&l.join(s(1))),
            _ => Value::str(""),
        },
        Upper => Value::str(&simple_case(s(0), true)),
        Lower => Value::str(&simple_case(s(0), false)),
        Add => checked("add", n(0).checked_add(n(1)))?,
        Sub => checked("sub", n(0).checked_sub(n(1)))?,
        Mul => checked("mul", n(0).checked_mul(n(1)))?,
        Div => {
            if n(1) == 0 {
                return Err("division by zero".into());
            }
            checked("div", n(0).checked_div(n(1)))?
        }
        Min => Value::Int(n(0).min(n(1))),
        Max => Value::Int(n(0).max(n(1))),
        Int => to_int(&args[0])?,
        Not => Value::Bool(!args[0].truthy()),
        Len => match &args[0] {
            Value::Str(s) => Value::Int(s.len() as i64),
            Value::List(l) => Value::Int(l.len() as i64),
            v => return Err(format!("len of type {}", v.kind())),
        },
        Index => index(&args[0], &args[1..])?,
        Slice => slice(&args[0], &args[1..])?,
        Eq => Value::Bool(eq(&args[0], &args[1..])?),
        Ne => Value::Bool(!eq(&args[0], &args[1..])?),
        Lt => Value::Bool(lt(&args[0], &args[1])?),
        Le => Value::Bool(lt(&args[0], &args[1])? || eq(&args[0], &args[1..])?),
        Gt => Value::Bool(!(lt(&args[0], &args[1])? || eq(&args[0], &args[1..])?)),
        Ge => Value::Bool(!lt(&args[0], &args[1])?),
        Print => Value::str(&sprint(args)?),
        Println => {
            let mut out = String::new();
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(&mut out, a)?;
            }
            out.push('\n');
            Value::str(&out)
        }
        Printf => Value::str(&sprintf(s(0), &args[1..])?),
        Html => Value::str(&gotmpl::html_escape(&escaper_input(args)?)),
        Js => Value::str(&js_escape(&escaper_input(args)?)),
        Urlquery => Value::str(&gotmpl::url_encode(&escaper_input(args)?)),
        And | Or => args.last().cloned().unwrap_or(Value::Missing),
    })
}

/// One KV read. Errors quote the call as written (spec 05 §6:
/// `get "ns" "key": …`); the caller's error text never contains a value,
/// so secrets stay out.
fn read(env: &mut Env<'_>, f: Func, ns: &str, key: &str) -> Result<Value, String> {
    let call = || match f {
        Func::GetSecret => format!("getSecret {}", go_quote(key)),
        _ => format!("{} {} {}", f.name(), go_quote(ns), go_quote(key)),
    };
    match env.kv.get(ns, key) {
        Ok(Some(v)) => {
            let value = Value::str(&v);
            if ns.starts_with("secrets/") {
                env.secrets.push(v);
            }
            Ok(value)
        }
        Ok(None) if f == Func::GetOptional => Ok(Value::str("")),
        Ok(None) => Err(format!(
            "{}: key not found: namespace {ns}, key {key}",
            call()
        )),
        Err(e) => Err(format!("{}: {e}", call())),
    }
}

fn checked(name: &str, r: Option<i64>) -> Result<Value, String> {
    r.map(Value::Int)
        .ok_or_else(|| format!("integer overflow in {name}"))
}

/// Go's `strings.Split`: an empty separator splits into characters.
fn split(s: &str, sep: &str) -> Value {
    if sep.is_empty() {
        let mut buf = [0u8; 4];
        Value::List(
            s.chars()
                .map(|c| Rc::from(&*c.encode_utf8(&mut buf)))
                .collect(),
        )
    } else {
        Value::list(s.split(sep))
    }
}

/// Go's `strings.ToUpper`/`ToLower` use simple (one-to-one) case mapping:
/// characters whose mapping needs several characters (`ß`) stay as they are.
fn simple_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            if !upper && c == '\u{130}' {
                // The only multi-character lowercase mapping; its simple form is `i`.
                return 'i';
            }
            let mut m: Vec<char> = if upper {
                c.to_uppercase().collect()
            } else {
                c.to_lowercase().collect()
            };
            if m.len() == 1 {
                m.pop().unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// `int`: an int passes through; a string is trimmed, then must be an
/// optional sign and ASCII digits (spec 05 §4.3).
fn to_int(v: &Value) -> Result<Value, String> {
    match v {
        Value::Int(n) => Ok(Value::Int(*n)),
        Value::Str(s) => {
            let t = s.trim();
            let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
            let parsed = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<i64>().ok())
                .flatten();
            parsed
                .map(Value::Int)
                .ok_or_else(|| format!("int: invalid integer {}", go_quote(s)))
        }
        _ => Err("int: expected string or integer".into()),
    }
}

/// Go's `indexArg`: an int index within `0..=cap`.
fn index_arg(i: &Value, cap: usize) -> Result<usize, String> {
    match i {
        Value::Int(x) if *x < 0 || *x as u64 > cap as u64 => {
            Err(format!("index out of range: {x}"))
        }
        Value::Int(x) => Ok(*x as usize),
        Value::Missing => Err("cannot index slice/array with nil".into()),
        v => Err(format!("cannot index slice/array with type {}", v.kind())),
    }
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    if matches!(item, Value::Missing) {
        return Err("index of untyped nil".into());
    }
    let mut item = item.clone();
    for i in indexes {
        item = match &item {
            Value::List(l) => {
                let x = index_arg(i, l.len())?;
                Value::Str(
                    l.get(x)
                        .cloned()
                        .ok_or_else(|| format!("index out of range: {x}"))?,
                )
            }
            Value::Str(s) => {
                let x = index_arg(i, s.len())?;
                Value::Int(i64::from(
                    *s.as_bytes()
                        .get(x)
                        .ok_or_else(|| format!("index out of range: {x}"))?,
                ))
            }
            v => return Err(format!("can't index item of type {}", v.kind())),
        };
    }
    Ok(item)
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value, String> {
    let len = match item {
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Missing => return Err("slice of untyped nil".into()),
        v => return Err(format!("can't slice item of type {}", v.kind())),
    };
    if indexes.len() > 2 {
        // Go's item[i:j:k] form has no use on the dialect's lists and strings.
        return Err(format!("too many slice indexes: {}", indexes.len()));
    }
    let mut idx = [0, len];
    for (k, i) in indexes.iter().enumerate() {
        idx[k] = index_arg(i, len)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]));
    }
    Ok(match item {
        Value::Str(s) => {
            for x in idx {
                if !s.is_char_boundary(x) {
                    return Err(format!("slice index {x} is not on a character boundary"));
                }
            }
            Value::str(&s[idx[0]..idx[1]])
        }
        Value::List(l) => Value::List(l[idx[0]..idx[1]].iter().cloned().collect()),
        _ => Value::Missing,
    })
}

/// Go's `basicKind`: the kinds comparisons understand.
fn basic_kind(v: &Value) -> Option<u8> {
    match v {
        Value::Bool(_) => Some(0),
        Value::Int(_) => Some(1),
        Value::Float(_) => Some(2),
        Value::Str(_) => Some(3),
        _ => None,
    }
}

/// Go's `eq`: true if `a` equals any of `rest`, stopping at the first match.
fn eq(a: &Value, rest: &[Value]) -> Result<bool, String> {
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    for b in rest {
        let truth = match (a, b) {
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Float(x), Value::Float(y)) => x == y,
            (Value::Str(x), Value::Str(y)) => x == y,
            (Value::Missing, Value::Missing) => true,
            // Go compares a missing value with anything as unequal.
            (Value::Missing, _) | (_, Value::Missing) => false,
            (Value::List(_), Value::List(_)) | (Value::Context, Value::Context) => {
                let mut shown = String::new();
                if write_value(&mut shown, b).is_err() {
                    shown = "record".into();
                }
                return Err(format!("non-comparable type {shown}: {}", b.kind()));
            }
            _ => return Err("incompatible types for comparison".into()),
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go's `lt`: ints, floats and strings of one kind only.
fn lt(a: &Value, b: &Value) -> Result<bool, String> {
    const BAD_TYPE: &str = "invalid type for comparison";
    let (ka, kb) = (
        basic_kind(a).ok_or(BAD_TYPE)?,
        basic_kind(b).ok_or(BAD_TYPE)?,
    );
    if ka != kb {
        return Err("incompatible types for comparison".into());
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Str(x), Value::Str(y)) => x < y,
        _ => return Err(BAD_TYPE.into()),
    })
}

/// Go's `JSEscapeString`: gotmpl's version leaves non-printable non-ASCII
/// characters (U+00A0, U+200B, …) unescaped.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' | '>' | '&' | '=' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c < ' ' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_ascii() || is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// Go's `evalArgs` for the escapers: a lone string as is, else `Sprint`.
fn escaper_input(args: &[Value]) -> Result<String, String> {
    match args {
        [Value::Str(s)] => Ok(s.to_string()),
        _ => sprint(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_parses_only_plain_decimal() {
        assert!(matches!(to_int(&Value::str(" 007 ")), Ok(Value::Int(7))));
        assert!(matches!(
            to_int(&Value::str("-9223372036854775808")),
            Ok(Value::Int(i64::MIN))
        ));
        for bad in [
            "",
            "+",
            "1_000",
            "0x1F",
            "4.5",
            "1e3",
            "+-1",
            "99999999999999999999",
        ] {
            assert!(to_int(&Value::str(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn case_mapping_is_simple() {
        assert_eq!(simple_case("straße", true), "STRAßE");
        assert_eq!(simple_case("İX", false), "ix");
    }

    #[test]
    fn calls_unavailable_in_scrape_dialect() {
        assert_eq!(Func::lookup("getOptional", Dialect::Scrape), None);
        assert_eq!(
            Func::lookup("getOptional", Dialect::Deploy),
            Some(Func::GetOptional)
        );
        assert_eq!(Func::lookup("call", Dialect::Deploy), None);
    }
}
