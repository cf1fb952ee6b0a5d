//! Advisory file locks, for the read-modify-write of files that several
//! threads and processes change: the registries of checkpoints and
//! branches, backup stores, restores. Two threads of one process exclude
//! each other as two processes do, and the kernel releases a lock when its
//! process dies.
//!
//! On Unix a lock is a POSIX record lock (`fcntl`), which a child process
//! does not inherit: a lock on an open file description (`flock`, OFD
//! locks) stays held by every child forked before it was released, until
//! that child execs, so a process spawning children while it released and
//! took a lock again saw its own released lock as taken. POSIX locks belong
//! to the process, and closing any descriptor of the file releases them, so
//! the threads of the process share one table here: each locked file is
//! opened once, by the table, and the table counts its holders.

use std::fs::{File, OpenOptions};
use std::path::Path;

use napi_derive::napi;

use crate::error::{DbError, DbResult, ErrorCode};

/// A lock on a file, held until `release()` or until the object is
/// collected or the process exits.
#[napi]
pub struct FileLock {
  held: Option<platform::Held>,
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
  let held = try_lock(Path::new(&path), shared == Some(true))?;
  Ok(held.map(|held| FileLock { held: Some(held) }))
}

/// The lock of the file at `path` (created when missing), exclusive or, with
/// `shared`, shared; `None` when someone holds a lock that excludes it.
///
/// A holder may remove the lock file before it releases it (a restore does,
/// to leave nothing beside the database). Whoever opened the file before
/// that then locks a file no longer at `path` while a third party makes and
/// locks a new one: so a lock counts only while `path` still names the file
/// locked, and is taken again on the new file otherwise.
fn try_lock(path: &Path, shared: bool) -> DbResult<Option<platform::Held>> {
  platform::try_lock(path, shared)
}

/// Opens the lock file at `path`, creating it when missing. For a shared
/// lock an existing file is opened for reading only, which is all a shared
/// lock needs: a backup store on a read-only mount, or a lock file without
/// its write bit, can still be read under one.
fn open_lock_file(path: &Path, shared: bool) -> DbResult<File> {
  if shared {
    match File::open(path) {
      Ok(file) => return Ok(file),
      Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
      Err(err) => return Err(DbError::io(&err, "cannot open lock file", path)),
    }
  }
  OpenOptions::new()
    .read(true)
    .write(true)
    .create(true)
    .truncate(false)
    .open(path)
    .map_err(|err| DbError::io(&err, "cannot open lock file", path))
}

#[napi]
impl FileLock {
  /// Releases the lock. Idempotent.
  #[napi]
  pub fn release(&mut self) {
    self.held = None;
  }
}

#[cfg(unix)]
mod platform {
  use std::collections::HashMap;
  use std::fs::File;
  use std::os::fd::AsRawFd;
  use std::os::unix::fs::MetadataExt;
  use std::path::Path;
  use std::sync::{LazyLock, Mutex, MutexGuard};

  use super::open_lock_file;
  use crate::error::{DbError, DbResult};

  /// A file (device and inode) of the table.
  type Key = (u64, u64);

  /// A locked file and its holders in this process.
  struct Entry {
    /// The one descriptor of the file the process keeps: closing it
    /// releases the POSIX lock.
    _file: File,
    /// Descriptors opened while the file was held here (a file that took
    /// the place of another at its path between two calls): closing one
    /// would release the lock, so they are kept until the entry goes.
    _extra: Vec<File>,
    shared: u32,
    exclusive: bool,
  }

  static TABLE: LazyLock<Mutex<HashMap<Key, Entry>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

