//! Transaction logs in rocksdb-js's file format: per database and log name,
//! a directory `<db>/transaction_logs/<name>/` of files `<sequence>.txnlog`,
//! each a 13-byte header (the token, version 1, a float64 timestamp, all
//! big-endian) and then entries, each a 13-byte header (the float64
//! timestamp of its transaction, the u32 length of its data, a flags byte,
//! `LAST_IN_TRANSACTION` on a transaction's last entry) and its data.
//!
//! A transaction's entries are written as one append before RocksDB commits
//! it, so the log holds every write the database acknowledged. Until the
//! commit ends, its start is in the store's set of uncommitted positions:
//! readers of committed entries stop at the first of them (the committed
//! watermark), so an entry is seen only once everything before it ended.
//!
//! One store per directory serves every handle and thread of the process.
//! At its first use the newest file's torn tail, if a crash left one, is cut.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use napi::bindgen_prelude::{AsyncTask, Buffer, Unknown};
use napi::Env;
use napi_derive::napi;

use crate::error::{DbError, DbResult, ErrorCode};
use crate::external::external_array_buffer;
use crate::log_map::{key_of, FileKey, LogMap};
use crate::task::Blocking;

pub const TOKEN: u32 = 0x574f_4f46;
pub const VERSION: u8 = 1;
pub const FILE_HEADER_SIZE: usize = 13;
pub const ENTRY_HEADER_SIZE: usize = 13;
pub const LAST_IN_TRANSACTION: u8 = 0x01;
/// rocksdb-js's default size of a log file.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 << 20;

/// A place in a store: the file's sequence number and an offset in it.
/// Ordered as the log is: by file, then offset.
type Position = (u32, u32);

struct Inner {
  /// The newest file's sequence number; its file may not exist yet.
  sequence: u32,
  /// The newest file, open for appending, once it exists.
  file: Option<File>,
  /// Its identity, for the memory maps of it.
  file_key: Option<FileKey>,
  /// Bytes of the newest file.
  size: u64,
  /// When the newest file was started (ms since the epoch): for a file
  /// found at open, its last write then.
  started_ms: f64,
  /// Where each transaction written but not yet committed or aborted
  /// starts, and where its entries end.
  uncommitted: BTreeMap<Position, Position>,
  /// Committed transactions that no recorded flush covers yet, by where
  /// they start: where their entries end, RocksDB's sequence number once
  /// they committed, and how many transactions the run holds (runs of
  /// transactions that follow one another in the log are kept as one, up to
  /// `RUN_LENGTH`).
  unflushed: BTreeMap<Position, Run>,
  transactions_written: u64,
  entries_written: u64,
  bytes_written: u64,
  rotations: u64,
  write_failures: u64,
  purge_runs: u64,
  files_purged: u64,
  bytes_purged: u64,
  /// When the last purge ran (ms since the epoch), 0 before any.
  last_purge_ms: f64,
  /// Where the entries end whose transactions RocksDB has flushed to SST
  /// files: a replay of the log (of families written without the WAL)
  /// starts there. Kept in `txn.state`, as rocksdb-js keeps it.
  flushed: Option<Position>,
}

/// Transactions that follow one another in the log, committed: see
/// `Inner::unflushed`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Run {
  end: Position,
  /// The highest RocksDB sequence number among them.
  sequence: u64,
  transactions: u32,
}

/// Transactions one run may hold: a flush covers a run only when it covers
/// the latest of them, so a long run would hold back what a flush covers;
/// a short one costs memory (a run per `RUN_LENGTH` transactions between
/// two flushes).
const RUN_LENGTH: u32 = 64;

impl Inner {
  /// A transaction from `start` to `end` committed at RocksDB sequence
  /// number `sequence`: added to the run it continues, or as a run.
  fn note_commit(&mut self, start: Position, end: Position, sequence: u64) {
    if let Some((_, run)) = self.unflushed.range_mut(..start).next_back() {
      if run.end == start && run.transactions < RUN_LENGTH {
        run.end = end;
        run.sequence = run.sequence.max(sequence);
        run.transactions += 1;
        return;
      }
    }
    self.unflushed.insert(
      start,
      Run {
        end,
        sequence,
        transactions: 1,
      },
    );
  }
}

/// The log files of one log name of one database.
pub struct LogStore {
  dir: PathBuf,
  max_file_size: u64,
  /// How old (ms) the newest file may get before the log moves on to a new
  /// one, as f64 bits; 0: no limit. Set by each open of the log.
  max_age_ms: AtomicU64,
  inner: Mutex<Inner>,
  /// The committed watermark as one word, `sequence << 32 | offset`, which
  /// readers in any thread read through an `ArrayBuffer` without a call
  /// (rocksdb-js's `_getLastCommittedPosition()`). One word per directory,
  /// kept when the store is opened again.
  word: Arc<AtomicU64>,
}

type Stores = HashMap<PathBuf, Arc<LogStore>>;

static STORES: LazyLock<Mutex<Stores>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The committed-watermark words by directory: a reader keeps its word
/// across a reopen of the store (after a purge, a restore).
static WORDS: LazyLock<Mutex<HashMap<PathBuf, Arc<AtomicU64>>>> =
  LazyLock::new(|| Mutex::new(HashMap::new()));

fn word_of(dir: &Path) -> Arc<AtomicU64> {
  WORDS
    .lock()
    .unwrap_or_else(|poisoned| poisoned.into_inner())
    .entry(dir.to_path_buf())
    .or_default()
    .clone()
}

/// The time now, in ms since the epoch.
fn now_ms() -> f64 {
  ms_since_epoch(std::time::SystemTime::now())
}

fn ms_since_epoch(time: std::time::SystemTime) -> f64 {
  time
    .duration_since(std::time::UNIX_EPOCH)
    .map_or(0.0, |since| since.as_secs_f64() * 1000.0)
}

/// Cuts the log file `file` to `len` bytes, after every memory map of it
/// shows zeros past `len`, so no reader faults on the pages cut.
fn cut_file(file: &File, len: u64) -> std::io::Result<()> {
  if let Some(key) = key_of(file) {
    LogMap::cut_all(key, len as usize);
  }
  file.set_len(len)
}

fn stores() -> MutexGuard<'static, Stores> {
  STORES
    .lock()
    .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The file that keeps where the entries of flushed transactions end:
