//! `tipcerts` as a user runs it: every subcommand, and bad input with clear messages,
//! non-zero exits and nothing half-written.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, ServerName};
use tiprelay_proto::{Authority, CertUsage, ErrorCode, Timestamp, TrustStore};

pub(crate) fn tipcerts(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tipcerts")).args(args).output().unwrap()
}

pub(crate) fn ok(args: &[&str]) -> String {
    let o = tipcerts(args);
    assert!(o.status.success(), "tipcerts {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn fails(args: &[&str]) -> String {
    let o = tipcerts(args);
    assert!(!o.status.success(), "tipcerts {args:?} should have failed");
    String::from_utf8(o.stderr).unwrap()
}

/// `tipcerts` with `LANG=es_MX.UTF-8` (and no `LC_ALL` or `LC_MESSAGES` to override it).
fn tipcerts_es(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tipcerts"))
        .args(args)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "es_MX.UTF-8")
        .output()
        .unwrap()
}

pub(crate) fn cert(p: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(p).unwrap().to_vec()
}

fn crl(p: &Path) -> Vec<u8> {
    CertificateRevocationListDer::from_pem_file(p).unwrap().to_vec()
}

pub(crate) fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    Timestamp::from_unix_ms(ms as u64).unwrap()
}

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn trust_from_dev(dir: &Path) -> TrustStore {
    let mut t = TrustStore::new();
    for (a, sub) in [("MX", "MX/ca"), ("US", "US/ca"), ("OPERATOR", "operator-ca")] {
        let a: Authority = a.parse().unwrap();
        t.add_root(a, &cert(&dir.join(sub).join("ca.crt"))).unwrap();
        t.set_crl(a, &crl(&dir.join(sub).join("crl.pem"))).unwrap();
    }
    t
}

