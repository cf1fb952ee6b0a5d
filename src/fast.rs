//! The fast path of synchronous reads and writes.
//!
//! The two buffers are memory of this module that JavaScript sees through
//! external Buffers (`Region`), so no JavaScript action can free or move
//! what is written here.
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
//!
//! Each operation also has a form with the key passed as a Buffer
//! (`getKey`, `putKey`, `removeKey`), for keys or values too large for the
//! buffers and for calls nested in one that is using them. `lib/fast.js` is
//! the JavaScript side of all of it.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use napi::bindgen_prelude::{BufferSlice, External};
use napi::Env;
use napi_derive::napi;

use crate::batch::check_key;
use crate::engine::{Engine, EngineOptions};
use crate::error::{DbError, ErrorCode};
use crate::iterator::{NativeIterator, Scan, ScanSpec};

/// Memory shared with JavaScript: allocated and freed here, viewed from
/// JavaScript through an external Buffer. The Buffer holds an `Arc` of it, so
/// the memory lives as long as either side uses it; JavaScript can detach or
/// transfer its view, but never free or move what the pointers here point to.
struct Region {
  ptr: *mut u8,
  len: usize,
}

// SAFETY: the region is plain bytes, freed once (in `drop`); reads and writes
// of its contents happen on the JavaScript thread, during synchronous calls.
unsafe impl Send for Region {}
unsafe impl Sync for Region {}

impl Region {
  fn new(len: usize) -> Result<Arc<Region>, DbError> {
    if len == 0 || len > MAX_SHARED_BYTES {
      return Err(DbError::new(
        ErrorCode::OutOfRange,
        format!("a shared buffer must hold 1 to {MAX_SHARED_BYTES} bytes"),
      ));
    }
    let ptr = Box::into_raw(vec![0u8; len].into_boxed_slice()).cast::<u8>();
    Ok(Arc::new(Region { ptr, len }))
  }

  /// A JavaScript Buffer over the whole region.
  fn view<'env>(self: &Arc<Region>, env: &'env Env) -> napi::Result<BufferSlice<'env>> {
    // SAFETY: the region outlives the Buffer, which keeps its own `Arc`
    // until the finalizer drops it; each region gets exactly one view.
    unsafe { BufferSlice::from_external(env, self.ptr, self.len, self.clone(), |_, _| {}) }
  }
}

impl Drop for Region {
  fn drop(&mut self) {
    // SAFETY: `ptr` and `len` came from the boxed slice made in `new`.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.ptr, self.len)) });
  }
}

/// The largest shared buffer: a batch of a range fits in 1 MiB anyway.
const MAX_SHARED_BYTES: usize = 16 << 20;

/// The buffers and engine of one handle's fast path. JavaScript holds it as
/// an `ExternalObject` from `NativeDatabase.shareBuffers()`; declared as a
/// class only so that the generated types name it (it has no constructor).
#[napi]
pub struct SharedBuffers {
  engine: Rc<RefCell<Option<Arc<Engine>>>>,
  options: Arc<EngineOptions>,
  family: Option<String>,
  key: Arc<Region>,
  value: Arc<Region>,
  /// Whether JavaScript has been given its view of each region.
  viewed: RefCell<[bool; 2]>,
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
    key_bytes: usize,
    value_bytes: usize,
  ) -> Result<Self, DbError> {
    Ok(SharedBuffers {
      engine,
      options,
      family,
      key: Region::new(key_bytes)?,
      value: Region::new(value_bytes)?,
      viewed: RefCell::new([false; 2]),
      parked: RefCell::new(None),
      scratch: RefCell::new(Vec::new()),
    })
  }

  fn key(&self, length: u32) -> Result<&[u8], DbError> {
    let length = length as usize;
    if length == 0 || length > self.key.len {
      return Err(DbError::new(
        ErrorCode::InvalidArgument,
        "key must not be empty",
      ));
    }
    // SAFETY: the region lives as long as `self`; calls are synchronous on
    // the JS thread, so nothing writes it meanwhile.
    Ok(unsafe { std::slice::from_raw_parts(self.key.ptr, length) })
  }

  /// `length` bytes of the key buffer from `start`, which may be empty.
  fn key_bytes(&self, start: usize, length: usize) -> Result<&[u8], DbError> {
    if start.saturating_add(length) > self.key.len {
      return Err(DbError::new(
        ErrorCode::InvalidArgument,
        "range bounds do not fit in the key buffer",
      ));
    }
    // SAFETY: as in `key`; the bounds were checked above.
    Ok(unsafe { std::slice::from_raw_parts(self.key.ptr.add(start), length) })
  }

  /// Copies `bytes` to the start of the value buffer, which must hold them.
  fn write_value(&self, bytes: &[u8]) {
    debug_assert!(bytes.len() <= self.value.len);
    let length = bytes.len().min(self.value.len);
    // SAFETY: the region lives as long as `self` and holds `length` bytes;
    // the call is synchronous on the JS thread.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.value.ptr, length) };
  }

  fn with_engine<T>(&self, f: impl FnOnce(&Engine) -> Result<T, DbError>) -> Result<T, DbError> {
    match self.engine.borrow().as_ref() {
      Some(engine) => f(engine),
      None => Err(DbError::closed()),
    }
  }

  /// JavaScript's view of region `which` (0: keys, 1: values), given once.
  fn view<'env>(&self, env: &'env Env, which: usize) -> napi::Result<BufferSlice<'env>, ErrorCode> {
    let mut viewed = self.viewed.borrow_mut();
    if viewed[which] {
      return Err(
        DbError::new(
          ErrorCode::InvalidArgument,
          "the shared buffer was already handed out",
        )
        .into(),
      );
    }
    let region = if which == 0 { &self.key } else { &self.value };
    let view = region
      .view(env)
      .map_err(|err| napi::Error::new(ErrorCode::Io, err.reason.clone()))?;
    viewed[which] = true;
    Ok(view)
  }
}

