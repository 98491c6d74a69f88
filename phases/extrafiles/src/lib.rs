//! The extrafiles phase (pungi's `extra_files`): files from a path, a git repository or a
//! package of the package set, copied into os trees, listed in the tree's `extra_files.json`
//! and in `compose/metadata/extra_files.json`.
//!
//! A target that would leave the tree is refused: an absolute path, `..`, or a path through a
//! symlink that points outside the tree. Files keep the order of the config (pungi's order is
//! the filesystem's and changes between runs).

pub mod fetch;

use std::path::{Path, PathBuf};

use kiln_checksum::Algorithm;
use kiln_config::Config;
use kiln_engine::{Phase, PhaseContext, PhaseError};
use kiln_productmd::{ExtraFile, ExtraFiles};
use kiln_variants::VariantKind;

pub use fetch::{Fetched, check_relative, fetch};

pub struct ExtraFilesPhase;

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

/// `media_checksums` for extra files.
pub fn algorithms(config: &Config) -> Vec<Algorithm> {
    config
        .media_checksums
        .iter()
        .filter_map(|a| a.parse::<Algorithm>().ok())
        .filter(|a| *a != Algorithm::Blake3)
        .collect()
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

impl Phase for ExtraFilesPhase {
    fn name(&self) -> &'static str {
        "extrafiles"
    }
    fn needs(&self) -> &'static [&'static str] {
        &[]
    }
    fn after(&self) -> &'static [&'static str] {
        &["pkgset"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &["extra_files", "media_checksums", "pkgset_repos"]
    }
    fn enabled(&self, config: &Config) -> bool {
        !config.extra_files.is_empty()
    }
    fn tools(&self, config: &Config) -> Vec<&'static str> {
        let git = config
            .extra_files
            .0
            .iter()
            .flat_map(|(_, m)| m.values().flatten())
            .any(|e| e.scm == "git");
        if git { vec!["git"] } else { vec![] }
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let algs = algorithms(ctx.config);
        let mut all = ExtraFiles::default();
        for variant in &ctx.compose.variants.all {
            if variant.kind == VariantKind::Addon {
                continue;
            }
            for arch in &variant.arches {
                let _arch = ctx.arch_span(arch);
                ctx.check_cancelled()?;
                let entries = ctx.config.extra_files.list_for(&variant.uid, arch);
                if entries.is_empty() {
                    continue;
                }
                let tree = ctx.compose.paths.os_tree(variant, arch);
                std::fs::create_dir_all(&tree)?;
                let mut listed = Vec::new();
                for entry in &entries {
                    let files = fetch(ctx, entry, &variant.uid, arch)?;
                    listed.extend(place(ctx, &tree, &entry.target, &files, &algs)?);
                }
                ctx.write(
                    &tree.join("extra_files.json"),
                    kiln_productmd::extra_files::render_tree(&listed).as_bytes(),
                )?;
                let prefix = ctx
                    .compose
                    .paths
                    .relative_to_compose(&tree)
                    .to_string_lossy()
                    .into_owned();
                for mut f in listed {
                    f.file = format!("{prefix}/{}", f.file);
                    all.add(&variant.uid, arch, f)
                        .map_err(|e| PhaseError::msg(e.to_string()))?;
                }
            }
        }
        let meta = ctx.compose.paths.metadata_dir().join("extra_files.json");
        ctx.write(
            &meta,
            all.render(&kiln_engine::compose_ref(ctx.compose))
                .as_bytes(),
        )
    }
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