#[test]
fn dev_setup_is_complete_verifiable_and_movable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pki");
    let out = ok(&["dev", "--out", s(&dir), "--relay-addr", "127.0.0.1:4999"]);
    assert!(out.contains("relay.toml"), "{out}");

    // Keys are private, certificates public.
    for key in [
        "operator-ca/ca.key",
        "MX/ca/ca.key",
        "US/analyst/tls.key",
        "US/analyst/sign.key",
        "MX/feed/sign.key",
        "relay/tls.key",
        "relay/sign.key",
    ] {
        let mode = std::fs::metadata(dir.join(key)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{key} has mode {mode:o}");
    }

    // rustls-webpki verifies every issued chain for its intended use, and only that use.
    let t = trust_from_dev(&dir);
    let n = now();
    for j in ["MX", "US"] {
        let auth: Authority = j.parse().unwrap();
        for kind in ["analyst", "feed"] {
            let tls = cert(&dir.join(j).join(kind).join("tls.crt"));
            let sign = cert(&dir.join(j).join(kind).join("sign.crt"));
            let v = t.verify_cert(&tls, &[], auth, CertUsage::TlsClient, n).unwrap();
            assert_eq!(v.identity.to_string(), format!("tiprelay://{j}/{kind}/{kind}-1"));
            t.verify_cert(&sign, &[], auth, CertUsage::Signing, n).unwrap();
            assert_eq!(
                t.verify_cert(&tls, &[], auth, CertUsage::Signing, n).unwrap_err().code(),
                ErrorCode::WrongKeyUsage
            );
            assert_eq!(
                t.verify_cert(&sign, &[], auth, CertUsage::TlsClient, n).unwrap_err().code(),
                ErrorCode::WrongKeyUsage
            );
        }
    }
    let relay_tls = cert(&dir.join("relay/tls.crt"));
    t.verify_cert(&relay_tls, &[], Authority::Operator, CertUsage::TlsServer, n).unwrap();
    t.verify_cert(&cert(&dir.join("relay/sign.crt")), &[], Authority::Operator, CertUsage::Signing, n).unwrap();
    // The relay certificate is valid for the names clients dial, per webpki itself.
    let der = CertificateDer::from(relay_tls);
    let ee = webpki::EndEntityCert::try_from(&der).unwrap();
    ee.verify_is_valid_for_subject_name(&ServerName::try_from("localhost").unwrap()).unwrap();
    ee.verify_is_valid_for_subject_name(&ServerName::try_from("127.0.0.1").unwrap()).unwrap();
    assert!(ee.verify_is_valid_for_subject_name(&ServerName::try_from("relay.evil").unwrap()).is_err());

    // openssl agrees, where it is installed.
    if Command::new("openssl").arg("version").output().is_ok() {
        for (ca, leaf) in
            [("MX/ca", "MX/analyst/sign.crt"), ("US/ca", "US/feed/tls.crt"), ("operator-ca", "relay/tls.crt")]
        {
            let o = Command::new("openssl")
                .args(["verify", "-CAfile", s(&dir.join(ca).join("ca.crt")), s(&dir.join(leaf))])
                .output()
                .unwrap();
            assert!(o.status.success(), "openssl verify {leaf}: {}", String::from_utf8_lossy(&o.stdout));
        }
    }

    // Configs parse and use paths relative to themselves: move the tree and they still resolve.
    let moved = tmp.path().join("moved");
    std::fs::rename(&dir, &moved).unwrap();
    let relay: toml::Value = toml::from_str(&std::fs::read_to_string(moved.join("relay.toml")).unwrap()).unwrap();
    assert_eq!(relay["relay"]["listen"].as_str(), Some("127.0.0.1:4999"));
    assert!(moved.join(relay["relay"]["tls_cert"].as_str().unwrap()).exists());
    for j in ["MX", "US"] {
        for kind in ["analyst", "feed"] {
            let f = moved.join(j).join(format!("{kind}.toml"));
            let c: toml::Value = toml::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            assert_eq!(c["principal"].as_str().unwrap(), format!("tiprelay://{j}/{kind}/{kind}-1"));
            for p in [&c["keys"]["signing_key"], &c["relay"]["operator_ca"], &c["trust"][1]["crl"]] {
                assert!(moved.join(j).join(p.as_str().unwrap()).exists(), "{p} from {}", f.display());
            }
        }
    }

    // Re-running refuses without --force, and keeps the old tree intact.
    let before = std::fs::read(moved.join("MX/ca/ca.crt")).unwrap();
    let err = fails(&["dev", "--out", s(&moved)]);
    assert!(err.contains("already exists") && err.contains("--force"), "{err}");
    assert_eq!(before, std::fs::read(moved.join("MX/ca/ca.crt")).unwrap());
    ok(&["dev", "--out", s(&moved), "--force"]);
    assert_ne!(before, std::fs::read(moved.join("MX/ca/ca.crt")).unwrap());
}

