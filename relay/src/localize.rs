//! The relay's errors for the person running `tiprelay <command>`, in their language
//! (`common/locales/{en,es}/relay.ftl`).
//!
//! Their `Display` stays English: logs carry it, and what the relay sends to clients and
//! peers is protocol text. [`localize_error`] is the `extra` of
//! [`tiprelay_common::localize::render_chain`] with which `tiprelay` prints a failed command.

use std::error::Error;

use tiprelay_common::i18n::{tr_in, FluentValue, Locale};
use tiprelay_common::localize::{localize_known, Localize};

use crate::audit::AuditExportError;
use crate::config::ConfigError;
use crate::server::{CrlFloorError, ServeError};
use crate::storage::StoreError;
use crate::tls::TlsError;

/// A cause of another library, in `l` when [`localize_known`] knows its type (which
/// speaks the process's language), else its English text.
fn known(l: Locale, e: &(dyn Error + 'static)) -> String {
    match l {
        Locale::En => e.to_string(),
        Locale::Es => localize_known(e).unwrap_or_else(|| e.to_string()),
    }
}

fn text(v: impl std::fmt::Display) -> FluentValue<'static> {
    FluentValue::from(v.to_string())
}

impl Localize for ConfigError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            Self::Read { path, error } => {
                tr_in(l, "relay-err-config-read", &[("path", text(path.display())), ("error", text(error))])
            }
            // The TOML parser's own text (English), after the file.
            Self::Syntax { .. } => self.to_string(),
            Self::Key { path, key, why } => tr_in(
                l,
                "relay-err-config-key",
                &[("path", text(path.display())), ("key", text(key)), ("why", text(why.in_locale(l)))],
            ),
        }
    }
}

impl Localize for StoreError {
    fn localize_in(&self, l: Locale) -> String {
        let tr = |id: &str, args: &[(&str, FluentValue<'_>)]| tr_in(l, id, args);
        match self {
            Self::Conflict { id, from, existing } => {
                tr("relay-err-store-conflict", &[("id", text(id)), ("from", text(from)), ("existing", text(existing))])
            }
            Self::Refused(w) => match tiprelay_proto::error::ErrorCode::from_u16(w.code) {
                Some(code) if l == tiprelay_common::i18n::locale() => {
                    tiprelay_common::localize::wire_reason(code, &w.reason)
                }
                _ => w.reason.clone(),
            },
            Self::Full => tr("relay-err-store-full", &[]),
            Self::QuotaExceeded { author, pending, quota } => tr(
                "relay-err-store-quota",
                &[
                    ("author", text(author)),
                    ("pending", FluentValue::from(*pending)),
                    ("quota", FluentValue::from(*quota)),
                ],
            ),
            Self::Corrupt(detail) => tr("relay-err-store-corrupt", &[("detail", text(detail))]),
            Self::Failed(detail) if detail == crate::storage::postgres::lease::LOST_MESSAGE => {
                tr("relay-err-store-failed", &[("detail", text(tr("relay-err-lease-lost", &[])))])
            }
            // The engine's own text (redb's, PostgreSQL's) stays as it came.
            Self::Failed(detail) => tr("relay-err-store-failed", &[("detail", text(detail))]),
            Self::Closed => tr("relay-err-store-closed", &[]),
            Self::Unusable(m) => m.in_locale(l),
        }
    }
}

impl Localize for TlsError {
    fn localize_in(&self, _: Locale) -> String {
        // rustls's and quinn's own texts: English in both languages.
        self.to_string()
    }
}

impl Localize for CrlFloorError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            Self::Store(e) => e.localize_in(l),
            Self::Older(e) => known(l, e),
        }
    }
}

