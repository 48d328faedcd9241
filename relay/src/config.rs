//! Relay configuration: TOML parsed strictly (`deny_unknown_fields`) into raw structs, then
//! validated once into typed values. An invalid file fails at start, naming the key.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use crate::core::bucket::Rate;
use tiprelay_common::files::{existing_relative, relative_to, TrustFiles};
use tiprelay_common::localize::Msg;
use tiprelay_proto::pki::CertUsage;
use tiprelay_proto::wire::{MAX_BATCH_REQUEST_BYTES, MAX_BATCH_TIPS, MAX_FRAME_BYTES};
use tiprelay_proto::{Authority, Jurisdiction, Timestamp};

/// Why a relay configuration was refused. Every message names the file, and the key when
/// one is at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the configuration {path}: {error}")]
    Read {
        /// The configuration file.
        path: PathBuf,
        /// The OS error (part of the message, so not also a `source`).
        error: std::io::Error,
    },
    /// Not TOML, or not the relay's tables and keys (an unknown key is refused).
    #[error("{path}: {error}")]
    Syntax {
        /// The configuration file.
        path: PathBuf,
        /// The parser's error (part of the message, so not also a `source`).
        error: toml::de::Error,
    },
    /// A key whose value is invalid, or a required key or table that is missing.
    #[error("{path}: key `{key}`: {why}")]
    Key {
        /// The configuration file.
        path: PathBuf,
        /// The key, e.g. `relay.listen` or `jurisdiction[1].code`.
        key: String,
        /// What is wrong with it (English in `Display`; either language for a person).
        why: Msg,
    },
}

/// The raw file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    relay: RawRelay,
    #[serde(default)]
    operator: Option<RawCa>,
    #[serde(default)]
    federation: Option<RawFederation>,
    jurisdiction: Vec<RawJurisdiction>,
    pair: Vec<RawPair>,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    revocation: tiprelay_common::files::RawRevocation,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    store: Option<RawStore>,
}

/// `[store]`: the storage engine (redb by default; PostgreSQL for relays that must survive
/// a machine).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    kind: Option<String>,
    path: Option<String>,
    url: Option<String>,
    password_file: Option<String>,
    tls_ca: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
}

