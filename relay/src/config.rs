//! Relay configuration: TOML parsed strictly (`deny_unknown_fields`) into raw structs, then
//! validated once into typed values. An invalid file fails at start, naming the key.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use crate::core::bucket::Rate;
use tiprelay_common::files::{existing_relative, relative_to, TrustFiles};
use tiprelay_proto::wire::{MAX_BATCH_REQUEST_BYTES, MAX_BATCH_TIPS, MAX_FRAME_BYTES};
use tiprelay_proto::{Authority, Jurisdiction};

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
        /// What is wrong with it.
        why: String,
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
    /// Receipt signing key file.
    pub signing_key: PathBuf,
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
        let bad = |key: &str, why: String| ConfigError::Key { path: path.to_path_buf(), key: key.to_owned(), why };
        let listen: SocketAddr = raw
            .relay
            .listen
            .parse()
            .map_err(|e| bad("relay.listen", format!("`{}` is not an address: {e}", raw.relay.listen)))?;
        let file = |key: &str, v: &str| -> Result<PathBuf, ConfigError> {
            existing_relative(path, v).map_err(|p| bad(key, format!("{} does not exist", p.display())))
        };
        let mut trust = Vec::new();
        match (&raw.operator, &raw.federation) {
            (Some(op), None) => trust.push(TrustFiles {
                authority: Authority::Operator,
                ca: file("operator.ca", &op.ca)?,
                crl: file("operator.crl", &op.crl)?,
            }),
            (None, None) => {
                return Err(bad(
                    "operator",
                    "missing: a relay shared by the jurisdictions (hub mode) names the relay operator's CA in \
                     [operator]; a jurisdiction's own relay names its jurisdiction and peer in [federation]"
                        .into(),
                ))
            }
            (Some(_), Some(_)) => {
                return Err(bad(
                    "operator",
                    "a federated relay is certified by its own jurisdiction's CA, not an operator's: remove \
                     [operator], or [federation] for one shared relay"
                        .into(),
                ))
            }
            (None, Some(_)) => {}
        }
        let mut jurisdictions = BTreeSet::new();
        for (i, j) in raw.jurisdiction.iter().enumerate() {
            let code: Jurisdiction =
                j.code.parse().map_err(|e| bad(&format!("jurisdiction[{i}].code"), format!("{e}")))?;
            if !jurisdictions.insert(code) {
                return Err(bad(&format!("jurisdiction[{i}].code"), format!("{code} is listed twice")));
            }
            trust.push(TrustFiles {
                authority: Authority::Jurisdiction(code),
                ca: file(&format!("jurisdiction[{i}].ca"), &j.ca)?,
                crl: file(&format!("jurisdiction[{i}].crl"), &j.crl)?,
            });
        }
        if jurisdictions.len() < 2 {
            return Err(bad("jurisdiction", "at least two jurisdictions are needed".into()));
        }
        let mut pairs = BTreeSet::new();
        for (i, p) in raw.pair.iter().enumerate() {
            let key = format!("pair[{i}].jurisdictions");
            let [a, b] = p.jurisdictions.as_slice() else {
                return Err(bad(&key, "a pair names exactly two jurisdictions".into()));
            };
            let a: Jurisdiction = a.parse().map_err(|e| bad(&key, format!("{e}")))?;
            let b: Jurisdiction = b.parse().map_err(|e| bad(&key, format!("{e}")))?;
            for j in [a, b] {
                if !jurisdictions.contains(&j) {
                    return Err(bad(&key, format!("{j} is not a configured [[jurisdiction]]")));
                }
            }
            if a == b {
                return Err(bad(&key, "a pair needs two different jurisdictions".into()));
            }
            pairs.insert(ordered(a, b));
        }
        if pairs.is_empty() {
            return Err(bad("pair", "at least one [[pair]] is needed".into()));
        }
        let federation = match &raw.federation {
            None => None,
            Some(f) => {
                let home: Jurisdiction = f.home.parse().map_err(|e| bad("federation.home", format!("{e}")))?;
                let peer: Jurisdiction =
                    f.peer.jurisdiction.parse().map_err(|e| bad("federation.peer.jurisdiction", format!("{e}")))?;
                if home == peer {
                    return Err(bad("federation.peer.jurisdiction", format!("{peer} is this relay's own (home)")));
                }
                let listed: BTreeSet<Jurisdiction> = [home, peer].into();
                if jurisdictions != listed {
                    return Err(bad(
                        "jurisdiction",
                        format!(
                            "a federated relay lists exactly its own jurisdiction ({home}) and its peer's ({peer}), \
                             each with its root and CRL"
                        ),
                    ));
                }
                if !pairs.contains(&ordered(home, peer)) {
                    return Err(bad("pair", format!("a [[pair]] of {home} and {peer} is needed")));
                }
                let identity: tiprelay_proto::PrincipalId =
                    f.peer.identity.parse().map_err(|e| bad("federation.peer.identity", format!("{e}")))?;
                if identity.kind() != tiprelay_proto::PrincipalKind::Relay || identity.jurisdiction() != Some(peer) {
                    return Err(bad(
                        "federation.peer.identity",
                        format!("`{identity}` is not a relay of {peer}: it reads tiprelay://{peer}/relay/NAME"),
                    ));
                }
                let address = f.peer.address.parse().map_err(|e| {
                    bad("federation.peer.address", format!("`{}` is not an address (host:port): {e}", f.peer.address))
                })?;
                if rustls::pki_types::ServerName::try_from(f.peer.server_name.clone()).is_err() {
                    return Err(bad(
                        "federation.peer.server_name",
                        format!("`{}` is not a DNS name or IP address", f.peer.server_name),
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
                return Err(bad(&format!("limits.rate.{key}.per_second"), "must be at least 1".into()));
            }
            if burst < min_burst {
                return Err(bad(&format!("limits.rate.{key}.burst"), format!("must be at least {min_burst}")));
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
                return Err(bad(&format!("limits.{key}"), format!("must be at least {min} KiB")));
            }
            Ok(v.min(4 * 1024 * 1024))
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
        Ok(Self {
            listen,
            tls_cert: file("relay.tls_cert", &raw.relay.tls_cert)?,
            tls_key: file("relay.tls_key", &raw.relay.tls_key)?,
            signing_cert: file("relay.signing_cert", &raw.relay.signing_cert)?,
            signing_key: file("relay.signing_key", &raw.relay.signing_key)?,
            store,
            backend,
            trust,
            jurisdictions,
            pairs,
            crl_reload: Duration::from_secs(raw.relay.crl_reload_secs.unwrap_or(5).clamp(1, 60)),
            checkpoint_every: Duration::from_secs(raw.relay.checkpoint_secs.unwrap_or(5).clamp(1, 3600)),
            retention_days: raw.relay.retention_days.unwrap_or(30),
            idle_timeout: Duration::from_secs(l.idle_timeout_secs.unwrap_or(30).clamp(5, 600)),
            max_streams: l.max_streams_per_connection.unwrap_or(64).clamp(2, 1024),
            max_connections: l.max_connections.unwrap_or(1024).clamp(1, 100_000),
            commit_batch: l.commit_batch.unwrap_or(256).clamp(1, 4096),
            request_timeout: Duration::from_secs(l.request_timeout_secs.unwrap_or(10).clamp(1, 120)),
            handshake_timeout: Duration::from_secs(l.handshake_timeout_secs.unwrap_or(5).clamp(1, 30)),
            max_pending_handshakes: l.max_pending_handshakes.unwrap_or(512).clamp(1, 100_000),
            max_pending_handshakes_per_source: l.max_pending_handshakes_per_source.unwrap_or(32).clamp(1, 100_000),
            max_connections_per_principal: l.max_connections_per_principal.unwrap_or(16).clamp(1, 10_000),
            request_buffer_per_connection: kib(req_conn),
            answer_buffer_per_connection: kib(ans_conn),
            request_buffer_per_principal: kib(req_principal),
            answer_buffer_per_principal: kib(ans_principal),
            drain_timeout: Duration::from_secs(l.drain_timeout_secs.unwrap_or(5).clamp(1, 120)),
            pending_quota: l.pending_quota_mib.unwrap_or(1024).clamp(1, 1 << 30).saturating_mul(1024 * 1024),
            audit_rejections_per_principal: l.audit_rejections_per_principal.unwrap_or(20).clamp(1, 10_000),
            audit_unauthenticated_per_second: l.audit_unauthenticated_per_second.unwrap_or(20).clamp(1, 10_000),
            rates,
            crl_grace: raw.revocation.crl_grace().map_err(|(k, why)| bad(k, why))?,
            federation,
            metrics_listen: match &raw.metrics.listen {
                None => None,
                Some(a) => Some(
                    a.parse()
                        .map_err(|e| bad("metrics.listen", format!("`{a}` is not an address (host:port): {e}")))?,
                ),
            },
        })
    }
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
    bad: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>, ConfigError> {
    use postgres::config::SslMode;
    let Some(ca) = &st.tls_ca else {
        if cfg.get_ssl_mode() == SslMode::Require {
            return Err(bad(
                "store.url",
                "asks for TLS (sslmode=require): give [store] tls_ca, the CA of the database's certificate".into(),
            ));
        }
        if st.tls_cert.is_some() || st.tls_key.is_some() {
            return Err(bad("store.tls_cert", "needs [store] tls_ca (TLS to the database)".into()));
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
            Err(bad(key, format!("{} does not exist", p.display())))
        }
    };
    let ca = file("store.tls_ca", ca)?;
    let certs = tiprelay_common::files::read_certs(&ca).map_err(|e| bad("store.tls_ca", e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    for c in certs {
        roots.add(c).map_err(|e| bad("store.tls_ca", format!("{}: {e}", ca.display())))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("store.tls_ca", e.to_string()))?
        .with_root_certificates(roots);
    let tls = match (&st.tls_cert, &st.tls_key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(c), Some(k)) => {
            let c = file("store.tls_cert", c)?;
            let k = file("store.tls_key", k)?;
            let chain = tiprelay_common::files::read_certs(&c).map_err(|e| bad("store.tls_cert", e.to_string()))?;
            let key = tiprelay_common::files::read_key(&k).map_err(|e| bad("store.tls_key", e.to_string()))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| bad("store.tls_key", e.to_string()))?
        }
        _ => return Err(bad("store.tls_cert", "give both tls_cert and tls_key, or neither".into())),
    };
    cfg.ssl_mode(SslMode::Require);
    Ok(Some(std::sync::Arc::new(tls)))
}

/// `[store]` (or the older `[relay] store`) into the engine and, for redb, its file.
fn store_backend(
    path: &Path,
    raw: &RawConfig,
    bad: &dyn Fn(&str, String) -> ConfigError,
) -> Result<(PathBuf, StoreBackend), ConfigError> {
    let st = raw.store.as_ref();
    let kind = st.and_then(|s| s.kind.as_deref()).unwrap_or("redb");
    match kind {
        "redb" => {
            let file = st
                .and_then(|s| s.path.as_deref())
                .or(raw.relay.store.as_deref())
                .ok_or_else(|| bad("store.path", "give the store file ([store] path, or [relay] store)".into()))?;
            if st.is_some_and(|s| {
                s.url.is_some()
                    || s.password_file.is_some()
                    || s.tls_ca.is_some()
                    || s.tls_cert.is_some()
                    || s.tls_key.is_some()
            }) {
                return Err(bad(
                    "store",
                    "url, password_file, tls_ca, tls_cert and tls_key are only for kind = \"postgres\"".into(),
                ));
            }
            Ok((relative_to(path, file), StoreBackend::Redb))
        }
        "postgres" => {
            let Some(st) = st else {
                return Err(bad("store", "missing".into()));
            };
            let url = st.url.as_deref().ok_or_else(|| {
                bad(
                    "store.url",
                    "give the database, e.g. \"host=/var/run/postgresql dbname=tiprelay user=tiprelay\"".into(),
                )
            })?;
            let mut cfg: postgres::Config =
                url.parse().map_err(|e| bad("store.url", format!("not a PostgreSQL connection string: {e}")))?;
            if cfg.get_password().is_some() {
                return Err(bad(
                    "store.url",
                    format!("holds a password: put it in [store] password_file or ${PG_PASSWORD_ENV} instead"),
                ));
            }
            if cfg.get_dbname().is_none() {
                return Err(bad("store.url", "name the database (dbname=…)".into()));
            }
            let password = match &st.password_file {
                Some(f) => {
                    let p = relative_to(path, f);
                    let text = std::fs::read_to_string(&p)
                        .map_err(|e| bad("store.password_file", format!("cannot read {}: {e}", p.display())))?;
                    Some(text.trim_end_matches(['\n', '\r']).to_owned())
                }
                None => std::env::var(PG_PASSWORD_ENV).ok(),
            };
            if let Some(pw) = password {
                cfg.password(pw);
            }
            if st.path.is_some() {
                return Err(bad("store.path", "only for kind = \"redb\"".into()));
            }
            if raw.relay.store.is_some() {
                return Err(bad("relay.store", "remove it: this relay's store is PostgreSQL ([store])".into()));
            }
            let tls = database_tls(path, st, &mut cfg, bad)?;
            Ok((
                PathBuf::new(),
                StoreBackend::Postgres(Box::new(
                    crate::storage::postgres::PgTarget { config: cfg, tls }.with_timeouts(),
                )),
            ))
        }
        other => Err(bad("store.kind", format!("`{other}`: choose \"redb\" or \"postgres\""))),
    }
}
