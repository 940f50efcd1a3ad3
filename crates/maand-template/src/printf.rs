//! `printf` through gotmpl's port of Go's `fmt.Sprintf`.
//!
//! gotmpl does not export its formatter, only templates, so each arity gets
//! a tiny cached template `{{printf (index . 0) (index . 1) …}}` executed on
//! the argument list. Arguments are type-checked by our executor first, so
//! gotmpl only formats.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use gotmpl::Template;

use crate::value::{Value, CONTEXT_PRINT};

thread_local! {
    static BY_ARITY: RefCell<HashMap<usize, Template>> = RefCell::new(HashMap::new());
}

/// Go's `fmt.Sprintf(format, args...)`; verb mismatches become inline
/// markers such as `%!d(string=x)`, as in Go.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> Result<String, String> {
    if args.iter().any(|a| matches!(a, Value::List(_))) {
        if let Some(out) = sprintf_lists(format, args)? {
            return Ok(out);
        }
    }
    sprintf_flat(format, args)
}

/// Go formats a slice by applying the directive to each element inside
/// `[…]` (`%s` of a list gives `[a b]`); gotmpl does not, so directives that
/// consume a list are formatted element by element here. `None` when the
/// format uses `*` or `[n]` argument indexes, which this walk does not follow.
fn sprintf_lists(format: &str, args: &[Value]) -> Result<Option<String>, String> {
    let mut out = String::new();
    let mut rest = args.iter();
    let mut chars = format.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut end = format.len();
        while let Some(&(j, d)) = chars.peek() {
            chars.next();
            if matches!(d, '*' | '[') {
                return Ok(None);
            }
            if !matches!(d, '-' | '+' | '#' | ' ' | '0'..='9' | '.') {
                end = j + d.len_utf8();
                break;
            }
        }
        let directive = &format[i..end];
        if directive == "%%" {
            out.push('%');
            continue;
        }
        match rest.next() {
            Some(Value::List(items)) => {
                out.push('[');
                for (k, item) in items.iter().enumerate() {
                    if k > 0 {
                        out.push(' ');
                    }
                    out.push_str(&sprintf_flat(directive, &[Value::Str(item.clone())])?);
                }
                out.push(']');
            }
            Some(v) => out.push_str(&sprintf_flat(directive, std::slice::from_ref(v))?),
            None => out.push_str(&sprintf_flat(directive, &[])?),
        }
    }
    let extra: Vec<Value> = rest.cloned().collect();
    if !extra.is_empty() {
        out.push_str(&sprintf_flat("", &extra)?);
    }
    Ok(Some(out))
}

fn sprintf_flat(format: &str, args: &[Value]) -> Result<String, String> {
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(gotmpl::Value::String(Arc::from(format)));
    for a in args {
        data.push(to_gotmpl(a)?);
    }
    let data = gotmpl::Value::List(Arc::from(data));
    BY_ARITY.with(|cache| {
        let mut cache = cache.borrow_mut();
        let template = match cache.entry(args.len()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let mut src = String::from("{{printf");
                for i in 0..=args.len() {
                    src.push_str(&format!(" (index . {i})"));
                }
                src.push_str("}}");
                e.insert(
                    Template::new("printf")
                        .parse(&src)
                        .map_err(|e| format!("printf: {e}"))?,
                )
            }
        };
        template
            .execute_to_string(&data)
            .map_err(|e| format!("printf: {e}"))
    })
}

fn to_gotmpl(v: &Value) -> Result<gotmpl::Value, String> {
    Ok(match v {
        Value::Str(s) => gotmpl::Value::String(Arc::from(&**s)),
        Value::Int(n) => gotmpl::Value::Int(*n),
        Value::Float(f) => gotmpl::Value::Float(*f),
        Value::Bool(b) => gotmpl::Value::Bool(*b),
        Value::List(l) => gotmpl::Value::List(
            l.iter()
                .map(|s| gotmpl::Value::String(Arc::from(&**s)))
                .collect(),
        ),
        Value::Missing => gotmpl::Value::Nil,
        Value::Context => return Err(CONTEXT_PRINT.to_string()),
    })
}
