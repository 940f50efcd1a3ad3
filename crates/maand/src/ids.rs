//! Derived identifiers shared by build, deploy and the KV store.

use md5::{Digest, Md5};

/// StableUUID (spec 03 §6): MD5 of the name, shaped like a version-3 UUID but without a
/// namespace, so ids of jobs, labels and allocations stay identical to the original's.
pub fn stable_uuid(s: &str) -> String {
    let mut b: [u8; 16] = Md5::digest(s.as_bytes()).into();
    b[6] = (b[6] & 0x0F) | 0x30;
    b[8] = (b[8] & 0x3F) | 0x80;
    uuid::Uuid::from_bytes(b).hyphenated().to_string()
}

/// Lower-case hex MD5, the content hash used for files, trees and certificate blocks.
pub fn md5_hex(data: &[u8]) -> String {
    format!("{:x}", Md5::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vectors() {
        assert_eq!(stable_uuid("api"), "8a5da52e-d126-347d-b59e-70c05721a8aa");
        assert_eq!(
            stable_uuid("worker"),
            "b61822e8-357d-3aff-b7ea-accf348d9134"
        );
        assert_eq!(
            stable_uuid("api|10.0.0.1"),
            "67b5a127-3e36-3801-90b6-1bf413398655"
        );
        assert_eq!(
            stable_uuid("database|10.0.0.2"),
            "3ff99279-8885-3fa4-a68b-b2a10a513cc5"
        );
    }
}
