//! A Go-faithful pre-pass over the raw template source.
//!
//! gotmpl's parser builds a good expression tree but is lax about the outer
//! structure (a stray `{{end}}` silently ends the template, an unclosed
//! `{{if}}` is accepted, `{{break}}` outside `range` parses) and its lexer
//! trims Unicode rather than ASCII whitespace and lets `{{- /* c */}}` trim
//! both sides. This scanner follows Go's `text/template/parse` lexer for
//! delimiters, trim markers, comments and quoting, and:
//!
//! * reports the structural errors Go reports at parse time;
//! * records each text run with Go's trimming applied, so the tree's text
//!   nodes can be replaced by the right bytes;
//! * hands gotmpl a same-length copy of the source in which trim dashes are
//!   blanked and comments are replaced by a no-op action, so gotmpl neither
//!   trims nor sees comments, and every byte offset still matches the file.

/// What the scanner learnt about one source file.
pub(crate) struct Scan {
    /// The source for gotmpl: same length, no trim markers, no comments.
    pub(crate) lexed: String,
    /// Text runs as `(start offset, text after Go's trimming)`, in order.
    pub(crate) texts: Vec<(usize, String)>,
    /// Offset of the `{{` of every action, in order.
    pub(crate) actions: Vec<usize>,
    /// Offsets of the `{{` of comments (now no-op actions to drop).
    pub(crate) comments: Vec<usize>,
    /// Number literals by offset, read as Go reads them; gotmpl sees `0`.
    pub(crate) numbers: Vec<(usize, Number)>,
}

use gotmpl::parse::Number;

use crate::number::{parse_number, scan_number};

/// A structural error at the action starting at `offset`.
#[derive(Debug)]
pub(crate) struct ScanError {
    pub(crate) offset: usize,
    pub(crate) detail: String,
}

/// Go's `spaceChars`: the only characters trim markers remove.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

#[derive(Clone, Copy, PartialEq)]
enum Clause {
    If,
    With,
    Range,
    Define,
    Block,
}

struct Frame {
    kind: Clause,
    offset: usize,
    seen_else: bool,
}

/// First tokens of an action, enough to recognise keywords.
#[derive(PartialEq)]
enum Tok<'a> {
    Ident(&'a str),
    Other,
}

pub(crate) fn scan(src: &str) -> Result<Scan, ScanError> {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut texts = Vec::new();
    let mut actions = Vec::new();
    let mut comments = Vec::new();
    let mut numbers = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut trim_next = false;
    let mut i = 0;
    loop {
        let next = src[i..].find("{{").map(|p| p + i);
        let left_trim = next.is_some_and(|j| {
            b.get(j + 2) == Some(&b'-') && b.get(j + 3).is_some_and(|c| is_space(*c))
        });
        let mut text = &src[i..next.unwrap_or(src.len())];
        if trim_next {
            text = text.trim_start_matches([' ', '\t', '\r', '\n']);
        }
        if left_trim {
            text = text.trim_end_matches([' ', '\t', '\r', '\n']);
        }
        texts.push((i, text.to_string()));
        let Some(j) = next else { break };
        actions.push(j);
        let mut k = j + 2;
        if left_trim {
            // Blank the dash for gotmpl; Go's marker includes the space after it.
            out[j + 2] = b' ';
            k = j + 4;
        }
        if src[k..].starts_with("/*") {
            let Some(close) = src[k + 2..].find("*/") else {
                return Err(err(j, "unclosed comment"));
            };
            let e = k + 2 + close + 2;
            let end = if right_trim_at(b, e) {
                trim_next = true;
                e + 4
            } else if src[e..].starts_with("}}") {
                trim_next = false;
                e + 2
            } else {
                return Err(err(j, "comment ends before closing delimiter"));
            };
            // `{{""   }}` prints nothing and keeps every offset (and line) in place.
            for byte in &mut out[j..end] {
                if *byte != b'\n' {
                    *byte = b' ';
                }
            }
            out[j..j + 4].copy_from_slice(b"{{\"\"");
            out[end - 2..end].copy_from_slice(b"}}");
            comments.push(j);
            i = end;
            continue;
        }
        // Number literals become a same-length `0` for gotmpl (see number.rs).
        let first_number = numbers.len();
        let (toks, end, right_trim) = lex_action(src, j, k, &mut numbers)?;
        for (at, len, _) in &numbers[first_number..] {
            out[*at..*at + *len].fill(b' ');
            out[*at] = b'0';
        }
        if toks.is_empty() {
            return Err(err(j, "missing value for command"));
        }
        if right_trim {
            out[end - 3] = b' ';
        }
        trim_next = right_trim;
        structure(&mut stack, &toks, j)?;
        i = end;
    }
    if let Some(open) = stack.last() {
        return Err(err(open.offset, "unexpected EOF"));
    }
    // Only whole ASCII runs or whole comments were overwritten with ASCII.
    let lexed = String::from_utf8(out).map_err(|_| err(0, "invalid UTF-8 after scanning"))?;
    Ok(Scan {
        lexed,
        texts,
        actions,
        comments,
        numbers: numbers.into_iter().map(|(at, _, n)| (at, n)).collect(),
    })
}

