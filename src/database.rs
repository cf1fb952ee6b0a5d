//! The database handle: opening RocksDB, point reads and writes, flush, close.
//!
//! `NativeDatabase` is the thin native half of the JS `RocksDatabase` class: it
//! speaks bytes only; keys and values are encoded in JavaScript.

use std::cell::{Ref, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::{AsyncTask, Buffer, BufferSlice, External};
use napi::Env;
use napi_derive::napi;
use rust_rocksdb::{
  BlockBasedOptions, BoundColumnFamily, ColumnFamilyDescriptor, DBCompressionType, DBPinnableSlice,
  DBWithThreadMode, MultiThreaded, OptimisticTransactionDB, Options, ReadOptions, TransactionDB,
  TransactionDBOptions, WriteBatchWithTransaction, WriteOptions, DB,
};

use crate::batch;
use crate::checkpoint;
use crate::error::{DbError, DbResult, ErrorCode};
use crate::fast::SharedBuffers;
use crate::iterator::{NativeIterator, RangeOptions, Scan};
use crate::task::Blocking;
use crate::transaction::NativeTransaction;

/// Options of `RocksDatabase.open()` that the native layer acts on.
#[napi(object)]
#[derive(Default, Clone)]
pub struct OpenOptions {
  /// Open the database read-only: reads work, every write is refused with
  /// `ERR_DATABASE_READ_ONLY`, and several read-only handles may share a
  /// directory. Default `false`.
  pub read_only: Option<bool>,
  /// Block compression of new SST files: `'none'`, `'lz4'` (default) or `'zstd'`.
  pub compression: Option<String>,
  /// Create the database (and missing parent directories) when absent.
  /// Default `true`; ignored when `readOnly` is set.
  pub create_if_missing: Option<bool>,
  /// The column family this handle reads and writes; the default family
  /// when absent. A missing family is created unless the database is read-only.
  pub name: Option<String>,
  /// Write without RocksDB's write-ahead log: faster, but writes since the
  /// last flush are lost if the process dies. Default `false`.
  pub disable_wal: Option<bool>,
  /// Background threads for flushes and compactions. Default: the CPU count.
  pub parallelism_threads: Option<u32>,
  /// Bytes of one memtable before it is flushed. RocksDB's default is 64 MiB.
  pub write_buffer_size: Option<f64>,
  /// Most SST files RocksDB keeps open; -1 keeps all open (RocksDB's default).
  pub max_open_files: Option<i32>,
  /// Read SST blocks without a block cache.
  pub no_block_cache: Option<bool>,
  /// Open with pessimistic transactions: a transaction locks each key it
  /// writes when it writes it, and a conflict shows at that write instead of
  /// at commit. Every read-write handle of one database must agree. Default
  /// `false` (optimistic).
  pub pessimistic: Option<bool>,
  /// Pessimistic mode only: milliseconds a write waits for a key another
  /// transaction has locked before it fails. Default 0: JavaScript writes on
  /// one thread, so waiting there could only stall the event loop.
  pub lock_timeout: Option<f64>,
}

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
  _released: Released,
}

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

