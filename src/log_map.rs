//! Memory maps of transaction log files, which readers of a log use as
//! rocksdb-js's do: a file's bytes without a copy or a system call per read,
//! and, for the file still being written, its new entries as they are
//! appended, in the same map.
//!
//! A map over a file faults (SIGBUS, which would end the process) when a
//! page past the file's end is read. So a map is made in two layers: an
//! anonymous read-only region of its whole capacity, which reads as zeros,
//! and over its start the file's pages, only as far as the file goes (the
//! overlay). Appends move the overlay on; before any cut of a file, every
//! live map of it gives the pages past the new end back to zeros. A reader
//! that runs past the written bytes therefore meets zeros, which end the
//! entries, never a fault. (A file cut by another process while mapped
//! here can still fault; log files belong to the one process that has the
//! database open.)

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};

/// A read-only view of a log file's bytes: `capacity` bytes, the file's
/// content as far as it is written, zeros after it.
pub struct LogMap {
  region: Region,
  /// The file mapped, for cutting maps before the file is cut.
  path: PathBuf,
}

// SAFETY: the region is read-only memory shared by design; its bookkeeping
// is behind a mutex.
unsafe impl Send for LogMap {}
unsafe impl Sync for LogMap {}

/// See `LogMap::usage`.
#[derive(Default)]
pub struct MapUsage {
  pub maps: u32,
  pub mapped_bytes: u64,
  pub overlay_bytes: u64,
}

/// A file as the system knows it (device and inode), so a map is never
/// shared with, grown from or cut for another file at the same path (a log
/// directory deleted and written again, a restore).
pub type FileKey = (u64, u64);

/// The key of an open file; `None` when it cannot be read.
pub fn key_of(file: &File) -> Option<FileKey> {
  #[cfg(unix)]
  {
    use std::os::unix::fs::MetadataExt;
    file.metadata().ok().map(|meta| (meta.dev(), meta.ino()))
  }
  #[cfg(not(unix))]
  {
    // Maps there are copies that never grow: no file identity is needed
    // beyond the size, which every use checks.
    file.metadata().ok().map(|meta| (0, meta.len()))
  }
}

/// The live maps of each file, so appends and cuts reach all of them.
type Maps = HashMap<FileKey, Vec<Weak<LogMap>>>;

static MAPS: LazyLock<Mutex<Maps>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn maps() -> MutexGuard<'static, Maps> {
  MAPS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The live maps of the file `key`.
fn live(key: FileKey) -> Vec<Arc<LogMap>> {
  maps()
    .get(&key)
    .map(|found| found.iter().filter_map(Weak::upgrade).collect())
    .unwrap_or_default()
}

impl LogMap {
  /// A map of `file` (at `path`, `size` bytes written) that can show up to
  /// `capacity` bytes as the file grows: a live map of it that is large
  /// enough, or a new one. `None` when the file is empty or cannot be
  /// mapped (readers then find no entries in it, as rocksdb-js's do).
  ///
  /// Callers hold the lock of the log's store, so no append or cut of the
  /// file runs meanwhile.
  pub fn of(path: &Path, file: &File, size: usize, capacity: usize) -> Option<Arc<LogMap>> {
    if size == 0 {
      return None;
    }
    let key = key_of(file)?;
    if let Some(map) = live(key)
      .into_iter()
      .find(|map| map.region.capacity() >= size)
    {
      map.region.overlay(file, size);
      return Some(map);
    }
    let region = Region::new(file, size, capacity.max(size))?;
    let map = Arc::new(LogMap {
      region,
      path: path.to_path_buf(),
    });
    let mut maps = maps();
    maps.retain(|_, of_file| of_file.iter().any(|weak| weak.strong_count() > 0));
    let of_file = maps.entry(key).or_default();
    of_file.retain(|weak| weak.strong_count() > 0);
    of_file.push(Arc::downgrade(&map));
    Some(map)
  }

