//! `tiprelay audit export`: the relay's audit log as a self-contained bundle.

use std::path::{Path, PathBuf};

use tiprelay_common::files::FileError;
use tiprelay_proto::audit::{Anchor, BundleHeader};

use crate::config::RelayConfig;
use crate::storage::{self, ExportRange, StoreError};

/// Why an audit bundle could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum AuditExportError {
    /// The output file exists already (an export never overwrites).
    #[error("{path} exists already; choose another name")]
    Exists {
        /// The output file.
        path: PathBuf,
    },
    /// A root or CRL file (the bundle's anchors) cannot be read or used.
    #[error(transparent)]
    Anchors(#[from] FileError),
    /// The store cannot be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The bundle cannot be written (the message names the file).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The roots and CRLs of every authority the relay trusts, for offline verification.
pub fn anchors(cfg: &RelayConfig) -> Result<Vec<Anchor>, FileError> {
    tiprelay_common::files::anchors(&cfg.trust)
}

/// Exports a bundle of the relay's store to `out` (which must not exist); returns its header.
pub fn export(cfg: &RelayConfig, range: ExportRange, out: &Path) -> Result<BundleHeader, AuditExportError> {
    if out.exists() {
        return Err(AuditExportError::Exists { path: out.to_path_buf() });
    }
    let db = storage::open_engine(cfg, false)?;
    let anchors = anchors(cfg)?;
    tiprelay_common::files::write_new(out, |w| {
        storage::export_bundle(&*db, range, anchors, w).map_err(AuditExportError::from)
    })
}
