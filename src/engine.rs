//! The engine: an open RocksDB of one of three kinds, the process-wide table
//! of open engines, and every operation on them. Plain Rust: the napi
//! classes above (`database`, `iterator`, `transaction`, `fast`) use it, and
//! it knows nothing of them or of JavaScript.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use rust_rocksdb::{
  BoundColumnFamily, ColumnFamilyDescriptor, DBPinnableSlice, DBWithThreadMode, MultiThreaded,
  OptimisticTransactionDB, OptimisticTransactionDBOptions, Options, ReadOptions, TransactionDB,
  TransactionDBOptions, WriteBatchWithTransaction, WriteOptions, DB,
};

use crate::batch;
use crate::budget::Budget;
use crate::error::{DbError, DbResult, ErrorCode};
use crate::transaction_log::FlushRecorder;

/// The open RocksDB instance behind one or more handles.
///
/// Read-write databases open as an `OptimisticTransactionDB` by default, so
/// that transactions need no second kind of handle, or as a `TransactionDB`
/// for pessimistic locking; read-only ones as a plain `DB`, which is the only
/// kind RocksDB can open read-only.
pub enum Db {
  ReadWrite(OptimisticTransactionDB<MultiThreaded>),
  Pessimistic(TransactionDB<MultiThreaded>),
  ReadOnly(DBWithThreadMode<MultiThreaded>),
}

/// An open RocksDB and what this process knows about it.
///
/// Field order is drop order: RocksDB closes (`db`) before `_released` tells
/// waiting opens of the same directory that its LOCK is free.
pub struct Engine {
  pub db: Db,
  /// Set by a write that failed for lack of space (or another storage
  /// error that RocksDB can recover from): the next write first asks RocksDB
  /// to resume, so writes work again as soon as space returns.
  needs_resume: AtomicBool,
  /// The last storage error a write met, until a resume clears it.
  last_error: Mutex<Option<DbError>>,
  /// Open `NativeDatabase` handles on this engine (tasks in flight aside).
  handles: AtomicUsize,
  /// The names of its column families: those on disk at the open, and those
  /// created and dropped since, so that a flush reaches every one.
  families: Mutex<Vec<String>>,
  /// The options the engine was opened with, when they collect statistics:
  /// RocksDB's statistics object is reached through them.
  statistics: Option<Options>,
  /// This open of the database, unique in the process: the verification
  /// table's slots of one open are never those of another, so nothing
  /// cached before a close (and a change by another process, a restore)
  /// is taken for fresh after the reopen.
  pub epoch: u32,
  _released: Released,
}

/// The epoch of the next engine opened.
static NEXT_EPOCH: AtomicU32 = AtomicU32::new(1);

/// Runs `$body` with `$db` bound to whichever kind of RocksDB the engine holds,
/// for methods all three kinds have.
macro_rules! with_db {
  ($engine:expr, $db:ident => $body:expr) => {
    match &$engine.db {
      Db::ReadWrite($db) => $body,
      Db::Pessimistic($db) => $body,
      Db::ReadOnly($db) => $body,
    }
  };
}

/// Like `with_db!` for methods of `DBCommon`, which rust-rocksdb's
/// `TransactionDB` lacks; a pessimistic engine gets `$pessimistic` instead.
macro_rules! with_common {
  ($engine:expr, $db:ident => $body:expr, pessimistic => $pessimistic:expr) => {
    match &$engine.db {
      Db::ReadWrite($db) => $body,
      Db::ReadOnly($db) => $body,
      Db::Pessimistic(_) => $pessimistic,
    }
  };
}

/// Runs `$body` with `$db` bound to a writable RocksDB, or fails with
/// `ERR_DATABASE_READ_ONLY`.
macro_rules! with_writable {
  ($engine:expr, $db:ident => $body:expr) => {
    match &$engine.db {
      Db::ReadWrite($db) => $body,
      Db::Pessimistic($db) => $body,
      Db::ReadOnly(_) => Err(DbError::read_only()),
    }
  };
}

