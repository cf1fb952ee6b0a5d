//! Claims on database directories, shared by every thread of the process.
//!
//! RocksDB's own LOCK file only says whether RocksDB has a directory open
//! now. A handle of this package holds its directory for longer: from the
//! moment its open begins (before RocksDB has it) until `close()`, and
//! through the time its RocksDB is closed because it sat idle
//! (`idleTimeout`). Work that replaces or removes a directory (a branch's
//! reset or delete, a restore) must not run while any such handle exists,
//! in this thread or another, and no handle may begin opening while that
//! work runs. A claim says so: every handle holds a shared claim on its
//! directory, and the work that replaces it holds the exclusive one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, MutexGuard};

use napi_derive::napi;

/// The claims on one directory.
#[derive(Default)]
struct Claims {
  /// Handles that hold it (open, opening or dormant).
  shared: u32,
  /// What holds it exclusively (`"reset"`, `"restore"`, ...), if anything.
  exclusive: Option<String>,
}

static CLAIMS: LazyLock<Mutex<HashMap<PathBuf, Claims>>> =
  LazyLock::new(|| Mutex::new(HashMap::new()));

fn claims() -> MutexGuard<'static, HashMap<PathBuf, Claims>> {
  // A panic while the map was locked leaves it consistent (every change is
  // one statement), so a poisoned lock is taken over.
  CLAIMS
    .lock()
    .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The key of a directory: the canonical path of its nearest existing
/// ancestor (itself, once it exists) followed by the names below it, so that
/// two spellings of one directory share their claims, and a claim taken
/// before an open creates the directory (and its parents) keeps its key
/// after (`/tmp` a symlink, as on macOS, included).
fn key_of(path: &Path) -> PathBuf {
  let mut below = Vec::new();
  let mut current = path;
  loop {
    if let Ok(canonical) = std::fs::canonicalize(current) {
      return below
        .iter()
        .rev()
        .fold(canonical, |key, name| key.join(name));
    }
    match (current.parent(), current.file_name()) {
      (Some(parent), Some(name)) => {
        below.push(name.to_owned());
        current = parent;
      }
      _ => return path.to_path_buf(),
    }
  }
}

/// A claim on a database directory, held until `release()` or until the
/// object is collected.
#[napi]
pub struct DirectoryClaim {
  key: Option<PathBuf>,
  exclusive: bool,
}

impl DirectoryClaim {
  fn take(path: &str, exclusive: bool, purpose: &str) -> Option<DirectoryClaim> {
    let key = key_of(Path::new(path));
    let mut map = claims();
    let entry = map.entry(key.clone()).or_default();
    if entry.exclusive.is_some() || (exclusive && entry.shared > 0) {
      return None;
    }
    if exclusive {
      entry.exclusive = Some(purpose.to_owned());
    } else {
      entry.shared += 1;
    }
    Some(DirectoryClaim {
      key: Some(key),
      exclusive,
    })
  }

  fn give_back(&mut self) {
    let Some(key) = self.key.take() else {
      return;
    };
    let mut map = claims();
    if let Some(entry) = map.get_mut(&key) {
      if self.exclusive {
        entry.exclusive = None;
      } else {
        entry.shared = entry.shared.saturating_sub(1);
      }
      if entry.shared == 0 && entry.exclusive.is_none() {
        map.remove(&key);
      }
    }
  }
}

impl Drop for DirectoryClaim {
  fn drop(&mut self) {
    self.give_back();
  }
}

#[napi]
impl DirectoryClaim {
  /// Gives the claim back. Idempotent.
  #[napi]
  pub fn release(&mut self) {
    self.give_back();
  }
}

/// Takes a shared claim on the database directory at `path`, as a handle
/// does for as long as it is open (or opening, or dormant); `null` while
/// work holds it exclusively.
#[napi]
pub fn claim_directory_shared(path: String) -> Option<DirectoryClaim> {
  DirectoryClaim::take(&path, false, "")
}

/// Takes the exclusive claim on the directory at `path` for `purpose` (a
/// reset, a delete, a restore); `null` while any handle or other work holds
/// a claim on it.
#[napi]
pub fn claim_directory_exclusive(path: String, purpose: String) -> Option<DirectoryClaim> {
  DirectoryClaim::take(&path, true, &purpose)
}

/// Who holds claims on the directory at `path`: how many handles, and the
/// purpose of exclusive work, if any.
#[napi(object)]
pub struct DirectoryClaims {
  /// Handles of this process open (or opening, or dormant) on it.
  pub handles: u32,
  /// The work that holds it exclusively, or `null`.
  pub exclusive: Option<String>,
}

/// The claims on the directory at `path` now.
#[napi]
pub fn directory_claims(path: String) -> DirectoryClaims {
  let key = key_of(Path::new(&path));
  let map = claims();
  let entry = map.get(&key);
  DirectoryClaims {
    handles: entry.map_or(0, |entry| entry.shared),
    exclusive: entry.and_then(|entry| entry.exclusive.clone()),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn handles_share_a_directory_and_exclusive_work_excludes_them() {
    let path = std::env::temp_dir().join(format!("rb-claim-{}", std::process::id()));
    let path = path.to_string_lossy().into_owned();
    let mut first = claim_directory_shared(path.clone()).expect("free");
    let second = claim_directory_shared(path.clone()).expect("shared claims share");
    assert!(claim_directory_exclusive(path.clone(), "reset".into()).is_none());
    assert_eq!(directory_claims(path.clone()).handles, 2);
    first.release();
    first.release();
    assert_eq!(directory_claims(path.clone()).handles, 1);
    drop(second);
    let reset = claim_directory_exclusive(path.clone(), "reset".into()).expect("no handle left");
    assert!(claim_directory_shared(path.clone()).is_none());
    assert!(claim_directory_exclusive(path.clone(), "restore".into()).is_none());
    assert_eq!(
      directory_claims(path.clone()).exclusive.as_deref(),
      Some("reset")
    );
    let other = std::thread::spawn({
      let path = path.clone();
      move || claim_directory_shared(path).is_none()
    });
    assert!(other.join().unwrap(), "another thread is excluded too");
    drop(reset);
    assert!(claim_directory_shared(path.clone()).is_some());
    assert_eq!(directory_claims(path).handles, 0);
  }

  #[test]
  fn a_claim_taken_before_its_directory_exists_keeps_its_key_after() {
    let root = std::env::temp_dir().join(format!("rb-claim-new-{}", std::process::id()));
    let path = root.join("a").join("b");
    let spelt = path.to_string_lossy().into_owned();
    let claim = claim_directory_shared(spelt.clone()).expect("free");
    std::fs::create_dir_all(&path).unwrap();
    assert!(
      claim_directory_exclusive(spelt.clone(), "reset".into()).is_none(),
      "the handle's claim is seen once the directory exists"
    );
    drop(claim);
    assert!(claim_directory_exclusive(spelt, "reset".into()).is_some());
    std::fs::remove_dir_all(root).unwrap();
  }
}
