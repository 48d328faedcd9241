//! `tipcerts`: PKI tooling for tiprelay. See `tipcerts --help`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use tiprelay_certs::ca::{DEFAULT_CA_DAYS, DEFAULT_CRL_DAYS, DEFAULT_LEAF_DAYS};
use tiprelay_certs::{dev, show, Ca};
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
    #[command(after_help = "Example: tipcerts init-ca --jurisdiction MX --out /secure/mx-ca")]
    InitCa {
        /// Jurisdiction code (2-3 upper-case letters) whose principals this CA will certify.
        #[arg(long, conflicts_with = "relay_operator", required_unless_present = "relay_operator")]
        jurisdiction: Option<String>,
        /// Create the relay operator's CA instead (it certifies relays only).
        #[arg(long)]
        relay_operator: bool,
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
}

fn keys_convert(files: &[PathBuf], json: bool) -> Result<()> {
    use tiprelay_certs::keys::{convert, Converted};
    let (mut done, mut already, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    for f in files {
        match convert(f) {
            Ok(Converted::Rewritten) => done.push(f.display().to_string()),
            Ok(Converted::AlreadyV1) => already.push(f.display().to_string()),
            Err(e) => failed.push((f.display().to_string(), e.to_string())),
        }
    }
    if json {
        let failed: Vec<_> = failed.iter().map(|(f, e)| serde_json::json!({"file": f, "error": e})).collect();
        println!("{}", serde_json::json!({"converted": done, "already_v1": already, "failed": failed}));
    } else {
        for f in &done {
            println!("converted to PKCS#8 v1: {f}");
        }
        for f in &already {
            println!("already PKCS#8 v1:     {f}");
        }
        for (_, e) in &failed {
            eprintln!("tipcerts: error: {e}");
        }
    }
    if !failed.is_empty() {
        bail!("{} of {} file(s) could not be converted (left as they were)", failed.len(), files.len());
    }
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
        bail!("--federated peers exactly two jurisdictions (--jurisdictions MX,US)");
    };
    let [da, db] = dev::default_federated_addrs();
    let mut out = [(*a, da), (*b, db)];
    for g in given {
        let Some((j, addr)) = g.split_once('=') else {
            bail!("--relay-addr {g}: with --federated, say whose relay: J=HOST:PORT (e.g. MX=127.0.0.1:4433)");
        };
        let j: Jurisdiction = j.trim().parse()?;
        let addr: SocketAddr = addr.trim().parse().with_context(|| format!("--relay-addr {g}: not J=HOST:PORT"))?;
        match out.iter_mut().find(|(k, _)| *k == j) {
            Some(slot) => slot.1 = addr,
            None => bail!("--relay-addr {g}: {j} is not one of --jurisdictions {a},{b}"),
        }
    }
    Ok(out)
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
        Cmd::InitCa { jurisdiction, relay_operator, out, days } => {
            let authority = match (jurisdiction, relay_operator) {
                (_, true) => Authority::Operator,
                (Some(j), false) => Authority::Jurisdiction(j.parse::<Jurisdiction>()?),
                (None, false) => bail!("give --jurisdiction CODE or --relay-operator"),
            };
            let dir = Ca::init(&out, authority, days).with_context(|| format!("creating the {authority} CA"))?;
            let d = dir.display();
            say(
                json,
                serde_json::json!({"created": "ca", "authority": authority.to_string(), "dir": d.to_string(),
                    "certificate": format!("{d}/ca.crt"), "crl": format!("{d}/crl.pem"), "key": format!("{d}/ca.key")}),
                &[
                    format!("created the {authority} root CA in {d}"),
                    format!("  public:  {d}/ca.crt and {d}/crl.pem (give these to the relay and the counterpart)"),
                    format!("  secret:  {d}/ca.key (mode 0600; keep it on this machine)"),
                ],
            );
        }
        Cmd::Issue { ca, principal, out, days } => {
            let id: PrincipalId = principal.parse()?;
            let mut ca = Ca::load(&ca)?;
            let dir = ca.issue_principal(&id, &out, days).with_context(|| format!("issuing {id}"))?;
            say(
                json,
                serde_json::json!({"issued": id.to_string(), "dir": dir.display().to_string(), "days": days}),
                &[
                    format!("issued {id} into {}", dir.display()),
                    "  tls.crt / tls.key    TLS client certificate (id-kp-clientAuth)".into(),
                    "  sign.crt / sign.key  signing certificate (id-kp-documentSigning)".into(),
                ],
            );
        }
        Cmd::IssueRelay { ca, name, dns, ip, out, days } => {
            let mut ca = Ca::load(&ca)?;
            let (dir, id) = ca.issue_relay(&name, &dns, &ip, &out, days).context("issuing the relay certificates")?;
            say(
                json,
                serde_json::json!({"issued": id.to_string(), "dir": dir.display().to_string(), "days": days}),
                &[format!("issued {id} into {}", dir.display())],
            );
        }
        Cmd::Revoke { ca, cert } => {
            let mut ca = Ca::load(&ca)?;
            let who = ca.revoke(&cert)?;
            let n = ca.state().crl_number;
            say(
                json,
                serde_json::json!({"revoked": who.to_string(), "crl_number": n}),
                &[format!("revoked {who}; the CRL is now number {n} — publish it to the relay and the counterpart")],
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
                &[format!("wrote CRL number {n} to {} (next update in {days} days)", out.display())],
            );
        }
        Cmd::Dev { out, jurisdictions, relay_addr, federated, force } => {
            let jurisdictions =
                jurisdictions.iter().map(|j| j.trim().parse::<Jurisdiction>()).collect::<Result<Vec<_>, _>>()?;
            if federated {
                let relays = federated_addrs(&jurisdictions, &relay_addr)?;
                let dir = dev::create_federated(&dev::FederatedOptions { out, relays, force })?;
                let d = dir.display();
                let mut lines = vec![format!("federated development setup in {d}")];
                let mut sides = Vec::new();
                for (j, addr) in relays {
                    lines.push(format!(
                        "  {j}: relay {d}/{j}/relay.toml (tiprelay://{j}/relay/{} on {addr}); \
                         clients {d}/{j}/analyst.toml, {d}/{j}/feed.toml",
                        dev::federated_relay_name(j)
                    ));
                    sides.push(serde_json::json!({"jurisdiction": j.as_str(), "relay_config": format!("{d}/{j}/relay.toml"),
                        "address": addr.to_string(), "analyst": format!("{d}/{j}/analyst.toml"), "feed": format!("{d}/{j}/feed.toml")}));
                }
                say(json, serde_json::json!({"dir": d.to_string(), "federated": true, "relays": sides}), &lines);
            } else {
                let relay_addr = match relay_addr.as_slice() {
                    [] => SocketAddr::from(([127, 0, 0, 1], 4433)),
                    [one] => one.parse().with_context(|| format!("--relay-addr {one}: not HOST:PORT"))?,
                    _ => bail!("one --relay-addr without --federated (a single relay)"),
                };
                let dir =
                    dev::create(&dev::DevOptions { out, jurisdictions: jurisdictions.clone(), relay_addr, force })?;
                let d = dir.display();
                let mut lines = vec![
                    format!("development setup in {d}"),
                    format!(
                        "  relay:    {d}/relay.toml (tiprelay://OPERATOR/relay/{} on {relay_addr})",
                        dev::DEV_RELAY_NAME
                    ),
                ];
                let mut clients = Vec::new();
                for j in &jurisdictions {
                    lines.push(format!("  {j}:       {d}/{j}/analyst.toml, {d}/{j}/feed.toml"));
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

fn main() -> ExitCode {
    let cli: Cli = match tiprelay_common::i18n::parse_args("tipcerts") {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tipcerts: {}: {e:#}", tiprelay_common::t!("error"));
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
