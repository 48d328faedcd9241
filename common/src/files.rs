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
    /// A private key that others than its owner may read or write.
    #[error(
        "{path}: a private key readable or writable by group or others (mode {mode:04o}); allow only its owner: chmod 600 {path}"
    )]
    KeyExposed {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// An encrypted private key, and no passphrase to open it.
    #[error(
        "{path}: the private key is encrypted and no passphrase was given: name a file holding it in \
         TIPRELAY_KEY_PASSPHRASE_FILE (or give the systemd credential key-passphrase), or run from a terminal to be asked"
    )]
    KeyEncrypted {
        /// The key file.
        path: PathBuf,
    },
    /// An encrypted private key the passphrase given does not open.
    #[error("{path}: the passphrase does not open this private key")]
    KeyPassphrase {
        /// The key file.
        path: PathBuf,
    },
    /// A private key owned by another user than the one running this program.
    #[error(
        "{path}: a private key owned by uid {owner}, but this program runs as uid {user}; give it to the user that uses it: chown {user} {path}"
    )]
    KeyNotOwned {
        /// The key file.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The effective user of this process.
        user: u32,
    },
}

fn content(path: &Path, why: impl Into<String>) -> FileError {
    FileError::Content { path: path.to_path_buf(), why: why.into() }
}

fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    std::fs::read(path).map_err(|source| FileError::Io { path: path.to_path_buf(), source })
}

/// The certificates in a PEM file, in order (a roots file holds two during a CA rollover).
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, FileError> {
    read_pem_blocks(path, "no CERTIFICATE block")
}

/// Every PEM block of one kind in a file, in order; `none` when it has none.
fn read_pem_blocks<T: PemObject>(path: &Path, none: &'static str) -> Result<Vec<T>, FileError> {
    let bytes = read(path)?;
    let blocks: Vec<T> =
        T::pem_slice_iter(&bytes).collect::<Result<_, _>>().map_err(|e| content(path, format!("bad PEM: {e}")))?;
    if blocks.is_empty() {
        return Err(content(path, none));
    }
    Ok(blocks)
}

/// The first certificate of a PEM file.
pub fn read_cert(path: &Path) -> Result<CertificateDer<'static>, FileError> {
    read_certs(path)?.into_iter().next().ok_or_else(|| content(path, "no CERTIFICATE block"))
}

/// Whether a private key file is fit to use: owned by this process's effective user and
/// neither readable nor writable by group or others (mode 0600 or stricter). The relay,
/// tipctl and `check-config` refuse any other, with the command that fixes it.
pub fn check_key_file(path: &Path) -> Result<(), FileError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|source| FileError::Io { path: path.to_path_buf(), source })?;
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(FileError::KeyExposed { path: path.to_path_buf(), mode });
    }
    let user = rustix::process::geteuid().as_raw();
    if meta.uid() != user {
        return Err(FileError::KeyNotOwned { path: path.to_path_buf(), owner: meta.uid(), user });
    }
    Ok(())
}

/// The environment variable naming a file that holds the passphrase of encrypted keys.
pub const PASSPHRASE_FILE_ENV: &str = "TIPRELAY_KEY_PASSPHRASE_FILE";

/// The systemd credential (`LoadCredential=key-passphrase:…`) holding that passphrase.
pub const PASSPHRASE_CREDENTIAL: &str = "key-passphrase";

/// A passphrase asked at the terminal, kept for the other keys of this process.
static ASKED: std::sync::Mutex<Option<zeroize::Zeroizing<String>>> = std::sync::Mutex::new(None);

