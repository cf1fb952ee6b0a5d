//! One `AsyncTask` for every blocking operation: the closure runs on a libuv
//! worker, never on the event loop, and its `DbError` rejects the Promise with
//! a coded JS `Error`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{ToNapiValue, TypeName};
use napi::{Env, Task};

use crate::error::{DbError, DbResult, ErrorCode};

type Work<T> = Box<dyn FnOnce() -> DbResult<T> + Send>;

/// A unit of blocking work for libuv's thread pool.
pub struct Blocking<T: Send + 'static> {
  work: Option<Work<T>>,
  // `compute` may only return napi's fixed status type, so the coded error
  // waits here until `reject` runs on the main thread and can build a JS
  // object for it.
  failure: Option<DbError>,
}

impl<T: Send + 'static> Blocking<T> {
  pub fn new(work: impl FnOnce() -> DbResult<T> + Send + 'static) -> Self {
    Blocking {
      work: Some(Box::new(work)),
      failure: None,
    }
  }
}

impl<T> Task for Blocking<T>
where
  T: ToNapiValue + TypeName + Send + 'static,
{
  type Output = T;
  type JsValue = T;

  fn compute(&mut self) -> napi::Result<T> {
    let outcome = match self.work.take() {
      // A panic must never unwind into libuv; it becomes an ordinary rejection.
      Some(work) => catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|_| {
        Err(DbError::new(
          ErrorCode::RocksUnknown,
          "internal error: the operation panicked",
        ))
      }),
      None => Err(DbError::new(
        ErrorCode::RocksUnknown,
        "internal error: task ran twice",
      )),
    };
    outcome.map_err(|err| {
      let reason = err.message.clone();
      self.failure = Some(err);
      napi::Error::from_reason(reason)
    })
  }

  fn resolve(&mut self, _env: Env, output: T) -> napi::Result<T> {
    Ok(output)
  }

  fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<T> {
    match self.failure.take() {
      Some(failure) => Err(failure.into_js_error(&env)),
      None => Err(err),
    }
  }
}
