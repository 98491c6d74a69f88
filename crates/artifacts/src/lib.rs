//! What phases hand each other: every file one phase writes under `work/` for other phases to
//! read, as a typed, versioned contract.
//!
//! | artifact | file | written by | read by |
//! |---|---|---|---|
//! | [`PackageSet`] | `work/global/pkgset/<arch>.json` | pkgset | gather, createrepo, repoclosure |
//! | [`GatherResult`] | `work/<arch>/gather/<V>.<arch>.json` | gather | createrepo, repoclosure |
//! | [`ImageRecords`] | `work/global/images/<phase>.json` | each image phase, its own file | imagechecksum |
//!
//! A gather result's packages point at their headers in the arch's package set ([`Headers`]), so
//! its readers read the package set too: each header is stored once per compose.
//!
//! Phases never import each other; they meet here. Each file starts with an `artifact` stamp
//! (`{"kind": ..., "version": ...}`) so that a file from another kiln, or one a phase of another
//! kind wrote, is refused with its path and what to do, instead of being half understood. A change
//! to a type's fields that older readers cannot take bumps its `VERSION`.
//!
//! Writers go through [`Artifact::encode_for`], which refuses any phase but the artifact's writer:
//! "written by exactly one phase" is checked on every write, not only documented.

mod gather;
mod images;
mod package_set;
mod shared;
mod stamp;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use gather::{GatherResult, GatheredPackage, Reason, Tree, UnresolvedDep};
pub use images::{IMAGE_PHASES, ImageRecords};
pub use package_set::{Entry, FileStat, Headers, PackageSet, checksum_of};
pub use stamp::Stamp;

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("cannot read {path}: {source} (has the {writer} phase run?)")]
    Read {
        path: PathBuf,
        writer: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid {kind}: {source}")]
    Parse {
        path: PathBuf,
        kind: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the {arch} package set has no {nevra} at {source_file} with checksum {checksum}: the \
         gather results are older than the package set (run the compose again from gather)"
    )]
    NotInPackageSet {
        arch: String,
        nevra: String,
        source_file: PathBuf,
        checksum: String,
    },
    #[error("the {phase} phase may not write a {kind}: only {writer} does")]
    NotTheWriter {
        phase: String,
        kind: &'static str,
        writer: String,
    },
}

/// A file one phase writes for others.
pub trait Artifact: Serialize + DeserializeOwned {
    /// What the stamp calls it: `gather-result`.
    const KIND: &'static str;
    /// Bumped whenever older readers could misread the file.
    const VERSION: u32;
    /// The phase that writes it (for messages and for [`Artifact::encode_for`]).
    const WRITER: &'static str;
    /// Pretty-printed JSON (small files people read) or compact (large ones).
    const PRETTY: bool;

    /// The phase that wrote this value; [`ImageRecords`] has one writer per file.
    fn writer(&self) -> &str {
        Self::WRITER
    }

    /// Deterministic bytes: a trailing newline, field order as declared.
    fn to_json(&self) -> Vec<u8> {
        let mut out = if Self::PRETTY {
            serde_json::to_vec_pretty(self)
        } else {
            serde_json::to_vec(self)
        }
        // Serialising plain data structs with string keys cannot fail.
        .unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// The bytes to write, when `phase` is this artifact's writer.
    fn encode_for(&self, phase: &str) -> Result<Vec<u8>, ArtifactError> {
        if phase != self.writer() {
            return Err(ArtifactError::NotTheWriter {
                phase: phase.to_owned(),
                kind: Self::KIND,
                writer: self.writer().to_owned(),
            });
        }
        Ok(self.to_json())
    }

    /// The value of the file at `path`, parsed at most once per process while the file stays
    /// the same (see `shared`): what a phase reads that an earlier phase of the same run wrote.
    fn load_shared(path: &Path) -> Result<Arc<Self>, ArtifactError>
    where
        Self: Send + Sync + 'static,
    {
        shared::load(path)
    }

    /// Hands the value its writer has just written to `path` to this process's later readers
    /// ([`Artifact::load_shared`]), so not even the first of them parses it.
    fn share(path: &Path, value: Self) -> Arc<Self>
    where
        Self: Send + Sync + 'static,
    {
        shared::share(path, value)
    }

    /// Forgets the shared values of this kind: once no phase left in the run reads them, they
    /// need not stay in memory (at Fedora's scale, gigabytes through hours of image builds).
    fn release_shared()
    where
        Self: 'static,
    {
        shared::release::<Self>();
    }

    /// Reads the file at `path`, refusing one of another kind or version.
    fn load(path: &Path) -> Result<Self, ArtifactError> {
        let bytes = std::fs::read(path).map_err(|source| ArtifactError::Read {
            path: path.to_owned(),
            writer: Self::WRITER,
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| ArtifactError::Parse {
            path: path.to_owned(),
            kind: Self::KIND,
            source,
        })
    }
}
