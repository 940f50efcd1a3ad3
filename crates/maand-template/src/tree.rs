//! Parsing: our scanner, then gotmpl's parser, then the checks Go's parser
//! makes and gotmpl's does not (unknown functions, undefined variables,
//! duplicate `define`s), all before any output exists.

use std::collections::HashMap;
use std::sync::Arc;

use gotmpl::parse::{Expr, ListNode, Node, Parser, PipeNode};

use crate::funcs::Func;
use crate::scan::{scan, Scan};
use crate::Dialect;

/// A parsed file, ready to execute any number of times.
pub(crate) struct Program {
    pub(crate) body: ListNode,
    pub(crate) defines: HashMap<String, ListNode>,
    /// Offsets of every action's `{{`, to report errors at the action.
    pub(crate) actions: Vec<usize>,
}

/// A parse error at a byte offset (mapped to the enclosing action later),
/// or at a line and column gotmpl computed.
pub(crate) enum ParseError {
    At(usize, String),
    LineCol(usize, usize, String),
}

pub(crate) fn parse(src: &str, dialect: Dialect) -> Result<Program, ParseError> {
    let scanned = scan(src).map_err(|e| ParseError::At(e.offset, e.detail))?;
    let (mut body, defines) = Parser::new(&scanned.lexed, "{{", "}}")
        .and_then(Parser::parse)
        .map_err(|e| match e {
            gotmpl::TemplateError::Parse {
                line, col, message, ..
            }
            | gotmpl::TemplateError::Lex {
                line, col, message, ..
            } => ParseError::LineCol(line, col, message),
            other => ParseError::At(0, other.to_string()),
        })?;
    fix_list(&mut body, &scanned);
    let mut checker = Checker {
        dialect,
        vars: Vec::new(),
    };
    // Like Go, report the first problem in source order, wherever it is.
    let mut first: Option<(usize, String)> = None;
    let mut note = |r: Result<(), (usize, String)>| {
        if let Err((at, detail)) = r {
            if first.as_ref().is_none_or(|(f, _)| at < *f) {
                first = Some((at, detail));
            }
        }
    };
    note(checker.list(&body));

    // Go's rule: a second non-empty body for a name is an error; an empty
    // one never replaces a non-empty one.
    let mut named: HashMap<String, ListNode> = HashMap::new();
    for mut def in defines {
        fix_list(&mut def.body, &scanned);
        checker.vars.clear();
        note(checker.list(&def.body));
        let empty = def.body.is_empty_tree();
        match named.get(def.name.as_str()) {
            Some(old) if !old.is_empty_tree() && !empty => note(Err((
                def.pos.offset,
                format!("multiple definition of template {:?}", def.name.as_str()),
            ))),
            Some(old) if !old.is_empty_tree() => {}
            _ => {
                named.insert(def.name.to_string(), def.body);
            }
        }
    }
    if let Some((at, detail)) = first {
        return Err(ParseError::At(at, detail));
    }
    Ok(Program {
        body,
        defines: named,
        actions: scanned.actions,
    })
}

/// Puts Go's trimmed text into text nodes, drops comment placeholders and
/// gives number literals the values the scanner read.
fn fix_list(list: &mut ListNode, scanned: &Scan) {
    list.nodes.retain_mut(|node| match node {
        Node::Text(t) => {
            let at = scanned
                .texts
                .partition_point(|(start, _)| *start <= t.pos.offset);
            let text = at
                .checked_sub(1)
                .map_or("", |i| scanned.texts[i].1.as_str());
            t.text = Arc::from(text);
            !text.is_empty()
        }
        Node::Action(a) => {
            let at = scanned
                .actions
                .partition_point(|start| *start <= a.pos.offset);
            let start = at.checked_sub(1).map(|i| scanned.actions[i]);
            fix_pipe(&mut a.pipe, scanned);
            start.is_none_or(|s| scanned.comments.binary_search(&s).is_err())
        }
        Node::If(b) | Node::With(b) | Node::Range(b) => {
            fix_pipe(&mut b.pipe, scanned);
            fix_list(&mut b.body, scanned);
            if let Some(e) = &mut b.else_body {
                fix_list(e, scanned);
            }
            true
        }
        Node::Template(t) => {
            if let Some(p) = &mut t.pipe {
                fix_pipe(p, scanned);
            }
            true
        }
        Node::List(l) => {
            fix_list(l, scanned);
            true
        }
        Node::Define(d) => {
            fix_list(&mut d.body, scanned);
            true
        }
        Node::Break(_) | Node::Continue(_) => true,
    });
}

