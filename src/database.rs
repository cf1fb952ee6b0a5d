//! The database handle: opening RocksDB, point reads and writes, flush, close.
//!
//! `NativeDatabase` is the thin native half of the JS `RocksDatabase` class: it
//! speaks bytes only; keys and values are encoded in JavaScript.

use std::cell::{Ref, RefCell};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Buffer, BufferSlice};
use napi::Env;
use napi_derive::napi;
use rust_rocksdb::{
  ColumnFamilyDescriptor, DBCompressionType, DBPinnableSlice, DBWithThreadMode, MultiThreaded,
  OptimisticTransactionDB, Options, WriteOptions, DB,
};

use crate::checkpoint;
use crate::error::{DbError, DbResult, ErrorCode};
use crate::task::Blocking;

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
}

/// The open RocksDB instance behind a handle.
///
/// Read-write databases open as an `OptimisticTransactionDB`, so that
/// transactions need no second kind of handle; read-only ones as a plain `DB`,
/// which is the only kind RocksDB can open read-only.
pub(crate) enum Engine {
  ReadWrite(OptimisticTransactionDB<MultiThreaded>),
  ReadOnly(DBWithThreadMode<MultiThreaded>),
}

/// Runs `$body` with `$db` bound to whichever kind of RocksDB the engine holds;
/// both share the methods of `DBCommon`.
macro_rules! with_db {
  ($engine:expr, $db:ident => $body:expr) => {
    match $engine {
      Engine::ReadWrite($db) => $body,
      Engine::ReadOnly($db) => $body,
    }
  };
}

impl Engine {
  fn open(path: &Path, options: &OpenOptions) -> DbResult<Engine> {
    let read_only = options.read_only.unwrap_or(false);
    let create = options.create_if_missing.unwrap_or(true) && !read_only;
    let mut opts = Options::default();
    opts.create_if_missing(create);
    opts.set_compression_type(parse_compression(options.compression.as_deref())?);
    // RocksDB defaults to one background thread; a live database that is also
    // checkpointed needs flushes and compactions to run side by side.
    opts.increase_parallelism(std::thread::available_parallelism().map_or(2, |n| n.get() as i32));
    if create {
      std::fs::create_dir_all(path)
        .map_err(|err| DbError::io(&err, "cannot create database directory", path))?;
    }
    // Every column family on disk must be named at open; a missing directory
    // simply has only the default one.
    let families = if path.join("CURRENT").exists() {
      DB::list_cf(&opts, path)?
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
    if read_only {
      Ok(Engine::ReadOnly(
        DBWithThreadMode::<MultiThreaded>::open_cf_descriptors_read_only(
          &opts,
          path,
          descriptors(),
          false,
        )?,
      ))
    } else {
      Ok(Engine::ReadWrite(
        OptimisticTransactionDB::open_cf_descriptors(&opts, path, descriptors())?,
      ))
    }
  }

  fn writable(&self) -> DbResult<&OptimisticTransactionDB<MultiThreaded>> {
    match self {
      Engine::ReadWrite(db) => Ok(db),
      Engine::ReadOnly(_) => Err(DbError::read_only()),
    }
  }

  pub(crate) fn get(&self, key: &[u8]) -> DbResult<Option<DBPinnableSlice<'_>>> {
    Ok(with_db!(self, db => db.get_pinned(key))?)
  }

  pub(crate) fn put(&self, key: &[u8], value: &[u8]) -> DbResult<()> {
    Ok(
      self
        .writable()?
        .put_opt(key, value, &WriteOptions::default())?,
    )
  }

  pub(crate) fn remove(&self, key: &[u8]) -> DbResult<()> {
    Ok(self.writable()?.delete_opt(key, &WriteOptions::default())?)
  }

  pub(crate) fn flush(&self) -> DbResult<()> {
    Ok(self.writable()?.flush()?)
  }

  pub(crate) fn latest_sequence_number(&self) -> u64 {
    with_db!(self, db => db.latest_sequence_number())
  }

