//! The versioned, partly encrypted KV store (spec 04) over the catalog.

pub mod crypto;
pub mod policy;
mod store;

pub use store::{KvStore, PersistStats};
