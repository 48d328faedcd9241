//! Errors of the PKI tooling.

use std::path::PathBuf;

use tiprelay_common::i18n::{tr_in, FluentValue, Locale};
use tiprelay_common::localize::Localize;

use tiprelay_common::localize::Msg;

/// Why a PKI operation failed. Nothing is left half-written when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The output already exists.
    #[error("{0} already exists; choose another path or pass --force to replace it")]
    Exists(PathBuf),
    /// A CA directory is missing a file or holds something unusable.
    #[error("{path} is not a usable CA directory: {why}")]
    BadCaDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        why: Msg,
    },
    /// The CA may not issue this identity (another jurisdiction, or the wrong kind).
    #[error("{0}")]
    NotAuthorized(Msg),
    /// A certificate file is unusable.
    #[error("{path}: {why}")]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: Msg,
    },
    /// An argument value is invalid.
    #[error("{0}")]
    Invalid(Msg),
    /// Certificate generation failed.
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
}

impl Localize for CertsError {
    fn localize_in(&self, l: Locale) -> String {
        let tr = |id: &str, args: &[(&str, FluentValue<'_>)]| tr_in(l, id, args);
        let path = |p: &PathBuf| FluentValue::from(p.display().to_string());
        match self {
            // The OS error's own text (English) follows the path in both languages.
            Self::Io { .. } => self.to_string(),
            Self::Exists(p) => tr("certs-err-exists", &[("path", path(p))]),
            Self::BadCaDir { path: p, why } => {
                tr("certs-err-bad-ca-dir", &[("path", path(p)), ("why", FluentValue::from(why.in_locale(l)))])
            }
            Self::NotAuthorized(m) | Self::Invalid(m) => m.in_locale(l),
            Self::BadCertificate { path: p, why } => format!("{}: {}", p.display(), why.in_locale(l)),
            Self::Rcgen(e) => tr("certs-err-rcgen", &[("error", FluentValue::from(e.to_string()))]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_english_display_and_read_in_spanish() {
        let e = CertsError::BadCaDir { path: "/secure/mx-ca".into(), why: Msg::new("certs-ca-dir-missing") };
        let en =
            "/secure/mx-ca is not a usable CA directory: it does not exist or is not a directory (create one with \
                  `tipcerts init-ca`)";
        assert_eq!(e.to_string(), en);
        assert_eq!(e.localize_in(Locale::En), en);
        assert_eq!(
            e.localize_in(Locale::Es),
            "/secure/mx-ca no es un directorio de CA utilizable: no existe o no es un directorio (cree uno con \
             `tipcerts init-ca`)"
        );
        let e = CertsError::NotAuthorized(
            Msg::new("certs-not-own-authority")
                .text("ca", "MX")
                .text("identity", "tiprelay://US/analyst/sam")
                .text("owner", "US"),
        );
        assert!(e.to_string().starts_with("the MX CA cannot issue tiprelay://US/analyst/sam"), "{e}");
        assert!(e.localize_in(Locale::Es).starts_with("la CA de MX no puede emitir tiprelay://US/analyst/sam"));
    }
}
