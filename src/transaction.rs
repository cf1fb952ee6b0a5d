//! Transactions. Optimistic ones (the default) buffer writes, track the keys
//! they read, and fail at commit when another write changed one of those
//! keys since the snapshot; pessimistic ones lock each key as they write it
//! and fail at that write when another transaction holds it or changed it
//! since the snapshot. Either way, reads see the transaction's own writes over
//! a snapshot taken when the native transaction began. (JavaScript begins it
//! at the first read: writes before any read need no snapshot and go to
//! RocksDB as one batch when nothing was read at all.)

use std::cell::RefCell;
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, BufferSlice};
use napi::Env;
use napi_derive::napi;
use rust_rocksdb::{
  BoundColumnFamily, DBRawIteratorWithThreadMode, MultiThreaded, OptimisticTransactionDB,
  OptimisticTransactionOptions, ReadOptions, Transaction, TransactionDB, TransactionOptions,
};

use crate::batch;
use crate::batch::check_key;
use crate::engine::{Db, Family};
use crate::error::{DbError, DbResult, ErrorCode};
use crate::iterator::{
  OptimisticTxnIter, PessimisticTxnIter, RawIter, Scan, ScanSpec, MAX_BATCH_BYTES,
};
use crate::task::Blocking;
use crate::transaction_log::{commit_logged, LogAppend, LoggedCommit, OwnedAppends};

type OptimisticTxn = Transaction<'static, OptimisticTransactionDB<MultiThreaded>>;
type PessimisticTxn = Transaction<'static, TransactionDB<MultiThreaded>>;

/// A RocksDB transaction of either kind, its lifetime extended to `'static`.
enum Txn {
  Optimistic(OptimisticTxn),
  Pessimistic(PessimisticTxn),
}

/// Runs `$body` with `$txn` bound to the transaction, whichever its kind;
/// both have the same methods.
macro_rules! with_txn {
  ($open:expr, $txn:ident => $body:expr) => {
    match $open.txn()? {
      Txn::Optimistic($txn) => $body,
      Txn::Pessimistic($txn) => $body,
    }
  };
}

/// A transaction and the engine it borrows under a `'static` lifetime. The
/// transaction is `None` only once it has been consumed; `Drop` drops it
/// before the engine, whatever the order of the fields.
struct Open {
  txn: Option<Txn>,
  family: Family,
  /// Whether reads see the snapshot of the transaction's beginning; without
  /// one (rocksdb-js's `disableSnapshot`) each read sees the latest commits.
  snapshot: bool,
}

impl Drop for Open {
  fn drop(&mut self) {
    // Before `family` and the engine the transaction points into.
    drop(self.txn.take());
  }
}

/// The error of a transaction used after its commit or abort.
fn done() -> DbError {
  DbError::new(
    ErrorCode::TransactionDone,
    "the transaction has already been committed or aborted",
  )
}

/// A write or commit that lost to another transaction: a key changed since
/// the snapshot (Busy), or, pessimistic, locked by another transaction past
/// the lock timeout (TimedOut) or in a deadlock (Busy). TryAgain (the
/// history the check needs was flushed) keeps its own code, as rocksdb-js
/// reports it; both are worth running the transaction again.
fn conflict_or(err: rust_rocksdb::Error) -> DbError {
  let err = DbError::from(err);
  match err.code {
    ErrorCode::RocksBusy | ErrorCode::RocksTimedOut => {
      DbError::new(ErrorCode::TransactionConflict, err.message)
    }
    _ => err,
  }
}

impl Open {
  /// The column family the transaction reads and writes.
  fn handle(&self) -> DbResult<Arc<BoundColumnFamily<'_>>> {
    self.family.engine.family_handle(self.family.cf())
  }

  /// The column family `family` of the transaction's database (`"default"`
  /// for the default one), or, for `None`, the transaction's own: a
  /// transaction commits the writes it made in every family at once.
  fn handle_of(&self, family: Option<&str>) -> DbResult<Arc<BoundColumnFamily<'_>>> {
    match family {
      None => self.handle(),
      Some(name) => self.family.engine.family_handle(Some(name)),
    }
  }

  /// The transaction, while it has not been consumed (only `commit` and
  /// `drop` take it, and both consume the `Open`, so this never fails).
  fn txn(&self) -> DbResult<&Txn> {
    self.txn.as_ref().ok_or_else(done)
  }

  fn commit(mut self) -> DbResult<()> {
    // `self` (and so the engine) lives until the end of this function.
    let txn = self.txn.take();
    self.family.engine.writing(move || match txn {
      Some(Txn::Optimistic(txn)) => txn.commit().map_err(conflict_or),
      Some(Txn::Pessimistic(txn)) => txn.commit().map_err(conflict_or),
      None => Ok(()),
    })
  }

  fn rollback(&self) {
    let _ = match &self.txn {
      Some(Txn::Optimistic(txn)) => txn.rollback(),
      Some(Txn::Pessimistic(txn)) => txn.rollback(),
      None => Ok(()),
    };
  }
}

