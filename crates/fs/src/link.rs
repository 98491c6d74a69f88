//! Putting a package file into a tree: pungi's `link_type` values plus reflink.
//!
//! A link is made under a temporary name in the destination directory and renamed into place,
//! so a tree never holds a half-copied package under its final name, and linking again over an
//! earlier (complete or interrupted) run gives the same result.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
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

/// Puts many files into one directory: `entries` are (source, name in `dir`). For hard links the
/// directory is opened once, and each source folder once per run of sources in it, so a link
/// costs the kernel one name lookup on each side instead of two path walks (a fifth of a link's
/// time on ext4). Whatever a plain new hard link cannot do (a name already there, another file
/// system, other kinds) goes [`link`]'s way, with the same result.
///
/// Says for each entry whether it is a new hard link made here, so it is its source's inode
/// (same size and mtime) and no stat of it is needed to describe it.
pub fn link_into(
    dir: &Path,
    entries: &[(&Path, &OsStr)],
    kind: LinkKind,
) -> Result<Vec<bool>, LinkError> {
    let one_by_one = |entries: &[(&Path, &OsStr)]| {
        entries
            .iter()
            .map(|(src, name)| link(src, &dir.join(name), kind).map(|()| false))
            .collect()
    };
    if !matches!(kind, LinkKind::Hardlink | LinkKind::HardlinkOrCopy) {
        return one_by_one(entries);
    }
    let dir_fd = match open_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).and_then(|()| open_dir(dir))
        }
        other => other,
    };
    let Ok(dir_fd) = dir_fd else {
        return one_by_one(entries);
    };
    let mut source_dir: Option<(&Path, OwnedFd)> = None;
    let mut fresh = Vec::with_capacity(entries.len());
    for &(src, name) in entries {
        let (Some(parent), Some(file)) = (src.parent(), src.file_name()) else {
            link(src, &dir.join(name), kind)?;
            fresh.push(false);
            continue;
        };
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        if source_dir.as_ref().is_none_or(|(p, _)| *p != parent) {
            source_dir = open_dir(parent).ok().map(|fd| (parent, fd));
        }
        let linked = source_dir.as_ref().is_some_and(|(_, fd)| {
            rustix::fs::linkat(fd, file, &dir_fd, name, rustix::fs::AtFlags::empty()).is_ok()
        });
        if !linked {
            link(src, &dir.join(name), kind)?;
        }
        fresh.push(linked);
    }
    Ok(fresh)
}

fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    Ok(rustix::fs::open(path, flags, Mode::empty())?)
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
    fn link_into_links_from_several_folders_and_mends_what_is_there() {
        let tmp = tempfile::tempdir().unwrap();
        let pool = |d: &str, n: &str, body: &[u8]| {
            let p = tmp.path().join(d).join(n);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, body).unwrap();
            p
        };
        let a = pool("repo/Packages", "a.rpm", b"a");
        let b = pool("repo/Packages", "b.rpm", b"b");
        let s = pool("repo/SRPMS", "a.src.rpm", b"s");
        let u = pool("updates/Packages", "b.rpm", b"b2");
        let dir = tmp.path().join("tree/Packages");
        let entries = |pairs: &[(&PathBuf, &str)]| -> Vec<(PathBuf, std::ffi::OsString)> {
            pairs
                .iter()
                .map(|(p, n)| ((*p).clone(), n.into()))
                .collect()
        };
        let run = |e: &[(PathBuf, std::ffi::OsString)], kind| {
            let refs: Vec<(&Path, &OsStr)> = e
                .iter()
                .map(|(p, n)| (p.as_path(), n.as_os_str()))
                .collect();
            link_into(&dir, &refs, kind)
        };
        let ino = |p: &Path| fs::metadata(p).unwrap().ino();
        // The folder is made; sources in three folders, one folder coming back after another.
        let first = entries(&[(&a, "a.rpm"), (&s, "a.src.rpm"), (&b, "b.rpm")]);
        assert_eq!(run(&first, LinkKind::Hardlink).unwrap(), [true, true, true]);
        for (src, name) in &first {
            assert_eq!(ino(src), ino(&dir.join(name)), "{name:?}");
        }
        // Again over itself: nothing changes, and nothing is new. A name already there for
        // another file is replaced.
        assert_eq!(
            run(&first, LinkKind::Hardlink).unwrap(),
            [false, false, false]
        );
        assert_eq!(
            run(&entries(&[(&u, "b.rpm")]), LinkKind::HardlinkOrCopy).unwrap(),
            [false]
        );
        assert_eq!(fs::read(dir.join("b.rpm")).unwrap(), b"b2");
        assert_eq!(
            fs::read_dir(&dir).unwrap().count(),
            3,
            "no temporary names left"
        );
        // Other kinds take link()'s way.
        assert_eq!(
            run(&entries(&[(&a, "c.rpm")]), LinkKind::Symlink).unwrap(),
            [false]
        );
        assert!(
            fs::symlink_metadata(dir.join("c.rpm"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // A missing source is an error naming it.
        let gone = tmp.path().join("repo/Packages/gone.rpm");
        let e = run(&entries(&[(&gone, "gone.rpm")]), LinkKind::Hardlink).unwrap_err();
        assert!(e.to_string().contains("gone.rpm"), "{e}");
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
