//! Artifacts parsed at most once per process while their file stays the same.
//!
//! A compose's phases run in one process, and gather, createrepo and repoclosure would each
//! parse the same tens of megabytes of package set and gather results again. The file is still
//! the contract (a resumed compose, another kiln command, a person read it); this only spares
//! re-parsing it. An entry serves only while the file is the one it was parsed from (device,
//! inode, size, mtime, ctime): a file written again, atomically, is a new inode and is parsed
//! again.

use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::{Artifact, ArtifactError};

/// What says a file is still the one a shared value was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl FileId {
    #[cfg(unix)]
    fn of(path: &Path) -> Option<FileId> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(FileId {
            dev: m.dev(),
            ino: m.ino(),
            size: m.len(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        })
    }

    // Without inode numbers a rewrite cannot be told apart reliably: nothing is shared.
    #[cfg(not(unix))]
    fn of(_path: &Path) -> Option<FileId> {
        None
    }
}

type Value = Arc<dyn Any + Send + Sync>;
type Shared = Mutex<HashMap<PathBuf, (FileId, Value)>>;

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(Default::default)
}

/// The value of the file at `path`, parsed only when no reader in this process parsed (or
/// its writer shared) this very file.
pub(crate) fn load<T: Artifact + Send + Sync + 'static>(
    path: &Path,
) -> Result<Arc<T>, ArtifactError> {
    let id = FileId::of(path);
    if let Some(id) = id
        && let Some(value) = shared().lock().ok().and_then(|m| {
            m.get(path)
                .filter(|(i, _)| *i == id)
                .and_then(|(_, v)| v.clone().downcast::<T>().ok())
        })
    {
        return Ok(value);
    }
    let value = Arc::new(T::load(path)?);
    if let Some(id) = id
        && let Ok(mut m) = shared().lock()
    {
        m.insert(path.to_owned(), (id, value.clone()));
    }
    Ok(value)
}

/// Hands the value its writer has just written to `path` to this process's later readers.
pub(crate) fn share<T: Send + Sync + 'static>(path: &Path, value: T) -> Arc<T> {
    let value = Arc::new(value);
    if let Some(id) = FileId::of(path)
        && let Ok(mut m) = shared().lock()
    {
        m.insert(path.to_owned(), (id, value.clone()));
    }
    value
}

/// Forgets every shared value of type `T`.
pub(crate) fn release<T: 'static>() {
    if let Ok(mut m) = shared().lock() {
        m.retain(|_, (_, v)| !v.is::<T>());
    }
}
