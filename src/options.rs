//! The open options: the object JavaScript passes to `NativeDatabase.open`,
//! checked and turned into the engine's RocksDB options.

use napi_derive::napi;
use rust_rocksdb::statistics::StatsLevel;
use rust_rocksdb::{
  BlockBasedOptions, DBCompressionType, LogLevel, Options, ReadOptions, WriteOptions,
};

use crate::budget::{Budget, BudgetConfig};
use crate::engine::EngineOptions;
use crate::error::{DbError, DbResult, ErrorCode};

/// The JavaScript `typeof` of an open option's Rust type.
trait JsType {
  const TYPE: &'static str;
}
impl JsType for bool {
  const TYPE: &'static str = "boolean";
}
impl JsType for String {
  const TYPE: &'static str = "string";
}
impl JsType for u32 {
  const TYPE: &'static str = "number";
}
impl JsType for i32 {
  const TYPE: &'static str = "number";
}
impl JsType for f64 {
  const TYPE: &'static str = "number";
}

/// One native open option as JavaScript checks it before calling `open`.
#[napi(object, object_from_js = false)]
pub struct OpenOptionSpec {
  /// The option's name in JavaScript.
  pub name: String,
  /// Its `typeof`: `'boolean'`, `'number'` or `'string'`.
  #[napi(js_name = "type")]
  pub js_type: String,
  /// For integers: the least value accepted (below it: a TypeError).
  pub min: Option<f64>,
  /// For integers: the greatest value accepted (above it: a RangeError).
  pub max: Option<f64>,
  /// For strings: the values accepted.
  pub values: Option<Vec<&'static str>>,
}

/// napi-rs's camelCase of a Rust field name, the JavaScript name of an
/// option without an explicit `js_name`.
fn camel_case(snake: &str) -> String {
  let mut out = String::with_capacity(snake.len());
  let mut upper = false;
  for c in snake.chars() {
    if c == '_' {
      upper = true;
    } else if upper {
      out.extend(c.to_uppercase());
      upper = false;
    } else {
      out.push(c);
    }
  }
  out
}