#[test]
fn issue_revoke_and_crl_cycle() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("mx-ca");
    let out = ok(&["init-ca", "--jurisdiction", "MX", "--out", s(&ca)]);
    assert!(out.contains("ca.key (mode 0600"), "{out}");
    let ana = tmp.path().join("ana");
    ok(&["issue", "--ca", s(&ca), "--principal", "tiprelay://MX/analyst/ana", "--out", s(&ana)]);
    let shown = ok(&["show", s(&ana.join("sign.crt"))]);
    assert!(shown.contains("identity:    tiprelay://MX/analyst/ana"), "{shown}");
    assert!(shown.contains("message signing"), "{shown}");
    assert!(shown.contains("tiprelay MX root CA"), "{shown}");
    let json: serde_json::Value = serde_json::from_str(&ok(&["show", "--json", s(&ana.join("tls.crt"))])).unwrap();
    assert_eq!(json[0]["identity"], "tiprelay://MX/analyst/ana");
    assert_eq!(json[0]["status"], "valid");

    let mx: Authority = "MX".parse().unwrap();
    let mut t = TrustStore::new();
    t.add_root(mx, &cert(&ca.join("ca.crt"))).unwrap();
    t.set_crl(mx, &crl(&ca.join("crl.pem"))).unwrap();
    let sign = cert(&ana.join("sign.crt"));
    t.verify_cert(&sign, &[], mx, CertUsage::Signing, now()).unwrap();

    let out = ok(&["revoke", "--ca", s(&ca), "--cert", s(&ana.join("sign.crt"))]);
    assert!(out.contains("revoked tiprelay://MX/analyst/ana") && out.contains("number 2"), "{out}");
    t.set_crl(mx, &crl(&ca.join("crl.pem"))).unwrap();
    assert_eq!(t.verify_cert(&sign, &[], mx, CertUsage::Signing, now()).unwrap_err().code(), ErrorCode::Revoked);
    // The TLS certificate is a separate certificate and was not revoked.
    t.verify_cert(&cert(&ana.join("tls.crt")), &[], mx, CertUsage::TlsClient, now()).unwrap();

    let published = tmp.path().join("published-crl.pem");
    let out = ok(&["crl", "--ca", s(&ca), "--out", s(&published), "--days", "3"]);
    assert!(out.contains("number 3"), "{out}");
    let shown = ok(&["show", s(&published)]);
    let serial = json[0]["serial"].as_str().unwrap().to_owned();
    assert!(shown.contains("number:      3"), "{shown}");
    let sign_serial: serde_json::Value =
        serde_json::from_str(&ok(&["show", "--json", s(&ana.join("sign.crt"))])).unwrap();
    assert!(shown.contains(sign_serial[0]["serial"].as_str().unwrap()), "{shown}");
    assert!(!shown.contains(&serial), "the TLS certificate must not be listed: {shown}");
}

#[test]
fn relay_certificates_come_from_the_operator_ca_or_a_jurisdiction_ca_for_its_own_relay() {
    let tmp = tempfile::tempdir().unwrap();
    let op = tmp.path().join("op");
    let mx = tmp.path().join("mx");
    ok(&["init-ca", "--relay-operator", "--out", s(&op)]);
    ok(&["init-ca", "--jurisdiction", "MX", "--out", s(&mx)]);
    let relay = tmp.path().join("relay");
    ok(&[
        "issue-relay",
        "--ca",
        s(&op),
        "--name",
        "main",
        "--dns",
        "relay.example",
        "--ip",
        "127.0.0.1",
        "--out",
        s(&relay),
    ]);
    let shown = ok(&["show", s(&relay.join("tls.crt"))]);
    assert!(
        shown.contains("tiprelay://OPERATOR/relay/main")
            && shown.contains("DNS:relay.example")
            && shown.contains("IP:127.0.0.1"),
        "{shown}"
    );
    let tls = tiprelay_certs::ca::read_cert(&relay.join("tls.crt")).unwrap();
    let hub = tiprelay_proto::summarize_certificate(&tls).unwrap();
    assert_eq!(hub.role, tiprelay_proto::CertRole::TlsServer, "a hub relay's TLS certificate only serves");
    // A jurisdiction's CA issues that jurisdiction's own relay (federation), whose TLS
    // certificate also authenticates it as a client to its peer relay.
    let own = tmp.path().join("mx-relay");
    ok(&["issue-relay", "--ca", s(&mx), "--name", "mx", "--dns", "localhost", "--out", s(&own)]);
    let shown = ok(&["show", s(&own.join("sign.crt"))]);
    assert!(shown.contains("tiprelay://MX/relay/mx"), "{shown}");
    let tls = tiprelay_certs::ca::read_cert(&own.join("tls.crt")).unwrap();
    let peer = tiprelay_proto::summarize_certificate(&tls).unwrap();
    assert_eq!(peer.role, tiprelay_proto::CertRole::TlsPeerRelay);
    // Relay identities come only from issue-relay, and only of the CA's own authority.
    let err =
        fails(&["issue", "--ca", s(&mx), "--principal", "tiprelay://MX/relay/x", "--out", s(&tmp.path().join("r2"))]);
    assert!(err.contains("issue-relay"), "{err}");
    assert!(!tmp.path().join("r2").exists());
    let err = fails(&[
        "issue",
        "--ca",
        s(&op),
        "--principal",
        "tiprelay://MX/analyst/ana",
        "--out",
        s(&tmp.path().join("a")),
    ]);
    assert!(err.contains("cannot issue"), "{err}");
}

