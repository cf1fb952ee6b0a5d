//! The file work of backups, on libuv's pool: copying a file while taking
//! its digest, taking the digest of a file, and syncing a filesystem once
//! for all the files a backup wrote. Backups (lib/backups/) store each file
//! under its digest and check every byte against it.
//!
//! The digest is BLAKE3 for stores made now and SHA-256 for stores made
//! before it. Both are cryptographic, so crafted contents cannot collide in
//! a store keyed by digest; BLAKE3 is the faster (0.7 s per GB read from
//! the page cache on this AVX2 machine, SHA-256 0.9 s).
//!
//! A copy runs on the libuv thread that took it, on one core, so that a
//! backup copying one file at a time leaves the other cores of a small
//! machine to the event loop. On Linux the kernel copies the bytes
//! (`copy_file_range`, as `cp` does) and the thread then reads the copy
//! back from the page cache into the digest: the bytes cross into user
//! space once, where reading them in and writing them out again took 2 s
//! per GB, more than the digest. The thread keeps its normal priority: at a
//! lower one (nice 10) a copy took 15 to 50 % longer, and the event loop's
//! delays were the same (measured side by side on 1 GB).

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;
use sha2::{Digest, Sha256};

use crate::error::{DbError, DbResult, ErrorCode};
use crate::task::Blocking;

// Large enough that a copy is a few system calls per MiB, small enough that
// the two buffers of the pool's threads stay small.
const CHUNK: usize = 1 << 20;

/// The size and digest of a file.
#[napi(object)]
pub struct FileDigest {
  /// Bytes read.
  pub size: f64,
  /// The digest of those bytes (BLAKE3 or SHA-256, as asked), as 64
  /// lowercase hex digits.
  pub digest: String,
}

/// A digest being taken, of one of the algorithms a store may use.
enum Hasher {
  Blake3(Box<blake3::Hasher>),
  Sha256(Sha256),
}

impl Hasher {
  /// The hasher of `algorithm`: `"blake3"` or `"sha256"`.
  fn of(algorithm: &str) -> DbResult<Hasher> {
    match algorithm {
      "blake3" => Ok(Hasher::Blake3(Box::new(blake3::Hasher::new()))),
      "sha256" => Ok(Hasher::Sha256(Sha256::new())),
      other => Err(DbError::new(
        ErrorCode::InvalidArgument,
        format!("unknown digest algorithm {other:?}: blake3 or sha256"),
      )),
    }
  }

  fn update(&mut self, bytes: &[u8]) {
    match self {
      Hasher::Blake3(hasher) => {
        hasher.update(bytes);
      }
      Hasher::Sha256(hasher) => hasher.update(bytes),
    }
  }

  fn hex(self) -> String {
    match self {
      Hasher::Blake3(hasher) => hasher.finalize().to_hex().to_string(),
      Hasher::Sha256(hasher) => hex(&hasher.finalize()),
    }
  }
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

/// Reads `source` to its end, handing each chunk to `sink`, and takes its
/// digest by `algorithm`.
fn read_chunks(
  source: &Path,
  algorithm: &str,
  mut sink: impl FnMut(&[u8]) -> DbResult<()>,
) -> DbResult<FileDigest> {
  let mut hasher = Hasher::of(algorithm)?;
  let mut file = File::open(source).map_err(|err| DbError::io(&err, "cannot open", source))?;
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
    digest: hasher.hex(),
  })
}

/// Copies `source` to `target` (which must not exist) and takes the digest
/// by `algorithm` of the bytes copied (see `write_hashed`). A failed copy
/// removes what it wrote.
pub fn copy_hashed(source: &Path, target: &Path, algorithm: &str) -> DbResult<FileDigest> {
  let out = OpenOptions::new()
    .write(true)
    .create_new(true)
    .open(target)
    .map_err(|err| DbError::io(&err, "cannot create", target))?;
  let copied = write_hashed(source, algorithm, &out, target);
  if copied.is_err() {
    drop(out);
    let _ = fs::remove_file(target);
  }
  copied
}

