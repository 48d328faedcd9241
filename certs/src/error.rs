//! Errors of the PKI tooling.

use std::path::PathBuf;

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
        why: String,
    },
    /// The CA may not issue this identity (another jurisdiction, or the wrong kind).
    #[error("{0}")]
    NotAuthorized(String),
    /// A certificate file is unusable.
    #[error("{path}: {why}")]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// An argument value is invalid.
    #[error("{0}")]
    Invalid(String),
    /// Certificate generation failed.
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
}