/// Bounds of the numeric open options, checked again in JavaScript where the
/// TypeScript docs state them: past them RocksDB aborts or overflows.
pub const MAX_THREADS: u32 = 256;
pub const MAX_WRITE_BUFFER_SIZE: f64 = (1u64 << 40) as f64;
pub const MAX_LOCK_TIMEOUT: f64 = 2_147_483_647.0;

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
  fn options(options: &OpenOptions) -> DbResult<EngineOptions> {
    let read_only = options.read_only.unwrap_or(false);
    let mut opts = Options::default();
    opts.create_if_missing(options.create_if_missing.unwrap_or(true) && !read_only);
    opts.set_compression_type(parse_compression(options.compression.as_deref())?);
    // RocksDB defaults to one background thread; a live database that is also
    // checkpointed needs flushes and compactions to run side by side.
    let threads = match options.parallelism_threads {
      // RocksDB starts every thread at open; a huge count aborts the process
      // in std::thread's constructor, so it is bounded here too.
      Some(n) if !(1..=MAX_THREADS).contains(&n) => {
        return Err(DbError::new(
          ErrorCode::OutOfRange,
          format!("options.parallelismThreads must be from 1 to {MAX_THREADS}. Received {n}"),
        ))
      }
      Some(n) => n as i32,
      None => std::thread::available_parallelism().map_or(2, |n| n.get() as i32),
    };
    opts.increase_parallelism(threads);
    if let Some(size) = options.write_buffer_size {
      if !(size >= 1.0 && size.fract() == 0.0 && size <= MAX_WRITE_BUFFER_SIZE) {
        return Err(DbError::new(
          ErrorCode::OutOfRange,
          format!("options.writeBufferSize must be an integer from 1 to {MAX_WRITE_BUFFER_SIZE}"),
        ));
      }
      opts.set_write_buffer_size(size as usize);
    }
    if let Some(files) = options.max_open_files {
      if files < -1 {
        return Err(DbError::new(
          ErrorCode::OutOfRange,
          format!("options.maxOpenFiles must be -1 or more. Received {files}"),
        ));
      }
      opts.set_max_open_files(files);
    }
    // A Bloom filter (10 bits a key, about 1% false positives) lets a read
    // skip every SST file that lacks its key: without one, a miss, or a key
    // in an older file, searches the index of each L0 file on the way. (A
    // data-block hash index was measured too and did not speed up hits.)
    let mut table = BlockBasedOptions::default();
    table.set_bloom_filter(10.0, false);
    if options.no_block_cache.unwrap_or(false) {
      table.disable_cache();
    }
    opts.set_block_based_table_factory(&table);
    let mut write = WriteOptions::default();
    write.disable_wal(options.disable_wal.unwrap_or(false));
    let lock_timeout = options.lock_timeout.unwrap_or(0.0);
    if !(lock_timeout >= 0.0 && lock_timeout.fract() == 0.0 && lock_timeout <= MAX_LOCK_TIMEOUT) {
      return Err(DbError::new(
        ErrorCode::OutOfRange,
        format!("options.lockTimeout must be an integer from 0 to {MAX_LOCK_TIMEOUT}"),
      ));
    }
    Ok(EngineOptions {
      opts,
      pessimistic: options
        .pessimistic
        .unwrap_or(false)
        .then_some(lock_timeout as i64),
      write,
      read: ReadOptions::default(),
      read_in_memory: {
        let mut read = ReadOptions::default();
        read.set_read_tier(rust_rocksdb::ReadTier::BlockCache);
        read
      },
    })
  }

  /// Opens the engine of `path`, or shares the one already open in this
  /// process. When the last handle of that directory was closed but RocksDB
  /// is still releasing it (work in flight held it, and the pool thread that
  /// finished last is closing it now), waits for the release instead of
  /// failing on RocksDB's LOCK file.
  pub(crate) fn open_shared(
    path: &Path,
    options: &OpenOptions,
  ) -> DbResult<(Arc<Engine>, Arc<EngineOptions>)> {
    let engine_options = Arc::new(Engine::options(options)?);
    if options.read_only.unwrap_or(false) {
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
          format!(
            "{} is already open with {} transactions; open every handle of it with the same `pessimistic` option",
            path.display(),
            if pessimistic { "pessimistic" } else { "optimistic" }
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
    let opts = &options.opts;
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
      Db::ReadWrite(OptimisticTransactionDB::open_cf_descriptors(
        opts,
        path,
        descriptors(),
      )?)
    };
    Ok(Engine {
      db,
      needs_resume: AtomicBool::new(false),
      last_error: Mutex::new(None),
      handles: AtomicUsize::new(0),
      _released: Released { key },
    })
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
      let err = self.while_recovering(err);
      if err.is_storage_failure() {
        self.needs_resume.store(true, Ordering::Release);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(err.clone());
      }
      err
    })
  }

  /// One attempt to resume RocksDB (its `DB::Resume`), without waiting;
  /// forgets the last storage error when RocksDB writes again.
  fn try_resume(&self) -> DbResult<()> {
    let outcome = match &self.db {
      Db::ReadWrite(db) => db.resume().map_err(DbError::from),
      // rust-rocksdb's TransactionDB has no Resume: RocksDB's automatic
      // recovery is all there is, and the write itself tells.
      Db::Pessimistic(_) | Db::ReadOnly(_) => Ok(()),
    };
    match outcome {
      Ok(()) => {
        self.needs_resume.store(false, Ordering::Release);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
      }
      Err(err) => Err(self.while_recovering(err)),
    }
  }

  /// Resumes RocksDB after a storage error, waiting up to `RESUME_WAIT` for
  /// the recovery RocksDB runs by itself: after a full disk its file manager
  /// checks the free space every five seconds and answers everything else
  /// meanwhile with "Busy: Recovery in progress".
  pub(crate) fn resume(&self) -> DbResult<()> {
    let deadline = Instant::now() + RESUME_WAIT;
    loop {
      match self.try_resume() {
        Err(err) if self.recovering(&err) && Instant::now() < deadline => {
          std::thread::sleep(Duration::from_millis(50));
        }
        other => return other,
      }
    }
  }

  /// Whether `err` is what this engine answers while RocksDB recovers from a
  /// storage error (see `while_recovering`).
  fn recovering(&self, err: &DbError) -> bool {
    err.message.ends_with(RECOVERING)
  }

  /// RocksDB's "Busy: Recovery in progress", told as the storage error it is
  /// recovering from, which is what a caller can act on.
  fn while_recovering(&self, err: DbError) -> DbError {
    if err.code != ErrorCode::RocksBusy || !err.message.contains("Recovery in progress") {
      return err;
    }
    let cause = self.last_error().unwrap_or_else(|| {
      DbError::new(ErrorCode::RocksIoError, "a background error stopped writes")
    });
    let first = cause.message.split(RECOVERING).next().unwrap_or_default();
    DbError::new(cause.code, format!("{first}{RECOVERING}"))
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
  /// `ERR_ROCKSDB_COLUMN_FAMILY_DROPPED` when it no longer exists.
  pub(crate) fn family_handle(&self, cf: Option<&str>) -> DbResult<Arc<BoundColumnFamily<'_>>> {
    let name = cf.unwrap_or(rust_rocksdb::DEFAULT_COLUMN_FAMILY_NAME);
    with_db!(self, db => db.cf_handle(name)).ok_or_else(|| missing_family(name))
  }

  pub(crate) fn create_family(&self, name: &str, opts: &Options) -> DbResult<()> {
    with_writable!(self, db => Ok(db.create_cf(name, opts)?))
  }

  pub(crate) fn drop_family(&self, name: &str) -> DbResult<()> {
    with_writable!(self, db => Ok(db.drop_cf(name)?))
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

fn parse_compression(name: Option<&str>) -> DbResult<DBCompressionType> {
  match name.unwrap_or("lz4") {
    "none" => Ok(DBCompressionType::None),
    "lz4" => Ok(DBCompressionType::Lz4),
    "zstd" => Ok(DBCompressionType::Zstd),
    other => Err(DbError::new(
      ErrorCode::InvalidArgument,
      format!("options.compression must be 'none', 'lz4' or 'zstd', not '{other}'"),
    )),
  }
}

pub(crate) fn check_key(key: &[u8]) -> DbResult<()> {
  if key.is_empty() {
    return Err(DbError::new(
      ErrorCode::InvalidArgument,
      "key must not be empty",
    ));
  }
  Ok(())
}

/// The native handle of one column family of an open database. Bytes in,
/// bytes out.
#[napi]
pub struct NativeDatabase {
  // `None` once closed. Tasks hold their own clone of the `Arc`, so work in
  // flight keeps RocksDB alive after `close()`, and the last owner closes it.
  // A `RefCell` because napi keeps the handle borrowed while its async tasks
  // are in flight, so `close()` cannot take `&mut self`; in an `Rc` because
  // the shared-buffer fast path (`fast.rs`) sees the same cell.
  engine: Rc<RefCell<Option<Arc<Engine>>>>,
  options: Arc<EngineOptions>,
  // `None` for the default column family.
  family: Option<String>,
  path: PathBuf,
}

impl Drop for NativeDatabase {
  // A handle collected without `close()` no longer counts as open.
  fn drop(&mut self) {
    self.close();
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

#[napi]
impl NativeDatabase {
  /// Opens (and by default creates) the database at `path`, or shares the
  /// engine already open on it in this process.
  #[napi(factory)]
  pub fn open(path: String, options: Option<OpenOptions>) -> napi::Result<Self, ErrorCode> {
    let path = PathBuf::from(path);
    let options = options.unwrap_or_default();
    let (engine, engine_options) = Engine::open_shared(&path, &options)?;
    let family = match options.name.as_deref() {
      None | Some(rust_rocksdb::DEFAULT_COLUMN_FAMILY_NAME) => None,
      Some("") => {
        return Err(
          DbError::new(ErrorCode::InvalidArgument, "options.name must not be empty").into(),
        )
      }
      Some(name) => {
        if !engine.has_family(name) {
          if engine.is_read_only() {
            return Err(
              DbError::new(
                ErrorCode::RocksInvalidArgument,
                format!("column family '{name}' does not exist"),
              )
              .into(),
            );
          }
          engine.create_family(name, &engine_options.opts)?;
        }
        Some(name.to_string())
      }
    };
    engine.handles.fetch_add(1, Ordering::AcqRel);
    Ok(NativeDatabase {
      engine: Rc::new(RefCell::new(Some(engine))),
      options: engine_options,
      family,
      path,
    })
  }

  // The one way to reach the engine: a closed handle is an error, never a crash.
  fn engine(&self) -> DbResult<Ref<'_, Arc<Engine>>> {
    Ref::filter_map(self.engine.borrow(), Option::as_ref).map_err(|_| DbError::closed())
  }

  fn cf(&self) -> Option<&str> {
    self.family.as_deref()
  }

  /// An owned view of the engine for a task on another thread.
  pub(crate) fn family(&self) -> DbResult<Family> {
    Ok(Family {
      engine: self.engine()?.clone(),
      options: self.options.clone(),
      name: self.family.clone(),
    })
  }

  /// Closes the handle. Idempotent. Work already in flight completes first;
  /// RocksDB releases its files when the last handle and task let go.
  #[napi]
  pub fn close(&self) {
    if let Some(engine) = self.engine.borrow_mut().take() {
      engine.handles.fetch_sub(1, Ordering::AcqRel);
    }
  }

  /// Whether the handle is open.
  #[napi(getter)]
  pub fn is_open(&self) -> bool {
    self.engine.borrow().is_some()
  }

  /// Whether the handle was opened read-only.
  #[napi(getter)]
  pub fn read_only(&self) -> napi::Result<bool, ErrorCode> {
    Ok(self.engine()?.is_read_only())
  }

  /// The directory of the database.
  #[napi(getter)]
  pub fn path(&self) -> String {
    self.path.to_string_lossy().into_owned()
  }

  /// The column families of the database on disk.
  #[napi]
  pub fn columns(&self) -> napi::Result<Vec<String>, ErrorCode> {
    self.engine()?;
    Ok(DB::list_cf(&Options::default(), &self.path).map_err(DbError::from)?)
  }

  /// The stored bytes of `key`, or `undefined`.
  #[napi]
  pub fn get_sync<'env>(
    &self,
    env: &'env Env,
    key: &[u8],
  ) -> napi::Result<Option<BufferSlice<'env>>, ErrorCode> {
    check_key(key)?;
    match self.engine()?.get(self.cf(), key, &self.options.read)? {
      // One copy, from RocksDB's pinned block straight into the JS buffer.
      Some(value) => BufferSlice::copy_from(env, &value)
        .map(Some)
        .map_err(|err| napi::Error::new(ErrorCode::Io, err.reason.clone())),
      None => Ok(None),
    }
  }

  /// The stored bytes of `key`, or `undefined`, read on a worker thread.
  #[napi(ts_return_type = "Promise<Buffer | undefined>")]
  pub fn get(&self, key: &[u8]) -> napi::Result<AsyncTask<Blocking<Option<Buffer>>>, ErrorCode> {
    check_key(key)?;
    let family = self.family()?;
    let key = key.to_vec();
    Ok(AsyncTask::new(Blocking::new(move || {
      Ok(
        family
          .engine
          .get(family.cf(), &key, &family.options.read)?
          .map(|value| Buffer::from(value.as_ref())),
      )
    })))
  }

  /// Stores `value` under `key`.
  #[napi]
  pub fn put_sync(&self, key: &[u8], value: &[u8]) -> napi::Result<(), ErrorCode> {
    check_key(key)?;
    Ok(
      self
        .engine()?
        .put(self.cf(), key, value, &self.options.write)?,
    )
  }

  /// Removes `key`; removing a missing key is not an error.
  #[napi]
  pub fn remove_sync(&self, key: &[u8]) -> napi::Result<(), ErrorCode> {
    check_key(key)?;
    Ok(self.engine()?.remove(self.cf(), key, &self.options.write)?)
  }

  /// Applies a packed batch of puts and removals atomically (the format is
  /// described in `batch.rs`; `lib/batch.js` packs it).
  #[napi]
  pub fn write_batch_sync(&self, ops: &[u8]) -> napi::Result<(), ErrorCode> {
    Ok(
      self
        .engine()?
        .write_batch(self.cf(), ops, &self.options.write)?,
    )
  }

  /// Applies a packed batch of writes atomically on a worker thread.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn write_batch(&self, ops: &[u8]) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    let family = self.family()?;
    let ops = ops.to_vec();
    Ok(AsyncTask::new(Blocking::new(move || {
      family
        .engine
        .write_batch(family.cf(), &ops, &family.options.write)
    })))
  }

  /// Flushes the memtable of this column family to SST files.
  #[napi]
  pub fn flush_sync(&self) -> napi::Result<(), ErrorCode> {
    Ok(self.engine()?.flush(self.cf())?)
  }

  /// Flushes the memtable of this column family on a worker thread.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn flush(&self) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    let family = self.family()?;
    Ok(AsyncTask::new(Blocking::new(move || {
      family.engine.flush(family.cf())
    })))
  }

  /// Removes every key of this column family.
  #[napi]
  pub fn clear_sync(&self) -> napi::Result<(), ErrorCode> {
    Ok(self.engine()?.clear(self.cf(), &self.options.write)?)
  }

  /// Removes every key of this column family on a worker thread.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn clear(&self) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    let family = self.family()?;
    Ok(AsyncTask::new(Blocking::new(move || {
      family.engine.clear(family.cf(), &family.options.write)
    })))
  }

  /// Drops this column family (not the default one) and closes the handle.
  #[napi]
  pub fn drop_sync(&self) -> napi::Result<(), ErrorCode> {
    let name = self.dropped_family()?;
    self.engine()?.drop_family(&name)?;
    self.close();
    Ok(())
  }

  /// Drops this column family on a worker thread and closes the handle.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn drop(&self) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    let name = self.dropped_family()?;
    let engine = self.engine()?.clone();
    self.close();
    Ok(AsyncTask::new(Blocking::new(move || {
      engine.drop_family(&name)
    })))
  }

  fn dropped_family(&self) -> DbResult<String> {
    self.engine()?;
    self.family.clone().ok_or_else(|| {
      DbError::new(
        ErrorCode::RocksInvalidArgument,
        "the default column family cannot be dropped; use clear() or destroy()",
      )
    })
  }

  /// Compacts this column family between `start` and `end` (whole range when absent).
  #[napi]
  pub fn compact_sync(
    &self,
    start: Option<&[u8]>,
    end: Option<&[u8]>,
  ) -> napi::Result<(), ErrorCode> {
    Ok(self.engine()?.compact(self.cf(), start, end)?)
  }

  /// Compacts this column family on a worker thread.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn compact(
    &self,
    start: Option<&[u8]>,
    end: Option<&[u8]>,
  ) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    let family = self.family()?;
    let (start, end) = (start.map(<[u8]>::to_vec), end.map(<[u8]>::to_vec));
    Ok(AsyncTask::new(Blocking::new(move || {
      family
        .engine
        .compact(family.cf(), start.as_deref(), end.as_deref())
    })))
  }

  /// A RocksDB property of this column family as text, such as `rocksdb.stats`.
  #[napi]
  pub fn get_property(&self, name: String) -> napi::Result<Option<String>, ErrorCode> {
    Ok(self.engine()?.property(self.cf(), &name)?)
  }

  /// A numeric RocksDB property, such as `rocksdb.estimate-num-keys`.
  #[napi]
  pub fn get_int_property(&self, name: String) -> napi::Result<Option<f64>, ErrorCode> {
    Ok(
      self
        .engine()?
        .int_property(self.cf(), &name)?
        .map(|n| n as f64),
    )
  }

  /// RocksDB's latest sequence number: it grows with every write.
  #[napi]
  pub fn latest_sequence_number(&self) -> napi::Result<f64, ErrorCode> {
    // Sequence numbers stay far below 2^53 in practice, so a JS number is exact.
    Ok(self.engine()?.latest_sequence_number() as f64)
  }

  /// Reads every live SST file of the database on a worker thread and checks
  /// RocksDB's block checksums; rejects with `ERR_ROCKSDB_CORRUPTION` naming
  /// the first damaged file.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn verify_checksums(&self) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    let engine = self.engine()?.clone();
    Ok(AsyncTask::new(Blocking::new(move || {
      engine.verify_checksums()
    })))
  }

  /// The fast path of synchronous reads and writes: a key buffer of
  /// `key_bytes` and a value buffer of `value_bytes`, owned by this module and
  /// viewed from JavaScript through `sharedKeyBuffer` and
  /// `sharedValueBuffer`; see `fast.rs`.
  #[napi(ts_return_type = "ExternalObject<SharedBuffers>")]
  pub fn share_buffers(
    &self,
    key_bytes: u32,
    value_bytes: u32,
  ) -> napi::Result<External<SharedBuffers>, ErrorCode> {
    self.engine()?;
    Ok(External::new(SharedBuffers::new(
      self.engine.clone(),
      self.options.clone(),
      self.family.clone(),
      key_bytes as usize,
      value_bytes as usize,
    )?))
  }

  /// A lazy scan of a key range, read in batches.
  #[napi]
  pub fn iterate(&self, range: Option<RangeOptions>) -> napi::Result<NativeIterator, ErrorCode> {
    let scan = Scan::new(
      self.engine()?.clone(),
      self.cf(),
      range.unwrap_or_default().into(),
    )?;
    Ok(NativeIterator::new(scan))
  }

  /// Counts the keys of a range without reading their values into JS.
  #[napi]
  pub fn count(&self, range: Option<RangeOptions>) -> napi::Result<u32, ErrorCode> {
    let mut range = range.unwrap_or_default();
    range.values = Some(false);
    Ok(Scan::new(self.engine()?.clone(), self.cf(), range.into())?.count()?)
  }

  /// Starts an optimistic transaction on this column family.
  #[napi]
  pub fn begin_transaction(&self) -> napi::Result<NativeTransaction, ErrorCode> {
    Ok(NativeTransaction::begin(self.family()?)?)
  }

  /// Writes a checkpoint of the live database (every column family) to
  /// `target_path` on a worker thread: a consistent, independent, writable
  /// copy whose SST files are hardlinked where the filesystem allows.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn create_checkpoint(
    &self,
    target_path: String,
  ) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    let engine = self.engine()?.clone();
    let source = self.path.clone();
    Ok(AsyncTask::new(Blocking::new(move || {
      checkpoint::create(&engine, &source, Path::new(&target_path))
    })))
  }

  /// Asks RocksDB to resume writing after a storage error (a full disk, say)
  /// stopped it, on a worker thread. Writes also try this themselves, so it
  /// is needed only to learn early whether the condition has cleared.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn resume(&self) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    let engine = self.engine()?.clone();
    Ok(AsyncTask::new(Blocking::new(move || engine.resume())))
  }

  /// The last storage error a write met since writing last worked, as
  /// `[code, message]`, or `undefined`.
  #[napi]
  pub fn last_error(&self) -> napi::Result<Option<Vec<String>>, ErrorCode> {
    Ok(
      self
        .engine()?
        .last_error()
        .map(|err| vec![err.code.as_str().to_string(), err.message]),
    )
  }
}

