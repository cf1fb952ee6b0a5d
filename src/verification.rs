//! The verification table: process-wide, fixed-size slots that say which
//! version of a record is the latest, so that a reader holding a cached copy
//! of that version knows it is still fresh without reading (rocksdb-js's
//! `verifyVersion`, `populateVersion` and `expectedVersion`). A record's
//! version is the big-endian float64 its value starts with.
//!
//! A slot is addressed by a hash of the database's open (its epoch), the
//! column family and the key, so distinct keys may share one: that only
//! costs a read, never answers fresh for a version that is not the latest,
//! because every write to a key moves its slot, and a read may publish a
//! version only into the slot state it saw before it read.
//!
//! A slot holds, as a u64:
//! - 0: never used;
//! - a version: the bit pattern of a positive float64 (top bit clear);
//! - a write in flight: `LOCKED` plus how many writers hold it;
//! - settled: `LOCKED | SETTLED` plus a generation that only grows, left by
//!   each write as it ends, so a slot never returns to a state a reader
//!   could have seen before that write (no ABA for the publish below).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;

use napi_derive::napi;

const LOCKED: u64 = 1 << 63;
const SETTLED: u64 = 1 << 62;
const SETTLED_GENERATION: u64 = SETTLED - 1;
const HOLDERS: u64 = (1 << 32) - 1;

/// The number of slots the table is made with at its first use.
static ENTRIES: AtomicI64 = AtomicI64::new(131_072);
static TABLE: OnceLock<Box<[AtomicU64]>> = OnceLock::new();
static GENERATION: AtomicU64 = AtomicU64::new(1);

fn table() -> &'static [AtomicU64] {
  TABLE.get_or_init(|| {
    let entries = ENTRIES.load(Ordering::Acquire).max(0) as usize;
    let size = if entries == 0 {
      0
    } else {
      entries.next_power_of_two()
    };
    (0..size).map(|_| AtomicU64::new(0)).collect()
  })
}

fn slot(index: i32) -> Option<&'static AtomicU64> {
  usize::try_from(index)
    .ok()
    .and_then(|index| table().get(index))
}

fn is_lock(value: u64) -> bool {
  value & LOCKED != 0 && value & SETTLED == 0
}

fn settled() -> u64 {
  LOCKED | SETTLED | (GENERATION.fetch_add(1, Ordering::Relaxed) & SETTLED_GENERATION)
}

/// The slot value of `version`, when it is one (a positive finite number).
fn version_bits(version: f64) -> Option<u64> {
  (version.is_finite() && version > 0.0).then(|| version.to_bits())
}

/// Sets the number of slots (rounded up to a power of two; 0 disables the
/// table). Refused once the table is made, unless the number is the same.
#[napi]
// Its tests go through `set_entries`, which holds its logic without napi.
#[cfg_attr(test, allow(dead_code))]
pub fn configure_verification_table(entries: u32) -> napi::Result<()> {
  set_entries(entries).map_err(napi::Error::from_reason)
}

fn set_entries(entries: u32) -> Result<(), &'static str> {
  if let Some(table) = TABLE.get() {
    let wanted = if entries == 0 {
      0
    } else {
      (entries as usize).next_power_of_two()
    };
    if wanted != table.len() {
      return Err("Verification table size cannot be changed after the first database is opened");
    }
    return Ok(());
  }
  ENTRIES.store(entries as i64, Ordering::Release);
  Ok(())
}

/// The slot of `key` in the column family `family` of the database open as
/// `epoch`; -1 when the table is disabled.
#[napi]
pub fn verification_slot(epoch: u32, family: String, key: &[u8]) -> i32 {
  let slots = table().len();
  if slots == 0 {
    return -1;
  }
  let mut hasher = DefaultHasher::new();
  (epoch, family.as_str(), key).hash(&mut hasher);
  (hasher.finish() as usize & (slots - 1)) as i32
}

/// Whether the slot holds `version`.
#[napi]
pub fn verification_verify(index: i32, version: f64) -> bool {
  match (slot(index), version_bits(version)) {
    (Some(slot), Some(bits)) => slot.load(Ordering::Acquire) == bits,
    _ => false,
  }
}

/// Puts `version` in the slot, whatever it holds, unless a write is in
/// flight there; `false` when it did not.
#[napi]
pub fn verification_populate(index: i32, version: f64) -> bool {
  let (Some(slot), Some(bits)) = (slot(index), version_bits(version)) else {
    return false;
  };
  let mut current = slot.load(Ordering::Acquire);
  loop {
    if is_lock(current) {
      return false;
    }
    match slot.compare_exchange_weak(current, bits, Ordering::AcqRel, Ordering::Acquire) {
      Ok(_) => return true,
      Err(now) => current = now,
    }
  }
}

