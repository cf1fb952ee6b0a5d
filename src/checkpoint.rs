//! `createCheckpoint`: RocksDB's Checkpoint, guarded so that it never touches a
//! file it did not make.
//!
//! RocksDB stages a checkpoint in the sibling directory `<target>.tmp` and
//! deletes whatever it finds there first. A user's directory of that name
//! would be lost, so both the target and its staging path must be absent
//! before RocksDB is called.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use rust_rocksdb::checkpoint::{
  Checkpoint, OptimisticTransactionDBCheckpoint, TransactionDBCheckpoint,
};

use crate::engine::{Db, Engine};
use crate::error::{DbError, DbResult, ErrorCode};

/// Writes a checkpoint of `engine`, the database in directory `source`, to
/// `target`.
pub(crate) fn create(engine: &Engine, source: &Path, target: &Path) -> DbResult<()> {
  let target = Target::prepare(target)?;
  refuse_inside(source, &target.path)?;
  engine.writing(|| {
    let outcome = match &engine.db {
      Db::ReadWrite(db) => {
        OptimisticTransactionDBCheckpoint::new(db)?.create_checkpoint(&target.path)
      }
      Db::Pessimistic(db) => TransactionDBCheckpoint::new(db)?.create_checkpoint(&target.path),
      Db::ReadOnly(db) => Checkpoint::new(db)?.create_checkpoint(&target.path),
    };
    outcome.map_err(|err| {
      let err = DbError::from(err);
      // Another writer may have made the target between our check and
      // RocksDB's own: report it as the same condition.
      if err.code == ErrorCode::RocksInvalidArgument && err.message.contains("exists") {
        DbError::new(ErrorCode::TargetExists, err.message)
      } else {
        err
      }
    })
  })?;
  target.keep();
  Ok(())
}

/// Refuses a target inside the database directory `source`: RocksDB would
/// write the checkpoint among the files of the database it copies, where
/// it could overwrite them (`<db>/999999.log`) or be deleted with them.
fn refuse_inside(source: &Path, target: &Path) -> DbResult<()> {
  let Ok(source) = fs::canonicalize(source) else {
    return Ok(());
  };
  if resolve_existing(target).starts_with(&source) {
    return Err(DbError::new(
      ErrorCode::InvalidArgument,
      format!(
        "The \"targetPath\" argument must not be inside the database directory {}: {} resolves into it",
        source.display(),
        target.display()
      ),
    ));
  }
  Ok(())
}

/// `path` with its deepest existing ancestor resolved through symlinks, so
/// that two spellings of one directory compare equal.
fn resolve_existing(path: &Path) -> PathBuf {
  let mut rest = Vec::new();
  let mut cursor = path;
  loop {
    if let Ok(real) = fs::canonicalize(cursor) {
      return rest.iter().rev().fold(real, |dir, part| dir.join(part));
    }
    match (cursor.parent(), cursor.file_name()) {
      (Some(parent), Some(name)) => {
        rest.push(name.to_os_string());
        cursor = parent;
      }
      _ => return path.to_path_buf(),
    }
  }
}

/// The path a checkpoint is written to, made ready: absolute, normalised,
/// absent, with its staging path absent and its parents created.
///
/// Dropped without `keep()`, it removes the parent directories it created, so
/// a failed checkpoint leaves the filesystem as it found it.
#[derive(Debug)]
pub(crate) struct Target {
  pub path: PathBuf,
  created: Vec<PathBuf>,
}

impl Target {
  pub fn prepare(raw: &Path) -> DbResult<Target> {
    let path = normalise(raw)?;
    if path.parent().is_none() {
      return Err(DbError::new(
        ErrorCode::InvalidArgument,
        format!("checkpoint target {} is a filesystem root", path.display()),
      ));
    }
    if exists(&path) {
      return Err(DbError::new(
        ErrorCode::TargetExists,
        format!("checkpoint target {} already exists", path.display()),
      ));
    }
    let staging = staging_path(&path);
    if exists(&staging) {
      return Err(DbError::new(
        ErrorCode::StagingPathExists,
        format!(
          "{} exists; RocksDB stages the checkpoint there and would delete it, so it is refused",
          staging.display()
        ),
      ));
    }
    let mut target = Target {
      path,
      created: Vec::new(),
    };
    target.create_parents()?;
    Ok(target)
  }