/// `[federation]`: this relay is one jurisdiction's own relay, peered with the other's.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFederation {
    home: String,
    peer: RawPeer,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeer {
    jurisdiction: String,
    identity: String,
    address: String,
    server_name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelay {
    listen: String,
    tls_cert: String,
    tls_key: String,
    signing_cert: String,
    signing_key: String,
    /// The token's PKCS#11 library, when `signing_key` is a `pkcs11:` URI.
    #[serde(default)]
    pkcs11_module: Option<String>,
    /// The file with the token's user PIN, when `signing_key` is a `pkcs11:` URI.
    #[serde(default)]
    pkcs11_pin_file: Option<String>,
    #[serde(default)]
    store: Option<String>,
    #[serde(default)]
    crl_reload_secs: Option<u64>,
    #[serde(default)]
    retention_days: Option<u64>,
    #[serde(default)]
    checkpoint_secs: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCa {
    ca: String,
    crl: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJurisdiction {
    code: String,
    ca: String,
    crl: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPair {
    jurisdictions: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    idle_timeout_secs: Option<u64>,
    max_streams_per_connection: Option<u64>,
    max_connections: Option<usize>,
    commit_batch: Option<usize>,
    request_timeout_secs: Option<u64>,
    handshake_timeout_secs: Option<u64>,
    max_pending_handshakes: Option<usize>,
    max_pending_handshakes_per_source: Option<usize>,
    max_connections_per_principal: Option<usize>,
    request_buffer_kib_per_connection: Option<u64>,
    answer_buffer_kib_per_connection: Option<u64>,
    request_buffer_kib_per_principal: Option<u64>,
    answer_buffer_kib_per_principal: Option<u64>,
    drain_timeout_secs: Option<u64>,
    pending_quota_mib: Option<u64>,
    audit_rejections_per_principal: Option<u32>,
    audit_unauthenticated_per_second: Option<u32>,
    #[serde(default)]
    rate: RawRates,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRates {
    tips: Option<RawRate>,
    acks: Option<RawRate>,
    reads: Option<RawRate>,
    reports: Option<RawRate>,
    fresh_checkpoints: Option<RawRate>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    per_second: u32,
    burst: Option<u32>,
}

/// Per-principal request rates by kind of request (token buckets; DESIGN §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rates {
    /// Tips submitted (`submit` counts 1, `submit_batch` one per envelope).
    pub tips: Rate,
    /// Acks (`ack` counts 1, `ack_batch` one per envelope).
    pub acks: Rate,
    /// Reads: `fetch`, `acks`, `status`, `records`, `statements`, `inclusion`,
    /// `consistency`, `checkpoint` and `subscribe`.
    pub reads: Rate,
    /// Signed reports: `feedback`, `statement`, `cosign`.
    pub reports: Rate,
    /// `checkpoint {fresh: true}` (each signs a new checkpoint).
    pub fresh_checkpoints: Rate,
}

impl Default for Rates {
    fn default() -> Self {
        Self {
            tips: Rate { per_second: 5_000, burst: 10_000 },
            acks: Rate { per_second: 5_000, burst: 10_000 },
            reads: Rate { per_second: 200, burst: 400 },
            reports: Rate { per_second: 50, burst: 100 },
            fresh_checkpoints: Rate { per_second: 1, burst: 5 },
        }
    }
}

/// Validated relay configuration.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// UDP address to listen on.
    pub listen: SocketAddr,
    /// TLS server certificate file.
    pub tls_cert: PathBuf,
    /// TLS server key file.
    pub tls_key: PathBuf,
    /// Receipt signing certificate file.
    pub signing_cert: PathBuf,
    /// Receipt and checkpoint signing key: a file, or a key in a PKCS#11 token.
    pub signing_key: SigningKeySource,
    /// Store file (redb; empty with a PostgreSQL store).
    pub store: PathBuf,
    /// The storage engine (`[store]`).
    pub backend: StoreBackend,
    /// The relay operator's root and CRL, then each jurisdiction's.
    pub trust: Vec<TrustFiles>,
    /// Jurisdictions served.
    pub jurisdictions: BTreeSet<Jurisdiction>,
    /// Unordered pairs allowed to exchange tips.
    pub pairs: BTreeSet<(Jurisdiction, Jurisdiction)>,
    /// How often CRL and root files are checked for changes.
    pub crl_reload: Duration,
    /// Days a tip's body is kept after every receiver acked it (DESIGN §4).
    pub retention_days: u64,
    /// How often a signed audit checkpoint is made when the log grew (also every 1,000 entries).
    pub checkpoint_every: Duration,
    /// Connection idle timeout.
    pub idle_timeout: Duration,
    /// Concurrent bidirectional streams per connection.
    pub max_streams: u64,
    /// Concurrent connections.
    pub max_connections: usize,
    /// Most operations in one group commit.
    pub commit_batch: usize,
    /// How long a client may take to send one whole request (slowloris bound).
    pub request_timeout: Duration,
    /// How long a QUIC handshake may take before it is abandoned (pre-authentication).
    pub handshake_timeout: Duration,
    /// Handshakes in progress at once, in total.
    pub max_pending_handshakes: usize,
    /// Handshakes in progress at once from one source address.
    pub max_pending_handshakes_per_source: usize,
    /// Authenticated connections of one principal at once.
    pub max_connections_per_principal: usize,
    /// Bytes of request bodies being read or handled that one connection may hold.
    pub request_buffer_per_connection: usize,
    /// Bytes of answers being built or sent (until the peer has read them) that one
    /// connection may hold.
    pub answer_buffer_per_connection: usize,
    /// Request bytes over all the connections of one principal.
    pub request_buffer_per_principal: usize,
    /// Answer bytes over all the connections of one principal.
    pub answer_buffer_per_principal: usize,
    /// How long an answer may take to be read by the peer before its stream is reset.
    pub drain_timeout: Duration,
    /// Bytes of tips a sending principal may have stored and not yet acknowledged by the
    /// recipient jurisdiction (`quota_exceeded` beyond).
    pub pending_quota: u64,
    /// Individual audit entries for refused requests per principal per second (beyond, one
    /// aggregate entry per principal and code each second).
    pub audit_rejections_per_principal: u32,
    /// Individual audit entries for unauthenticated failures per second (beyond, counted).
    pub audit_unauthenticated_per_second: u32,
    /// Per-principal request rates.
    pub rates: Rates,
    /// With `Some(g)`, principals of an authority whose CRL is past its nextUpdate by more
    /// than `g` are refused (`[revocation]`, default 7 days); `None` only warns.
    pub crl_grace: Option<Duration>,
    /// TCP address of the Prometheus `/metrics`, `/healthz` and `/readyz` endpoints
    /// (`[metrics] listen`); off when absent.
    pub metrics_listen: Option<SocketAddr>,
    /// Federation (`[federation]`): this relay is `home`'s own relay, peered with `peer`'s;
    /// `None`: the one shared relay of every jurisdiction (hub mode).
    pub federation: Option<Federation>,
}

/// Where the relay's receipt and checkpoint signing key is (`[relay] signing_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningKeySource {
    /// A PKCS#8 PEM file, owner-only.
    File(PathBuf),
    /// A key in a PKCS#11 token (`signing_key = "pkcs11:token=…;object=…"`, with
    /// `pkcs11_module` and `pkcs11_pin_file`).
    Token(crate::pkcs11::TokenKeyConfig),
}

impl std::fmt::Display for SigningKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Token(t) => write!(f, "{}", t.uri),
        }
    }
}

