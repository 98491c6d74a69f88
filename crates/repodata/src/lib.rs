//! yum/dnf repodata: primary, filelists, other, comps, modules, updateinfo and
//! repomd.xml, written byte-compatible with createrepo_c and read back as a
//! stream of [`kiln_rpm::Package`]s.

pub mod compress;
pub mod createrepo;
pub mod dump;
mod escape;
pub mod parse;
pub mod repo;
pub mod repomd;
mod xmlread;

use std::path::{Path, PathBuf};

pub use compress::Compression;
pub use dump::{Location, is_primary_file};
pub use parse::{PrimaryReader, RepoReader, Side, SideReader};
pub use repo::{ExtraFile, PackageStream, RepoOptions, packages_timestamp, write_repo};
pub use repomd::{Record, RepoMd};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {problem}")]
    Xml { file: String, problem: String },
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_owned(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