/// The native half of a `Transaction`.
#[napi]
pub struct NativeTransaction {
  open: RefCell<Option<Open>>,
}

impl NativeTransaction {
  pub(crate) fn begin(family: Family, snapshot: bool) -> DbResult<NativeTransaction> {
    // Reads and the conflict checks use the snapshot of the moment the
    // transaction began, unless it has none: then each read sees the latest
    // commits, and a conflict is a change after the read (RocksDB tracks the
    // sequence each key was read at).
    // SAFETY (both transmutes): `Open` keeps the `Arc<Engine>` the transaction
    // borrows and drops the transaction first.
    let txn = match &family.engine.db {
      Db::ReadWrite(db) => {
        let mut txn_options = OptimisticTransactionOptions::new();
        txn_options.set_snapshot(snapshot);
        let txn = db.transaction_opt(&family.options.write, &txn_options);
        Txn::Optimistic(unsafe { std::mem::transmute::<Transaction<'_, _>, OptimisticTxn>(txn) })
      }
      Db::Pessimistic(db) => {
        let mut txn_options = TransactionOptions::new();
        txn_options.set_snapshot(snapshot);
        txn_options.set_deadlock_detect(true);
        let txn = db.transaction_opt(&family.options.write, &txn_options);
        Txn::Pessimistic(unsafe { std::mem::transmute::<Transaction<'_, _>, PessimisticTxn>(txn) })
      }
      Db::ReadOnly(_) => return Err(DbError::read_only()),
    };
    Ok(NativeTransaction {
      open: RefCell::new(Some(Open {
        txn: Some(txn),
        family,
        snapshot,
      })),
    })
  }

  fn with_open<T>(&self, f: impl FnOnce(&Open) -> DbResult<T>) -> DbResult<T> {
    match self.open.borrow().as_ref() {
      Some(open) => f(open),
      None => Err(done()),
    }
  }

  fn take(&self) -> DbResult<Open> {
    self.open.borrow_mut().take().ok_or_else(done)
  }
}

#[napi]
impl NativeTransaction {
  /// The bytes of `key` as this transaction sees them, or `undefined`; in
  /// the column family `family` of its database, or its own.
  #[napi]
  pub fn get_sync<'env>(
    &self,
    env: &'env Env,
    key: &[u8],
    family: Option<String>,
  ) -> napi::Result<Option<BufferSlice<'env>>, ErrorCode> {
    check_key(key)?;
    let value = self.with_open(|open| {
      let handle = open.handle_of(family.as_deref())?;
      with_txn!(open, txn => {
        let mut read = ReadOptions::default();
        if open.snapshot {
          read.set_snapshot(&txn.snapshot());
        }
        let value = match open.txn()? {
          // Tracked, so a change by another writer before the commit is a
          // conflict: what the transaction read still holds when it commits.
          Txn::Optimistic(_) => txn.get_pinned_for_update_cf_opt(&handle, key, true, &read)?,
          // A read for update here would lock the key; pessimistic
          // transactions lock only what they write.
          Txn::Pessimistic(_) => txn.get_pinned_cf_opt(&handle, key, &read)?,
        };
        Ok(value.map(|v| v.to_vec()))
      })
    })?;
    match value {
      Some(bytes) => BufferSlice::copy_from(env, bytes)
        .map(Some)
        .map_err(|err| napi::Error::new(ErrorCode::Io, err.reason.clone())),
      None => Ok(None),
    }
  }

  /// Up to `max_entries` entries of a range as this transaction sees it (its
  /// own writes over its snapshot), in the column family `family` of its
  /// database or its own, packed as `NativeIterator.nextBatch` packs them;
  /// `undefined` when the range has none. The range is in the wire format of
  /// `iterator.rs`. Each call makes and drops its own RocksDB iterator, so
  /// none can outlive the transaction: JavaScript reads a long range by
  /// resuming after the last key it got.
  #[napi]
  #[allow(clippy::too_many_arguments)]
  pub fn range_batch<'env>(
    &self,
    env: &'env Env,
    bounds: &[u8],
    lower_length: u32,
    flags: u32,
    offset: u32,
    max_entries: u32,
    family: Option<String>,
  ) -> napi::Result<Option<BufferSlice<'env>>, ErrorCode> {
    let spec = ScanSpec::from_wire(bounds, lower_length, flags, offset, -1.0)?;
    let out =
      self.with_open(|open| {
        let handle = open.handle_of(family.as_deref())?;
        let mut scan = Scan::over(open.family.engine.clone(), spec, |_, mut read| {
          // SAFETY (both transmutes): `scan` is dropped before this closure
          // returns, while `open` and the transaction the iterator borrows live.
          Ok(match open.txn()? {
            Txn::Optimistic(txn) => {
              if open.snapshot {
                read.set_snapshot(&txn.snapshot());
              }
              let iter = txn.raw_iterator_cf_opt(&handle, read);
              RawIter::OptimisticTxn(unsafe {
                std::mem::transmute::<
                  DBRawIteratorWithThreadMode<'_, OptimisticTxn>,
                  OptimisticTxnIter,
                >(iter)
              })
            }
            Txn::Pessimistic(txn) => {
              if open.snapshot {
                read.set_snapshot(&txn.snapshot());
              }
              let iter = txn.raw_iterator_cf_opt(&handle, read);
              RawIter::PessimisticTxn(unsafe {
                std::mem::transmute::<
                  DBRawIteratorWithThreadMode<'_, PessimisticTxn>,
                  PessimisticTxnIter,
                >(iter)
              })
            }
          })
        })?;
        let mut out = Vec::new();
        scan.fill(&mut out, max_entries.max(1), MAX_BATCH_BYTES)?;
        Ok(out)
      })?;
    if out.is_empty() {
      return Ok(None);
    }
    BufferSlice::copy_from(env, &out)
      .map(Some)
      .map_err(|err| napi::Error::new(ErrorCode::Io, err.reason.clone()))
  }