/// Options of `RocksDatabase.open()` that the native layer acts on. Their
/// names, types and these comments reach JavaScript through napi-rs; their
/// checks through `open_option_specs()`.
#[napi(object)]
#[derive(Default, Clone)]
pub struct OpenOptions {
  /// Open the database read-only: reads work, every write is refused with
  /// `ERR_DATABASE_READ_ONLY`, several read-only handles may share a
  /// directory, and a missing database is an error. Default `false`.
  pub read_only: Option<bool>,
  /// Block compression of new SST files: `'none'`, `'lz4'` (default) or `'zstd'`.
  #[napi(ts_type = "'none' | 'lz4' | 'zstd'")]
  pub compression: Option<String>,
  /// Create the database (and missing parent directories) when absent.
  /// Default `true`; ignored when `readOnly` is set.
  pub create_if_missing: Option<bool>,
  /// The column family this handle reads and writes, created when missing
  /// unless the database is read-only. Handles of one path in one process
  /// share a single RocksDB instance. Default: the default family.
  pub name: Option<String>,
  /// Write without RocksDB's write-ahead log: faster, but writes since the
  /// last flush are lost if the process dies. Default `false`.
  #[napi(js_name = "disableWAL")]
  pub disable_wal: Option<bool>,
  /// Background threads for flushes and compactions, 1 to 256
  /// (`ERR_OUT_OF_RANGE` above). Default: the CPU count.
  pub parallelism_threads: Option<u32>,
  /// Bytes of one memtable before it is flushed, 1 to 2^40. RocksDB's
  /// default is 64 MiB.
  pub write_buffer_size: Option<f64>,
  /// Most SST files RocksDB keeps open, -1 to 2^31-1; -1 keeps all open
  /// (RocksDB's default).
  pub max_open_files: Option<i32>,
  /// Read SST blocks without a block cache. Default `false`.
  pub no_block_cache: Option<bool>,
  /// Open with pessimistic transactions: a transaction locks each key it
  /// writes when it writes it, and a conflict shows at that write instead of
  /// at commit. Every read-write handle of one database must agree, else
  /// `ERR_DATABASE_OPEN`. Default `false` (optimistic).
  pub pessimistic: Option<bool>,
  /// Pessimistic mode only: milliseconds a write waits for a key another
  /// transaction has locked before it fails, 0 to 2^31-1. Default 0:
  /// JavaScript writes on one thread, so waiting there could only stall the
  /// event loop.
  pub lock_timeout: Option<f64>,
  /// Keep RocksDB's info log, the `LOG` file in the database directory
  /// (RocksDB's account of its options, flushes and compactions). Default
  /// `true`. `false` writes no `LOG` file: each open then creates one file
  /// fewer and formats no log lines to disk, which counts when a process
  /// opens many small databases; RocksDB's error messages then go to
  /// standard error.
  pub info_log: Option<bool>,
  /// Bytes of the SST files compactions write, 64 KiB to 2^40. Default: 8
  /// MiB (RocksDB's own is 64 MiB). Backups and branches share whole
  /// files, so what a compaction rewrites is what the next incremental
  /// backup copies and what a branch stops sharing: smaller files make both
  /// smaller, at the cost of more files.
  pub target_file_size: Option<f64>,
  /// The compression level of `compression`, as RocksDB's
  /// `compression_opts.level` (its meaning is the algorithm's: zstd 1 to
  /// 22, say). `compression: { algorithm, level }` sets it too. Default: the
  /// algorithm's own.
  pub compression_level: Option<i32>,
  /// Memtables a column family may hold, filled or being flushed, before
  /// writes stall, 1 to 64. RocksDB's default is 2.
  pub max_write_buffer_number: Option<u32>,
  /// Bytes all memtables of this database may hold before RocksDB flushes
  /// the largest; 0 (the default) leaves each to `writeBufferSize`.
  pub db_write_buffer_size: Option<f64>,
  /// Bytes of one info LOG file before RocksDB starts another, 0 to 2^40;
  /// 0 never starts another. Default 4 MiB (4 old files are kept).
  pub max_log_file_size: Option<f64>,
  /// The least level of RocksDB's messages the info LOG keeps: 0 debug, 1
  /// info (default), 2 warn, 3 error, 4 fatal, 5 header only.
  pub info_log_level: Option<u32>,
  /// Collect RocksDB's statistics (tickers and histograms) for `getStat()`
  /// and `getStats()`; they cost some 5 to 10 % of throughput. Default `false`.
  pub enable_stats: Option<bool>,
  /// Which statistics to collect, 0 to 6 (`stats.StatsLevel`): 0 none,
  /// 1 and 2 no histograms or timers, 3 no timers, 4 (default) no detailed
  /// timers, 5 no mutex timers, 6 all.
  pub stats_level: Option<u32>,
}

/// The spec of one field of `OpenOptions`, named as napi-rs names it.
fn spec<T: JsType>(field: &str, _: &Option<T>) -> OpenOptionSpec {
  OpenOptionSpec {
    name: camel_case(field),
    js_type: T::TYPE.to_string(),
    min: None,
    max: None,
    values: None,
  }
}

impl OpenOptionSpec {
  fn bounded(self, min: f64, max: f64) -> Self {
    Self {
      min: Some(min),
      max: Some(max),
      ..self
    }
  }
}

/// The native open options, for the checks in `lib/options.js`.
#[napi]
pub fn open_option_specs() -> Vec<OpenOptionSpec> {
  // Destructured whole, so that a field added to `OpenOptions` without a
  // spec here does not compile.
  let OpenOptions {
    read_only,
    compression,
    create_if_missing,
    name,
    disable_wal,
    parallelism_threads,
    write_buffer_size,
    max_open_files,
    no_block_cache,
    pessimistic,
    lock_timeout,
    info_log,
    target_file_size,
    compression_level,
    max_write_buffer_number,
    db_write_buffer_size,
    max_log_file_size,
    info_log_level,
    enable_stats,
    stats_level,
  } = OpenOptions::default();
  macro_rules! spec {
    ($field:ident) => {
      spec(stringify!($field), &$field)
    };
  }
  vec![
    spec!(read_only),
    OpenOptionSpec {
      values: Some(COMPRESSIONS.to_vec()),
      ..spec!(compression)
    },
    spec!(create_if_missing),
    spec!(name),
    // The `js_name` of the field.
    OpenOptionSpec {
      name: "disableWAL".into(),
      ..spec!(disable_wal)
    },
    spec!(parallelism_threads).bounded(1.0, MAX_THREADS as f64),
    spec!(write_buffer_size).bounded(1.0, MAX_WRITE_BUFFER_SIZE),
    spec!(max_open_files).bounded(-1.0, i32::MAX as f64),
    spec!(no_block_cache),
    spec!(pessimistic),
    spec!(lock_timeout).bounded(0.0, MAX_LOCK_TIMEOUT),
    spec!(info_log),
    spec!(target_file_size).bounded(MIN_TARGET_FILE_SIZE, MAX_WRITE_BUFFER_SIZE),
    spec!(compression_level).bounded(-131072.0, 22.0),
    spec!(max_write_buffer_number).bounded(1.0, 64.0),
    spec!(db_write_buffer_size).bounded(0.0, MAX_WRITE_BUFFER_SIZE),
    spec!(max_log_file_size).bounded(0.0, MAX_WRITE_BUFFER_SIZE),
    spec!(info_log_level).bounded(0.0, 5.0),
    spec!(enable_stats),
    spec!(stats_level).bounded(0.0, 6.0),
  ]
}

