//! The createiso phase: a DVD image of every variant's os tree and source tree, as pungi makes
//! them, with the real `xorriso`.
//!
//! Inputs are the finished trees (createrepo's repodata and tree metadata, buildinstall's boot
//! files, extrafiles' files). Each ISO gets its own `.treeinfo` (with `[media]`) and
//! `.discinfo` (with the disc number) from `work/<arch>/iso/<name>/`; every other file is
//! grafted from the tree as is. The images are recorded in `work/global/images/createiso.json`
//! for imagechecksum, which writes images.json.

mod make;
pub mod naming;
mod plan;

pub use kiln_phase_createrepo::tree_metadata;
pub use make::{IsoJob, MadeIso, check_size, make_iso, set_mtime};
pub use plan::{split_discs, tree_files};

use std::path::{Path, PathBuf};

use kiln_config::Config;
use kiln_engine::{Phase, PhaseContext, PhaseError, Work};
use kiln_productmd::{Image, ImageRecord};
use kiln_variants::{Variant, VariantKind};

pub struct CreateIso;

/// The variants that get ISOs: top-level variants and layered products, optional ones only with
/// `create_optional_isos`; addons live inside their parent's tree.
pub fn iso_variants<'a>(
    config: &Config,
    variants: impl Iterator<Item = &'a Variant>,
) -> Vec<&'a Variant> {
    variants
        .filter(|v| match v.kind {
            VariantKind::Variant | VariantKind::LayeredProduct => true,
            VariantKind::Optional => config.create_optional_isos,
            VariantKind::Addon => false,
        })
        .filter(|v| !v.is_empty)
        .collect()
}

/// The directory ISOs of `variant`/`arch` are written to: `compose/<V>/<arch>/iso`, or with
/// `symlink_isos_to` a directory there that `iso/` links to.
pub fn iso_output_dir(
    ctx: &PhaseContext,
    variant: &Variant,
    arch: &str,
) -> Result<PathBuf, PhaseError> {
    let iso_dir = ctx.compose.paths.iso_dir(variant, arch);
    let Some(target) = &ctx.config.symlink_isos_to else {
        return Ok(iso_dir);
    };
    let rel = ctx.compose.paths.relative_to_compose(&iso_dir).to_owned();
    let real = target.join(&ctx.compose.info.id).join(rel);
    std::fs::create_dir_all(&real)
        .map_err(|e| PhaseError::with(format!("cannot create {}", real.display()), e))?;
    match std::fs::read_link(&iso_dir) {
        Ok(existing) if existing == real => {}
        _ => {
            if let Some(parent) = iso_dir.parent() {
                std::fs::create_dir_all(parent)?;
            }
            if iso_dir.is_dir() && std::fs::read_link(&iso_dir).is_err() {
                // A real directory from a run without symlink_isos_to: keep what it holds.
                std::fs::remove_dir(&iso_dir).map_err(|e| {
                    PhaseError::with(
                        format!(
                            "{} is a non-empty directory, cannot link it to {}",
                            iso_dir.display(),
                            real.display()
                        ),
                        e,
                    )
                })?;
            } else {
                let _ = std::fs::remove_file(&iso_dir);
            }
            std::os::unix::fs::symlink(&real, &iso_dir).map_err(|e| {
                PhaseError::with(
                    format!("cannot link {} to {}", iso_dir.display(), real.display()),
                    e,
                )
            })?;
        }
    }
    ctx.produced(&iso_dir);
    Ok(real)
}

/// Record a phase's images where imagechecksum finds them.
pub fn write_records(
    ctx: &PhaseContext,
    phase: &str,
    records: &[ImageRecord],
) -> Result<(), PhaseError> {
    let path = ctx.compose.paths.image_records(phase);
    ctx.write(&path, &kiln_productmd::images::records_to_json(records))
}

/// Path of `file` relative to `compose/`, as images.json spells it.
pub fn compose_relative(ctx: &PhaseContext, file: &Path) -> String {
    ctx.compose
        .paths
        .relative_to_compose(file)
        .to_string_lossy()
        .into_owned()
}

/// File records for an image: source media go under every binary arch of the variant.
pub fn file_image(variant: &Variant, arch: &str, image: Image) -> Vec<ImageRecord> {
    let arches: Vec<String> = if arch == "src" {
        variant.arches.clone()
    } else {
        vec![arch.to_owned()]
    };
    arches
        .into_iter()
        .map(|a| ImageRecord {
            variant: variant.uid.clone(),
            arch: a,
            image: image.clone(),
        })
        .collect()
}

impl Phase for CreateIso {
    fn name(&self) -> &'static str {
        "createiso"
    }
    fn needs(&self) -> &'static [&'static str] {
        &["createrepo"]
    }
    fn after(&self) -> &'static [&'static str] {
        &["buildinstall", "extrafiles"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "createiso_skip",
            "iso_size",
            "split_iso_reserve",
            "createiso_max_size",
            "createiso_max_size_is_strict",
            "create_optional_isos",
            "symlink_isos_to",
            "createiso_break_hardlinks",
            "iso_level",
            "image_name_format",
            "image_volid_formats",
            "image_volid_layered_product_formats",
            "volume_id_substitutions",
            "restricted_volid",
            "disc_types",
        ]
    }
    fn work(&self) -> Work {
        Work::External
    }
    fn tools(&self, _config: &Config) -> Vec<&'static str> {
        vec!["xorriso", "implantisomd5", "checkisomd5"]
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let mut records = Vec::new();
        let variants = iso_variants(ctx.config, ctx.compose.variants.all.iter());
        for variant in variants {
            let mut arches = variant.arches.clone();
            arches.push("src".to_owned());
            for arch in arches {
                let _arch = ctx.arch_span(&arch);
                ctx.check_cancelled()?;
                if ctx.config.createiso_skip.last_for(&variant.uid, &arch) == Some(&true) {
                    tracing::info!("createiso_skip: no ISO for {}.{arch}", variant.uid);
                    continue;
                }
                let made = ctx.failable("iso", &variant.uid, &arch, || {
                    plan::isos_for_tree(ctx, variant, &arch)
                })?;
                records.extend(made.unwrap_or_default());
            }
        }
        write_records(ctx, "createiso", &records)
    }
}
