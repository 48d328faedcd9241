//! Loading PEM certificates, keys and CRLs from files, and building trust stores from them.
//! Shared by `tipctl` and the relay.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tiprelay_proto::{Authority, Signer, TrustStore};

/// Why a file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Cannot read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Wrong content.
    #[error("{path}: {why}")]
    Content {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

fn content(path: &Path, why: impl Into<String>) -> FileError {
    FileError::Content { path: path.to_path_buf(), why: why.into() }
}

fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    std::fs::read(path).map_err(|source| FileError::Io { path: path.to_path_buf(), source })
}

/// The certificates in a PEM file, in order.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, FileError> {
    let bytes = read(path)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| content(path, format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(content(path, "no CERTIFICATE block"));
    }
    Ok(certs)
}

/// The first certificate of a PEM file.
pub fn read_cert(path: &Path) -> Result<CertificateDer<'static>, FileError> {
    read_certs(path)?.into_iter().next().ok_or_else(|| content(path, "no CERTIFICATE block"))
}

/// A PKCS#8 private key from a PEM file.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, FileError> {
    let bytes = read(path)?;
    let k = PrivatePkcs8KeyDer::from_pem_slice(&bytes).map_err(|_| content(path, "no PKCS#8 PRIVATE KEY block"))?;
    Ok(PrivateKeyDer::Pkcs8(k))
}

/// A CRL from a PEM file.
pub fn read_crl(path: &Path) -> Result<CertificateRevocationListDer<'static>, FileError> {
    let bytes = read(path)?;
    CertificateRevocationListDer::from_pem_slice(&bytes).map_err(|_| content(path, "no X509 CRL block"))
}

/// A message signer from a signing key and certificate file.
pub fn read_signer(key: &Path, cert: &Path) -> Result<Signer, FileError> {
    let k = read_key(key)?;
    let c = read_cert(cert)?;
    Signer::new(k.secret_der(), c.to_vec()).map_err(|e| content(cert, e.to_string()))
}

/// One authority's trust material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustFiles {
    /// The authority.
    pub authority: Authority,
    /// Root certificate (PEM).
    pub ca: PathBuf,
    /// CRL (PEM).
    pub crl: PathBuf,
}

/// The roots and CRLs of `entries` as audit-bundle anchors (for offline verification).
pub fn anchors(entries: &[TrustFiles]) -> Result<Vec<tiprelay_proto::audit::Anchor>, FileError> {
    entries
        .iter()
        .map(|t| {
            Ok(tiprelay_proto::audit::Anchor {
                authority: t.authority,
                root: read_cert(&t.ca)?.to_vec(),
                crl: Some(read_crl(&t.crl)?.to_vec()),
            })
        })
        .collect()
}

/// Builds a trust store from files; every root needs its CRL.
pub fn load_trust(entries: &[TrustFiles]) -> Result<TrustStore, FileError> {
    let mut t = TrustStore::new();
    for e in entries {
        let root = read_cert(&e.ca)?;
        t.add_root(e.authority, &root).map_err(|err| content(&e.ca, err.to_string()))?;
        let crl = read_crl(&e.crl)?;
        t.set_crl(e.authority, &crl).map_err(|err| content(&e.crl, err.to_string()))?;
    }
    Ok(t)
}

/// A fingerprint of the trust files' contents, to notice when any of them changes.
pub fn trust_fingerprint(entries: &[TrustFiles]) -> Vec<u8> {
    let mut all = Vec::new();
    for e in entries {
        for p in [&e.ca, &e.crl] {
            all.extend_from_slice(&std::fs::read(p).unwrap_or_default());
            all.push(0);
        }
    }
    tiprelay_proto::Digest::of(&all).0.to_vec()
}

/// Resolves `p` relative to `base`'s directory; `Err` with the resolved path if it does not exist.
pub fn existing_relative(base: &Path, p: &str) -> Result<PathBuf, PathBuf> {
    let resolved = relative_to(base, p);
    if resolved.exists() {
        Ok(resolved)
    } else {
        Err(resolved)
    }
}

