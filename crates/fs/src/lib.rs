//! File-system primitives every phase shares.
//!
//! The one rule here: a file a reader may see is either absent or complete. Everything is written
//! to a temporary file in the destination directory and renamed into place, so a killed run or a
//! full disk never leaves a half-written file under its final name.

pub mod link;

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("cannot create directory {path}: {source}")]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
}

/// Writes `bytes` to `path` atomically (temp file in the same directory, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Like [`write_atomic`], with the content produced by `fill` into the temporary file.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), FsError> {
    let dir = parent_dir(path);
    create_dir_all(dir)?;
    let err = |source| FsError::Write {
        path: path.to_owned(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".kiln-tmp-")
        .tempfile_in(dir)
        .map_err(err)?;
    fill(tmp.as_file_mut()).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    // Keep the permissions a plain `File::create` would give: readers (web servers, mirrors)
    // expect 0644, not tempfile's 0600.
    set_default_mode(tmp.path()).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(unix)]
fn set_default_mode(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_default_mode(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// Copies `from` to `to` through a temporary name, so a reader never sees a partial copy.
pub fn copy_atomic(from: &Path, to: &Path) -> Result<(), FsError> {
    write_atomic_with(to, |f| {
        let mut src = File::open(from)?;
        io::copy(&mut src, f).map(|_| ())
    })
}

pub fn create_dir_all(path: &Path) -> Result<(), FsError> {
    std::fs::create_dir_all(path).map_err(|source| FsError::CreateDir {
        path: path.to_owned(),
        source,
    })
}

pub fn read(path: &Path) -> Result<Vec<u8>, FsError> {
    std::fs::read(path).map_err(|source| FsError::Read {
        path: path.to_owned(),
        source,
    })
}

pub fn read_to_string(path: &Path) -> Result<String, FsError> {
    std::fs::read_to_string(path).map_err(|source| FsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Points the symlink `link` at `target`, replacing what was there in one rename.
pub fn symlink_atomic(target: &Path, link: &Path) -> Result<(), FsError> {
    let dir = parent_dir(link);
    let name = link
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".kiln-tmp-{name}-{}", std::process::id()));
    let err = |source| FsError::Write {
        path: link.to_owned(),
        source,
    };
    let _ = std::fs::remove_file(&tmp);
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, &tmp).map_err(err)?;
    std::fs::rename(&tmp, link).map_err(err)?;
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/STATUS");
        write_atomic(&path, b"STARTED\n").unwrap();
        write_atomic(&path, b"FINISHED\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"FINISHED\n");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("STATUS")]);
    }

    #[test]
    fn failed_fill_keeps_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomic(&path, b"old").unwrap();
        let res = write_atomic_with(&path, |_| Err(io::Error::other("disk full")));
        assert!(res.unwrap_err().to_string().contains("disk full"));
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }
}