/// A federated relay's place (`[federation]`, PROTOCOL §14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Federation {
    /// The jurisdiction whose relay this is: only its principals connect here, and its CA
    /// certifies this relay.
    pub home: Jurisdiction,
    /// The other jurisdiction's relay.
    pub peer: PeerConfig,
}

/// The peer relay (`[federation.peer]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// Its jurisdiction, whose root certifies it.
    pub jurisdiction: Jurisdiction,
    /// Its identity, `tiprelay://<jurisdiction>/relay/<name>`: the only relay that may peer
    /// with this one (another relay certificate of that jurisdiction, e.g. a staging relay's,
    /// is refused).
    pub identity: tiprelay_proto::PrincipalId,
    /// Its UDP address.
    pub address: SocketAddr,
    /// The DNS or IP name in its TLS certificate.
    pub server_name: String,
}

impl RelayConfig {
    /// Whether `a` and `b` may exchange tips.
    pub fn pair_allowed(&self, a: Jurisdiction, b: Jurisdiction) -> bool {
        self.pairs.contains(&ordered(a, b))
    }

    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|error| ConfigError::Read { path: path.to_path_buf(), error })?;
        Self::parse(&text, path)
    }

    /// Validates TOML text; relative paths resolve against `path`'s directory.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|error| ConfigError::Syntax { path: path.to_path_buf(), error })?;
        let bad = |key: &str, why: Msg| ConfigError::Key { path: path.to_path_buf(), key: key.to_owned(), why };
        let listen: SocketAddr = raw.relay.listen.parse().map_err(|e| {
            bad("relay.listen", Msg::new("relay-cfg-not-address").text("value", &raw.relay.listen).text("error", e))
        })?;
        let file = |key: &str, v: &str| -> Result<PathBuf, ConfigError> {
            existing_relative(path, v).map_err(|p| bad(key, Msg::new("relay-cfg-no-file").text("path", p.display())))
        };
        let mut trust = Vec::new();
        match (&raw.operator, &raw.federation) {
            (Some(op), None) => trust.push(TrustFiles {
                authority: Authority::Operator,
                ca: file("operator.ca", &op.ca)?,
                crl: file("operator.crl", &op.crl)?,
            }),
            (None, None) => return Err(bad("operator", Msg::new("relay-cfg-operator-missing"))),
            (Some(_), Some(_)) => return Err(bad("operator", Msg::new("relay-cfg-operator-and-federation"))),
            (None, Some(_)) => {}
        }
        let mut jurisdictions = BTreeSet::new();
        for (i, j) in raw.jurisdiction.iter().enumerate() {
            let code: Jurisdiction =
                j.code.parse().map_err(|e| bad(&format!("jurisdiction[{i}].code"), Msg::of_error(&e)))?;
            if !jurisdictions.insert(code) {
                return Err(bad(
                    &format!("jurisdiction[{i}].code"),
                    Msg::new("relay-cfg-listed-twice").text("jurisdiction", code),
                ));
            }
            trust.push(TrustFiles {
                authority: Authority::Jurisdiction(code),
                ca: file(&format!("jurisdiction[{i}].ca"), &j.ca)?,
                crl: file(&format!("jurisdiction[{i}].crl"), &j.crl)?,
            });
        }
        if jurisdictions.len() < 2 {
            return Err(bad("jurisdiction", Msg::new("relay-cfg-two-jurisdictions")));
        }
        let mut pairs = BTreeSet::new();
        for (i, p) in raw.pair.iter().enumerate() {
            let key = format!("pair[{i}].jurisdictions");
            let [a, b] = p.jurisdictions.as_slice() else {
                return Err(bad(&key, Msg::new("relay-cfg-pair-two")));
            };
            let a: Jurisdiction = a.parse().map_err(|e| bad(&key, Msg::of_error(&e)))?;
            let b: Jurisdiction = b.parse().map_err(|e| bad(&key, Msg::of_error(&e)))?;
            for j in [a, b] {
                if !jurisdictions.contains(&j) {
                    return Err(bad(&key, Msg::new("relay-cfg-pair-unknown").text("jurisdiction", j)));
                }
            }
            if a == b {
                return Err(bad(&key, Msg::new("relay-cfg-pair-same")));
            }
            pairs.insert(ordered(a, b));
        }
        if pairs.is_empty() {
            return Err(bad("pair", Msg::new("relay-cfg-no-pair")));
        }
        let federation = match &raw.federation {
            None => None,
            Some(f) => {
                let home: Jurisdiction = f.home.parse().map_err(|e| bad("federation.home", Msg::of_error(&e)))?;
                let peer: Jurisdiction =
                    f.peer.jurisdiction.parse().map_err(|e| bad("federation.peer.jurisdiction", Msg::of_error(&e)))?;
                if home == peer {
                    return Err(bad(
                        "federation.peer.jurisdiction",
                        Msg::new("relay-cfg-peer-is-home").text("peer", peer),
                    ));
                }
                let listed: BTreeSet<Jurisdiction> = [home, peer].into();
                if jurisdictions != listed {
                    return Err(bad(
                        "jurisdiction",
                        Msg::new("relay-cfg-federated-jurisdictions").text("home", home).text("peer", peer),
                    ));
                }
                if !pairs.contains(&ordered(home, peer)) {
                    return Err(bad(
                        "pair",
                        Msg::new("relay-cfg-federated-pair").text("home", home).text("peer", peer),
                    ));
                }
                let identity: tiprelay_proto::PrincipalId =
                    f.peer.identity.parse().map_err(|e| bad("federation.peer.identity", Msg::of_error(&e)))?;
                if identity.kind() != tiprelay_proto::PrincipalKind::Relay || identity.jurisdiction() != Some(peer) {
                    return Err(bad(
                        "federation.peer.identity",
                        Msg::new("relay-cfg-peer-identity").text("identity", &identity).text("peer", peer),
                    ));
                }
                let address = f.peer.address.parse().map_err(|e| {
                    bad(
                        "federation.peer.address",
                        Msg::new("relay-cfg-not-host-port").text("value", &f.peer.address).text("error", e),
                    )
                })?;
                if rustls::pki_types::ServerName::try_from(f.peer.server_name.clone()).is_err() {
                    return Err(bad(
                        "federation.peer.server_name",
                        Msg::new("relay-cfg-not-server-name").text("value", &f.peer.server_name),
                    ));
                }
                Some(Federation {
                    home,
                    peer: PeerConfig { jurisdiction: peer, identity, address, server_name: f.peer.server_name.clone() },
                })
            }
        };
        let l = &raw.limits;
        let (store, backend) = store_backend(path, &raw, &bad)?;
        let defaults = Rates::default();
        let rate = |key: &str, r: Option<RawRate>, default: Rate, min_burst: u32| -> Result<Rate, ConfigError> {
            let Some(r) = r else { return Ok(default) };
            let burst = r.burst.unwrap_or(r.per_second.saturating_mul(2));
            if r.per_second == 0 {
                return Err(bad(
                    &format!("limits.rate.{key}.per_second"),
                    Msg::new("relay-cfg-at-least").number("min", 1),
                ));
            }
            if burst < min_burst {
                return Err(bad(
                    &format!("limits.rate.{key}.burst"),
                    Msg::new("relay-cfg-at-least").number("min", min_burst),
                ));
            }
            Ok(Rate { per_second: r.per_second, burst })
        };
        let batch = u32::try_from(MAX_BATCH_TIPS).unwrap_or(64);
        let rates = Rates {
            tips: rate("tips", l.rate.tips, defaults.tips, batch)?,
            acks: rate("acks", l.rate.acks, defaults.acks, batch)?,
            reads: rate("reads", l.rate.reads, defaults.reads, 1)?,
            reports: rate("reports", l.rate.reports, defaults.reports, 1)?,
            fresh_checkpoints: rate("fresh_checkpoints", l.rate.fresh_checkpoints, defaults.fresh_checkpoints, 1)?,
        };
        // One batch request, and one answer (a 1 MiB frame), must fit in a connection's
        // buffers; a principal's buffers hold at least one connection's.
        let buffer = |key: &str, v: Option<u64>, default: u64, min: u64| -> Result<u64, ConfigError> {
            let v = v.unwrap_or(default);
            if v < min {
                return Err(bad(&format!("limits.{key}"), Msg::new("relay-cfg-at-least-kib").number("min", min)));
            }
            in_range(&format!("limits.{key}"), Some(v), default, min, 4 * 1024 * 1024, &bad)
        };
        let min_request = (MAX_BATCH_REQUEST_BYTES as u64).div_ceil(1024);
        let min_answer = (MAX_FRAME_BYTES as u64 + 4).div_ceil(1024);
        let req_conn =
            buffer("request_buffer_kib_per_connection", l.request_buffer_kib_per_connection, 1024, min_request)?;
        let ans_conn =
            buffer("answer_buffer_kib_per_connection", l.answer_buffer_kib_per_connection, 2048, min_answer)?;
        let req_principal =
            buffer("request_buffer_kib_per_principal", l.request_buffer_kib_per_principal, 4096, req_conn)?;
        let ans_principal =
            buffer("answer_buffer_kib_per_principal", l.answer_buffer_kib_per_principal, 8192, ans_conn)?;
        let kib = |k: u64| usize::try_from(k.saturating_mul(1024)).unwrap_or(usize::MAX);
        // Every bounded value: refused outside its range, never clamped (a relay that
        // silently ran with another value than the file says would mislead its operator).
        let secs = |key: &str, v: Option<u64>, default: u64, min: u64, max: u64| {
            in_range(key, v, default, min, max, &bad).map(Duration::from_secs)
        };
        let count = |key: &str, v: Option<usize>, default: usize, min: usize, max: usize| {
            in_range(key, v, default, min, max, &bad)
        };
        Ok(Self {
            listen,
            tls_cert: file("relay.tls_cert", &raw.relay.tls_cert)?,
            tls_key: file("relay.tls_key", &raw.relay.tls_key)?,
            signing_cert: file("relay.signing_cert", &raw.relay.signing_cert)?,
            signing_key: signing_key(path, &raw.relay, &bad)?,
            store,
            backend,
            trust,
            jurisdictions,
            pairs,
            crl_reload: secs("relay.crl_reload_secs", raw.relay.crl_reload_secs, 5, 1, 60)?,
            checkpoint_every: secs("relay.checkpoint_secs", raw.relay.checkpoint_secs, 5, 1, 3600)?,
            retention_days: in_range("relay.retention_days", raw.relay.retention_days, 30, 0, 36_500, &bad)?,
            idle_timeout: secs("limits.idle_timeout_secs", l.idle_timeout_secs, 30, 5, 600)?,
            max_streams: in_range(
                "limits.max_streams_per_connection",
                l.max_streams_per_connection,
                64,
                2,
                1024,
                &bad,
            )?,
            max_connections: count("limits.max_connections", l.max_connections, 1024, 1, 100_000)?,
            commit_batch: count("limits.commit_batch", l.commit_batch, 256, 1, 4096)?,
            request_timeout: secs("limits.request_timeout_secs", l.request_timeout_secs, 10, 1, 120)?,
            handshake_timeout: secs("limits.handshake_timeout_secs", l.handshake_timeout_secs, 5, 1, 30)?,
            max_pending_handshakes: count("limits.max_pending_handshakes", l.max_pending_handshakes, 512, 1, 100_000)?,
            max_pending_handshakes_per_source: count(
                "limits.max_pending_handshakes_per_source",
                l.max_pending_handshakes_per_source,
                32,
                1,
                100_000,
            )?,
            max_connections_per_principal: count(
                "limits.max_connections_per_principal",
                l.max_connections_per_principal,
                16,
                1,
                10_000,
            )?,
            request_buffer_per_connection: kib(req_conn),
            answer_buffer_per_connection: kib(ans_conn),
            request_buffer_per_principal: kib(req_principal),
            answer_buffer_per_principal: kib(ans_principal),
            drain_timeout: secs("limits.drain_timeout_secs", l.drain_timeout_secs, 5, 1, 120)?,
            pending_quota: in_range("limits.pending_quota_mib", l.pending_quota_mib, 1024, 1, 1 << 30, &bad)?
                .saturating_mul(1024 * 1024),
            audit_rejections_per_principal: in_range(
                "limits.audit_rejections_per_principal",
                l.audit_rejections_per_principal,
                20,
                1,
                10_000,
                &bad,
            )?,
            audit_unauthenticated_per_second: in_range(
                "limits.audit_unauthenticated_per_second",
                l.audit_unauthenticated_per_second,
                20,
                1,
                10_000,
                &bad,
            )?,
            rates,
            crl_grace: raw.revocation.crl_grace().map_err(|(k, why)| bad(k, Msg::raw(why)))?,
            federation,
            metrics_listen: match &raw.metrics.listen {
                None => None,
                Some(a) => Some(a.parse().map_err(|e| {
                    bad("metrics.listen", Msg::new("relay-cfg-not-host-port").text("value", a).text("error", e))
                })?),
            },
        })
    }
}

