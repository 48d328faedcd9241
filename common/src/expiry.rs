//! Certificate expiry: which certificates of a configuration end soon, or have ended.
//!
//! `tipctl status`, `tiprelay serve` (at start, then daily) and `tiprelay check-config`
//! call [`check`] over the certificates their configuration names (TLS, signing, the
//! trusted roots) and warn about each one within [`WARN_DAYS`] of its notAfter, naming the
//! file, the identity, the date and what to do. Pure apart from reading the files: the
//! time is a parameter.

use std::path::{Path, PathBuf};

use tiprelay_proto::{CertRole, Timestamp};

use crate::files::{read_certs, FileError};
use crate::localize::Msg;

/// Warn this many days before a certificate's notAfter.
pub const WARN_DAYS: u64 = 30;

/// [`WARN_DAYS`] in milliseconds.
pub const WARN_MS: u64 = WARN_DAYS * DAY_MS;

const DAY_MS: u64 = 86_400_000;

/// Where a certificate stands against its notAfter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryState {
    /// Valid for longer than the threshold.
    Valid,
    /// Valid now, but ends within the threshold: renew it.
    ExpiresSoon,
    /// Past its notAfter: refused by every peer.
    Expired,
}

impl ExpiryState {
    /// `valid`, `expires_soon` or `expired` (JSON, logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::ExpiresSoon => "expires_soon",
            Self::Expired => "expired",
        }
    }
}

/// One certificate of a configuration, by the name it has there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedCert {
    /// Its role in the configuration: `tls`, `signing`, `root:MX`, `root:OPERATOR`, …
    /// (also the `certificate` label of the relay's expiry metric).
    pub name: String,
    /// The PEM (or DER) file.
    pub path: PathBuf,
    /// Which certificate of a PEM file (0: the first; a roots file holds two during a CA
    /// rollover).
    pub nth: usize,
}

impl NamedCert {
    /// The first certificate, named `name`, in `path`.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self { name: name.into(), path: path.into(), nth: 0 }
    }
}

/// The expiry of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertExpiry {
    /// The name it has in the configuration (see [`NamedCert::name`]).
    pub name: String,
    /// Its file.
    pub path: PathBuf,
    /// Its `tiprelay://` identity, else its subject (roots).
    pub identity: String,
    /// Whether it is a CA certificate (a root): renewed by its authority, not by the holder.
    pub is_ca: bool,
    /// notAfter.
    pub not_after: Timestamp,
    /// Whole days from `now` to notAfter, rounded down; negative once expired.
    pub days_left: i64,
    /// Against the threshold.
    pub state: ExpiryState,
}

impl CertExpiry {
    /// notAfter in Unix seconds (the relay's `tiprelay_certificate_expiry_seconds`).
    pub fn not_after_unix_seconds(&self) -> i64 {
        i64::try_from(self.not_after.as_unix_ms() / 1000).unwrap_or(i64::MAX)
    }

    /// The warning for a person, naming file, identity, date and what to do; None while
    /// [`ExpiryState::Valid`].
    pub fn warning(&self) -> Option<Msg> {
        let id = match self.state {
            ExpiryState::Valid => return None,
            ExpiryState::ExpiresSoon => "expiry-soon",
            ExpiryState::Expired => "expiry-expired",
        };
        let advice = if self.is_ca {
            Msg::new("expiry-advice-root").text("name", &self.name)
        } else {
            Msg::new("expiry-advice-leaf").text("path", self.path.display())
        };
        Some(
            Msg::new(id)
                .text("name", &self.name)
                .text("path", self.path.display())
                .text("identity", &self.identity)
                .text("date", date(self.not_after))
                .number("days", self.days_left.max(0))
                .msg("advice", advice),
        )
    }

    /// One line for `check-config`: the certificate and its notAfter (the warning instead
    /// when it ends within the threshold).
    pub fn line(&self) -> Msg {
        self.warning().unwrap_or_else(|| {
            Msg::new("expiry-valid")
                .text("name", &self.name)
                .text("path", self.path.display())
                .text("identity", &self.identity)
                .text("date", date(self.not_after))
                .number("days", self.days_left)
        })
    }

    /// The JSON object of `status --json` and `check-config --json`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "certificate": self.name,
            "file": self.path.display().to_string(),
            "identity": self.identity,
            "not_after": self.not_after.to_string(),
            "days_left": self.days_left,
            "state": self.state.as_str(),
        })
    }
}

/// `2026-11-30 20:00 UTC`: a date a person reads (the minute is enough for a notAfter).
pub fn date(t: Timestamp) -> String {
    let s = t.to_string();
    match (s.get(..10), s.get(11..16)) {
        (Some(d), Some(hm)) => format!("{d} {hm} UTC"),
        _ => s,
    }
}