/// Whether an engine of this process still holds the database at `path`
/// open for writing with no handle open on it: work in flight, or RocksDB
/// closing it. When this turns false, either RocksDB has released the
/// directory (and its LOCK) or another handle has it open.
#[napi]
pub fn is_database_closing(path: String) -> bool {
  let Ok(key) = std::fs::canonicalize(&path) else {
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

/// Whether a handle in this process has the database at `path` open for writing.
#[napi]
pub fn is_database_open(path: String) -> bool {
  let Ok(key) = std::fs::canonicalize(&path) else {
    return false;
  };
  lock_open_engines()
    .get(&key)
    .is_some_and(|engine| engine.strong_count() > 0)
}

/// Removes a closed database from disk. Refuses while a handle in this process
/// still has it open (`ERR_DATABASE_OPEN`); waits while RocksDB is still
/// releasing it after the last handle closed.
#[napi]
pub fn destroy_database(path: String) -> napi::Result<(), ErrorCode> {
  let path = PathBuf::from(path);
  if let Ok(key) = std::fs::canonicalize(&path) {
    if settled_engines(&key, &path)?.contains_key(&key) {
      return Err(
        DbError::new(
          ErrorCode::DatabaseOpen,
          format!("{} is still open", path.display()),
        )
        .into(),
      );
    }
  }
  DB::destroy(&Options::default(), &path).map_err(DbError::from)?;
  match std::fs::remove_dir_all(&path) {
    Ok(()) => Ok(()),
    Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
    Err(err) => Err(DbError::io(&err, "cannot remove", &path).into()),
  }
}
