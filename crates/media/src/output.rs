//! Where an image phase's images go and how they are filed for images.json.

use std::path::{Path, PathBuf};

use kiln_artifacts::{Artifact, ImageRecords};
use kiln_engine::{PhaseContext, PhaseError};
use kiln_productmd::{Image, ImageRecord};
use kiln_variants::Variant;

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

/// Record the running phase's images where imagechecksum finds them.
pub fn write_records(ctx: &PhaseContext, records: Vec<ImageRecord>) -> Result<(), PhaseError> {
    let phase = ctx.phase();
    let records = ImageRecords::new(phase, records);
    let json = records
        .encode_for(phase)
        .map_err(|e| PhaseError::with("image records", e))?;
    ctx.write(&ImageRecords::path(&ctx.compose.paths, phase), &json)
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