/// The expiry of the certificate `der` (read from `path`, named `name`) at `now`, against
/// a threshold of `warn_ms` milliseconds.
pub fn check_der(name: &str, path: &Path, der: &[u8], now: Timestamp, warn_ms: u64) -> Result<CertExpiry, FileError> {
    let s = tiprelay_proto::summarize_certificate(der)
        .map_err(|e| FileError::Content { path: path.to_path_buf(), why: e.to_string() })?;
    let (end, at) = (s.not_after.as_unix_ms(), now.as_unix_ms());
    let state = if end < at {
        ExpiryState::Expired
    } else if end - at <= warn_ms {
        ExpiryState::ExpiresSoon
    } else {
        ExpiryState::Valid
    };
    let days_left = if end >= at {
        i64::try_from((end - at) / DAY_MS).unwrap_or(i64::MAX)
    } else {
        // Rounded down: one millisecond past notAfter is day -1.
        -i64::try_from((at - end).div_ceil(DAY_MS)).unwrap_or(i64::MAX)
    };
    Ok(CertExpiry {
        name: name.to_owned(),
        path: path.to_path_buf(),
        identity: s.identity.map(|i| i.to_string()).unwrap_or(s.subject),
        is_ca: s.role == CertRole::Ca,
        not_after: s.not_after,
        days_left,
        state,
    })
}

/// The expiry of each certificate in `certs` at `now` (threshold `warn_ms`), in order; a
/// file that cannot be read or parsed is an `Err` in its place, the others still checked.
pub fn check(certs: &[NamedCert], now: Timestamp, warn_ms: u64) -> Vec<Result<CertExpiry, FileError>> {
    certs
        .iter()
        .map(|c| {
            let bytes = std::fs::read(&c.path).map_err(|source| FileError::Io { path: c.path.clone(), source })?;
            let der = if bytes.starts_with(b"-----") {
                read_certs(&c.path)?
                    .into_iter()
                    .nth(c.nth)
                    .ok_or_else(|| FileError::Content { path: c.path.clone(), why: "no CERTIFICATE block".into() })?
                    .to_vec()
            } else {
                bytes
            };
            check_der(&c.name, &c.path, &der, now, warn_ms)
        })
        .collect()
}

/// The certificates a configuration names: `tls`, `signing`, then `root:<authority>` for
/// each trusted root (jurisdictions, the relay operator, a federated peer's); a roots file
/// with two roots (a CA rollover) gives `root:<authority>` and `root:<authority>#2`.
pub fn configured(tls_cert: &Path, signing_cert: &Path, trust: &[crate::files::TrustFiles]) -> Vec<NamedCert> {
    let mut v = vec![NamedCert::new("tls", tls_cert), NamedCert::new("signing", signing_cert)];
    for t in trust {
        // An unreadable file is one entry, whose check reports the error.
        let count = read_certs(&t.ca).map_or(1, |c| c.len().max(1));
        for nth in 0..count {
            let name =
                if nth == 0 { format!("root:{}", t.authority) } else { format!("root:{}#{}", t.authority, nth + 1) };
            v.push(NamedCert { name, path: t.ca.clone(), nth });
        }
    }
    v
}

