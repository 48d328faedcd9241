//! Keys in a PKCS#11 token (issue 18): a real SoftHSM2 token in a temporary directory, two
//! Ed25519 key pairs generated in it with cryptoki.
//!
//! The relay's receipt and checkpoint signing key: its public key read from the token by
//! `tipcerts keys token-public`, certified by `tipcerts issue-relay --signing-public-key`
//! (the private key never leaves the token; no `sign.key` exists), a relay started on it,
//! and an MX analyst's tip whose receipt, like the audit checkpoint, verifies against that
//! certificate. Then the refusals: a wrong PIN and a missing object each stop `tiprelay
//! serve` with their message.
//!
//! A CA's root key: `tipcerts init-ca --key-uri` makes a root whose key stays in the token
//! (no `ca.key`), and that CA issues, revokes and writes CRLs through the token.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` when a process initialises it, once: this test process
//! sets it once, before its first PKCS#11 call ([`token`]), and every `tiprelay` it runs
//! gets it in its environment. The refusals run as `tiprelay` processes of their own:
//! PKCS#11 logins are per process, so a wrong PIN in this process, already logged in,
//! would not be asked for.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use tiprelay::config::{RelayConfig, SigningKeySource};
use tiprelay_client::{Client, ClientConfig};
use tiprelay_proto::{Checkpoint, Digest, Receipt};

use crate::common::*;

/// Debian's SoftHSM2 module.
const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const TOKEN: &str = "tiprelay-test";
const OBJECT: &str = "receipt-signing";
/// A CA's root key.
const CA_OBJECT: &str = "ca-root";
const USER_PIN: &str = "246810";
const SO_PIN: &str = "13579111";

/// The process's SoftHSM2: its configuration and the token's Ed25519 public key.
struct Hsm {
    conf: PathBuf,
    public: [u8; 32],
    ca_public: [u8; 32],
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs Debian's softhsm2 when missing and this is root with apt-get (as .ci/run
/// does), once for all test processes; else fails, saying what to install.
fn ensure_softhsm() {
    if Path::new(MODULE).exists() {
        return;
    }
    if is_root() && Path::new("/usr/bin/apt-get").exists() {
        eprintln!("hsm tests: installing Debian's softhsm2 package");
        let st = Command::new("flock")
            .args(["/tmp/tiprelay-softhsm-apt.lock", "sh", "-c"])
            .arg(format!(
                "test -e {MODULE} || {{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                 --no-install-recommends softhsm2; }}"
            ))
            .status();
        assert!(st.is_ok_and(|s| s.success()), "apt-get could not install softhsm2");
    }
    assert!(
        Path::new(MODULE).exists(),
        "{MODULE} not found: install Debian's `softhsm2` package (`sudo apt-get install softhsm2`; .ci/run does)"
    );
}

/// A token initialised with `softhsm2-util` (the command docs/OPERATIONS.md gives) in a
/// directory of its own, and an Ed25519 key pair generated in it through cryptoki. Once
/// per test process.
fn token() -> &'static Hsm {
    static HSM: OnceLock<Hsm> = OnceLock::new();
    HSM.get_or_init(|| {
        ensure_softhsm();
        // Kept for the process's life (the relays of every test here use it).
        let dir = tempfile::Builder::new().prefix("tiprelay-softhsm-").tempdir().unwrap().keep();
        std::fs::create_dir(dir.join("tokens")).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.join("tokens").display()
            ),
        )
        .unwrap();
        let o = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", TOKEN, "--so-pin", SO_PIN, "--pin", USER_PIN])
            .output()
            .unwrap();
        assert!(o.status.success(), "softhsm2-util: {}", String::from_utf8_lossy(&o.stderr));
        // Before this process's first PKCS#11 call (SoftHSM2 reads it at C_Initialize).
        std::env::set_var("SOFTHSM2_CONF", &conf);
        let ctx = tiprelay::pkcs11::module(Path::new(MODULE)).unwrap();
        let slot = ctx
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == TOKEN)
            .unwrap();
        let session = ctx.open_rw_session(slot).unwrap();
        session.login(UserType::User, Some(&AuthPin::from(USER_PIN.to_owned()))).unwrap();
        let mut publics = Vec::new();
        for (label, id) in [(OBJECT, 0x01), (CA_OBJECT, 0x02)] {
            // Ed25519: CKA_EC_PARAMS is the curve's OID 1.3.101.112 (RFC 8410).
            let ed25519_oid = vec![0x06, 0x03, 0x2b, 0x65, 0x70];
            let label = label.as_bytes().to_vec();
            let (public, _private) = session
                .generate_key_pair(
                    &Mechanism::EccEdwardsKeyPairGen,
                    &[
                        Attribute::Token(true),
                        Attribute::EcParams(ed25519_oid),
                        Attribute::Verify(true),
                        Attribute::Label(label.clone()),
                        Attribute::Id(vec![id]),
                    ],
                    &[
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::Sensitive(true),
                        Attribute::Extractable(false),
                        Attribute::Sign(true),
                        Attribute::Label(label),
                        Attribute::Id(vec![id]),
                    ],
                )
                .unwrap();
            let point = session.get_attributes(public, &[AttributeType::EcPoint]).unwrap();
            let [Attribute::EcPoint(p)] = point.as_slice() else { panic!("no CKA_EC_POINT: {point:?}") };
            // A DER OCTET STRING of the 32 bytes.
            assert_eq!(p.len(), 34, "{p:02x?}");
            publics.push(<[u8; 32]>::try_from(&p[2..]).unwrap());
        }
        drop(session);
        Hsm { conf, public: publics[0], ca_public: publics[1] }
    })
}