/// The process-wide settings of `RocksDatabase.config()`: the memory every
/// database opened afterwards shares.
#[napi(object)]
pub struct ProcessConfig {
  /// Bytes of the block cache all databases share (data, index and filter
  /// blocks); 0 opens databases without a cache. Default 64 MiB. Changing
  /// it resizes the cache open databases use.
  pub block_cache_size: Option<f64>,
  /// Bytes all memtables of the process may hold before RocksDB flushes the
  /// largest; 0 (the default) leaves each database to its `writeBufferSize`.
  pub write_buffer_manager_size: Option<f64>,
  /// Charge memtable memory to the block cache, so both draw on one pool.
  /// Default `false`.
  pub write_buffer_manager_cost_to_cache: Option<bool>,
  /// Stall writes while the memtables are over `writeBufferManagerSize`.
  /// Only `false` (the default) is accepted: `true` is refused with
  /// `ERR_ROCKSDB_NOT_SUPPORTED`, because RocksDB would stall the writes of
  /// an optimistic transaction database for good.
  pub write_buffer_manager_allow_stall: Option<bool>,
}

/// Sets the memory budget that databases opened from now on share; options
/// not given keep their current value. Databases already open keep the
/// write buffer manager they were opened with.
#[napi]
pub fn configure(config: ProcessConfig) -> napi::Result<(), ErrorCode> {
  let current = Budget::current().config;
  let bytes = |value: Option<f64>, name: &str, current: usize| -> DbResult<usize> {
    match value {
      None => Ok(current),
      Some(v) if v >= 0.0 && v.fract() == 0.0 && v <= MAX_BUDGET_BYTES => Ok(v as usize),
      Some(v) => Err(DbError::new(
        ErrorCode::OutOfRange,
        format!("options.{name} must be an integer from 0 to {MAX_BUDGET_BYTES}. Received {v}"),
      )),
    }
  };
  if config.write_buffer_manager_allow_stall == Some(true) {
    // RocksDB keeps a flushed memtable of an optimistic transaction database
    // as history for conflict checks, counted by the manager, and trims that
    // history only when a write comes in: a stalled writer would wait for
    // it forever (measured: writes into a 2 MiB budget stop for good).
    return Err(
      DbError::new(
        ErrorCode::RocksNotSupported,
        "writeBufferManagerAllowStall: RocksDB's write stalls never end for optimistic transaction databases, which keep flushed memtables as history; use writeBufferManagerSize alone, which flushes early instead",
      )
      .into(),
    );
  }
  Budget::configure(BudgetConfig {
    block_cache_size: bytes(
      config.block_cache_size,
      "blockCacheSize",
      current.block_cache_size,
    )?,
    write_buffer_manager_size: bytes(
      config.write_buffer_manager_size,
      "writeBufferManagerSize",
      current.write_buffer_manager_size,
    )?,
    write_buffer_manager_cost_to_cache: config
      .write_buffer_manager_cost_to_cache
      .unwrap_or(current.write_buffer_manager_cost_to_cache),
    write_buffer_manager_allow_stall: config
      .write_buffer_manager_allow_stall
      .unwrap_or(current.write_buffer_manager_allow_stall),
  });
  Ok(())
}

/// The largest size `RocksDatabase.config()` takes, in bytes: 1 PiB, past
/// any machine and within an f64's integers.
#[napi]
pub const MAX_BUDGET_BYTES: f64 = 1_125_899_906_842_624.0;

