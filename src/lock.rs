//! Advisory file locks, for the read-modify-write of files that several
//! threads and processes change: the checkpoint registry above all. A lock
//! belongs to its open file, so two threads of one process exclude each
//! other as two processes do, and the kernel releases it when a process dies.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use napi_derive::napi;

use crate::error::{DbError, DbResult, ErrorCode};

/// A lock on a file, held until `release()` or until the object is
/// collected or the process exits.
#[napi]
pub struct FileLock {
  file: Option<File>,
}

/// Takes the exclusive lock of the file at `path` (created when missing) if
/// nobody holds it, without waiting; `null` when another thread or process
/// holds it. With `shared`, takes a shared lock instead, which other shared
/// locks may hold too but no exclusive one. Waiting is left to the caller,
/// so no thread blocks on it.
#[napi]
pub fn try_lock_file(
  path: String,
  shared: Option<bool>,
) -> napi::Result<Option<FileLock>, ErrorCode> {
  let file = try_lock(Path::new(&path), shared == Some(true))?;
  Ok(file.map(|file| FileLock { file: Some(file) }))
}

/// The open file at `path` (created when missing), locked exclusively or,
/// with `shared`, shared; `None` when someone holds a lock that excludes it.
///
/// A holder may remove the lock file before it releases it (a restore does,
/// to leave nothing beside the database). Whoever opened the file before
/// that then locks a file no longer at `path` while a third party makes and
/// locks a new one: so a lock counts only while `path` still names the file
/// locked, and is taken again on the new file otherwise.
fn try_lock(path: &Path, shared: bool) -> DbResult<Option<File>> {
  loop {
    let Some(file) = try_lock_once(path, shared)? else {
      return Ok(None);
    };
    if still_named(&file, path) {
      return Ok(Some(file));
    }
  }
}

/// Whether `path` names the open `file`.
#[cfg(unix)]
fn still_named(file: &File, path: &Path) -> bool {
  use std::os::unix::fs::MetadataExt;
  match (file.metadata(), std::fs::metadata(path)) {
    (Ok(held), Ok(named)) => held.dev() == named.dev() && held.ino() == named.ino(),
    _ => false,
  }
}

#[cfg(not(unix))]
fn still_named(_file: &File, path: &Path) -> bool {
  // Windows cannot remove a file another handle has open.
  path.exists()
}

fn try_lock_once(path: &Path, shared: bool) -> DbResult<Option<File>> {
  let file = OpenOptions::new()
    .read(true)
    .write(true)
    .create(true)
    .truncate(false)
    .open(path)
    .map_err(|err| DbError::io(&err, "cannot open lock file", path))?;
  let locked = if shared {
    file.try_lock_shared()
  } else {
    file.try_lock()
  };
  match locked {
    Ok(()) => Ok(Some(file)),
    Err(TryLockError::WouldBlock) => Ok(None),
    Err(TryLockError::Error(err)) => Err(DbError::io(&err, "cannot lock", path)),
  }
}

#[napi]
impl FileLock {
  /// Releases the lock. Idempotent.
  #[napi]
  pub fn release(&mut self) {
    // Closing the file releases the lock.
    self.file = None;
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_held_lock_excludes_a_second_open_file_until_released() {
    let dir = std::env::temp_dir().join(format!("rb-lock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("lock");
    let first = try_lock(&path, false).unwrap().expect("free lock");
    assert!(try_lock(&path, false).unwrap().is_none());
    let other = {
      let path = path.clone();
      std::thread::spawn(move || try_lock(&path, false).unwrap().is_none())
    };
    assert!(other.join().unwrap(), "another thread is excluded too");
    drop(first);
    let reader = try_lock(&path, true).unwrap().expect("free lock");
    assert!(
      try_lock(&path, true).unwrap().is_some(),
      "shared locks share"
    );
    assert!(
      try_lock(&path, false).unwrap().is_none(),
      "a shared lock excludes an exclusive one"
    );
    drop(reader);
    assert!(try_lock(&path, false).unwrap().is_some());
    // A holder that removes the file before releasing it: whoever had it
    // open meanwhile does not count as holding the lock.
    let holder = try_lock(&path, false).unwrap().expect("free lock");
    let stale = OpenOptions::new().read(true).open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    drop(holder);
    stale.try_lock().unwrap();
    assert!(!still_named(&stale, &path));
    assert!(try_lock(&path, false).unwrap().is_some());
    std::fs::remove_dir_all(dir).unwrap();
  }
}
