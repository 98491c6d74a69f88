//! Repository access for the phases that read packages or metadata from a URL: pkgset mirrors the
//! packages of `pkgset_repos`, gather reads the metadata of `gather_lookaside_repos`, and both share
//! one download cache per target directory.
//!
//! A name in the cache always holds a complete, verified file ([`download`]); [`url`] knows just
//! enough of URLs for repositories.

pub mod download;
pub mod url;

use std::path::{Path, PathBuf};

use kiln_compose::Paths;
use kiln_config::Config;

pub use download::{
    DownloadError, Downloader, Job, Mirror, RemotePackage, mirror_metadata, packages,
};
pub use url::{Url, UrlError};

/// The cache shared by the composes of a target dir: `pkgset_cache_dir`, else
/// `<target>/.kiln-cache`. Holds pkgset's `headers.json` and `downloads/<host>/<path>`.
pub fn cache_dir(config: &Config, paths: &Paths) -> PathBuf {
    match &config.pkgset_cache_dir {
        Some(dir) => dir.clone(),
        None => paths
            .topdir()
            .parent()
            .unwrap_or(Path::new("."))
            .join(".kiln-cache"),
    }
}

/// Mirrors a remote repository's metadata (primary, filelists, other) into the download cache
/// and returns the local folder holding its `repodata/`, for readers of whole repositories
/// (gather's lookasides). Local paths and `file://` URLs are returned as they are.
pub fn local_repo(
    config: &Config,
    paths: &Paths,
    repo: &str,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<PathBuf, DownloadError> {
    if !Url::is_remote(repo) {
        return Ok(PathBuf::from(repo.strip_prefix("file://").unwrap_or(repo)));
    }
    let dl = Downloader::new(cancelled);
    mirror_metadata(
        &dl,
        repo,
        &cache_dir(config, paths),
        &["primary", "filelists", "other"],
    )
    .map(|m| m.root)
}
