//! `tipcerts renew`: new keys for the same identity (and a relay's names), valid from now,
//! chaining to the same root, the old certificates left valid (overlap); refusals for a
//! root, another CA's certificate, a revoked one and an existing output directory.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use tiprelay_proto::{summarize_certificate, Authority, CertSummary, CertUsage, TrustStore};

// The CLI helpers the other `tipcerts` tests use; `fails` here also wants exit code 1.
use crate::cli::{cert as der, now, ok, s, tipcerts};

fn fails(args: &[&str]) -> String {
    let o = tipcerts(args);
    assert!(!o.status.success(), "tipcerts {args:?} should have failed: {}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(o.status.code(), Some(1));
    String::from_utf8(o.stderr).unwrap()
}

fn summary(p: &Path) -> CertSummary {
    summarize_certificate(&der(p)).unwrap()
}

fn openssl_verify(ca: &Path, cert: &Path, purpose: Option<&str>) {
    let mut args = vec!["verify", "-CAfile", s(ca)];
    if let Some(p) = purpose {
        args.extend(["-purpose", p]);
    }
    args.push(s(cert));
    let o = Command::new("openssl").args(&args).output().unwrap_or_else(|e| {
        panic!("openssl is needed by this test (Debian: apt-get install openssl; .ci/run installs it): {e}")
    });
    assert!(
        o.status.success(),
        "openssl verify {}: {}{}",
        cert.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn trust(ca: &Path, a: &str) -> (TrustStore, Authority) {
    let a: Authority = a.parse().unwrap();
    let mut t = TrustStore::new();
    t.add_root(a, &der(&ca.join("ca.crt"))).unwrap();
    t.set_crl(a, &CertificateRevocationListDer::from_pem_file(ca.join("crl.pem")).unwrap()).unwrap();
    (t, a)
}

#[test]
fn renewing_a_principal_keeps_its_identity_with_new_keys_and_leaves_the_old_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("mx-ca");
    ok(&["init-ca", "--jurisdiction", "MX", "--out", s(&ca)]);
    let old = tmp.path().join("ana");
    ok(&["issue", "--ca", s(&ca), "--principal", "tiprelay://MX/analyst/ana", "--out", s(&old), "--days", "10"]);
    let new = tmp.path().join("ana-2027");
    let before = now();
    let out = ok(&["renew", "--ca", s(&ca), "--cert", s(&old.join("sign.crt")), "--out", s(&new)]);
    assert!(out.contains("renewed tiprelay://MX/analyst/ana"), "{out}");
    assert!(out.contains(&format!("install {} as {}", s(&new.join("sign.key")), s(&old.join("sign.key")))), "{out}");
    assert!(out.contains(&format!("install {} as {}", s(&new.join("tls.crt")), s(&old.join("tls.crt")))), "{out}");
    assert!(out.contains("NOT revoked") && out.contains("stay valid until"), "{out}");

    for (f, role) in [("tls.crt", tiprelay_proto::CertRole::TlsClient), ("sign.crt", tiprelay_proto::CertRole::Signing)]
    {
        let (o, n) = (summary(&old.join(f)), summary(&new.join(f)));
        assert_eq!(n.identity, o.identity, "{f}: the same identity");
        assert_eq!(n.role, role);
        assert_eq!(n.subject, o.subject);
        assert_ne!(n.ed25519_public_key, o.ed25519_public_key, "{f}: a new key");
        assert_ne!(n.serial_hex, o.serial_hex);
        // Valid from now (a few minutes back for clock skew), for the default year.
        assert!(n.not_before.as_unix_ms() <= before.as_unix_ms());
        assert!(n.not_before.as_unix_ms() + 10 * 60_000 >= before.as_unix_ms());
        assert!(n.not_after.as_unix_ms() > before.as_unix_ms() + 360 * 86_400_000);
        openssl_verify(&ca.join("ca.crt"), &new.join(f), None);
    }
    openssl_verify(&ca.join("ca.crt"), &new.join("tls.crt"), Some("sslclient"));
    // New keys: private, PKCS#8 v1 that OpenSSL reads, matching their certificates.
    for k in ["tls", "sign"] {
        let key = new.join(format!("{k}.key"));
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        let o = Command::new("openssl").args(["pkey", "-in", s(&key), "-pubout", "-outform", "DER"]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let cert_key = summary(&new.join(format!("{k}.crt"))).ed25519_public_key.unwrap();
        assert!(o.stdout.ends_with(&cert_key), "{k}.key does not belong to {k}.crt");
    }
    // Overlap: the old and the new certificates both verify now (nothing revoked).
    let (t, mx) = trust(&ca, "MX");
    for d in [&old, &new] {
        t.verify_cert(&der(&d.join("sign.crt")), &[], mx, CertUsage::Signing, now()).unwrap();
        t.verify_cert(&der(&d.join("tls.crt")), &[], mx, CertUsage::TlsClient, now()).unwrap();
    }
    let state = std::fs::read_to_string(ca.join("ca.toml")).unwrap();
    assert_eq!(state.matches("tiprelay://MX/analyst/ana").count(), 4, "the CA records all four: {state}");
    assert!(!state.contains("[[revoked]]"), "{state}");

    // --json: what to install where, and until when the old ones verify.
    let again = tmp.path().join("ana-json");
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "renew",
        "--ca",
        s(&ca),
        "--cert",
        s(&new.join("tls.crt")),
        "--out",
        s(&again),
        "--days",
        "90",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["renewed"], "tiprelay://MX/analyst/ana");
    assert_eq!(v["kind"], "principal");
    assert_eq!(v["old_revoked"], false);
    assert_eq!(v["old"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["install"][2]["new"], s(&again.join("sign.crt")));
    assert_eq!(v["install"][2]["replaces"], s(&new.join("sign.crt")));
    assert_eq!(v["old_valid_until"], summary(&new.join("sign.crt")).not_after.to_string());
    let days = (summary(&again.join("sign.crt")).not_after.as_unix_ms() - now().as_unix_ms()) / 86_400_000;
    assert!((88..=90).contains(&days), "{days}");
}

#[test]
fn renewing_a_relay_keeps_its_name_and_dns_and_ip_names() {
    let tmp = tempfile::tempdir().unwrap();
    let (op, mx) = (tmp.path().join("op"), tmp.path().join("mx"));
    ok(&["init-ca", "--relay-operator", "--out", s(&op)]);
    ok(&["init-ca", "--jurisdiction", "MX", "--out", s(&mx)]);
    let relay = tmp.path().join("relay");
    let args = ["--dns", "relay.example", "--dns", "relay2.example", "--ip", "127.0.0.1", "--ip", "::1"];
    let mut issue = vec!["issue-relay", "--ca", s(&op), "--name", "main", "--out", s(&relay)];
    issue.extend(args);
    ok(&issue);
    // Given its signing certificate, the TLS one beside it supplies the names.
    let new = tmp.path().join("relay-new");
    let out = ok(&["renew", "--ca", s(&op), "--cert", s(&relay.join("sign.crt")), "--out", s(&new)]);
    assert!(out.contains("renewed tiprelay://OPERATOR/relay/main") && out.contains("restart the relay"), "{out}");
    let (o, n) = (summary(&relay.join("tls.crt")), summary(&new.join("tls.crt")));
    assert_eq!(n.identity, o.identity);
    assert_eq!(n.other_names, o.other_names);
    assert_eq!(
        n.other_names.iter().filter(|x| x.starts_with("DNS:")).cloned().collect::<Vec<_>>(),
        ["DNS:relay.example", "DNS:relay2.example"]
    );
    assert_eq!(n.other_names.iter().filter(|x| x.starts_with("IP:")).count(), 2, "{:?}", n.other_names);
    assert_eq!(n.role, tiprelay_proto::CertRole::TlsServer);
    assert_ne!(n.ed25519_public_key, o.ed25519_public_key);
    assert_eq!(summary(&new.join("sign.crt")).identity, o.identity);
    assert_ne!(summary(&new.join("sign.crt")).ed25519_public_key, summary(&relay.join("sign.crt")).ed25519_public_key);
    openssl_verify(&op.join("ca.crt"), &new.join("tls.crt"), Some("sslserver"));
    openssl_verify(&op.join("ca.crt"), &new.join("sign.crt"), None);
    let (t, a) = trust(&op, "OPERATOR");
    t.verify_cert(&der(&new.join("tls.crt")), &[], a, CertUsage::TlsServer, now()).unwrap();
    t.verify_cert(&der(&new.join("sign.crt")), &[], a, CertUsage::Signing, now()).unwrap();
    let tls = CertificateDer::from(der(&new.join("tls.crt")));
    let ee = webpki::EndEntityCert::try_from(&tls).unwrap();
    for name in ["relay.example", "relay2.example", "127.0.0.1", "::1"] {
        ee.verify_is_valid_for_subject_name(&rustls_pki_types::ServerName::try_from(name).unwrap()).unwrap();
    }

    // A federated relay (a jurisdiction's CA): its TLS certificate keeps clientAuth too.
    let own = tmp.path().join("mx-relay");
    ok(&["issue-relay", "--ca", s(&mx), "--name", "mx", "--dns", "localhost", "--out", s(&own)]);
    let own_new = tmp.path().join("mx-relay-new");
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "renew",
        "--json",
        "--ca",
        s(&mx),
        "--cert",
        s(&own.join("tls.crt")),
        "--out",
        s(&own_new),
    ]))
    .unwrap();
    assert_eq!(v["kind"], "relay");
    assert_eq!(v["dns"], serde_json::json!(["localhost"]));
    assert_eq!(summary(&own_new.join("tls.crt")).role, tiprelay_proto::CertRole::TlsPeerRelay);
    openssl_verify(&mx.join("ca.crt"), &own_new.join("tls.crt"), None);

    // A relay's signing certificate alone (no tls.crt beside it): no names to carry over.
    let lone = tmp.path().join("lone");
    std::fs::create_dir(&lone).unwrap();
    std::fs::copy(relay.join("sign.crt"), lone.join("sign.crt")).unwrap();
    let err = fails(&["renew", "--ca", s(&op), "--cert", s(&lone.join("sign.crt")), "--out", s(&tmp.path().join("x"))]);
    assert!(err.contains("needs its TLS certificate"), "{err}");
    assert!(!tmp.path().join("x").exists());
}

