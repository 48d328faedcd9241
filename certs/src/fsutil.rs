//! File writing that never leaves a half-written result: keys are created 0600, files are
//! written to a temporary name, fsynced and renamed; multi-file outputs are assembled in a
//! staging directory that is renamed into place only when complete.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::CertsError;

/// Mode of private key files.
pub const SECRET_MODE: u32 = 0o600;
/// Mode of public files (certificates, CRLs, configs).
pub const PUBLIC_MODE: u32 = 0o644;

fn io_err(path: &Path, e: std::io::Error) -> CertsError {
    CertsError::Io { path: path.to_path_buf(), source: e }
}

/// Writes `bytes` to a new file `path` with `mode`; fails if it exists.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CertsError> {
    let mut f = OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(|e| io_err(path, e))?;
    // The umask may have narrowed the mode; set it exactly.
    f.set_permissions(fs::Permissions::from_mode(mode)).map_err(|e| io_err(path, e))?;
    f.write_all(bytes).map_err(|e| io_err(path, e))?;
    f.sync_all().map_err(|e| io_err(path, e))
}

/// Replaces `path` atomically with `bytes` (temporary file, fsync, rename, fsync dir).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CertsError> {
    let dir = parent_of(path);
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let _ = fs::remove_file(&tmp);
    write_new(&tmp, bytes, mode)?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_err(path, e)
    })?;
    sync_dir(&dir)
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// fsyncs a directory so a rename in it is durable.
pub fn sync_dir(dir: &Path) -> Result<(), CertsError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_err(dir, e))
}

/// A directory being assembled next to its final path; dropped unfinished, it is removed.
pub struct Staging {
    tmp: PathBuf,
    target: PathBuf,
    done: bool,
}

impl Staging {
    /// Prepares to create `target`, which must not exist (or, with `replace`, is replaced
    /// on [`Staging::commit`]). The parent directory is created if needed.
    pub fn new(target: &Path, replace: bool) -> Result<Self, CertsError> {
        if target.exists() && !replace {
            return Err(CertsError::Exists(target.to_path_buf()));
        }
        let parent = parent_of(target);
        fs::create_dir_all(&parent).map_err(|e| io_err(&parent, e))?;
        let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("out");
        let tmp = parent.join(format!(".{name}.staging-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
        }
        fs::create_dir(&tmp).map_err(|e| io_err(&tmp, e))?;
        Ok(Self { tmp, target: target.to_path_buf(), done: false })
    }

    /// The staging directory to write into.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Creates a subdirectory of the staging directory.
    pub fn subdir(&self, rel: &str) -> Result<PathBuf, CertsError> {
        let p = self.tmp.join(rel);
        fs::create_dir_all(&p).map_err(|e| io_err(&p, e))?;
        Ok(p)
    }

    /// Moves the finished directory into place (replacing an old one if allowed).
    pub fn commit(mut self) -> Result<PathBuf, CertsError> {
        if self.target.exists() {
            let old = parent_of(&self.target).join(format!(".old-{}", std::process::id()));
            fs::rename(&self.target, &old).map_err(|e| io_err(&self.target, e))?;
            fs::rename(&self.tmp, &self.target).map_err(|e| io_err(&self.target, e))?;
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(&self.tmp, &self.target).map_err(|e| io_err(&self.target, e))?;
        }
        self.done = true;
        sync_dir(&parent_of(&self.target))?;
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Reads a file with a clear error naming it.
pub fn read(path: &Path) -> Result<Vec<u8>, CertsError> {
    fs::read(path).map_err(|e| io_err(path, e))
}