impl RelayConfig {
    /// What `tiprelay check-config` checks beyond the file itself, on the files it names:
    /// each private key owner-only and owned by this user (the command to fix it
    /// otherwise), each key the one of its certificate, the relay's TLS and signing
    /// certificates issued by the CA that must issue them (the operator's, or the home
    /// jurisdiction's in federation) and valid now, and each root the CA of the authority
    /// it is configured for (swapped roots are refused). `config` is the file, for the
    /// messages. Returns notes on what it could not tell.
    pub fn check_material(&self, config: &Path, now: Timestamp) -> Result<Vec<Msg>, ConfigError> {
        use tiprelay_common::files;
        let bad = |key: &str, why: Msg| ConfigError::Key { path: config.to_path_buf(), key: key.to_owned(), why };
        let mut notes = Vec::new();
        // Keys: permissions and owner (read_key), and each with its certificate.
        let tls_key = files::read_key(&self.tls_key).map_err(|e| bad("relay.tls_key", Msg::of_error(&e)))?;
        let tls_cert = files::read_certs(&self.tls_cert).map_err(|e| bad("relay.tls_cert", Msg::of_error(&e)))?;
        let provider = rustls::crypto::ring::default_provider();
        match rustls::sign::CertifiedKey::from_der(tls_cert.clone(), tls_key, &provider).map(|k| k.keys_match()) {
            Ok(Ok(())) => {}
            Ok(Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown))) => {}
            Ok(Err(e)) | Err(e) => {
                return Err(bad(
                    "relay.tls_key",
                    Msg::new("relay-check-key-mismatch")
                        .text("key", self.tls_key.display())
                        .text("cert", self.tls_cert.display())
                        .text("why", e),
                ))
            }
        }
        match &self.signing_key {
            SigningKeySource::File(key) => {
                files::read_signer(key, &self.signing_cert).map_err(|e| bad("relay.signing_key", Msg::of_error(&e)))?;
            }
            // The token: module, PIN, key, and a signature that the certificate's key verifies.
            SigningKeySource::Token(t) => {
                let cert =
                    files::read_cert(&self.signing_cert).map_err(|e| bad("relay.signing_cert", Msg::of_error(&e)))?;
                crate::pkcs11::signer(t, cert.to_vec()).map_err(|e| bad("relay.signing_key", e.msg()))?;
            }
        }
        // Roots: each the CA of the authority it is configured for, as its subject names it.
        // Every root of a file (two during a CA rollover).
        let roots = self
            .trust
            .iter()
            .map(|t| {
                Ok(files::read_certs(&t.ca).map_err(|e| bad("ca", Msg::of_error(&e)))?.into_iter().map(move |d| (t, d)))
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        for (t, der) in roots.into_iter().flatten() {
            let summary = tiprelay_proto::pki::summarize_certificate(&der).map_err(|e| {
                bad("ca", Msg::new("relay-check-root-unreadable").text("file", t.ca.display()).error("why", &e))
            })?;
            match named_authority(&summary.subject) {
                Some(named) if named != t.authority => {
                    return Err(bad(
                        &root_key(t.authority),
                        Msg::new("relay-check-root-swapped")
                            .text("file", t.ca.display())
                            .text("named", named)
                            .text("configured", t.authority)
                            .text("subject", &summary.subject),
                    ))
                }
                Some(_) => {}
                None => notes.push(
                    Msg::new("relay-check-root-unnamed")
                        .text("file", t.ca.display())
                        .text("configured", t.authority)
                        .text("fingerprint", summary.fingerprint.to_hex()),
                ),
            }
        }
        // The relay's own certificates: issued by the CA that must issue them, valid now.
        let issuer = match &self.federation {
            Some(f) => Authority::Jurisdiction(f.home),
            None => Authority::Operator,
        };
        let trust = files::load_trust(&self.trust).map_err(|e| bad("ca", Msg::of_error(&e)))?;
        let leaf = tls_cert.first().map(|c| c.as_ref()).unwrap_or_default();
        let rest: Vec<&[u8]> = tls_cert.iter().skip(1).map(|c| c.as_ref()).collect();
        trust.verify_cert(leaf, &rest, issuer, CertUsage::TlsServer, now).map_err(|e| {
            bad(
                "relay.tls_cert",
                Msg::new("relay-check-not-issued")
                    .text("file", self.tls_cert.display())
                    .text("issuer", issuer)
                    .error("why", &e),
            )
        })?;
        let signing = files::read_cert(&self.signing_cert).map_err(|e| bad("relay.signing_cert", Msg::of_error(&e)))?;
        trust.verify_cert(signing.as_ref(), &[], issuer, CertUsage::Signing, now).map_err(|e| {
            bad(
                "relay.signing_cert",
                Msg::new("relay-check-not-issued")
                    .text("file", self.signing_cert.display())
                    .text("issuer", issuer)
                    .error("why", &e),
            )
        })?;
        Ok(notes)
    }
}

