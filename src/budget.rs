//! The process's memory budget: one block cache, one optional
//! `WriteBufferManager` and one pool of optimistic-transaction lock buckets,
//! shared by every database the process opens.
//!
//! An app server keeps hundreds of branches of one base open. Alone, each
//! RocksDB would have its own 32 MiB block cache holding its own copy of the
//! blocks it shares with its siblings (the branches' SST files are hardlinks
//! of the same files), and its own array of 2^20 lock buckets (40 MiB, the
//! bulk of what an open optimistic database costs). Shared, the blocks are
//! cached once (block cache keys come from each file's unique id, which a
//! hardlink keeps) and the buckets exist once. Plain Rust: no napi.

use std::sync::{Arc, Mutex};

use rust_rocksdb::{Cache, OccLockBuckets, WriteBufferManager};

/// What `RocksDatabase.config()` sets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetConfig {
  /// Bytes of the shared block cache; 0 opens databases without one.
  pub block_cache_size: usize,
  /// Bytes all memtables together may hold before RocksDB flushes the
  /// largest; 0 leaves each database to its own `writeBufferSize`.
  pub write_buffer_manager_size: usize,
  /// Charge memtable memory to the block cache, so both draw on one pool.
  pub write_buffer_manager_cost_to_cache: bool,
  /// Stall writers while memtables are over the budget, instead of only
  /// flushing sooner.
  pub write_buffer_manager_allow_stall: bool,
}

impl Default for BudgetConfig {
  fn default() -> Self {
    BudgetConfig {
      block_cache_size: DEFAULT_BLOCK_CACHE_SIZE,
      write_buffer_manager_size: 0,
      write_buffer_manager_cost_to_cache: false,
      write_buffer_manager_allow_stall: false,
    }
  }
}

/// The default shared block cache: 64 MiB for the whole process, twice what
/// RocksDB gives a single database by default.
pub const DEFAULT_BLOCK_CACHE_SIZE: usize = 64 << 20;

/// Lock buckets of the shared pool. RocksDB's default is 2^20 per database;
/// 2^16 shared keep commits of different keys apart as well for the
/// transactions one process runs at once, in 1/16 of one database's memory.
const LOCK_BUCKETS: usize = 1 << 16;

/// The shared resources databases are opened with.
pub struct Budget {
  pub config: BudgetConfig,
  pub cache: Option<Cache>,
  pub write_buffers: Option<WriteBufferManager>,
  pub lock_buckets: OccLockBuckets,
}

static BUDGET: Mutex<Option<Arc<Budget>>> = Mutex::new(None);

impl Budget {
  fn new(config: BudgetConfig, lock_buckets: OccLockBuckets) -> Budget {
    let cache =
      (config.block_cache_size > 0).then(|| Cache::new_lru_cache(config.block_cache_size));
    let write_buffers = (config.write_buffer_manager_size > 0).then(|| {
      match (&cache, config.write_buffer_manager_cost_to_cache) {
        (Some(cache), true) => WriteBufferManager::new_write_buffer_manager_with_cache(
          config.write_buffer_manager_size,
          config.write_buffer_manager_allow_stall,
          cache.clone(),
        ),
        _ => WriteBufferManager::new_write_buffer_manager(
          config.write_buffer_manager_size,
          config.write_buffer_manager_allow_stall,
        ),
      }
    });
    Budget {
      config,
      cache,
      write_buffers,
      lock_buckets,
    }
  }

  /// The budget databases opened now share, made with the defaults at first use.
  pub fn current() -> Arc<Budget> {
    let mut budget = BUDGET
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner());
    budget
      .get_or_insert_with(|| {
        Arc::new(Budget::new(
          BudgetConfig::default(),
          OccLockBuckets::new(LOCK_BUCKETS, false),
        ))
      })
      .clone()
  }

  /// Sets the budget of databases opened from now on. A new block cache size
  /// also resizes the cache that open databases share; the write buffer
  /// manager's settings apply to databases opened after the call.
  pub fn configure(config: BudgetConfig) {
    let mut budget = BUDGET
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner());
    let lock_buckets = budget.as_ref().map_or_else(
      || OccLockBuckets::new(LOCK_BUCKETS, false),
      |current| current.lock_buckets.clone(),
    );
    if let Some(current) = budget.as_ref() {
      // Everything but the cache's size as it was?
      let same_manager = BudgetConfig {
        block_cache_size: current.config.block_cache_size,
        ..config
      } == current.config;
      if let (Some(cache), true, true) = (&current.cache, config.block_cache_size > 0, same_manager)
      {
        // Only the cache's size changed: resize it in place, for every
        // database that shares it.
        let mut cache = cache.clone();
        cache.set_capacity(config.block_cache_size);
        *budget = Some(Arc::new(Budget {
          config,
          cache: Some(cache),
          write_buffers: current.write_buffers.clone(),
          lock_buckets,
        }));
        return;
      }
    }
    *budget = Some(Arc::new(Budget::new(config, lock_buckets)));
  }

  /// Bytes in the block cache and pinned there, and bytes of memtables the
  /// write buffer manager counts.
  pub fn usage(&self) -> BudgetUsage {
    BudgetUsage {
      block_cache_capacity: self.config.block_cache_size,
      block_cache_usage: self.cache.as_ref().map_or(0, Cache::get_usage),
      block_cache_pinned: self.cache.as_ref().map_or(0, Cache::get_pinned_usage),
      write_buffer_usage: self
        .write_buffers
        .as_ref()
        .map_or(0, WriteBufferManager::get_usage),
      lock_buckets_bytes: self.lock_buckets.approximate_memory_usage(),
    }
  }
}

/// What the shared budget holds now.
pub struct BudgetUsage {
  pub block_cache_capacity: usize,
  pub block_cache_usage: usize,
  pub block_cache_pinned: usize,
  pub write_buffer_usage: usize,
  pub lock_buckets_bytes: usize,
}
