//! Relay configuration: TOML parsed strictly (`deny_unknown_fields`) into raw structs, then
//! validated once into typed values. An invalid file fails at start, naming the key.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tiprelay_client::files::{existing_relative, relative_to, TrustFiles};
use tiprelay_proto::{Authority, Jurisdiction};

/// The raw file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    relay: RawRelay,
    operator: RawCa,
    jurisdiction: Vec<RawJurisdiction>,
    pair: Vec<RawPair>,
    #[serde(default)]
    limits: RawLimits,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelay {
    listen: String,
    tls_cert: String,
    tls_key: String,
    signing_cert: String,
    signing_key: String,
    store: String,
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
    /// Store file (redb).
    pub store: PathBuf,
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
}

impl RelayConfig {
    /// Whether `a` and `b` may exchange tips.
    pub fn pair_allowed(&self, a: Jurisdiction, b: Jurisdiction) -> bool {
        self.pairs.contains(&ordered(a, b))
    }

    /// Reads and validates a file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the configuration {}: {e}", path.display()))?;
        Self::parse(&text, path)
    }

    /// Validates TOML text; relative paths resolve against `path`'s directory.
    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Self> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let bad = |key: &str, why: String| anyhow::anyhow!("{}: key `{key}`: {why}", path.display());
        let listen: SocketAddr = raw
            .relay
            .listen
            .parse()
            .map_err(|e| bad("relay.listen", format!("`{}` is not an address: {e}", raw.relay.listen)))?;
        let file = |key: &str, v: &str| -> anyhow::Result<PathBuf> {
            existing_relative(path, v).map_err(|p| bad(key, format!("{} does not exist", p.display())))
        };
        let mut trust = vec![TrustFiles {
            authority: Authority::Operator,
            ca: file("operator.ca", &raw.operator.ca)?,
            crl: file("operator.crl", &raw.operator.crl)?,
        }];
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
        let l = &raw.limits;
        let store = relative_to(path, &raw.relay.store);
        Ok(Self {
            listen,
            tls_cert: file("relay.tls_cert", &raw.relay.tls_cert)?,
            tls_key: file("relay.tls_key", &raw.relay.tls_key)?,
            signing_cert: file("relay.signing_cert", &raw.relay.signing_cert)?,
            signing_key: file("relay.signing_key", &raw.relay.signing_key)?,
            store,
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
