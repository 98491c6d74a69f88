//! ISO reuse between composes: an image whose recipe (every input file's content and ISO path,
//! the volume ID, boot setup, dates, options and the xorriso that makes it) equals the recipe of
//! an image in the old compose would come out byte for byte the same, so it is hard-linked from
//! there instead of being made again.
//!
//! Every image made leaves `work/<arch>/iso/<name>-recipe.json`: the recipe's digest and what
//! the image's records need (size, implant, checksums), so a reused image is never read either.
//! A reused one says where it came from (`reused_from`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kiln_engine::{PhaseContext, PhaseError, RecordedDigests};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::iso::IsoJob;

/// What `work/<arch>/iso/<name>-recipe.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipe {
    /// blake3 of the recipe's inputs.
    pub recipe: String,
    /// The image, relative to the compose's top folder.
    pub image: PathBuf,
    pub size: u64,
    pub implant_md5: Option<String>,
    /// Every digest of the image by name (`media_checksums`, and sha256 for the record).
    pub checksums: BTreeMap<String, String>,
    /// The image this one is a hard link of, when it was reused.
    pub reused_from: Option<PathBuf>,
}

/// `work/<arch>/iso/<name>-recipe.json`.
pub fn recipe_path(job: &IsoJob) -> PathBuf {
    job.staging
        .with_file_name(format!("{}-recipe.json", job.name))
}

/// The digest of everything that decides the image's bytes. `files` are the graft entries as
/// they will be given to xorriso.
pub fn recipe_digest(
    ctx: &PhaseContext,
    job: &IsoJob,
    files: &[(String, PathBuf)],
    digests: &RecordedDigests,
    media: &[String],
    xorriso: &str,
) -> Result<String, PhaseError> {
    let mut h = blake3::Hasher::new();
    let mut field = |k: &str, v: &str| {
        h.update(k.as_bytes());
        h.update(b"=");
        h.update(v.as_bytes());
        h.update(b"\n");
    };
    field("kiln", env!("CARGO_PKG_VERSION"));
    field("xorriso", xorriso);
    field("volid", &job.volid);
    field("iso_level", &format!("{:?}", job.iso_level));
    field("boot", &format!("{:?}", job.boot));
    field("supported", &job.supported.to_string());
    field("timestamp", &ctx.compose.timestamp.to_string());
    field("media", &media.join(","));
    if let Some(boot_iso) = &job.replay {
        let d = digests
            .digest(boot_iso)
            .map_err(|e| PhaseError::with(format!("cannot read {}", boot_iso.display()), e))?;
        field("replay", &d);
    }
    // A stat each (the recorded digest serves while the file is unchanged), for every package
    // of the tree: on every core. The first error in the files' order is reported.
    let found: Vec<std::io::Result<String>> = files
        .par_iter()
        .map(|(_, src)| digests.digest(src))
        .collect();
    for ((iso_path, src), d) in files.iter().zip(found) {
        let d = d.map_err(|e| PhaseError::with(format!("cannot read {}", src.display()), e))?;
        field(iso_path, &d);
    }
    Ok(h.finalize().to_hex().to_string())
}

/// An image of the old compose with the same recipe, still whole on disk.
pub fn find_in_old(old_top: &Path, arch: &str, recipe: &str) -> Option<(PathBuf, Recipe)> {
    let dir = old_top.join("work").join(arch).join("iso");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with("-recipe.json"))
        .collect();
    names.sort();
    names.into_iter().find_map(|p| {
        let r: Recipe = serde_json::from_slice(&std::fs::read(&p).ok()?).ok()?;
        let image = old_top.join(&r.image);
        let whole = std::fs::metadata(&image).is_ok_and(|m| m.len() == r.size);
        (r.recipe == recipe && whole).then_some((image, r))
    })
}

/// Hard-links (or, across file systems, copies) `from` to `to` under a temporary name first, so
/// `to` is complete whenever it exists.
pub fn link_into_place(from: &Path, to: &Path) -> Result<(), PhaseError> {
    let part = to.with_file_name(format!(
        ".{}.reuse",
        to.file_name().unwrap_or_default().to_string_lossy()
    ));
    let _ = std::fs::remove_file(&part);
    if std::fs::hard_link(from, &part).is_err() {
        std::fs::copy(from, &part).map_err(|e| {
            PhaseError::with(
                format!("cannot copy {} to {}", from.display(), part.display()),
                e,
            )
        })?;
    }
    std::fs::rename(&part, to).map_err(|e| {
        let _ = std::fs::remove_file(&part);
        PhaseError::with(
            format!("cannot rename {} to {}", part.display(), to.display()),
            e,
        )
    })
}
