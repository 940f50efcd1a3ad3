//! `logs show --format human`: command blocks and events (spec 09 §8.6).

use std::collections::HashMap;
use std::io::{self, Write};

use crate::echo::target;
use crate::parse::Parsed;
use crate::record::Record;
use crate::show::{Entry, Filter};

/// (`run`, `worker`, `job`, `phase`, `action`): lines of one command share it, so
/// concurrent commands on different workers or jobs never mix.
type Key = [Option<String>; 5];

fn key(r: &Record) -> Key {
    ["run", "worker", "job", "phase", "action"].map(|k| r.get(k).map(str::to_string))
}

/// A command's lines, by index into the merged entries.
#[derive(Debug, Default)]
struct Block {
    /// The line the header, target and filters come from: the begin line, or the first
    /// line seen when the begin line is missing (older or truncated files).
    first: usize,
    begin: Option<usize>,
    lines: Vec<usize>,
    end: Option<usize>,
}

#[derive(Debug)]
enum Item {
    Block(Block),
    /// A structured line that is not part of a command.
    Event(usize),
    /// Consecutive legacy or unparsable lines.
    Loose(Vec<usize>),
}

impl Item {
    fn is_block(&self) -> bool {
        matches!(self, Item::Block(_))
    }
}

/// Groups the merged `entries`, applies `filter` and `tail`, and prints.
pub(crate) fn render(
    entries: &[Entry],
    filter: &Filter,
    tail: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let items = group(entries);
    let kept: Vec<&Item> = items
        .iter()
        .filter(|item| match item {
            Item::Block(b) => entries[b.first].record().is_some_and(|r| filter.matches(r)),
            Item::Event(i) => filter.matches_entry(&entries[*i]),
            Item::Loose(_) => filter.is_empty(),
        })
        .collect();
    let kept = apply_tail(kept, tail);
    for item in kept {
        match item {
            Item::Block(b) => write_block(entries, b, out)?,
            Item::Event(i) => write_event(&entries[*i], out)?,
            Item::Loose(lines) => write_loose(entries, lines, out)?,
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Builds items in the order of their first line, which is time order because the
/// entries are already merged by timestamp.
fn group(entries: &[Entry]) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::new();
    let mut open: HashMap<Key, usize> = HashMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(r) = entry.record() else {
            if let Some(Item::Loose(lines)) = items.last_mut() {
                lines.push(i);
            } else {
                items.push(Item::Loose(vec![i]));
            }
            continue;
        };
        let k = key(r);
        match (r.get("event"), r.get("stream")) {
            (Some("command_begin"), _) => {
                // A second begin for the same key leaves the old block without footer.
                open.insert(k, items.len());
                items.push(Item::Block(Block {
                    first: i,
                    begin: Some(i),
                    ..Block::default()
                }));
            }
            (Some("command_end"), _) => match open.remove(&k).and_then(|b| items.get_mut(b)) {
                Some(Item::Block(b)) => b.end = Some(i),
                _ => items.push(Item::Block(Block {
                    first: i,
                    end: Some(i),
                    ..Block::default()
                })),
            },
            (None, Some(_)) => match open.get(&k).and_then(|b| items.get_mut(*b)) {
                Some(Item::Block(b)) => b.lines.push(i),
                _ => {
                    open.insert(k, items.len());
                    items.push(Item::Block(Block {
                        first: i,
                        lines: vec![i],
                        ..Block::default()
                    }));
                }
            },
            _ => items.push(Item::Event(i)),
        }
    }
    items
}

/// Keeps the last `tail` blocks and, separately, the last `tail` events.
fn apply_tail(items: Vec<&Item>, tail: usize) -> Vec<&Item> {
    if tail == 0 {
        return items;
    }
    let blocks = items.iter().filter(|i| i.is_block()).count();
    let events = items.len() - blocks;
    let (mut skip_blocks, mut skip_events) =
        (blocks.saturating_sub(tail), events.saturating_sub(tail));
    items
        .into_iter()
        .filter(|item| {
            let skip = if item.is_block() {
                &mut skip_blocks
            } else {
                &mut skip_events
            };
            if *skip > 0 {
                *skip -= 1;
                false
            } else {
                true
            }
        })
        .collect()
}

/// `2026-06-02 22:07:01  deploy  seq=17  run=8f3a2c12`, absent parts skipped.
fn header(r: &Record) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(ts) = r.get("ts") {
        parts.push(human_time(ts));
    }
    if let Some(maand) = r.get("maand") {
        parts.push(maand.to_string());
    }
    if let Some(seq) = r.get("seq") {
        parts.push(format!("seq={seq}"));
    }
    if let Some(run) = r.get("run") {
        parts.push(format!("run={}", run.chars().take(8).collect::<String>()));
    }
    parts.join("  ")
}

