//! rocksdb-branch: RocksDB for Node.js, with checkpoints and writable branches.
//!
//! The native layer is deliberately thin: it moves bytes between JavaScript
//! and RocksDB and runs blocking work on libuv's thread pool. Encodings,
//! argument checks and the idiomatic API live in `lib/` on top of it.

#![deny(clippy::all)]

mod backup;
mod batch;
mod budget;
mod checkpoint;
mod claim;
mod clock;
mod database;
mod engine;
mod error;
mod external;
mod fast;
mod iterator;
mod key_lock;
mod lock;
mod log_map;
mod options;
mod shared_buffer;
mod task;
mod transaction;
mod transaction_log;
mod verification;

pub use backup::{copy_file_hashed, hash_file, start_file_writeback, sync_filesystem, FileDigest};
pub use claim::{
  claim_directory_exclusive, claim_directory_shared, directory_claims, DirectoryClaim,
  DirectoryClaims,
};
pub use clock::monotonic_timestamp;
pub use database::{
  destroy_database, is_database_closing, is_database_open, open_databases, NativeDatabase,
  OpenDatabase,
};
pub use fast::{
  get_in_memory_shared, get_key, get_shared, put_key, put_shared, range_shared, remove_key,
  remove_shared, shared_key_buffer, shared_value_buffer, take_range, SharedBuffers,
  RANGE_FIRST_BATCH, RANGE_MAX_FIRST_BATCH, SHARED_KEY_BYTES, SHARED_VALUE_BYTES,
};
pub use iterator::{
  NativeIterator, RANGE_HAS_LOWER, RANGE_HAS_UPPER, RANGE_LOWER_INCLUSIVE, RANGE_MAX_BATCH,
  RANGE_REVERSE, RANGE_UPPER_INCLUSIVE, RANGE_VALUES,
};
pub use key_lock::{key_lock_count, KeyLocks};
pub use lock::{try_lock_file, FileLock};
pub use options::{
  configure, memory_usage, open_option_specs, MemoryUsage, OpenOptionSpec, OpenOptions,
  ProcessConfig, MAX_BUDGET_BYTES,
};
pub use shared_buffer::{user_shared_buffer, user_shared_buffer_counts};
pub use transaction::NativeTransaction;

/// The version of RocksDB this addon is built on, such as `"11.12.0"`.
#[napi_derive::napi]
pub fn rocksdb_version() -> &'static str {
  env!("ROCKSDB_VERSION")
}

/// Every error `code` the native layer can raise.
#[napi_derive::napi]
pub fn error_codes() -> Vec<&'static str> {
  error::ErrorCode::ALL
    .iter()
    .map(|code| code.as_str())
    .collect()
}

/// The `code`s of failures of the storage under a database (a full disk, an
/// I/O error): after them RocksDB stops writing until it resumes.
#[napi_derive::napi]
pub fn storage_failure_codes() -> Vec<&'static str> {
  error::ErrorCode::STORAGE_FAILURES
    .iter()
    .map(|code| code.as_str())
    .collect()
}