/// Runs `$with` with `$handle` bound to the named column family, or
/// `$without` for the default one.
macro_rules! on_family {
  ($db:expr, $cf:expr, $handle:ident => $with:expr, $without:expr) => {
    match $cf {
      Some(name) => {
        let $handle = $db.cf_handle(name).ok_or_else(|| missing_family(name))?;
        $with
      }
      None => $without,
    }
  };
}

/// What rust-rocksdb's `TransactionDB` cannot do.
fn not_in_pessimistic(what: &str) -> DbError {
  DbError::new(
    ErrorCode::RocksNotSupported,
    format!("{what} is not supported on a database opened with pessimistic transactions"),
  )
}

pub(crate) fn missing_family(name: &str) -> DbError {
  DbError::new(
    ErrorCode::RocksColumnFamilyDropped,
    format!("column family '{name}' does not exist (it was dropped)"),
  )
}

/// Read-write engines open in this process, by directory. RocksDB locks a
/// directory against a second open, so handles of one database (one per
/// column family, say) share a single engine. An entry stays until RocksDB
/// has released the directory (see `Released`), so an entry whose engine can
/// no longer be upgraded is one being closed.
static OPEN_ENGINES: LazyLock<Mutex<HashMap<PathBuf, Weak<Engine>>>> =
  LazyLock::new(|| Mutex::new(HashMap::new()));

/// Signalled whenever an engine of `OPEN_ENGINES` has been released.
static RELEASED: Condvar = Condvar::new();

/// How long `resume()` waits for RocksDB's own recovery to finish.
const RESUME_WAIT: Duration = Duration::from_secs(15);

/// Appended to a storage error while RocksDB recovers from it.
const RECOVERING: &str =
  "; RocksDB resumes writing within seconds of the condition clearing (or await db.resume())";

/// Whether `err` is RocksDB's answer while it recovers from a background
/// error by itself.
fn is_recovering(err: &DbError) -> bool {
  err.code == ErrorCode::RocksBusy && err.message.contains("Recovery in progress")
}

/// How long an open waits for a closing engine of its directory.
const RELEASE_WAIT: Duration = Duration::from_secs(30);

fn lock_open_engines() -> MutexGuard<'static, HashMap<PathBuf, Weak<Engine>>> {
  OPEN_ENGINES
    .lock()
    .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `OPEN_ENGINES`, locked once no engine of directory `key` is closing, so
/// its entry, if any, is a live engine. Waits at most `RELEASE_WAIT`.
fn settled_engines(
  key: &Path,
  path: &Path,
) -> DbResult<MutexGuard<'static, HashMap<PathBuf, Weak<Engine>>>> {
  let deadline = Instant::now() + RELEASE_WAIT;
  let mut open = lock_open_engines();
  while open
    .get(key)
    .is_some_and(|engine| engine.strong_count() == 0)
  {
    let now = Instant::now();
    if now >= deadline {
      return Err(DbError::new(
        ErrorCode::DatabaseOpen,
        format!(
          "{} is still being closed after {} s",
          path.display(),
          RELEASE_WAIT.as_secs()
        ),
      ));
    }
    open = RELEASED
      .wait_timeout(open, deadline - now)
      .unwrap_or_else(|poisoned| poisoned.into_inner())
      .0;
  }
  Ok(open)
}

/// The last field of an `Engine`: dropped after RocksDB has closed, it takes
/// the directory out of `OPEN_ENGINES` and wakes the opens waiting for it.
struct Released {
  /// The canonical directory of a read-write engine; `None` for read-only ones.
  key: Option<PathBuf>,
}

impl Drop for Released {
  fn drop(&mut self) {
    let Some(key) = self.key.take() else { return };
    let mut open = lock_open_engines();
    if open
      .get(&key)
      .is_some_and(|engine| engine.strong_count() == 0)
    {
      open.remove(&key);
    }
    drop(open);
    RELEASED.notify_all();
  }
}