  pub(crate) fn is_read_only(&self) -> bool {
    matches!(self, Engine::ReadOnly(_))
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

fn check_key(key: &[u8]) -> DbResult<()> {
  if key.is_empty() {
    return Err(DbError::new(
      ErrorCode::InvalidArgument,
      "key must not be empty",
    ));
  }
  Ok(())
}

/// The native handle of one open database. Bytes in, bytes out.
#[napi]
pub struct NativeDatabase {
  // `None` once closed. Tasks hold their own clone of the `Arc`, so work in
  // flight keeps RocksDB alive after `close()`, and the last owner closes it.
  // A `RefCell` because napi keeps the handle borrowed while its async tasks
  // are in flight, so `close()` cannot take `&mut self`.
  engine: RefCell<Option<Arc<Engine>>>,
  path: PathBuf,
}

#[napi]
impl NativeDatabase {
  /// Opens (and by default creates) the database at `path`.
  #[napi(factory)]
  pub fn open(path: String, options: Option<OpenOptions>) -> napi::Result<Self, ErrorCode> {
    let path = PathBuf::from(path);
    let engine = Engine::open(&path, &options.unwrap_or_default())?;
    Ok(NativeDatabase {
      engine: RefCell::new(Some(Arc::new(engine))),
      path,
    })
  }

  // The one way to reach the engine: a closed handle is an error, never a crash.
  fn engine(&self) -> DbResult<Ref<'_, Arc<Engine>>> {
    Ref::filter_map(self.engine.borrow(), Option::as_ref).map_err(|_| DbError::closed())
  }

  /// Closes the handle. Idempotent. Work already in flight completes first;
  /// RocksDB releases its files when the last of it settles.
  #[napi]
  pub fn close(&self) {
    self.engine.borrow_mut().take();
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

  /// The stored bytes of `key`, or `undefined`.
  #[napi]
  pub fn get_sync<'env>(
    &self,
    env: &'env Env,
    key: &[u8],
  ) -> napi::Result<Option<BufferSlice<'env>>, ErrorCode> {
    check_key(key)?;
    match self.engine()?.get(key)? {
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
    let engine = self.engine()?.clone();
    let key = key.to_vec();
    Ok(AsyncTask::new(Blocking::new(move || {
      Ok(engine.get(&key)?.map(|value| Buffer::from(value.as_ref())))
    })))
  }

  /// Stores `value` under `key`.
  #[napi]
  pub fn put_sync(&self, key: &[u8], value: &[u8]) -> napi::Result<(), ErrorCode> {
    check_key(key)?;
    Ok(self.engine()?.put(key, value)?)
  }

  /// Stores `value` under `key` on a worker thread.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn put(&self, key: &[u8], value: &[u8]) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    check_key(key)?;
    let engine = self.engine()?.clone();
    // Copied now: the caller may reuse its buffers as soon as the call returns.
    let (key, value) = (key.to_vec(), value.to_vec());
    Ok(AsyncTask::new(Blocking::new(move || {
      engine.put(&key, &value)
    })))
  }

  /// Removes `key`; removing a missing key is not an error.
  #[napi]
  pub fn remove_sync(&self, key: &[u8]) -> napi::Result<(), ErrorCode> {
    check_key(key)?;
    Ok(self.engine()?.remove(key)?)
  }

  /// Removes `key` on a worker thread.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn remove(&self, key: &[u8]) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    check_key(key)?;
    let engine = self.engine()?.clone();
    let key = key.to_vec();
    Ok(AsyncTask::new(Blocking::new(move || engine.remove(&key))))
  }

  /// Flushes the memtables to SST files.
  #[napi]
  pub fn flush_sync(&self) -> napi::Result<(), ErrorCode> {
    Ok(self.engine()?.flush()?)
  }

  /// Flushes the memtables to SST files on a worker thread.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn flush(&self) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    let engine = self.engine()?.clone();
    Ok(AsyncTask::new(Blocking::new(move || engine.flush())))
  }

  /// RocksDB's latest sequence number: it grows with every write.
  #[napi]
  pub fn latest_sequence_number(&self) -> napi::Result<f64, ErrorCode> {
    // Sequence numbers stay far below 2^53 in practice, so a JS number is exact.
    Ok(self.engine()?.latest_sequence_number() as f64)
  }

  /// Writes a checkpoint of the live database to `target_path` on a worker
  /// thread: a consistent, independent, writable copy whose SST files are
  /// hardlinked where the filesystem allows.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn create_checkpoint(
    &self,
    target_path: String,
  ) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    let engine = self.engine()?.clone();
    Ok(AsyncTask::new(Blocking::new(move || {
      checkpoint::create(&engine, Path::new(&target_path))
    })))
  }
}