fn fix_pipe(pipe: &mut PipeNode, scanned: &Scan) {
    for cmd in &mut pipe.commands {
        for arg in &mut cmd.args {
            fix_expr(arg, scanned);
        }
    }
}

fn fix_expr(e: &mut Expr, scanned: &Scan) {
    match e {
        Expr::Number(pos, n) => {
            // Character literals are not in the table and keep gotmpl's value.
            if let Ok(i) = scanned
                .numbers
                .binary_search_by_key(&pos.offset, |(at, _)| *at)
            {
                *n = scanned.numbers[i].1;
            }
        }
        Expr::Pipe(_, p) => fix_pipe(p, scanned),
        Expr::Chain(_, inner, _) => fix_expr(inner, scanned),
        _ => {}
    }
}

/// Static checks with Go's scoping (spec 05 §5.5): a variable is visible from
/// its declaration to the `end` of the enclosing block, else branches
/// included; `define` bodies start with only `$`.
struct Checker {
    dialect: Dialect,
    vars: Vec<String>,
}

impl Checker {
    fn list(&mut self, list: &ListNode) -> Result<(), (usize, String)> {
        for node in &list.nodes {
            match node {
                Node::Action(a) => self.pipe(&a.pipe)?,
                Node::If(b) | Node::With(b) | Node::Range(b) => {
                    let mark = self.vars.len();
                    self.pipe(&b.pipe)?;
                    self.list(&b.body)?;
                    if let Some(e) = &b.else_body {
                        self.list(e)?;
                    }
                    self.vars.truncate(mark);
                }
                Node::Template(t) => {
                    if let Some(p) = &t.pipe {
                        self.pipe(p)?;
                    }
                }
                Node::List(l) => self.list(l)?,
                Node::Text(_) | Node::Define(_) | Node::Break(_) | Node::Continue(_) => {}
            }
        }
        Ok(())
    }

    fn pipe(&mut self, pipe: &PipeNode) -> Result<(), (usize, String)> {
        // Only the first command of a pipeline may be a plain operand.
        for (i, cmd) in pipe.commands.iter().enumerate().skip(1) {
            if let Some(
                Expr::Bool(..) | Expr::Dot(_) | Expr::Nil(_) | Expr::Number(..) | Expr::String(..),
            ) = cmd.args.first()
            {
                return Err((
                    cmd.pos.offset,
                    format!("non executable command in pipeline stage {}", i + 1),
                ));
            }
        }
        for cmd in &pipe.commands {
            for arg in &cmd.args {
                self.expr(arg)?;
            }
        }
        if pipe.is_assign {
            // Go accepts `$x = …` for an undeclared `$x` and fails only when
            // it runs; maand reports it at build time like any undefined variable.
            for name in &pipe.decl {
                self.visible(name, pipe.pos.offset)?;
            }
        } else {
            self.vars.extend(pipe.decl.iter().map(ToString::to_string));
        }
        Ok(())
    }

    fn expr(&mut self, e: &Expr) -> Result<(), (usize, String)> {
        match e {
            Expr::Identifier(pos, name) => {
                if Func::lookup(name, self.dialect).is_none() {
                    return Err((
                        pos.offset,
                        format!("function {:?} not defined", name.as_str()),
                    ));
                }
            }
            Expr::Variable(pos, name, _) => self.visible(name, pos.offset)?,
            Expr::Pipe(_, p) => self.pipe(p)?,
            Expr::Chain(_, inner, _) => self.expr(inner)?,
            Expr::Dot(_)
            | Expr::Field(..)
            | Expr::String(..)
            | Expr::Number(..)
            | Expr::Bool(..)
            | Expr::Nil(_) => {}
        }
        Ok(())
    }

    fn visible(&self, name: &str, offset: usize) -> Result<(), (usize, String)> {
        if name == "$" || self.vars.iter().any(|v| v == name) {
            Ok(())
        } else {
            Err((offset, format!("undefined variable {name:?}")))
        }
    }
}
