//! `tipctl` configuration (one file per principal), parsed strictly and validated once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tiprelay_proto::{Authority, Jurisdiction, Lang, PrincipalId};

use crate::files::{existing_relative, relative_to, TrustFiles};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    principal: String,
    lang: String,
    #[serde(default)]
    ui_lang: Option<String>,
    store: String,
    relay: RawRelay,
    keys: RawKeys,
    trust: Vec<RawTrust>,
    #[serde(default)]
    audit: RawAudit,
    #[serde(default)]
    max_store_mb: Option<u64>,
    #[serde(default)]
    revocation: crate::files::RawRevocation,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    #[serde(default)]
    witness: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelay {
    address: RawAddresses,
    server_name: String,
    #[serde(default)]
    operator_ca: Option<String>,
    #[serde(default)]
    operator_crl: Option<String>,
    #[serde(default)]
    connect_timeout_ms: Option<u64>,
}

/// `address = "host:port"`, or a list of the relays of one deployment in order of preference.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawAddresses {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    tls_cert: String,
    tls_key: String,
    signing_cert: String,
    signing_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    code: String,
    ca: String,
    crl: String,
}

/// Why a client configuration was refused. Every message names the file, and the key when
/// one is at fault.
#[derive(Debug, thiserror::Error)]
pub enum ClientConfigError {
    /// The file cannot be read.
    #[error("{}", crate::t!("config-read", "path" => path.display().to_string(), "error" => human(error)))]
    Read {
        /// The configuration file.
        path: PathBuf,
        /// The OS error (part of the message, so not also a `source`).
        error: std::io::Error,
    },
    /// Not TOML, or not a client's tables and keys (an unknown key is refused).
    #[error("{path}: {error}")]
    Syntax {
        /// The configuration file.
        path: PathBuf,
        /// The parser's error (part of the message, so not also a `source`).
        error: toml::de::Error,
    },
    /// A key whose value is invalid, or a required entry that is missing.
    #[error("{}", crate::t!("config-key", "path" => path.display().to_string(), "key" => key.clone(), "why" => why.clone()))]
    Key {
        /// The configuration file.
        path: PathBuf,
        /// The key, e.g. `relay.address` or `trust[0].ca`.
        key: String,
        /// What is wrong with it (in this process's language).
        why: String,
    },
}

/// A validation error's text for a person (the proto's own errors are localised there).
fn human(e: &(dyn std::error::Error + 'static)) -> String {
    tiprelay_common::localize::localize_known(e).unwrap_or_else(|| e.to_string())
}

/// A validated client configuration.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// This principal.
    pub principal: PrincipalId,
    /// Its jurisdiction.
    pub jurisdiction: Jurisdiction,
    /// Default tip language.
    pub lang: Lang,
    /// The language of messages, tables and help (`ui_lang`, `es` or `en`), when set;
    /// otherwise `LC_ALL`/`LC_MESSAGES`/`LANG`, then `lang`.
    pub ui_lang: Option<crate::i18n::Locale>,
    /// How long a connection attempt may take before the relay is reported unreachable
    /// (`[relay] connect_timeout_ms`, 100..=60000, default 2000).
    pub connect_timeout: std::time::Duration,
    /// Local store file.
    pub store: PathBuf,
    /// Relay UDP address (the first of `relay_addrs`).
    pub relay_addr: SocketAddr,
    /// Every relay of the deployment, in order of preference (`[relay] address` as a list);
    /// a client connects to whichever answers first, trying them in this order.
    pub relay_addrs: Vec<SocketAddr>,
    /// TLS server name of the relay.
    pub server_name: String,
    /// Operator root and CRL (when the relay is the shared one), then each jurisdiction's.
    pub trust: Vec<TrustFiles>,
    /// TLS client certificate.
    pub tls_cert: PathBuf,
    /// TLS client key.
    pub tls_key: PathBuf,
    /// Signing certificate.
    pub signing_cert: PathBuf,
    /// Signing key.
    pub signing_key: PathBuf,
    /// Cosign each relay checkpoint verified as consistent (`[audit] witness = true`).
    pub witness: bool,
    /// Largest local store, in MiB (`max_store_mb`); new tips are refused beyond it.
    pub max_store_mb: Option<u64>,
    /// With `Some(g)`, certificates of an authority whose CRL is past its nextUpdate by more
    /// than `g` are refused (`[revocation]`, default 7 days); `None` only warns.
    pub crl_grace: Option<std::time::Duration>,
}

impl ClientConfig {
    /// Whether this principal's relay is its jurisdiction's own (federation, PROTOCOL §14):
    /// no relay operator root is configured.
    pub fn federated(&self) -> bool {
        !self.trust.iter().any(|t| t.authority == Authority::Operator)
    }