/// `[relay] signing_key`: a file, or a `pkcs11:` URI with its module and PIN file. The
/// module and PIN file are checked when the key is opened (start, check-config), where the
/// error can say more than "does not exist".
fn signing_key(
    path: &Path,
    raw: &RawRelay,
    bad: &dyn Fn(&str, Msg) -> ConfigError,
) -> Result<SigningKeySource, ConfigError> {
    if !crate::pkcs11::is_uri(&raw.signing_key) {
        for (key, v) in [("relay.pkcs11_module", &raw.pkcs11_module), ("relay.pkcs11_pin_file", &raw.pkcs11_pin_file)] {
            if v.is_some() {
                return Err(bad(key, Msg::new("relay-pkcs11-only-with-uri").text("key", key)));
            }
        }
        return existing_relative(path, &raw.signing_key)
            .map(SigningKeySource::File)
            .map_err(|p| bad("relay.signing_key", Msg::new("relay-cfg-no-file").text("path", p.display())));
    }
    let uri = crate::pkcs11::KeyUri::parse(&raw.signing_key).map_err(|why| bad("relay.signing_key", why))?;
    let module = raw
        .pkcs11_module
        .as_deref()
        .map(|m| relative_to(path, m))
        .ok_or_else(|| bad("relay.pkcs11_module", Msg::new("relay-pkcs11-needs-module")))?;
    let pin_file = raw.pkcs11_pin_file.as_deref().map(|p| relative_to(path, p));
    Ok(SigningKeySource::Token(crate::pkcs11::TokenKeyConfig { uri, module, pin_file }))
}

