//! The process's monotonic clock: wall-clock milliseconds that never repeat
//! and never go back, across every thread of the process, so that
//! timestamps taken by different worker threads order the events they
//! stamp (rocksdb-js's `getMonotonicTimestamp()`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use napi_derive::napi;

// The bits of the last timestamp handed out (an `f64`); one for the process,
// because the addon is loaded once however many threads use it.
static LAST: AtomicU64 = AtomicU64::new(0);

/// Milliseconds since the Unix epoch, with a fraction, greater than every
/// value this process returned before: when the wall clock has not moved
/// on (or went back), the next representable number after the last.
#[napi]
pub fn monotonic_timestamp() -> f64 {
  let now = SystemTime::now()
    .duration_since(UNIX_EPOCH)
    .map(|since| since.as_nanos() as f64 / 1_000_000.0)
    .unwrap_or(0.0);
  let mut last = LAST.load(Ordering::Acquire);
  loop {
    let previous = f64::from_bits(last);
    let next = if now > previous {
      now
    } else {
      next_up(previous)
    };
    match LAST.compare_exchange_weak(last, next.to_bits(), Ordering::AcqRel, Ordering::Acquire) {
      Ok(_) => return next,
      Err(seen) => last = seen,
    }
  }
}

/// The smallest `f64` greater than `value`, for a positive finite `value`
/// (timestamps are) or zero.
fn next_up(value: f64) -> f64 {
  if value == 0.0 {
    return f64::from_bits(1);
  }
  f64::from_bits(value.to_bits() + 1)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn timestamps_increase_across_threads() {
    let threads: Vec<_> = (0..4)
      .map(|_| {
        std::thread::spawn(|| {
          let mut stamps = Vec::with_capacity(10_000);
          for _ in 0..10_000 {
            stamps.push(monotonic_timestamp());
          }
          stamps
        })
      })
      .collect();
    let mut all = Vec::new();
    for thread in threads {
      let stamps = thread.join().unwrap();
      assert!(stamps.windows(2).all(|pair| pair[0] < pair[1]));
      all.extend(stamps);
    }
    let count = all.len();
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    all.dedup();
    assert_eq!(all.len(), count, "a timestamp was handed out twice");
  }

  #[test]
  fn next_up_is_the_next_number() {
    let value = 1_765_000_000_000.5_f64;
    assert!(next_up(value) > value);
    assert_eq!(next_up(value).to_bits(), value.to_bits() + 1);
  }
}
