//! The one error type of the native layer, and its mapping to coded JS errors.
//!
//! Every failure that reaches JavaScript carries a stable `code`. RocksDB status
//! kinds map to `ERR_ROCKSDB_<KIND>`; conditions a caller can act on (a target
//! that exists, a full disk, a denied permission, a closed database) get codes of
//! their own whether RocksDB or the filesystem reported them, so callers never
//! have to parse messages.

use std::io;
use std::path::Path;

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, JsValue};
use rust_rocksdb::ErrorKind;

/// The stable `code` of every error the package raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
  DatabaseClosed,
  DatabaseOpen,
  DatabaseReadOnly,
  TargetExists,
  StagingPathExists,
  NotADirectory,
  PermissionDenied,
  NoSpace,
  InvalidArgument,
  OutOfRange,
  Io,
  TransactionConflict,
  TransactionDone,
  RocksNotFound,
  RocksCorruption,
  RocksNotSupported,
  RocksInvalidArgument,
  RocksIoError,
  RocksMergeInProgress,
  RocksIncomplete,
  RocksShutdownInProgress,
  RocksTimedOut,
  RocksAborted,
  RocksBusy,
  RocksExpired,
  RocksTryAgain,
  RocksCompactionTooLarge,
  RocksColumnFamilyDropped,
  RocksUnknown,
}

impl ErrorCode {
  /// Every code, so the list in the README can be checked against the source.
  pub const ALL: [ErrorCode; 29] = [
    ErrorCode::DatabaseClosed,
    ErrorCode::DatabaseOpen,
    ErrorCode::DatabaseReadOnly,
    ErrorCode::TargetExists,
    ErrorCode::StagingPathExists,
    ErrorCode::NotADirectory,
    ErrorCode::PermissionDenied,
    ErrorCode::NoSpace,
    ErrorCode::InvalidArgument,
    ErrorCode::OutOfRange,
    ErrorCode::Io,
    ErrorCode::TransactionConflict,
    ErrorCode::TransactionDone,
    ErrorCode::RocksNotFound,
    ErrorCode::RocksCorruption,
    ErrorCode::RocksNotSupported,
    ErrorCode::RocksInvalidArgument,
    ErrorCode::RocksIoError,
    ErrorCode::RocksMergeInProgress,
    ErrorCode::RocksIncomplete,
    ErrorCode::RocksShutdownInProgress,
    ErrorCode::RocksTimedOut,
    ErrorCode::RocksAborted,
    ErrorCode::RocksBusy,
    ErrorCode::RocksExpired,
    ErrorCode::RocksTryAgain,
    ErrorCode::RocksCompactionTooLarge,
    ErrorCode::RocksColumnFamilyDropped,
    ErrorCode::RocksUnknown,
  ];

  /// The codes of failures of the storage under a database (see
  /// `DbError::is_storage_failure`).
  pub const STORAGE_FAILURES: [ErrorCode; 2] = [ErrorCode::NoSpace, ErrorCode::RocksIoError];

