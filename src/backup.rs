//! The file work of backups, on libuv's pool: copying a file while taking
//! its SHA-256, and taking the SHA-256 of a file. Backups (lib/backups.js)
//! store each file under its digest and check every byte against it.
//!
//! A copy runs two threads of its own: one has the kernel copy the bytes
//! (`copy_file_range`, as `cp` does, with no pass through user space), the
//! other reads the source into SHA-256. The source is a file of a
//! checkpoint, which nothing changes, and a size that differs between the
//! two is refused. Both threads run at a lower CPU priority than the rest
//! of the process, so that on a machine with few cores the event loop is
//! not starved while a backup copies; they end with the copy, so no thread
//! of libuv's pool keeps that priority.

use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::path::Path;

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use sha2::{Digest, Sha256};

use crate::error::{DbError, DbResult, ErrorCode};
use crate::task::Blocking;

// Large enough that a copy is a few system calls per MiB, small enough that
// the two buffers of the pool's threads stay small.
const CHUNK: usize = 1 << 20;

/// The size and SHA-256 of a file.
#[napi(object)]
pub struct FileDigest {
  /// Bytes read.
  pub size: f64,
  /// The SHA-256 of those bytes, as 64 lowercase hex digits.
  pub sha256: String,
}

fn hex(bytes: &[u8]) -> String {
  const DIGITS: &[u8; 16] = b"0123456789abcdef";
  let mut out = String::with_capacity(bytes.len() * 2);
  for byte in bytes {
    out.push(DIGITS[(byte >> 4) as usize] as char);
    out.push(DIGITS[(byte & 15) as usize] as char);
  }
  out
}

/// Reads `source` to its end, handing each chunk to `sink`.
fn read_chunks(source: &Path, mut sink: impl FnMut(&[u8]) -> DbResult<()>) -> DbResult<FileDigest> {
  let mut file = File::open(source).map_err(|err| DbError::io(&err, "cannot open", source))?;
  let mut hasher = Sha256::new();
  let mut buffer = vec![0u8; CHUNK];
  let mut size = 0u64;
  loop {
    let read = match file.read(&mut buffer) {
      Ok(0) => break,
      Ok(read) => read,
      Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
      Err(err) => return Err(DbError::io(&err, "cannot read", source)),
    };
    hasher.update(&buffer[..read]);
    sink(&buffer[..read])?;
    size += read as u64;
  }
  Ok(FileDigest {
    size: size as f64,
    sha256: hex(&hasher.finalize()),
  })
}

/// Lowers the calling thread's CPU priority (Linux's nice 10). Only this
/// thread: on Linux, a thread is what `PRIO_PROCESS` with id 0 names.
fn lower_priority() {
  #[cfg(target_os = "linux")]
  // SAFETY: setpriority only reads its integer arguments.
  unsafe {
    libc::setpriority(libc::PRIO_PROCESS, 0, 10);
  }
}

/// The outcome of a copy thread; a panic is an error, never an unwind.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, DbResult<T>>) -> DbResult<T> {
  handle.join().unwrap_or_else(|_| {
    Err(DbError::new(
      ErrorCode::RocksUnknown,
      "internal error: a copy thread panicked",
    ))
  })
}

/// Copies `source` to `target` (which must not exist), taking the SHA-256 of
/// the source alongside; with `sync`, `target` is on disk when it returns.
/// A failed copy removes what it wrote.
pub fn copy_hashed(source: &Path, target: &Path, sync: bool) -> DbResult<FileDigest> {
  let out = OpenOptions::new()
    .write(true)
    .create_new(true)
    .open(target)
    .map_err(|err| DbError::io(&err, "cannot create", target))?;
  let copied = std::thread::scope(|scope| {
    let copier = scope.spawn(|| -> DbResult<u64> {
      lower_priority();
      let mut input = File::open(source).map_err(|err| DbError::io(&err, "cannot open", source))?;
      let mut output = &out;
      // std's copy between two files is copy_file_range on Linux.
      let copied = std::io::copy(&mut input, &mut output)
        .map_err(|err| DbError::io(&err, "cannot copy to", target))?;
      if sync {
        out
          .sync_all()
          .map_err(|err| DbError::io(&err, "cannot sync", target))?;
      }
      Ok(copied)
    });
    let hasher = scope.spawn(|| {
      lower_priority();
      read_chunks(source, |_| Ok(()))
    });
    let copied = joined(copier);
    let digest = joined(hasher);
    let (copied, digest) = (copied?, digest?);
    if copied as f64 != digest.size {
      return Err(DbError::new(
        ErrorCode::Io,
        format!(
          "{} changed while it was copied: {copied} bytes copied, {} read",
          source.display(),
          digest.size
        ),
      ));
    }
    Ok(digest)
  });
  if copied.is_err() {
    drop(out);
    let _ = fs::remove_file(target);
  }
  copied
}

/// Copies the file at `source` to `target`, which must not exist, on a
/// worker thread, and resolves with the size and SHA-256 of the bytes
/// copied. With `sync`, the copy is flushed to disk first. A failure
/// removes the partial copy.
#[napi]
pub fn copy_file_hashed(
  source: String,
  target: String,
  sync: bool,
) -> AsyncTask<Blocking<FileDigest>> {
  AsyncTask::new(Blocking::new(move || {
    copy_hashed(Path::new(&source), Path::new(&target), sync)
  }))
}

/// The size and SHA-256 of the file at `path`, read on a worker thread.
#[napi]
pub fn hash_file(path: String) -> AsyncTask<Blocking<FileDigest>> {
  AsyncTask::new(Blocking::new(move || {
    read_chunks(Path::new(&path), |_| Ok(()))
  }))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_copy_has_the_bytes_and_digest_of_its_source() {
    let dir = std::env::temp_dir().join(format!("rb-backup-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let source = dir.join("source");
    // Longer than one chunk, so the digest spans reads.
    let bytes: Vec<u8> = (0..(CHUNK + 12345)).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(&source, &bytes).unwrap();
    let target = dir.join("target");
    let copied = copy_hashed(&source, &target, true).unwrap();
    assert_eq!(fs::read(&target).unwrap(), bytes);
    assert_eq!(copied.size, bytes.len() as f64);
    assert_eq!(copied.sha256, hex(&Sha256::digest(&bytes)));
    let read = read_chunks(&target, |_| Ok(())).unwrap();
    assert_eq!(read.sha256, copied.sha256);
    // The empty file's digest is the well-known one.
    fs::write(&source, b"").unwrap();
    assert_eq!(
      read_chunks(&source, |_| Ok(())).unwrap().sha256,
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    // An existing target is refused and left alone.
    assert!(copy_hashed(&source, &target, false).is_err());
    assert_eq!(fs::read(&target).unwrap(), bytes);
    fs::remove_dir_all(dir).unwrap();
  }
}
