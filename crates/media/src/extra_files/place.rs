//! Writing fetched extra files into a tree and describing them for `extra_files.json`.

use std::path::{Path, PathBuf};

use kiln_checksum::Algorithm;
use kiln_engine::{PhaseContext, PhaseError};
use kiln_productmd::ExtraFile;

use super::fetch::{Fetched, check_relative};

/// `dir/target/rel`, refusing anything that would end outside `dir`.
pub fn safe_destination(dir: &Path, target: &str, rel: &str) -> Result<PathBuf, PhaseError> {
    check_relative(target, "extra_files target")?;
    check_relative(rel, "extra file")?;
    let dest = dir.join(target).join(rel);
    let root = dir
        .canonicalize()
        .map_err(|e| PhaseError::with(format!("cannot resolve {}", dir.display()), e))?;
    // The deepest part of the destination that exists must resolve inside the tree: a symlink
    // on the way (tree/release -> /etc) would otherwise carry the write out of it.
    let mut probe = dest.clone();
    loop {
        if std::fs::symlink_metadata(&probe).is_ok() {
            let real = probe
                .canonicalize()
                .map_err(|e| PhaseError::with(format!("cannot resolve {}", probe.display()), e))?;
            if !real.starts_with(&root) {
                return Err(PhaseError::msg(format!(
                    "extra file {rel:?} with target {target:?} would be written through {} to {}, outside the tree {}",
                    probe.display(),
                    real.display(),
                    dir.display()
                )));
            }
            break;
        }
        if !probe.pop() {
            break;
        }
    }
    Ok(dest)
}

/// Write fetched files under `dir/target` and describe them (paths relative to `dir`).
pub fn place(
    ctx: &PhaseContext,
    dir: &Path,
    target: &str,
    files: &[Fetched],
    algs: &[Algorithm],
) -> Result<Vec<ExtraFile>, PhaseError> {
    let mut out = Vec::new();
    std::fs::create_dir_all(dir)
        .map_err(|e| PhaseError::with(format!("cannot create {}", dir.display()), e))?;
    for f in files {
        let dest = safe_destination(dir, target, &f.rel)?;
        ctx.write(&dest, &f.bytes)?;
        let mut h = kiln_checksum::MultiHasher::new(algs);
        std::io::Write::write_all(&mut h, &f.bytes)?;
        let d = h.finish();
        let rel = dest
            .strip_prefix(dir)
            .unwrap_or(&dest)
            .to_string_lossy()
            .into_owned();
        out.push(ExtraFile {
            file: rel,
            size: d.size,
            checksums: d
                .hex
                .into_iter()
                .map(|(a, h)| (a.name().to_owned(), h))
                .collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_leaving_the_tree_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let tree = d.path().join("tree");
        std::fs::create_dir_all(&tree).unwrap();
        assert!(safe_destination(&tree, "release", "f").is_ok());
        let e = safe_destination(&tree, "../x", "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains(".."), "{e}");
        let e = safe_destination(&tree, "/etc", "f")
            .unwrap_err()
            .to_string();
        assert!(e.contains("absolute"), "{e}");
        std::os::unix::fs::symlink(d.path(), tree.join("out")).unwrap();
        let e = safe_destination(&tree, "out", "f").unwrap_err().to_string();
        assert!(e.contains("outside the tree"), "{e}");
        std::os::unix::fs::symlink(tree.join("sub-real"), tree.join("inside")).unwrap();
        std::fs::create_dir_all(tree.join("sub-real")).unwrap();
        assert!(safe_destination(&tree, "inside", "f").is_ok());
    }
}