/// the offset, then the file's sequence number, u32 little-endian each.
const STATE_FILE: &str = "txn.state";

/// The position `txn.state` at `path` holds; `None` when there is none, or
/// it is not 8 bytes.
fn read_state(path: &Path) -> Option<Position> {
  let bytes = fs::read(path).ok()?;
  let state: [u8; 8] = bytes.as_slice().try_into().ok()?;
  let offset = u32::from_le_bytes(state[0..4].try_into().ok()?);
  let sequence = u32::from_le_bytes(state[4..8].try_into().ok()?);
  Some((sequence, offset))
}

/// The file of sequence `sequence` in `dir`.
fn file_path(dir: &Path, sequence: u32) -> PathBuf {
  dir.join(format!("{sequence}.txnlog"))
}

/// The sequence numbers of the log files in `dir`, ascending.
pub fn sequences(dir: &Path) -> DbResult<Vec<u32>> {
  let mut found = Vec::new();
  let entries = match fs::read_dir(dir) {
    Ok(entries) => entries,
    Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(found),
    Err(err) => return Err(DbError::io(&err, "list the transaction log", dir)),
  };
  for entry in entries.flatten() {
    let name = entry.file_name();
    if let Some(sequence) = name
      .to_str()
      .and_then(|name| name.strip_suffix(".txnlog"))
      .and_then(|number| number.parse::<u32>().ok())
    {
      found.push(sequence);
    }
  }
  found.sort_unstable();
  Ok(found)
}

/// Where the well-framed entries of a log file's bytes end: after the
/// header, each entry must fit whole; a frame that does not (a write cut by
/// a crash) ends them. `None` when the header is not a version 1 header.
pub fn valid_length(bytes: &[u8]) -> Option<usize> {
  if bytes.len() < FILE_HEADER_SIZE
    || u32::from_be_bytes(bytes[0..4].try_into().ok()?) != TOKEN
    || bytes[4] != VERSION
  {
    return None;
  }
  let mut at = FILE_HEADER_SIZE;
  while let Some(size) = frame_at(bytes, at) {
    at += size;
  }
  Some(at)
}

/// Well-formed frames in a row that say real log data goes on past a break
/// (as the readers in lib/transaction-log-read.js and rocksdb-js count).
const RESYNC_FRAMES: usize = 8;

/// The bytes of the whole frame at `at` of `bytes`, or `None` when none
/// fits there.
fn frame_at(bytes: &[u8], at: usize) -> Option<usize> {
  let header = bytes.get(at..at.checked_add(ENTRY_HEADER_SIZE)?)?;
  let timestamp = f64::from_be_bytes(header[0..8].try_into().ok()?);
  let length = u32::from_be_bytes(header[8..12].try_into().ok()?) as usize;
  let size = ENTRY_HEADER_SIZE + length;
  (timestamp != 0.0 && length > 0 && at + size <= bytes.len()).then_some(size)
}

/// Whether well-formed frames start again somewhere from `from` on:
/// `RESYNC_FRAMES` in a row, or a chain of them that ends exactly at the
/// end of `bytes`.
fn frames_resume(bytes: &[u8], from: usize) -> bool {
  (from..bytes.len()).any(|start| {
    let mut at = start;
    for frames in 1..=RESYNC_FRAMES {
      let Some(size) = frame_at(bytes, at) else {
        return false;
      };
      at += size;
      if frames == RESYNC_FRAMES || at == bytes.len() {
        return true;
      }
    }
    false
  })
}

/// The entries of one transaction, framed: `timestamp` on each, the last
/// one flagged.
pub fn frame(timestamp: f64, entries: &[&[u8]]) -> Vec<u8> {
  let total: usize = entries
    .iter()
    .map(|data| ENTRY_HEADER_SIZE + data.len())
    .sum();
  let mut out = Vec::with_capacity(total);
  for (index, data) in entries.iter().enumerate() {
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.push(if index + 1 == entries.len() {
      LAST_IN_TRANSACTION
    } else {
      0
    });
    out.extend_from_slice(data);
  }
  out
}

fn file_header(timestamp: f64) -> [u8; FILE_HEADER_SIZE] {
  let mut header = [0u8; FILE_HEADER_SIZE];
  header[0..4].copy_from_slice(&TOKEN.to_be_bytes());
  header[4] = VERSION;
  header[5..13].copy_from_slice(&timestamp.to_be_bytes());
  header
}

