//! Private key files: Ed25519 keys written as **PKCS#8 v1** (RFC 5208: the seed alone, no
//! public key), the form OpenSSL 3.0, Python's `cryptography` and HSM import tools read.
//! Both v1 and v2 (RFC 5958, with the public key) are read; `tipcerts keys convert`
//! rewrites v2 files written by earlier versions as v1.

use std::path::Path;

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};
use rcgen::KeyPair;

use crate::error::CertsError;
use crate::fsutil::{self, SECRET_MODE};
use tiprelay_common::localize::Msg;

fn bad(path: &Path, why: Msg) -> CertsError {
    CertsError::Invalid(Msg::new("certs-key-file").text("path", path.display()).msg("why", why))
}

/// The PKCS#8 v1 PEM of an Ed25519 key pair (`-----BEGIN PRIVATE KEY-----`).
pub fn pkcs8_v1_pem(key: &KeyPair) -> Result<String, CertsError> {
    v1_pem_from_der(&key.serialize_der())
        .map_err(|why| CertsError::Invalid(Msg::new("certs-key-encode").msg("why", why)))
}

/// Re-encodes an Ed25519 PKCS#8 DER (v1 or v2) as v1 PEM.
fn v1_pem_from_der(der: &[u8]) -> Result<String, Msg> {
    let kp =
        KeypairBytes::from_pkcs8_der(der).map_err(|e| Msg::new("certs-key-not-ed25519-because").text("error", e))?;
    let v1 = KeypairBytes { secret_key: kp.secret_key, public_key: None };
    let pem =
        v1.to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF).map_err(|e| Msg::raw(e.to_string()))?;
    Ok(pem.to_string())
}

/// What `convert` did to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Converted {
    /// It was PKCS#8 v2 and is now v1.
    Rewritten,
    /// It was already v1: left as it was.
    AlreadyV1,
}

/// Rewrites an Ed25519 PKCS#8 key file (PEM, v1 or v2) as v1, atomically and with mode
/// 0600; the key itself does not change. Anything else is refused, and the file is left.
pub fn convert(path: &Path) -> Result<Converted, CertsError> {
    let bytes = fsutil::read(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad(path, Msg::new("certs-key-not-pem")))?;
    let (label, der) = ed25519_dalek::pkcs8::spki::der::pem::decode_vec(text.trim().as_bytes())
        .map_err(|_| bad(path, Msg::new("certs-key-not-pem")))?;
    if label != "PRIVATE KEY" {
        return Err(bad(path, Msg::new("certs-key-wrong-block").text("label", label)));
    }
    let kp = KeypairBytes::from_pkcs8_der(&der).map_err(|_| bad(path, Msg::new("certs-key-not-ed25519")))?;
    if kp.public_key.is_none() {
        return Ok(Converted::AlreadyV1);
    }
    let pem = v1_pem_from_der(&der).map_err(|why| bad(path, why))?;
    fsutil::write_atomic(path, pem.as_bytes(), SECRET_MODE)?;
    Ok(Converted::Rewritten)
}

/// The PEM "PUBLIC KEY" (SubjectPublicKeyInfo, RFC 8410) of a raw Ed25519 public key, as
/// `openssl pkey -pubout` writes it.
pub fn ed25519_public_pem(public: &[u8; 32]) -> String {
    use ed25519_dalek::pkcs8::EncodePublicKey;
    ed25519_dalek::pkcs8::PublicKeyBytes(*public)
        .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap_or_default()
}

/// Reads an Ed25519 public key from a PEM "PUBLIC KEY" file (`tipcerts keys token-public`,
/// `openssl pkey -pubout`).
pub fn read_ed25519_public(path: &Path) -> Result<[u8; 32], CertsError> {
    use ed25519_dalek::pkcs8::DecodePublicKey;
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad(path, Msg::new("certs-public-key-unreadable").error("error", &e)))?;
    let key = ed25519_dalek::pkcs8::PublicKeyBytes::from_public_key_pem(&text)
        .map_err(|e| bad(path, Msg::new("certs-public-key-not-ed25519").text("error", e)))?;
    Ok(key.to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_written_as_v1_and_both_forms_are_read_back_as_the_same_key() {
        let key = crate::profile::random_key().unwrap();
        let pem = pkcs8_v1_pem(&key).unwrap();
        let (_, der) = ed25519_dalek::pkcs8::spki::der::pem::decode_vec(pem.as_bytes()).unwrap();
        // RFC 5208 v1: version 0, the seed only (48 bytes for Ed25519).
        assert_eq!(der.len(), 48);
        assert_eq!(&der[..5], &[0x30, 0x2e, 0x02, 0x01, 0x00]);
        let back = KeyPair::try_from(der.as_slice()).unwrap();
        assert_eq!(back.public_key_raw(), key.public_key_raw());
        // A v2 file converts to v1, once; the key stays the same.
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("old.key");
        fsutil::write_new(&f, key.serialize_pem().as_bytes(), SECRET_MODE).unwrap();
        assert_eq!(convert(&f).unwrap(), Converted::Rewritten);
        assert_eq!(convert(&f).unwrap(), Converted::AlreadyV1);
        let again = std::fs::read_to_string(&f).unwrap();
        let (_, der) = ed25519_dalek::pkcs8::spki::der::pem::decode_vec(again.as_bytes()).unwrap();
        assert_eq!(KeyPair::try_from(der.as_slice()).unwrap().public_key_raw(), key.public_key_raw());
        // A certificate is no key: refused, left as it was.
        let c = dir.path().join("x.crt");
        let text = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        fsutil::write_new(&c, text.as_bytes(), 0o644).unwrap();
        assert!(convert(&c).unwrap_err().to_string().contains("not a PKCS#8"));
        assert_eq!(std::fs::read_to_string(&c).unwrap(), text);
    }
}
