//! Write batches: puts and removals packed by JavaScript into one buffer and
//! applied in one native call, atomically.
//!
//! The format, repeated until the buffer ends: a kind byte (`0` put, `1`
//! removal), the key's length as a little-endian `u32`, the key, and for a
//! put the value's length as a little-endian `u32` and the value. JavaScript
//! appends to such a buffer as it goes, so a batch of many writes costs one
//! crossing of the native boundary instead of one per write.

use crate::error::{DbError, DbResult, ErrorCode};

/// The one rule every key meets, in a batch or alone: it is not empty.
pub(crate) fn check_key(key: &[u8]) -> DbResult<()> {
  if key.is_empty() {
    return Err(DbError::new(
      ErrorCode::InvalidArgument,
      "key must not be empty",
    ));
  }
  Ok(())
}

const PUT: u8 = 0;
const REMOVE: u8 = 1;

/// One write of a packed batch, borrowing its bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Write<'a> {
  Put { key: &'a [u8], value: &'a [u8] },
  Remove { key: &'a [u8] },
}

/// The writes of a packed batch in order. A malformed buffer yields one
/// `ERR_INVALID_ARG_VALUE` error, and nothing after it.
pub(crate) struct Writes<'a> {
  rest: &'a [u8],
}

/// Reads the writes packed in `bytes`.
pub(crate) fn writes(bytes: &[u8]) -> Writes<'_> {
  Writes { rest: bytes }
}

/// Checks the whole batch before any of it is applied, so a bad write at the
/// end cannot leave a transaction holding only the writes before it.
pub(crate) fn check(bytes: &[u8]) -> DbResult<usize> {
  let mut count = 0;
  for write in writes(bytes) {
    write?;
    count += 1;
  }
  Ok(count)
}

fn malformed(what: &str) -> DbError {
  DbError::new(
    ErrorCode::InvalidArgument,
    format!("malformed write batch: {what}"),
  )
}

impl<'a> Writes<'a> {
  fn take(&mut self, length: usize) -> DbResult<&'a [u8]> {
    if self.rest.len() < length {
      self.rest = &[];
      return Err(malformed("an entry runs past the end"));
    }
    let (head, tail) = self.rest.split_at(length);
    self.rest = tail;
    Ok(head)
  }

  fn take_sized(&mut self) -> DbResult<&'a [u8]> {
    let length = self.take(4)?;
    let length = u32::from_le_bytes([length[0], length[1], length[2], length[3]]);
    self.take(length as usize)
  }

  fn next_write(&mut self) -> DbResult<Write<'a>> {
    let kind = self.take(1)?[0];
    let key = self.take_sized()?;
    check_key(key)?;
    match kind {
      PUT => Ok(Write::Put {
        key,
        value: self.take_sized()?,
      }),
      REMOVE => Ok(Write::Remove { key }),
      other => {
        self.rest = &[];
        Err(malformed(&format!("unknown kind {other}")))
      }
    }
  }
}

impl<'a> Iterator for Writes<'a> {
  type Item = DbResult<Write<'a>>;

  fn next(&mut self) -> Option<Self::Item> {
    if self.rest.is_empty() {
      return None;
    }
    let write = self.next_write();
    if write.is_err() {
      self.rest = &[];
    }
    Some(write)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn put(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = vec![PUT];
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(value);
    out
  }

  fn remove(key: &[u8]) -> Vec<u8> {
    let mut out = vec![REMOVE];
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out
  }

  #[test]
  fn reads_puts_and_removals_in_order() {
    let bytes = [put(b"a", b"1"), remove(b"b"), put(b"c\0d", b"")].concat();
    let read: Vec<_> = writes(&bytes).collect::<DbResult<_>>().unwrap();
    assert_eq!(
      read,
      vec![
        Write::Put {
          key: b"a",
          value: b"1"
        },
        Write::Remove { key: b"b" },
        Write::Put {
          key: b"c\0d",
          value: b""
        },
      ]
    );
    assert_eq!(check(&bytes).unwrap(), 3);
    assert_eq!(check(&[]).unwrap(), 0);
  }

  #[test]
  fn a_truncated_or_unknown_entry_is_one_error_and_ends_the_batch() {
    let whole = [put(b"a", b"1"), put(b"key", b"value")].concat();
    for cut in 1..whole.len() {
      if cut == put(b"a", b"1").len() {
        continue;
      }
      let results: Vec<_> = writes(&whole[..cut]).collect();
      assert!(results.last().unwrap().is_err(), "cut at {cut}");
      assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
      assert!(check(&whole[..cut]).is_err());
    }
    let mut unknown = put(b"a", b"1");
    unknown[0] = 7;
    let error = check(&unknown).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidArgument);
    assert!(error.message.contains("unknown kind 7"));
  }

  #[test]
  fn an_empty_key_is_refused() {
    let error = check(&put(b"", b"1")).unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidArgument);
  }

  #[test]
  fn a_length_beyond_the_buffer_is_refused_without_reading_past_it() {
    let mut bytes = vec![PUT];
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    bytes.extend_from_slice(b"short");
    assert!(check(&bytes).is_err());
  }
}