/// What an engine was opened with; handles that share it reuse these for the
/// column families they create.
pub struct EngineOptions {
  pub opts: Options,
  /// The shared cache, write buffer manager and lock buckets `opts` use,
  /// kept alive with the engine.
  pub budget: Arc<Budget>,
  /// Open read-only: no lock, no writes.
  pub read_only: bool,
  /// Some when the engine is to be pessimistic: its lock timeout in ms.
  pub pessimistic: Option<i64>,
  pub write: WriteOptions,
  // Made once: building RocksDB's ReadOptions on every read costs an
  // allocation and a constructor, a real share of a cached point read.
  pub read: ReadOptions,
  /// Reads that may use only what is in memory (memtables, block cache,
  /// open tables): RocksDB answers Incomplete rather than touch the disk.
  pub read_in_memory: ReadOptions,
}

impl Engine {
  /// Opens the engine of `path`, or shares the one already open in this
  /// process. When the last handle of that directory was closed but RocksDB
  /// is still releasing it (work in flight held it, and the pool thread that
  /// finished last is closing it now), waits for the release instead of
  /// failing on RocksDB's LOCK file.
  pub(crate) fn open_shared(
    path: &Path,
    engine_options: Arc<EngineOptions>,
  ) -> DbResult<(Arc<Engine>, Arc<EngineOptions>)> {
    if engine_options.read_only {
      // Read-only opens take no lock: each gets its own engine.
      let engine = Engine::open(path, &engine_options, true, None)?;
      return Ok((Arc::new(engine), engine_options));
    }
    if engine_options.opts.get_create_if_missing() {
      std::fs::create_dir_all(path)
        .map_err(|err| DbError::io(&err, "cannot create database directory", path))?;
    }
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut open = loop {
      let open = settled_engines(&key, path)?;
      let Some(weak) = open.get(&key) else {
        break open;
      };
      // Released between the wait and now: wait again.
      let Some(engine) = weak.upgrade() else {
        continue;
      };
      // Unlock before the Arc can drop: were it the last one, releasing the
      // engine would take this lock again.
      drop(open);
      let pessimistic = matches!(engine.db, Db::Pessimistic(_));
      if pessimistic != engine_options.pessimistic.is_some() {
        return Err(DbError::new(
          ErrorCode::DatabaseOpen,
          // rocksdb-js's words first, then which path and what to do.
          format!(
            "Database already open in '{mode}' mode: {} is already open with {mode} transactions; open every handle of it with the same `pessimistic` option",
            path.display(),
            mode = if pessimistic { "pessimistic" } else { "optimistic" }
          ),
        ));
      }
      return Ok((engine, engine_options));
    };
    let engine = Arc::new(Engine::open(
      path,
      &engine_options,
      false,
      Some(key.clone()),
    )?);
    open.insert(key, Arc::downgrade(&engine));
    Ok((engine, engine_options))
  }