/// This machine's clock as a [`Timestamp`] (the epoch if the clock is before it).
pub fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Timestamp::from_unix_ms(u64::try_from(ms).unwrap_or(u64::MAX)).unwrap_or(Timestamp::from_unix_seconds(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    /// A self-signed Ed25519 certificate valid from 2026-01-01 to `not_after` (Unix s),
    /// with a tiprelay URI SAN, built by hand (common has no certificate generator): the
    /// DER below is fixed except for the notAfter, which x509 encodes as UTCTime.
    fn cert_until(not_after: i64) -> Vec<u8> {
        let dt = time::OffsetDateTime::from_unix_timestamp(not_after).unwrap();
        let utc = format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            dt.year() % 100,
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        );
        let der = |tag: u8, body: &[u8]| {
            let mut v = vec![tag];
            let n = body.len();
            if n < 128 {
                v.push(n as u8);
            } else {
                v.push(0x81);
                v.push(n as u8);
            }
            v.extend_from_slice(body);
            v
        };
        let cat = |parts: &[Vec<u8>]| parts.concat();
        let ed25519 = der(0x30, &der(0x06, &[0x2b, 0x65, 0x70]));
        let name = der(0x30, &der(0x31, &der(0x30, &cat(&[der(0x06, &[0x55, 0x04, 0x03]), der(0x0c, b"test")]))));
        let validity = der(0x30, &cat(&[der(0x17, b"260101000000Z"), der(0x17, utc.as_bytes())]));
        let spki = der(0x30, &cat(&[ed25519.clone(), der(0x03, &[&[0u8][..], &[7u8; 32]].concat())]));
        let uri = b"tiprelay://MX/analyst/ana";
        let san = der(0x30, &der(0x86, uri));
        let ext = der(0x30, &cat(&[der(0x06, &[0x55, 0x1d, 0x11]), der(0x04, &san)]));
        let exts = der(0xa3, &der(0x30, &ext));
        let version = der(0xa0, &der(0x02, &[2]));
        let tbs =
            der(0x30, &cat(&[version, der(0x02, &[1]), ed25519.clone(), name.clone(), validity, name, spki, exts]));
        der(0x30, &cat(&[tbs, ed25519, der(0x03, &[&[0u8][..], &[0u8; 64]].concat())]))
    }

    const T0: i64 = 1_780_000_000; // 2026-05-28
    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_seconds(secs)
    }
    const DAY: i64 = 86_400;

    #[test]
    fn a_certificate_far_from_its_end_is_valid_and_has_no_warning() {
        let c = check_der("tls", Path::new("tls.crt"), &cert_until(T0 + 90 * DAY), at(T0), WARN_MS).unwrap();
        assert_eq!(c.state, ExpiryState::Valid);
        assert_eq!(c.days_left, 90);
        assert_eq!(c.identity, "tiprelay://MX/analyst/ana");
        assert!(!c.is_ca);
        assert_eq!(c.not_after_unix_seconds(), T0 + 90 * DAY);
        assert!(c.warning().is_none());
        assert!(c.line().to_string().contains("valid until"), "{}", c.line());
        // One second beyond the threshold is still valid.
        let c = check_der("tls", Path::new("tls.crt"), &cert_until(T0 + 30 * DAY + 1), at(T0), WARN_MS).unwrap();
        assert_eq!(c.state, ExpiryState::Valid);
    }

    #[test]
    fn within_thirty_days_it_warns_with_file_identity_date_and_advice() {
        let c =
            check_der("signing", Path::new("/etc/ana/sign.crt"), &cert_until(T0 + 10 * DAY), at(T0), WARN_MS).unwrap();
        assert_eq!(c.state, ExpiryState::ExpiresSoon);
        assert_eq!(c.days_left, 10);
        let w = c.warning().unwrap();
        let en = w.in_locale(Locale::En);
        for part in ["/etc/ana/sign.crt", "tiprelay://MX/analyst/ana", "2026-06-07", "10 days", "tipcerts renew"] {
            assert!(en.contains(part), "{part} missing from {en}");
        }
        let es = w.in_locale(Locale::Es);
        assert!(es.contains("caduca") && es.contains("tipcerts renew") && es.contains("10 días"), "{es}");
        // Exactly at the threshold: warned.
        let c = check_der("tls", Path::new("tls.crt"), &cert_until(T0 + 30 * DAY), at(T0), WARN_MS).unwrap();
        assert_eq!(c.state, ExpiryState::ExpiresSoon);
        // A custom threshold.
        let c = check_der("tls", Path::new("tls.crt"), &cert_until(T0 + 10 * DAY), at(T0), 5 * DAY_MS).unwrap();
        assert_eq!(c.state, ExpiryState::Valid);
    }

    #[test]
    fn past_its_end_it_is_expired() {
        let c = check_der("tls", Path::new("tls.crt"), &cert_until(T0 - 1), at(T0), WARN_MS).unwrap();
        assert_eq!(c.state, ExpiryState::Expired);
        assert_eq!(c.days_left, -1);
        let en = c.warning().unwrap().in_locale(Locale::En);
        assert!(en.contains("EXPIRED") && en.contains("tls.crt"), "{en}");
        let c = check_der("tls", Path::new("tls.crt"), &cert_until(T0 - 3 * DAY), at(T0), WARN_MS).unwrap();
        assert_eq!(c.days_left, -3);
        assert_eq!(c.json()["state"], "expired");
        assert_eq!(c.json()["days_left"], -3);
    }

    #[test]
    fn unreadable_files_are_errors_in_their_place_and_the_others_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.der");
        std::fs::write(&good, cert_until(T0 + DAY)).unwrap();
        let bad = dir.path().join("bad.crt");
        std::fs::write(&bad, b"not a certificate").unwrap();
        let r = check(
            &[
                NamedCert::new("tls", &bad),
                NamedCert::new("signing", &good),
                NamedCert::new("root:MX", dir.path().join("missing.crt")),
            ],
            at(T0),
            WARN_MS,
        );
        assert_eq!(r.len(), 3);
        assert!(r[0].is_err());
        assert_eq!(r[1].as_ref().unwrap().state, ExpiryState::ExpiresSoon);
        assert!(matches!(r[2], Err(FileError::Io { .. })));
    }

    #[test]
    fn configured_names_tls_signing_and_each_root() {
        let trust = vec![crate::files::TrustFiles {
            authority: "OPERATOR".parse().unwrap(),
            ca: "op.crt".into(),
            crl: "op.crl".into(),
        }];
        let names: Vec<String> =
            configured(Path::new("t.crt"), Path::new("s.crt"), &trust).into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["tls", "signing", "root:OPERATOR"]);
    }

    #[test]
    fn dates_read_as_day_and_minute() {
        assert_eq!(date(at(T0)), "2026-05-28 20:26 UTC");
    }
}
