//! The bucket CA (spec 10 §1): `secrets/ca.crt` + `secrets/ca.key`.
//!
//! `maand init` generates it once ([`init_files`]); every build that has certificate work
//! loads it ([`Ca::load`]) and fails with a readable error when a file is unreadable, not
//! PEM, or the key does not belong to the certificate.

use super::{key_bits, random_serial, to_time, DAY};
use crate::error::{Error, Kind, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData, SerialNumber, PKCS_RSA_SHA256,
};
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::RsaPrivateKey;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// CA lifetime: 10 × 365 days.
pub const CA_DAYS: i64 = 3650;
pub const CRT_FILE: &str = "ca.crt";
pub const KEY_FILE: &str = "ca.key";

/// A loaded CA, ready to sign leaves.
pub struct Ca {
    /// `secrets/ca.crt` as read.
    pub cert_pem: String,
    /// Unix seconds of the CA's `NotAfter`.
    pub not_after: i64,
    pub(super) issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// A freshly generated CA pair: PEM certificate and PKCS#1 PEM key.
pub struct Generated {
    pub cert_pem: String,
    pub key_pem: String,
}

fn ca_error(file: &str, problem: impl std::fmt::Display) -> Error {
    Error::bare(Kind::Input, format!("bucket CA: secrets/{file}: {problem}"))
}

/// A ring signing key for an RSA private key.
pub(super) fn signing_key(key: &RsaPrivateKey) -> std::result::Result<KeyPair, String> {
    let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
    KeyPair::from_pkcs8_der_and_sign_algo(&der.as_bytes().into(), &PKCS_RSA_SHA256)
        .map_err(|e| e.to_string())
}

/// Generates a self-signed CA with `CN=<bucket_id>` valid from `now` for 3650 days.
pub fn generate(bucket_id: &str, bits: usize, now: i64) -> Result<Generated> {
    let fail = |e: String| Error::bare(Kind::Io, format!("bucket CA: generation failed: {e}"));
    let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, bits).map_err(|e| fail(e.to_string()))?;
    let signer = signing_key(&key).map_err(fail)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, bucket_id);
    params.distinguished_name = dn;
    params.not_before = to_time(now);
    params.not_after = to_time(now + CA_DAYS * DAY);
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let cert = params
        .self_signed(&signer)
        .map_err(|e| fail(e.to_string()))?;
    let key_pem = key
        .to_pkcs1_pem(LineEnding::LF)
        .map_err(|e| fail(e.to_string()))?;
    Ok(Generated {
        cert_pem: cert.pem(),
        key_pem: key_pem.to_string(),
    })
}

/// `maand init`'s CA hook: creates `ca.crt` (0644) and `ca.key` (0600) in `secrets` when
/// both are absent; leaves a complete pair untouched and refuses a half pair.
pub fn init_files(secrets: &Path, bucket_id: &str) -> Result<()> {
    init_files_with(secrets, bucket_id, key_bits())
}

fn init_files_with(secrets: &Path, bucket_id: &str, bits: usize) -> Result<()> {
    let (crt, key) = (secrets.join(CRT_FILE), secrets.join(KEY_FILE));
    match (crt.exists(), key.exists()) {
        (true, true) => return Ok(()),
        (false, false) => {}
        _ => {
            return Err(Error::bare(
                Kind::Input,
                "bucket CA is incomplete: secrets must contain both ca.crt and ca.key",
            ))
        }
    }
    let g = generate(bucket_id, bits, chrono::Utc::now().timestamp())?;
    // Key first: a crash in between leaves a half pair that init reports, never a
    // certificate whose key is lost.
    write_new(&key, &g.key_pem, 0o600)?;
    write_new(&crt, &g.cert_pem, 0o644)?;
    Ok(())
}