  fn open(
    path: &Path,
    options: &EngineOptions,
    read_only: bool,
    key: Option<PathBuf>,
  ) -> DbResult<Engine> {
    // The options of this open, with a recorder of RocksDB's own flushes
    // for the database's transaction logs, which knows its path.
    let mut with_recorder = options.opts.clone();
    if !read_only {
      with_recorder.add_event_listener(FlushRecorder::new(path));
    }
    let opts = &with_recorder;
    // Every column family on disk must be named at open; a missing directory
    // simply has only the default one.
    let families = if path.join("CURRENT").exists() {
      DB::list_cf(opts, path)?
    } else {
      vec![rust_rocksdb::DEFAULT_COLUMN_FAMILY_NAME.to_string()]
    };
    // Each column family carries its own options: without them RocksDB would
    // open the families with its defaults and ignore `compression`.
    let descriptors = || {
      families
        .iter()
        .map(|name| ColumnFamilyDescriptor::new(name, opts.clone()))
        .collect::<Vec<_>>()
    };
    let db = if read_only {
      Db::ReadOnly(
        DBWithThreadMode::<MultiThreaded>::open_cf_descriptors_read_only(
          opts,
          path,
          descriptors(),
          false,
        )?,
      )
    } else if let Some(lock_timeout) = options.pessimistic {
      let mut txn_db_options = TransactionDBOptions::default();
      txn_db_options.set_txn_lock_timeout(lock_timeout);
      txn_db_options.set_default_lock_timeout(lock_timeout);
      Db::Pessimistic(TransactionDB::open_cf_descriptors(
        opts,
        &txn_db_options,
        path,
        descriptors(),
      )?)
    } else {
      // The process's one pool of lock buckets instead of 2^20 of its own.
      let mut otxn_options = OptimisticTransactionDBOptions::default();
      otxn_options.set_shared_lock_buckets(&options.budget.lock_buckets);
      Db::ReadWrite(
        OptimisticTransactionDB::open_cf_descriptors_with_otxn_db_options(
          opts,
          &otxn_options,
          path,
          descriptors(),
        )?,
      )
    };
    Ok(Engine {
      db,
      needs_resume: AtomicBool::new(false),
      last_error: Mutex::new(None),
      handles: AtomicUsize::new(0),
      families: Mutex::new(families),
      statistics: opts.get_statistics().map(|_| opts.clone()),
      epoch: NEXT_EPOCH.fetch_add(1, Ordering::Relaxed),
      _released: Released { key },
    })
  }

  /// RocksDB's statistics as its text dump (a line per ticker or histogram),
  /// or `None` when the engine was opened without `enableStats`.
  pub(crate) fn statistics(&self) -> Option<String> {
    self.statistics.as_ref().and_then(Options::get_statistics)
  }

  /// Runs a write: first resumes RocksDB after a storage error an earlier
  /// write met (a full disk, say), and records a storage error this one
  /// meets, so that writes work again as soon as the condition clears.
  pub(crate) fn writing<T>(&self, write: impl FnOnce() -> DbResult<T>) -> DbResult<T> {
    if self.needs_resume.load(Ordering::Acquire) {
      // A failed resume means the condition holds: report it for this write.
      self.try_resume()?;
    }
    write().map_err(|err| {
      if is_recovering(&err) {
        return self.recovering_from();
      }
      if err.is_storage_failure() {
        self.record(Some(err.clone()));
      }
      err
    })
  }

  /// One attempt to resume RocksDB (its `DB::Resume`); forgets the last
  /// storage error when RocksDB writes again.
  fn resume_once(&self) -> DbResult<()> {
    match &self.db {
      Db::ReadWrite(db) => db.resume()?,
      // rust-rocksdb's TransactionDB has no Resume: RocksDB's automatic
      // recovery is all there is, and the write itself tells.
      Db::Pessimistic(_) | Db::ReadOnly(_) => {}
    }
    self.record(None);
    Ok(())
  }

  /// `resume_once`, with RocksDB's own recovery in progress told as the
  /// error it recovers from.
  fn try_resume(&self) -> DbResult<()> {
    self.resume_once().map_err(|err| {
      if is_recovering(&err) {
        self.recovering_from()
      } else {
        err
      }
    })
  }

  /// Resumes RocksDB after a storage error, waiting up to `RESUME_WAIT` for
  /// the recovery RocksDB runs by itself: after a full disk its file manager
  /// checks the free space every five seconds and answers everything else
  /// meanwhile with "Busy: Recovery in progress".
  pub(crate) fn resume(&self) -> DbResult<()> {
    let deadline = Instant::now() + RESUME_WAIT;
    loop {
      match self.resume_once() {
        Err(err) if is_recovering(&err) => {
          if Instant::now() >= deadline {
            return Err(self.recovering_from());
          }
          std::thread::sleep(Duration::from_millis(50));
        }
        other => return other,
      }
    }
  }

  /// The storage error RocksDB is recovering from, which is what a caller
  /// can act on, told with what happens next.
  fn recovering_from(&self) -> DbError {
    let cause = self.last_error().unwrap_or_else(|| {
      // A background error no write of ours met (a failed flush, say).
      let cause = DbError::new(ErrorCode::RocksIoError, "a background error stopped writes");
      self.record(Some(cause.clone()));
      cause
    });
    DbError::new(cause.code, format!("{}{RECOVERING}", cause.message))
  }

