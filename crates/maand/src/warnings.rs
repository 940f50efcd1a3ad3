//! Non-fatal findings collected while reading input; printed once, one line each.

/// Warnings in the order they were found.
#[derive(Debug, Default, Clone)]
pub struct Warnings(Vec<String>);

impl Warnings {
    pub fn push(&mut self, msg: impl Into<String>) {
        self.0.push(msg.into());
    }

    pub fn iter(&self) -> impl Iterator<Item = &String> {
        self.0.iter()
    }

    pub fn extend(&mut self, other: Warnings) {
        self.0.extend(other.0);
    }

    /// Prints every warning on stderr as `warning: …`.
    pub fn emit(&self) {
        for w in &self.0 {
            eprintln!("warning: {w}");
        }
    }
}