impl LogStore {
  /// The store of `dir`, opened (its newest file's torn tail cut) at its
  /// first use in the process, with files of `max_file_size` bytes (when
  /// not given, the size it was opened with, or the default). With
  /// `refresh` (a log's first use by a handle), a store whose files changed
  /// on disk is opened again; other calls take the store as it is, without
  /// looking at the disk.
  pub fn of(dir: PathBuf, max_file_size: Option<u64>, refresh: bool) -> DbResult<Arc<LogStore>> {
    let mut stores = stores();
    let mut size = max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE);
    if let Some(store) = stores.get(&dir) {
      if !refresh || !store.changed_on_disk() {
        return Ok(store.clone());
      }
      // Files changed under a store with nothing in flight (purged, cut by
      // another process, restored): it is opened again from them.
      size = max_file_size.unwrap_or(store.max_file_size);
    }
    let store = Arc::new(LogStore::open(dir.clone(), size)?);
    stores.insert(dir, store.clone());
    Ok(store)
  }

  fn open(dir: PathBuf, max_file_size: u64) -> DbResult<LogStore> {
    let sequence = sequences(&dir)?.last().copied().unwrap_or(1);
    let path = file_path(&dir, sequence);
    let (file, size) = match OpenOptions::new().read(true).append(true).open(&path) {
      Ok(mut file) => {
        let mut bytes = Vec::new();
        file
          .read_to_end(&mut bytes)
          .map_err(|err| DbError::io(&err, "read the transaction log", &path))?;
        if bytes.len() < FILE_HEADER_SIZE {
          // Created and not yet headed when a crash came: made anew at the
          // next write.
          return Ok(LogStore::empty(dir, sequence, max_file_size));
        }
        let Some(valid) = valid_length(&bytes) else {
          return Err(DbError::new(
            ErrorCode::RocksCorruption,
            format!(
              "{} is not a transaction log file (bad header)",
              path.display()
            ),
          ));
        };
        // A break that well-formed frames follow is damage in the middle:
        // the entries after it are kept, and readers report it. Otherwise
        // what follows the whole entries is a write a crash cut short: its
        // transaction never committed, and it is cut.
        let damaged = valid < bytes.len() && frames_resume(&bytes, valid + 1);
        if valid < bytes.len() && !damaged {
          cut_file(&file, valid as u64)
            .map_err(|err| DbError::io(&err, "cut the torn tail of the transaction log", &path))?;
        }
        let size = if damaged { bytes.len() } else { valid };
        (Some(file), size as u64)
      }
      Err(err) if err.kind() == std::io::ErrorKind::NotFound => (None, 0),
      Err(err) => return Err(DbError::io(&err, "open the transaction log", &path)),
    };
    let store = LogStore::empty(dir, sequence, max_file_size);
    {
      let mut inner = store.inner();
      inner.file_key = file.as_ref().and_then(key_of);
      inner.started_ms = file
        .as_ref()
        .and_then(|file| file.metadata().ok()?.modified().ok())
        .map_or_else(now_ms, ms_since_epoch);
      inner.file = file;
      inner.size = size;
      store.publish(&inner);
    }
    Ok(store)
  }

  fn empty(dir: PathBuf, sequence: u32, max_file_size: u64) -> LogStore {
    let word = word_of(&dir);
    let store = LogStore {
      word,
      max_age_ms: AtomicU64::new(0),
      max_file_size,
      inner: Mutex::new(Inner {
        sequence,
        file: None,
        file_key: None,
        size: 0,
        started_ms: 0.0,
        uncommitted: BTreeMap::new(),
        unflushed: BTreeMap::new(),
        transactions_written: 0,
        entries_written: 0,
        bytes_written: 0,
        rotations: 0,
        write_failures: 0,
        purge_runs: 0,
        files_purged: 0,
        bytes_purged: 0,
        last_purge_ms: 0.0,
        flushed: read_state(&dir.join(STATE_FILE)),
      }),
      dir,
    };
    store.publish(&store.inner());
    store
  }

  /// Whether the files on disk are not those the store wrote (and it has
  /// no transaction in flight, which a reopen would forget).
  fn changed_on_disk(&self) -> bool {
    let inner = self.inner();
    if !inner.uncommitted.is_empty() {
      return false;
    }
    let newest = sequences(&self.dir)
      .ok()
      .and_then(|found| found.last().copied());
    let path = file_path(&self.dir, inner.sequence);
    // The file itself, not only its size: a log written again from scratch
    // (a restore, another process after a purge) can have the same name
    // and size, and appends to the store's old handle would be lost.
    let on_disk = File::open(&path)
      .ok()
      .and_then(|file| Some((key_of(&file)?, file.metadata().ok()?.len())));
    match (newest, on_disk) {
      (Some(newest), Some((key, size))) => {
        newest != inner.sequence || size != inner.size || inner.file_key != Some(key)
      }
      (None, None) => inner.file.is_some(),
      _ => true,
    }
  }

  fn inner(&self) -> MutexGuard<'_, Inner> {
    self
      .inner
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner())
  }

  /// Appends one transaction's entries, stamped `timestamp`, and marks it
  /// uncommitted: returns where it starts, for `finish`.
  pub fn write(&self, timestamp: f64, entries: &[&[u8]]) -> DbResult<Position> {
    let framed = frame(timestamp, entries);
    let mut inner = self.inner();
    // A full file is left for a new one; a transaction is never split, and
    // one larger than the limit fills a file alone. So is a file older than
    // the age limit, so that purging by age lets go of old entries in steps
    // however slowly the log grows.
    let max_age = f64::from_bits(self.max_age_ms.load(Ordering::Relaxed));
    let full = self.max_file_size > 0 && inner.size + framed.len() as u64 > self.max_file_size;
    let old = max_age > 0.0 && now_ms() - inner.started_ms > max_age;
    if inner.file.is_some() && inner.size > FILE_HEADER_SIZE as u64 && (full || old) {
      inner.sequence += 1;
      inner.file = None;
      inner.file_key = None;
      inner.size = 0;
      inner.rotations += 1;
    }
    let written = self.append(&mut inner, timestamp, &framed, entries.len());
    if written.is_err() {
      inner.write_failures += 1;
    }
    written
  }

  /// `write` once the file to write to is chosen.
  fn append(
    &self,
    inner: &mut Inner,
    timestamp: f64,
    framed: &[u8],
    entries: usize,
  ) -> DbResult<Position> {
    if inner.file.is_none() {
      fs::create_dir_all(&self.dir)
        .map_err(|err| DbError::io(&err, "create the transaction log directory", &self.dir))?;
      let path = file_path(&self.dir, inner.sequence);
      // Appending, so a write cut short and then cut off leaves the next
      // one at the end; a file left empty by a crash is started again.
      let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(&path)
        .map_err(|err| DbError::io(&err, "create the transaction log file", &path))?;
      cut_file(&file, 0)
        .map_err(|err| DbError::io(&err, "create the transaction log file", &path))?;
      file
        .write_all(&file_header(timestamp))
        .map_err(|err| DbError::io(&err, "write the transaction log header", &path))?;
      inner.file_key = key_of(&file);
      inner.file = Some(file);
      inner.size = FILE_HEADER_SIZE as u64;
      inner.started_ms = now_ms();
    }
    let start = (inner.sequence, inner.size as u32);
    let path = file_path(&self.dir, inner.sequence);
    let file = inner.file.as_mut().expect("opened above");
    if let Err(err) = file.write_all(framed) {
      // What was written of it is a torn tail: cut it, so the next
      // transaction starts on a frame boundary.
      let _ = cut_file(file, start.1 as u64);
      return Err(DbError::io(&err, "write the transaction log", &path));
    }
    inner.size += framed.len() as u64;
    // Readers' maps of the file show the new entries before anyone can
    // learn they are there (the watermark moves only at `finish`).
    if let Some(key) = inner.file_key {
      LogMap::grow_all(key, file, inner.size as usize);
    }
    let end = (inner.sequence, inner.size as u32);
    inner.uncommitted.insert(start, end);
    self.publish(inner);
    inner.transactions_written += 1;
    inner.entries_written += entries as u64;
    inner.bytes_written += framed.len() as u64;
    Ok(start)
  }

  /// The transaction written at `start` committed or aborted: readers of
  /// committed entries no longer wait for it.
  ///
  /// `committed_at`: RocksDB's sequence number once it committed (any
  /// number read after the commit), which tells when a flush covers it;
  /// `None` for one that aborted, which needs no flush.
  pub fn finish(&self, start: Position, committed_at: Option<u64>) {
    let mut inner = self.inner();
    let Some(end) = inner.uncommitted.remove(&start) else {
      return;
    };
    if let Some(sequence) = committed_at {
      inner.note_commit(start, end, sequence);
    }
    self.publish(&inner);
  }

  /// RocksDB flushed every column family up to its sequence number
  /// `flushed` (a flush job of the database, all families at once): records
  /// as flushed the log up to the end of the last transaction before which
  /// every one committed no later than that. Returns the position recorded.
  pub fn database_flushed(&self, flushed: u64) -> DbResult<Option<Position>> {
    let covered = {
      let mut inner = self.inner();
      // A transaction still committing holds back every entry after its start.
      let first_open = inner.uncommitted.keys().next().copied();
      let mut covered = None;
      for (start, run) in &inner.unflushed {
        if run.sequence > flushed || first_open.is_some_and(|open| run.end > open) {
          break;
        }
        covered = Some((*start, run.end));
      }
      if let Some((last, _)) = covered {
        // Runs up to the last covered one are done with.
        inner.unflushed = inner.unflushed.split_off(&last);
        inner.unflushed.remove(&last);
      }
      covered.map(|(_, end)| end)
    };
    match covered {
      Some(end) => self.flushed_to(end).map(|()| Some(end)),
      None => Ok(None),
    }
  }

  /// Stores the committed watermark in the word readers read.
  fn publish(&self, inner: &Inner) {
    let (sequence, offset) = Self::committed_of(inner);
    self.word.store(
      u64::from(sequence) << 32 | u64::from(offset),
      Ordering::Release,
    );
  }

  /// A map of the log file `sequence` (see `LogMap`): for the file being
  /// written, one with room to grow to the file size limit, which its
  /// appends keep showing; `None` when the file does not exist or is empty.
  pub fn map(&self, sequence: u32) -> DbResult<Option<Arc<LogMap>>> {
    // Held while mapping, so no append or cut of the file runs meanwhile.
    let inner = self.inner();
    let path = file_path(&self.dir, sequence);
    if sequence == inner.sequence {
      let Some(file) = inner.file.as_ref() else {
        return Ok(None);
      };
      let size = inner.size as usize;
      let room = match self.max_file_size {
        0 => (DEFAULT_MAX_FILE_SIZE as usize).max(size.saturating_mul(2)),
        limit => limit as usize,
      };
      return Ok(LogMap::of(&path, file, size, room.max(size)));
    }
    let file = match File::open(&path) {
      Ok(file) => file,
      Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
      Err(err) => return Err(DbError::io(&err, "open the transaction log file", &path)),
    };
    let size = file
      .metadata()
      .map_err(|err| DbError::io(&err, "read the transaction log file", &path))?
      .len() as usize;
    Ok(LogMap::of(&path, &file, size, size))
  }

  /// Bytes written to the log file `sequence`: whole transactions, as the
  /// store knows them for the file being written; 0 when there is none.
  pub fn file_size(&self, sequence: u32) -> u64 {
    let inner = self.inner();
    if sequence == inner.sequence {
      return if inner.file.is_some() { inner.size } else { 0 };
    }
    fs::metadata(file_path(&self.dir, sequence)).map_or(0, |meta| meta.len())
  }

  /// Records that every entry before `position` belongs to a transaction
  /// RocksDB has flushed, unless an earlier flush recorded more: in memory
  /// and in `txn.state`, replaced whole (written aside, then renamed).
  pub fn flushed_to(&self, position: Position) -> DbResult<()> {
    let mut inner = self.inner();
    if inner.flushed.is_some_and(|flushed| flushed >= position) || position.1 == 0 {
      return Ok(());
    }
    let path = self.dir.join(STATE_FILE);
    let aside = self.dir.join(format!("{STATE_FILE}.tmp"));
    let mut state = [0u8; 8];
    state[0..4].copy_from_slice(&position.1.to_le_bytes());
    state[4..8].copy_from_slice(&position.0.to_le_bytes());
    fs::write(&aside, state)
      .and_then(|()| fs::rename(&aside, &path))
      .map_err(|err| {
        DbError::io(
          &err,
          "record the flushed position of the transaction log",
          &path,
        )
      })?;
    inner.flushed = Some(position);
    // Runs a flush covered (recorded by flush(), whose marks come another
    // way) no longer wait for one.
    inner.unflushed.retain(|_, run| run.end > position);
    Ok(())
  }

  /// Where the entries of flushed transactions end, if a flush was recorded.
  pub fn flushed(&self) -> Option<Position> {
    self.inner().flushed
  }

  /// Where committed entries end: the start of the first transaction not
  /// yet ended, or the end of the log.
  pub fn committed(&self) -> Position {
    Self::committed_of(&self.inner())
  }

  fn committed_of(inner: &Inner) -> Position {
    inner
      .uncommitted
      .keys()
      .next()
      .copied()
      .unwrap_or((inner.sequence, inner.size as u32))
  }
}

