//! `tipcerts`: PKI tooling for tiprelay. See `tipcerts --help`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use tiprelay_certs::ca::{DEFAULT_CA_DAYS, DEFAULT_CRL_DAYS, DEFAULT_LEAF_DAYS};
use tiprelay_certs::{dev, show, Ca, CertsError};
use tiprelay_common::localize::Localize;
use tiprelay_common::t;
use tiprelay_proto::{Authority, Jurisdiction, PrincipalId, Timestamp};

/// PKI tooling for tiprelay: jurisdiction CAs, principal and relay certificates, CRLs.
///
/// Each jurisdiction runs its own root CA on its own machine and issues identities only
/// for its own principals; only root certificates and CRLs ever cross the border.
/// Private keys are written as PKCS#8 PEM with mode 0600. A failed command leaves nothing
/// half-written.
#[derive(Parser)]
#[command(
    name = "tipcerts",
    version,
    after_help = "Quick start: `tipcerts dev --out ./dev-pki` creates a complete two-jurisdiction setup."
)]
struct Cli {
    /// Print one JSON object (what was created, issued, revoked or written, with paths)
    /// instead of sentences.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a root CA: a jurisdiction's (--jurisdiction MX) or the relay operator's (--relay-operator).
    #[command(after_help = "Examples:\n  tipcerts init-ca --jurisdiction MX --out /secure/mx-ca\n  \
        tipcerts init-ca --successor-of /secure/mx-ca --out /secure/mx-ca-2   (CA rollover: the same authority's \
        next root,\n    trusted beside the old one until every certificate is reissued; see OPERATIONS.md)")]
    InitCa {
        /// Jurisdiction code (2-3 upper-case letters) whose principals this CA will certify.
        #[arg(
            long,
            conflicts_with_all = ["relay_operator", "successor_of"],
            required_unless_present_any = ["relay_operator", "successor_of"]
        )]
        jurisdiction: Option<String>,
        /// Create the relay operator's CA instead (it certifies relays only).
        #[arg(long, conflicts_with = "successor_of")]
        relay_operator: bool,
        /// CA rollover: create the successor of the CA in this directory (same authority, next
        /// root generation, a name of its own), to be trusted side by side with it.
        #[arg(long, value_name = "OLD_CA_DIR")]
        successor_of: Option<PathBuf>,
        /// The root key is an Ed25519 key pair already in a PKCS#11 token (an HSM), named by
        /// its RFC 7512 URI: the root and everything it issues are signed by the token, and
        /// no ca.key is written.
        #[arg(long, value_name = "PKCS11_URI", requires = "pkcs11_module")]
        key_uri: Option<String>,
        /// With --key-uri: the token's PKCS#11 library (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so).
        #[arg(long, value_name = "LIBRARY", requires = "key_uri")]
        pkcs11_module: Option<PathBuf>,
        /// With --key-uri: the file holding the token's user PIN (owner-only, mode 0600).
        #[arg(long, value_name = "FILE", requires = "key_uri")]
        pkcs11_pin_file: Option<PathBuf>,
        /// New directory for the CA (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Root validity in days.
        #[arg(long, default_value_t = DEFAULT_CA_DAYS)]
        days: i64,
    },
    /// Issue a principal's TLS client certificate and signing certificate (two separate keys).
    #[command(
        after_help = "Example: tipcerts issue --ca /secure/mx-ca --principal tiprelay://MX/analyst/ana --out ./ana"
    )]
    Issue {
        /// The CA directory (from init-ca).
        #[arg(long)]
        ca: PathBuf,
        /// Identity: tiprelay://JURISDICTION/KIND/NAME (KIND analyst or feed); the CA's own jurisdiction only.
        #[arg(long)]
        principal: String,
        /// New directory for tls.crt, tls.key, sign.crt, sign.key, ca.crt.
        #[arg(long)]
        out: PathBuf,
        /// Validity in days (capped at the CA's own expiry).
        #[arg(long, default_value_t = DEFAULT_LEAF_DAYS)]
        days: i64,
        /// Also write the principal's tipctl configuration to FILE (paths relative to it;
        /// needs --relay and --server-name, and --trust for each other jurisdiction).
        #[arg(long, value_name = "FILE", requires_all = ["relay", "server_name"])]
        config_out: Option<PathBuf>,
        /// With --config-out: the relay's UDP address, HOST:PORT.
        #[arg(long, value_name = "HOST:PORT", requires = "config_out")]
        relay: Option<String>,
        /// With --config-out: the DNS name in the relay's TLS certificate.
        #[arg(long, value_name = "NAME", requires = "config_out")]
        server_name: Option<String>,
        /// With --config-out: the relay operator's root and CRL, CA.crt,CRL.pem (a relay
        /// shared by the jurisdictions; leave it out for a jurisdiction's own relay).
        #[arg(long, value_name = "CA,CRL", requires = "config_out")]
        operator: Option<String>,
        /// With --config-out: another jurisdiction's root and CRL, J=CA.crt,CRL.pem (repeatable).
        #[arg(long, value_name = "J=CA,CRL", requires = "config_out")]
        trust: Vec<String>,
        /// With --config-out: language of the tips this principal writes (default by jurisdiction).
        #[arg(long, requires = "config_out")]
        lang: Option<String>,
    },
    /// Issue the relay's TLS server certificate and receipt signing certificate (operator CA only).
    #[command(after_help = "Examples:\n  \
                      tipcerts issue-relay --ca ./operator-ca --dns relay.example --ip 127.0.0.1 --out ./relay\n      \
                      the shared relay (hub mode): tiprelay://OPERATOR/relay/relay\n  \
                      tipcerts issue-relay --ca ./MX/ca --name mx --dns relay.mx.example --out ./MX/relay\n      \
                      Mexico's own relay (federation): tiprelay://MX/relay/mx, whose TLS certificate also\n      \
                      authenticates it to the US relay (docs/OPERATIONS.md, \"Federation\")")]
    IssueRelay {
        /// The CA directory: the relay operator's (hub mode), or a jurisdiction's for that
        /// jurisdiction's own relay (federation).
        #[arg(long)]
        ca: PathBuf,
        /// Relay name: its identity becomes tiprelay://OPERATOR/relay/NAME, or
        /// tiprelay://J/relay/NAME with jurisdiction J's CA.
        #[arg(long, default_value = "relay")]
        name: String,
        /// DNS name clients dial (repeatable).
        #[arg(long)]
        dns: Vec<String>,
        /// IP address clients dial (repeatable).
        #[arg(long)]
        ip: Vec<IpAddr>,
        /// New directory for tls.crt, tls.key, sign.crt, sign.key, ca.crt.
        #[arg(long)]
        out: PathBuf,
        /// Validity in days.
        #[arg(long, default_value_t = DEFAULT_LEAF_DAYS)]
        days: i64,
        /// The relay's signing key lives in a PKCS#11 token: certify this public key (PEM
        /// "PUBLIC KEY", from `tipcerts keys token-public`) in sign.crt, and write no sign.key.
        #[arg(long, value_name = "FILE")]
        signing_public_key: Option<PathBuf>,
    },
    /// Renew a principal's or a relay's certificates before they expire: new keys, the same
    /// identity (and, for a relay, the same DNS and IP names), valid from now. The old
    /// certificates are not revoked: receipts and tips signed with the old keys keep
    /// verifying until the old certificates expire.
    #[command(after_help = "Examples:\n  \
        tipcerts renew --ca /secure/mx-ca --cert /etc/tipctl/ana/sign.crt --out ./ana-2027\n      \
        a principal: renews its tls.crt and sign.crt (the pair beside the file given)\n  \
        tipcerts renew --ca /secure/operator-ca --cert /etc/tiprelay/tls.crt --out ./relay-2027\n      \
        the relay: the same name, DNS and IP names; then restart it on the new files\n\
        See docs/OPERATIONS.md, \"Renewing certificates\".")]
    Renew {
        /// The CA directory that issued the certificate.
        #[arg(long)]
        ca: PathBuf,
        /// A current certificate (tls.crt or sign.crt; the other one is looked for beside
        /// it). A relay's needs its tls.crt beside it, for the DNS and IP names.
        #[arg(long)]
        cert: PathBuf,
        /// New directory for tls.crt, tls.key, sign.crt, sign.key, ca.crt.
        #[arg(long)]
        out: PathBuf,
        /// Validity in days from now (capped at the CA's own expiry).
        #[arg(long, default_value_t = DEFAULT_LEAF_DAYS)]
        days: i64,
    },
    /// Revoke a certificate issued by this CA and rewrite the CA's crl.pem.
    Revoke {
        /// The CA directory.
        #[arg(long)]
        ca: PathBuf,
        /// The certificate to revoke (PEM or DER).
        #[arg(long)]
        cert: PathBuf,
    },
    /// Write a fresh CRL (new number, new nextUpdate). Publish it before the old one goes stale.
    Crl {
        /// The CA directory.
        #[arg(long)]
        ca: PathBuf,
        /// Where to write the CRL (PEM); default: the CA's crl.pem.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Days until nextUpdate.
        #[arg(long, default_value_t = DEFAULT_CRL_DAYS)]
        days: i64,
    },
    /// Create a complete development setup: operator CA, relay, jurisdiction CAs, principals,
    /// configs; with --federated, one relay per jurisdiction, peered across the border.
    #[command(after_help = "Examples:\n  \
        tipcerts dev --out ./dev-pki --jurisdictions MX,US --relay-addr 127.0.0.1:4433\n      \
        one shared relay (hub mode): dev-pki/relay.toml, dev-pki/MX/analyst.toml, ...\n  \
        tipcerts dev --federated --out ./fed-pki\n      \
        Mexico's relay on 127.0.0.1:4433 (fed-pki/MX/relay.toml) and the United States' on\n      \
        127.0.0.1:4434 (fed-pki/US/relay.toml), each certified by its own jurisdiction's CA;\n      \
        clients (fed-pki/MX/analyst.toml, ...) talk to their own jurisdiction's relay only\n  \
        tipcerts dev --federated --out ./fed-pki --relay-addr MX=10.0.0.1:4433 --relay-addr US=10.0.1.1:4433")]
    Dev {
        /// Output directory (refused if it exists, unless --force).
        #[arg(long)]
        out: PathBuf,
        /// Jurisdictions, comma separated (every pair may exchange tips). With --federated:
        /// exactly two.
        #[arg(long, default_value = "MX,US", value_delimiter = ',')]
        jurisdictions: Vec<String>,
        /// Address the relay will listen on and clients will dial (default 127.0.0.1:4433).
        /// With --federated: J=HOST:PORT, once per jurisdiction (defaults 127.0.0.1:4433
        /// for the first and 127.0.0.1:4434 for the second).
        #[arg(long = "relay-addr")]
        relay_addr: Vec<String>,
        /// One relay per jurisdiction, each certified by its own jurisdiction's CA, peered
        /// with the other (docs/OPERATIONS.md, "Federation").
        #[arg(long)]
        federated: bool,
        /// Replace an existing output directory.
        #[arg(long)]
        force: bool,
    },
    /// Private key files.
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// Print a readable summary of certificates and CRLs in a file.
    Show {
        /// PEM or DER file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Rewrite Ed25519 private keys written by earlier versions (PKCS#8 v2, which OpenSSL 3.0
    /// and Python's `cryptography` refuse) as PKCS#8 v1, in place, atomically, mode 0600. The
    /// keys themselves do not change; files already in v1 are left as they are.
    #[command(after_help = "Example: tipcerts keys convert /etc/tiprelay/*/*.key /secure/mx-ca/ca.key\n\
                      Then `openssl pkey -in FILE -noout` reads each of them.")]
    Convert {
        /// Key files (PEM).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Encrypt private keys with a passphrase, in place, atomically, mode 0600: PKCS#8 PBES2
    /// (scrypt, AES-256-CBC), which tiprelay, tipctl, tipcerts and OpenSSL 3 read. The relay
    /// and tipctl then take the passphrase from the file named by TIPRELAY_KEY_PASSPHRASE_FILE,
    /// the systemd credential key-passphrase, or (tipctl, tipcerts) a prompt.
    #[command(
        after_help = "Example: tipcerts keys encrypt --passphrase-file /run/credentials/pass /secure/mx-ca/ca.key\n\
                      Then `openssl pkey -in FILE -passin file:PASSFILE -noout` reads it."
    )]
    Encrypt {
        /// Key files (PEM); files already encrypted are left as they are.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// File holding the passphrase (one line, at least 12 characters); without it, the
        /// passphrase is asked twice at the terminal.
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Print (or write) the public key of an Ed25519 key pair in a PKCS#11 token, as PEM
    /// "PUBLIC KEY": what `issue-relay --signing-public-key` certifies for a relay whose
    /// signing key stays in the token.
    #[command(
        after_help = "Example: tipcerts keys token-public --key-uri 'pkcs11:token=relay;object=receipt-signing' \\\n  \
                      --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --pkcs11-pin-file /etc/tiprelay/hsm-pin --out relay-sign.pub"
    )]
    TokenPublic {
        /// The key's PKCS#11 URI (RFC 7512).
        #[arg(long, value_name = "PKCS11_URI")]
        key_uri: String,
        /// The token's PKCS#11 library.
        #[arg(long, value_name = "LIBRARY")]
        pkcs11_module: PathBuf,
        /// The file holding the token's user PIN (owner-only).
        #[arg(long, value_name = "FILE")]
        pkcs11_pin_file: Option<PathBuf>,
        /// Write the PEM here instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `path` made absolute against the current directory (a CA records where its token's
/// library and PIN file are, to be found from any directory later).
fn absolute(path: &std::path::Path) -> Result<PathBuf> {
    std::path::absolute(path).with_context(|| t!("certs-read-failed", "path" => path.display().to_string()))
}

/// The passphrase for `keys encrypt`: from the file, else asked twice at the terminal.
fn new_passphrase(file: Option<&std::path::Path>) -> Result<zeroize::Zeroizing<String>> {
    let p = match file {
        Some(f) => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(f)
                    .with_context(|| t!("certs-read-failed", "path" => f.display().to_string()))?,
            );
            zeroize::Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_owned())
        }
        None => {
            let first =
                zeroize::Zeroizing::new(rpassword::prompt_password(format!("{} ", t!("certs-passphrase-new")))?);
            let again =
                zeroize::Zeroizing::new(rpassword::prompt_password(format!("{} ", t!("certs-passphrase-again")))?);
            if first != again {
                bail!(t!("certs-passphrase-differ"));
            }
            first
        }
    };
    if p.chars().count() < 12 {
        bail!(t!("certs-passphrase-short"));
    }
    Ok(p)
}

