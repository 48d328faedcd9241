//! `tipcerts dev`: a complete development PKI and configuration in one directory.
//!
//! ```text
//! DIR/operator-ca/          relay operator CA (ca.crt, ca.key, ca.toml, crl.pem)
//! DIR/relay/                relay TLS server cert + receipt signing cert (tls.*, sign.*)
//! DIR/relay.toml            relay configuration
//! DIR/<J>/ca/               jurisdiction J's root CA and CRL
//! DIR/<J>/analyst/          tiprelay://<J>/analyst/analyst-1 (tls.*, sign.*, ca.crt)
//! DIR/<J>/feed/             tiprelay://<J>/feed/feed-1
//! DIR/<J>/analyst.toml      tipctl configuration of that analyst
//! DIR/<J>/feed.toml         tipctl configuration of that feed
//! ```
//!
//! `tipcerts dev --federated` (one relay per jurisdiction, peered across the border):
//!
//! ```text
//! DIR/<J>/ca/               jurisdiction J's root CA and CRL (it also certifies J's relay)
//! DIR/<J>/relay/            tiprelay://<J>/relay/<j> (tls.*: server and peer client; sign.*)
//! DIR/<J>/relay.toml        J's relay: serves J's principals, peers with the other relay
//! DIR/<J>/analyst/, feed/   J's principals, and DIR/<J>/analyst.toml, feed.toml (own relay)
//! ```
//! Paths inside the configuration files are relative to the file, so DIR can be moved.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Serialize;
use tiprelay_proto::{Authority, Jurisdiction, PrincipalId, PrincipalKind};

use crate::ca::{Ca, DEFAULT_CA_DAYS, DEFAULT_LEAF_DAYS};
use crate::error::CertsError;
use crate::fsutil::{self, Staging, PUBLIC_MODE};
use tiprelay_common::localize::Msg;

/// Name of the relay identity in a dev setup: `tiprelay://OPERATOR/relay/dev-relay`.
pub const DEV_RELAY_NAME: &str = "dev-relay";
/// DNS name in the dev relay certificate, used as the TLS server name by clients.
pub const DEV_RELAY_DNS: &str = "localhost";

/// What `tipcerts dev` creates.
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// Output directory.
    pub out: PathBuf,
    /// Jurisdictions (at least two, distinct); every pair of them may exchange tips.
    pub jurisdictions: Vec<Jurisdiction>,
    /// Address the relay listens on and clients dial.
    pub relay_addr: SocketAddr,
    /// Replace an existing `out`.
    pub force: bool,
}

/// The relay configuration file (`relay.toml`).
#[derive(Debug, Serialize)]
pub struct RelayConfigFile {
    /// Relay section.
    pub relay: RelaySection,
    /// The relay operator's CA (verifies the relay's own certificates; hub mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<CaRef>,
    /// Federation: this relay's jurisdiction and its peer relay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federation: Option<FederationSection>,
    /// One entry per jurisdiction.
    pub jurisdiction: Vec<JurisdictionRef>,
    /// Pairs allowed to exchange tips.
    pub pair: Vec<PairRef>,
}

/// `[federation]` of a federated relay's `relay.toml`.
#[derive(Debug, Serialize)]
pub struct FederationSection {
    /// The jurisdiction this relay belongs to and serves.
    pub home: String,
    /// The other jurisdiction's relay.
    pub peer: PeerSection,
}

/// `[federation.peer]`: the peer relay.
#[derive(Debug, Serialize)]
pub struct PeerSection {
    /// The peer relay's jurisdiction.
    pub jurisdiction: String,
    /// The peer relay's identity (the only relay that may peer with this one).
    pub identity: String,
    /// Its UDP address.
    pub address: String,
    /// The TLS server name in its certificate.
    pub server_name: String,
}

/// `[relay]` of `relay.toml`.
#[derive(Debug, Serialize)]
pub struct RelaySection {
    /// UDP address to listen on.
    pub listen: String,
    /// TLS server certificate (PEM).
    pub tls_cert: String,
    /// TLS server key (PEM, 0600).
    pub tls_key: String,
    /// Receipt/checkpoint signing certificate.
    pub signing_cert: String,
    /// Receipt/checkpoint signing key.
    pub signing_key: String,
    /// Store file.
    pub store: String,
}

/// A CA certificate and its CRL.
#[derive(Debug, Serialize)]
pub struct CaRef {
    /// Root certificate (PEM).
    pub ca: String,
    /// CRL (PEM).
    pub crl: String,
}