impl Localize for ServeError {
    fn localize_in(&self, l: Locale) -> String {
        let tr = |id: &str, args: &[(&str, FluentValue<'_>)]| tr_in(l, id, args);
        match self {
            Self::Files(e) => known(l, e),
            Self::MetricsListen { addr, .. } => tr("relay-err-metrics-listen", &[("addr", text(addr))]),
            Self::Tls(e) => e.localize_in(l),
            Self::Listen { addr, .. } => tr("relay-err-listen", &[("addr", text(addr))]),
            Self::Endpoint(e) => e.to_string(),
            Self::OpenStore { path, .. } => tr("relay-err-open-store", &[("path", text(path.display()))]),
            Self::CrlFloors { .. } => tr("relay-err-refusing-to-start", &[]),
            Self::RecordCrlFloors { .. } => tr("relay-err-record-crl-floors", &[]),
            Self::Cancelled => tr("relay-err-cancelled", &[]),
            Self::LeaseLost => tr("relay-err-lease-lost", &[]),
            Self::WrongRelayIdentity { identity, expected } => tr(
                "relay-err-wrong-identity",
                &[("identity", text(identity)), ("expected", text(expected.in_locale(l)))],
            ),
            Self::SigningKey(e) => e.localize_in(l),
            Self::Task { .. } => tr("relay-err-task", &[]),
        }
    }
}

impl Localize for AuditExportError {
    fn localize_in(&self, l: Locale) -> String {
        match self {
            Self::Exists { path } => tr_in(l, "relay-err-export-exists", &[("path", text(path.display()))]),
            Self::Anchors(e) => known(l, e),
            Self::Store(e) => e.localize_in(l),
            Self::Io(e) => e.to_string(),
        }
    }
}

/// The text of one of the relay's own errors in this process's language; None for other
/// types (for [`tiprelay_common::localize::render_chain`]).
pub fn localize_error(e: &(dyn Error + 'static)) -> Option<String> {
    if let Some(e) = e.downcast_ref::<ConfigError>() {
        Some(e.localize())
    } else if let Some(e) = e.downcast_ref::<ServeError>() {
        Some(e.localize())
    } else if let Some(e) = e.downcast_ref::<StoreError>() {
        Some(e.localize())
    } else if let Some(e) = e.downcast_ref::<CrlFloorError>() {
        Some(e.localize())
    } else if let Some(e) = e.downcast_ref::<AuditExportError>() {
        Some(e.localize())
    } else if let Some(e) = e.downcast_ref::<crate::pkcs11::Pkcs11Error>() {
        Some(e.localize())
    } else if let Some(e) = e.downcast_ref::<crate::storage::redb::backup::BackupError>() {
        Some(e.localize())
    } else {
        e.downcast_ref::<TlsError>().map(|e| e.localize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_keep_their_english_display_and_read_in_spanish() {
        let text = r#"
            jurisdiction = []
            pair = []
            [relay]
            listen = "nowhere"
            tls_cert = "tls.crt"
            tls_key = "tls.key"
            signing_cert = "sign.crt"
            signing_key = "sign.key"
        "#;
        let Err(e) = crate::config::RelayConfig::parse(text, std::path::Path::new("/etc/tiprelay/relay.toml")) else {
            panic!("an address that is no address must be refused")
        };
        let en = e.to_string();
        assert!(en.starts_with("/etc/tiprelay/relay.toml: key `relay.listen`: `nowhere` is not an address"), "{en}");
        assert_eq!(e.localize_in(Locale::En), en);
        let es = e.localize_in(Locale::Es);
        assert!(
            es.starts_with("/etc/tiprelay/relay.toml: clave `relay.listen`: «nowhere» no es una dirección"),
            "{es}"
        );
    }

    #[test]
    fn start_errors_read_in_spanish() {
        let e = ServeError::OpenStore { path: "/var/lib/tiprelay/relay.redb".into(), source: StoreError::Full };
        assert_eq!(e.to_string(), "cannot open the store /var/lib/tiprelay/relay.redb");
        assert_eq!(e.localize_in(Locale::Es), "no se puede abrir el almacén /var/lib/tiprelay/relay.redb");
        let chain: Vec<&(dyn Error + 'static)> = vec![&e, &StoreError::Full];
        let es = tiprelay_common::localize::render_chain(chain, &|c| {
            c.downcast_ref::<ServeError>()
                .map(|e| e.localize_in(Locale::Es))
                .or_else(|| c.downcast_ref::<StoreError>().map(|e| e.localize_in(Locale::Es)))
        });
        assert!(
            es.starts_with("no se puede abrir el almacén /var/lib/tiprelay/relay.redb: el almacén del relé está lleno"),
            "{es}"
        );
    }
}