  pub fn as_str(self) -> &'static str {
    match self {
      ErrorCode::DatabaseClosed => "ERR_DATABASE_CLOSED",
      ErrorCode::DatabaseOpen => "ERR_DATABASE_OPEN",
      ErrorCode::DatabaseReadOnly => "ERR_DATABASE_READ_ONLY",
      ErrorCode::TargetExists => "ERR_TARGET_EXISTS",
      ErrorCode::StagingPathExists => "ERR_STAGING_PATH_EXISTS",
      ErrorCode::NotADirectory => "ERR_NOT_A_DIRECTORY",
      ErrorCode::PermissionDenied => "ERR_PERMISSION_DENIED",
      ErrorCode::NoSpace => "ERR_NO_SPACE",
      ErrorCode::InvalidArgument => "ERR_INVALID_ARG_VALUE",
      ErrorCode::OutOfRange => "ERR_OUT_OF_RANGE",
      ErrorCode::Io => "ERR_IO",
      ErrorCode::TransactionConflict => "ERR_BUSY",
      ErrorCode::TransactionDone => "ERR_TRANSACTION_DONE",
      ErrorCode::RocksNotFound => "ERR_ROCKSDB_NOT_FOUND",
      ErrorCode::RocksCorruption => "ERR_ROCKSDB_CORRUPTION",
      ErrorCode::RocksNotSupported => "ERR_ROCKSDB_NOT_SUPPORTED",
      ErrorCode::RocksInvalidArgument => "ERR_ROCKSDB_INVALID_ARGUMENT",
      ErrorCode::RocksIoError => "ERR_ROCKSDB_IO_ERROR",
      ErrorCode::RocksMergeInProgress => "ERR_ROCKSDB_MERGE_IN_PROGRESS",
      ErrorCode::RocksIncomplete => "ERR_ROCKSDB_INCOMPLETE",
      ErrorCode::RocksShutdownInProgress => "ERR_ROCKSDB_SHUTDOWN_IN_PROGRESS",
      ErrorCode::RocksTimedOut => "ERR_ROCKSDB_TIMED_OUT",
      ErrorCode::RocksAborted => "ERR_ROCKSDB_ABORTED",
      ErrorCode::RocksBusy => "ERR_ROCKSDB_BUSY",
      ErrorCode::RocksExpired => "ERR_ROCKSDB_EXPIRED",
      ErrorCode::RocksTryAgain => "ERR_TRY_AGAIN",
      ErrorCode::RocksCompactionTooLarge => "ERR_ROCKSDB_COMPACTION_TOO_LARGE",
      ErrorCode::RocksColumnFamilyDropped => "ERR_COLUMN_FAMILY_DROPPED",
      ErrorCode::RocksUnknown => "ERR_ROCKSDB_UNKNOWN",
    }
  }
}

impl AsRef<str> for ErrorCode {
  fn as_ref(&self) -> &str {
    self.as_str()
  }
}

/// A failure of the native layer: a code and a message for people.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DbError {
  pub code: ErrorCode,
  pub message: String,
}

pub type DbResult<T> = Result<T, DbError>;

impl DbError {
  pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
    DbError {
      code,
      message: message.into(),
    }
  }

  pub fn closed() -> Self {
    DbError::new(
      ErrorCode::DatabaseClosed,
      "Database not open (it was never opened, or was closed)",
    )
  }

  /// A failure of the storage under the database (a full disk, an I/O
  /// error) rather than of the call: RocksDB may have stopped writing until
  /// it is resumed.
  pub fn is_storage_failure(&self) -> bool {
    ErrorCode::STORAGE_FAILURES.contains(&self.code)
  }

  pub fn read_only() -> Self {
    DbError::new(
      ErrorCode::DatabaseReadOnly,
      "The database is open read-only; writes are refused",
    )
  }

  /// An error of the filesystem, naming the path it concerns.
  pub fn io(err: &io::Error, what: &str, path: &Path) -> Self {
    let code = match err.kind() {
      io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
        ErrorCode::PermissionDenied
      }
      io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => ErrorCode::NoSpace,
      io::ErrorKind::NotADirectory => ErrorCode::NotADirectory,
      io::ErrorKind::AlreadyExists => ErrorCode::TargetExists,
      io::ErrorKind::InvalidFilename => ErrorCode::InvalidArgument,
      _ => ErrorCode::Io,
    };
    DbError::new(code, format!("{what} {}: {err}", path.display()))
  }

  /// Turns the error into a JS error value with its `code`, for the
  /// rejection of a Promise: `Task::compute` can only return napi's fixed
  /// status type, so async paths build the coded error here instead. A wrong
  /// argument is a `TypeError` and a number out of bounds a `RangeError`, as
  /// the JavaScript layer makes them.
  pub fn into_js_error(self, env: &Env) -> napi::Error {
    let create = match self.code {
      ErrorCode::InvalidArgument => sys::napi_create_type_error,
      ErrorCode::OutOfRange => sys::napi_create_range_error,
      _ => sys::napi_create_error,
    };
    let (Ok(code), Ok(message)) = (
      env.create_string(self.code.as_str()),
      env.create_string(&self.message),
    ) else {
      return self.into();
    };
    let mut error = std::ptr::null_mut();
    // SAFETY: called on the JS thread with a live env and two live strings;
    // the create functions set `code` on the new error themselves.
    let status = unsafe { create(env.raw(), code.raw(), message.raw(), &mut error) };
    if status != sys::Status::napi_ok || error.is_null() {
      return self.into();
    }
    // SAFETY: `error` is the JS value just created in this env.
    napi::Error::from(unsafe { Unknown::from_raw_unchecked(env.raw(), error) })
  }
}