/// `[[jurisdiction]]` of `relay.toml`.
#[derive(Debug, Serialize)]
pub struct JurisdictionRef {
    /// Code.
    pub code: String,
    /// Root certificate (PEM).
    pub ca: String,
    /// CRL (PEM).
    pub crl: String,
}

/// `[[pair]]` of `relay.toml`.
#[derive(Debug, Serialize)]
pub struct PairRef {
    /// The two jurisdictions.
    pub jurisdictions: [String; 2],
}

/// A client configuration file (`<J>/analyst.toml`, `<J>/feed.toml`).
#[derive(Debug, Serialize)]
pub struct ClientConfigFile {
    /// This principal's identity.
    pub principal: String,
    /// Default language of tips written here.
    pub lang: String,
    /// Local store file.
    pub store: String,
    /// How to reach and authenticate the relay.
    pub relay: ClientRelaySection,
    /// This principal's keys.
    pub keys: KeysSection,
    /// Roots and CRLs of every jurisdiction this client verifies.
    pub trust: Vec<JurisdictionRef>,
    /// Audit log checks.
    pub audit: AuditSection,
}

/// `[audit]` of a client configuration.
#[derive(Debug, Serialize)]
pub struct AuditSection {
    /// Cosign every relay checkpoint this client verified as consistent.
    pub witness: bool,
}

/// `[relay]` of a client configuration.
#[derive(Debug, Serialize)]
pub struct ClientRelaySection {
    /// UDP address of the relay.
    pub address: String,
    /// TLS server name in the relay's certificate.
    pub server_name: String,
    /// Relay operator root certificate (hub mode; a federated relay is certified by the
    /// client's own jurisdiction, whose root is in `trust`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_ca: Option<String>,
    /// Relay operator CRL (hub mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_crl: Option<String>,
}

/// `[keys]` of a client configuration.
#[derive(Debug, Serialize)]
pub struct KeysSection {
    /// TLS client certificate.
    pub tls_cert: String,
    /// TLS client key.
    pub tls_key: String,
    /// Signing certificate.
    pub signing_cert: String,
    /// Signing key.
    pub signing_key: String,
}

fn write_toml<T: Serialize>(path: &Path, header: &str, v: &T) -> Result<(), CertsError> {
    let body = toml::to_string_pretty(v).map_err(|e| CertsError::Invalid(Msg::of_error(&e)))?;
    fsutil::write_new(path, format!("{header}\n{body}").as_bytes(), PUBLIC_MODE)
}

/// Builds the whole development setup; returns the final directory.
pub fn create(opts: &DevOptions) -> Result<PathBuf, CertsError> {
    let mut js = opts.jurisdictions.clone();
    js.sort();
    js.dedup();
    if js.len() < 2 || js.len() != opts.jurisdictions.len() {
        return Err(CertsError::Invalid(Msg::new("certs-dev-two-jurisdictions")));
    }
    let staging = Staging::new(&opts.out, opts.force)?;
    let root = staging.path();

    let mut op = Ca::init_into(&staging.subdir("operator-ca")?, Authority::Operator, DEFAULT_CA_DAYS)?;
    let mut ips: Vec<IpAddr> = vec![opts.relay_addr.ip()];
    if !opts.relay_addr.ip().is_loopback() {
        ips.push(IpAddr::from([127, 0, 0, 1]));
    }
    op.issue_relay_into(
        DEV_RELAY_NAME,
        &[DEV_RELAY_DNS.to_owned()],
        &ips,
        &staging.subdir("relay")?,
        DEFAULT_LEAF_DAYS,
    )?;
    op.save()?;

    for j in &opts.jurisdictions {
        let mut ca = Ca::init_into(&staging.subdir(&format!("{j}/ca"))?, Authority::Jurisdiction(*j), DEFAULT_CA_DAYS)?;
        let relay = || ClientRelaySection {
            address: opts.relay_addr.to_string(),
            server_name: DEV_RELAY_DNS.to_owned(),
            operator_ca: Some("../operator-ca/ca.crt".into()),
            operator_crl: Some("../operator-ca/crl.pem".into()),
        };
        write_principals(&staging, &mut ca, *j, &opts.jurisdictions, &relay)?;
        ca.save()?;
    }

    let mut pair = Vec::new();
    for (i, a) in opts.jurisdictions.iter().enumerate() {
        for b in opts.jurisdictions.iter().skip(i + 1) {
            pair.push(PairRef { jurisdictions: [a.to_string(), b.to_string()] });
        }
    }
    let relay = RelayConfigFile {
        relay: RelaySection {
            listen: opts.relay_addr.to_string(),
            tls_cert: "relay/tls.crt".into(),
            tls_key: "relay/tls.key".into(),
            signing_cert: "relay/sign.crt".into(),
            signing_key: "relay/sign.key".into(),
            store: "relay/relay.redb".into(),
        },
        operator: Some(CaRef { ca: "operator-ca/ca.crt".into(), crl: "operator-ca/crl.pem".into() }),
        federation: None,
        jurisdiction: opts
            .jurisdictions
            .iter()
            .map(|j| JurisdictionRef {
                code: j.to_string(),
                ca: format!("{j}/ca/ca.crt"),
                crl: format!("{j}/ca/crl.pem"),
            })
            .collect(),
        pair,
    };
    write_toml(
        &root.join("relay.toml"),
        "# tiprelay relay configuration (development setup made by `tipcerts dev`).\n# Paths are relative to this file.",
        &relay,
    )?;
    staging.commit()
}