  /// Creates the missing ancestors of the target, outermost first, and
  /// remembers each one made.
  fn create_parents(&mut self) -> DbResult<()> {
    let mut missing = Vec::new();
    let mut cursor = self.path.parent();
    while let Some(dir) = cursor {
      match fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => break,
        // A symlink to a directory is as good as one.
        Ok(meta) if meta.file_type().is_symlink() && dir.is_dir() => break,
        Ok(_) => {
          return Err(DbError::new(
            ErrorCode::NotADirectory,
            format!(
              "cannot create checkpoint {}: {} is not a directory",
              self.path.display(),
              dir.display()
            ),
          ))
        }
        // ENOTDIR: an ancestor further up is a file; the walk reaches and names it.
        Err(err)
          if matches!(
            err.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
          ) =>
        {
          missing.push(dir.to_path_buf())
        }
        Err(err) => return Err(DbError::io(&err, "cannot inspect", dir)),
      }
      cursor = dir.parent();
    }
    for dir in missing.into_iter().rev() {
      fs::create_dir(&dir).map_err(|err| DbError::io(&err, "cannot create directory", &dir))?;
      self.created.push(dir);
    }
    Ok(())
  }

  /// The checkpoint succeeded: the created directories now hold it.
  pub fn keep(mut self) {
    self.created.clear();
  }
}

impl Drop for Target {
  fn drop(&mut self) {
    // Innermost first; `remove_dir` refuses a directory that is not empty,
    // so nothing but what this target made can go.
    for dir in self.created.iter().rev() {
      let _ = fs::remove_dir(dir);
    }
  }
}

fn exists(path: &Path) -> bool {
  fs::symlink_metadata(path).is_ok()
}

/// `<target>.tmp`, spelt as RocksDB spells it.
pub(crate) fn staging_path(target: &Path) -> PathBuf {
  let mut name = OsString::from(target.as_os_str());
  name.push(".tmp");
  PathBuf::from(name)
}

/// Makes `raw` absolute and drops `.` components and trailing separators,
/// which would otherwise change the staging path RocksDB derives.
fn normalise(raw: &Path) -> DbResult<PathBuf> {
  if raw.as_os_str().is_empty() {
    return Err(DbError::new(
      ErrorCode::InvalidArgument,
      "checkpoint target must not be empty",
    ));
  }
  let absolute = if raw.is_absolute() {
    raw.to_path_buf()
  } else {
    std::env::current_dir()
      .map_err(|err| DbError::io(&err, "cannot resolve", raw))?
      .join(raw)
  };
  let mut out = PathBuf::new();
  for component in absolute.components() {
    match component {
      Component::CurDir => {}
      Component::ParentDir => {
        out.pop();
      }
      other => out.push(other.as_os_str()),
    }
  }
  Ok(out)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rb-target-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
  }

  #[test]
  fn staging_path_appends_tmp_like_rocksdb() {
    assert_eq!(staging_path(Path::new("/a/b")), PathBuf::from("/a/b.tmp"));
  }

  #[test]
  fn normalise_drops_trailing_separators_and_dots() {
    assert_eq!(
      normalise(Path::new("/a/./b/")).unwrap(),
      PathBuf::from("/a/b")
    );
    assert_eq!(
      normalise(Path::new("/a/c/../b")).unwrap(),
      PathBuf::from("/a/b")
    );
    assert!(normalise(Path::new("rel")).unwrap().is_absolute());
    assert_eq!(
      normalise(Path::new("")).unwrap_err().code,
      ErrorCode::InvalidArgument
    );
  }

  #[test]
  fn existing_target_and_staging_are_refused_untouched() {
    let dir = scratch("exists");
    let target = dir.join("cp");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), b"x").unwrap();
    assert_eq!(
      Target::prepare(&target).unwrap_err().code,
      ErrorCode::TargetExists
    );
    assert!(target.join("keep").exists());

    let other = dir.join("cp2");
    fs::create_dir(staging_path(&other)).unwrap();
    fs::write(staging_path(&other).join("keep"), b"x").unwrap();
    assert_eq!(
      Target::prepare(&other).unwrap_err().code,
      ErrorCode::StagingPathExists
    );
    assert!(staging_path(&other).join("keep").exists());
    fs::remove_dir_all(dir).unwrap();
  }

  #[test]
  fn parents_are_created_and_removed_again_when_not_kept() {
    let dir = scratch("parents");
    let target = dir.join("x/y/cp");
    {
      let prepared = Target::prepare(&target).unwrap();
      assert!(dir.join("x/y").is_dir());
      assert!(!prepared.path.exists());
    }
    assert!(!dir.join("x").exists(), "unkept parents are removed");
    Target::prepare(&target).unwrap().keep();
    assert!(dir.join("x/y").is_dir(), "kept parents stay");
    fs::remove_dir_all(dir).unwrap();
  }

  #[test]
  fn a_file_in_the_path_is_not_a_directory() {
    let dir = scratch("file");
    fs::write(dir.join("f"), b"x").unwrap();
    let err = Target::prepare(&dir.join("f/sub/cp")).unwrap_err();
    assert_eq!(err.code, ErrorCode::NotADirectory);
    assert!(
      err.message.contains("is not a directory"),
      "{}",
      err.message
    );
    fs::remove_dir_all(dir).unwrap();
  }
}