/// Writes the bytes of `source` to `out` (the file at `target`) and takes
/// the digest of what was written.
///
/// On Linux the kernel copies (`copy_file_range`, as `cp` does), and the
/// digest is then taken of the copy, read back from the page cache: the
/// bytes named and checked are the bytes stored, and they cross into user
/// space once. Writing them out through user space cost more than the
/// BLAKE3 digest itself (2 s per GB against 0.7 s here). Where the kernel
/// cannot copy (another filesystem, an old kernel), the bytes are read,
/// hashed and written in one pass.
fn write_hashed(source: &Path, algorithm: &str, out: &File, target: &Path) -> DbResult<FileDigest> {
  match kernel_copy(source, out, target)? {
    Some(size) => {
      let digest = read_chunks(target, algorithm, |_| Ok(()))?;
      if digest.size != size as f64 {
        return Err(DbError::new(
          ErrorCode::Io,
          format!("{} changed size while it was copied", source.display()),
        ));
      }
      Ok(digest)
    }
    None => copy_through(source, algorithm, out, target),
  }
}

/// Copies `source` into `out` (the file at `target`) through user space,
/// taking the digest of the bytes as they pass: one read of each.
fn copy_through(source: &Path, algorithm: &str, out: &File, target: &Path) -> DbResult<FileDigest> {
  let mut output = out;
  read_chunks(source, algorithm, |chunk| {
    output
      .write_all(chunk)
      .map_err(|err| DbError::io(&err, "cannot write", target))
  })
}

/// Copies `source` into the empty `out` inside the kernel; the bytes
/// copied, or `None` when the kernel cannot copy between these files
/// (nothing was written then).
#[cfg(target_os = "linux")]
fn kernel_copy(source: &Path, out: &File, target: &Path) -> DbResult<Option<u64>> {
  use std::os::fd::AsRawFd;
  let input = File::open(source).map_err(|err| DbError::io(&err, "cannot open", source))?;
  let mut copied: u64 = 0;
  loop {
    // SAFETY: both descriptors are open for the duration of the call; null
    // offsets use and advance the files' own positions.
    let n = unsafe {
      libc::copy_file_range(
        input.as_raw_fd(),
        std::ptr::null_mut(),
        out.as_raw_fd(),
        std::ptr::null_mut(),
        CHUNK * 64,
        0,
      )
    };
    if n > 0 {
      copied += n as u64;
      continue;
    }
    if n == 0 {
      return Ok(Some(copied));
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
      Some(libc::EINTR) => continue,
      // Not between these files: the copy by hand, from the start.
      Some(libc::EXDEV | libc::ENOSYS | libc::EOPNOTSUPP | libc::EINVAL) if copied == 0 => {
        return Ok(None)
      }
      _ => return Err(DbError::io(&err, "cannot copy to", target)),
    }
  }
}

#[cfg(not(target_os = "linux"))]
fn kernel_copy(_source: &Path, _out: &File, _target: &Path) -> DbResult<Option<u64>> {
  Ok(None)
}

