//! `buildinstall_method: import`: a lorax tree made elsewhere (in mock, on a build host, pulled
//! from a bucket, as empanadas does) instead of running lorax here. The tree goes to the same
//! place lorax's output does, `work/<arch>/buildinstall/<V>/`, so everything after it (the copy
//! into the os tree, lorax's `.treeinfo` merged by createrepo, createiso's boot setup) is the
//! same for both methods.

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_engine::{PhaseContext, PhaseError};

/// Tarball suffixes `tar -xf` unpacks by itself (GNU tar picks the decompressor).
const TARBALLS: &[&str] = &[
    ".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.zst", ".tar.bz2",
];

pub fn is_tarball(source: &str) -> bool {
    let path = source.split_once('#').map_or(source, |(p, _)| p);
    TARBALLS.iter().any(|s| path.ends_with(s))
}

/// An http(s) tarball `URL#sha256=<hex>` fetched into the compose's download cache, resumed
/// and verified like pkgset's packages; returns the local file.
pub fn download(ctx: &PhaseContext, source: &str) -> Result<PathBuf, PhaseError> {
    let (url, hex) = source.split_once("#sha256=").ok_or_else(|| {
        PhaseError::msg(format!(
            "buildinstall_import {source:?}: a URL needs its digest, URL#sha256=<hex>"
        ))
    })?;
    let url = kiln_remote::Url::parse(url)
        .map_err(|e| PhaseError::with(format!("buildinstall_import {source:?}"), e))?;
    let dest = kiln_remote::cache_dir(ctx.config, &ctx.compose.paths)
        .join("downloads")
        .join(url.cache_path());
    let expected = kiln_rpm::Checksum {
        kind: kiln_rpm::ChecksumKind::Sha256,
        hex: hex.to_ascii_lowercase(),
    };
    let cancelled = || ctx.cancel.is_cancelled();
    kiln_remote::Downloader::new(&cancelled)
        .fetch(&url, &dest, Some(&expected))
        .map_err(|e| match e {
            kiln_remote::DownloadError::Cancelled => PhaseError::Cancelled,
            e => PhaseError::with("buildinstall_import", e),
        })?;
    tracing::info!("downloaded {url} to {}", dest.display());
    Ok(dest)
}

/// Puts the tree `source` (a folder or a tarball) into `dest`, emptied first, and returns the
/// folder in it that holds the tree: a tarball may wrap the tree in one top folder.
pub fn unpack(
    ctx: &PhaseContext,
    source: &str,
    dest: &Path,
    log: &Path,
) -> Result<PathBuf, PhaseError> {
    if dest.exists() {
        std::fs::remove_dir_all(dest)?;
    }
    std::fs::create_dir_all(dest)?;
    let fetched;
    let src = if kiln_remote::Url::is_remote(source) {
        fetched = download(ctx, source)?;
        fetched.as_path()
    } else {
        Path::new(source)
    };
    if src.is_dir() {
        copy_dir(src, dest)?;
    } else if src.is_file() && is_tarball(&src.to_string_lossy()) {
        let mut tar = Command::new("tar");
        tar.arg("-xf").arg(src).arg("-C").arg(dest);
        ctx.run(&tar, log)?;
    } else if src.exists() {
        return Err(PhaseError::msg(format!(
            "buildinstall_import {source:?} is neither a folder nor a tarball ({})",
            TARBALLS.join(", ")
        )));
    } else {
        return Err(PhaseError::msg(format!(
            "buildinstall_import {source:?} does not exist"
        )));
    }
    let root = tree_root(dest)?;
    if !root.join(".treeinfo").is_file() && !root.join("images").is_dir() {
        return Err(PhaseError::msg(format!(
            "buildinstall_import {source:?} is not a lorax tree: it has neither .treeinfo nor images/"
        )));
    }
    Ok(root)
}

/// `dest`, or its only entry when that is a folder and `dest` itself holds no tree.
fn tree_root(dest: &Path) -> Result<PathBuf, PhaseError> {
    if dest.join(".treeinfo").is_file() || dest.join("images").is_dir() {
        return Ok(dest.to_owned());
    }
    let entries: Vec<_> = std::fs::read_dir(dest)?.flatten().collect();
    match entries.as_slice() {
        [only] if only.file_type()?.is_dir() => Ok(only.path()),
        _ => Ok(dest.to_owned()),
    }
}

/// Copies every file under `from` into `to` (new files: the source is never written through).
fn copy_dir(from: &Path, to: &Path) -> Result<(), PhaseError> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dst = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            std::fs::create_dir_all(&dst)?;
            copy_dir(&entry.path(), &dst)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(entry.path())?;
            std::os::unix::fs::symlink(target, &dst)?;
        } else {
            std::fs::copy(entry.path(), &dst).map_err(|e| {
                PhaseError::with(format!("cannot copy {}", entry.path().display()), e)
            })?;
        }
    }
    Ok(())
}
