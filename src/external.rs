//! `ArrayBuffer`s over memory the native layer owns (shared buffers, memory
//! maps of log files, a log's position word): no copy, and the memory lives
//! as long as any buffer over it, through a strong reference that the
//! buffer's finalizer drops.

use std::sync::Arc;

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env};

unsafe extern "C" fn release<T>(
  _env: sys::napi_env,
  _data: *mut std::ffi::c_void,
  hint: *mut std::ffi::c_void,
) {
  // SAFETY: `hint` is the `Arc` leaked for this ArrayBuffer in
  // `external_array_buffer`, and napi calls this once.
  drop(unsafe { Arc::from_raw(hint as *const T) });
}

/// A new `ArrayBuffer` over the `len` bytes at `data`, which `owner` keeps
/// valid. `what` names the memory in the error when the runtime refuses
/// external buffers.
pub fn external_array_buffer<'env, T: Send + Sync + 'static>(
  env: &'env Env,
  owner: Arc<T>,
  data: *const u8,
  len: usize,
  what: &str,
) -> napi::Result<Unknown<'env>> {
  let hint = Arc::into_raw(owner) as *mut std::ffi::c_void;
  let mut value = std::ptr::null_mut();
  // SAFETY: `data` stays valid while `hint` holds its owner; the finalizer
  // frees `hint` when V8 collects the buffer. napi-rs's safe constructor is
  // not used because its debug builds refuse two buffers over one memory,
  // which sharing needs.
  let status = unsafe {
    sys::napi_create_external_arraybuffer(
      env.raw(),
      data.cast_mut().cast(),
      len,
      Some(release::<T>),
      hint,
      &mut value,
    )
  };
  if status != sys::Status::napi_ok {
    // SAFETY: napi did not take the hint; it is still ours to drop.
    drop(unsafe { Arc::from_raw(hint as *const T) });
    return Err(napi::Error::new(
      napi::Status::GenericFailure,
      format!("this runtime cannot share memory without a copy (no external buffers): {what}"),
    ));
  }
  // SAFETY: `value` is the ArrayBuffer just made in this env.
  Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
}
