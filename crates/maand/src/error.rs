//! The one error type users see.
//!
//! The spec (03-build §18) defines a single table of error identifiers shared by every
//! command, so errors carry a typed [`Kind`] (tests match on it) plus a detail naming the
//! file, job, field, key or host. Display is always `<short text>: <detail>`.

use std::fmt;

/// Error identifiers of the spec; `short()` is the fixed text users see first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    NotInitialized,
    SchemaUpgradeRequired,
    SchemaTooNew,
    Locked,
    InvalidMaandConf,
    InvalidBucketConf,
    InvalidPortRange,
    InvalidWorkerJson,
    InvalidDisabledJson,
    InvalidManifest,
    InvalidJob,
    InvalidJobVars,
    PortKeyFormat,
    InvalidManifestPort,
    PortCollision,
    PortRangeExhausted,
    InvalidJobCommandConfiguration,
    JobCommandFileNotFound,
    InvalidJobCommandDemand,
    InvalidJobVersion,
    JobCommandDemandVersionMismatch,
    CircularJobCommandDependency,
    InsufficientAllocations,
    UnsupportedResourceConfiguration,
    InsufficientResource,
    Template,
    Kv,
    Database,
    Io,
    /// Bad command-line input (unknown `--jobs` name, conflicting flags).
    Input,
    /// Something the operator asked for does not exist (`key not found`, no rows).
    NotFound,
}

impl Kind {
    pub fn short(self) -> &'static str {
        match self {
            Kind::NotInitialized => "maand is not initialized",
            Kind::SchemaUpgradeRequired => "database schema upgrade required",
            Kind::SchemaTooNew => "database schema is newer than this maand binary",
            Kind::Locked => "bucket is locked",
            Kind::InvalidMaandConf => "invalid maand.conf",
            Kind::InvalidBucketConf => "invalid bucket.conf",
            Kind::InvalidPortRange => "invalid port range in bucket.conf",
            Kind::InvalidWorkerJson => "invalid workers.json",
            Kind::InvalidDisabledJson => "invalid disabled.json",
            Kind::InvalidManifest => "invalid manifest.json",
            Kind::InvalidJob => "invalid job",
            Kind::InvalidJobVars => "invalid vars.toml",
            Kind::PortKeyFormat => "invalid port key format",
            Kind::InvalidManifestPort => "invalid manifest port declaration",
            Kind::PortCollision => "port collision",
            Kind::PortRangeExhausted => "port range exhausted",
            Kind::InvalidJobCommandConfiguration => "invalid job command configuration",
            Kind::JobCommandFileNotFound => "job command file not found",
            Kind::InvalidJobCommandDemand => "invalid job command demand",
            Kind::InvalidJobVersion => "invalid job version",
            Kind::JobCommandDemandVersionMismatch => "job command demand version mismatch",
            Kind::CircularJobCommandDependency => "circular job command dependency",
            Kind::InsufficientAllocations => "missing allocations",
            Kind::UnsupportedResourceConfiguration => "unsupported resource configuration",
            Kind::InsufficientResource => "insufficient resource",
            Kind::Template => "template error",
            Kind::Kv => "kv error",
            Kind::Database => "database error",
            Kind::Io => "i/o error",
            Kind::Input => "invalid input",
            Kind::NotFound => "not found",
        }
    }
}

/// An error with its kind and operator-facing detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: Kind,
    pub detail: String,
    /// When set, Display prints the detail alone (messages whose exact wording the spec
    /// fixes without the `<short>: ` prefix, such as `key not found: …`).
    bare: bool,
}

impl Error {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Error {
        Error {
            kind,
            detail: detail.into(),
            bare: false,
        }
    }

    /// An error shown exactly as written.
    pub fn bare(kind: Kind, message: impl Into<String>) -> Error {
        Error {
            kind,
            detail: message.into(),
            bare: true,
        }
    }

    /// Exit status: 1 for every failure (spec 09 §1).
    pub fn exit_code(&self) -> i32 {
        1
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bare || self.detail.is_empty() {
            if self.detail.is_empty() {
                return f.write_str(self.kind.short());
            }
            return f.write_str(&self.detail);
        }
        write!(f, "{}: {}", self.kind.short(), self.detail)
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::new(Kind::Database, e.to_string())
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        // fs-err already names the path in its message.
        Error::bare(Kind::Io, e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand used by parsers: `err(Kind::InvalidManifest, format!(..))`.
pub fn err<T>(kind: Kind, detail: impl Into<String>) -> Result<T> {
    Err(Error::new(kind, detail))
}