/// What the process's shared memory holds now, in bytes.
#[napi(object, object_from_js = false)]
pub struct MemoryUsage {
  /// The shared block cache's capacity.
  pub block_cache_capacity: f64,
  /// Bytes in the shared block cache (blocks of every open database, each
  /// block of a file shared by hardlinks counted once).
  pub block_cache_usage: f64,
  /// Bytes pinned in it (blocks in use, and index and filter blocks of L0 files).
  pub block_cache_pinned: f64,
  /// Bytes of memtables the write buffer manager counts; 0 without one.
  pub write_buffer_usage: f64,
  /// Bytes of the lock buckets optimistic transactions share.
  pub lock_buckets: f64,
}

/// What the process's shared memory holds now.
#[napi]
pub fn memory_usage() -> MemoryUsage {
  let usage = Budget::current().usage();
  MemoryUsage {
    block_cache_capacity: usage.block_cache_capacity as f64,
    block_cache_usage: usage.block_cache_usage as f64,
    block_cache_pinned: usage.block_cache_pinned as f64,
    write_buffer_usage: usage.write_buffer_usage as f64,
    lock_buckets: usage.lock_buckets_bytes as f64,
  }
}

// Bounds of the numeric open options: past them RocksDB aborts (a thread
// count it cannot start) or overflows. Given to JavaScript in the specs, so
// that it checks the same bounds before anything reaches this module.

/// Bytes a memtable takes from its arena at a time (see `engine_options`).
const ARENA_BLOCK_SIZE: usize = 1 << 20;

/// The most background threads `parallelismThreads` may ask for.
pub const MAX_THREADS: u32 = 256;
/// The largest `writeBufferSize`, in bytes (1 TiB).
pub const MAX_WRITE_BUFFER_SIZE: f64 = 1_099_511_627_776.0;
/// The default `targetFileSize`, in bytes (8 MiB). With RocksDB's 64 MiB, a
/// change confined to 1 % of a 1 GB database made the next incremental
/// backup copy 6.4 % of it (one rewritten file, `bench/backups.js`); with 8
/// MiB files written by compactions, 2.5 %. LevelDB (classic-level) writes 2
/// MiB files.
pub const DEFAULT_TARGET_FILE_SIZE: u64 = 8 * 1024 * 1024;
/// The smallest `targetFileSize`, in bytes (64 KiB).
pub const MIN_TARGET_FILE_SIZE: f64 = 65_536.0;
/// The longest `lockTimeout`, in milliseconds.
pub const MAX_LOCK_TIMEOUT: f64 = 2_147_483_647.0;