/// Issues jurisdiction `j`'s dev analyst and feed with `ca` and writes their tipctl
/// configurations (`DIR/<J>/analyst.toml`, `DIR/<J>/feed.toml`), each trusting the roots of
/// `all` and reaching its relay as `relay` says.
fn write_principals(
    staging: &Staging,
    ca: &mut Ca,
    j: Jurisdiction,
    all: &[Jurisdiction],
    relay: &dyn Fn() -> ClientRelaySection,
) -> Result<(), CertsError> {
    let jdir = staging.subdir(j.as_str())?;
    for (kind, name) in [(PrincipalKind::Analyst, "analyst-1"), (PrincipalKind::Feed, "feed-1")] {
        let id = PrincipalId::new(Authority::Jurisdiction(j), kind, name)
            .map_err(|e| CertsError::Invalid(Msg::of_error(&e)))?;
        let sub = staging.subdir(&format!("{j}/{}", kind.as_str()))?;
        ca.issue_principal_into(&id, &sub, DEFAULT_LEAF_DAYS)?;
        let cfg = ClientConfigFile {
            principal: id.to_string(),
            lang: default_lang(j).to_owned(),
            store: format!("{}/tipctl.redb", kind.as_str()),
            relay: relay(),
            keys: KeysSection {
                tls_cert: format!("{}/tls.crt", kind.as_str()),
                tls_key: format!("{}/tls.key", kind.as_str()),
                signing_cert: format!("{}/sign.crt", kind.as_str()),
                signing_key: format!("{}/sign.key", kind.as_str()),
            },
            trust: trust_refs(j, all),
            audit: AuditSection { witness: true },
        };
        let header = format!(
            "# tipctl configuration for {id} (development setup made by `tipcerts dev`).\n\
             # Paths are relative to this file."
        );
        write_toml(&jdir.join(format!("{}.toml", kind.as_str())), &header, &cfg)?;
    }
    Ok(())
}

/// The `[[trust]]`/`[[jurisdiction]]` entries of a file in `DIR/<home>/`: every
/// jurisdiction's root and CRL, relative to that directory.
fn trust_refs(home: Jurisdiction, all: &[Jurisdiction]) -> Vec<JurisdictionRef> {
    all.iter()
        .map(|t| {
            let base = if *t == home { String::new() } else { format!("../{t}/") };
            JurisdictionRef { code: t.to_string(), ca: format!("{base}ca/ca.crt"), crl: format!("{base}ca/crl.pem") }
        })
        .collect()
}

/// What `tipcerts dev --federated` creates: one relay per jurisdiction, peered.
#[derive(Debug, Clone)]
pub struct FederatedOptions {
    /// Output directory.
    pub out: PathBuf,
    /// The two jurisdictions with the address of each one's relay.
    pub relays: [(Jurisdiction, SocketAddr); 2],
    /// Replace an existing `out`.
    pub force: bool,
}

/// The default addresses of the two relays of `tipcerts dev --federated`.
pub fn default_federated_addrs() -> [SocketAddr; 2] {
    [SocketAddr::from(([127, 0, 0, 1], 4433)), SocketAddr::from(([127, 0, 0, 1], 4434))]
}

