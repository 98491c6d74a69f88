use std::fs::File;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComposeStatus {
    Started,
    Finished,
    FinishedIncomplete,
    Doomed,
    Terminated,
}

impl ComposeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ComposeStatus::Started => "STARTED",
            ComposeStatus::Finished => "FINISHED",
            ComposeStatus::FinishedIncomplete => "FINISHED_INCOMPLETE",
            ComposeStatus::Doomed => "DOOMED",
            ComposeStatus::Terminated => "TERMINATED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "STARTED" => ComposeStatus::Started,
            "FINISHED" => ComposeStatus::Finished,
            "FINISHED_INCOMPLETE" => ComposeStatus::FinishedIncomplete,
            "DOOMED" => ComposeStatus::Doomed,
            "TERMINATED" => ComposeStatus::Terminated,
            _ => return None,
        })
    }

    pub fn is_finished(self) -> bool {
        matches!(
            self,
            ComposeStatus::Finished | ComposeStatus::FinishedIncomplete
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Fs(#[from] kiln_fs::FsError),
    #[error("{path} says {found:?}, which is not a compose status")]
    Unknown { path: PathBuf, found: String },
    #[error("compose {0} is FINISHED; a finished compose is never changed")]
    AlreadyFinished(PathBuf),
    #[error(
        "compose {path} is in use by another kiln run (lock {lock}); wait for it or stop it first"
    )]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub fn read_status(topdir: &Path) -> Result<Option<ComposeStatus>, StatusError> {
    let path = topdir.join("STATUS");
    if !path.exists() {
        return Ok(None);
    }
    let text = kiln_fs::read_to_string(&path)?;
    ComposeStatus::parse(&text)
        .map(Some)
        .ok_or(StatusError::Unknown {
            path,
            found: text.trim().to_owned(),
        })
}

/// Writes STATUS atomically. A FINISHED compose keeps its status, as in pungi.
pub fn write_status(topdir: &Path, status: ComposeStatus) -> Result<(), StatusError> {
    if read_status(topdir)? == Some(ComposeStatus::Finished) && status != ComposeStatus::Finished {
        return Err(StatusError::AlreadyFinished(topdir.to_owned()));
    }
    kiln_fs::write_atomic(
        &topdir.join("STATUS"),
        format!("{}\n", status.as_str()).as_bytes(),
    )?;
    Ok(())
}

/// An exclusive lock on a compose directory, held for a whole run: two runs writing one compose
/// would interleave their outputs. Released when dropped (or when the process dies).
#[derive(Debug)]
pub struct ComposeLock {
    _file: File,
}

impl ComposeLock {
    pub fn acquire(topdir: &Path) -> Result<Self, StatusError> {
        let path = topdir.join(".kiln.lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StatusError::Lock {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(ComposeLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StatusError::Locked {
                path: topdir.to_owned(),
                lock: path,
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(StatusError::Lock { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_is_final_and_second_lock_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_status(dir.path(), ComposeStatus::Started).unwrap();
        write_status(dir.path(), ComposeStatus::Finished).unwrap();
        assert!(matches!(
            write_status(dir.path(), ComposeStatus::Doomed),
            Err(StatusError::AlreadyFinished(_))
        ));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("STATUS")).unwrap(),
            "FINISHED\n"
        );
        let _held = ComposeLock::acquire(dir.path()).unwrap();
        let err = ComposeLock::acquire(dir.path()).unwrap_err();
        assert!(err.to_string().contains("in use by another kiln run"));
    }
}
