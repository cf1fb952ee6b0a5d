//! Optimistic transactions: writes are buffered and checked for conflicts
//! at commit; reads see the transaction's own writes over a snapshot taken
//! when it began.

use std::cell::RefCell;
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, BufferSlice};
use napi::Env;
use napi_derive::napi;
use rust_rocksdb::{
  BoundColumnFamily, DBRawIteratorWithThreadMode, MultiThreaded, OptimisticTransactionDB,
  OptimisticTransactionOptions, ReadOptions, Transaction, DEFAULT_COLUMN_FAMILY_NAME,
};

use crate::database::{check_key, missing_family, Family};
use crate::error::{DbError, DbResult, ErrorCode};
use crate::iterator::{RangeOptions, RawIter, Scan, TransactionIter, MAX_BATCH_BYTES};
use crate::task::Blocking;

type Txn = Transaction<'static, OptimisticTransactionDB<MultiThreaded>>;

/// A transaction and the engine it borrows. Field order is drop order: the
/// transaction must go before the engine it points into.
struct Open {
  txn: Txn,
  family: Family,
}

// SAFETY: `Transaction` is `Send`; `Family` holds `Arc`s of `Send + Sync` data.
unsafe impl Send for Open {}

impl Open {
  /// The column family the transaction reads and writes.
  fn handle(&self) -> DbResult<Arc<BoundColumnFamily<'_>>> {
    let name = self.family.cf().unwrap_or(DEFAULT_COLUMN_FAMILY_NAME);
    let db = self.family.engine.writable()?;
    db.cf_handle(name).ok_or_else(|| missing_family(name))
  }

  fn commit(self) -> DbResult<()> {
    self.txn.commit().map_err(|err| {
      let err = DbError::from(err);
      // An optimistic commit that finds a key changed since the transaction
      // read it fails with Busy (or TryAgain when history ran out).
      match err.code {
        ErrorCode::RocksBusy | ErrorCode::RocksTryAgain => {
          DbError::new(ErrorCode::TransactionConflict, err.message)
        }
        _ => err,
      }
    })
  }
}

/// The native half of a `Transaction`.
#[napi]
pub struct NativeTransaction {
  open: RefCell<Option<Open>>,
}

impl NativeTransaction {
  pub(crate) fn begin(family: Family) -> DbResult<NativeTransaction> {
    let db = family.engine.writable()?;
    let mut txn_options = OptimisticTransactionOptions::new();
    // Reads and the conflict check both use the snapshot of the moment the
    // transaction began.
    txn_options.set_snapshot(true);
    let txn = db.transaction_opt(&family.options.write, &txn_options);
    // SAFETY: `Open` keeps the `Arc<Engine>` the transaction borrows and drops
    // the transaction first.
    let txn = unsafe { std::mem::transmute::<Transaction<'_, _>, Txn>(txn) };
    Ok(NativeTransaction {
      open: RefCell::new(Some(Open { txn, family })),
    })
  }

  fn with_open<T>(&self, f: impl FnOnce(&Open) -> DbResult<T>) -> DbResult<T> {
    match self.open.borrow().as_ref() {
      Some(open) => f(open),
      None => Err(DbError::new(
        ErrorCode::TransactionDone,
        "the transaction has already been committed or aborted",
      )),
    }
  }

  fn take(&self) -> DbResult<Open> {
    self.open.borrow_mut().take().ok_or_else(|| {
      DbError::new(
        ErrorCode::TransactionDone,
        "the transaction has already been committed or aborted",
      )
    })
  }
}

#[napi]
impl NativeTransaction {
  /// The bytes of `key` as this transaction sees them, or `undefined`.
  #[napi]
  pub fn get_sync<'env>(
    &self,
    env: &'env Env,
    key: &[u8],
  ) -> napi::Result<Option<BufferSlice<'env>>, ErrorCode> {
    check_key(key)?;
    let value = self.with_open(|open| {
      let mut read = ReadOptions::default();
      read.set_snapshot(&open.txn.snapshot());
      let value = open.txn.get_pinned_cf_opt(&open.handle()?, key, &read)?;
      Ok(value.map(|v| v.to_vec()))
    })?;
    match value {
      Some(bytes) => BufferSlice::copy_from(env, bytes)
        .map(Some)
        .map_err(|err| napi::Error::new(ErrorCode::Io, err.reason.clone())),
      None => Ok(None),
    }
  }

  /// Up to `max_entries` entries of a range as this transaction sees it (its
  /// own writes over its snapshot), packed as `NativeIterator.nextBatch`
  /// packs them; `undefined` when the range has none. Each call makes and
  /// drops its own RocksDB iterator, so none can outlive the transaction:
  /// JavaScript reads a long range by resuming after the last key it got.
  #[napi]
  pub fn range_batch<'env>(
    &self,
    env: &'env Env,
    range: RangeOptions,
    max_entries: u32,
  ) -> napi::Result<Option<BufferSlice<'env>>, ErrorCode> {
    let out = self.with_open(|open| {
      let handle = open.handle()?;
      let mut scan = Scan::over(open.family.engine.clone(), range.into(), |_, mut read| {
        read.set_snapshot(&open.txn.snapshot());
        let iter = open.txn.raw_iterator_cf_opt(&handle, read);
        // SAFETY: `scan` is dropped before this closure returns, while `open`
        // and the transaction the iterator borrows live.
        Ok(RawIter::Transaction(unsafe {
          std::mem::transmute::<DBRawIteratorWithThreadMode<'_, Txn>, TransactionIter>(iter)
        }))
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

  /// Buffers a write of `value` under `key`.
  #[napi]
  pub fn put_sync(&self, key: &[u8], value: &[u8]) -> napi::Result<(), ErrorCode> {
    check_key(key)?;
    Ok(self.with_open(|open| Ok(open.txn.put_cf(&open.handle()?, key, value)?))?)
  }

  /// Buffers a removal of `key`.
  #[napi]
  pub fn remove_sync(&self, key: &[u8]) -> napi::Result<(), ErrorCode> {
    check_key(key)?;
    Ok(self.with_open(|open| Ok(open.txn.delete_cf(&open.handle()?, key)?))?)
  }

  /// Commits on the calling thread. A conflict fails with
  /// `ERR_TRANSACTION_CONFLICT`.
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

  /// Discards every buffered write. Idempotent.
  #[napi]
  pub fn abort(&self) {
    if let Some(open) = self.open.borrow_mut().take() {
      let _ = open.txn.rollback();
    }
  }

  /// Whether the transaction can still be used.
  #[napi(getter)]
  pub fn is_open(&self) -> bool {
    self.open.borrow().is_some()
  }
}