  fn table() -> MutexGuard<'static, HashMap<Key, Entry>> {
    // Every change to the table is one statement: a poisoned lock leaves
    // it consistent.
    TABLE
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner())
  }

  /// A holder's share of a lock in the table.
  pub struct Held {
    key: Key,
    exclusive: bool,
  }

  impl Drop for Held {
    fn drop(&mut self) {
      let mut table = table();
      let Some(entry) = table.get_mut(&self.key) else {
        return;
      };
      if self.exclusive {
        entry.exclusive = false;
      } else {
        entry.shared = entry.shared.saturating_sub(1);
      }
      if entry.shared == 0 && !entry.exclusive {
        // Dropping the entry closes its descriptors: the lock is free.
        table.remove(&self.key);
      }
    }
  }

  fn key_of(metadata: &std::fs::Metadata) -> Key {
    (metadata.dev(), metadata.ino())
  }

  /// Takes a POSIX record lock on the whole of `file` without waiting;
  /// whether it was free.
  fn posix_lock(file: &File, shared: bool, path: &Path) -> DbResult<bool> {
    // SAFETY: a zeroed `flock` is a valid value; every field used is set.
    let mut request: libc::flock = unsafe { std::mem::zeroed() };
    request.l_type = if shared { libc::F_RDLCK } else { libc::F_WRLCK } as _;
    request.l_whence = libc::SEEK_SET as _;
    request.l_start = 0;
    request.l_len = 0;
    // SAFETY: the descriptor is open for the duration of the call and
    // `request` outlives it.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &request) } == 0 {
      return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
      Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(false),
      _ => Err(DbError::io(&err, "cannot lock", path)),
    }
  }

  pub fn try_lock(path: &Path, shared: bool) -> DbResult<Option<Held>> {
    let mut table = table();
    loop {
      // Held in this process already? Looked up without opening the file:
      // closing a descriptor of it would release the process's lock.
      if let Ok(metadata) = std::fs::metadata(path) {
        if let Some(entry) = table.get_mut(&key_of(&metadata)) {
          if shared && !entry.exclusive {
            entry.shared += 1;
            let key = key_of(&metadata);
            return Ok(Some(Held {
              key,
              exclusive: false,
            }));
          }
          return Ok(None);
        }
      }
      let file = open_lock_file(path, shared)?;
      let metadata = file
        .metadata()
        .map_err(|err| DbError::io(&err, "cannot read", path))?;
      let key = key_of(&metadata);
      if let Some(entry) = table.get_mut(&key) {
        // The file at `path` changed between the look-up and the open, to
        // one held here: keep this descriptor with it, and look again.
        entry._extra.push(file);
        continue;
      }
      if !posix_lock(&file, shared, path)? {
        return Ok(None);
      }
      // Removed (or replaced) by its holder meanwhile: lock the new one.
      let still_named = std::fs::metadata(path).is_ok_and(|named| key_of(&named) == key);
      if !still_named {
        continue;
      }
      table.insert(
        key,
        Entry {
          _file: file,
          _extra: Vec::new(),
          shared: u32::from(shared),
          exclusive: !shared,
        },
      );
      return Ok(Some(Held {
        key,
        exclusive: !shared,
      }));
    }
  }
}

#[cfg(not(unix))]
mod platform {
  use std::fs::{File, TryLockError};
  use std::path::Path;

  use super::open_lock_file;
  use crate::error::{DbError, DbResult};

  /// A locked open file: Windows' locks belong to their handle, and a
  /// child process does not inherit it unless asked to.
  pub struct Held {
    _file: File,
  }

  pub fn try_lock(path: &Path, shared: bool) -> DbResult<Option<Held>> {
    let file = open_lock_file(path, shared)?;
    let locked = if shared {
      file.try_lock_shared()
    } else {
      file.try_lock()
    };
    match locked {
      // Windows cannot remove a file another handle has open, so the file
      // locked is the one at `path`.
      Ok(()) => Ok(Some(Held { _file: file })),
      Err(TryLockError::WouldBlock) => Ok(None),
      Err(TryLockError::Error(err)) => Err(DbError::io(&err, "cannot lock", path)),
    }
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
    assert!(try_lock(&path, true).unwrap().is_none());
    let other = {
      let path = path.clone();
      std::thread::spawn(move || try_lock(&path, false).unwrap().is_none())
    };
    assert!(other.join().unwrap(), "another thread is excluded too");
    drop(first);
    let reader = try_lock(&path, true).unwrap().expect("free lock");
    let second = try_lock(&path, true).unwrap();
    assert!(second.is_some(), "shared locks share");
    assert!(
      try_lock(&path, false).unwrap().is_none(),
      "a shared lock excludes an exclusive one"
    );
    drop(reader);
    assert!(
      try_lock(&path, false).unwrap().is_none(),
      "one shared holder is left"
    );
    drop(second);
    assert!(try_lock(&path, false).unwrap().is_some());
    // A holder that removes the file before releasing it: the next lock is
    // on a new file at the path.
    let holder = try_lock(&path, false).unwrap().expect("free lock");
    std::fs::remove_file(&path).unwrap();
    let next = try_lock(&path, false).unwrap();
    assert!(
      next.is_some(),
      "the removed file's lock is no longer the path's"
    );
    drop(holder);
    drop(next);
    std::fs::remove_dir_all(dir).unwrap();
  }
}