  /// Every live map of `file` (whose key is `key`) shows its first `size`
  /// bytes (after an append to it).
  pub fn grow_all(key: FileKey, file: &File, size: usize) {
    for map in live(key) {
      map.region.overlay(file, size);
    }
  }

  /// Every live map of the file `key` shows zeros from `len` on, where it
  /// showed the file: called before the file is cut to `len` bytes.
  pub fn cut_all(key: FileKey, len: usize) {
    for map in live(key) {
      map.region.cut(len);
    }
  }

  /// The live maps of the files in `dir`: how many, the bytes they map
  /// (address space, most of it never touched) and the bytes of them that
  /// show files.
  pub fn usage(dir: &Path) -> MapUsage {
    let mut usage = MapUsage::default();
    for maps in maps().values() {
      for map in maps
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|map| map.path.parent() == Some(dir))
      {
        usage.maps += 1;
        usage.mapped_bytes += map.len() as u64;
        usage.overlay_bytes += map.region.shown() as u64;
      }
    }
    usage
  }

  /// How many maps of log files are alive in the process.
  pub fn count() -> u32 {
    maps()
      .values()
      .flat_map(|of_file| of_file.iter())
      .filter(|weak| weak.strong_count() > 0)
      .count() as u32
  }

  /// Tells the kernel that the file pages of every live map are cold
  /// (Linux's MADV_COLD: reclaimed first under memory pressure, their
  /// content unchanged): a process that read old logs once gives back that
  /// memory sooner. Returns the maps and bytes advised; zeros where the
  /// kernel has no such advice.
  pub fn cool_all() -> (u32, u64) {
    let live: Vec<Arc<LogMap>> = maps()
      .values()
      .flat_map(|of_file| of_file.iter().filter_map(Weak::upgrade))
      .collect();
    let mut cooled = (0, 0);
    for map in live {
      let bytes = map.region.cool();
      if bytes > 0 {
        cooled.0 += 1;
        cooled.1 += bytes as u64;
      }
    }
    cooled
  }

  /// The start of the map.
  pub fn data(&self) -> *const u8 {
    self.region.data()
  }

  /// Bytes of the map: at least the file's size when it was made.
  pub fn len(&self) -> usize {
    self.region.capacity()
  }

  /// The file mapped.
  pub fn path(&self) -> &Path {
    &self.path
  }
}

#[cfg(unix)]
mod region {
  use std::fs::File;
  use std::os::fd::AsRawFd;
  use std::sync::Mutex;

  fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
      size as usize
    } else {
      4096
    }
  }

  fn round_up(len: usize, page: usize) -> usize {
    len.div_ceil(page) * page
  }

  /// An anonymous read-only region with a file's pages over its start.
  pub struct Region {
    base: *mut u8,
    capacity: usize,
    page: usize,
    /// Bytes from the start that show the file: whole pages.
    overlay: Mutex<usize>,
  }

  impl Region {
    pub fn new(file: &File, size: usize, capacity: usize) -> Option<Region> {
      let page = page_size();
      let capacity = round_up(capacity, page);
      // SAFETY: a new private anonymous mapping; nothing else refers to it.
      let base = unsafe {
        libc::mmap(
          std::ptr::null_mut(),
          capacity,
          libc::PROT_READ,
          libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
          -1,
          0,
        )
      };
      if base == libc::MAP_FAILED {
        return None;
      }
      let region = Region {
        base: base.cast(),
        capacity,
        page,
        overlay: Mutex::new(0),
      };
      region.overlay(file, size);
      if region.shown() == 0 {
        // Not even the header could be mapped: no map (dropping unmaps).
        return None;
      }
      Some(region)
    }

    /// Bytes from the start that show the file.
    pub fn shown(&self) -> usize {
      *self
        .overlay
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Shows the file's first `size` bytes (as far as the capacity goes).
    pub fn overlay(&self, file: &File, size: usize) {
      let mut overlay = self
        .overlay
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
      let end = round_up(size, self.page).min(self.capacity);
      if end <= *overlay {
        return;
      }
      // Only pages not yet shown are mapped: readers of the shown ones in
      // other threads are not disturbed.
      // SAFETY: the range is inside this region, which we own; MAP_FIXED
      // replaces its zero pages with the file's from the same offset. The
      // file has at least `size` bytes, and the last page may run past its
      // end, which reads as zeros without a fault.
      let mapped = unsafe {
        libc::mmap(
          self.base.add(*overlay).cast(),
          end - *overlay,
          libc::PROT_READ,
          libc::MAP_SHARED | libc::MAP_FIXED,
          file.as_raw_fd(),
          *overlay as libc::off_t,
        )
      };
      if mapped != libc::MAP_FAILED {
        *overlay = end;
      }
    }

    /// Shows zeros from `len` on: the file is about to be cut there.
    pub fn cut(&self, len: usize) {
      let mut overlay = self
        .overlay
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
      // The page holding the new end stays the file's: the kernel zeroes
      // what is past the end of a cut file's last page.
      let from = round_up(len, self.page);
      if from >= *overlay {
        return;
      }
      // SAFETY: inside this region; the file's pages there become private
      // zero pages, so reading them cannot fault once the file is shorter.
      let mapped = unsafe {
        libc::mmap(
          self.base.add(from).cast(),
          *overlay - from,
          libc::PROT_READ,
          libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
          -1,
          0,
        )
      };
      if mapped != libc::MAP_FAILED {
        *overlay = from;
      }
    }

    /// Advises the file pages shown cold (see `LogMap::cool_all`); the
    /// bytes advised.
    pub fn cool(&self) -> usize {
      #[cfg(target_os = "linux")]
      {
        // Held, so the overlay does not change under the advice.
        let overlay = self
          .overlay
          .lock()
          .unwrap_or_else(|poisoned| poisoned.into_inner());
        if *overlay == 0 {
          return 0;
        }
        // SAFETY: the range is mapped (the overlay); the advice does not
        // change what it reads.
        let advised = unsafe { libc::madvise(self.base.cast(), *overlay, libc::MADV_COLD) };
        if advised == 0 {
          *overlay
        } else {
          0
        }
      }
      #[cfg(not(target_os = "linux"))]
      {
        0
      }
    }

    pub fn data(&self) -> *const u8 {
      self.base
    }

    pub fn capacity(&self) -> usize {
      self.capacity
    }
  }

  impl Drop for Region {
    fn drop(&mut self) {
      // SAFETY: the whole region mapped in `new`, no longer referred to.
      unsafe { libc::munmap(self.base.cast(), self.capacity) };
    }
  }
}

#[cfg(not(unix))]
mod region {
  use std::fs::File;
  use std::io::{Read, Seek, SeekFrom};

  /// Where mapping is not done this way: a copy of the file's bytes when
  /// the map was asked for, which does not grow (readers ask again for a
  /// map when they need more than it holds).
  pub struct Region {
    bytes: Box<[u8]>,
  }

  impl Region {
    pub fn new(file: &File, size: usize, _capacity: usize) -> Option<Region> {
      let mut bytes = vec![0u8; size];
      let mut reader = file;
      reader.seek(SeekFrom::Start(0)).ok()?;
      reader.read_exact(&mut bytes).ok()?;
      Some(Region {
        bytes: bytes.into_boxed_slice(),
      })
    }

    pub fn overlay(&self, _file: &File, _size: usize) {}

    pub fn shown(&self) -> usize {
      0
    }

    pub fn cool(&self) -> usize {
      0
    }

    pub fn cut(&self, _len: usize) {}

    pub fn data(&self) -> *const u8 {
      self.bytes.as_ptr()
    }

    pub fn capacity(&self) -> usize {
      self.bytes.len()
    }
  }
}

use region::Region;