  /// Buffers a write of `value` under `key`, in the column family `family`
  /// of its database, or its own.
  #[napi]
  pub fn put_sync(
    &self,
    key: &[u8],
    value: &[u8],
    family: Option<String>,
  ) -> napi::Result<(), ErrorCode> {
    check_key(key)?;
    Ok(self.with_open(|open| {
      let handle = open.handle_of(family.as_deref())?;
      with_txn!(open, txn => txn.put_cf(&handle, key, value).map_err(conflict_or))
    })?)
  }

  /// Buffers the writes of a packed batch (see `batch.rs`), in order: the
  /// writes JavaScript made before the transaction's first read. The batch is
  /// checked whole first, so a bad one adds nothing.
  #[napi]
  pub fn apply(&self, ops: &[u8]) -> napi::Result<(), ErrorCode> {
    batch::check(ops)?;
    Ok(self.with_open(|open| {
      let handle = open.handle()?;
      for op in batch::writes(ops) {
        with_txn!(open, txn => match op? {
          batch::Write::Put { key, value } => txn.put_cf(&handle, key, value),
          batch::Write::Remove { key } => txn.delete_cf(&handle, key),
        }
        .map_err(conflict_or))?;
      }
      Ok(())
    })?)
  }

  /// Buffers a removal of `key`, in the column family `family` of its
  /// database, or its own.
  #[napi]
  pub fn remove_sync(&self, key: &[u8], family: Option<String>) -> napi::Result<(), ErrorCode> {
    check_key(key)?;
    Ok(self.with_open(|open| {
      let handle = open.handle_of(family.as_deref())?;
      with_txn!(open, txn => txn.delete_cf(&handle, key).map_err(conflict_or))
    })?)
  }

  /// Commits on the calling thread. A conflict fails with
  /// `ERR_BUSY`.
  #[napi]
  pub fn commit_sync(&self) -> napi::Result<(), ErrorCode> {
    Ok(self.take()?.commit()?)
  }

  /// Commits on a worker thread.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn commit(&self) -> napi::Result<AsyncTask<Blocking<()>>, ErrorCode> {
    let open = self.take()?;
    Ok(AsyncTask::new(Blocking::new(move || open.commit())))
  }

  /// Appends one transaction's log entries and commits, both on one
  /// worker thread (see `transaction_log::commit_logged`).
  #[napi(ts_return_type = "Promise<LoggedCommit>")]
  pub fn commit_logged(
    &self,
    db_path: String,
    timestamp: f64,
    logs: Vec<LogAppend>,
  ) -> napi::Result<AsyncTask<Blocking<LoggedCommit>>, ErrorCode> {
    let open = self.take()?;
    let appends = OwnedAppends::new(db_path, timestamp, logs);
    Ok(AsyncTask::new(Blocking::new(move || {
      let engine = open.family.engine.clone();
      commit_logged(&appends, move || {
        open.commit()?;
        Ok(engine.latest_sequence_number())
      })
    })))
  }

  /// Discards every buffered write. Idempotent.
  #[napi]
  pub fn abort(&self) {
    if let Some(open) = self.open.borrow_mut().take() {
      open.rollback();
    }
  }

  /// Whether the transaction can still be used.
  #[napi(getter)]
  pub fn is_open(&self) -> bool {
    self.open.borrow().is_some()
  }
}
