//! One `AsyncTask` for every blocking operation: the closure runs on a libuv
//! worker, never on the event loop, and its `DbError` rejects the Promise with
//! a coded JS `Error`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{ToNapiValue, TypeName};
use napi::{Env, Task};

use crate::error::{DbError, DbResult, ErrorCode};

type Work<T> = Box<dyn FnOnce() -> DbResult<T> + Send>;

/// Runs a task's work once on a worker thread. A panic must never unwind
/// into libuv; it becomes an ordinary error.
fn guarded<T>(work: Option<Work<T>>) -> DbResult<T> {
  match work {
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
  }
}

/// A unit of blocking work for libuv's thread pool, whose result `T` becomes
/// the JavaScript value `J` on the main thread (itself, unless made with
/// `finished_by`).
pub struct Blocking<T: Send + 'static, J = T> {
  work: Option<Work<T>>,
  finish: fn(T) -> DbResult<J>,
  // `compute` may only return napi's fixed status type, so the coded error
  // waits here until `reject` runs on the main thread and can build a JS
  // object for it.
  failure: Option<DbError>,
}

impl<T: Send + 'static> Blocking<T> {
  pub fn new(work: impl FnOnce() -> DbResult<T> + Send + 'static) -> Self {
    Blocking::finished_by(work, Ok)
  }
}

impl<T: Send + 'static, J> Blocking<T, J> {
  /// Work whose result is made a JavaScript value by `finish`, on the main
  /// thread: for values that may not cross threads, such as a class that
  /// holds an `Rc`.
  pub fn finished_by(
    work: impl FnOnce() -> DbResult<T> + Send + 'static,
    finish: fn(T) -> DbResult<J>,
  ) -> Self {
    Blocking {
      work: Some(Box::new(work)),
      finish,
      failure: None,
    }
  }
}

impl<T, J> Task for Blocking<T, J>
where
  T: Send + 'static,
  J: ToNapiValue + TypeName,
{
  type Output = T;
  type JsValue = J;

  fn compute(&mut self) -> napi::Result<T> {
    guarded(self.work.take()).map_err(|err| {
      let reason = err.message.clone();
      self.failure = Some(err);
      napi::Error::from_reason(reason)
    })
  }

  fn resolve(&mut self, env: Env, output: T) -> napi::Result<J> {
    (self.finish)(output).map_err(|failure| failure.into_js_error(&env))
  }

  fn reject(&mut self, env: Env, err: napi::Error) -> napi::Result<J> {
    match self.failure.take() {
      Some(failure) => Err(failure.into_js_error(&env)),
      None => Err(err),
    }
  }
}
