//! Executes a parsed file, following Go's `text/template` exec semantics
//! (spec 05 §5) over gotmpl's tree with our values and function table.

use gotmpl::parse::{
    BranchNode, CommandNode, Expr, ListNode, Node, Number, PipeNode, TemplateNode,
};

use crate::funcs::{call, Env, Func, Param};
use crate::scan::literal_at;
use crate::tree::Program;
use crate::value::{write_value, Value};
use crate::{Context, Dialect};

/// Nested `template` invocations allowed before `template recursion too
/// deep` (spec 05 §5.7, decision; Go allows 100000).
pub(crate) const MAX_DEPTH: usize = 1000;

/// A render error: the offset of the node being executed, the detail, and
/// the innermost named template with the offset of its call.
pub(crate) struct ExecError {
    pub(crate) at: usize,
    pub(crate) detail: String,
    pub(crate) call: Option<(String, usize)>,
}

/// Why a run stopped without output.
pub(crate) enum Stop {
    Error(ExecError),
    /// Named templates nested deeper than this run's stack allowance; the
    /// caller re-runs the (side-effect free) render on a bigger stack.
    TooDeep,
}

/// Non-local exits while walking: an error, `break`/`continue`, or the
/// stack allowance used up.
enum Flow {
    Err(Box<ExecError>),
    Break,
    Continue,
    TooDeep,
}

type Walk<T> = Result<T, Flow>;