/// Resolves `p` relative to the directory of the file `base`.
pub fn relative_to(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// Creates `path` owner-only (0600) if it does not exist, never truncating it: a store is
/// created with its final mode, not chmod'ed after (nothing can open it in between).
///
/// A symbolic link at `path` is refused (`O_NOFOLLOW`): whoever can write the directory
/// must not be able to point the store, and its chmod, at another of the user's files.
pub fn create_private(path: &Path) -> std::io::Result<()> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{} is a symbolic link: a private file is never opened through one", path.display()),
                )
            } else {
                e
            }
        })?;
    // An existing file (an older store) is made owner-only too.
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
}

/// Writes `bytes` to `path` (replacing it) atomically and owner-only: through
/// `PATH.partial`, created 0600, fsynced, then renamed over `path`.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // `report.html.partial`, not `report.partial` (which `report.csv` would share).
    let mut name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".partial");
    let tmp = path.with_file_name(name);
    let _ = std::fs::remove_file(&tmp);
    let done = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        std::io::Write::write_all(&mut f, bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}

/// Writes a new file through `OUT.partial` (created 0600): created exclusively, filled by `write`, flushed
/// and fsynced, then renamed to `out`, unless `out` appeared meanwhile. On any failure the
/// partial file is removed; a crash leaves at most the `.partial` file, never a truncated
/// `out`.
pub fn write_new<T, E: From<std::io::Error>>(
    out: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<T, E>,
) -> Result<T, E> {
    let io =
        |what: &str, p: &Path, e: std::io::Error| std::io::Error::new(e.kind(), format!("{what} {}: {e}", p.display()));
    let tmp = out.with_extension("partial");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| io("cannot create", &tmp, e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    let written = write(&mut w).and_then(|t| {
        std::io::Write::flush(&mut w).and_then(|()| w.get_ref().sync_all()).map_err(|e| io("cannot write", &tmp, e))?;
        if out.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists already; choose another name", out.display()),
            )
            .into());
        }
        std::fs::rename(&tmp, out).map_err(|e| io("cannot write", out, e))?;
        Ok(t)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The `[revocation]` table of relay.toml and of a tipctl configuration: what to do with a
/// CRL past its nextUpdate.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRevocation {
    /// `refuse` (default) or `warn`.
    pub stale: Option<String>,
    /// Hours past nextUpdate before `refuse` applies (default 168: 7 days).
    pub grace_hours: Option<u64>,
}

impl RawRevocation {
    /// The grace after which an authority with a stale CRL is refused, or `None` to warn
    /// only. Errors name the key.
    pub fn crl_grace(&self) -> Result<Option<std::time::Duration>, (&'static str, String)> {
        let hours = self.grace_hours.unwrap_or(168);
        if hours > 24 * 365 {
            return Err(("revocation.grace_hours", "at most 8760 (a year)".into()));
        }
        match self.stale.as_deref().unwrap_or("refuse") {
            "refuse" => Ok(Some(std::time::Duration::from_secs(hours * 3600))),
            "warn" => Ok(None),
            other => Err(("revocation.stale", format!("`{other}` is not `refuse` or `warn`"))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_files_are_owner_only_and_never_opened_through_a_symbolic_link() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store.redb");
        super::create_private(&store).unwrap();
        assert_eq!(std::fs::metadata(&store).unwrap().permissions().mode() & 0o777, 0o600);
        // An existing file keeps its content and becomes owner-only.
        std::fs::write(&store, b"kept").unwrap();
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o644)).unwrap();
        super::create_private(&store).unwrap();
        assert_eq!(std::fs::read(&store).unwrap(), b"kept");
        assert_eq!(std::fs::metadata(&store).unwrap().permissions().mode() & 0o777, 0o600);

        // A link planted where a store goes, pointing at another file of the user: refused,
        // and the target is neither created, changed nor chmod'ed.
        let target = dir.path().join("authorized_keys");
        std::fs::write(&target, b"ssh-ed25519 AAAA").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("client.redb");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = super::create_private(&link).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::metadata(&target).unwrap().permissions().mode() & 0o777, 0o644);
        let dangling = dir.path().join("other.redb");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(super::create_private(&dangling).is_err());
        assert!(!dir.path().join("nowhere").exists(), "a dangling link must not create its target");
    }
}