fn err(offset: usize, detail: &str) -> ScanError {
    ScanError {
        offset,
        detail: detail.to_string(),
    }
}

/// ` -}}` (one space character, a dash, the delimiter) at `p`.
fn right_trim_at(b: &[u8], p: usize) -> bool {
    b.get(p).is_some_and(|c| is_space(*c))
        && b.get(p + 1) == Some(&b'-')
        && b.get(p + 2..p + 4) == Some(b"}}")
}

/// Lexes one action body from `p` up to its closing delimiter, as Go's
/// `lexInsideAction` does. Returns the significant tokens, the offset after
/// `}}` and whether the close carried a trim marker.
fn lex_action<'s>(
    src: &'s str,
    start: usize,
    mut p: usize,
    numbers: &mut Vec<(usize, usize, Number)>,
) -> Result<(Vec<Tok<'s>>, usize, bool), ScanError> {
    let b = src.as_bytes();
    let mut toks = Vec::new();
    let mut depth = 0usize;
    loop {
        let trim = right_trim_at(b, p);
        if trim || src[p..].starts_with("}}") {
            if depth > 0 {
                return Err(err(start, "unclosed left paren"));
            }
            return Ok((toks, if trim { p + 4 } else { p + 2 }, trim));
        }
        let Some(c) = src[p..].chars().next() else {
            return Err(err(start, "unclosed action"));
        };
        let q = p + c.len_utf8();
        match c {
            ' ' | '\t' | '\r' | '\n' => p = q,
            '"' | '\'' => {
                p = lex_quote(src, start, q, c)?;
                toks.push(Tok::Other);
            }
            '`' => {
                let Some(close) = src[q..].find('`') else {
                    return Err(err(start, "unterminated raw quoted string"));
                };
                p = q + close + 1;
                toks.push(Tok::Other);
            }
            '(' => {
                depth += 1;
                p = q;
                toks.push(Tok::Other);
            }
            ')' => {
                if depth == 0 {
                    return Err(err(start, "unexpected \")\" in command"));
                }
                depth -= 1;
                p = q;
            }
            ':' => {
                if b.get(q) != Some(&b'=') {
                    return Err(err(start, "expected :="));
                }
                p = q + 1;
                toks.push(Tok::Other);
            }
            '=' | '|' | ',' => {
                p = q;
                toks.push(Tok::Other);
            }
            '.' if src[q..].starts_with(|d: char| d.is_ascii_digit()) => {
                p = lex_number(src, start, p, numbers)?;
                toks.push(Tok::Other);
            }
            '$' | '.' => {
                p = q + word_len(&src[q..], false);
                toks.push(Tok::Other);
            }
            '+' | '-' | '0'..='9' => {
                p = lex_number(src, start, p, numbers)?;
                toks.push(Tok::Other);
            }
            c if c.is_alphanumeric() || c == '_' => {
                let end = p + word_len(&src[p..], false);
                toks.push(Tok::Ident(&src[p..end]));
                p = end;
            }
            c if c.is_ascii_graphic() => {
                return Err(err(start, &format!("unexpected \"{c}\" in command")));
            }
            c => {
                return Err(err(
                    start,
                    &format!("unrecognized character in action: U+{:04X} '{c}'", c as u32),
                ));
            }
        }
    }
}

