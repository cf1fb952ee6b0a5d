//! Range iteration, read across the native boundary in batches.
//!
//! A call into native code costs more than reading one entry from RocksDB, so
//! the iterator packs many entries into one Buffer per call and JavaScript
//! unpacks them. A RocksDB iterator reads from the implicit snapshot taken
//! when it is created, so a whole iteration is consistent.

use std::mem::ManuallyDrop;
use std::sync::Arc;

use napi::bindgen_prelude::BufferSlice;
use napi::Env;
use napi_derive::napi;
use rust_rocksdb::{
  DBRawIteratorWithThreadMode, DBWithThreadMode, MultiThreaded, OptimisticTransactionDB,
  ReadOptions, Transaction, TransactionDB,
};

use crate::engine::{missing_family, Db, Engine};
use crate::error::{DbError, DbResult, ErrorCode};

// The wire format of a range, the same for every call that takes one
// (`rangeShared`, `NativeDatabase.iterate` and `count`,
// `NativeTransaction.rangeBatch`): the encoded bounds packed in one byte
// string, the lower bound's `lower_length` bytes first and the upper bound
// after them, and these bits in `flags`. Exported, so that `lib/range.js`
// reads them instead of copying them.

/// Range flag: the bounds hold a lower bound.
#[napi]
pub const RANGE_HAS_LOWER: u32 = 1;
/// Range flag: the lower bound belongs to the range.
#[napi]
pub const RANGE_LOWER_INCLUSIVE: u32 = 2;
/// Range flag: the bounds hold an upper bound.
#[napi]
pub const RANGE_HAS_UPPER: u32 = 4;
/// Range flag: the upper bound belongs to the range.
#[napi]
pub const RANGE_UPPER_INCLUSIVE: u32 = 8;
/// Range flag: from the largest key down.
#[napi]
pub const RANGE_REVERSE: u32 = 16;
/// Range flag: read values, not only keys.
#[napi]
pub const RANGE_VALUES: u32 = 32;

type ReadWriteIter = DBRawIteratorWithThreadMode<'static, OptimisticTransactionDB<MultiThreaded>>;
type ReadOnlyIter = DBRawIteratorWithThreadMode<'static, DBWithThreadMode<MultiThreaded>>;
type PessimisticIter = DBRawIteratorWithThreadMode<'static, TransactionDB<MultiThreaded>>;
pub(crate) type OptimisticTxnIter = DBRawIteratorWithThreadMode<
  'static,
  Transaction<'static, OptimisticTransactionDB<MultiThreaded>>,
>;
pub(crate) type PessimisticTxnIter =
  DBRawIteratorWithThreadMode<'static, Transaction<'static, TransactionDB<MultiThreaded>>>;

pub(crate) enum RawIter {
  ReadWrite(ReadWriteIter),
  Pessimistic(PessimisticIter),
  ReadOnly(ReadOnlyIter),
  /// Over a transaction: its own writes merged over its snapshot. Never
  /// outlives the call that made it (see `Scan::over`).
  OptimisticTxn(OptimisticTxnIter),
  PessimisticTxn(PessimisticTxnIter),
}

macro_rules! with_iter {
  ($iter:expr, $it:ident => $body:expr) => {
    match $iter {
      RawIter::ReadWrite($it) => $body,
      RawIter::Pessimistic($it) => $body,
      RawIter::ReadOnly($it) => $body,
      RawIter::OptimisticTxn($it) => $body,
      RawIter::PessimisticTxn($it) => $body,
    }
  };
}

/// The state of one range scan.
pub(crate) struct Scan {
  /// Borrows the database that `_engine` keeps alive, under a `'static`
  /// lifetime: `Drop` drops it first, whatever the order of the fields.
  iter: ManuallyDrop<RawIter>,
  _engine: Arc<Engine>,
  lower: Option<Vec<u8>>,
  lower_inclusive: bool,
  reverse: bool,
  skip: u32,
  remaining: Option<u32>,
  values: bool,
  started: bool,
  /// The iterator stands on an entry of the range that was counted but not
  /// yet handed out (it did not fit in the last batch).
  pending: bool,
  /// Set once the range has no more entries.
  pub exhausted: bool,
}

// SAFETY: a RocksDB iterator may be used from any thread as long as it is used
// by one at a time, which `&mut self` guarantees. (rust-rocksdb does not mark
// its raw iterators `Send`.)
unsafe impl Send for Scan {}

impl Drop for Scan {
  fn drop(&mut self) {
    // SAFETY: dropped once, here, while `_engine` still keeps the database
    // the iterator reads alive; `iter` is never used after.
    unsafe { ManuallyDrop::drop(&mut self.iter) }
  }
}

/// One range in plain Rust terms, whichever way JavaScript described it.
#[derive(Default)]
pub(crate) struct ScanSpec {
  pub lower: Option<Vec<u8>>,
  pub lower_inclusive: bool,
  pub upper: Option<Vec<u8>>,
  pub upper_inclusive: bool,
  pub reverse: bool,
  pub offset: u32,
  pub limit: Option<u32>,
  pub values: bool,
}