/// What the slot holds before a read, as a number `verification_publish`
/// takes back: a version as itself, 0 unused, a settled slot as minus its
/// generation, a write in flight as -Infinity (nothing may be published).
#[napi]
pub fn verification_observe(index: i32) -> f64 {
  let Some(slot) = slot(index) else {
    return f64::NEG_INFINITY;
  };
  let value = slot.load(Ordering::Acquire);
  if value == 0 {
    0.0
  } else if value & LOCKED == 0 {
    f64::from_bits(value)
  } else if value & SETTLED != 0 {
    // Generations stay far below 2^53: one per write.
    -((value & SETTLED_GENERATION) as f64)
  } else {
    f64::NEG_INFINITY
  }
}

/// Publishes `version`, read after `verification_observe` gave `observed`,
/// only if the slot still holds what was observed: a write since moved it,
/// and then the version read may no longer be the latest.
#[napi]
pub fn verification_publish(index: i32, observed: f64, version: f64) -> bool {
  let (Some(slot), Some(bits)) = (slot(index), version_bits(version)) else {
    return false;
  };
  let expected = if observed == 0.0 {
    0
  } else if observed > 0.0 {
    observed.to_bits()
  } else if observed.is_finite() {
    LOCKED | SETTLED | ((-observed) as u64 & SETTLED_GENERATION)
  } else {
    return false;
  };
  slot
    .compare_exchange(expected, bits, Ordering::AcqRel, Ordering::Acquire)
    .is_ok()
}

/// Marks a write in flight on the slot: until `verification_settle`, no
/// version verifies or is published there.
#[napi]
pub fn verification_lock(index: i32) {
  let Some(slot) = slot(index) else { return };
  let _ = slot.fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
    Some(if is_lock(current) && current & HOLDERS < HOLDERS {
      current + 1
    } else {
      LOCKED | 1
    })
  });
}

/// Ends a write marked by `verification_lock`: the last one leaves the slot
/// settled at a new generation.
#[napi]
pub fn verification_settle(index: i32) {
  let Some(slot) = slot(index) else { return };
  let _ = slot.fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
    Some(if is_lock(current) && current & HOLDERS > 1 {
      current - 1
    } else {
      settled()
    })
  });
}

/// Settles every slot without a write in flight at a new generation: after
/// a whole column family was cleared or dropped, no version verifies, and
/// no read begun before publishes.
#[napi]
pub fn verification_sweep() {
  // A table never made holds nothing to move.
  let Some(table) = TABLE.get() else { return };
  let generation = settled();
  for slot in table.iter() {
    let _ = slot.fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
      (!is_lock(current)).then_some(generation)
    });
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::Mutex;

  // A sweep moves every slot: the tests take turns.
  static SERIAL: Mutex<()> = Mutex::new(());

  fn index(key: &[u8]) -> i32 {
    verification_slot(7, "tests".into(), key)
  }

  #[test]
  fn a_populated_version_verifies_until_a_write() {
    let _turn = SERIAL
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner());
    let at = index(b"a");
    assert!(at >= 0);
    assert!(verification_populate(at, 5.0));
    assert!(verification_verify(at, 5.0));
    assert!(!verification_verify(at, 6.0));
    verification_lock(at);
    assert!(!verification_verify(at, 5.0), "a write in flight");
    assert!(
      !verification_populate(at, 6.0),
      "no populate during a write"
    );
    verification_settle(at);
    assert!(
      !verification_verify(at, 5.0),
      "settled past the old version"
    );
    assert!(!verification_populate(at, 0.0), "0 is no version");
    assert!(!verification_populate(at, f64::NAN));
  }

  #[test]
  fn a_read_publishes_only_into_the_state_it_saw() {
    let _turn = SERIAL
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner());
    let at = index(b"b");
    let observed = verification_observe(at);
    assert!(verification_publish(at, observed, 9.0));
    assert!(verification_verify(at, 9.0));
    let before = verification_observe(at);
    verification_lock(at);
    verification_settle(at);
    assert!(
      !verification_publish(at, before, 10.0),
      "a write came between"
    );
    let locked = {
      verification_lock(at);
      verification_observe(at)
    };
    assert_eq!(locked, f64::NEG_INFINITY);
    assert!(!verification_publish(at, locked, 11.0));
    verification_lock(at);
    verification_settle(at);
    assert!(
      verification_observe(at) == f64::NEG_INFINITY,
      "one holder left"
    );
    verification_settle(at);
    assert!(verification_observe(at) < 0.0, "settled");
  }

  #[test]
  fn the_size_is_fixed_once_the_table_is_made() {
    let made = table().len() as u32;
    assert!(set_entries(made).is_ok(), "the same size is no change");
    assert!(set_entries(made * 2).is_err());
    assert!(set_entries(0).is_err());
  }

  #[test]
  fn a_sweep_moves_every_slot_but_writes_in_flight() {
    let _turn = SERIAL
      .lock()
      .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (a, b) = (index(b"c"), index(b"d"));
    let before = verification_observe(a);
    verification_populate(b, 3.0);
    verification_sweep();
    assert!(!verification_verify(b, 3.0));
    assert!(!verification_publish(a, before, 4.0));
  }
}