/// The passphrase of an encrypted key: the file named by [`PASSPHRASE_FILE_ENV`], else the
/// systemd credential [`PASSPHRASE_CREDENTIAL`], else (standard input a terminal) asked at
/// the terminal without echo; `retry` asks again rather than reuse the one asked before.
fn passphrase(path: &Path, retry: bool) -> Result<zeroize::Zeroizing<String>, FileError> {
    use std::io::IsTerminal;
    let from_file = |f: PathBuf| -> Result<zeroize::Zeroizing<String>, FileError> {
        let text =
            zeroize::Zeroizing::new(std::fs::read_to_string(&f).map_err(|source| FileError::Io { path: f, source })?);
        // One line: a trailing newline (as `echo` writes it) is not part of it.
        Ok(zeroize::Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_owned()))
    };
    if let Some(f) = std::env::var_os(PASSPHRASE_FILE_ENV).filter(|v| !v.is_empty()) {
        return from_file(PathBuf::from(f));
    }
    if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
        let f = Path::new(&dir).join(PASSPHRASE_CREDENTIAL);
        if f.exists() {
            return from_file(f);
        }
    }
    if !std::io::stdin().is_terminal() {
        return Err(FileError::KeyEncrypted { path: path.to_path_buf() });
    }
    let mut asked = ASKED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let (false, Some(p)) = (retry, asked.as_ref()) {
        return Ok(p.clone());
    }
    let prompt = crate::t!("files-passphrase-prompt", "path" => path.display().to_string());
    let p = zeroize::Zeroizing::new(
        rpassword::prompt_password(format!("{prompt} "))
            .map_err(|source| FileError::Io { path: path.to_path_buf(), source })?,
    );
    *asked = Some(p.clone());
    Ok(p)
}

/// A PKCS#8 private key from a PEM file, refused unless [`check_key_file`] accepts the file.
/// An encrypted key (`ENCRYPTED PRIVATE KEY`, PKCS#8 PBES2 as `tipcerts keys encrypt` and
/// `openssl pkcs8 -topk8 -v2 aes-256-cbc` write it) is opened with its passphrase (see
/// [`PASSPHRASE_FILE_ENV`]).
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, FileError> {
    check_key_file(path)?;
    let bytes = zeroize::Zeroizing::new(read(path)?);
    if let Ok(k) = PrivatePkcs8KeyDer::from_pem_slice(&bytes) {
        return Ok(PrivateKeyDer::Pkcs8(k));
    }
    let Ok((label, der)) = pkcs8::der::pem::decode_vec(&bytes) else {
        return Err(content(path, "no PKCS#8 PRIVATE KEY block"));
    };
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(content(path, "no PKCS#8 PRIVATE KEY block"));
    }
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
        .map_err(|_| content(path, "not a PKCS#8 EncryptedPrivateKeyInfo"))?;
    let interactive = std::env::var_os(PASSPHRASE_FILE_ENV).is_none();
    for attempt in 0..3 {
        let pass = passphrase(path, attempt > 0)?;
        match info.decrypt(pass.as_bytes()) {
            Ok(doc) => return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(doc.as_bytes().to_vec()))),
            Err(_) if interactive && std::io::IsTerminal::is_terminal(&std::io::stdin()) && attempt < 2 => continue,
            Err(_) => break,
        }
    }
    Err(FileError::KeyPassphrase { path: path.to_path_buf() })
}

/// A private key (PKCS#8 DER) encrypted with `passphrase` as PEM `ENCRYPTED PRIVATE KEY`:
/// PBES2 with scrypt (N = 2^14, r = 8, p = 1: 16 MiB, within OpenSSL's default limit) and
/// AES-256-CBC (RFC 8018, RFC 7914), which OpenSSL 3 reads (`openssl pkey -passin …`).
pub fn encrypt_key_pem(pkcs8_der: &[u8], passphrase: &[u8]) -> Result<zeroize::Zeroizing<String>, String> {
    use pkcs8::der::EncodePem;
    use rand_core::RngCore;
    let info = pkcs8::PrivateKeyInfo::try_from(pkcs8_der).map_err(|e| e.to_string())?;
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut salt);
    rand_core::OsRng.fill_bytes(&mut iv);
    let kdf = pkcs8::pkcs5::scrypt::Params::new(14, 8, 1, 32).map_err(|e| e.to_string())?;
    let params = pkcs8::pkcs5::pbes2::Parameters::scrypt_aes256cbc(kdf, &salt, &iv).map_err(|e| e.to_string())?;
    let enc = info.encrypt_with_params(params, passphrase).map_err(|e| e.to_string())?;
    let pem = enc
        .decode_msg::<pkcs8::EncryptedPrivateKeyInfo<'_>>()
        .map_err(|e| e.to_string())?
        .to_pem(pkcs8::LineEnding::LF)
        .map_err(|e| e.to_string())?;
    Ok(zeroize::Zeroizing::new(pem))
}