impl ScanSpec {
  /// The range in the wire format described above; a negative or NaN
  /// `limit` means none.
  pub(crate) fn from_wire(
    bounds: &[u8],
    lower_length: u32,
    flags: u32,
    offset: u32,
    limit: f64,
  ) -> DbResult<ScanSpec> {
    let lower_length = lower_length as usize;
    if lower_length > bounds.len() {
      return Err(DbError::new(
        ErrorCode::InvalidArgument,
        format!(
          "a lower bound of {lower_length} bytes in bounds of {} bytes",
          bounds.len()
        ),
      ));
    }
    let (lower, upper) = bounds.split_at(lower_length);
    Ok(ScanSpec {
      lower: (flags & RANGE_HAS_LOWER != 0).then(|| lower.to_vec()),
      lower_inclusive: flags & RANGE_LOWER_INCLUSIVE != 0,
      upper: (flags & RANGE_HAS_UPPER != 0).then(|| upper.to_vec()),
      upper_inclusive: flags & RANGE_UPPER_INCLUSIVE != 0,
      reverse: flags & RANGE_REVERSE != 0,
      offset,
      // `as` saturates above u32::MAX.
      limit: (limit >= 0.0).then_some(limit as u32),
      values: flags & RANGE_VALUES != 0,
    })
  }
}

impl Scan {
  /// A scan of the database; it keeps `engine` alive as long as it lives.
  pub(crate) fn new(engine: Arc<Engine>, cf: Option<&str>, spec: ScanSpec) -> DbResult<Scan> {
    Scan::over(engine, spec, |engine, opts| raw_iterator(engine, cf, opts))
  }

  /// A scan over the iterator `make` returns for the read options of `spec`.
  /// An iterator that borrows something other than the engine (a
  /// transaction) must be dropped while that lives: such scans stay local to
  /// one call.
  pub(crate) fn over(
    engine: Arc<Engine>,
    spec: ScanSpec,
    make: impl FnOnce(&Engine, ReadOptions) -> DbResult<RawIter>,
  ) -> DbResult<Scan> {
    let mut upper = spec.upper;
    if spec.upper_inclusive {
      // RocksDB's upper bound is exclusive; the next key after `upper` in byte
      // order is `upper` followed by a zero byte.
      if let Some(upper) = upper.as_mut() {
        upper.push(0);
      }
    }
    let mut opts = ReadOptions::default();
    if let Some(lower) = &spec.lower {
      opts.set_iterate_lower_bound(lower.clone());
    }
    if let Some(upper) = upper {
      opts.set_iterate_upper_bound(upper);
    }
    let iter = make(&engine, opts)?;
    Ok(Scan {
      iter: ManuallyDrop::new(iter),
      _engine: engine,
      lower_inclusive: spec.lower_inclusive,
      lower: spec.lower,
      reverse: spec.reverse,
      skip: spec.offset,
      remaining: spec.limit,
      values: spec.values,
      started: false,
      pending: false,
      exhausted: false,
    })
  }

  fn advance(&mut self) {
    if !self.started {
      self.started = true;
      let reverse = self.reverse;
      with_iter!(&mut *self.iter, it => if reverse { it.seek_to_last() } else { it.seek_to_first() });
    } else {
      let reverse = self.reverse;
      with_iter!(&mut *self.iter, it => if reverse { it.prev() } else { it.next() });
    }
  }

  /// Moves to the next entry of the range, applying the exclusive lower
  /// bound, `offset` and `limit`; `false` once the range is done.
  fn step(&mut self) -> DbResult<bool> {
    if self.pending {
      self.pending = false;
      return Ok(true);
    }
    loop {
      if self.exhausted || self.remaining == Some(0) {
        self.exhausted = true;
        return Ok(false);
      }
      self.advance();
      let in_range = match with_iter!(&*self.iter, it => it.key()) {
        None => {
          self.exhausted = true;
          with_iter!(&*self.iter, it => it.status())?;
          return Ok(false);
        }
        Some(key) => self.lower_inclusive || self.lower.as_deref() != Some(key),
      };
      if !in_range {
        continue;
      }
      if self.skip > 0 {
        self.skip -= 1;
        continue;
      }
      if let Some(remaining) = self.remaining.as_mut() {
        *remaining -= 1;
      }
      return Ok(true);
    }
  }

  /// Appends up to `max_entries` entries to `out` as `[u32 key length][key]
  /// [u32 value length][value]`, little-endian, the value parts only when
  /// values were asked for, stopping before an entry that would take `out`
  /// past `max_bytes` (unless it is the first). Returns how many were
  /// appended. Looks one entry ahead, so `exhausted` is set as soon as the
  /// range has nothing more, and a caller need not ask again to learn that.
  pub(crate) fn fill(
    &mut self,
    out: &mut Vec<u8>,
    max_entries: u32,
    max_bytes: usize,
  ) -> DbResult<u32> {
    let mut count = 0;
    while count < max_entries && self.step()? {
      let Some((key, value)) = with_iter!(&*self.iter, it => it.item()) else {
        break;
      };
      let size = 4 + key.len() + if self.values { 4 + value.len() } else { 0 };
      if count > 0 && out.len() + size > max_bytes {
        self.pending = true;
        return Ok(count);
      }
      out.extend_from_slice(&(key.len() as u32).to_le_bytes());
      out.extend_from_slice(key);
      if self.values {
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(value);
      }
      count += 1;
    }
    if !self.exhausted && self.step()? {
      self.pending = true;
    }
    Ok(count)
  }

