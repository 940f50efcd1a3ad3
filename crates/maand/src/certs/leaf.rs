//! Leaf certificates (spec 10 §3): issuing one key pair + certificate, and reading the
//! fields build and `cat certs` need back from a stored PEM.

use super::{random_serial, to_time, Ca, DAY};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose,
    PublicKeyData, SanType, SerialNumber, SignatureAlgorithm, PKCS_RSA_SHA256,
};
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::RsaPrivateKey;
use std::net::{IpAddr, Ipv4Addr};

/// Clock-skew margin subtracted from `NotBefore`.
pub const NOT_BEFORE_SKEW: i64 = 5 * 60;

/// What to issue: subject, SAN hosts (besides 127.0.0.1) and key encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafSpec {
    pub common_name: String,
    /// Worker hosts in worker-position order; IPs become IP SANs, names DNS SANs.
    pub hosts: Vec<String>,
    pub pkcs8: bool,
}

/// An issued pair as stored in KV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pem {
    pub crt: String,
    pub key: String,
}

/// An issued pair plus whether `NotAfter` had to be capped at the CA's.
#[derive(Debug)]
pub struct Issued {
    pub pem: Pem,
    pub capped: bool,
}

/// The leaf's public key for rcgen (PKCS#1 `RSAPublicKey`, rsaEncryption).
struct RsaPublic(Vec<u8>);

impl PublicKeyData for RsaPublic {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_RSA_SHA256
    }
}

/// SANs: IP 127.0.0.1 first, then each distinct host (IP or DNS SAN).
pub fn sans(hosts: &[String]) -> Result<Vec<SanType>, String> {
    let mut out = vec![SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
    for h in hosts {
        let san = match h.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(
                h.as_str()
                    .try_into()
                    .map_err(|_| format!("host {h:?} is not a valid DNS name"))?,
            ),
        };
        if !out.contains(&san) {
            out.push(san);
        }
    }
    Ok(out)
}

/// Issues one leaf at `now` (unix seconds) valid for `ttl_days`, capped at the CA's
/// `NotAfter`. Generates a fresh `bits`-bit RSA key.
pub fn issue(
    ca: &Ca,
    spec: &LeafSpec,
    now: i64,
    ttl_days: i64,
    bits: usize,
) -> Result<Issued, String> {
    let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, bits).map_err(|e| e.to_string())?;
    let public = RsaPublic(
        key.to_public_key()
            .to_pkcs1_der()
            .map_err(|e| e.to_string())?
            .into_vec(),
    );
    let wanted = now + ttl_days * DAY;
    let capped = wanted > ca.not_after;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, spec.common_name.as_str());
    params.distinguished_name = dn;
    params.subject_alt_names = sans(&spec.hosts)?;
    params.not_before = to_time(now - NOT_BEFORE_SKEW);
    params.not_after = to_time(wanted.min(ca.not_after));
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    let cert = params
        .signed_by(&public, &ca.issuer)
        .map_err(|e| e.to_string())?;
    let key_pem = if spec.pkcs8 {
        key.to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| e.to_string())?
    } else {
        key.to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| e.to_string())?
    };
    Ok(Issued {
        pem: Pem {
            crt: cert.pem().trim().to_string(),
            key: key_pem.trim().to_string(),
        },
        capped,
    })
}

/// What `cat certs` and the renewal check read from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub common_name: String,
    /// Unix seconds.
    pub not_after: i64,
}

