//! Certificates and CRLs from DER and PEM bytes, as the relay and clients load them
//! (client/src/files.rs): `summarize_certificate`; `TrustStore::add_root`;
//! `TrustStore::set_crl` on a store holding the three fixture roots of the protocol vectors;
//! `TrustStore::verify_cert` for each usage against that store; PEM blocks
//! (`CertificateDer::pem_slice_iter`, `CertificateRevocationListDer::from_pem_slice`) fed to
//! the same functions; and `Signer::new` / `Signer::from_pem` on key bytes.
//! Invariant: no panic.
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use tiprelay_proto::{summarize_certificate, Authority, CertUsage, Signer, TrustStore};

/// Store for `set_crl`: a successful call needs a CRL signed by a fixture root, which the
/// fuzzer cannot forge, so it only ever reloads a CRL equal in content to the loaded one.
fn crl_store() -> &'static Mutex<TrustStore> {
    static STORE: OnceLock<Mutex<TrustStore>> = OnceLock::new();
    STORE.get_or_init(|| Mutex::new(tiprelay_fuzz::new_vector_trust()))
}

fn cert(der: &[u8]) {
    let summary = summarize_certificate(der);
    let _ = TrustStore::new().add_root(Authority::Operator, der);
    let authority = summary
        .ok()
        .and_then(|s| s.identity)
        .map(|i| i.authority())
        .unwrap_or(tiprelay_fuzz::vector_authorities()[0]);
    let trust = tiprelay_fuzz::vector_trust();
    for usage in [CertUsage::Signing, CertUsage::TlsClient, CertUsage::TlsServer] {
        let _ = trust.verify_cert(der, &[], authority, usage, tiprelay_fuzz::at());
    }
}

fn crl(der: &[u8]) {
    let mut store = crl_store().lock().unwrap_or_else(|p| p.into_inner());
    for a in tiprelay_fuzz::vector_authorities() {
        let _ = store.set_crl(a, der);
    }
}

fuzz_target!(|data: &[u8]| {
    cert(data);
    crl(data);
    for c in CertificateDer::pem_slice_iter(data).take(4).flatten() {
        cert(&c);
    }
    if let Ok(c) = CertificateRevocationListDer::from_pem_slice(data) {
        crl(&c);
    }
    let _ = Signer::new(data, data.to_vec());
    let _ = Signer::from_pem(data, data);
});
