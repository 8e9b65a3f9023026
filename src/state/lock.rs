//! The writer lock: an exclusive OS lock on `<state>.lock`, plus a small `<state>.lock.who`
//! file naming the holder (user, host, pid, since) so a refused writer can say who has it.
//!
//! The OS releases the lock when its holder dies, so a lock left by a dead process is
//! never a wall: the next writer takes it over and says so.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Who holds the lock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Holder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    pub since: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {} (pid {}) since {}", self.user, self.host, self.pid, self.since)
    }
}

/// A held writer lock; released on drop.
#[derive(Debug)]
pub struct Lock {
    file: File,
    who: PathBuf,
    /// Set when this lock replaced one whose holder had died.
    pub took_over: Option<Holder>,
}

impl Lock {
    /// Takes the lock for `state`, or says who holds it.
    pub fn acquire(state: &Path, me: &Holder) -> Result<Self> {
        let lock_path = sibling(state, ".lock");
        let who = sibling(state, ".lock.who");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)
            .map_err(|e| folder_error(state, &lock_path, e))?;

        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = read_holder(&who)
                    .map_or_else(|| "another process".to_string(), |h| h.to_string());
                return Err(Error::Locked { path: state.to_path_buf(), holder });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&lock_path, e)),
        }

        let took_over = read_holder(&who).filter(|h| h != me);
        let text = serde_json::to_string(me).unwrap_or_default();
        std::fs::write(&who, text).map_err(|e| Error::io(&who, e))?;
        Ok(Self { file, who, took_over })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.who);
        // Wine reports an error from unlock although the lock is released; closing the
        // handle releases it everywhere, so the result is not interesting.
        let _ = self.file.unlock();
    }
}

/// Says what is wrong with the state file's folder, rather than naming the lock file.
fn folder_error(state: &Path, lock_path: &Path, e: std::io::Error) -> Error {
    let folder = match state.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    match e.kind() {
        std::io::ErrorKind::NotFound => Error::Invalid(format!(
            "the folder {} does not exist\n  create it, or choose another --state",
            folder.display()
        )),
        std::io::ErrorKind::PermissionDenied => Error::Invalid(format!(
            "cannot create files in {}: permission denied\n  changes need a folder you can write to; reading (status, show, export) works without it",
            folder.display()
        )),
        _ => Error::io(lock_path, e),
    }
}

fn read_holder(path: &Path) -> Option<Holder> {
    std::fs::read_to_string(path).ok().and_then(|t| serde_json::from_str(&t).ok())
}

/// `<state file name><suffix>` in the same folder.
pub fn sibling(state: &Path, suffix: &str) -> PathBuf {
    let name = state.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    state.with_file_name(format!("{name}{suffix}"))
}