/// The configuration key of an authority's root, for messages.
fn root_key(a: Authority) -> String {
    match a {
        Authority::Operator => "operator.ca".into(),
        Authority::Jurisdiction(j) => format!("jurisdiction {j}: ca"),
    }
}

/// The authority a root's subject names, as `tipcerts init-ca` writes it (`OU=jurisdiction
/// MX`, `OU=relay operator`); None when it names none (a CA made by other tools).
fn named_authority(subject: &str) -> Option<Authority> {
    for part in subject.split(',').map(str::trim) {
        let Some(ou) = part.strip_prefix("OU=") else { continue };
        if ou == "relay operator" {
            return Some(Authority::Operator);
        }
        if let Some(j) = ou.strip_prefix("jurisdiction ") {
            return j.trim().parse::<Jurisdiction>().ok().map(Authority::Jurisdiction);
        }
    }
    None
}

/// `v` (or `default` when absent) when it lies in `min..=max`; else the key's error, with
/// the value and the range.
fn in_range<T>(
    key: &str,
    v: Option<T>,
    default: T,
    min: T,
    max: T,
    bad: &dyn Fn(&str, Msg) -> ConfigError,
) -> Result<T, ConfigError>
where
    T: PartialOrd + Copy + TryInto<i64>,
{
    let v = v.unwrap_or(default);
    if v < min || v > max {
        return Err(bad(
            key,
            Msg::new("relay-cfg-out-of-range").number("value", v).number("min", min).number("max", max),
        ));
    }
    Ok(v)
}

