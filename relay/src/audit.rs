//! `tiprelay audit export`: the relay's audit log as a self-contained bundle.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use tiprelay_proto::audit::{Anchor, BundleHeader};

use crate::config::RelayConfig;
use crate::store::{self, ExportRange};

/// The roots and CRLs of every authority the relay trusts, for offline verification.
pub fn anchors(cfg: &RelayConfig) -> anyhow::Result<Vec<Anchor>> {
    Ok(tiprelay_client::files::anchors(&cfg.trust)?)
}

/// Exports a bundle of the relay's store to `out` (which must not exist); returns its header.
pub fn export(cfg: &RelayConfig, range: ExportRange, out: &Path) -> anyhow::Result<BundleHeader> {
    if out.exists() {
        anyhow::bail!("{} exists already; choose another name", out.display());
    }
    let db = store::open_read_only(&cfg.store)?;
    let anchors = anchors(cfg)?;
    let tmp = out.with_extension("partial");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let result = store::export_bundle(&db, range, anchors, &mut w).map_err(anyhow::Error::from).and_then(|h| {
        w.flush()?;
        w.get_ref().sync_all()?;
        Ok(h)
    });
    let header = match result {
        Ok(h) => h,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if out.exists() {
        let _ = std::fs::remove_file(&tmp);
        anyhow::bail!("{} exists already; choose another name", out.display());
    }
    std::fs::rename(&tmp, out).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(header)
}