/// The stores of the logs of the database at `db_path` open in the process.
fn stores_of(db_path: &Path) -> Vec<Arc<LogStore>> {
  let logs = db_path.join("transaction_logs");
  stores()
    .iter()
    .filter(|(dir, _)| dir.parent() == Some(logs.as_path()))
    .map(|(_, store)| store.clone())
    .collect()
}

/// Records in the logs of a database the flushes RocksDB makes by itself
/// (a full memtable, the memory budget, a checkpoint, shutdown), as
/// rocksdb-js does: with `atomic_flush` a flush job writes every column
/// family's memtables at once, so once all of a job's families are written,
/// everything up to the job's highest sequence number is in SST files, and
/// each log records as flushed the transactions committed by then. A
/// replay after a crash then starts there, and `purgeLogs()` can let go of
/// the files before it. (`flush()` flushes one family at a time and records
/// its own marks once all are done, so its jobs are left out here.)
pub struct FlushRecorder {
  db_path: PathBuf,
  /// Flush jobs under way: families still being written, highest sequence
  /// number among them.
  jobs: Mutex<HashMap<i32, (u32, u64)>>,
}

impl FlushRecorder {
  pub fn new(db_path: &Path) -> FlushRecorder {
    FlushRecorder {
      db_path: db_path.to_path_buf(),
      jobs: Mutex::new(HashMap::new()),
    }
  }

