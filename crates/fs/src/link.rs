//! Putting a package file into a tree: pungi's `link_type` values plus reflink.
//!
//! A link is made under a temporary name in the destination directory and renamed into place,
//! so a tree never holds a half-copied package under its final name, and linking again over an
//! earlier (complete or interrupted) run gives the same result.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// How a file is put in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkKind {
    Hardlink,
    Copy,
    /// A hard link, or a copy when the two paths are on different file systems.
    #[default]
    HardlinkOrCopy,
    /// A relative symbolic link.
    Symlink,
    /// A symbolic link to the absolute source path.
    AbspathSymlink,
    /// A copy-on-write clone (btrfs, XFS); fails where the file system cannot.
    Reflink,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Hardlink => "hardlink",
            LinkKind::Copy => "copy",
            LinkKind::HardlinkOrCopy => "hardlink-or-copy",
            LinkKind::Symlink => "symlink",
            LinkKind::AbspathSymlink => "abspath-symlink",
            LinkKind::Reflink => "reflink",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot {kind} {src} to {dst}: {source}", kind = kind.as_str())]
pub struct LinkError {
    pub src: PathBuf,
    pub dst: PathBuf,
    pub kind: LinkKind,
    #[source]
    pub source: io::Error,
}

/// Puts `src` at `dst` with `kind`. An existing `dst` that already is that link (same inode,
/// same symlink target, or identical content for copies) is left alone.
pub fn link(src: &Path, dst: &Path, kind: LinkKind) -> Result<(), LinkError> {
    let err = |source| LinkError {
        src: src.to_owned(),
        dst: dst.to_owned(),
        kind,
        source,
    };
    let src_abs = std::path::absolute(src).map_err(err)?;
    let target = match kind {
        LinkKind::Symlink => Some(relative_target(&src_abs, dst).map_err(err)?),
        LinkKind::AbspathSymlink => Some(src_abs.clone()),
        _ => None,
    };
    let dir = dst
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // The common case, a tree being made: a link appears whole or not at all, so it is made in
    // place in one call (and its folder made when missing). A name already there, or a copy,
    // takes the careful way below: a temporary name renamed over it.
    match in_place(&src_abs, dst, kind, target.as_deref()) {
        Some(Ok(())) => return Ok(()),
        Some(Err(e)) if e.kind() == io::ErrorKind::NotFound && !dir.exists() => {
            fs::create_dir_all(dir).map_err(err)?;
            if let Some(Ok(())) = in_place(&src_abs, dst, kind, target.as_deref()) {
                return Ok(());
            }
        }
        _ => {}
    }
    if already_done(&src_abs, dst, kind, target.as_deref()).map_err(err)? {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(err)?;
    let file_name = dst
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.kiln-link"));
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    let made = match (kind, &target) {
        (LinkKind::Symlink | LinkKind::AbspathSymlink, Some(t)) => {
            std::os::unix::fs::symlink(t, &tmp)
        }
        (LinkKind::Hardlink, _) => fs::hard_link(&src_abs, &tmp),
        (LinkKind::HardlinkOrCopy, _) => match fs::hard_link(&src_abs, &tmp) {
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices || e.raw_os_error() == Some(18) => {
                copy(&src_abs, &tmp)
            }
            other => other,
        },
        (LinkKind::Copy, _) => copy(&src_abs, &tmp),
        (LinkKind::Reflink, _) => {
            reflink_copy::reflink(&src_abs, &tmp).and_then(|()| keep_mtime(&src_abs, &tmp))
        }
        _ => Err(io::Error::other("no symlink target")),
    };
    if let Err(e) = made {
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    if let Err(e) = fs::rename(&tmp, dst) {
        let _ = fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
}

/// A link of `kind` made at `dst` itself, for the kinds whose making is atomic; None for copies.
fn in_place(
    src: &Path,
    dst: &Path,
    kind: LinkKind,
    target: Option<&Path>,
) -> Option<io::Result<()>> {
    match (kind, target) {
        (LinkKind::Symlink | LinkKind::AbspathSymlink, Some(t)) => {
            Some(std::os::unix::fs::symlink(t, dst))
        }
        (LinkKind::Hardlink | LinkKind::HardlinkOrCopy, _) => Some(fs::hard_link(src, dst)),
        _ => None,
    }
}

fn copy(src: &Path, dst: &Path) -> io::Result<()> {
    fs::copy(src, dst)?;
    keep_mtime(src, dst)
}

// createrepo records the file mtime; a copy keeps the source's so repodata does not change
// with the link type.
fn keep_mtime(src: &Path, dst: &Path) -> io::Result<()> {
    let mtime = fs::metadata(src)?.modified()?;
    fs::File::options()
        .write(true)
        .open(dst)?
        .set_modified(mtime)
}

fn already_done(src: &Path, dst: &Path, kind: LinkKind, target: Option<&Path>) -> io::Result<bool> {
    let Ok(meta) = fs::symlink_metadata(dst) else {
        return Ok(false);
    };
    if let Some(t) = target {
        return Ok(meta.file_type().is_symlink() && fs::read_link(dst)? == t);
    }
    if meta.file_type().is_symlink() || !meta.is_file() {
        return Ok(false);
    }
    let smeta = fs::metadata(src)?;
    if smeta.dev() == meta.dev() && smeta.ino() == meta.ino() {
        return Ok(true);
    }
    if kind == LinkKind::Hardlink || smeta.len() != meta.len() {
        return Ok(false);
    }
    same_content(src, dst)
}

fn same_content(a: &Path, b: &Path) -> io::Result<bool> {
    let (mut fa, mut fb) = (fs::File::open(a)?, fs::File::open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = fa.read(&mut ba)?;
        if n == 0 {
            return Ok(fb.read(&mut bb[..1])? == 0);
        }
        fb.read_exact(&mut bb[..n])?;
        if ba[..n] != bb[..n] {
            return Ok(false);
        }
    }
}

/// The path of `src` relative to the directory `dst` will be in.
fn relative_target(src: &Path, dst: &Path) -> io::Result<PathBuf> {
    let dst_abs = std::path::absolute(dst)?;
    let dir = dst_abs.parent().unwrap_or(Path::new("/"));
    let from: Vec<Component> = dir.components().collect();
    let to: Vec<Component> = src.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c.as_os_str());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_and_idempotent() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("pool/foo-1.0-1.x86_64.rpm");
        fs::create_dir_all(src.parent().unwrap()).unwrap();
        fs::write(&src, b"payload").unwrap();
        for kind in [
            LinkKind::Hardlink,
            LinkKind::Copy,
            LinkKind::HardlinkOrCopy,
            LinkKind::Symlink,
            LinkKind::AbspathSymlink,
        ] {
            let dst = tmp
                .path()
                .join(format!("tree-{}/Packages/f/foo.rpm", kind.as_str()));
            link(&src, &dst, kind).unwrap();
            link(&src, &dst, kind).unwrap();
            assert_eq!(fs::read(&dst).unwrap(), b"payload");
            let leftovers: Vec<_> = fs::read_dir(dst.parent().unwrap()).unwrap().collect();
            assert_eq!(leftovers.len(), 1, "{kind:?}");
        }
        let rel = tmp.path().join("tree-symlink/Packages/f/foo.rpm");
        assert_eq!(
            fs::read_link(&rel).unwrap(),
            Path::new("../../../pool/foo-1.0-1.x86_64.rpm")
        );
        let ino = |p: &Path| fs::metadata(p).unwrap().ino();
        assert_eq!(
            ino(&src),
            ino(&tmp.path().join("tree-hardlink/Packages/f/foo.rpm"))
        );
        // A stale file under a link's name is replaced too, whatever the kind.
        for kind in [LinkKind::Hardlink, LinkKind::Symlink] {
            let dst = tmp
                .path()
                .join(format!("tree-{}/Packages/f/foo.rpm", kind.as_str()));
            fs::remove_file(&dst).unwrap();
            fs::write(&dst, b"stale!!").unwrap();
            link(&src, &dst, kind).unwrap();
            assert_eq!(fs::read(&dst).unwrap(), b"payload", "{kind:?}");
        }
        // A stale different file under the name is replaced, not kept.
        let dst = tmp.path().join("tree-copy/Packages/f/foo.rpm");
        fs::write(&dst, b"stale!!").unwrap();
        link(&src, &dst, LinkKind::Copy).unwrap();
        assert_eq!(fs::read(&dst).unwrap(), b"payload");
    }

    #[test]
    fn missing_source_names_both_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let e = link(
            &tmp.path().join("nope.rpm"),
            &tmp.path().join("x/y.rpm"),
            LinkKind::Hardlink,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("nope.rpm") && e.to_string().contains("y.rpm"),
            "{e}"
        );
    }
}