/// Asks the kernel to start writing `file`'s dirty pages to disk, without
/// waiting for them. A hint: where it is not supported, the later fsync
/// does all the work.
fn start_writeback(file: &File) {
  #[cfg(target_os = "linux")]
  {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the duration of the call; offset
    // and length 0 name the whole file.
    unsafe {
      libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
  }
  #[cfg(not(target_os = "linux"))]
  let _ = file;
}

/// Copies the file at `source` to `target`, which must not exist, on a
/// worker thread, and resolves with the size and digest (`algorithm`:
/// `"blake3"` or `"sha256"`) of the bytes copied. A failure removes the
/// partial copy. The caller starts its writeback (`startFileWriteback`)
/// and syncs it.
#[napi]
pub fn copy_file_hashed(
  source: String,
  target: String,
  algorithm: String,
) -> AsyncTask<Blocking<FileDigest>> {
  AsyncTask::new(Blocking::new(move || {
    copy_hashed(Path::new(&source), Path::new(&target), &algorithm)
  }))
}

/// Asks the kernel to start writing the file at `path` to disk, on a worker
/// thread, and resolves once the writes are under way (not done): a backup
/// or a restore asks this of each file it wrote while it copies the next
/// one, so the disk writes one file while the CPU copies another. Asked on the copying
/// thread instead, it waited there whenever the disk's queue was full, and
/// copies and writes took turns. A hint: where it is not supported, the
/// later sync does all the work.
#[napi]
pub fn start_file_writeback(path: String) -> AsyncTask<Blocking<()>> {
  AsyncTask::new(Blocking::new(move || {
    let path = Path::new(&path);
    let file = File::open(path).map_err(|err| DbError::io(&err, "cannot open", path))?;
    start_writeback(&file);
    Ok(())
  }))
}

/// Makes everything written to the filesystem holding `path` durable, on a
/// worker thread: data, metadata and the disk's write cache, with one
/// flush of the device for any number of files (`syncfs`, as `sync -f`
/// does), where an fsync of each file would flush it once per file. Where
/// `syncfs` does not exist, `path` itself is synced.
#[napi]
pub fn sync_filesystem(path: String) -> AsyncTask<Blocking<()>> {
  AsyncTask::new(Blocking::new(move || {
    let path = Path::new(&path);
    let file = File::open(path).map_err(|err| DbError::io(&err, "cannot open", path))?;
    #[cfg(target_os = "linux")]
    {
      use std::os::fd::AsRawFd;
      // SAFETY: the descriptor is open for the duration of the call.
      if unsafe { libc::syncfs(file.as_raw_fd()) } != 0 {
        let err = std::io::Error::last_os_error();
        return Err(DbError::io(&err, "cannot sync the filesystem of", path));
      }
      Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    file
      .sync_all()
      .map_err(|err| DbError::io(&err, "cannot sync", path))
  }))
}

/// The size and digest (`algorithm`: `"blake3"` or `"sha256"`) of the file
/// at `path`, read on a worker thread.
#[napi]
pub fn hash_file(path: String, algorithm: String) -> AsyncTask<Blocking<FileDigest>> {
  AsyncTask::new(Blocking::new(move || {
    read_chunks(Path::new(&path), &algorithm, |_| Ok(()))
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
    for (algorithm, expected) in [
      ("blake3", blake3::hash(&bytes).to_hex().to_string()),
      ("sha256", hex(&Sha256::digest(&bytes))),
    ] {
      let target = dir.join(format!("target-{algorithm}"));
      let copied = copy_hashed(&source, &target, algorithm).unwrap();
      assert_eq!(fs::read(&target).unwrap(), bytes);
      assert_eq!(copied.size, bytes.len() as f64);
      assert_eq!(copied.digest, expected);
      let read = read_chunks(&target, algorithm, |_| Ok(())).unwrap();
      assert_eq!(read.digest, copied.digest);
      // An existing target is refused and left alone.
      assert!(copy_hashed(&source, &target, algorithm).is_err());
      assert_eq!(fs::read(&target).unwrap(), bytes);
    }
    // The copy through user space, where the kernel cannot copy.
    let through = dir.join("through");
    let out = File::create(&through).unwrap();
    let digest = copy_through(&source, "blake3", &out, &through).unwrap();
    drop(out);
    assert_eq!(fs::read(&through).unwrap(), bytes);
    assert_eq!(digest.digest, blake3::hash(&bytes).to_hex().to_string());
    // The empty file's digests are the well-known ones.
    let empty = dir.join("empty");
    fs::write(&empty, b"").unwrap();
    assert_eq!(
      read_chunks(&empty, "sha256", |_| Ok(())).unwrap().digest,
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
      read_chunks(&empty, "blake3", |_| Ok(())).unwrap().digest,
      "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    );
    assert!(read_chunks(&empty, "md5", |_| Ok(())).is_err());
    fs::remove_dir_all(dir).unwrap();
  }
}
