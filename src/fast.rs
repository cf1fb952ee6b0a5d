//! The fast path of synchronous reads and writes.
//!
//! A call into a native class method costs several hundred nanoseconds in
//! napi (unwrapping the instance, tracking its borrow), and a Buffer made by
//! napi costs about a microsecond more (a backing store of its own, swept by
//! V8). That is more than RocksDB spends on a cached read. So `getSync`,
//! `putSync` and `removeSync` go through free functions instead, with the key
//! written by JavaScript into a buffer shared with this module and the value
//! copied by RocksDB straight into a second shared buffer, which JavaScript
//! decodes in place.
//!
//! Ranges start the same way: the bounds come in the key buffer and the first
//! batch goes out in the value buffer, so a short range costs one call and
//! no native object; only a range with more to read gets a `NativeIterator`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use napi::bindgen_prelude::{Buffer, External};
use napi_derive::napi;

use crate::database::{Engine, EngineOptions};
use crate::error::{DbError, ErrorCode};
use crate::iterator::{NativeIterator, Scan, ScanSpec};

/// The buffers and engine of one handle's fast path.
pub struct SharedBuffers {
  engine: Rc<RefCell<Option<Arc<Engine>>>>,
  options: Arc<EngineOptions>,
  family: Option<String>,
  key_ptr: *const u8,
  key_len: usize,
  value_ptr: *mut u8,
  value_len: usize,
  // Held so that JavaScript cannot collect the memory the pointers above
  // point into while this struct lives.
  _key: Buffer,
  _value: Buffer,
  /// A range whose first batch was handed out and which has more to read,
  /// waiting for `takeRange` to wrap it in a `NativeIterator`.
  parked: RefCell<Option<NativeIterator>>,
  /// Reused for each first batch, so a short range allocates nothing here.
  scratch: RefCell<Vec<u8>>,
}

impl SharedBuffers {
  pub(crate) fn new(
    engine: Rc<RefCell<Option<Arc<Engine>>>>,
    options: Arc<EngineOptions>,
    family: Option<String>,
    key: Buffer,
    value: Buffer,
  ) -> Self {
    SharedBuffers {
      engine,
      options,
      family,
      key_ptr: key.as_ptr(),
      key_len: key.len(),
      value_ptr: value.as_ptr() as *mut u8,
      value_len: value.len(),
      _key: key,
      _value: value,
      parked: RefCell::new(None),
      scratch: RefCell::new(Vec::new()),
    }
  }

  fn key(&self, length: u32) -> Result<&[u8], DbError> {
    let length = length as usize;
    if length == 0 || length > self.key_len {
      return Err(DbError::new(
        ErrorCode::InvalidArgument,
        "key must not be empty",
      ));
    }
    // SAFETY: the buffer is kept alive by `_key`; calls are synchronous on the
    // JS thread, so nothing else touches it meanwhile.
    Ok(unsafe { std::slice::from_raw_parts(self.key_ptr, length) })
  }

  /// `length` bytes of the key buffer from `start`, which may be empty.
  fn key_bytes(&self, start: usize, length: usize) -> Result<&[u8], DbError> {
    if start.saturating_add(length) > self.key_len {
      return Err(DbError::new(
        ErrorCode::InvalidArgument,
        "range bounds do not fit in the key buffer",
      ));
    }
    // SAFETY: as in `key`; the bounds were checked above.
    Ok(unsafe { std::slice::from_raw_parts(self.key_ptr.add(start), length) })
  }

  fn with_engine<T>(&self, f: impl FnOnce(&Engine) -> Result<T, DbError>) -> Result<T, DbError> {
    match self.engine.borrow().as_ref() {
      Some(engine) => f(engine),
      None => Err(DbError::closed()),
    }
  }
}

/// Reads the value of the key in the shared key buffer (`key_length` bytes)
/// into the shared value buffer. Returns -1 when the key is missing, else the
/// value's length; a length above the buffer's size means the value was not
/// copied and must be read another way.
#[napi]
pub fn get_shared(
  shared: &External<SharedBuffers>,
  key_length: u32,
) -> napi::Result<f64, ErrorCode> {
  Ok(read_shared(shared, key_length, &shared.options.read)?)
}

/// `getShared` for the Promise form of `get`: reads only what RocksDB holds
/// in memory, and returns -2 when answering would need the disk (the caller
/// then reads on libuv's pool). Most reads of a warm database are answered
/// here, without the pool's round trip, and none blocks the event loop on I/O.
#[napi]
pub fn get_in_memory_shared(
  shared: &External<SharedBuffers>,
  key_length: u32,
) -> napi::Result<f64, ErrorCode> {
  match read_shared(shared, key_length, &shared.options.read_in_memory) {
    Err(err) if err.code == ErrorCode::RocksIncomplete => Ok(-2.0),
    other => Ok(other?),
  }
}