/// Go's `lexNumber` at `p`: records the literal's value, returns its end.
fn lex_number(
    src: &str,
    start: usize,
    p: usize,
    numbers: &mut Vec<(usize, usize, Number)>,
) -> Result<usize, ScanError> {
    let len = scan_number(&src[p..])
        .map_err(|bad| err(start, &format!("bad number syntax: {:?}", &src[p..p + bad])))?;
    let end = p + len;
    match src[end..].chars().next() {
        // Go reads a sign here as the start of a complex number's imaginary part.
        Some('+' | '-') => {
            let imaginary = scan_number(&src[end..]).unwrap_or_else(|bad| bad);
            return Err(err(
                start,
                &format!("bad number syntax: {:?}", &src[p..end + imaginary]),
            ));
        }
        // `1.2.3`: Go's number ends at the second dot, which it then rejects.
        Some('.') => {
            let rest = 1 + word_len(&src[end + 1..], true);
            return Err(err(
                start,
                &format!("unexpected {:?} in operand", &src[end..end + rest]),
            ));
        }
        _ => {}
    }
    let number = parse_number(&src[p..end]).map_err(|e| err(start, &e))?;
    numbers.push((p, len, number));
    Ok(end)
}

/// The source text of the literal starting at `p`, for Go's
/// "expected integer; found 1.5" style messages.
pub(crate) fn literal_at(src: &str, p: usize) -> &str {
    let Some(rest) = src.get(p..) else {
        return "";
    };
    let len = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => lex_quote(src, p, p + 1, q).map_or(rest.len(), |e| e - p),
        Some('`') => rest[1..].find('`').map_or(rest.len(), |e| e + 2),
        Some('+' | '-') => 1 + word_len(&rest[1..], true),
        _ => word_len(rest, true),
    };
    &rest[..len]
}

/// Length of an identifier/field/variable name, or of a number literal when
/// `number` (which may also hold `.`, `_` and an exponent sign).
fn word_len(s: &str, number: bool) -> usize {
    let mut n = 0;
    let mut prev = ' ';
    for c in s.chars() {
        let ok = c.is_alphanumeric()
            || c == '_'
            || (number
                && (c == '.' || (matches!(c, '+' | '-') && matches!(prev, 'e' | 'E' | 'p' | 'P'))));
        if !ok {
            break;
        }
        n += c.len_utf8();
        prev = c;
    }
    n
}

/// Skips a `"…"` or `'…'` literal whose opening quote ends at `p`, checking
/// what Go's `strconv.Unquote` would reject and gotmpl accepts.
fn lex_quote(src: &str, start: usize, mut p: usize, quote: char) -> Result<usize, ScanError> {
    let what = if quote == '"' {
        "unterminated quoted string"
    } else {
        "unterminated character constant"
    };
    let open = p - 1;
    let mut chars = src[p..].chars();
    let mut count = 0;
    while let Some(c) = chars.next() {
        p += c.len_utf8();
        count += 1;
        match c {
            '\\' => match chars.next() {
                Some('\n') | None => return Err(err(start, what)),
                Some(e) => {
                    if !matches!(
                        e,
                        'a' | 'b'
                            | 'f'
                            | 'n'
                            | 'r'
                            | 't'
                            | 'v'
                            | '\\'
                            | '\''
                            | '"'
                            | 'x'
                            | 'u'
                            | 'U'
                            | '0'..='7'
                    ) {
                        return Err(err(start, "invalid syntax"));
                    }
                    p += e.len_utf8();
                }
            },
            '\n' => return Err(err(start, what)),
            c if c == quote => {
                if quote == '\'' && count != 2 && !src[open..].starts_with("'\\") {
                    return Err(err(
                        start,
                        &format!("malformed character constant: {}", &src[open..p]),
                    ));
                }
                return Ok(p);
            }
            _ => {}
        }
    }
    Err(err(start, what))
}

