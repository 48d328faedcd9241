//! `tiprelay audit export`: the relay's audit log as a self-contained bundle.

use std::path::Path;

use tiprelay_proto::audit::{Anchor, BundleHeader};

use crate::config::RelayConfig;
use crate::storage::{self, ExportRange};

/// The roots and CRLs of every authority the relay trusts, for offline verification.
pub fn anchors(cfg: &RelayConfig) -> anyhow::Result<Vec<Anchor>> {
    Ok(tiprelay_common::files::anchors(&cfg.trust)?)
}

/// Exports a bundle of the relay's store to `out` (which must not exist); returns its header.
pub fn export(cfg: &RelayConfig, range: ExportRange, out: &Path) -> anyhow::Result<BundleHeader> {
    if out.exists() {
        anyhow::bail!("{} exists already; choose another name", out.display());
    }
    let db = storage::open_read_only(&cfg.store)?;
    let anchors = anchors(cfg)?;
    tiprelay_common::files::write_new(out, |w| {
        storage::export_bundle(&db, range, anchors, w).map_err(anyhow::Error::from)
    })
}
