//! `tipcerts show`: readable summaries of certificates and CRLs.

use std::fmt::Write;
use std::path::Path;

use rustls_pki_types::pem::{PemObject, SectionKind};
use serde::Serialize;
use tiprelay_common::i18n::{tr_in, FluentValue, Locale};
use tiprelay_proto::{summarize_certificate, Timestamp};

use crate::error::CertsError;
use crate::fsutil;
use tiprelay_common::localize::Msg;

/// One summarized object from a file.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Shown {
    /// A certificate.
    Certificate {
        /// Subject DN.
        subject: String,
        /// Identity URI, if any.
        identity: Option<String>,
        /// Role.
        role: String,
        /// Issuer DN.
        issuer: String,
        /// RFC 3339.
        not_before: String,
        /// RFC 3339.
        not_after: String,
        /// `valid`, `expired` or `not yet valid` at the time of the call.
        status: String,
        /// Serial, hex.
        serial: String,
        /// SHA-256 of the DER, hex.
        sha256_fingerprint: String,
        /// DNS/IP names.
        other_names: Vec<String>,
    },
    /// A revocation list.
    Crl {
        /// Issuer DN.
        issuer: String,
        /// CRL number.
        number: Option<String>,
        /// RFC 3339.
        this_update: String,
        /// RFC 3339.
        next_update: Option<String>,
        /// `current` or `stale`.
        status: String,
        /// Revoked serials, hex.
        revoked: Vec<String>,
    },
}

/// Summarizes every certificate and CRL in a PEM (or DER certificate) file.
pub fn show(path: &Path, now: Timestamp) -> Result<Vec<Shown>, CertsError> {
    let bytes = fsutil::read(path)?;
    let bad = |why: Msg| CertsError::BadCertificate { path: path.to_path_buf(), why };
    let mut out = Vec::new();
    if bytes.starts_with(b"-----") {
        for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(&bytes) {
            let (kind, der) = item.map_err(|e| bad(Msg::new("certs-show-bad-pem").text("error", e)))?;
            match kind {
                SectionKind::Certificate => out.push(show_cert(&der, now).map_err(bad)?),
                SectionKind::Crl => out.push(show_crl(&der, now).map_err(bad)?),
                SectionKind::PrivateKey | SectionKind::EcPrivateKey | SectionKind::RsaPrivateKey => {
                    return Err(bad(Msg::new("certs-show-private-key")))
                }
                _ => {}
            }
        }
    } else {
        out.push(show_cert(&bytes, now).or_else(|_| show_crl(&bytes, now)).map_err(bad)?);
    }
    if out.is_empty() {
        return Err(bad(Msg::new("certs-show-nothing")));
    }
    Ok(out)
}

fn show_cert(der: &[u8], now: Timestamp) -> Result<Shown, Msg> {
    let s = summarize_certificate(der).map_err(|e| Msg::of_error(&e))?;
    let status = if now > s.not_after {
        "expired"
    } else if now < s.not_before {
        "not yet valid"
    } else {
        "valid"
    };
    Ok(Shown::Certificate {
        subject: s.subject,
        identity: s.identity.map(|i| i.to_string()),
        role: s.role.as_str().to_owned(),
        issuer: s.issuer,
        not_before: s.not_before.to_string(),
        not_after: s.not_after.to_string(),
        status: status.to_owned(),
        serial: s.serial_hex,
        sha256_fingerprint: s.fingerprint.to_hex(),
        other_names: s.other_names,
    })
}

fn show_crl(der: &[u8], now: Timestamp) -> Result<Shown, Msg> {
    let (_, crl) = x509_parser::parse_x509_crl(der).map_err(|e| Msg::new("certs-show-not-crl").text("error", e))?;
    let next = crl.next_update().map(|t| Timestamp::from_unix_seconds(t.timestamp()));
    Ok(Shown::Crl {
        issuer: crl.issuer().to_string(),
        number: crl.crl_number().map(|n| n.to_string()),
        this_update: Timestamp::from_unix_seconds(crl.last_update().timestamp()).to_string(),
        next_update: next.map(|t| t.to_string()),
        status: if next.is_some_and(|n| n < now) { "stale (past nextUpdate)" } else { "current" }.to_owned(),
        revoked: crl.iter_revoked_certificates().map(|r| hex::encode(r.raw_serial())).collect(),
    })
}