/// Applies one action to the block stack, with Go's parse-time errors.
fn structure(stack: &mut Vec<Frame>, toks: &[Tok<'_>], offset: usize) -> Result<(), ScanError> {
    let Some(Tok::Ident(word)) = toks.first() else {
        return Ok(());
    };
    let open = |kind| Frame {
        kind,
        offset,
        seen_else: false,
    };
    match *word {
        "if" | "with" | "range" => {
            if toks.len() < 2 {
                return Err(err(offset, &format!("missing value for {word}")));
            }
            stack.push(open(match *word {
                "if" => Clause::If,
                "with" => Clause::With,
                _ => Clause::Range,
            }));
        }
        "else" => {
            let Some(top) = stack.last_mut() else {
                return Err(err(offset, "unexpected {{else}}"));
            };
            match top.kind {
                Clause::Define => return Err(err(offset, "unexpected {{else}} in define clause")),
                Clause::Block => return Err(err(offset, "unexpected {{else}} in block clause")),
                Clause::If | Clause::With | Clause::Range => {}
            }
            if top.seen_else {
                return Err(err(offset, "expected end; found {{else}}"));
            }
            match toks.get(1) {
                None => top.seen_else = true,
                Some(Tok::Ident("if")) if top.kind == Clause::If => {}
                Some(Tok::Ident("with")) if top.kind == Clause::With => {}
                Some(Tok::Ident(w)) => {
                    return Err(err(offset, &format!("unexpected <{w}> in else")))
                }
                Some(Tok::Other) => return Err(err(offset, "unexpected token in else")),
            }
        }
        "end" => {
            stack
                .pop()
                .ok_or_else(|| err(offset, "unexpected {{end}}"))?;
        }
        "define" => {
            if !stack.is_empty() {
                return Err(err(offset, "unexpected <define> in command"));
            }
            stack.push(open(Clause::Define));
        }
        "block" => stack.push(open(Clause::Block)),
        "break" | "continue" => {
            let in_range = stack
                .iter()
                .rev()
                .take_while(|f| !matches!(f.kind, Clause::Define | Clause::Block))
                .any(|f| f.kind == Clause::Range);
            if !in_range {
                return Err(err(
                    offset,
                    &format!("{{{{{word}}}}} outside {{{{range}}}}"),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_trim_markers_and_comments_keeping_offsets() {
        let src = "a \n{{- /* é */ -}}\n b{{- 1 -}} c";
        let s = scan(src).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.lexed.len(), src.len());
        assert_eq!(s.lexed, "a \n{{\"\"          }}\n b{{  0  }} c");
        let texts: Vec<&str> = s.texts.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["a", "b", "c"]);
        assert_eq!(s.comments, [3]);
    }

    #[test]
    fn comment_trim_marker_on_one_side_trims_one_side() {
        let s = scan("a {{- /* c */}} b").unwrap_or_else(|e| panic!("{e:?}"));
        let texts: Vec<&str> = s.texts.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["a", " b"]);
    }

    #[test]
    fn structural_errors() {
        let detail = |src: &str| scan(src).err().map(|e| e.detail).unwrap_or_default();
        assert_eq!(detail("{{ end }}x"), "unexpected {{end}}");
        assert_eq!(detail("x\n{{ if 1 }}"), "unexpected EOF");
        assert_eq!(
            detail("{{ range 1 }}{{ define \"x\" }}{{ end }}{{ end }}"),
            "unexpected <define> in command"
        );
        assert_eq!(
            detail("{{ define \"x\" }}{{ break }}{{ end }}"),
            "{{break}} outside {{range}}"
        );
        assert_eq!(
            detail("{{ if 1 }}{{ else }}{{ else }}{{ end }}"),
            "expected end; found {{else}}"
        );
        assert_eq!(
            detail("{{ range 1 }}{{ else if 1 }}{{ end }}"),
            "unexpected <if> in else"
        );
        assert_eq!(detail("{{ \"a }}"), "unterminated quoted string");
        assert_eq!(detail("{{ (1 }}"), "unclosed left paren");
    }
}