#[test]
fn renew_refuses_a_root_another_cas_certificate_a_revoked_one_and_an_existing_output() {
    let tmp = tempfile::tempdir().unwrap();
    let (mx, us) = (tmp.path().join("mx"), tmp.path().join("us"));
    ok(&["init-ca", "--jurisdiction", "MX", "--out", s(&mx)]);
    ok(&["init-ca", "--jurisdiction", "US", "--out", s(&us)]);
    let ana = tmp.path().join("ana");
    ok(&["issue", "--ca", s(&mx), "--principal", "tiprelay://MX/analyst/ana", "--out", s(&ana)]);
    let out = tmp.path().join("out");
    let state_before = std::fs::read_to_string(mx.join("ca.toml")).unwrap();

    let err = fails(&["renew", "--ca", s(&mx), "--cert", s(&mx.join("ca.crt")), "--out", s(&out)]);
    assert!(err.contains("CA rollover"), "{err}");
    let err = fails(&["renew", "--ca", s(&us), "--cert", s(&ana.join("tls.crt")), "--out", s(&out)]);
    assert!(err.contains("not issued by the US CA"), "{err}");
    std::fs::create_dir(&out).unwrap();
    let err = fails(&["renew", "--ca", s(&mx), "--cert", s(&ana.join("tls.crt")), "--out", s(&out)]);
    assert!(err.contains("already exists"), "{err}");
    std::fs::remove_dir(&out).unwrap();
    let err = fails(&["renew", "--ca", s(&mx), "--cert", s(&ana.join("tls.crt")), "--out", s(&out), "--days", "0"]);
    assert!(err.contains("--days must be positive"), "{err}");
    assert!(!out.exists(), "nothing half-written");
    assert_eq!(std::fs::read_to_string(mx.join("ca.toml")).unwrap(), state_before, "the CA records nothing");

    ok(&["revoke", "--ca", s(&mx), "--cert", s(&ana.join("sign.crt"))]);
    let err = fails(&["renew", "--ca", s(&mx), "--cert", s(&ana.join("sign.crt")), "--out", s(&out)]);
    assert!(err.contains("was revoked") && err.contains("tipcerts issue"), "{err}");
    assert!(!out.exists());

    // In Spanish.
    let o = Command::new(env!("CARGO_BIN_EXE_tipcerts"))
        .args(["renew", "--ca", s(&mx), "--cert", s(&mx.join("ca.crt")), "--out", s(&out)])
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "es_MX.UTF-8")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("relevo de CA") && err.contains("renovando"), "{err}");
}