fn write_new(path: &Path, content: &str, mode: u32) -> Result<()> {
    use fs_err::os::unix::fs::OpenOptionsExt;
    use std::io::Write;
    let mut f = fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.write_all(content.as_bytes())?;
    // The umask may have narrowed the mode; the spec fixes it.
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// Parses an RSA private key in PKCS#1 (`RSA PRIVATE KEY`) or PKCS#8 (`PRIVATE KEY`) PEM.
pub fn parse_private_key(pem: &str) -> std::result::Result<RsaPrivateKey, String> {
    let label = pem
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .ok_or_else(|| "not a PEM private key".to_string())?;
    match label {
        "RSA PRIVATE KEY" => RsaPrivateKey::from_pkcs1_pem(pem.trim()).map_err(|e| e.to_string()),
        "PRIVATE KEY" => RsaPrivateKey::from_pkcs8_pem(pem.trim()).map_err(|e| e.to_string()),
        other => Err(format!(
            "unsupported PEM block \"{other}\" (want RSA PRIVATE KEY or PRIVATE KEY)"
        )),
    }
}

impl Ca {
    /// Loads `secrets/ca.crt` and `secrets/ca.key` (spec 10 §1).
    pub fn load(secrets: &Path) -> Result<Ca> {
        // std::fs on purpose: the message names the file itself.
        let read = |file: &str| {
            std::fs::read_to_string(secrets.join(file)).map_err(|e| {
                let why = if e.kind() == std::io::ErrorKind::NotFound {
                    "missing; run maand init (or restore the CA files)".to_string()
                } else {
                    e.to_string()
                };
                Error::bare(Kind::Io, format!("bucket CA: secrets/{file}: {why}"))
            })
        };
        let (cert_pem, key_pem) = (read(CRT_FILE)?, read(KEY_FILE)?);
        Ca::from_pem(&cert_pem, &key_pem)
    }

    /// Builds a CA from its PEMs; errors name the file at fault.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem.trim().as_bytes())
            .map_err(|_| ca_error(CRT_FILE, "not a PEM certificate"))?;
        if pem.label != "CERTIFICATE" {
            return Err(ca_error(
                CRT_FILE,
                format!("expected a CERTIFICATE PEM block, found \"{}\"", pem.label),
            ));
        }
        let x509 = pem
            .parse_x509()
            .map_err(|e| ca_error(CRT_FILE, format!("invalid certificate: {e}")))?;
        let not_after = x509.validity().not_after.timestamp();
        let cert_public = x509.public_key().subject_public_key.data.to_vec();
        let key = parse_private_key(key_pem).map_err(|e| ca_error(KEY_FILE, e))?;
        let signer = signing_key(&key).map_err(|e| ca_error(KEY_FILE, e))?;
        if signer.der_bytes() != cert_public.as_slice() {
            return Err(Error::bare(
                Kind::Input,
                "bucket CA: secrets/ca.key does not match the public key of secrets/ca.crt",
            ));
        }
        let issuer = Issuer::from_ca_cert_der(&pem.contents.clone().into(), signer)
            .map_err(|e| ca_error(CRT_FILE, e))?;
        Ok(Ca {
            cert_pem: cert_pem.to_string(),
            not_after,
            issuer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::extensions::ParsedExtension;

    #[test]
    fn generated_ca_profile() {
        let now = 1_700_000_000;
        let g = generate("bucket-1", 2048, now).unwrap();
        assert!(g.key_pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let (_, pem) = x509_parser::pem::parse_x509_pem(g.cert_pem.as_bytes()).unwrap();
        assert_eq!(pem.label, "CERTIFICATE");
        let c = pem.parse_x509().unwrap();
        assert_eq!(c.subject().to_string(), "CN=bucket-1");
        assert_eq!(c.issuer().to_string(), "CN=bucket-1");
        assert_eq!(c.validity().not_before.timestamp(), now);
        assert_eq!(c.validity().not_after.timestamp(), now + 3650 * DAY);
        let serial = c.serial.to_bytes_be();
        assert!(serial.len() <= 16 && serial.iter().any(|&b| b != 0));
        assert_eq!(
            c.signature_algorithm.algorithm,
            x509_parser::oid_registry::OID_PKCS1_SHA256WITHRSA
        );
        let bc = c.basic_constraints().unwrap().unwrap();
        assert!(bc.critical && bc.value.ca && bc.value.path_len_constraint.is_none());
        let ku = c.key_usage().unwrap().unwrap().value;
        assert!(ku.key_cert_sign() && ku.digital_signature() && ku.key_encipherment());
        assert!(!ku.crl_sign());
        assert!(c.extensions().iter().any(|e| matches!(
            e.parsed_extension(),
            ParsedExtension::SubjectKeyIdentifier(_)
        )));
        let ca = Ca::from_pem(&g.cert_pem, &g.key_pem).unwrap();
        assert_eq!(ca.not_after, now + 3650 * DAY);
    }

    #[test]
    fn load_errors_name_the_file() {
        let a = generate("a", 2048, 0).unwrap();
        let b = generate("b", 2048, 0).unwrap();
        let err = |c: &str, k: &str| Ca::from_pem(c, k).unwrap_err().to_string();
        assert_eq!(
            err(&a.cert_pem, &b.key_pem),
            "bucket CA: secrets/ca.key does not match the public key of secrets/ca.crt"
        );
        assert_eq!(
            err("junk", &a.key_pem),
            "bucket CA: secrets/ca.crt: not a PEM certificate"
        );
        assert!(err(&a.cert_pem, "junk").starts_with("bucket CA: secrets/ca.key: "));
        // PKCS#8 keys are accepted too.
        let key = parse_private_key(&a.key_pem).unwrap();
        let p8 = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        Ca::from_pem(&a.cert_pem, &p8).unwrap();
    }

    #[test]
    fn init_files_modes_and_both_or_neither() {
        let dir = tempfile::tempdir().unwrap();
        init_files_with(dir.path(), "bid", 2048).unwrap();
        let mode = |f: &str| {
            fs_err::metadata(dir.path().join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(KEY_FILE), 0o600);
        assert_eq!(mode(CRT_FILE), 0o644);
        let before = fs_err::read(dir.path().join(CRT_FILE)).unwrap();
        init_files_with(dir.path(), "bid", 2048).unwrap();
        assert_eq!(before, fs_err::read(dir.path().join(CRT_FILE)).unwrap());
        fs_err::remove_file(dir.path().join(KEY_FILE)).unwrap();
        assert_eq!(
            init_files_with(dir.path(), "bid", 2048)
                .unwrap_err()
                .to_string(),
            "bucket CA is incomplete: secrets must contain both ca.crt and ca.key"
        );
        Ca::load(dir.path()).unwrap_err();
    }
}
