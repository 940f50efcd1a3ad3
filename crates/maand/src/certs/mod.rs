//! TLS certificates (spec 10): the bucket CA made by `maand init`, leaf certificates issued
//! and renewed by `maand build` into KV, and what `maand cat certs` reads back.
//!
//! * [`ca`]: generating (`init`) and loading (`build`) `secrets/ca.crt` + `secrets/ca.key`.
//! * [`leaf`]: the leaf profile (§3) and parsing stored certificates.
//! * [`renew`]: the build step (§5): reissue decisions, parallel issuance, cert sync.
//!
//! Keys are RSA (§9): 4096 bits, or 2048 under `MAAND_TEST=1` to keep suites fast. The
//! key is generated with the `rsa` crate; certificates are assembled and signed
//! (sha256WithRSAEncryption) with `rcgen` over `ring`; stored certificates are read with
//! `x509-parser`. Nothing here shells out or touches the disk except the CA files.

pub mod ca;
pub mod leaf;
pub mod listing;
pub mod metrics;
pub mod renew;

pub use ca::Ca;
pub use leaf::{CertInfo, LeafSpec, Pem};
pub use renew::{build_step, BuildInput};

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Environment variable that switches to test-sized keys (spec 10 §9).
pub const TEST_ENV: &str = "MAAND_TEST";

/// RSA modulus size for new keys: 4096, or 2048 when `MAAND_TEST=1`.
pub fn key_bits() -> usize {
    if std::env::var(TEST_ENV).is_ok_and(|v| v == "1") {
        2048
    } else {
        4096
    }
}

/// Spec 10 §4: a certificate needs renewal at `now` when it has expired or, with a
/// positive buffer, when `now` is inside the renewal window before `not_after`.
pub fn needs_renewal(not_after: i64, now: i64, buffer_days: i64) -> bool {
    now >= not_after || (buffer_days > 0 && now >= not_after - buffer_days * DAY)
}

/// Status shown by `cat certs` (spec 10 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Expiring,
    Expired,
    Invalid,
}

impl Status {
    pub fn of(not_after: i64, now: i64, buffer_days: i64) -> Status {
        if now >= not_after {
            Status::Expired
        } else if needs_renewal(not_after, now, buffer_days) {
            Status::Expiring
        } else {
            Status::Ok
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Expiring => "expiring",
            Status::Expired => "expired",
            Status::Invalid => "invalid",
        }
    }
}

/// ⌊(not_after − now) / 1 day⌋, negative once expired (spec 10 §7).
pub fn days_left(not_after: i64, now: i64) -> i64 {
    (not_after - now).div_euclid(DAY)
}

/// A random positive serial below 2¹²⁸ (never zero), big-endian.
fn random_serial() -> Vec<u8> {
    use rand::RngCore;
    let mut b = [0u8; 16];
    loop {
        rand::rngs::OsRng.fill_bytes(&mut b);
        if b.iter().any(|&x| x != 0) {
            return b.to_vec();
        }
    }
}

/// Unix seconds → the `time` type rcgen uses.
fn to_time(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_window() {
        let na = 100 * DAY;
        assert!(!needs_renewal(na, na - 1, 0));
        assert!(needs_renewal(na, na, 0));
        assert!(!needs_renewal(na, na - 10 * DAY - 1, 10));
        assert!(needs_renewal(na, na - 10 * DAY, 10));
        assert_eq!(Status::of(na, na - 11 * DAY, 10), Status::Ok);
        assert_eq!(Status::of(na, na - 5 * DAY, 10), Status::Expiring);
        assert_eq!(Status::of(na, na, 10), Status::Expired);
        assert_eq!(Status::of(na, na - 1, 0), Status::Ok);
    }

    #[test]
    fn days_left_floors() {
        assert_eq!(days_left(10 * DAY, 0), 10);
        assert_eq!(days_left(10 * DAY - 1, 0), 9);
        assert_eq!(days_left(0, 1), -1);
        assert_eq!(days_left(0, DAY), -1);
        assert_eq!(days_left(0, DAY + 1), -2);
        assert_eq!(days_left(0, 0), 0);
    }

    #[test]
    fn serials_are_positive_and_below_2_128() {
        for _ in 0..32 {
            let s = random_serial();
            assert_eq!(s.len(), 16);
            assert!(s.iter().any(|&x| x != 0));
        }
    }
}