  fn jobs(&self) -> MutexGuard<'_, HashMap<i32, (u32, u64)>> {
    self
      .jobs
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner())
  }

  fn counts(info: &rust_rocksdb::event_listener::FlushJobInfo) -> bool {
    info.flush_reason() != rust_rocksdb::event_listener::DBFlushReason::KManualFlush
  }
}

impl rust_rocksdb::event_listener::EventListener for FlushRecorder {
  fn on_flush_begin(&self, info: &rust_rocksdb::event_listener::FlushJobInfo) {
    if !Self::counts(info) {
      return;
    }
    let mut jobs = self.jobs();
    let job = jobs.entry(info.job_id()).or_insert((0, 0));
    job.0 += 1;
    job.1 = job.1.max(info.largest_seqno());
  }

  fn on_flush_completed(&self, info: &rust_rocksdb::event_listener::FlushJobInfo) {
    if !Self::counts(info) {
      return;
    }
    let done = {
      let mut jobs = self.jobs();
      let Some(job) = jobs.get_mut(&info.job_id()) else {
        return;
      };
      job.0 = job.0.saturating_sub(1);
      job.1 = job.1.max(info.largest_seqno());
      if job.0 > 0 {
        return;
      }
      let flushed = job.1;
      jobs.remove(&info.job_id());
      flushed
    };
    // On RocksDB's flush thread: a failure to write txn.state leaves the
    // older position, from which a replay redoes more, never less.
    for store in stores_of(&self.db_path) {
      let _ = store.database_flushed(done);
    }
  }
}

/// `LogStore::of` for a database path and log name.
// For the napi functions below, which tests do not call.
#[cfg_attr(test, allow(dead_code))]
fn store(db_path: &str, name: &str, max_file_size: Option<f64>) -> DbResult<Arc<LogStore>> {
  let dir = Path::new(db_path).join("transaction_logs").join(name);
  LogStore::of(dir, max_file_size.map(|size| size.max(0.0) as u64), false)
}

/// A place in a log: a file's sequence number and an offset in it.
#[napi(object)]
#[cfg_attr(test, allow(dead_code))]
pub struct LogPosition {
  pub sequence: u32,
  pub offset: u32,
}

/// A read-only memory map of the log file `sequence` as an `ArrayBuffer`
/// (rocksdb-js's `_getMemoryMapOfFile()`): the file's bytes, then zeros;
/// for the file being written, room to its size limit, where its later
/// appends show. `undefined` when the file does not exist or is empty.
#[napi(ts_return_type = "ArrayBuffer | undefined")]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_map<'env>(
  env: &'env Env,
  db_path: String,
  name: String,
  sequence: u32,
) -> napi::Result<Option<Unknown<'env>>, ErrorCode> {
  let Some(map) = store(&db_path, &name, None)?.map(sequence)? else {
    return Ok(None);
  };
  let (data, len) = (map.data(), map.len());
  let what = map.path().display().to_string();
  external_array_buffer(env, map, data, len, &what)
    .map(Some)
    .map_err(refused)
}

/// An external buffer the runtime refused, as an error with a code.
#[cfg_attr(test, allow(dead_code))]
fn refused(err: napi::Error) -> napi::Error<ErrorCode> {
  napi::Error::new(ErrorCode::Io, err.reason.clone())
}

/// The committed watermark of a log as an 8-byte `ArrayBuffer` that moves
/// as transactions end (rocksdb-js's `_getLastCommittedPosition()`): one
/// word, `sequence << 32 | offset`, in the machine's byte order.
#[napi(ts_return_type = "ArrayBuffer")]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_position_word<'env>(
  env: &'env Env,
  db_path: String,
  name: String,
) -> napi::Result<Unknown<'env>, ErrorCode> {
  let word = store(&db_path, &name, None)?.word.clone();
  let data = Arc::as_ptr(&word).cast::<u8>();
  external_array_buffer(env, word, data, 8, "a transaction log position").map_err(refused)
}

/// Bytes of whole transactions in the log file `sequence`; 0 when there is
/// no such file.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_file_size(
  db_path: String,
  name: String,
  sequence: u32,
) -> napi::Result<f64, ErrorCode> {
  Ok(store(&db_path, &name, None)?.file_size(sequence) as f64)
}

/// The memory maps of log files alive in the process (readers hold them).
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_map_count() -> u32 {
  LogMap::count()
}

/// What `coolTransactionLogs()` advised: maps and bytes.
#[napi(object)]
#[cfg_attr(test, allow(dead_code))]
pub struct CooledMaps {
  pub maps: u32,
  pub bytes: f64,
}

/// Advises the pages of every live log map cold (Linux's MADV_COLD): the
/// kernel reclaims them first when memory is short; what they read does
/// not change.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn cool_transaction_logs() -> CooledMaps {
  let (maps, bytes) = LogMap::cool_all();
  CooledMaps {
    maps,
    bytes: bytes as f64,
  }
}

/// What a store has written since the process opened it.
#[napi(object)]
#[cfg_attr(test, allow(dead_code))]
pub struct LogCounters {
  pub transactions_written: f64,
  pub entries_written: f64,
  pub bytes_written: f64,
  pub rotations: f64,
  pub write_failures: f64,
  pub purge_runs: f64,
  pub files_purged: f64,
  pub bytes_purged: f64,
  pub uncommitted_transactions: u32,
  pub current_sequence: u32,
  pub last_purge_ms: f64,
  /// Memory maps of the log's files that readers hold.
  pub active_maps: u32,
  /// Address space those maps take (mostly never touched).
  pub mapped_bytes: f64,
  /// The part of it that shows the files.
  pub overlay_bytes: f64,
}