    /// Reads and validates a configuration file; every error names the key.
    pub fn load(path: &Path) -> Result<Self, ClientConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| ClientConfigError::Read { path: path.to_path_buf(), error })?;
        let raw: Raw =
            toml::from_str(&text).map_err(|error| ClientConfigError::Syntax { path: path.to_path_buf(), error })?;
        let bad =
            |key: &str, why: String| ClientConfigError::Key { path: path.to_path_buf(), key: key.to_owned(), why };
        let principal: PrincipalId = raw.principal.parse().map_err(|e| bad("principal", human(&e)))?;
        let jurisdiction =
            principal.jurisdiction().ok_or_else(|| bad("principal", crate::t!("config-not-a-client")))?;
        let file = |key: &str, v: &str| -> Result<PathBuf, ClientConfigError> {
            existing_relative(path, v)
                .map_err(|p| bad(key, crate::t!("config-no-file", "path" => p.display().to_string())))
        };
        // The shared relay (hub mode) is certified by the relay operator's CA; a
        // jurisdiction's own relay (federation) by that jurisdiction's CA, whose root is
        // already in [[trust]]: then `operator_ca` and `operator_crl` are left out.
        let mut trust = Vec::new();
        match (&raw.relay.operator_ca, &raw.relay.operator_crl) {
            (Some(ca), Some(crl)) => trust.push(TrustFiles {
                authority: Authority::Operator,
                ca: file("relay.operator_ca", ca)?,
                crl: file("relay.operator_crl", crl)?,
            }),
            (None, None) => {}
            (Some(_), None) => {
                return Err(bad("relay.operator_crl", crate::t!("config-missing-with", "other" => "relay.operator_ca")))
            }
            (None, Some(_)) => {
                return Err(bad("relay.operator_ca", crate::t!("config-missing-with", "other" => "relay.operator_crl")))
            }
        }
        for (i, t) in raw.trust.iter().enumerate() {
            let code: Jurisdiction = t.code.parse().map_err(|e| bad(&format!("trust[{i}].code"), human(&e)))?;
            trust.push(TrustFiles {
                authority: Authority::Jurisdiction(code),
                ca: file(&format!("trust[{i}].ca"), &t.ca)?,
                crl: file(&format!("trust[{i}].crl"), &t.crl)?,
            });
        }
        if !trust.iter().any(|t| t.authority == Authority::Jurisdiction(jurisdiction)) {
            return Err(bad("trust", crate::t!("config-no-own-trust", "jurisdiction" => jurisdiction.to_string())));
        }
        let addresses = match &raw.relay.address {
            RawAddresses::One(a) => vec![a.clone()],
            RawAddresses::Many(list) => list.clone(),
        };
        let mut relay_addrs = Vec::with_capacity(addresses.len());
        for a in &addresses {
            let addr: SocketAddr = a.parse().map_err(|e: std::net::AddrParseError| {
                bad("relay.address", crate::t!("config-not-host-port", "value" => a.clone(), "error" => e.to_string()))
            })?;
            if !relay_addrs.contains(&addr) {
                relay_addrs.push(addr);
            }
        }
        let Some(relay_addr) = relay_addrs.first().copied() else {
            return Err(bad("relay.address", crate::t!("config-no-address")));
        };
        if relay_addrs.len() > 8 {
            return Err(bad("relay.address", crate::t!("config-too-many-addresses", "count" => relay_addrs.len())));
        }
        let ui_lang = match &raw.ui_lang {
            None => None,
            Some(l) => Some(
                crate::i18n::Locale::parse(l)
                    .filter(|_| matches!(l.as_str(), "es" | "en"))
                    .ok_or_else(|| bad("ui_lang", crate::t!("config-ui-lang", "value" => l.clone())))?,
            ),
        };
        let connect_ms = raw.relay.connect_timeout_ms.unwrap_or(2000);
        if !(100..=60_000).contains(&connect_ms) {
            return Err(bad("relay.connect_timeout_ms", crate::t!("config-connect-timeout", "value" => connect_ms)));
        }
        Ok(Self {
            ui_lang,
            connect_timeout: std::time::Duration::from_millis(connect_ms),
            lang: raw.lang.parse().map_err(|e| bad("lang", human(&e)))?,
            store: relative_to(path, &raw.store),
            relay_addr,
            relay_addrs,
            server_name: raw.relay.server_name,
            tls_cert: file("keys.tls_cert", &raw.keys.tls_cert)?,
            tls_key: file("keys.tls_key", &raw.keys.tls_key)?,
            signing_cert: file("keys.signing_cert", &raw.keys.signing_cert)?,
            signing_key: file("keys.signing_key", &raw.keys.signing_key)?,
            principal,
            jurisdiction,
            trust,
            witness: raw.audit.witness,
            max_store_mb: raw.max_store_mb,
            crl_grace: raw.revocation.crl_grace().map_err(|(k, why)| bad(k, why))?,
        })
    }
}