/// Runs `tipcerts` with the process's SoftHSM2 configuration; its stdout.
fn tipcerts(hsm: &Hsm, args: &[&str]) -> String {
    crate::lifecycle::tipcerts_with(&[("SOFTHSM2_CONF", &hsm.conf)], args)
}

/// The user PIN in an owner-only file of `dir`.
fn pin_file(dir: &Path, name: &str, pin: &str) -> PathBuf {
    let f = dir.join(name);
    tiprelay_common::files::write_private(&f, format!("{pin}\n").as_bytes()).unwrap();
    f
}

/// Certifies the token's relay signing key as the operator would: `tipcerts keys
/// token-public` reads its public key from the token, `tipcerts issue-relay
/// --signing-public-key` certifies it with the dev operator CA of `pki` (no `sign.key` is
/// written); the new `sign.crt` replaces `relay/sign.crt`. Returns its DER.
fn certify_token_key(hsm: &Hsm, pki: &Path) -> Vec<u8> {
    let pin = pin_file(pki, "certify-pin", USER_PIN);
    let public = pki.join("relay-sign.pub");
    tipcerts(
        hsm,
        &[
            "keys",
            "token-public",
            "--key-uri",
            &format!("pkcs11:token={TOKEN};object={OBJECT}"),
            "--pkcs11-module",
            MODULE,
            "--pkcs11-pin-file",
            pin.to_str().unwrap(),
            "--out",
            public.to_str().unwrap(),
        ],
    );
    let out = pki.join("relay-token");
    let ca = pki.join("operator-ca");
    let (ca, public, out_s) = (ca.to_str().unwrap(), public.to_str().unwrap(), out.to_str().unwrap());
    tipcerts(
        hsm,
        &[
            "issue-relay",
            "--ca",
            ca,
            "--name",
            "dev-relay",
            "--dns",
            "localhost",
            "--ip",
            "127.0.0.1",
            "--signing-public-key",
            public,
            "--out",
            out_s,
        ],
    );
    assert!(!out.join("sign.key").exists(), "no signing key file for a token key");
    assert!(out.join("tls.key").exists());
    std::fs::copy(out.join("sign.crt"), pki.join("relay/sign.crt")).unwrap();
    let der = tiprelay_common::files::read_cert(&pki.join("relay/sign.crt")).unwrap().to_vec();
    let summary = tiprelay_proto::summarize_certificate(&der).unwrap();
    assert_eq!(summary.ed25519_public_key, Some(hsm.public));
    der
}

/// A dev PKI in `dir` for a relay on `addr` whose signing key is the token's `object`,
/// logging in with `pin`: the relay's `sign.key` deleted, `sign.crt` the token key's.
/// Returns relay.toml and the signing certificate (DER).
fn token_pki(dir: &Path, addr: std::net::SocketAddr, object: &str, pin: &str) -> (PathBuf, Vec<u8>) {
    let hsm = token();
    let pin_file = dir.join("pin");
    tiprelay_common::files::write_private(&pin_file, format!("{pin}\n").as_bytes()).unwrap();
    let rt = make_pki(dir, addr, |t| {
        *t = t.replace(
            "signing_key = \"relay/sign.key\"",
            &format!(
                "signing_key = \"pkcs11:token={TOKEN};object={object}\"\npkcs11_module = \"{MODULE}\"\npkcs11_pin_file = \"{}\"",
                pin_file.display()
            ),
        )
    });
    let pki = dir.join("pki");
    std::fs::remove_file(pki.join("relay/sign.key")).unwrap();
    let cert = certify_token_key(hsm, &pki);
    (rt, cert)
}

