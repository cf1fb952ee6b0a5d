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

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use napi::bindgen_prelude::{Buffer, External};
use napi_derive::napi;

use crate::database::{Engine, EngineOptions};
use crate::error::{DbError, ErrorCode};

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
  let key = shared.key(key_length)?;
  Ok(shared.with_engine(|engine| {
    match engine.get(shared.family.as_deref(), key, &shared.options.read)? {
      None => Ok(-1.0),
      Some(value) => {
        if value.len() <= shared.value_len {
          // SAFETY: as for the key; the length was checked above.
          unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), shared.value_ptr, value.len()) };
        }
        Ok(value.len() as f64)
      }
    }
  })?)
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