fn keys_encrypt(files: &[PathBuf], passphrase_file: Option<&std::path::Path>, json: bool) -> Result<()> {
    use rustls_pki_types::pem::PemObject;
    let pass = new_passphrase(passphrase_file)?;
    let (mut done, mut already) = (Vec::new(), Vec::new());
    for f in files {
        tiprelay_common::files::check_key_file(f)?;
        let bytes = zeroize::Zeroizing::new(
            std::fs::read(f).with_context(|| t!("certs-read-failed", "path" => f.display().to_string()))?,
        );
        if String::from_utf8_lossy(&bytes).contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            already.push(f.display().to_string());
            continue;
        }
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(&bytes)
            .map_err(|_| anyhow::anyhow!(t!("certs-not-a-key", "path" => f.display().to_string())))?;
        let pem = tiprelay_common::files::encrypt_key_pem(der.secret_pkcs8_der(), pass.as_bytes())
            .map_err(|e| anyhow::anyhow!(t!("certs-encrypt-failed", "path" => f.display().to_string(), "why" => e)))?;
        tiprelay_common::files::write_private(f, pem.as_bytes())
            .with_context(|| t!("certs-write-failed", "path" => f.display().to_string()))?;
        done.push(f.display().to_string());
    }
    if json {
        println!("{}", serde_json::json!({"encrypted": done, "already_encrypted": already}));
    } else {
        for f in &done {
            println!("{}", t!("certs-encrypted", "file" => f.as_str()));
        }
        for f in &already {
            println!("{}", t!("certs-already-encrypted", "file" => f.as_str()));
        }
    }
    Ok(())
}