/// JavaScript's view of the shared key buffer; each handle asks once.
#[napi]
pub fn shared_key_buffer<'env>(
  env: &'env Env,
  shared: &External<SharedBuffers>,
) -> napi::Result<BufferSlice<'env>, ErrorCode> {
  shared.view(env, 0)
}

/// JavaScript's view of the shared value buffer; each handle asks once.
#[napi]
pub fn shared_value_buffer<'env>(
  env: &'env Env,
  shared: &External<SharedBuffers>,
) -> napi::Result<BufferSlice<'env>, ErrorCode> {
  shared.view(env, 1)
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
  shared.with_engine(
    |engine| match engine.get(shared.family.as_deref(), key, read)? {
      None => Ok(-1.0),
      Some(value) => {
        if value.len() <= shared.value.len {
          shared.write_value(&value);
        }
        Ok(value.len() as f64)
      }
    },
  )
}

/// The stored bytes of `key`, or `undefined`: `getShared` for a key too
/// large for the shared key buffer, for a value too large for the shared
/// value buffer, or for a call nested in one that is using the buffers.
#[napi]
pub fn get_key<'env>(
  env: &'env Env,
  shared: &External<SharedBuffers>,
  key: &[u8],
) -> napi::Result<Option<BufferSlice<'env>>, ErrorCode> {
  check_key(key)?;
  let copied = shared.with_engine(|engine| {
    match engine.get(shared.family.as_deref(), key, &shared.options.read)? {
      // One copy, from RocksDB's pinned block straight into the JS buffer.
      Some(value) => BufferSlice::copy_from(env, &value)
        .map(Some)
        .map_err(|err| DbError::new(ErrorCode::Io, err.reason.clone())),
      None => Ok(None),
    }
  })?;
  Ok(copied)
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

/// `putShared` with the key given: for a key too large for the shared key
/// buffer, or a call nested in one that is using it.
#[napi]
pub fn put_key(
  shared: &External<SharedBuffers>,
  key: &[u8],
  value: &[u8],
) -> napi::Result<(), ErrorCode> {
  check_key(key)?;
  Ok(shared.with_engine(|engine| {
    engine.put(shared.family.as_deref(), key, value, &shared.options.write)
  })?)
}

/// `removeShared` with the key given.
#[napi]
pub fn remove_key(shared: &External<SharedBuffers>, key: &[u8]) -> napi::Result<(), ErrorCode> {
  check_key(key)?;
  Ok(
    shared
      .with_engine(|engine| engine.remove(shared.family.as_deref(), key, &shared.options.write))?,
  )
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

// The protocol's constants, exported so that JavaScript reads them instead
// of copying them.

/// Bytes of the shared key buffer of each handle: most keys, and most pairs
/// of range bounds, fit; larger ones take the general path.
#[napi]
pub const SHARED_KEY_BYTES: u32 = 4096;
/// Bytes of the shared value buffer of each handle: most values, and most
/// first batches of a range, fit; larger ones take the general path.
#[napi]
pub const SHARED_VALUE_BYTES: u32 = 64 * 1024;
/// Entries in the first batch of a range without a limit: enough for most
/// short ranges to take one native call, few enough that a loop that stops at
/// the first entry decodes little.
#[napi]
pub const RANGE_FIRST_BATCH: u32 = 32;
/// A range with a limit up to this many entries reads them all in its first
/// batch.
#[napi]
pub const RANGE_MAX_FIRST_BATCH: u32 = 1024;
/// Starts a range and reads its first batch (at most `max_entries`) into the
/// shared value buffer, packed as `NativeIterator.nextBatch` packs them. The
/// range is in the wire format of `iterator.rs`, its bounds (`bounds_length`
/// bytes) in the shared key buffer.
///
/// Returns the bytes written when the range is done. When it has more, the
/// range is parked for `takeRange` and the result is `-(bytes) - 1`; a first
/// entry too large for the buffer also parks it, with nothing written.
#[napi]
pub fn range_shared(
  shared: &External<SharedBuffers>,
  bounds_length: u32,
  lower_length: u32,
  flags: u32,
  offset: u32,
  limit: f64,
  max_entries: u32,
) -> napi::Result<f64, ErrorCode> {
  let bounds = shared.key_bytes(0, bounds_length as usize)?;
  let spec = ScanSpec::from_wire(bounds, lower_length, flags, offset, limit)?;
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
  scan.fill(&mut out, max_entries, shared.value.len)?;
  if out.len() > shared.value.len {
    // A single entry larger than the buffer: it goes out as a Buffer of its own.
    *shared.parked.borrow_mut() = Some(NativeIterator::resume(scan, Some(out), max_entries));
    return Ok(-1.0);
  }
  shared.write_value(&out);
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