impl From<DbError> for napi::Error<ErrorCode> {
  fn from(err: DbError) -> Self {
    napi::Error::new(err.code, err.message)
  }
}

impl From<DbError> for napi::Error {
  fn from(err: DbError) -> Self {
    napi::Error::new(
      napi::Status::GenericFailure,
      format!("{}: {}", err.code.as_str(), err.message),
    )
  }
}

impl From<rust_rocksdb::Error> for DbError {
  fn from(err: rust_rocksdb::Error) -> Self {
    let message = err.clone().into_string();
    let code = match err.kind() {
      // RocksDB reports every filesystem failure as an IOError; the
      // conditions a caller can act on are told apart by the OS text that
      // RocksDB embeds in its status message.
      ErrorKind::IOError if message.contains("No space left on device") => ErrorCode::NoSpace,
      ErrorKind::IOError if message.contains("Permission denied") => ErrorCode::PermissionDenied,
      ErrorKind::IOError if message.contains("Read-only file system") => {
        ErrorCode::PermissionDenied
      }
      ErrorKind::IOError if message.contains("Not a directory") => ErrorCode::NotADirectory,
      ErrorKind::IOError if message.contains("File name too long") => ErrorCode::InvalidArgument,
      ErrorKind::NotFound => ErrorCode::RocksNotFound,
      ErrorKind::Corruption => ErrorCode::RocksCorruption,
      ErrorKind::NotSupported => ErrorCode::RocksNotSupported,
      ErrorKind::InvalidArgument => ErrorCode::RocksInvalidArgument,
      ErrorKind::IOError => ErrorCode::RocksIoError,
      ErrorKind::MergeInProgress => ErrorCode::RocksMergeInProgress,
      ErrorKind::Incomplete => ErrorCode::RocksIncomplete,
      ErrorKind::ShutdownInProgress => ErrorCode::RocksShutdownInProgress,
      ErrorKind::TimedOut => ErrorCode::RocksTimedOut,
      ErrorKind::Aborted => ErrorCode::RocksAborted,
      ErrorKind::Busy => ErrorCode::RocksBusy,
      ErrorKind::Expired => ErrorCode::RocksExpired,
      ErrorKind::TryAgain => ErrorCode::RocksTryAgain,
      ErrorKind::CompactionTooLarge => ErrorCode::RocksCompactionTooLarge,
      ErrorKind::ColumnFamilyDropped => ErrorCode::RocksColumnFamilyDropped,
      ErrorKind::Unknown => ErrorCode::RocksUnknown,
    };
    DbError::new(code, message)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn every_code_is_unique_and_node_style() {
    let mut seen = std::collections::HashSet::new();
    for code in ErrorCode::ALL {
      let text = code.as_str();
      assert!(text.starts_with("ERR_"), "{text}");
      assert_eq!(text, text.to_ascii_uppercase(), "{text}");
      assert!(seen.insert(text), "duplicate {text}");
    }
  }

  #[test]
  fn io_errors_map_to_actionable_codes() {
    let path = Path::new("/x");
    let denied = io::Error::from(io::ErrorKind::PermissionDenied);
    assert_eq!(
      DbError::io(&denied, "create", path).code,
      ErrorCode::PermissionDenied
    );
    let full = io::Error::from_raw_os_error(28); // ENOSPC
    assert_eq!(DbError::io(&full, "create", path).code, ErrorCode::NoSpace);
    let not_dir = io::Error::from_raw_os_error(20); // ENOTDIR
    let err = DbError::io(&not_dir, "create", path);
    assert_eq!(err.code, ErrorCode::NotADirectory);
    assert!(err.message.contains("/x"), "{}", err.message);
  }
}
