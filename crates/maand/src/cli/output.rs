//! Result printing: human tables (stdout) or pretty JSON (`--output json`).

use comfy_table::{presets, ContentArrangement, Table};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Output {
    #[default]
    Table,
    Json,
}

/// Writes to stdout. A closed pipe (`maand cat kv | head`) ends the process quietly with
/// status 0, as other command-line tools do, instead of a panic.
pub fn print(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing output: {e}");
        std::process::exit(1);
    }
}

/// Prints rows as a table with `headers`, one `Vec<String>` per row.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut t = Table::new();
    t.load_preset(presets::ASCII_MARKDOWN)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.to_vec());
    for r in rows {
        t.add_row(r);
    }
    print(&format!("{t}\n"));
}

/// Prints one JSON document, two-space indented, newline-terminated.
pub fn json<T: Serialize + ?Sized>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => print(&format!("{s}\n")),
        Err(e) => eprintln!("error: {e}"),
    }
}