#[test]
fn bad_input_gets_a_clear_message_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("mx-ca");
    ok(&["init-ca", "--jurisdiction", "MX", "--out", s(&ca)]);
    let out = tmp.path().join("x");

    // Missing arguments: clap usage error, exit 2.
    let o = tipcerts(&["issue", "--ca", s(&ca)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--principal"));
    let o = tipcerts(&["init-ca", "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2));

    // Invalid principal URIs.
    for (uri, hint) in [
        ("tiprelay://MX/analyst/Ana", "a-z"),
        ("https://MX/analyst/ana", "tiprelay://"),
        ("tiprelay://MX/boss/ana", "analyst, feed or relay"),
        ("tiprelay://OPERATOR/analyst/a", "OPERATOR"),
    ] {
        let err = fails(&["issue", "--ca", s(&ca), "--principal", uri, "--out", s(&out)]);
        assert!(err.contains("not a valid principal identity") && err.contains(hint), "{uri}: {err}");
        assert!(!out.exists());
    }
    // Another jurisdiction's identity: sovereignty.
    let err = fails(&["issue", "--ca", s(&ca), "--principal", "tiprelay://US/analyst/sam", "--out", s(&out)]);
    assert!(err.contains("the MX CA cannot issue tiprelay://US/analyst/sam"), "{err}");
    assert!(!out.exists());
    // Unreadable or absent CA directory.
    let err = fails(&[
        "issue",
        "--ca",
        s(&tmp.path().join("nope")),
        "--principal",
        "tiprelay://MX/analyst/a",
        "--out",
        s(&out),
    ]);
    assert!(err.contains("not a usable CA directory") && err.contains("init-ca"), "{err}");
    let broken = tmp.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::copy(ca.join("ca.toml"), broken.join("ca.toml")).unwrap();
    std::fs::copy(ca.join("ca.crt"), broken.join("ca.crt")).unwrap();
    std::fs::write(broken.join("ca.key"), "garbage").unwrap();
    // A key others may read is refused first, with the command that fixes it.
    let err = fails(&["issue", "--ca", s(&broken), "--principal", "tiprelay://MX/analyst/a", "--out", s(&out)]);
    assert!(err.contains("mode 0644") && err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(broken.join("ca.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = fails(&["issue", "--ca", s(&broken), "--principal", "tiprelay://MX/analyst/a", "--out", s(&out)]);
    assert!(err.contains("PRIVATE KEY"), "{err}");
    assert!(!out.exists());
    // Existing output directory.
    std::fs::create_dir(&out).unwrap();
    let err = fails(&["issue", "--ca", s(&ca), "--principal", "tiprelay://MX/analyst/a", "--out", s(&out)]);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
    let err = fails(&["init-ca", "--jurisdiction", "MX", "--out", s(&ca)]);
    assert!(err.contains("already exists"), "{err}");
    let err = fails(&["init-ca", "--jurisdiction", "Mexico", "--out", s(&tmp.path().join("m"))]);
    assert!(err.contains("not a jurisdiction code"), "{err}");
    // Revoking a certificate of another CA.
    let us = tmp.path().join("us-ca");
    ok(&["init-ca", "--jurisdiction", "US", "--out", s(&us)]);
    let sam = tmp.path().join("sam");
    ok(&["issue", "--ca", s(&us), "--principal", "tiprelay://US/analyst/sam", "--out", s(&sam)]);
    let before = std::fs::read(ca.join("crl.pem")).unwrap();
    let err = fails(&["revoke", "--ca", s(&ca), "--cert", s(&sam.join("tls.crt"))]);
    assert!(err.contains("not issued by the MX CA"), "{err}");
    assert_eq!(before, std::fs::read(ca.join("crl.pem")).unwrap());
    // show refuses private keys and garbage.
    let err = fails(&["show", s(&sam.join("sign.key"))]);
    assert!(err.contains("private key"), "{err}");
    std::fs::write(tmp.path().join("junk"), b"\x00\x01junk").unwrap();
    fails(&["show", s(&tmp.path().join("junk"))]);
    // No stray staging directories are left anywhere.
    for e in std::fs::read_dir(tmp.path()).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(!name.starts_with('.'), "left behind: {name}");
    }
}

/// Every file under `dir` with one of the extensions, recursively.
fn files_with(dir: &Path, exts: &[&str]) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_with(&p, exts));
        } else if exts.iter().any(|x| p.to_str().unwrap().ends_with(x)) {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().unwrap_or_else(|e| {
        panic!("openssl is needed by this test (Debian: apt-get install openssl; .ci/run installs it): {e}")
    })
}

/// Operators inspect, back up and import keys with standard tools: OpenSSL 3.0 reads every
/// key, certificate and CRL that `tipcerts dev` writes, in both modes, and `tipcerts keys
/// convert` turns a key of an earlier version (PKCS#8 v2, which OpenSSL 3.0 refuses) into one
/// it reads, the same key.
#[test]
fn openssl_reads_every_key_certificate_and_crl_tipcerts_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let (hub, fed) = (tmp.path().join("hub"), tmp.path().join("fed"));
    ok(&["dev", "--out", s(&hub)]);
    ok(&["dev", "--federated", "--out", s(&fed)]);
    let mut keys = 0;
    for dir in [&hub, &fed] {
        for k in files_with(dir, &[".key"]) {
            let o = openssl(&["pkey", "-in", s(&k), "-noout", "-text"]);
            assert!(o.status.success(), "openssl cannot read {}: {}", k.display(), String::from_utf8_lossy(&o.stderr));
            assert!(String::from_utf8_lossy(&o.stdout).contains("ED25519 Private-Key"), "{}", k.display());
            keys += 1;
        }
        for c in files_with(dir, &[".crt"]) {
            let o = openssl(&["x509", "-in", s(&c), "-noout", "-text"]);
            assert!(o.status.success(), "openssl cannot read {}: {}", c.display(), String::from_utf8_lossy(&o.stderr));
        }
        for c in files_with(dir, &["crl.pem"]) {
            let o = openssl(&["crl", "-in", s(&c), "-noout", "-text"]);
            assert!(o.status.success(), "openssl cannot read {}: {}", c.display(), String::from_utf8_lossy(&o.stderr));
        }
    }
    // hub: 3 CAs, the relay's 2 keys, 4 principals × 2; federated: 2 CAs, 2 relays × 2, 4 × 2.
    assert_eq!(keys, (3 + 2 + 8) + (2 + 4 + 8));

    // A key written the earlier way (PKCS#8 v2): OpenSSL 3.0 refuses it; converted, it reads
    // it, with the same public key as before.
    let old = tmp.path().join("old.key");
    let key = tiprelay_certs::profile::random_key().unwrap();
    std::fs::write(&old, key.serialize_pem()).unwrap();
    let before = openssl(&["pkey", "-in", s(&old), "-noout"]);
    let v2_refused = !before.status.success();
    let out = ok(&["keys", "convert", s(&old), s(&hub.join("MX/analyst/sign.key"))]);
    assert!(out.contains("converted to PKCS#8 v1") && out.contains("already PKCS#8 v1"), "{out}");
    let o = openssl(&["pkey", "-in", s(&old), "-pubout", "-outform", "DER"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.ends_with(key.public_key_raw()), "the converted key is another key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&old).unwrap().permissions().mode() & 0o777, 0o600);
    eprintln!("a PKCS#8 v2 key before conversion: OpenSSL {}", if v2_refused { "refused it" } else { "read it" });
    // Not a key: refused, exit 1, the file left as it was.
    let crt = hub.join("MX/analyst/sign.crt");
    let was = std::fs::read(&crt).unwrap();
    let err = fails(&["keys", "convert", s(&crt)]);
    assert!(err.contains("not a PKCS#8 PRIVATE KEY"), "{err}");
    assert_eq!(std::fs::read(&crt).unwrap(), was);
}

#[test]
fn errors_are_in_spanish_with_a_spanish_locale() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("no-ca");
    let out = tmp.path().join("ana");
    let o = tipcerts_es(&["issue", "--ca", s(&ca), "--principal", "tiprelay://MX/analyst/ana", "--out", s(&out)]);
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with("tipcerts: error: ")
            && err.contains("no es un directorio de CA utilizable")
            && err.contains("`tipcerts init-ca`"),
        "{err}"
    );
    assert!(!out.exists());
}

/// `tipcerts keys encrypt`: a CA key encrypted with a passphrase, which OpenSSL reads with
/// it, and which tipcerts then opens only with it (from TIPRELAY_KEY_PASSPHRASE_FILE; with
/// no terminal and no passphrase it says what to do).
#[test]
fn an_encrypted_ca_key_issues_only_with_its_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p).to_str().unwrap().to_owned();
    ok(&["init-ca", "--jurisdiction", "MX", "--out", &d("mx-ca")]);
    std::fs::write(d("pass"), "correct horse battery staple\n").unwrap();
    std::fs::write(d("short"), "too short\n").unwrap();
    std::fs::write(d("wrong"), "incorrect horse battery staple\n").unwrap();
    let err = fails(&["keys", "encrypt", "--passphrase-file", &d("short"), &d("mx-ca/ca.key")]);
    assert!(err.contains("at least 12 characters"), "{err}");
    let out = ok(&["keys", "encrypt", "--passphrase-file", &d("pass"), &d("mx-ca/ca.key")]);
    assert!(out.contains("encrypted") && out.contains("ca.key"), "{out}");
    let pem = std::fs::read_to_string(d("mx-ca/ca.key")).unwrap();
    assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"), "{pem}");
    assert_eq!(std::fs::metadata(d("mx-ca/ca.key")).unwrap().permissions().mode() & 0o777, 0o600);
    let out = ok(&["keys", "encrypt", "--passphrase-file", &d("pass"), &d("mx-ca/ca.key")]);
    assert!(out.contains("already encrypted"), "{out}");
    // OpenSSL reads it with the passphrase.
    let o = Command::new("openssl")
        .args(["pkey", "-noout", "-in", &d("mx-ca/ca.key"), "-passin", &format!("file:{}", d("pass"))])
        .output()
        .expect("openssl is installed by .ci/run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let issue = |pass: Option<&str>, out: &str| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tipcerts"));
        c.args(["issue", "--ca", &d("mx-ca"), "--principal", "tiprelay://MX/analyst/ana", "--out", &d(out)])
            .stdin(std::process::Stdio::null())
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env("LANG", "C.UTF-8");
        match pass {
            Some(p) => c.env("TIPRELAY_KEY_PASSPHRASE_FILE", d(p)),
            None => c.env_remove("TIPRELAY_KEY_PASSPHRASE_FILE"),
        };
        c.output().unwrap()
    };
    let o = issue(None, "ana1");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("encrypted and no passphrase was given") && err.contains("TIPRELAY_KEY_PASSPHRASE_FILE"),
        "{err}"
    );
    let o = issue(Some("wrong"), "ana2");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("the passphrase does not open this private key"), "{err}");
    assert!(!dir.path().join("ana1").exists() && !dir.path().join("ana2").exists(), "nothing half-written");
    let o = issue(Some("pass"), "ana");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(dir.path().join("ana/sign.crt").exists());
}