#[cfg(test)]
mod tests {
  use super::*;
  use std::fs::{self, OpenOptions};
  use std::io::Write;

  fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
      "rocksdb-branch-logmap-{name}-{}",
      std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch");
    dir
  }

  /// A new log file in `dir`, open for reading and appending as a store
  /// opens it.
  fn log_file(dir: &Path) -> (PathBuf, File) {
    let path = dir.join("1.txnlog");
    let file = OpenOptions::new()
      .create(true)
      .read(true)
      .append(true)
      .open(&path)
      .expect("create");
    (path, file)
  }

  fn bytes(map: &LogMap) -> &[u8] {
    // SAFETY: the map is alive for the borrow.
    unsafe { std::slice::from_raw_parts(map.data(), map.len()) }
  }

  #[test]
  fn a_map_shows_appends_and_zeros_past_the_end() {
    let dir = scratch("grow");
    let (path, mut file) = log_file(&dir);
    file.write_all(b"WOOF").expect("write");
    let map = LogMap::of(&path, &file, 4, 1 << 20).expect("map");
    assert!(map.len() >= 1 << 20);
    assert_eq!(&bytes(&map)[..4], b"WOOF");
    assert!(
      bytes(&map)[4..].iter().all(|&byte| byte == 0),
      "zeros past the end, no fault"
    );
    let more = vec![7u8; 10_000];
    file.write_all(&more).expect("append");
    LogMap::grow_all(key_of(&file).expect("key"), &file, 10_004);
    assert_eq!(
      &bytes(&map)[4..10_004],
      &more[..],
      "appends show in the same map"
    );
    let again = LogMap::of(&path, &file, 10_004, 1 << 20).expect("again");
    assert!(
      Arc::ptr_eq(&map, &again),
      "a live map large enough is shared"
    );
    fs::remove_dir_all(&dir).expect("clean");
  }

  #[test]
  fn a_cut_file_reads_as_zeros_in_its_maps_not_a_fault() {
    let dir = scratch("cut");
    let (path, mut file) = log_file(&dir);
    file.write_all(&vec![9u8; 3 * 4096 + 100]).expect("write");
    let map = LogMap::of(&path, &file, 3 * 4096 + 100, 8 * 4096).expect("map");
    LogMap::cut_all(key_of(&file).expect("key"), 50);
    file.set_len(50).expect("cut");
    let view = bytes(&map);
    assert!(view[..50].iter().all(|&byte| byte == 9));
    // Every byte past the cut is read: a fault here would end the test run.
    assert!(view[50..].iter().all(|&byte| byte == 0));
    fs::remove_dir_all(&dir).expect("clean");
  }

  #[test]
  fn a_new_file_at_the_same_path_gets_its_own_map() {
    let dir = scratch("replaced");
    let path = dir.join("1.txnlog");
    let create = || {
      OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
    };
    let mut file = create().expect("create");
    file.write_all(&[1u8; 100]).expect("write");
    let old = LogMap::of(&path, &file, 100, 1 << 20).expect("map");
    fs::remove_file(&path).expect("delete");
    let mut file = create().expect("again");
    file.write_all(&[2u8; 50]).expect("write");
    let new = LogMap::of(&path, &file, 50, 1 << 20).expect("map");
    assert!(!Arc::ptr_eq(&old, &new));
    assert!(bytes(&new)[..50].iter().all(|&byte| byte == 2));
    assert!(
      bytes(&old)[..100].iter().all(|&byte| byte == 1),
      "the old file's map is left as it was"
    );
    fs::remove_dir_all(&dir).expect("clean");
  }

  #[test]
  fn an_empty_file_has_no_map() {
    let dir = scratch("empty");
    let path = dir.join("1.txnlog");
    let file = File::create(&path).expect("create");
    assert!(LogMap::of(&path, &file, 0, 4096).is_none());
    fs::remove_dir_all(&dir).expect("clean");
  }
}