/// Opens (at its first use in the process) the log `name` of the database
/// at `db_path`, whose files rotate past `max_file_size` bytes (0: never)
/// or once older than `max_age_ms` (0: never).
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_open(
  db_path: String,
  name: String,
  max_file_size: f64,
  max_age_ms: f64,
) -> napi::Result<(), ErrorCode> {
  let dir = Path::new(&db_path).join("transaction_logs").join(name);
  let store = LogStore::of(dir, Some(max_file_size.max(0.0) as u64), true)?;
  store
    .max_age_ms
    .store(max_age_ms.max(0.0).to_bits(), Ordering::Relaxed);
  Ok(())
}

/// Appends one transaction's entries to its logs on the calling thread
/// (see `OwnedAppends::append`): where each log's entries start, to pass to
/// `transactionLogFinish` once the transaction committed or aborted.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_append_sync(
  db_path: String,
  timestamp: f64,
  logs: Vec<LogAppend>,
) -> napi::Result<Vec<LogMark>, ErrorCode> {
  Ok(OwnedAppends::new(db_path, timestamp, logs).append()?)
}

/// `transactionLogAppendSync` on a worker thread.
#[napi(ts_return_type = "Promise<Array<LogMark>>")]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_append(
  db_path: String,
  timestamp: f64,
  logs: Vec<LogAppend>,
) -> AsyncTask<Blocking<Vec<LogMark>>> {
  let appends = OwnedAppends::new(db_path, timestamp, logs);
  AsyncTask::new(Blocking::new(move || appends.append()))
}

/// The transaction written at (`sequence`, `offset`) ended: committed,
/// with `committedAt` a RocksDB sequence number read after its commit, or
/// aborted (`committedAt` -1).
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_finish(
  db_path: String,
  name: String,
  sequence: u32,
  offset: u32,
  committed_at: f64,
) -> napi::Result<(), ErrorCode> {
  store(&db_path, &name, None)?.finish(
    (sequence, offset),
    (committed_at >= 0.0).then_some(committed_at as u64),
  );
  Ok(())
}

/// Where the committed entries of a log end.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_committed(
  db_path: String,
  name: String,
) -> napi::Result<LogPosition, ErrorCode> {
  let (sequence, offset) = store(&db_path, &name, None)?.committed();
  Ok(LogPosition { sequence, offset })
}

/// What a log's store wrote since the process opened it.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_counters(
  db_path: String,
  name: String,
) -> napi::Result<LogCounters, ErrorCode> {
  let store = store(&db_path, &name, None)?;
  let maps = LogMap::usage(&store.dir);
  let inner = store.inner();
  Ok(LogCounters {
    last_purge_ms: inner.last_purge_ms,
    active_maps: maps.maps,
    mapped_bytes: maps.mapped_bytes as f64,
    overlay_bytes: maps.overlay_bytes as f64,
    transactions_written: inner.transactions_written as f64,
    entries_written: inner.entries_written as f64,
    bytes_written: inner.bytes_written as f64,
    rotations: inner.rotations as f64,
    write_failures: inner.write_failures as f64,
    purge_runs: inner.purge_runs as f64,
    files_purged: inner.files_purged as f64,
    bytes_purged: inner.bytes_purged as f64,
    uncommitted_transactions: inner.uncommitted.len() as u32,
    current_sequence: inner.sequence,
  })
}

/// One log's entries of a transaction, to append with its commit.
#[napi(object)]
#[cfg_attr(test, allow(dead_code))]
pub struct LogAppend {
  pub name: String,
  pub max_file_size: f64,
  pub entries: Vec<Buffer>,
}

/// `LogAppend`s copied off the JavaScript heap, for a worker thread.
#[cfg_attr(test, allow(dead_code))]
pub struct OwnedAppends {
  db_path: String,
  timestamp: f64,
  logs: Vec<(String, f64, Vec<Vec<u8>>)>,
}

#[cfg_attr(test, allow(dead_code))]
impl OwnedAppends {
  pub fn new(db_path: String, timestamp: f64, logs: Vec<LogAppend>) -> OwnedAppends {
    let logs = logs
      .into_iter()
      .map(|log| {
        let entries = log.entries.iter().map(|entry| entry.to_vec()).collect();
        (log.name, log.max_file_size, entries)
      })
      .collect();
    OwnedAppends {
      db_path,
      timestamp,
      logs,
    }
  }

  /// Appends each log's entries (see `LogStore::write`): where each starts.
  /// When one fails, those appended before it are ended (as aborted) and
  /// the failure returned: the transaction must not commit.
  pub fn append(&self) -> DbResult<Vec<LogMark>> {
    let mut marks: Vec<LogMark> = Vec::with_capacity(self.logs.len());
    for (name, max_file_size, entries) in &self.logs {
      let slices: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
      let written = store(&self.db_path, name, Some(*max_file_size))
        .and_then(|store| store.write(self.timestamp, &slices));
      match written {
        Ok((sequence, offset)) => marks.push(LogMark {
          name: name.clone(),
          sequence,
          offset,
        }),
        Err(err) => {
          for mark in &marks {
            if let Ok(store) = store(&self.db_path, &mark.name, None) {
              store.finish((mark.sequence, mark.offset), None);
            }
          }
          return Err(err);
        }
      }
    }
    Ok(marks)
  }
}

/// What a commit with log entries (`commitLogged`, `writeBatchLogged`) did:
/// where each log's entries start (`logs`), RocksDB's sequence number read
/// after the commit (`sequence`), and, when the commit failed after the
/// entries were written, its error (`errorCode`, `errorMessage`): the
/// entries stay written, for the retry of a conflict to commit.
#[napi(object)]
#[cfg_attr(test, allow(dead_code))]
pub struct LoggedCommit {
  pub logs: Vec<LogMark>,
  pub sequence: f64,
  pub error_code: Option<String>,
  pub error_message: Option<String>,
}

/// Runs `commit` after appending `appends`, on the calling (worker) thread:
/// a failure to append rejects (nothing written, nothing committed); a
/// failure of the commit is told in the result, with the positions.
#[cfg_attr(test, allow(dead_code))]
pub fn commit_logged(
  appends: &OwnedAppends,
  commit: impl FnOnce() -> DbResult<u64>,
) -> DbResult<LoggedCommit> {
  let logs = appends.append()?;
  Ok(match commit() {
    Ok(sequence) => LoggedCommit {
      logs,
      sequence: sequence as f64,
      error_code: None,
      error_message: None,
    },
    Err(err) => LoggedCommit {
      logs,
      sequence: -1.0,
      error_code: Some(err.code.as_str().to_string()),
      error_message: Some(err.message),
    },
  })
}

