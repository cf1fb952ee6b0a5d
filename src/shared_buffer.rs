//! User shared buffers: memory that every worker thread of the process sees
//! through its own `ArrayBuffer`, one block per database path, column family
//! and key (rocksdb-js's `getUserSharedBuffer()`). Counters and state words
//! settled with `Atomics` across threads live in them.
//!
//! A block lives as long as any `ArrayBuffer` over it: each holds a strong
//! reference, dropped by its finalizer, and the table holds only weak ones.
//! So a block outlives the database handle that made it (a retained buffer
//! stays valid after `close()`), and asking for a key again once every
//! buffer of it was collected starts from the default contents again.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};

use napi::bindgen_prelude::{Buffer, Unknown};
use napi::Env;
use napi_derive::napi;

use crate::external::external_array_buffer;

/// Zeroed memory aligned for the widest typed array (`BigInt64Array`,
/// `Float64Array`), never moved while it lives.
struct Block {
  data: *mut u8,
  len: usize,
  layout: Layout,
}

// SAFETY: the block is plain memory that this module never reads or writes
// after filling it; the threads that share it go through `ArrayBuffer`s,
// and what they do to it (with `Atomics` or not) is JavaScript's business,
// as with a `SharedArrayBuffer`.
unsafe impl Send for Block {}
unsafe impl Sync for Block {}

impl Block {
  /// A block holding a copy of `initial`; `None` when the memory cannot be
  /// had (an error for the caller, not an abort of the process).
  fn new(initial: &[u8]) -> Option<Block> {
    // Never zero-sized (the allocator forbids it, and napi refuses an
    // external buffer without memory), even for an empty default buffer.
    let layout = Layout::from_size_align(initial.len().max(8), 8).ok()?;
    // SAFETY: the layout has a non-zero size.
    let data = unsafe { alloc_zeroed(layout) };
    if data.is_null() {
      return None;
    }
    // SAFETY: `data` has room for `initial.len()` bytes and does not overlap it.
    unsafe { std::ptr::copy_nonoverlapping(initial.as_ptr(), data, initial.len()) };
    Some(Block {
      data,
      len: initial.len(),
      layout,
    })
  }
}

impl Drop for Block {
  fn drop(&mut self) {
    // SAFETY: allocated in `new` with this layout; the last reference is
    // going, so no `ArrayBuffer` points into it any more.
    unsafe { dealloc(self.data, self.layout) };
  }
}

/// The blocks by database path, column family and encoded key.
type Blocks = HashMap<(String, String, Vec<u8>), Weak<Block>>;

static BLOCKS: LazyLock<Mutex<Blocks>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The block of `path`, `family` and `key`, made from `initial` when there
/// is none alive; `None` when its memory cannot be had.
fn block_for(path: String, family: String, key: Vec<u8>, initial: &[u8]) -> Option<Arc<Block>> {
  let mut blocks = BLOCKS
    .lock()
    .unwrap_or_else(|poisoned| poisoned.into_inner());
  let id = (path, family, key);
  if let Some(block) = blocks.get(&id).and_then(Weak::upgrade) {
    return Some(block);
  }
  // Entries of collected blocks go when the next block is made, so the
  // table stays as large as the blocks alive.
  blocks.retain(|_, block| block.strong_count() > 0);
  let block = Arc::new(Block::new(initial)?);
  blocks.insert(id, Arc::downgrade(&block));
  Some(block)
}

/// How many blocks of the database at `path` are alive, by column family.
#[napi]
pub fn user_shared_buffer_counts(path: String) -> HashMap<String, u32> {
  let blocks = BLOCKS
    .lock()
    .unwrap_or_else(|poisoned| poisoned.into_inner());
  let mut counts = HashMap::new();
  for ((block_path, family, _), block) in blocks.iter() {
    if *block_path == path && block.strong_count() > 0 {
      *counts.entry(family.clone()).or_insert(0) += 1;
    }
  }
  counts
}

/// A new `ArrayBuffer` over the block of `path`, `family` and `key` (the key
/// encoded), shared with every other such buffer in any thread; a block
/// that does not exist yet starts as a copy of `initial`.
#[napi(ts_return_type = "ArrayBuffer")]
pub fn user_shared_buffer<'env>(
  env: &'env Env,
  path: String,
  family: String,
  key: Buffer,
  initial: Buffer,
) -> napi::Result<Unknown<'env>> {
  let Some(block) = block_for(path, family, key.to_vec(), &initial) else {
    return Err(napi::Error::new(
      napi::Status::GenericFailure,
      format!(
        "cannot allocate {} bytes for a user shared buffer",
        initial.len()
      ),
    ));
  };
  let (data, len) = (block.data, block.len);
  // The lock of the table is not held here: making the buffer can collect
  // garbage, whose finalizers drop blocks.
  external_array_buffer(env, block, data, len, "a user shared buffer")
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn one_block_per_key_while_alive() {
    let made = |family: &str, initial: &[u8]| {
      block_for("/p".into(), family.into(), b"k".to_vec(), initial).expect("memory")
    };
    let a = made("default", &[1, 2, 3]);
    let b = made("default", &[9, 9, 9]);
    assert!(Arc::ptr_eq(&a, &b), "the second ask shares the first block");
    // SAFETY: the block holds 3 bytes copied from the first default.
    assert_eq!(
      unsafe { std::slice::from_raw_parts(a.data, a.len) },
      &[1, 2, 3]
    );
    let other = made("other", &[7]);
    assert!(
      !Arc::ptr_eq(&a, &other),
      "families have blocks of their own"
    );
    drop((a, b));
    let again = made("default", &[4]);
    // SAFETY: the new block holds 1 byte.
    assert_eq!(
      unsafe { std::slice::from_raw_parts(again.data, again.len) },
      &[4]
    );
    assert_eq!(again.data as usize % 8, 0, "aligned for 64-bit arrays");
  }

  #[test]
  fn an_empty_default_makes_an_empty_block() {
    let block = block_for("/empty".into(), "default".into(), Vec::new(), &[]).expect("memory");
    assert_eq!(block.len, 0);
    assert!(!block.data.is_null());
  }
}
