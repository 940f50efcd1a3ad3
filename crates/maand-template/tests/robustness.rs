//! Malformed input must end in an error, never a panic (spec 00, "Clear
//! errors"): every corpus case is mutated (bytes deleted, duplicated or
//! replaced by template punctuation) and checked and rendered.

use std::fs;
use std::path::Path;

use maand_template::{check, render, Context, Dialect, KvSource};

struct EmptyKv;

impl KvSource for EmptyKv {
    fn get(&self, _: &str, _: &str) -> Result<Option<String>, String> {
        Ok(Some("v".into()))
    }

    fn keys(&self, _: &str) -> Result<Vec<String>, String> {
        Ok(vec!["k".into()])
    }
}

/// A fixed-seed xorshift generator: reproducible without dependencies.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    " -}}",
    "{{- ",
    "/*",
    "*/",
    "\"",
    "`",
    "'",
    "(",
    ")",
    "|",
    "$",
    ".",
    ":=",
    "=",
    ",",
    "end",
    "else",
    "if",
    "range",
    "define \"a\"",
    "template \"a\"",
    "\n",
    "-",
    "9223372036854775808",
    "1e400",
    "0x",
    "é",
    "\\",
    "break",
    "block \"b\" .",
];

fn mutate(src: &str, rng: &mut Rng) -> String {
    let mut s: Vec<char> = src.chars().collect();
    for _ in 0..=rng.below(3) {
        let at = rng.below(s.len() + 1);
        match rng.below(3) {
            0 if at < s.len() => {
                let end = (at + 1 + rng.below(4)).min(s.len());
                s.drain(at..end);
            }
            1 if at < s.len() => {
                let c = s[at];
                s.insert(at, c);
            }
            _ => {
                let piece = PIECES[rng.below(PIECES.len())];
                for (k, c) in piece.chars().enumerate() {
                    s.insert(at + k, c);
                }
            }
        }
    }
    s.into_iter().collect()
}

#[test]
fn mutated_corpus_never_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut names: Vec<_> = fs::read_dir(&dir)
        .expect("tests/cases")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tpl"))
        .collect();
    names.sort();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let ctx = Context {
        job: "api".into(),
        ..Context::default()
    };
    let mut errors = 0;
    let mut total = 0;
    for path in names {
        let src = fs::read_to_string(&path).expect("case source");
        for _ in 0..20 {
            let m = mutate(&src, &mut rng);
            total += 1;
            let checked = check("m.tpl", &m, Dialect::Deploy);
            let rendered = render("m.tpl", &m, Dialect::Deploy, &ctx, &EmptyKv);
            if checked.is_err() || rendered.is_err() {
                errors += 1;
            }
        }
    }
    // Most mutations break the template; all of them returned instead of panicking.
    assert!(errors > total / 4, "{errors} errors in {total} mutations");
}