impl OpenOptions {
  /// The engine options these open options ask for, or the first bound
  /// they break.
  pub(crate) fn engine_options(&self) -> DbResult<EngineOptions> {
    let options = self;
    let read_only = options.read_only.unwrap_or(false);
    let mut opts = Options::default();
    opts.create_if_missing(options.create_if_missing.unwrap_or(true) && !read_only);
    opts.set_compression_type(parse_compression(options.compression.as_deref())?);
    // RocksDB defaults to one background thread; a live database that is also
    // checkpointed needs flushes and compactions to run side by side.
    let threads = match options.parallelism_threads {
      // RocksDB starts every thread at open; a huge count aborts the process
      // in std::thread's constructor, so it is bounded here too.
      Some(n) if !(1..=MAX_THREADS).contains(&n) => {
        return Err(DbError::new(
          ErrorCode::OutOfRange,
          format!("options.parallelismThreads must be from 1 to {MAX_THREADS}. Received {n}"),
        ))
      }
      Some(n) => n as i32,
      None => std::thread::available_parallelism().map_or(2, |n| n.get() as i32),
    };
    opts.increase_parallelism(threads);
    // A flush writes every column family's memtables at once (as rocksdb-js
    // sets it): families written without the WAL stay consistent with one
    // another, and a flush's highest sequence number says that everything
    // up to it is in SST files, which the transaction logs record (see
    // transaction_log::FlushRecorder).
    opts.set_atomic_flush(true);
    // RocksDB opens every SST file at open (maxOpenFiles -1) with 16 threads
    // of its own, made and ended at each open: for the small databases a
    // process opens many of (branches), making the threads costs more than
    // opening their few files on the calling thread.
    opts.set_max_file_opening_threads(1);
    // RocksDB reserves disk for its files ahead with fallocate: the WAL 1.1
    // times writeBufferSize (70 MiB) and the MANIFEST 4 MiB, for every open
    // database, however little it holds. A branch with a few writes took
    // 76 MiB of disk. Appends allocate as they go instead.
    opts.set_allow_fallocate(false);
    // The info LOG: a new file at each open, the old ones kept (RocksDB keeps
    // 1,000 by default, so a branch reopened often piles them up). Bounded
    // to 4 old files of at most 4 MiB.
    opts.set_keep_log_file_num(4);
    opts.set_max_log_file_size(
      options
        .max_log_file_size
        .map_or(4 << 20, |size| size as usize),
    );
    if let Some(level) = options.info_log_level {
      opts.set_log_level(match level {
        0 => LogLevel::Debug,
        1 => LogLevel::Info,
        2 => LogLevel::Warn,
        3 => LogLevel::Error,
        4 => LogLevel::Fatal,
        _ => LogLevel::Header,
      });
    }
    if let Some(level) = options.compression_level {
      // Window bits and strategy at RocksDB's defaults, no dictionary.
      opts.set_compression_options(-14, level, 0, 0);
    }
    if options.enable_stats == Some(true) {
      opts.enable_statistics();
      opts.set_statistics_level(match options.stats_level.unwrap_or(4) {
        0 => StatsLevel::DisableAll,
        1 | 2 => StatsLevel::ExceptHistogramOrTimers,
        3 => StatsLevel::ExceptTimers,
        4 => StatsLevel::ExceptDetailedTimers,
        5 => StatsLevel::ExceptTimeForMutex,
        _ => StatsLevel::All,
      });
    }
    if let Some(count) = options.max_write_buffer_number {
      opts.set_max_write_buffer_number(count.clamp(1, 64) as i32);
    }
    if let Some(size) = options.db_write_buffer_size {
      opts.set_db_write_buffer_size(size as usize);
    }
    if options.info_log == Some(false) {
      // RocksDB formats messages at its header level (the options dump at
      // open) whatever the level; only errors are worth a line.
      opts.set_callback_logger(LogLevel::Error, |level, message| {
        if matches!(level, LogLevel::Error | LogLevel::Fatal) {
          eprintln!("rocksdb: {}", message.trim_end());
        }
      });
    }
    // Opening reads every file's table properties only to seed statistics
    // of compaction; the first compaction gathers them anyway.
    opts.set_skip_stats_update_on_db_open(true);
    // Opening replaces the MANIFEST, the OPTIONS file and an empty WAL, and
    // deletes the old ones on the calling thread; deletions are slow on some
    // filesystems (ext4 mounted with `discard`, say). RocksDB's background
    // threads delete them instead.
    opts.set_avoid_unnecessary_blocking_io(true);
    // The database's id lives in its MANIFEST (RocksDB's default); the
    // IDENTITY file beside it is a deprecated copy that RocksDB plans to stop
    // writing. A checkpoint has none, so the first open of every branch
    // wrote one and synced it and its directory: 1.5 to 2 ms of an 8.5 ms
    // open on a disk (docs/branches.md).
    opts.set_write_identity_file(false);
    let target_file_size = match options.target_file_size {
      Some(size)
        if !(size >= MIN_TARGET_FILE_SIZE
          && size.fract() == 0.0
          && size <= MAX_WRITE_BUFFER_SIZE) =>
      {
        return Err(DbError::new(
          ErrorCode::OutOfRange,
          format!("options.targetFileSize must be an integer from {MIN_TARGET_FILE_SIZE} to {MAX_WRITE_BUFFER_SIZE}"),
        ));
      }
      Some(size) => size as u64,
      None => DEFAULT_TARGET_FILE_SIZE,
    };
    opts.set_target_file_size_base(target_file_size);
    if let Some(size) = options.write_buffer_size {
      if !(size >= 1.0 && size.fract() == 0.0 && size <= MAX_WRITE_BUFFER_SIZE) {
        return Err(DbError::new(
          ErrorCode::OutOfRange,
          format!("options.writeBufferSize must be an integer from 1 to {MAX_WRITE_BUFFER_SIZE}"),
        ));
      }
      opts.set_write_buffer_size(size as usize);
    }
    // Memtables take memory from their arena in blocks; the write buffer
    // manager counts whole blocks. RocksDB's default (an eighth of
    // writeBufferSize, 8 MiB) would count every memtable with a write in it
    // as 8 MiB against a shared budget. And with a stalling manager, a block
    // must be small beside the budget: the manager flushes at 7/8 of it, and
    // the flushed memtable stays counted while an optimistic database keeps
    // it as conflict-check history, so one block that took the memtable past
    // the whole budget at once would stall writers for good.
    let budget = Budget::current();
    let mut arena_block = ARENA_BLOCK_SIZE;
    if let Some(size) = options.write_buffer_size {
      arena_block = arena_block.min(size as usize / 8);
    }
    if budget.write_buffers.is_some() {
      arena_block = arena_block.min(budget.config.write_buffer_manager_size / 16);
    }
    opts.set_arena_block_size(arena_block.max(4096));
    if let Some(files) = options.max_open_files {
      if files < -1 {
        return Err(DbError::new(
          ErrorCode::OutOfRange,
          format!("options.maxOpenFiles must be -1 or more. Received {files}"),
        ));
      }
      opts.set_max_open_files(files);
    }
    // A Bloom filter (10 bits a key, about 1% false positives) lets a read
    // skip every SST file that lacks its key: without one, a miss, or a key
    // in an older file, searches the index of each L0 file on the way. (A
    // data-block hash index was measured too and did not speed up hits.)
    let mut table = BlockBasedOptions::default();
    table.set_bloom_filter(10.0, false);
    match &budget.cache {
      Some(cache) if !options.no_block_cache.unwrap_or(false) => {
        table.set_block_cache(cache);
        // Index and filter blocks in the shared cache too, so that branches
        // sharing an SST file share them; those of L0 files stay pinned
        // there, as a table reader would hold them without the cache.
        table.set_cache_index_and_filter_blocks(true);
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
      }
      _ => table.disable_cache(),
    }
    opts.set_block_based_table_factory(&table);
    if let Some(write_buffers) = &budget.write_buffers {
      opts.set_write_buffer_manager(write_buffers);
    }
    let mut write = WriteOptions::default();
    write.disable_wal(options.disable_wal.unwrap_or(false));
    let lock_timeout = options.lock_timeout.unwrap_or(0.0);
    if !(lock_timeout >= 0.0 && lock_timeout.fract() == 0.0 && lock_timeout <= MAX_LOCK_TIMEOUT) {
      return Err(DbError::new(
        ErrorCode::OutOfRange,
        format!("options.lockTimeout must be an integer from 0 to {MAX_LOCK_TIMEOUT}"),
      ));
    }
    Ok(EngineOptions {
      opts,
      budget,
      read_only,
      pessimistic: options
        .pessimistic
        .unwrap_or(false)
        .then_some(lock_timeout as i64),
      write,
      read: ReadOptions::default(),
      read_in_memory: {
        let mut read = ReadOptions::default();
        read.set_read_tier(rust_rocksdb::ReadTier::BlockCache);
        read
      },
    })
  }
}