fn ordered(a: Jurisdiction, b: Jurisdiction) -> (Jurisdiction, Jurisdiction) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// The relay's storage engine.
#[derive(Debug, Clone)]
pub enum StoreBackend {
    /// redb, in the file `RelayConfig::store`.
    Redb,
    /// PostgreSQL.
    Postgres(Box<crate::storage::postgres::PgTarget>),
}

/// Where a password for PostgreSQL may come from besides `[store] password_file`.
pub const PG_PASSWORD_ENV: &str = "TIPRELAY_PG_PASSWORD";

/// TLS to the database: `tls_ca` (PEM: the CA that issued the database server's
/// certificate) turns it on, required and verified (chain and host name); `tls_cert` and
/// `tls_key` add a client certificate. A url asking for TLS without `tls_ca` is refused: the
/// relay never talks TLS to a database it cannot verify.
fn database_tls(
    path: &Path,
    st: &RawStore,
    cfg: &mut postgres::Config,
    bad: &dyn Fn(&str, Msg) -> ConfigError,
) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>, ConfigError> {
    use postgres::config::SslMode;
    let Some(ca) = &st.tls_ca else {
        if cfg.get_ssl_mode() == SslMode::Require {
            return Err(bad("store.url", Msg::new("relay-cfg-tls-needs-ca")));
        }
        if st.tls_cert.is_some() || st.tls_key.is_some() {
            return Err(bad("store.tls_cert", Msg::new("relay-cfg-client-cert-needs-ca")));
        }
        // Plain: a Unix socket, or a link the operator trusts (docs/OPERATIONS.md).
        cfg.ssl_mode(SslMode::Disable);
        return Ok(None);
    };
    let file = |key: &str, f: &str| -> Result<PathBuf, ConfigError> {
        let p = relative_to(path, f);
        if p.exists() {
            Ok(p)
        } else {
            Err(bad(key, Msg::new("relay-cfg-no-file").text("path", p.display())))
        }
    };
    let ca = file("store.tls_ca", ca)?;
    let certs = tiprelay_common::files::read_certs(&ca).map_err(|e| bad("store.tls_ca", Msg::of_error(&e)))?;
    let mut roots = rustls::RootCertStore::empty();
    for c in certs {
        roots.add(c).map_err(|e| {
            bad("store.tls_ca", Msg::new("relay-cfg-file-error").text("path", ca.display()).text("error", e))
        })?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("store.tls_ca", Msg::of_error(&e)))?
        .with_root_certificates(roots);
    let tls = match (&st.tls_cert, &st.tls_key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(c), Some(k)) => {
            let c = file("store.tls_cert", c)?;
            let k = file("store.tls_key", k)?;
            let chain = tiprelay_common::files::read_certs(&c).map_err(|e| bad("store.tls_cert", Msg::of_error(&e)))?;
            let key = tiprelay_common::files::read_key(&k).map_err(|e| bad("store.tls_key", Msg::of_error(&e)))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| bad("store.tls_key", Msg::of_error(&e)))?
        }
        _ => return Err(bad("store.tls_cert", Msg::new("relay-cfg-cert-and-key"))),
    };
    cfg.ssl_mode(SslMode::Require);
    Ok(Some(std::sync::Arc::new(tls)))
}

