use std::path::PathBuf;

/// Why a package could not be read. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum RpmError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not an RPM (bad lead magic)")]
    NotRpm { path: PathBuf },
    #[error("{path}: truncated: {what} ends past the end of the file")]
    Truncated { path: PathBuf, what: &'static str },
    #[error("{path}: bad {what} magic")]
    BadMagic { path: PathBuf, what: &'static str },
    #[error("{path}: malformed {what}: {problem}")]
    Malformed {
        path: PathBuf,
        what: &'static str,
        problem: String,
    },
    #[error("{path}: {problem}")]
    Header { path: PathBuf, problem: String },
}

impl RpmError {
    pub fn path(&self) -> &std::path::Path {
        match self {
            RpmError::Io { path, .. }
            | RpmError::NotRpm { path }
            | RpmError::Truncated { path, .. }
            | RpmError::BadMagic { path, .. }
            | RpmError::Malformed { path, .. }
            | RpmError::Header { path, .. } => path,
        }
    }
}