/// Parses a PEM certificate; `None` when it is not one.
pub fn parse(pem: &str) -> Option<CertInfo> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.trim().as_bytes()).ok()?;
    if pem.label != "CERTIFICATE" {
        return None;
    }
    let cert = pem.parse_x509().ok()?;
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string();
    Some(CertInfo {
        common_name,
        not_after: cert.validity().not_after.timestamp(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::certs::ca;
    use std::sync::OnceLock;
    use x509_parser::extensions::{GeneralName, ParsedExtension};

    /// One 2048-bit test CA per test process (key generation dominates test time).
    pub(crate) fn test_ca() -> &'static (ca::Generated, i64) {
        static CA: OnceLock<(ca::Generated, i64)> = OnceLock::new();
        CA.get_or_init(|| {
            let now = chrono::Utc::now().timestamp();
            (ca::generate("test-bucket", 2048, now).unwrap(), now)
        })
    }

    pub(crate) fn load_test_ca() -> Ca {
        let (g, _) = test_ca();
        Ca::from_pem(&g.cert_pem, &g.key_pem).unwrap()
    }

    fn names(crt: &str) -> Vec<String> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(crt.as_bytes()).unwrap();
        let c = pem.parse_x509().unwrap();
        let san = c.subject_alternative_name().unwrap().unwrap().value;
        san.general_names
            .iter()
            .map(|g| match g {
                GeneralName::IPAddress(b) if b.len() == 4 => {
                    format!("IP:{}", Ipv4Addr::new(b[0], b[1], b[2], b[3]))
                }
                GeneralName::DNSName(d) => format!("DNS:{d}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn per_allocation_profile() {
        let ca = load_test_ca();
        let now = chrono::Utc::now().timestamp();
        let spec = LeafSpec {
            common_name: "api.internal".into(),
            hosts: vec!["10.0.0.3".into()],
            pkcs8: false,
        };
        let out = issue(&ca, &spec, now, 60, 2048).unwrap();
        assert!(!out.capped);
        assert!(out.pem.key.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(out.pem.crt.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(names(&out.pem.crt), ["IP:127.0.0.1", "IP:10.0.0.3"]);
        let (_, pem) = x509_parser::pem::parse_x509_pem(out.pem.crt.as_bytes()).unwrap();
        let c = pem.parse_x509().unwrap();
        assert_eq!(c.subject().to_string(), "CN=api.internal");
        assert_eq!(c.issuer().to_string(), "CN=test-bucket");
        assert_eq!(c.validity().not_before.timestamp(), now - 300);
        assert_eq!(c.validity().not_after.timestamp(), now + 60 * DAY);
        let bc = c.basic_constraints().unwrap().unwrap().value;
        assert!(!bc.ca);
        let ku = c.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature() && ku.key_encipherment() && !ku.key_cert_sign());
        let eku = c.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
        // AKI = the CA's SKI.
        let (_, ca_pem) =
            x509_parser::pem::parse_x509_pem(test_ca().0.cert_pem.as_bytes()).unwrap();
        let ca_x = ca_pem.parse_x509().unwrap();
        let ski = ca_x
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
                _ => None,
            })
            .unwrap();
        let aki = c
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    a.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                _ => None,
            })
            .unwrap();
        assert_eq!(aki, ski);
        assert_eq!(
            parse(&out.pem.crt),
            Some(CertInfo {
                common_name: "api.internal".into(),
                not_after: now + 60 * DAY
            })
        );
    }

    #[test]
    fn shared_profile_pkcs8_dns_and_cap() {
        let ca = load_test_ca();
        let now = chrono::Utc::now().timestamp();
        let spec = LeafSpec {
            common_name: "cluster".into(),
            hosts: vec![
                "10.0.0.2".into(),
                "node-b.internal".into(),
                "127.0.0.1".into(),
            ],
            pkcs8: true,
        };
        // 4000 days exceeds the CA's 3650: capped.
        let out = issue(&ca, &spec, now, 4000, 2048).unwrap();
        assert!(out.capped);
        assert!(out.pem.key.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(
            names(&out.pem.crt),
            ["IP:127.0.0.1", "IP:10.0.0.2", "DNS:node-b.internal"]
        );
        assert_eq!(parse(&out.pem.crt).unwrap().not_after, ca.not_after);
    }

    #[test]
    fn parse_rejects_garbage() {
        assert_eq!(parse(""), None);
        assert_eq!(parse("not a cert"), None);
        assert_eq!(parse(&test_ca().0.key_pem), None);
    }
}