/// The names `compression` accepts.
const COMPRESSIONS: [&str; 3] = ["none", "lz4", "zstd"];

fn parse_compression(name: Option<&str>) -> DbResult<DBCompressionType> {
  match name.unwrap_or("lz4") {
    "none" => Ok(DBCompressionType::None),
    "lz4" => Ok(DBCompressionType::Lz4),
    "zstd" => Ok(DBCompressionType::Zstd),
    other => Err(DbError::new(
      ErrorCode::InvalidArgument,
      format!("options.compression must be one of {COMPRESSIONS:?}, not '{other}'"),
    )),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn specs_name_options_as_javascript_does() {
    let specs = open_option_specs();
    let names: Vec<&str> = specs.iter().map(|spec| spec.name.as_str()).collect();
    assert!(names.contains(&"readOnly"));
    assert!(names.contains(&"parallelismThreads"));
    assert!(names.contains(&"disableWAL"), "js_name wins over camelCase");
    let threads = specs
      .iter()
      .find(|spec| spec.name == "parallelismThreads")
      .unwrap();
    assert_eq!(
      (threads.js_type.as_str(), threads.min, threads.max),
      ("number", Some(1.0), Some(256.0))
    );
    let compression = specs
      .iter()
      .find(|spec| spec.name == "compression")
      .unwrap();
    assert_eq!(
      compression.values.as_deref(),
      Some(&["none", "lz4", "zstd"][..])
    );
    for name in COMPRESSIONS {
      assert!(parse_compression(Some(name)).is_ok(), "{name}");
    }
  }
}