  /// Counts the remaining entries of the range without copying them.
  pub(crate) fn count(&mut self) -> DbResult<u32> {
    let mut count = 0;
    while self.step()? {
      count += 1;
    }
    Ok(count)
  }
}

/// A raw iterator of `engine` over column family `cf` (the default one when
/// `None`), for a `Scan` to own.
fn raw_iterator(engine: &Engine, cf: Option<&str>, opts: ReadOptions) -> DbResult<RawIter> {
  /// The iterator of `$db` over `cf`, with its lifetime extended to
  /// `'static` and wrapped as `$variant`.
  macro_rules! iterator {
    ($db:expr, $variant:ident, $kind:ty, $iter:ty) => {{
      let it = match cf {
        Some(name) => {
          let handle = $db.cf_handle(name).ok_or_else(|| missing_family(name))?;
          $db.raw_iterator_cf_opt(&handle, opts)
        }
        None => $db.raw_iterator_opt(opts),
      };
      // SAFETY: the `'static` iterators live in a `Scan`, which also holds
      // the `Arc<Engine>` they borrow from and drops them first (its `Drop`).
      RawIter::$variant(unsafe {
        std::mem::transmute::<DBRawIteratorWithThreadMode<'_, $kind>, $iter>(it)
      })
    }};
  }
  Ok(match &engine.db {
    Db::ReadWrite(db) => iterator!(
      db,
      ReadWrite,
      OptimisticTransactionDB<MultiThreaded>,
      ReadWriteIter
    ),
    Db::Pessimistic(db) => {
      iterator!(
        db,
        Pessimistic,
        TransactionDB<MultiThreaded>,
        PessimisticIter
      )
    }
    Db::ReadOnly(db) => {
      iterator!(db, ReadOnly, DBWithThreadMode<MultiThreaded>, ReadOnlyIter)
    }
  })
}

/// A range scan over a database, read in batches.
#[napi]
pub struct NativeIterator {
  scan: Option<Scan>,
  /// A batch read before this object existed, handed out first.
  first: Option<Vec<u8>>,
  batch: u32,
}

/// Entries of the first batch; each next batch doubles up to `RANGE_MAX_BATCH`, so
/// a loop that stops early reads little and a full scan makes few calls.
pub(crate) const FIRST_BATCH: u32 = 16;
/// The most entries of one batch of a range, in a native iterator or in a
/// transaction's reads.
#[napi]
pub const RANGE_MAX_BATCH: u32 = 4096;
pub(crate) const MAX_BATCH_BYTES: usize = 1 << 20;

impl NativeIterator {
  pub(crate) fn new(scan: Scan) -> Self {
    NativeIterator {
      scan: Some(scan),
      first: None,
      batch: FIRST_BATCH,
    }
  }

  /// An iterator whose first batch was already read: `first` (when it could
  /// not be handed out another way), then the rest of `scan`.
  pub(crate) fn resume(scan: Scan, first: Option<Vec<u8>>, batch: u32) -> Self {
    NativeIterator {
      scan: (!scan.exhausted).then_some(scan),
      first,
      batch: (batch.saturating_mul(2)).clamp(FIRST_BATCH, RANGE_MAX_BATCH),
    }
  }
}

#[napi]
impl NativeIterator {
  /// The next batch of packed entries, or `undefined` when the range is done
  /// (the iterator is then closed).
  #[napi]
  pub fn next_batch<'env>(
    &mut self,
    env: &'env Env,
  ) -> napi::Result<Option<BufferSlice<'env>>, ErrorCode> {
    let out = match self.first.take() {
      Some(first) => first,
      None => {
        let Some(scan) = self.scan.as_mut() else {
          return Ok(None);
        };
        let mut out = Vec::with_capacity(4096);
        let count = scan.fill(&mut out, self.batch, MAX_BATCH_BYTES)?;
        self.batch = (self.batch * 2).min(RANGE_MAX_BATCH);
        if scan.exhausted {
          self.scan = None;
        }
        if count == 0 {
          return Ok(None);
        }
        out
      }
    };
    // Copied into memory V8 owns: an external buffer over `out` is freed only
    // by a finalizer that Node defers to a later turn of the event loop, so a
    // synchronous loop over many short ranges would pile them up.
    BufferSlice::copy_from(env, &out)
      .map(Some)
      .map_err(|err| napi::Error::new(ErrorCode::Io, err.reason.clone()))
  }

  /// Releases the RocksDB iterator. Idempotent.
  #[napi]
  pub fn close(&mut self) {
    self.scan = None;
    self.first = None;
  }
}