/// The name of jurisdiction `j`'s relay in a federated dev setup: `tiprelay://J/relay/<j>`.
pub fn federated_relay_name(j: Jurisdiction) -> String {
    j.as_str().to_ascii_lowercase()
}

/// Builds a federated development setup (layout in the module docs, per jurisdiction:
/// `DIR/<J>/ca/`, `DIR/<J>/relay/`, `DIR/<J>/relay.toml`, its principals and their
/// configurations); returns the final directory.
pub fn create_federated(opts: &FederatedOptions) -> Result<PathBuf, CertsError> {
    let [(a, _), (b, _)] = opts.relays;
    if a == b {
        return Err(CertsError::Invalid(Msg::new("certs-dev-federated-two")));
    }
    if opts.relays[0].1 == opts.relays[1].1 {
        return Err(CertsError::Invalid(Msg::new("certs-dev-distinct-addresses")));
    }
    let all = [a, b];
    let staging = Staging::new(&opts.out, opts.force)?;
    for (i, (j, addr)) in opts.relays.iter().enumerate() {
        let (peer, peer_addr) = opts.relays[1 - i];
        let mut ca = Ca::init_into(&staging.subdir(&format!("{j}/ca"))?, Authority::Jurisdiction(*j), DEFAULT_CA_DAYS)?;
        let mut ips: Vec<IpAddr> = vec![addr.ip()];
        if !addr.ip().is_loopback() {
            ips.push(IpAddr::from([127, 0, 0, 1]));
        }
        let name = federated_relay_name(*j);
        ca.issue_relay_into(
            &name,
            &[DEV_RELAY_DNS.to_owned()],
            &ips,
            &staging.subdir(&format!("{j}/relay"))?,
            DEFAULT_LEAF_DAYS,
        )?;
        let relay = || ClientRelaySection {
            address: addr.to_string(),
            server_name: DEV_RELAY_DNS.to_owned(),
            operator_ca: None,
            operator_crl: None,
        };
        write_principals(&staging, &mut ca, *j, &all, &relay)?;
        ca.save()?;
        let cfg = RelayConfigFile {
            relay: RelaySection {
                listen: addr.to_string(),
                tls_cert: "relay/tls.crt".into(),
                tls_key: "relay/tls.key".into(),
                signing_cert: "relay/sign.crt".into(),
                signing_key: "relay/sign.key".into(),
                store: "relay/relay.redb".into(),
            },
            operator: None,
            federation: Some(FederationSection {
                home: j.to_string(),
                peer: PeerSection {
                    jurisdiction: peer.to_string(),
                    identity: format!("tiprelay://{peer}/relay/{}", federated_relay_name(peer)),
                    address: peer_addr.to_string(),
                    server_name: DEV_RELAY_DNS.to_owned(),
                },
            }),
            jurisdiction: trust_refs(*j, &all),
            pair: vec![PairRef { jurisdictions: [a.to_string(), b.to_string()] }],
        };
        let header = format!(
            "# tiprelay configuration of {j}'s own relay, tiprelay://{j}/relay/{name}, peered with {peer}'s\n\
             # relay at {peer_addr} (federated development setup made by `tipcerts dev --federated`).\n\
             # Paths are relative to this file."
        );
        write_toml(&staging.path().join(format!("{j}/relay.toml")), &header, &cfg)?;
    }
    staging.commit()
}

/// The default tip language of a jurisdiction's clients in a dev setup.
fn default_lang(j: Jurisdiction) -> &'static str {
    match j.as_str() {
        "MX" | "ES" | "GT" | "CO" | "AR" | "CL" | "PE" => "es",
        "BR" | "PT" => "pt",
        "FR" => "fr",
        _ => "en",
    }
}

/// What `tipcerts issue --config-out` needs to write a principal's tipctl configuration.
#[derive(Debug, Clone)]
pub struct ClientConfigOptions {
    /// The configuration file to write (refused if it exists).
    pub file: PathBuf,
    /// The principal's directory (tls.*, sign.*, ca.crt and crl.pem of its own CA).
    pub dir: PathBuf,
    /// The principal.
    pub identity: PrincipalId,
    /// The relay's UDP address (`HOST:PORT`).
    pub relay: String,
    /// The name in the relay's TLS certificate.
    pub server_name: String,
    /// The relay operator's root and CRL (hub mode); None for a federated relay, which the
    /// principal's own jurisdiction certifies.
    pub operator: Option<(PathBuf, PathBuf)>,
    /// The other jurisdictions' roots and CRLs.
    pub trust: Vec<(Jurisdiction, PathBuf, PathBuf)>,
    /// Language of the tips written there (default by jurisdiction).
    pub lang: Option<String>,
}