pub(crate) struct Exec<'a> {
    prog: &'a Program,
    src: &'a str,
    env: Env<'a>,
    dialect: Dialect,
    fields: Vec<(&'static str, Value)>,
    out: String,
    /// Variable stack; the visible part starts at `base` (`$` is there).
    vars: Vec<(&'a str, Value)>,
    base: usize,
    /// Named templates being executed, with the offset of their call.
    calls: Vec<(&'a str, usize)>,
    /// Nesting of named templates this run may reach before [`Stop::TooDeep`].
    depth_allowance: usize,
    at: usize,
}

impl<'a> Exec<'a> {
    pub(crate) fn new(
        prog: &'a Program,
        src: &'a str,
        env: Env<'a>,
        dialect: Dialect,
        ctx: &Context,
        depth_allowance: usize,
    ) -> Self {
        let s = Value::str;
        let mut fields = vec![
            ("Job", s(&ctx.job)),
            ("CurrentVersion", s(&ctx.current_version)),
            ("NewVersion", s(&ctx.new_version)),
        ];
        if matches!(dialect, Dialect::Deploy) {
            fields.extend([
                ("AllocationID", s(&ctx.allocation_id)),
                ("WorkerIP", s(&ctx.worker_ip)),
                ("WorkerID", s(&ctx.worker_id)),
                ("Labels", Value::list(&ctx.labels)),
                ("BucketID", s(&ctx.bucket_id)),
                ("UpdateSeq", Value::Int(ctx.update_seq)),
                ("BucketPath", s(&ctx.bucket_path)),
                ("JobPath", s(&ctx.job_path)),
            ]);
        }
        Exec {
            prog,
            src,
            env,
            dialect,
            fields,
            out: String::new(),
            vars: vec![("$", Value::Context)],
            base: 0,
            calls: Vec::new(),
            depth_allowance,
            at: 0,
        }
    }

    pub(crate) fn run(mut self) -> Result<String, Stop> {
        match self.list(&self.prog.body, &Value::Context) {
            Ok(()) => Ok(self.out),
            Err(Flow::Err(mut e)) => {
                e.detail = self.env.redact(std::mem::take(&mut e.detail));
                Err(Stop::Error(*e))
            }
            Err(Flow::TooDeep) => Err(Stop::TooDeep),
            // The scanner rejects break/continue outside range.
            Err(Flow::Break | Flow::Continue) => Err(Stop::Error(ExecError {
                at: self.at,
                detail: "break or continue outside range".into(),
                call: None,
            })),
        }
    }

    fn fail<T>(&self, detail: impl Into<String>) -> Walk<T> {
        Err(Flow::Err(Box::new(ExecError {
            at: self.at,
            detail: detail.into(),
            call: self.calls.last().map(|(n, at)| (n.to_string(), *at)),
        })))
    }

    fn list(&mut self, list: &'a ListNode, dot: &Value) -> Walk<()> {
        for node in &list.nodes {
            self.node(node, dot)?;
        }
        Ok(())
    }

    fn node(&mut self, node: &'a Node, dot: &Value) -> Walk<()> {
        match node {
            Node::Text(t) => self.out.push_str(&t.text),
            Node::Action(a) => {
                self.at = a.pos.offset;
                let v = self.pipe(&a.pipe, dot)?;
                if a.pipe.decl.is_empty() {
                    self.print(&v)?;
                }
            }
            Node::If(b) => self.branch(b, dot, false)?,
            Node::With(b) => self.branch(b, dot, true)?,
            Node::Range(b) => self.range(b, dot)?,
            Node::Template(t) => self.template(t, dot)?,
            Node::List(l) => self.list(l, dot)?,
            Node::Define(_) => {}
            Node::Break(_) => return Err(Flow::Break),
            Node::Continue(_) => return Err(Flow::Continue),
        }
        Ok(())
    }

    /// Go's `printValue`: a missing value prints `<no value>`.
    fn print(&mut self, v: &Value) -> Walk<()> {
        if matches!(v, Value::Missing) {
            self.out.push_str("<no value>");
            return Ok(());
        }
        match write_value(&mut self.out, v) {
            Ok(()) => Ok(()),
            Err(e) => self.fail(e),
        }
    }

    fn branch(&mut self, b: &'a BranchNode, dot: &Value, with: bool) -> Walk<()> {
        self.at = b.pos.offset;
        let mark = self.vars.len();
        let v = self.pipe(&b.pipe, dot)?;
        let r = if v.truthy() {
            self.list(&b.body, if with { &v } else { dot })
        } else if let Some(e) = &b.else_body {
            self.list(e, dot)
        } else {
            Ok(())
        };
        self.vars.truncate(mark);
        r
    }

    fn range(&mut self, b: &'a BranchNode, dot: &Value) -> Walk<()> {
        self.at = b.pos.offset;
        let mark = self.vars.len();
        let v = self.pipe_value(&b.pipe, dot)?;
        // Elements are produced one at a time: `range 1000000000` must not
        // allocate them all.
        let (count, list) = match &v {
            Value::List(l) => (l.len() as i64, Some(l.clone())),
            Value::Int(n) if *n >= 0 => {
                if b.pipe.decl.len() > 1 {
                    return self.fail(format!(
                        "can't use {n} to iterate over more than one variable"
                    ));
                }
                (*n, None)
            }
            Value::Missing => (0, None),
            Value::Context => return self.fail("range can't iterate over the template context"),
            other => {
                let mut shown = String::new();
                let _ = write_value(&mut shown, other);
                return self.fail(format!("range can't iterate over {shown}"));
            }
        };
        if count == 0 {
            return match &b.else_body {
                Some(e) => self.list(e, dot),
                None => Ok(()),
            };
        }
        let decl = &b.pipe.decl;
        if !b.pipe.is_assign {
            for name in decl {
                self.vars.push((name.as_str(), Value::Missing));
            }
        }
        let mut result = Ok(());
        for i in 0..count {
            let (index, elem) = match &list {
                Some(l) => (Value::Int(i), Value::Str(l[i as usize].clone())),
                None => (Value::Int(i), Value::Int(i)),
            };
            match decl.len() {
                0 => {}
                1 => self.set(mark, &decl[0], elem.clone(), b.pipe.is_assign),
                _ => {
                    self.set(mark, &decl[0], index, b.pipe.is_assign);
                    self.set(mark + 1, &decl[1], elem.clone(), b.pipe.is_assign);
                }
            }
            let body_mark = self.vars.len();
            let r = self.list(&b.body, &elem);
            self.vars.truncate(body_mark);
            match r {
                Ok(()) | Err(Flow::Continue) => {}
                Err(Flow::Break) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.vars.truncate(mark);
        result
    }

    /// Sets a range variable: the slot pushed at `slot`, or for `=` the
    /// nearest visible declaration.
    fn set(&mut self, slot: usize, name: &str, v: Value, assign: bool) {
        if assign {
            self.assign(name, v);
        } else if let Some(s) = self.vars.get_mut(slot) {
            s.1 = v;
        }
    }

    fn assign(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.vars[self.base..]
            .iter_mut()
            .rev()
            .find(|(n, _)| *n == name)
        {
            slot.1 = v;
        }
    }

    fn template(&mut self, t: &'a TemplateNode, dot: &Value) -> Walk<()> {
        self.at = t.pos.offset;
        let Some(body) = self.prog.defines.get(t.name.as_str()) else {
            return self.fail(format!("no such template {:?}", t.name.as_str()));
        };
        let arg = match &t.pipe {
            Some(p) => self.pipe(p, dot)?,
            None => Value::Missing,
        };
        if self.calls.len() >= MAX_DEPTH {
            return self.fail("template recursion too deep");
        }
        if self.calls.len() >= self.depth_allowance {
            return Err(Flow::TooDeep);
        }
        let (old_base, call_at) = (self.base, self.at);
        self.base = self.vars.len();
        self.vars.push(("$", arg.clone()));
        self.calls.push((t.name.as_str(), call_at));
        let r = self.list(body, &arg);
        self.calls.pop();
        self.vars.truncate(self.base);
        self.base = old_base;
        r
    }

    /// Evaluates a pipeline and performs its declaration or assignment.
    fn pipe(&mut self, pipe: &'a PipeNode, dot: &Value) -> Walk<Value> {
        let v = self.pipe_value(pipe, dot)?;
        if let Some(name) = pipe.decl.first() {
            if pipe.decl.len() > 1 {
                return self.fail("too many declarations in pipeline");
            }
            if pipe.is_assign {
                self.assign(name, v.clone());
            } else {
                self.vars.push((name.as_str(), v.clone()));
            }
        }
        Ok(v)
    }

    fn pipe_value(&mut self, pipe: &'a PipeNode, dot: &Value) -> Walk<Value> {
        let mut v = None;
        for cmd in &pipe.commands {
            v = Some(self.command(cmd, dot, v)?);
        }
        Ok(v.unwrap_or(Value::Missing))
    }

    /// Go's `evalCommand`; `last` is the value piped in from the left.
    fn command(&mut self, cmd: &'a CommandNode, dot: &Value, last: Option<Value>) -> Walk<Value> {
        let Some(first) = cmd.args.first() else {
            return self.fail("empty command");
        };
        let args = &cmd.args[1..];
        let has_args = !args.is_empty() || last.is_some();
        match first {
            Expr::Identifier(_, name) => self.call(name, args, dot, last),
            Expr::Field(_, fields) => self.fields(dot.clone(), fields, has_args),
            Expr::Variable(_, name, fields) if !fields.is_empty() => {
                let v = self.var(name)?;
                self.fields(v, fields, has_args)
            }
            Expr::Chain(_, inner, fields) => {
                let v = match inner.as_ref() {
                    Expr::Identifier(_, name) => self.call(name, args, dot, last)?,
                    other => self.expr(other, dot)?,
                };
                self.fields(v, fields, has_args)
            }
            Expr::Nil(_) => self.fail("nil is not a command"),
            other => {
                if has_args {
                    let shown = match other {
                        Expr::Dot(_) => ".".to_string(),
                        Expr::Variable(_, name, _) => name.to_string(),
                        Expr::Pipe(pos, _) => pipe_text(self.src, pos.offset),
                        _ => literal_at(self.src, other.pos().offset).to_string(),
                    };
                    return self.fail(format!("can't give argument to non-function {shown}"));
                }
                self.expr(other, dot)
            }
        }
    }

    /// Follows a field chain (spec 05 §5.3); a missing value stays missing,
    /// as in Go.
    fn fields(
        &self,
        mut v: Value,
        names: &[gotmpl::parse::SmolStr],
        has_args: bool,
    ) -> Walk<Value> {
        for (i, name) in names.iter().enumerate() {
            v = match v {
                Value::Context => match self.fields.iter().find(|(n, _)| *n == name.as_str()) {
                    Some((_, f)) => f.clone(),
                    None => {
                        return self.fail(format!("can't evaluate field {name} in type record"))
                    }
                },
                Value::Missing => Value::Missing,
                other => {
                    return self.fail(format!(
                        "can't evaluate field {name} in type {}",
                        other.kind()
                    ))
                }
            };
            if has_args && i + 1 == names.len() {
                return self.fail(format!(
                    "{name} has arguments but cannot be invoked as function"
                ));
            }
        }
        Ok(v)
    }

    fn var(&self, name: &str) -> Walk<Value> {
        match self.vars[self.base..]
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
        {
            Some((_, v)) => Ok(v.clone()),
            None => self.fail(format!("undefined variable: {name}")),
        }
    }

    /// Evaluates an operand in argument position.
    fn expr(&mut self, e: &'a Expr, dot: &Value) -> Walk<Value> {
        match e {
            Expr::Dot(_) => Ok(dot.clone()),
            Expr::Field(_, fields) => self.fields(dot.clone(), fields, false),
            Expr::Variable(_, name, fields) => {
                let v = self.var(name)?;
                self.fields(v, fields, false)
            }
            Expr::Identifier(_, name) => self.call(name, &[], dot, None),
            Expr::String(_, s) => Ok(Value::str(s)),
            Expr::Number(pos, n) => self.number(*n, pos.offset),
            Expr::Bool(_, b) => Ok(Value::Bool(*b)),
            Expr::Nil(_) => self.fail("nil is not supported"),
            Expr::Pipe(_, p) => self.pipe_value(p, dot),
            Expr::Chain(_, inner, fields) => {
                let v = self.expr(inner, dot)?;
                self.fields(v, fields, false)
            }
        }
    }

    fn number(&self, n: Number, at: usize) -> Walk<Value> {
        match n {
            Number::Int(i) => Ok(Value::Int(i)),
            Number::Float(f) => Ok(Value::Float(f)),
            Number::Uint(_) => self.fail(format!("{} overflows int", literal_at(self.src, at))),
        }
    }

    /// Go's `evalCall`: count check, then each argument evaluated and
    /// checked against its parameter, left to right.
    fn call(
        &mut self,
        name: &str,
        args: &'a [Expr],
        dot: &Value,
        last: Option<Value>,
    ) -> Walk<Value> {
        let Some(f) = Func::lookup(name, self.dialect) else {
            return self.fail(format!("function {name:?} not defined"));
        };
        let sig = f.sig();
        let given = args.len() + usize::from(last.is_some());
        if sig.rest.is_some() && given < sig.fixed.len() {
            return self.fail(format!(
                "wrong number of args for {name}: want at least {} got {}",
                sig.fixed.len(),
                args.len()
            ));
        }
        if sig.rest.is_none() && given != sig.fixed.len() {
            return self.fail(format!(
                "wrong number of args for {name}: want {} got {given}",
                sig.fixed.len()
            ));
        }
        let param = |i: usize| sig.fixed.get(i).copied().or(sig.rest).unwrap_or(Param::Any);
        if matches!(f, Func::And | Func::Or) {
            // Short-circuit: later arguments are never evaluated.
            let mut v = Value::Missing;
            for a in args {
                v = self.arg(a, Param::Any, dot)?;
                if v.truthy() == (f == Func::Or) {
                    return Ok(v);
                }
            }
            return Ok(last.unwrap_or(v));
        }
        let mut values = Vec::with_capacity(given);
        for (i, a) in args.iter().enumerate() {
            values.push(self.arg(a, param(i), dot)?);
        }
        if let Some(v) = last {
            values.push(self.check(v, param(args.len()))?);
        }
        match call(f, &values, &mut self.env) {
            Ok(v) => Ok(v),
            Err(e) => self.fail(e),
        }
    }

    /// Go's `evalArg`: literals are checked by their text, other operands
    /// by the kind of their value.
    fn arg(&mut self, e: &'a Expr, param: Param, dot: &Value) -> Walk<Value> {
        let literal = matches!(e, Expr::String(..) | Expr::Number(..) | Expr::Bool(..));
        if !literal || param == Param::Any {
            let v = self.expr(e, dot)?;
            return self.check(v, param);
        }
        let text = || literal_at(self.src, e.pos().offset).to_string();
        match (param, e) {
            (Param::Str, Expr::String(_, s)) => Ok(Value::str(s)),
            (Param::Str, _) => self.fail(format!("expected string; found {}", text())),
            (Param::Int, Expr::Number(_, Number::Int(i))) => Ok(Value::Int(*i)),
            (Param::Int, Expr::Number(_, Number::Float(f)))
                if f.fract() == 0.0 && *f >= i64::MIN as f64 && *f < i64::MAX as f64 =>
            {
                Ok(Value::Int(*f as i64))
            }
            (Param::Int, _) => self.fail(format!("expected integer; found {}", text())),
            _ => self.fail(format!("can't handle {} for arg of type list", text())),
        }
    }

    /// Go's `validateType` for an evaluated value.
    fn check(&self, v: Value, param: Param) -> Walk<Value> {
        let want = match param {
            Param::Any => return Ok(v),
            Param::Str => "string",
            Param::Int => "int",
            Param::List => "list",
        };
        if v.kind() == want {
            Ok(v)
        } else if matches!(v, Value::Missing) {
            self.fail(format!("invalid value; expected {want}"))
        } else {
            self.fail(format!(
                "wrong type for value; expected {want}; got {}",
                v.kind()
            ))
        }
    }
}

/// Go prints a parenthesised operand without its parentheses.
fn pipe_text(src: &str, offset: usize) -> String {
    let rest = src.get(offset..).unwrap_or("");
    let rest = rest.strip_prefix('(').unwrap_or(rest);
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return rest[..i].trim().to_string(),
            ')' => depth -= 1,
            _ => {}
        }
    }
    rest.trim().to_string()
}