  /// Records the storage error writes met (`None`: writing works again).
  fn record(&self, error: Option<DbError>) {
    self.needs_resume.store(error.is_some(), Ordering::Release);
    *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = error;
  }

  /// Counts a `NativeDatabase` handle opened on this engine.
  pub(crate) fn handle_opened(&self) {
    self.handles.fetch_add(1, Ordering::AcqRel);
  }

  /// Counts a handle of this engine closed (or collected).
  pub(crate) fn handle_closed(&self) {
    self.handles.fetch_sub(1, Ordering::AcqRel);
  }

  /// The last storage error a write met since the last successful resume.
  pub(crate) fn last_error(&self) -> Option<DbError> {
    self
      .last_error
      .lock()
      .unwrap_or_else(|p| p.into_inner())
      .clone()
  }

  pub(crate) fn has_family(&self, name: &str) -> bool {
    with_db!(self, db => db.cf_handle(name).is_some())
  }

  /// The handle of column family `cf` (`None`: the default one), or
  /// `ERR_COLUMN_FAMILY_DROPPED` when it no longer exists.
  pub(crate) fn family_handle(&self, cf: Option<&str>) -> DbResult<Arc<BoundColumnFamily<'_>>> {
    let name = cf.unwrap_or(rust_rocksdb::DEFAULT_COLUMN_FAMILY_NAME);
    with_db!(self, db => db.cf_handle(name)).ok_or_else(|| missing_family(name))
  }

  pub(crate) fn create_family(&self, name: &str, opts: &Options) -> DbResult<()> {
    with_writable!(self, db => Ok::<(), DbError>(db.create_cf(name, opts)?))?;
    let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
    if !families.iter().any(|family| family == name) {
      families.push(name.to_string());
    }
    Ok(())
  }

  pub(crate) fn drop_family(&self, name: &str) -> DbResult<()> {
    with_writable!(self, db => Ok::<(), DbError>(db.drop_cf(name)?))?;
    let mut families = self.families.lock().unwrap_or_else(|p| p.into_inner());
    families.retain(|family| family != name);
    Ok(())
  }

  /// Flushes the memtables of every column family to SST files, as
  /// rocksdb-js's `flush()` does: writes made with the WAL disabled, in any
  /// family, are then on disk.
  pub(crate) fn flush_all(&self) -> DbResult<()> {
    let families = self
      .families
      .lock()
      .unwrap_or_else(|p| p.into_inner())
      .clone();
    for name in families {
      let cf = (name != rust_rocksdb::DEFAULT_COLUMN_FAMILY_NAME).then_some(name.as_str());
      match self.flush(cf) {
        // Dropped by another handle meanwhile: nothing of it to flush.
        Err(err) if err.code == ErrorCode::RocksColumnFamilyDropped => {}
        result => result?,
      }
    }
    Ok(())
  }

  pub(crate) fn get(
    &self,
    cf: Option<&str>,
    key: &[u8],
    read: &ReadOptions,
  ) -> DbResult<Option<DBPinnableSlice<'_>>> {
    Ok(with_db!(self, db => on_family!(db, cf,
      h => db.get_pinned_cf_opt(&h, key, read),
      db.get_pinned_opt(key, read)))?)
  }

  pub(crate) fn put(
    &self,
    cf: Option<&str>,
    key: &[u8],
    value: &[u8],
    write: &WriteOptions,
  ) -> DbResult<()> {
    self.writing(|| {
      with_writable!(self, db => Ok(
        on_family!(db, cf, h => db.put_cf_opt(&h, key, value, write), db.put_opt(key, value, write))?,
      ))
    })
  }

  pub(crate) fn remove(&self, cf: Option<&str>, key: &[u8], write: &WriteOptions) -> DbResult<()> {
    self.writing(|| {
      with_writable!(self, db => Ok(
        on_family!(db, cf, h => db.delete_cf_opt(&h, key, write), db.delete_opt(key, write))?
      ))
    })
  }

  /// Applies a packed batch of writes (see `batch`) atomically: all of them
  /// or none. The whole batch is read before anything is written, so a
  /// malformed one writes nothing.
  pub(crate) fn write_batch(
    &self,
    cf: Option<&str>,
    ops: &[u8],
    write: &WriteOptions,
  ) -> DbResult<()> {
    with_writable!(self, db => {
      let mut batch = WriteBatchWithTransaction::<true>::default();
      let handle = self.family_handle(cf)?;
      for op in batch::writes(ops) {
        match op? {
          batch::Write::Put { key, value } => batch.put_cf(&handle, key, value),
          batch::Write::Remove { key } => batch.delete_cf(&handle, key),
        }
      }
      self.writing(|| Ok(db.write_opt(&batch, write)?))
    })
  }

  pub(crate) fn flush(&self, cf: Option<&str>) -> DbResult<()> {
    self.writing(
      || with_writable!(self, db => Ok(on_family!(db, cf, h => db.flush_cf(&h), db.flush())?)),
    )
  }

  /// Removes every key of the family: one range tombstone from the first key
  /// to just past the last, which RocksDB drops at the next compaction. A
  /// pessimistic database cannot take range tombstones (its writes lock
  /// keys one by one), so there the keys are deleted in batches.
  pub(crate) fn clear(&self, cf: Option<&str>, write: &WriteOptions) -> DbResult<()> {
    self.writing(|| self.clear_unchecked(cf, write))
  }

  fn clear_unchecked(&self, cf: Option<&str>, write: &WriteOptions) -> DbResult<()> {
    match &self.db {
      Db::ReadWrite(db) => {
        let mut iter = on_family!(db, cf, h => db.raw_iterator_cf(&h), db.raw_iterator());
        iter.seek_to_first();
        let Some(first) = iter.key().map(<[u8]>::to_vec) else {
          return Ok(iter.status()?);
        };
        iter.seek_to_last();
        let mut end = iter
          .key()
          .map(<[u8]>::to_vec)
          .unwrap_or_else(|| first.clone());
        end.push(0);
        drop(iter);
        Ok(db.delete_range_cf_opt(&self.family_handle(cf)?, &first, &end, write)?)
      }
      Db::Pessimistic(db) => {
        const BATCH: usize = 10_000;
        let handle = self.family_handle(cf)?;
        let mut iter = db.raw_iterator_cf(&handle);
        iter.seek_to_first();
        let mut batch = WriteBatchWithTransaction::<true>::default();
        while let Some(key) = iter.key() {
          batch.delete_cf(&handle, key);
          if batch.len() >= BATCH {
            db.write_opt(&std::mem::take(&mut batch), write)?;
          }
          iter.next();
        }
        iter.status()?;
        if !batch.is_empty() {
          db.write_opt(&batch, write)?;
        }
        Ok(())
      }
      Db::ReadOnly(_) => Err(DbError::read_only()),
    }
  }

  pub(crate) fn compact(
    &self,
    cf: Option<&str>,
    start: Option<&[u8]>,
    end: Option<&[u8]>,
  ) -> DbResult<()> {
    with_common!(self,
      db => on_family!(db, cf, h => db.compact_range_cf(&h, start, end), db.compact_range(start, end)),
      pessimistic => return Err(not_in_pessimistic("compacting on demand")));
    Ok(())
  }

  pub(crate) fn property(&self, cf: Option<&str>, name: &str) -> DbResult<Option<String>> {
    Ok(with_common!(self,
    db => on_family!(db, cf, h => db.property_value_cf(&h, name), db.property_value(name)),
    pessimistic => match (&self.db, cf) {
      (Db::Pessimistic(db), None) => db.property_value(name),
      _ => return Err(not_in_pessimistic("reading properties of a named column family")),
    })?)
  }

  pub(crate) fn int_property(&self, cf: Option<&str>, name: &str) -> DbResult<Option<u64>> {
    Ok(with_common!(self,
    db => on_family!(db, cf, h => db.property_int_value_cf(&h, name), db.property_int_value(name)),
    pessimistic => match (&self.db, cf) {
      (Db::Pessimistic(db), None) => db.property_int_value(name),
      _ => return Err(not_in_pessimistic("reading properties of a named column family")),
    })?)
  }

  pub(crate) fn latest_sequence_number(&self) -> u64 {
    with_common!(self, db => db.latest_sequence_number(), pessimistic => match &self.db {
      // A new snapshot is taken at the latest sequence number.
      Db::Pessimistic(db) => db.snapshot().sequence_number().unwrap_or(0),
      _ => 0,
    })
  }

  /// Reads every live SST file and checks its block checksums, without
  /// filling the block cache.
  pub(crate) fn verify_checksums(&self) -> DbResult<()> {
    let mut read = rust_rocksdb::ReadOptions::default();
    read.fill_cache(false);
    read.set_verify_checksums(true);
    Ok(with_common!(self, db => db.verify_checksum_opt(&read),
      pessimistic => return Err(not_in_pessimistic("verifying the live database")))?)
  }

  pub(crate) fn is_read_only(&self) -> bool {
    matches!(self.db, Db::ReadOnly(_))
  }
}

