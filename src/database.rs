//! The database handle: `NativeDatabase`, the napi class under the JS
//! `RocksDatabase`, and the free functions about databases on disk. It
//! speaks bytes only (keys and values are encoded in JavaScript) and hands
//! every operation to the engine (`engine.rs`).

use std::cell::{Ref, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Buffer, External};
use napi_derive::napi;
use rust_rocksdb::{Options, DB};

use crate::batch::check_key;
use crate::checkpoint;
use crate::engine::{self, Engine, EngineOptions, Family};
use crate::error::{DbError, DbResult, ErrorCode};
use crate::fast::SharedBuffers;
use crate::iterator::{NativeIterator, Scan, ScanSpec, RANGE_VALUES};
use crate::options::OpenOptions;
use crate::task::Blocking;
use crate::transaction::NativeTransaction;
use crate::transaction_log::{commit_logged, LogAppend, LoggedCommit, OwnedAppends};

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

/// An engine opened for a new handle, and the column family it names.
pub struct Opened {
  engine: Arc<Engine>,
  options: Arc<EngineOptions>,
  family: Option<String>,
  path: PathBuf,
}

impl Opened {
  /// Opens the engine at `path` (or shares the one open in this process) and
  /// finds or creates the column family `name`.
  fn open(
    path: PathBuf,
    engine_options: Arc<EngineOptions>,
    name: Option<String>,
  ) -> DbResult<Opened> {
    let (engine, options) = Engine::open_shared(&path, engine_options)?;
    let family = match name.as_deref() {
      None | Some(rust_rocksdb::DEFAULT_COLUMN_FAMILY_NAME) => None,
      Some("") => {
        return Err(DbError::new(
          ErrorCode::InvalidArgument,
          "options.name must not be empty",
        ))
      }
      Some(name) => {
        if !engine.has_family(name) {
          if engine.is_read_only() {
            return Err(DbError::new(
              ErrorCode::RocksInvalidArgument,
              format!("column family '{name}' does not exist"),
            ));
          }
          engine.create_family(name, &options.opts)?;
        }
        Some(name.to_string())
      }
    };
    Ok(Opened {
      engine,
      options,
      family,
      path,
    })
  }
}

impl Drop for NativeDatabase {
  // A handle collected without `close()` no longer counts as open.
  fn drop(&mut self) {
    self.close();
  }
}

#[napi]
impl NativeDatabase {
  /// Opens (and by default creates) the database at `path`, or shares the
  /// engine already open on it in this process.
  #[napi(factory)]
  pub fn open(path: String, options: Option<OpenOptions>) -> napi::Result<Self, ErrorCode> {
    let options = options.unwrap_or_default();
    let engine_options = Arc::new(options.engine_options()?);
    Ok(NativeDatabase::from_opened(Opened::open(
      PathBuf::from(path),
      engine_options,
      options.name,
    )?))
  }

  /// `open` on a worker thread: resolves with the handle, or rejects with
  /// the coded error `open` throws. Opening reads and writes files (and, on
  /// a disk, syncs five of them), so an app server opening many branches
  /// keeps its event loop free.
  #[napi(ts_return_type = "Promise<NativeDatabase>")]
  pub fn open_async(
    path: String,
    options: Option<OpenOptions>,
  ) -> napi::Result<AsyncTask<Blocking<Opened, NativeDatabase>>, ErrorCode> {
    let options = options.unwrap_or_default();
    // RocksDB's options are made on the worker too: a tenth of a
    // millisecond of C++ allocations an open.
    Ok(AsyncTask::new(Blocking::finished_by(
      move || {
        let engine_options = Arc::new(options.engine_options()?);
        Opened::open(PathBuf::from(path), engine_options, options.name)
      },
      |opened| Ok(NativeDatabase::from_opened(opened)),
    )))
  }