/// `2026-06-02T22:07:01.123Z` → `2026-06-02 22:07:01`; other shapes are shown as stored.
fn human_time(ts: &str) -> String {
    match (ts.get(..10), ts.get(10..11), ts.get(11..19)) {
        (Some(date), Some("T"), Some(time)) => format!("{date} {time}"),
        _ => ts.to_string(),
    }
}

fn record_target(r: &Record) -> Option<String> {
    target(r.get("job"), r.get("worker"))
}

fn write_header(r: &Record, out: &mut dyn Write) -> io::Result<()> {
    let h = header(r);
    if h.is_empty() {
        Ok(())
    } else {
        writeln!(out, "{h}")
    }
}

fn write_block(entries: &[Entry], b: &Block, out: &mut dyn Write) -> io::Result<()> {
    let Some(first) = entries[b.first].record() else {
        return Ok(());
    };
    write_header(first, out)?;
    let tgt = record_target(first);
    let sub: Vec<&str> = [first.get("phase"), first.get("action"), tgt.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !sub.is_empty() {
        writeln!(out, "  {}", sub.join("  "))?;
    }
    if let Some(cmd) = b
        .begin
        .and_then(|i| entries[i].record())
        .and_then(|r| r.get("cmd"))
    {
        writeln!(out, "  $ {cmd}")?;
    }
    for r in b.lines.iter().filter_map(|i| entries[*i].record()) {
        let marker = if r.get("stream") == Some("stderr") {
            '!'
        } else {
            '|'
        };
        let msg = r.get("msg").unwrap_or("");
        match &tgt {
            Some(t) => writeln!(out, "  {t} {marker} {msg}")?,
            None => writeln!(out, "  {marker} {msg}")?,
        }
    }
    if let Some(end) = b.end.and_then(|i| entries[i].record()) {
        writeln!(out, "  {}", footer(end))?;
    }
    Ok(())
}

/// `ok  exit=0  1.3s` / `FAIL  exit=2  250ms`.
fn footer(end: &Record) -> String {
    let exit = end.get("exit");
    let mut parts = vec![if exit == Some("0") { "ok" } else { "FAIL" }.to_string()];
    if let Some(exit) = exit {
        parts.push(format!("exit={exit}"));
    }
    if let Some(ms) = end.get("duration_ms").and_then(|d| d.parse::<u64>().ok()) {
        parts.push(format_duration_ms(ms));
    }
    parts.join("  ")
}

/// `<n>ms` below one second, otherwise seconds with one decimal (`1.3s`).
pub fn format_duration_ms(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let tenths = (ms + 50) / 100;
    format!("{}.{}s", tenths / 10, tenths % 10)
}

fn write_event(entry: &Entry, out: &mut dyn Write) -> io::Result<()> {
    let Some(r) = entry.record() else {
        return Ok(());
    };
    write_header(r, out)?;
    let event = r.get("event");
    let detail = match event {
        Some(e @ ("deploy_skip" | "reconcile_skip_stop")) => {
            let mut parts = vec![e.to_string()];
            for k in ["job", "reason", "worker"] {
                if let Some(v) = r.get(k) {
                    parts.push(format!("{k}={v}"));
                }
            }
            parts.join("  ")
        }
        _ => r
            .get("msg")
            .or(event)
            .map(str::to_string)
            .unwrap_or_else(|| entry.raw.clone()),
    };
    writeln!(out, "  {detail}")
}

fn write_loose(entries: &[Entry], lines: &[usize], out: &mut dyn Write) -> io::Result<()> {
    for e in lines.iter().map(|i| &entries[*i]) {
        match &e.parsed {
            Parsed::Legacy { stream, msg } => writeln!(out, "  {} {msg}", stream.marker())?,
            _ => writeln!(out, "  {}", e.raw)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(format_duration_ms(0), "0ms");
        assert_eq!(format_duration_ms(999), "999ms");
        assert_eq!(format_duration_ms(1000), "1.0s");
        assert_eq!(format_duration_ms(1300), "1.3s");
        assert_eq!(format_duration_ms(1349), "1.3s");
        assert_eq!(format_duration_ms(1350), "1.4s");
        assert_eq!(format_duration_ms(61_000), "61.0s");
    }

    #[test]
    fn header_skips_absent_parts() {
        let r = Record::new()
            .with("ts", "2026-06-02T22:07:01.123Z")
            .with("maand", "deploy")
            .with("seq", "17")
            .with("run", "8f3a2c12-aaaa-bbbb");
        assert_eq!(
            header(&r),
            "2026-06-02 22:07:01  deploy  seq=17  run=8f3a2c12"
        );
        let r = Record::new().with("ts", "yesterday").with("run", "abc");
        assert_eq!(header(&r), "yesterday  run=abc");
    }
}