/// Renders summaries as aligned text, in this process's language.
pub fn render_text(items: &[Shown]) -> String {
    render_text_in(items, tiprelay_common::i18n::locale())
}

/// The status words of `--json` (`valid`, `stale (past nextUpdate)`, …) for a person.
fn status_in(l: Locale, status: &str) -> String {
    let id = match status {
        "valid" => "certs-show-status-valid",
        "expired" => "certs-show-status-expired",
        "not yet valid" => "certs-show-status-not-yet-valid",
        "current" => "certs-show-status-current",
        "stale (past nextUpdate)" => "certs-show-status-stale",
        other => return other.to_owned(),
    };
    tr_in(l, id, &[])
}

/// Renders summaries as aligned text in `l`.
pub fn render_text_in(items: &[Shown], l: Locale) -> String {
    let tr = |id: &str| tr_in(l, id, &[]);
    // Fields are indented here: Fluent drops a message's leading spaces.
    let field = |id: &str, value: String| format!("  {}", tr_in(l, id, &[("value", FluentValue::from(value))]));
    let mut o = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            o.push('\n');
        }
        match item {
            Shown::Certificate {
                subject,
                identity,
                role,
                issuer,
                not_before,
                not_after,
                status,
                serial,
                sha256_fingerprint,
                other_names,
            } => {
                let _ = writeln!(o, "{}", tr("certs-show-certificate"));
                let identity = identity.clone().unwrap_or_else(|| tr("certs-show-no-identity"));
                let _ = writeln!(o, "{}", field("certs-show-identity", identity));
                let _ = writeln!(o, "{}", field("certs-show-role", role.clone()));
                let _ = writeln!(o, "{}", field("certs-show-subject", subject.clone()));
                let _ = writeln!(o, "{}", field("certs-show-issuer", issuer.clone()));
                let _ = writeln!(
                    o,
                    "  {}",
                    tr_in(
                        l,
                        "certs-show-valid",
                        &[
                            ("from", FluentValue::from(not_before.clone())),
                            ("until", FluentValue::from(not_after.clone())),
                            ("status", FluentValue::from(status_in(l, status))),
                        ]
                    )
                );
                if !other_names.is_empty() {
                    let _ = writeln!(o, "{}", field("certs-show-names", other_names.join(", ")));
                }
                let _ = writeln!(o, "{}", field("certs-show-serial", serial.clone()));
                let _ = writeln!(o, "{}", field("certs-show-sha256", sha256_fingerprint.clone()));
            }
            Shown::Crl { issuer, number, this_update, next_update, status, revoked } => {
                let _ = writeln!(o, "{}", tr("certs-show-crl"));
                let _ = writeln!(o, "{}", field("certs-show-issuer", issuer.clone()));
                let _ = writeln!(o, "{}", field("certs-show-number", number.clone().unwrap_or_else(|| "-".into())));
                let _ = writeln!(o, "{}", field("certs-show-this-update", this_update.clone()));
                let _ = writeln!(
                    o,
                    "  {}",
                    tr_in(
                        l,
                        "certs-show-next-update",
                        &[
                            ("value", FluentValue::from(next_update.clone().unwrap_or_else(|| "-".into()))),
                            ("status", FluentValue::from(status_in(l, status))),
                        ]
                    )
                );
                let revoked = if revoked.is_empty() { tr("certs-show-none") } else { revoked.join(", ") };
                let _ = writeln!(o, "{}", field("certs-show-revoked", revoked));
            }
        }
    }
    o
}