/// A handle's view of its engine: what every operation needs, cheap to clone
/// into a task.
#[derive(Clone)]
pub(crate) struct Family {
  pub engine: Arc<Engine>,
  pub options: Arc<EngineOptions>,
  pub name: Option<String>,
}

impl Family {
  pub(crate) fn cf(&self) -> Option<&str> {
    self.name.as_deref()
  }
}

/// Whether an engine of this process holds the directory at `path` with no
/// handle open on it: work in flight keeps it, or RocksDB is closing it.
/// The read-write engines open in this process: their canonical directory,
/// whether they are pessimistic, and how many handles they have.
pub(crate) fn open_engines() -> Vec<(PathBuf, bool, usize)> {
  let engines: Vec<_> = lock_open_engines()
    .iter()
    .filter_map(|(path, engine)| Some((path.clone(), engine.upgrade()?)))
    .collect();
  // Upgraded under the lock, inspected (and the Arcs dropped) after it: the
  // last Arc of an engine takes the lock again to release it.
  engines
    .into_iter()
    .map(|(path, engine)| {
      let pessimistic = matches!(engine.db, Db::Pessimistic(_));
      (path, pessimistic, engine.handles.load(Ordering::Acquire))
    })
    .collect()
}

pub(crate) fn is_closing(path: &Path) -> bool {
  let Ok(key) = std::fs::canonicalize(path) else {
    return false;
  };
  let open = lock_open_engines();
  let Some(weak) = open.get(&key) else {
    return false;
  };
  let engine = weak.upgrade();
  // Unlocked before the Arc drops: it may be the last one, and releasing the
  // engine takes this lock.
  drop(open);
  engine.is_none_or(|engine| engine.handles.load(Ordering::Acquire) == 0)
}

/// Whether a handle or task of this process has the database at `path` open
/// for writing.
pub(crate) fn is_open(path: &Path) -> bool {
  let Ok(key) = std::fs::canonicalize(path) else {
    return false;
  };
  lock_open_engines()
    .get(&key)
    .is_some_and(|engine| engine.strong_count() > 0)
}

/// Removes a closed database from disk; see `destroyDatabase`.
pub(crate) fn destroy(path: &Path) -> DbResult<()> {
  if let Ok(key) = std::fs::canonicalize(path) {
    if settled_engines(&key, path)?.contains_key(&key) {
      return Err(DbError::new(
        ErrorCode::DatabaseOpen,
        format!("{} is still open", path.display()),
      ));
    }
  }
  DB::destroy(&Options::default(), path)?;
  match std::fs::remove_dir_all(path) {
    Ok(()) => Ok(()),
    Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
    Err(err) => Err(DbError::io(&err, "cannot remove", path)),
  }
}