/// `to` relative to the directory `from` (both made absolute), so the principal's
/// directory and its configuration can be delivered and moved together.
fn relative(from: &Path, to: &Path) -> Result<String, CertsError> {
    let abs = |p: &Path| std::path::absolute(p).map_err(|e| CertsError::Io { path: p.to_path_buf(), source: e });
    let (from, to) = (abs(from)?, abs(to)?);
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c);
    }
    Ok(out.display().to_string())
}

impl ClientConfigOptions {
    /// Checks what can be checked before the principal is issued: the file is new, the
    /// identity has a jurisdiction, the other jurisdictions' and the operator's files
    /// exist, and the principal's own jurisdiction is not among them.
    pub fn check(&self) -> Result<(), CertsError> {
        if self.file.exists() {
            return Err(CertsError::Exists(self.file.clone()));
        }
        let own = self.identity.jurisdiction().ok_or_else(|| {
            CertsError::Invalid(Msg::new("certs-config-out-no-jurisdiction").text("identity", &self.identity))
        })?;
        let mut files = Vec::new();
        for (j, ca, crl) in &self.trust {
            if *j == own {
                return Err(CertsError::Invalid(Msg::new("certs-config-out-own-trust").text("jurisdiction", j)));
            }
            files.extend([ca, crl]);
        }
        if let Some((ca, crl)) = &self.operator {
            files.extend([ca, crl]);
        }
        match files.into_iter().find(|f| !f.is_file()) {
            Some(f) => Err(CertsError::Invalid(Msg::new("certs-config-out-missing").text("file", f.display()))),
            None => Ok(()),
        }
    }
}

/// Writes a principal's tipctl configuration (public mode 0644: it holds paths, no secret)
/// beside the directory `tipcerts issue` made, every path relative to the file.
pub fn write_client_config(o: &ClientConfigOptions) -> Result<(), CertsError> {
    o.check()?;
    let base = o.file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let rel = |p: &Path| relative(base, p);
    let own = o.identity.jurisdiction().ok_or_else(|| {
        CertsError::Invalid(Msg::new("certs-config-out-no-jurisdiction").text("identity", &o.identity))
    })?;
    let mut trust = vec![JurisdictionRef {
        code: own.to_string(),
        ca: rel(&o.dir.join("ca.crt"))?,
        crl: rel(&o.dir.join("crl.pem"))?,
    }];
    for (j, ca, crl) in &o.trust {
        if *j == own {
            return Err(CertsError::Invalid(Msg::new("certs-config-out-own-trust").text("jurisdiction", j)));
        }
        for f in [ca, crl] {
            if !f.is_file() {
                return Err(CertsError::Invalid(Msg::new("certs-config-out-missing").text("file", f.display())));
            }
        }
        trust.push(JurisdictionRef { code: j.to_string(), ca: rel(ca)?, crl: rel(crl)? });
    }
    let (operator_ca, operator_crl) = match &o.operator {
        Some((ca, crl)) => {
            for f in [ca, crl] {
                if !f.is_file() {
                    return Err(CertsError::Invalid(Msg::new("certs-config-out-missing").text("file", f.display())));
                }
            }
            (Some(rel(ca)?), Some(rel(crl)?))
        }
        None => (None, None),
    };
    let cfg = ClientConfigFile {
        principal: o.identity.to_string(),
        lang: o.lang.clone().unwrap_or_else(|| default_lang(own).to_owned()),
        store: rel(&o.dir.join("tipctl.redb"))?,
        relay: ClientRelaySection {
            address: o.relay.clone(),
            server_name: o.server_name.clone(),
            operator_ca,
            operator_crl,
        },
        keys: KeysSection {
            tls_cert: rel(&o.dir.join("tls.crt"))?,
            tls_key: rel(&o.dir.join("tls.key"))?,
            signing_cert: rel(&o.dir.join("sign.crt"))?,
            signing_key: rel(&o.dir.join("sign.key"))?,
        },
        trust,
        audit: AuditSection { witness: true },
    };
    let header = format!(
        "# tipctl configuration for {} (written by `tipcerts issue --config-out`).\n\
         # Paths are relative to this file: deliver it with the principal's directory.",
        o.identity
    );
    write_toml(&o.file, &header, &cfg)
}