fn read_shared(
  shared: &SharedBuffers,
  key_length: u32,
  read: &rust_rocksdb::ReadOptions,
) -> Result<f64, DbError> {
  let key = shared.key(key_length)?;
  shared.with_engine(|engine| {
    match engine.get(shared.family.as_deref(), key, read)? {
      None => Ok(-1.0),
      Some(value) => {
        if value.len() <= shared.value_len {
          // SAFETY: as for the key; the length was checked above.
          unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), shared.value_ptr, value.len()) };
        }
        Ok(value.len() as f64)
      }
    }
  })
}

/// Stores `value` under the key in the shared key buffer.
#[napi]
pub fn put_shared(
  shared: &External<SharedBuffers>,
  key_length: u32,
  value: &[u8],
) -> napi::Result<(), ErrorCode> {
  let key = shared.key(key_length)?;
  Ok(shared.with_engine(|engine| {
    engine.put(shared.family.as_deref(), key, value, &shared.options.write)
  })?)
}

/// Removes the key in the shared key buffer.
#[napi]
pub fn remove_shared(
  shared: &External<SharedBuffers>,
  key_length: u32,
) -> napi::Result<(), ErrorCode> {
  let key = shared.key(key_length)?;
  Ok(
    shared
      .with_engine(|engine| engine.remove(shared.family.as_deref(), key, &shared.options.write))?,
  )
}

/// Bits of the `flags` argument of `rangeShared`.
const HAS_LOWER: u32 = 1;
const LOWER_INCLUSIVE: u32 = 2;
const HAS_UPPER: u32 = 4;
const UPPER_INCLUSIVE: u32 = 8;
const REVERSE: u32 = 16;
const VALUES: u32 = 32;

/// Starts a range and reads its first batch (at most `max_entries`) into the
/// shared value buffer, packed as `NativeIterator.nextBatch` packs them. The
/// bounds are in the shared key buffer: `lower_length` bytes of the lower
/// bound, then `upper_length` bytes of the upper one; `flags` says which are
/// present, inclusive, the direction and whether to read values; a negative
/// `limit` means none.
///
/// Returns the bytes written when the range is done. When it has more, the
/// range is parked for `takeRange` and the result is `-(bytes) - 1`; a first
/// entry too large for the buffer also parks it, with nothing written.
#[napi]
pub fn range_shared(
  shared: &External<SharedBuffers>,
  lower_length: u32,
  upper_length: u32,
  flags: u32,
  offset: u32,
  limit: f64,
  max_entries: u32,
) -> napi::Result<f64, ErrorCode> {
  let lower = shared.key_bytes(0, lower_length as usize)?;
  let upper = shared.key_bytes(lower_length as usize, upper_length as usize)?;
  let spec = ScanSpec {
    lower: (flags & HAS_LOWER != 0).then(|| lower.to_vec()),
    lower_inclusive: flags & LOWER_INCLUSIVE != 0,
    upper: (flags & HAS_UPPER != 0).then(|| upper.to_vec()),
    upper_inclusive: flags & UPPER_INCLUSIVE != 0,
    reverse: flags & REVERSE != 0,
    offset,
    // NaN and negative mean no limit; `as` saturates above u32::MAX.
    limit: (limit >= 0.0).then_some(limit as u32),
    values: flags & VALUES != 0,
  };
  let engine = shared
    .engine
    .borrow()
    .as_ref()
    .cloned()
    .ok_or_else(DbError::closed)?;
  let mut scan = Scan::new(engine, shared.family.as_deref(), spec)?;
  let mut out = std::mem::take(&mut *shared.scratch.borrow_mut());
  out.clear();
  let max_entries = max_entries.max(1);
  scan.fill(&mut out, max_entries, shared.value_len)?;
  if out.len() > shared.value_len {
    // A single entry larger than the buffer: it goes out as a Buffer of its own.
    *shared.parked.borrow_mut() = Some(NativeIterator::resume(scan, Some(out), max_entries));
    return Ok(-1.0);
  }
  // SAFETY: the value buffer is kept alive by `_value`, the call is synchronous
  // on the JS thread, and the length was checked above.
  unsafe { std::ptr::copy_nonoverlapping(out.as_ptr(), shared.value_ptr, out.len()) };
  let bytes = out.len() as f64;
  *shared.scratch.borrow_mut() = out;
  if scan.exhausted {
    Ok(bytes)
  } else {
    *shared.parked.borrow_mut() = Some(NativeIterator::resume(scan, None, max_entries));
    Ok(-bytes - 1.0)
  }
}

/// The range parked by the last `rangeShared`, as an iterator over the rest.
#[napi]
pub fn take_range(shared: &External<SharedBuffers>) -> napi::Result<NativeIterator, ErrorCode> {
  Ok(shared.parked.borrow_mut().take().ok_or_else(|| {
    DbError::new(
      ErrorCode::InvalidArgument,
      "no range is waiting to be taken",
    )
  })?)
}