fn tiprelay(hsm: &Hsm, args: &[&str], rt: &Path, lang: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tiprelay"))
        .args(args)
        .arg("--config")
        .arg(rt)
        .env("SOFTHSM2_CONF", &hsm.conf)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", lang)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_and_checkpoints_are_signed_by_the_key_in_softhsm() {
    let hsm = token();
    let dir = tempfile::tempdir().unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let (rt, cert) = token_pki(dir.path(), addr, OBJECT, USER_PIN);
    let cfg = RelayConfig::load(&rt).unwrap();
    let SigningKeySource::Token(t) = &cfg.signing_key else { panic!("{:?}", cfg.signing_key) };
    assert_eq!(t.uri.to_string(), format!("pkcs11:token={TOKEN};object={OBJECT}"));
    assert!(!dir.path().join("pki/relay/sign.key").exists());

    // check-config opens the token, signs once and checks the key against sign.crt.
    let o = tiprelay(hsm, &["check-config"], &rt, "C.UTF-8");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let trust = tiprelay_common::files::load_trust(&cfg.trust).unwrap();
    let relay = tiprelay::server::start(cfg, Some(socket)).await.unwrap();
    let mx = Client::open(ClientConfig::load(&dir.path().join("pki/MX/analyst.toml")).unwrap()).unwrap();
    let (tip, _) = mx.compose(draft("US", "Grupo armado cruzando por Palomas")).unwrap();
    let c = connect(&mx).await;
    let sent = mx.send(&c, &tip.id).await.unwrap();
    assert_eq!(sent.receipt.seq, 1);

    // The receipt the client kept verifies, and was signed under the token key's certificate.
    let out = mx.store.get_out(tip.id.as_bytes()).unwrap().unwrap();
    let receipt = tiprelay_proto::verify::<Receipt>(out.receipt.as_deref().unwrap(), &trust, ms_now_ts()).unwrap();
    assert_eq!(receipt.signer_cert, Digest::of(&cert));
    assert_eq!(receipt.message.tip, tip.id);

    // A fresh audit checkpoint: signed by the token too, and the client's log check passes.
    let status = mx.check_log_fresh(&c, false, true).await.unwrap();
    assert!(status.checkpoint.is_some());
    let sc = match c.request(&tiprelay_proto::wire::Request::Checkpoint { fresh: false }).await.unwrap() {
        tiprelay_proto::wire::Response::Checkpoint { checkpoint: Some(sc) } => sc,
        other => panic!("{other:?}"),
    };
    let checkpoint = tiprelay_proto::verify::<Checkpoint>(&sc.checkpoint, &trust, ms_now_ts()).unwrap();
    assert_eq!(checkpoint.signer_cert, Digest::of(&cert));
    assert!(checkpoint.message.size >= 1);

    // The US analyst receives the tip (the relay's forwarding is unchanged).
    let us = Client::open(ClientConfig::load(&dir.path().join("pki/US/analyst.toml")).unwrap()).unwrap();
    let cu = connect(&us).await;
    let got = us.sync_inbox(&cu).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].tip, tip);
    c.close().await;
    cu.close().await;
    relay.shutdown().await.unwrap();
}

fn ms_now_ts() -> tiprelay_proto::Timestamp {
    tiprelay::storage::now()
}

#[test]
fn a_wrong_pin_refuses_the_start() {
    let hsm = token();
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = token_pki(dir.path(), "127.0.0.1:9".parse().unwrap(), OBJECT, "000000");
    let o = tiprelay(hsm, &["serve"], &rt, "C.UTF-8");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("token {TOKEN} refused the PIN in")), "{err}");
    assert!(!err.contains("000000"), "the PIN must never be printed: {err}");
    // check-config names the key at fault; in Spanish too.
    let o = tiprelay(hsm, &["check-config"], &rt, "es_MX.UTF-8");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("relay.signing_key") && err.contains(&format!("el token {TOKEN} rechazó el PIN")), "{err}");
}

#[test]
fn a_missing_object_refuses_the_start() {
    let hsm = token();
    let dir = tempfile::tempdir().unwrap();
    let (rt, _) = token_pki(dir.path(), "127.0.0.1:9".parse().unwrap(), "no-such-key", USER_PIN);
    let o = tiprelay(hsm, &["serve"], &rt, "C.UTF-8");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("token {TOKEN} holds no private key with object=no-such-key")), "{err}");
}

