//! Key locks: process-wide advisory locks on keys of a database, shared by
//! every handle of its path in every worker thread (rocksdb-js's
//! `tryLock`, `unlock`, `hasLock`). Nothing waits in here: a caller that
//! finds a key locked leaves a callback, and every callback left on a key
//! is called, in the thread that left it, when the key is unlocked.
//!
//! A lock belongs to the handle that took it only for its lifetime: any
//! handle may unlock a key, and closing (or collecting) the handle that
//! took it unlocks it, so a worker that ends holding a lock does not keep
//! the others waiting forever.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};

use napi::bindgen_prelude::Buffer;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

/// A callback left on a locked key, callable from any thread.
type Waiter = ThreadsafeFunction<(), (), (), napi::Status, false>;

struct Held {
  /// The `KeyLocks` that took the lock.
  owner: u32,
  /// The callbacks to call when it is unlocked, with the `KeyLocks` that left each.
  waiters: Vec<(u32, Waiter)>,
}

/// The locks held, by database path and encoded key.
type Locks = HashMap<(String, Vec<u8>), Held>;

static LOCKS: LazyLock<Mutex<Locks>> = LazyLock::new(|| Mutex::new(HashMap::new()));

static NEXT_OWNER: AtomicU32 = AtomicU32::new(1);

fn locks() -> MutexGuard<'static, Locks> {
  LOCKS
    .lock()
    .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Calls the callbacks left on a key just unlocked. Outside the table's
/// lock: a call only queues the callback on its thread's event loop, but a
/// thread being torn down may run finalizers that come back here.
fn wake(waiters: Vec<(u32, Waiter)>) {
  for (_, waiter) in waiters {
    // A thread that has ended can no longer be called: nothing to do.
    let _ = waiter.call((), ThreadsafeFunctionCallMode::NonBlocking);
  }
}

/// How many keys of the database at `path` (canonical) are locked.
#[napi]
pub fn key_lock_count(path: String) -> u32 {
  locks().keys().filter(|(locked, _)| *locked == path).count() as u32
}

/// The key locks of one database handle: what it takes, it holds until it
/// unlocks them or the handle closes.
#[napi]
pub struct KeyLocks {
  id: u32,
  path: String,
}

#[napi]
impl KeyLocks {
  /// The key locks of a handle of the database at `path` (its canonical path,
  /// so that every handle of the database names it alike).
  #[napi(constructor)]
  pub fn new(path: String) -> Self {
    KeyLocks {
      id: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
      path,
    }
  }

  /// Locks `key` if nobody holds it and returns `true`; otherwise returns
  /// `false` and, when given, calls `on_unlocked` (in this thread) once the
  /// key is unlocked.
  #[napi(ts_args_type = "key: Buffer, onUnlocked?: () => void")]
  pub fn try_lock(&self, key: Buffer, on_unlocked: Option<Waiter>) -> bool {
    let mut locks = locks();
    match locks.get_mut(&(self.path.clone(), key.to_vec())) {
      Some(held) => {
        if let Some(waiter) = on_unlocked {
          held.waiters.push((self.id, waiter));
        }
        false
      }
      None => {
        locks.insert(
          (self.path.clone(), key.to_vec()),
          Held {
            owner: self.id,
            waiters: Vec::new(),
          },
        );
        true
      }
    }
  }

  /// Unlocks `key`, whoever locked it, and calls the callbacks left on it;
  /// `false` when it was not locked.
  #[napi]
  pub fn unlock(&self, key: Buffer) -> bool {
    let held = locks().remove(&(self.path.clone(), key.to_vec()));
    match held {
      Some(held) => {
        wake(held.waiters);
        true
      }
      None => false,
    }
  }

  /// Whether `key` is locked, by any handle of the database in any thread.
  #[napi]
  pub fn has_lock(&self, key: Buffer) -> bool {
    locks().contains_key(&(self.path.clone(), key.to_vec()))
  }

  /// Unlocks every key this handle locked, and forgets the callbacks it
  /// left on keys others hold (their thread may be ending). For `close()`;
  /// dropping the object does it too.
  #[napi]
  pub fn release(&self) {
    let mut woken = Vec::new();
    let mut forgotten = Vec::new();
    {
      let mut locks = locks();
      locks.retain(|(path, _), held| {
        if *path != self.path {
          return true;
        }
        if held.owner == self.id {
          woken.append(&mut held.waiters);
          return false;
        }
        let (mine, others) = held
          .waiters
          .drain(..)
          .partition(|(owner, _)| *owner == self.id);
        held.waiters = others;
        forgotten.push(mine);
        true
      });
    }
    // The callbacks of this handle on its own locks go with the rest of them
    // unheard: the handle is closing.
    let (mine, others): (Vec<_>, Vec<_>) =
      woken.into_iter().partition(|(owner, _)| *owner == self.id);
    drop((mine, forgotten));
    wake(others);
  }
}

impl Drop for KeyLocks {
  fn drop(&mut self) {
    self.release();
  }
}