/// A CRL from a PEM file (the first, when it holds several).
pub fn read_crl(path: &Path) -> Result<CertificateRevocationListDer<'static>, FileError> {
    read_crls(path)?.into_iter().next().ok_or_else(|| content(path, "no X509 CRL block"))
}

/// Every CRL of a PEM file, in order (during a CA rollover it holds one per root).
pub fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, FileError> {
    read_pem_blocks(path, "no X509 CRL block")
}

/// A message signer from a signing key and certificate file.
pub fn read_signer(key: &Path, cert: &Path) -> Result<Signer, FileError> {
    let k = read_key(key)?;
    let c = read_cert(cert)?;
    Signer::new(k.secret_der(), c.to_vec()).map_err(|e| content(cert, e.to_string()))
}

/// One authority's trust material. Each file may hold several PEM blocks: during a CA
/// rollover the `ca` file holds the old and the new root, and the `crl` file the CRL of
/// each (PROTOCOL §6.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustFiles {
    /// The authority.
    pub authority: Authority,
    /// Root certificate(s) (PEM).
    pub ca: PathBuf,
    /// CRL(s) (PEM), one per root.
    pub crl: PathBuf,
}

/// The roots and CRLs of `entries` as audit-bundle anchors (for offline verification): one
/// anchor per root, with its CRL.
pub fn anchors(entries: &[TrustFiles]) -> Result<Vec<tiprelay_proto::audit::Anchor>, FileError> {
    Ok(load_trust(entries)?
        .anchors()
        .into_iter()
        .map(|(authority, root, crl)| tiprelay_proto::audit::Anchor { authority, root, crl })
        .collect())
}

/// Builds a trust store from files; every root needs its CRL.
pub fn load_trust(entries: &[TrustFiles]) -> Result<TrustStore, FileError> {
    let mut t = TrustStore::new();
    for e in entries {
        for root in read_certs(&e.ca)? {
            t.add_root(e.authority, &root).map_err(|err| content(&e.ca, err.to_string()))?;
        }
        for crl in read_crls(&e.crl)? {
            t.set_crl(e.authority, &crl).map_err(|err| content(&e.crl, err.to_string()))?;
        }
        if let Some(root) = t.roots_without_crl(e.authority).into_iter().next() {
            return Err(content(&e.crl, format!("{NO_CRL_OF_ROOT}{root}")));
        }
    }
    Ok(t)
}

/// The beginning of the error for a root whose CRL is missing (the root's name follows).
pub const NO_CRL_OF_ROOT: &str = "it holds no revocation list of the root CA ";

/// The store keys under which a party keeps the highest CRL number it accepted for one
/// root's CRLs: the key, and for an authority's sole root the key used before an authority
/// could have two (read while [`crl_floor_migrated_key`] is absent, so an upgrade keeps its
/// floor; never again after, so a later change of root does not inherit it).
pub fn crl_floor_keys(scope: &tiprelay_proto::CrlScope) -> (String, Option<String>) {
    let hex = scope.root.to_hex();
    (
        format!("crl_floor:{}:{}", scope.authority, hex.get(..16).unwrap_or(&hex)),
        scope.sole.then(|| format!("crl_floor:{}", scope.authority)),
    )
}

/// Set (to 1) once an authority's floors are kept per root.
pub fn crl_floor_migrated_key(authority: Authority) -> String {
    format!("crl_floor_per_root:{authority}")
}