/// A log of a database and a position in it.
#[napi(object)]
#[cfg_attr(test, allow(dead_code))]
pub struct LogMark {
  pub name: String,
  pub sequence: u32,
  pub offset: u32,
}

/// Where the committed entries of every log of the database at `db_path`
/// open in the process end, taken before a flush: once the flush is done,
/// `transactionLogFlushed` records them as flushed.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_marks(db_path: String) -> Vec<LogMark> {
  let logs = Path::new(&db_path).join("transaction_logs");
  let open: Vec<(PathBuf, Arc<LogStore>)> = stores()
    .iter()
    .filter(|(dir, _)| dir.parent() == Some(logs.as_path()))
    .map(|(dir, store)| (dir.clone(), store.clone()))
    .collect();
  open
    .into_iter()
    .filter_map(|(dir, store)| {
      let name = dir.file_name()?.to_str()?.to_string();
      let (sequence, offset) = store.committed();
      Some(LogMark {
        name,
        sequence,
        offset,
      })
    })
    .collect()
}

/// Records the marks of `transactionLogMarks` as flushed, after the flush.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_flushed(
  db_path: String,
  marks: Vec<LogMark>,
) -> napi::Result<(), ErrorCode> {
  for mark in marks {
    store(&db_path, &mark.name, None)?.flushed_to((mark.sequence, mark.offset))?;
  }
  Ok(())
}

/// Where the entries of flushed transactions of a log end; `{ 0, 0 }` when
/// no flush was recorded.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_last_flushed(
  db_path: String,
  name: String,
) -> napi::Result<LogPosition, ErrorCode> {
  let (sequence, offset) = store(&db_path, &name, None)?.flushed().unwrap_or((0, 0));
  Ok(LogPosition { sequence, offset })
}

/// Counts a purge of a log that deleted `files` files of `bytes` bytes.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_purged(
  db_path: String,
  name: String,
  files: u32,
  bytes: f64,
) -> napi::Result<(), ErrorCode> {
  let store = store(&db_path, &name, None)?;
  let mut inner = store.inner();
  inner.purge_runs += 1;
  inner.last_purge_ms = now_ms();
  inner.files_purged += u64::from(files);
  inner.bytes_purged += bytes.max(0.0) as u64;
  Ok(())
}

/// Forgets the store of a log whose files were deleted, so its next use
/// starts again from the files on disk.
#[napi]
#[cfg_attr(test, allow(dead_code))]
pub fn transaction_log_forget(db_path: String, name: String) {
  let dir = Path::new(&db_path).join("transaction_logs").join(name);
  stores().remove(&dir);
}

#[cfg(test)]
mod tests {
  use super::*;

  fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
      "rocksdb-branch-txnlog-{name}-{}",
      std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    dir
  }

  #[test]
  fn frames_and_headers_are_rocksdb_js_format() {
    let framed = frame(1.5, &[b"ab", b"c"]);
    assert_eq!(framed.len(), 2 * ENTRY_HEADER_SIZE + 3);
    assert_eq!(&framed[0..8], &1.5f64.to_be_bytes());
    assert_eq!(&framed[8..12], &2u32.to_be_bytes());
    assert_eq!(framed[12], 0, "not the last entry");
    assert_eq!(framed[15 + 12], LAST_IN_TRANSACTION);
    let header = file_header(2.0);
    assert_eq!(&header[0..4], b"WOOF");
    assert_eq!(header[4], 1);
  }

  #[test]
  fn writes_rotate_and_the_watermark_waits_for_uncommitted_transactions() {
    let dir = scratch("rotate");
    let store = LogStore::open(dir.clone(), 100).expect("open");
    let first = store.write(1.0, &[&[1u8; 40]]).expect("write");
    assert_eq!(first, (1, FILE_HEADER_SIZE as u32));
    let second = store.write(2.0, &[&[2u8; 40]]).expect("write");
    assert_eq!(second.0, 2, "the second does not fit the first file");
    assert_eq!(store.committed(), first, "nothing ended yet");
    store.finish(second, Some(1));
    assert_eq!(
      store.committed(),
      first,
      "the first still holds the watermark"
    );
    store.finish(first, Some(1));
    assert_eq!(
      store.committed(),
      (2, (FILE_HEADER_SIZE + ENTRY_HEADER_SIZE + 40) as u32)
    );
    assert_eq!(sequences(&dir).expect("list"), vec![1, 2]);
    fs::remove_dir_all(&dir).expect("clean");
  }

  #[test]
  fn one_store_per_directory_opened_again_when_its_files_change() {
    let dir = scratch("shared");
    let store = LogStore::of(dir.clone(), Some(0), true).expect("open");
    assert!(Arc::ptr_eq(
      &store,
      &LogStore::of(dir.clone(), Some(0), true).expect("again")
    ));
    let start = store.write(1.0, &[b"x"]).expect("write");
    assert!(
      Arc::ptr_eq(
        &store,
        &LogStore::of(dir.clone(), Some(0), true).expect("again")
      ),
      "a transaction in flight keeps the store"
    );
    store.finish(start, Some(1));
    fs::remove_dir_all(&dir).expect("purge");
    let reopened = LogStore::of(dir.clone(), Some(0), true).expect("reopen");
    assert!(
      !Arc::ptr_eq(&store, &reopened),
      "its files went: opened anew"
    );
    assert_eq!(reopened.committed(), (1, 0));
    stores().remove(&dir);
  }

  #[test]
  fn a_log_written_again_with_the_same_name_and_size_is_opened_again() {
    let dir = scratch("rewritten");
    let store = LogStore::of(dir.clone(), Some(0), true).expect("open");
    let start = store.write(1.0, &[b"old"]).expect("write");
    store.finish(start, Some(1));
    let path = file_path(&dir, 1);
    let bytes = fs::read(&path).expect("read");
    // Another writer made the log again: same name, same size, new file.
    fs::remove_file(&path).expect("delete");
    fs::write(&path, &bytes).expect("write again");
    let reopened = LogStore::of(dir.clone(), Some(0), true).expect("reopen");
    assert!(!Arc::ptr_eq(&store, &reopened), "a new file: opened anew");
    let start = reopened.write(2.0, &[b"new"]).expect("write");
    reopened.finish(start, Some(1));
    assert_eq!(
      fs::metadata(&path).expect("stat").len() as usize,
      bytes.len() + ENTRY_HEADER_SIZE + 3,
      "the append went to the file on disk"
    );
    stores().remove(&dir);
    fs::remove_dir_all(&dir).expect("clean");
  }

  #[test]
  fn the_flushed_position_only_moves_on_and_survives_a_reopen() {
    let dir = scratch("flushed");
    let store = LogStore::open(dir.clone(), 0).expect("open");
    assert_eq!(store.flushed(), None);
    let start = store.write(1.0, &[b"x"]).expect("write");
    store.finish(start, Some(1));
    let end = store.committed();
    store.flushed_to(end).expect("record");
    store.flushed_to(start).expect("an older one");
    assert_eq!(store.flushed(), Some(end), "never back");
    let state = fs::read(dir.join(STATE_FILE)).expect("txn.state");
    assert_eq!(state.len(), 8);
    assert_eq!(
      u32::from_le_bytes(state[0..4].try_into().expect("4")),
      end.1
    );
    assert_eq!(
      u32::from_le_bytes(state[4..8].try_into().expect("4")),
      end.0
    );
    drop(store);
    assert_eq!(
      LogStore::open(dir.clone(), 0).expect("reopen").flushed(),
      Some(end)
    );
    fs::remove_dir_all(&dir).expect("clean");
  }

  #[test]
  fn damage_in_the_middle_is_kept_with_the_entries_after_it() {
    let dir = scratch("damaged");
    let store = LogStore::open(dir.clone(), 0).expect("open");
    for i in 0..12 {
      let start = store
        .write(f64::from(i + 1), &[&[i as u8; 20]])
        .expect("write");
      store.finish(start, Some(1));
    }
    drop(store);
    let path = file_path(&dir, 1);
    let mut bytes = fs::read(&path).expect("read");
    let whole = bytes.len();
    // The second entry's length now runs past the file.
    let second = FILE_HEADER_SIZE + ENTRY_HEADER_SIZE + 20;
    bytes[second + 8..second + 12].copy_from_slice(&u32::MAX.to_be_bytes());
    fs::write(&path, &bytes).expect("damage");
    let store = LogStore::open(dir.clone(), 0).expect("reopen");
    assert_eq!(
      fs::metadata(&path).expect("stat").len() as usize,
      whole,
      "nothing cut"
    );
    assert_eq!(store.committed(), (1, whole as u32));
    fs::remove_dir_all(&dir).expect("clean");
  }

  #[test]
  fn a_database_flush_covers_what_committed_by_its_sequence_number_in_log_order() {
    let dir = scratch("dbflush");
    let store = LogStore::open(dir.clone(), 0).expect("open");
    let a = store.write(1.0, &[b"a"]).expect("write");
    let b = store.write(2.0, &[b"b"]).expect("write");
    let c = store.write(3.0, &[b"c"]).expect("write");
    let end_of = |start: Position| (start.0, start.1 + (ENTRY_HEADER_SIZE + 1) as u32);
    // b committed early, a is still committing: nothing is covered yet.
    store.finish(b, Some(10));
    assert_eq!(store.database_flushed(20).expect("flushed"), None);
    // a committed after the flush point: still nothing.
    store.finish(a, Some(30));
    assert_eq!(store.database_flushed(20).expect("flushed"), None);
    // c aborted: it needs no flush, and holds nothing back.
    store.finish(c, None);
    assert_eq!(
      store.database_flushed(30).expect("flushed"),
      Some(end_of(b))
    );
    assert_eq!(store.flushed(), Some(end_of(b)));
    // Transactions that follow one another make one run, covered by a
    // flush that reaches the latest of them.
    let mut last = (0, 0);
    for i in 0..5u64 {
      let start = store.write(4.0, &[b"d"]).expect("write");
      store.finish(start, Some(40 + i));
      last = end_of(start);
    }
    assert_eq!(store.inner().unflushed.len(), 1, "one run");
    assert_eq!(
      store.database_flushed(42).expect("flushed"),
      None,
      "the run is not all flushed"
    );
    assert_eq!(store.database_flushed(44).expect("flushed"), Some(last));
    assert!(store.inner().unflushed.is_empty());
    fs::remove_dir_all(&dir).expect("clean");
  }

  #[test]
  fn a_file_older_than_the_age_limit_is_left_for_a_new_one() {
    let dir = scratch("aged");
    let store = LogStore::open(dir.clone(), 0).expect("open");
    store.max_age_ms.store(50f64.to_bits(), Ordering::Relaxed);
    let first = store.write(1.0, &[b"a"]).expect("write");
    let second = store.write(2.0, &[b"b"]).expect("write");
    assert_eq!((first.0, second.0), (1, 1), "young: the same file");
    std::thread::sleep(std::time::Duration::from_millis(80));
    let third = store.write(3.0, &[b"c"]).expect("write");
    assert_eq!(third, (2, FILE_HEADER_SIZE as u32), "old: a new file");
    fs::remove_dir_all(&dir).expect("clean");
  }

  #[test]
  fn a_torn_tail_is_cut_at_open() {
    let dir = scratch("torn");
    let store = LogStore::open(dir.clone(), 0).expect("open");
    store.write(1.0, &[b"whole"]).expect("write");
    drop(store);
    let path = file_path(&dir, 1);
    let whole = fs::metadata(&path).expect("stat").len();
    let mut file = OpenOptions::new().append(true).open(&path).expect("open");
    file
      .write_all(&frame(2.0, &[&[9u8; 100]])[..50])
      .expect("tear");
    drop(file);
    let store = LogStore::open(dir.clone(), 0).expect("reopen");
    assert_eq!(fs::metadata(&path).expect("stat").len(), whole);
    assert_eq!(store.committed(), (1, whole as u32));
    fs::remove_dir_all(&dir).expect("clean");
  }
}