/// `[store]` (or the older `[relay] store`) into the engine and, for redb, its file.
fn store_backend(
    path: &Path,
    raw: &RawConfig,
    bad: &dyn Fn(&str, Msg) -> ConfigError,
) -> Result<(PathBuf, StoreBackend), ConfigError> {
    let st = raw.store.as_ref();
    let kind = st.and_then(|s| s.kind.as_deref()).unwrap_or("redb");
    match kind {
        "redb" => {
            let file = st
                .and_then(|s| s.path.as_deref())
                .or(raw.relay.store.as_deref())
                .ok_or_else(|| bad("store.path", Msg::new("relay-cfg-store-path")))?;
            if st.is_some_and(|s| {
                s.url.is_some()
                    || s.password_file.is_some()
                    || s.tls_ca.is_some()
                    || s.tls_cert.is_some()
                    || s.tls_key.is_some()
            }) {
                return Err(bad("store", Msg::new("relay-cfg-postgres-only")));
            }
            Ok((relative_to(path, file), StoreBackend::Redb))
        }
        "postgres" => {
            let Some(st) = st else {
                return Err(bad("store", Msg::new("relay-cfg-missing")));
            };
            let url = st.url.as_deref().ok_or_else(|| bad("store.url", Msg::new("relay-cfg-store-url")))?;
            let mut cfg: postgres::Config =
                url.parse().map_err(|e| bad("store.url", Msg::new("relay-cfg-not-pg-url").text("error", e)))?;
            if cfg.get_password().is_some() {
                return Err(bad("store.url", Msg::new("relay-cfg-url-password").text("env", PG_PASSWORD_ENV)));
            }
            if cfg.get_dbname().is_none() {
                return Err(bad("store.url", Msg::new("relay-cfg-url-dbname")));
            }
            let password = match &st.password_file {
                Some(f) => {
                    let p = relative_to(path, f);
                    let text = std::fs::read_to_string(&p).map_err(|e| {
                        bad(
                            "store.password_file",
                            Msg::new("relay-cfg-cannot-read").text("path", p.display()).text("error", e),
                        )
                    })?;
                    Some(text.trim_end_matches(['\n', '\r']).to_owned())
                }
                None => std::env::var(PG_PASSWORD_ENV).ok(),
            };
            if let Some(pw) = password {
                cfg.password(pw);
            }
            if st.path.is_some() {
                return Err(bad("store.path", Msg::new("relay-cfg-redb-only")));
            }
            if raw.relay.store.is_some() {
                return Err(bad("relay.store", Msg::new("relay-cfg-relay-store-with-postgres")));
            }
            let tls = database_tls(path, st, &mut cfg, bad)?;
            Ok((
                PathBuf::new(),
                StoreBackend::Postgres(Box::new(
                    crate::storage::postgres::PgTarget { config: cfg, tls }.with_timeouts(),
                )),
            ))
        }
        other => Err(bad("store.kind", Msg::new("relay-cfg-store-kind").text("value", other))),
    }
}