/// `tipcerts issue --config-out`: the principal's tipctl configuration, every path relative
/// to it and naming a file that exists; its inputs checked before anything is issued.
#[test]
fn issue_writes_the_principals_tipctl_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p).to_str().unwrap().to_owned();
    ok(&["init-ca", "--jurisdiction", "MX", "--out", &d("mx-ca")]);
    ok(&["init-ca", "--jurisdiction", "US", "--out", &d("us-ca")]);
    ok(&["init-ca", "--relay-operator", "--out", &d("operator-ca")]);
    let base = [
        "issue",
        "--ca",
        &d("mx-ca"),
        "--principal",
        "tiprelay://MX/analyst/ana",
        "--relay",
        "192.0.2.10:4433",
        "--server-name",
        "relay.example.org",
    ];
    let args = |out: &str, cfg: &str, extra: &[String]| {
        let mut v: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        v.extend(["--out".into(), d(out), "--config-out".into(), d(cfg)]);
        v.extend(extra.iter().cloned());
        v
    };
    let run = |v: Vec<String>| tipcerts(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let operator = format!("{},{}", d("operator-ca/ca.crt"), d("operator-ca/crl.pem"));
    let us = format!("US={},{}", d("us-ca/ca.crt"), d("us-ca/crl.pem"));
    // Refused before anything is issued: its own jurisdiction as --trust, a missing file,
    // a value without its comma, --relay without --config-out.
    for (extra, expect) in [
        (vec!["--trust".into(), format!("MX={},{}", d("mx-ca/ca.crt"), d("mx-ca/crl.pem"))], "own jurisdiction"),
        (vec!["--trust".into(), format!("US={},{}", d("nope.crt"), d("us-ca/crl.pem"))], "does not exist"),
        (vec!["--operator".into(), d("operator-ca/ca.crt")], "separated by a comma"),
    ] {
        let o = run(args("ana-x", "x.toml", &extra));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(expect), "{extra:?}: {err}");
        assert!(!dir.path().join("ana-x").exists() && !dir.path().join("x.toml").exists(), "{extra:?}");
    }
    let err = fails(&[
        "issue",
        "--ca",
        &d("mx-ca"),
        "--principal",
        "tiprelay://MX/analyst/b",
        "--out",
        &d("b"),
        "--relay",
        "x:1",
    ]);
    assert!(err.contains("--config-out"), "{err}");
    // The configuration, beside the principal's directory.
    let o = run(args("ws/ana", "ws/tipctl.toml", &["--operator".into(), operator, "--trust".into(), us]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(d("ws/tipctl.toml")).unwrap();
    let cfg: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(cfg["principal"].as_str(), Some("tiprelay://MX/analyst/ana"));
    assert_eq!(cfg["lang"].as_str(), Some("es"));
    assert_eq!(cfg["relay"]["address"].as_str(), Some("192.0.2.10:4433"));
    assert_eq!(cfg["relay"]["server_name"].as_str(), Some("relay.example.org"));
    assert_eq!(cfg["keys"]["signing_key"].as_str(), Some("ana/sign.key"));
    let ws = dir.path().join("ws");
    let files = [
        cfg["keys"]["tls_cert"].as_str().unwrap(),
        cfg["keys"]["tls_key"].as_str().unwrap(),
        cfg["keys"]["signing_cert"].as_str().unwrap(),
        cfg["keys"]["signing_key"].as_str().unwrap(),
        cfg["relay"]["operator_ca"].as_str().unwrap(),
        cfg["relay"]["operator_crl"].as_str().unwrap(),
    ];
    for f in files {
        assert!(!Path::new(f).is_absolute() && ws.join(f).is_file(), "{f} in {text}");
    }
    let trust = cfg["trust"].as_array().unwrap();
    assert_eq!(trust.len(), 2);
    assert_eq!(trust[0]["code"].as_str(), Some("MX"));
    assert_eq!(trust[0]["crl"].as_str(), Some("ana/crl.pem"));
    for t in trust {
        for k in ["ca", "crl"] {
            assert!(ws.join(t[k].as_str().unwrap()).is_file(), "{t:?}");
        }
    }
    // Never over an existing file.
    let o = run(args("ws/ana2", "ws/tipctl.toml", &[]));
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("already exists"));
    assert!(!dir.path().join("ws/ana2").exists());
}