#[test]
fn a_missing_module_and_a_pin_in_the_uri_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let hsm = token();
    let (rt, _) = token_pki(dir.path(), "127.0.0.1:9".parse().unwrap(), OBJECT, USER_PIN);
    let text = std::fs::read_to_string(&rt).unwrap();
    std::fs::write(&rt, text.replace(MODULE, "/usr/lib/nothing/libnone.so")).unwrap();
    let o = tiprelay(hsm, &["serve"], &rt, "C.UTF-8");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("the PKCS#11 module /usr/lib/nothing/libnone.so (`pkcs11_module`) does not exist"), "{err}");
    std::fs::write(&rt, text.replace(&format!("object={OBJECT}\""), &format!("object={OBJECT}?pin-value=1234\"")))
        .unwrap();
    let o = tiprelay(hsm, &["serve"], &rt, "C.UTF-8");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("relay.signing_key") && err.contains("a PIN does not belong in the configuration"), "{err}");
}

/// A jurisdiction's CA whose root key stays in the token: `init-ca --key-uri` writes no
/// `ca.key`; the root certifies the token's key; the CA issues a principal, revokes one of
/// its certificates and writes the CRL, all signed by the token; OpenSSL and the trust store
/// verify the result.
#[test]
fn a_ca_whose_root_key_is_in_the_token_issues_revokes_and_signs_its_crl() {
    let hsm = token();
    let dir = tempfile::tempdir().unwrap();
    let pin = pin_file(dir.path(), "pin", USER_PIN);
    let ca = dir.path().join("mx-ca");
    let ca_s = ca.to_str().unwrap();
    let out = tipcerts(
        hsm,
        &[
            "init-ca",
            "--jurisdiction",
            "MX",
            "--key-uri",
            &format!("pkcs11:token={TOKEN};object={CA_OBJECT}"),
            "--pkcs11-module",
            MODULE,
            "--pkcs11-pin-file",
            pin.to_str().unwrap(),
            "--out",
            ca_s,
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["key_in_token"], true, "{v}");
    assert!(v["key"].is_null(), "{v}");
    assert!(!ca.join("ca.key").exists(), "the root key never leaves the token");
    let root = tiprelay_common::files::read_cert(&ca.join("ca.crt")).unwrap().to_vec();
    let summary = tiprelay_proto::summarize_certificate(&root).unwrap();
    assert_eq!(summary.ed25519_public_key, Some(hsm.ca_public));

    // Issue, revoke, CRL: each signed by the token (the CA directory is loaded again each time).
    let ana = dir.path().join("ana");
    tipcerts(hsm, &["issue", "--ca", ca_s, "--principal", "tiprelay://MX/analyst/ana", "--out", ana.to_str().unwrap()]);
    tipcerts(hsm, &["revoke", "--ca", ca_s, "--cert", ana.join("tls.crt").to_str().unwrap()]);
    for f in ["sign.crt", "tls.crt"] {
        let o = Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(ca.join("ca.crt"))
            .arg(ana.join(f))
            .output()
            .unwrap();
        assert!(o.status.success(), "openssl verify {f}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let o = Command::new("openssl")
        .args(["crl", "-noout", "-CAfile"])
        .arg(ca.join("ca.crt"))
        .arg("-in")
        .arg(ca.join("crl.pem"))
        .output()
        .unwrap();
    assert!(o.status.success(), "openssl crl: {}", String::from_utf8_lossy(&o.stderr));
    let trust = tiprelay_common::files::load_trust(&[tiprelay_common::files::TrustFiles {
        authority: tiprelay_proto::Authority::Jurisdiction("MX".parse().unwrap()),
        ca: ca.join("ca.crt"),
        crl: ca.join("crl.pem"),
    }])
    .unwrap();
    let mx = tiprelay_proto::Authority::Jurisdiction("MX".parse().unwrap());
    let now = ms_now_ts();
    let sign = tiprelay_common::files::read_cert(&ana.join("sign.crt")).unwrap();
    trust.verify_cert(&sign, &[], mx, tiprelay_proto::CertUsage::Signing, now).unwrap();
    let tls = tiprelay_common::files::read_cert(&ana.join("tls.crt")).unwrap();
    let e = trust.verify_cert(&tls, &[], mx, tiprelay_proto::CertUsage::TlsClient, now).unwrap_err();
    assert_eq!(e.code(), tiprelay_proto::ErrorCode::Revoked, "{e}");
}