  /// The handle of an engine opened on any thread; made on the main thread,
  /// where the handle lives.
  fn from_opened(opened: Opened) -> Self {
    opened.engine.handle_opened();
    NativeDatabase {
      engine: Rc::new(RefCell::new(Some(opened.engine))),
      options: opened.options,
      family: opened.family,
      path: opened.path,
    }
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
      engine.handle_closed();
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

  /// Appends one transaction's log entries and writes its packed batch,
  /// both on one worker thread (see `transaction_log::commit_logged`).
  #[napi(ts_return_type = "Promise<LoggedCommit>")]
  pub fn write_batch_logged(
    &self,
    ops: &[u8],
    db_path: String,
    timestamp: f64,
    logs: Vec<LogAppend>,
  ) -> napi::Result<AsyncTask<Blocking<LoggedCommit>>, ErrorCode> {
    let family = self.family()?;
    let ops = ops.to_vec();
    let appends = OwnedAppends::new(db_path, timestamp, logs);
    Ok(AsyncTask::new(Blocking::new(move || {
      commit_logged(&appends, || {
        family
          .engine
          .write_batch(family.cf(), &ops, &family.options.write)?;
        Ok(family.engine.latest_sequence_number())
      })
    })))
  }

  /// Flushes the memtables of every column family of the database to SST
  /// files.
  #[napi]
  pub fn flush_sync(&self) -> napi::Result<(), ErrorCode> {
    Ok(self.engine()?.flush_all()?)
  }

  /// Flushes the memtables of every column family on a worker thread.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn flush(&self) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    let family = self.family()?;
    Ok(AsyncTask::new(Blocking::new(move || {
      family.engine.flush_all()
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

  /// RocksDB's statistics as text, a line per ticker or histogram; `null`
  /// when the database was opened without `enableStats`.
  #[napi]
  pub fn statistics(&self) -> napi::Result<Option<String>, ErrorCode> {
    Ok(self.engine()?.statistics())
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

  /// A lazy scan of a range, read in batches; the range in the wire format
  /// of `iterator.rs`.
  #[napi]
  pub fn iterate(
    &self,
    bounds: &[u8],
    lower_length: u32,
    flags: u32,
    offset: u32,
    limit: f64,
  ) -> napi::Result<NativeIterator, ErrorCode> {
    let spec = ScanSpec::from_wire(bounds, lower_length, flags, offset, limit)?;
    let scan = Scan::new(self.engine()?.clone(), self.cf(), spec)?;
    Ok(NativeIterator::new(scan))
  }

  /// Counts the keys of a range (wire format of `iterator.rs`; its values
  /// flag is ignored) without reading their values.
  #[napi]
  pub fn count(
    &self,
    bounds: &[u8],
    lower_length: u32,
    flags: u32,
    offset: u32,
    limit: f64,
  ) -> napi::Result<u32, ErrorCode> {
    let spec = ScanSpec::from_wire(bounds, lower_length, flags & !RANGE_VALUES, offset, limit)?;
    Ok(Scan::new(self.engine()?.clone(), self.cf(), spec)?.count()?)
  }

  /// This open of the database, for the verification table's slots.
  #[napi]
  pub fn verification_epoch(&self) -> napi::Result<u32, ErrorCode> {
    Ok(self.engine()?.epoch)
  }

  /// Starts a transaction on this column family (pessimistic when the
  /// database was opened so); with `disable_snapshot`, its reads see the
  /// latest commits instead of the snapshot of its beginning.
  #[napi]
  pub fn begin_transaction(
    &self,
    disable_snapshot: Option<bool>,
  ) -> napi::Result<NativeTransaction, ErrorCode> {
    Ok(NativeTransaction::begin(
      self.family()?,
      disable_snapshot != Some(true),
    )?)
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

/// A database open for writing in this process, as `registryStatus()` lists it.
#[napi(object)]
pub struct OpenDatabase {
  /// Its directory, canonical.
  pub path: String,
  /// `'optimistic'` or `'pessimistic'`: its transactions.
  pub mode: String,
  /// How many handles (of any column family, in any thread) have it open.
  pub ref_count: u32,
}

/// The databases open for writing in this process, in every thread.
#[napi]
pub fn open_databases() -> Vec<OpenDatabase> {
  engine::open_engines()
    .into_iter()
    .map(|(path, pessimistic, handles)| OpenDatabase {
      path: path.to_string_lossy().into_owned(),
      mode: if pessimistic {
        "pessimistic"
      } else {
        "optimistic"
      }
      .to_string(),
      ref_count: u32::try_from(handles).unwrap_or(u32::MAX),
    })
    .collect()
}

/// Whether an engine of this process still holds the database at `path`
/// open for writing with no handle open on it: work in flight, or RocksDB
/// closing it. When this turns false, either RocksDB has released the
/// directory (and its LOCK) or another handle has it open.
#[napi]
pub fn is_database_closing(path: String) -> bool {
  engine::is_closing(Path::new(&path))
}

/// Whether a handle in this process has the database at `path` open: for
/// writing in RocksDB, or as a handle that holds its directory (opening,
/// open, or dormant after `idleTimeout`).
#[napi]
pub fn is_database_open(path: String) -> bool {
  engine::is_open(Path::new(&path)) || crate::claim::directory_claims(path).handles > 0
}

/// Removes a closed database from disk. Refuses while a handle in this process
/// still has it open (`ERR_DATABASE_OPEN`); waits while RocksDB is still
/// releasing it after the last handle closed.
#[napi]
pub fn destroy_database(path: String) -> napi::Result<(), ErrorCode> {
  Ok(engine::destroy(Path::new(&path))?)
}