/// Checks `trust`'s CRLs against the CRL numbers a party kept (`meta` reads its store: a key's
/// number, None when absent). `Ok(Err(_))`: a CRL older than one already accepted. `Ok(Ok(w))`:
/// the entries to keep, each to be raised to its number (never lowered): every loaded CRL's
/// number under its root's key, and the per-root marker of each authority.
pub fn crl_floors<E>(
    trust: &TrustStore,
    meta: impl Fn(&str) -> Result<Option<u64>, E>,
) -> Result<Result<Vec<(String, u64)>, tiprelay_proto::TrustError>, E> {
    let mut floors = std::collections::BTreeMap::new();
    for (scope, _) in trust.crl_numbers() {
        let (key, legacy) = crl_floor_keys(&scope);
        let kept = match (meta(&key)?, legacy) {
            (Some(f), _) => Some(f),
            (None, Some(l)) if meta(&crl_floor_migrated_key(scope.authority))?.is_none() => meta(&l)?,
            (None, _) => None,
        };
        if let Some(f) = kept {
            floors.insert(scope, f);
        }
    }
    let numbers = match trust.check_crl_floors(|s| floors.get(s).copied()) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    let authorities: std::collections::BTreeSet<Authority> = numbers.iter().map(|(s, _)| s.authority).collect();
    let mut writes: Vec<(String, u64)> = numbers.iter().map(|(s, n)| (crl_floor_keys(s).0, *n)).collect();
    writes.extend(authorities.into_iter().map(|a| (crl_floor_migrated_key(a), 1)));
    Ok(Ok(writes))
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
    fn a_key_others_may_read_or_another_user_owns_is_refused_with_the_fix() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("sign.key");
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n";
        std::fs::write(&key, pem).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o620, 0o660] {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
            match super::read_key(&key) {
                Err(e @ super::FileError::KeyExposed { .. }) => {
                    let text = e.to_string();
                    assert!(text.contains(&format!("mode {mode:04o}")) && text.contains("chmod 600"), "{text}");
                }
                other => panic!("mode {mode:o}: {other:?}"),
            }
        }
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        super::read_key(&key).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
        super::read_key(&key).unwrap();
        // Another owner: only root can make that file here, and the tests run as root in CI.
        let me = rustix::process::geteuid().as_raw();
        if me == 0 {
            std::os::unix::fs::chown(&key, Some(10001), None).unwrap();
            match super::read_key(&key) {
                Err(e @ super::FileError::KeyNotOwned { owner: 10001, user: 0, .. }) => {
                    assert!(e.to_string().contains("chown 0"), "{e}");
                }
                other => panic!("{other:?}"),
            }
        } else {
            assert_eq!(std::fs::metadata(&key).unwrap().uid(), me);
            eprintln!("NOTE: not root: the other-owner case is covered by CI (which runs as root)");
        }
    }

    #[test]
    fn an_encrypted_key_opens_with_its_passphrase_only_and_openssl_reads_it() {
        use rustls_pki_types::pem::PemObject;
        let dir = tempfile::tempdir().unwrap();
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n";
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
        let enc = super::encrypt_key_pem(der.secret_pkcs8_der(), b"correct horse").unwrap();
        assert!(enc.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"), "{}", &enc[..40]);
        assert!(!enc.contains("MC4CAQAwBQYDK2Vw"));
        let key = dir.path().join("sign.key");
        std::fs::write(&key, enc.as_bytes()).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let pass = dir.path().join("pass");
        std::fs::write(&pass, "correct horse\n").unwrap();
        // The passphrase file is named in the environment (the test sets it for this
        // process; no other test reads an encrypted key).
        std::env::set_var(super::PASSPHRASE_FILE_ENV, &pass);
        let k = super::read_key(&key).unwrap();
        assert_eq!(k.secret_der(), der.secret_pkcs8_der(), "the same key comes out");
        std::fs::write(&pass, "wrong horse").unwrap();
        assert!(matches!(super::read_key(&key), Err(super::FileError::KeyPassphrase { .. })));
        std::env::remove_var(super::PASSPHRASE_FILE_ENV);
        // OpenSSL reads it with the passphrase (scrypt and AES-256-CBC in PBES2).
        std::fs::write(&pass, "correct horse\n").unwrap();
        let o = std::process::Command::new("openssl")
            .args(["pkey", "-noout", "-in"])
            .arg(&key)
            .arg("-passin")
            .arg(format!("file:{}", pass.display()))
            .output()
            .expect("openssl is installed by .ci/run");
        assert!(o.status.success(), "openssl: {}", String::from_utf8_lossy(&o.stderr));
    }

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