fn keys_convert(files: &[PathBuf], json: bool) -> Result<()> {
    use tiprelay_certs::keys::{convert, Converted};
    let (mut done, mut already, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    for f in files {
        match convert(f) {
            Ok(Converted::Rewritten) => done.push(f.display().to_string()),
            Ok(Converted::AlreadyV1) => already.push(f.display().to_string()),
            Err(e) => failed.push((f.display().to_string(), e.to_string(), e.localize())),
        }
    }
    if json {
        let failed: Vec<_> = failed.iter().map(|(f, e, _)| serde_json::json!({"file": f, "error": e})).collect();
        println!("{}", serde_json::json!({"converted": done, "already_v1": already, "failed": failed}));
    } else {
        for f in &done {
            println!("{}", t!("certs-converted", "file" => f.as_str()));
        }
        for f in &already {
            println!("{}", t!("certs-already-v1", "file" => f.as_str()));
        }
        for (_, _, e) in &failed {
            eprintln!("tipcerts: {}: {e}", t!("error"));
        }
    }
    if !failed.is_empty() {
        bail!(t!("certs-convert-failed", "failed" => failed.len(), "total" => files.len()));
    }
    Ok(())
}

/// `tipcerts renew`: the new certificates, what to install where, and how long the old
/// ones stay valid.
fn renew(ca: &std::path::Path, cert: &std::path::Path, out: &std::path::Path, days: i64, json: bool) -> Result<()> {
    let mut ca = Ca::load(ca)?;
    let r =
        ca.renew(cert, out, days).with_context(|| t!("certs-renew-renewing", "cert" => cert.display().to_string()))?;
    let (new, old) = (r.dir.display().to_string(), r.old_dir.display().to_string());
    let join = |d: &str, f: &str| std::path::Path::new(d).join(f).display().to_string();
    let install: Vec<(String, String)> = ["tls.crt", "tls.key", "sign.crt", "sign.key", "ca.crt"]
        .iter()
        .map(|f| (join(&new, f), join(&old, f)))
        .collect();
    // The old certificates keep verifying until the first of them ends.
    let old_until = r.old.iter().map(|o| o.not_after).min().unwrap_or(r.not_after);
    let old_expired = old_until < now();
    if json {
        let v = serde_json::json!({
            "renewed": r.identity.to_string(),
            "kind": if r.relay { "relay" } else { "principal" },
            "dir": new,
            "days": days,
            "not_after": r.not_after.to_string(),
            "dns": r.dns,
            "ip": r.ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "install": install.iter().map(|(n, o)| serde_json::json!({"new": n, "replaces": o})).collect::<Vec<_>>(),
            "old": r.old.iter().map(|o| serde_json::json!({"file": o.path.display().to_string(), "serial": o.serial,
                "not_after": o.not_after.to_string()})).collect::<Vec<_>>(),
            "old_valid_until": old_until.to_string(),
            "old_expired": old_expired,
            "old_revoked": false,
        });
        println!("{v}");
        return Ok(());
    }
    let date = tiprelay_common::expiry::date;
    println!(
        "{}",
        t!("certs-renew-done", "identity" => r.identity.to_string(), "dir" => new.as_str(), "until" => date(r.not_after))
    );
    for pair in install.chunks(2) {
        let line = pair.iter().map(|(n, o)| t!("certs-renew-install", "new" => n.as_str(), "old" => o.as_str()));
        println!("{}", sub(line.collect::<Vec<_>>().join("; ")));
    }
    println!(
        "{}",
        sub(if old_expired {
            t!("certs-renew-old-expired", "until" => date(old_until))
        } else {
            t!("certs-renew-overlap", "until" => date(old_until))
        })
    );
    println!("{}", sub(if r.relay { t!("certs-renew-then-relay") } else { t!("certs-renew-then-principal") }));
    Ok(())
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    Timestamp::from_unix_ms(u64::try_from(ms).unwrap_or(0)).unwrap_or_else(|| Timestamp::from_unix_seconds(0))
}

/// The two relays of `dev --federated`: `--relay-addr J=HOST:PORT` per jurisdiction, the
/// defaults for those not given.
fn federated_addrs(js: &[Jurisdiction], given: &[String]) -> Result<[(Jurisdiction, SocketAddr); 2]> {
    let [a, b] = js else {
        bail!(t!("certs-federated-two"));
    };
    let [da, db] = dev::default_federated_addrs();
    let mut out = [(*a, da), (*b, db)];
    for g in given {
        let Some((j, addr)) = g.split_once('=') else {
            bail!(t!("certs-relay-addr-whose", "given" => g.as_str()));
        };
        let j: Jurisdiction = j.trim().parse()?;
        let addr: SocketAddr =
            addr.trim().parse().with_context(|| t!("certs-relay-addr-not-j-host-port", "given" => g.as_str()))?;
        match out.iter_mut().find(|(k, _)| *k == j) {
            Some(slot) => slot.1 = addr,
            None => bail!(t!(
                "certs-relay-addr-not-listed",
                "given" => g.as_str(),
                "jurisdiction" => j.to_string(),
                "a" => a.to_string(),
                "b" => b.to_string()
            )),
        }
    }
    Ok(out)
}

/// A line under a summary's first line.
fn sub(s: String) -> String {
    format!("  {s}")
}

/// Prints `lines` for people, or `v` with --json.
fn say(json: bool, v: serde_json::Value, lines: &[String]) {
    if json {
        println!("{v}");
    } else {
        for l in lines {
            println!("{l}");
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let json = cli.json;
    match cli.cmd {
        Cmd::InitCa {
            jurisdiction,
            relay_operator,
            successor_of,
            key_uri,
            pkcs11_module,
            pkcs11_pin_file,
            out,
            days,
        } => {
            let (authority, generation) = match (jurisdiction, relay_operator, &successor_of) {
                (_, _, Some(old)) => Ca::successor(old)?,
                (_, true, None) => (Authority::Operator, 1),
                (Some(j), false, None) => (Authority::Jurisdiction(j.parse::<Jurisdiction>()?), 1),
                (None, false, None) => bail!(t!("certs-init-ca-which")),
            };
            let token = match (key_uri, pkcs11_module) {
                (Some(uri), Some(module)) => Some(tiprelay_certs::ca::CaToken {
                    key_uri: uri,
                    module: absolute(&module)?,
                    pin_file: pkcs11_pin_file.as_deref().map(absolute).transpose()?,
                }),
                _ => None,
            };
            let in_token = token.is_some();
            let dir = Ca::init(&out, authority, days, generation, token)
                .with_context(|| t!("certs-creating-ca", "authority" => authority.to_string()))?;
            let d = dir.display();
            let secret = if in_token {
                t!("certs-created-ca-token")
            } else {
                t!("certs-created-ca-secret", "dir" => d.to_string())
            };
            let mut lines = vec![
                t!("certs-created-ca", "authority" => authority.to_string(), "dir" => d.to_string()),
                sub(t!("certs-created-ca-public", "dir" => d.to_string())),
                sub(secret),
            ];
            if let Some(old) = &successor_of {
                let o = old.display().to_string();
                lines.push(t!("certs-created-ca-rollover", "generation" => generation, "old" => o.clone(), "dir" => d.to_string()));
            }
            say(
                json,
                serde_json::json!({"created": "ca", "authority": authority.to_string(), "dir": d.to_string(),
                    "generation": generation,
                    "successor_of": successor_of.as_ref().map(|p| p.display().to_string()),
                    "certificate": format!("{d}/ca.crt"), "crl": format!("{d}/crl.pem"),
                    "key": if in_token { serde_json::Value::Null } else { format!("{d}/ca.key").into() },
                    "key_in_token": in_token}),
                &lines,
            );
        }
        Cmd::Issue { ca, principal, out, days, config_out, relay, server_name, operator, trust, lang } => {
            let id: PrincipalId = principal.parse()?;
            // The configuration's inputs are checked before anything is issued.
            let config = match &config_out {
                Some(file) => {
                    let pair = |v: &str, flag: &str| -> Result<(PathBuf, PathBuf)> {
                        let (a, b) = v.split_once(',').ok_or_else(|| {
                            anyhow::anyhow!(t!("certs-config-out-pair", "flag" => flag, "value" => v))
                        })?;
                        Ok((PathBuf::from(a.trim()), PathBuf::from(b.trim())))
                    };
                    let mut others = Vec::new();
                    for t in &trust {
                        let (j, files) = t.split_once('=').ok_or_else(|| {
                            anyhow::anyhow!(t!("certs-config-out-pair", "flag" => "--trust", "value" => t.as_str()))
                        })?;
                        let (c, r) = pair(files, "--trust")?;
                        others.push((j.trim().to_ascii_uppercase().parse::<Jurisdiction>()?, c, r));
                    }
                    Some(tiprelay_certs::dev::ClientConfigOptions {
                        file: file.clone(),
                        dir: out.clone(),
                        identity: id.clone(),
                        relay: relay.clone().unwrap_or_default(),
                        server_name: server_name.clone().unwrap_or_default(),
                        operator: operator.as_deref().map(|o| pair(o, "--operator")).transpose()?,
                        trust: others,
                        lang: lang.clone(),
                    })
                }
                None => None,
            };
            if let Some(o) = &config {
                o.check()?;
            }
            let ca_dir = ca.clone();
            let mut ca = Ca::load(&ca)?;
            let dir = ca
                .issue_principal(&id, &out, days)
                .with_context(|| t!("certs-issuing", "identity" => id.to_string()))?;
            if let Some(o) = &config {
                // The principal's own CA's CRL travels with it, as its root does.
                std::fs::copy(ca_dir.join("crl.pem"), dir.join("crl.pem"))
                    .with_context(|| t!("certs-write-failed", "path" => dir.join("crl.pem").display().to_string()))?;
                tiprelay_certs::dev::write_client_config(o)?;
            }
            say(
                json,
                serde_json::json!({"issued": id.to_string(), "dir": dir.display().to_string(), "days": days,
                                   "config": config.as_ref().map(|o| o.file.display().to_string())}),
                &[
                    t!("certs-issued", "identity" => id.to_string(), "dir" => dir.display().to_string()),
                    sub(t!("certs-issued-tls")),
                    sub(t!("certs-issued-sign")),
                ],
            );
            if let (Some(o), false) = (&config, json) {
                println!("{}", t!("certs-config-written", "file" => o.file.display().to_string()));
            }
        }
        Cmd::IssueRelay { ca, name, dns, ip, out, days, signing_public_key } => {
            let mut ca = Ca::load(&ca)?;
            let (dir, id) = match &signing_public_key {
                Some(f) => {
                    let public = tiprelay_certs::keys::read_ed25519_public(f)?;
                    ca.issue_relay_for_token_key(&name, &dns, &ip, public, &out, days)
                }
                None => ca.issue_relay(&name, &dns, &ip, &out, days),
            }
            .with_context(|| t!("certs-issuing-relay"))?;
            say(
                json,
                serde_json::json!({"issued": id.to_string(), "dir": dir.display().to_string(), "days": days}),
                &[t!("certs-issued", "identity" => id.to_string(), "dir" => dir.display().to_string())],
            );
        }
        Cmd::Renew { ca, cert, out, days } => renew(&ca, &cert, &out, days, json)?,
        Cmd::Revoke { ca, cert } => {
            let mut ca = Ca::load(&ca)?;
            let who = ca.revoke(&cert)?;
            let n = ca.state().crl_number;
            say(
                json,
                serde_json::json!({"revoked": who.to_string(), "crl_number": n}),
                &[t!("certs-revoked", "identity" => who.as_str(), "number" => n)],
            );
        }
        Cmd::Crl { ca: dir, out, days } => {
            let mut ca = Ca::load(&dir)?;
            let out = out.unwrap_or_else(|| dir.join("crl.pem"));
            ca.write_crl(&out, days)?;
            let n = ca.state().crl_number;
            say(
                json,
                serde_json::json!({"crl": out.display().to_string(), "crl_number": n, "next_update_days": days}),
                &[t!("certs-crl-written", "number" => n, "file" => out.display().to_string(), "days" => days)],
            );
        }
        Cmd::Dev { out, jurisdictions, relay_addr, federated, force } => {
            let jurisdictions =
                jurisdictions.iter().map(|j| j.trim().parse::<Jurisdiction>()).collect::<Result<Vec<_>, _>>()?;
            if federated {
                let relays = federated_addrs(&jurisdictions, &relay_addr)?;
                let dir = dev::create_federated(&dev::FederatedOptions { out, relays, force })?;
                let d = dir.display();
                let mut lines = vec![t!("certs-dev-federated", "dir" => d.to_string())];
                let mut sides = Vec::new();
                for (j, addr) in relays {
                    lines.push(sub(t!(
                        "certs-dev-federated-side",
                        "jurisdiction" => j.to_string(),
                        "dir" => d.to_string(),
                        "identity" => format!("tiprelay://{j}/relay/{}", dev::federated_relay_name(j)),
                        "address" => addr.to_string()
                    )));
                    sides.push(serde_json::json!({"jurisdiction": j.as_str(), "relay_config": format!("{d}/{j}/relay.toml"),
                        "address": addr.to_string(), "analyst": format!("{d}/{j}/analyst.toml"), "feed": format!("{d}/{j}/feed.toml")}));
                }
                say(json, serde_json::json!({"dir": d.to_string(), "federated": true, "relays": sides}), &lines);
            } else {
                let relay_addr = match relay_addr.as_slice() {
                    [] => SocketAddr::from(([127, 0, 0, 1], 4433)),
                    [one] => {
                        one.parse().with_context(|| t!("certs-relay-addr-not-host-port", "given" => one.as_str()))?
                    }
                    _ => bail!(t!("certs-dev-one-relay-addr")),
                };
                let dir =
                    dev::create(&dev::DevOptions { out, jurisdictions: jurisdictions.clone(), relay_addr, force })?;
                let d = dir.display();
                let mut lines = vec![
                    t!("certs-dev-setup", "dir" => d.to_string()),
                    sub(t!(
                        "certs-dev-relay",
                        "dir" => d.to_string(),
                        "identity" => format!("tiprelay://OPERATOR/relay/{}", dev::DEV_RELAY_NAME),
                        "address" => relay_addr.to_string()
                    )),
                ];
                let mut clients = Vec::new();
                for j in &jurisdictions {
                    lines.push(sub(t!("certs-dev-clients", "jurisdiction" => j.to_string(), "dir" => d.to_string())));
                    clients.push(
                        serde_json::json!({"jurisdiction": j.as_str(), "analyst": format!("{d}/{j}/analyst.toml"),
                        "feed": format!("{d}/{j}/feed.toml")}),
                    );
                }
                say(
                    json,
                    serde_json::json!({"dir": d.to_string(), "federated": false, "relay_config": format!("{d}/relay.toml"),
                        "address": relay_addr.to_string(), "clients": clients}),
                    &lines,
                );
            }
        }
        Cmd::Keys { cmd: KeysCmd::Convert { files } } => keys_convert(&files, json)?,
        Cmd::Keys { cmd: KeysCmd::Encrypt { files, passphrase_file } } => {
            keys_encrypt(&files, passphrase_file.as_deref(), json)?
        }
        Cmd::Keys { cmd: KeysCmd::TokenPublic { key_uri, pkcs11_module, pkcs11_pin_file, out } } => {
            let uri = tiprelay_common::pkcs11::KeyUri::parse(&key_uri).map_err(CertsError::Invalid)?;
            let config =
                tiprelay_common::pkcs11::TokenKeyConfig { uri, module: pkcs11_module, pin_file: pkcs11_pin_file };
            let key = tiprelay_common::pkcs11::TokenKey::open(&config).map_err(|e| CertsError::Invalid(e.msg()))?;
            let public = tiprelay_proto::envelope::ExternalKey::public_key(&key);
            let pem = tiprelay_certs::keys::ed25519_public_pem(&public);
            match &out {
                Some(f) => {
                    std::fs::write(f, &pem)
                        .with_context(|| t!("certs-write-failed", "path" => f.display().to_string()))?;
                    say(
                        json,
                        serde_json::json!({"public_key": f.display().to_string(), "key_uri": key_uri}),
                        &[
                            t!("certs-token-public-written", "file" => f.display().to_string(), "uri" => key_uri.clone()),
                        ],
                    );
                }
                None => print!("{pem}"),
            }
        }
        Cmd::Show { file } => {
            let items = show::show(&file, now())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&items)?);
            } else {
                print!("{}", show::render_text(&items));
            }
        }
    }
    Ok(())
}

/// An error for a person, in this process's language (`tipcerts`' own errors from Fluent).
fn render_error(e: &anyhow::Error) -> String {
    tiprelay_common::localize::render_chain(e.chain(), &|c| c.downcast_ref::<CertsError>().map(|e| e.localize()))
}

fn main() -> ExitCode {
    let cli: Cli = match tiprelay_common::i18n::parse_args("tipcerts") {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tipcerts: {}: {}", t!("error"), render_error(&e));
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_option_has_its_spanish_help() {
        use clap::CommandFactory;
        let missing = tiprelay_common::i18n::missing_spanish_help(&Cli::command());
        assert!(missing.is_empty(), "add to common/locales/es/main.ftl:\n{}", missing.join("\n"));
    }
}
