//! What every phase that makes media shares: pungi's image names and volume IDs, making an ISO
//! with the real xorriso (and implanting and checking its MD5), the tree metadata files
//! (`.treeinfo`, `.discinfo`, `media.repo`), extra files, and filing images for images.json.
//!
//! createiso, extraisos, createrepo, extrafiles and imagechecksum call it; they never call each
//! other. `kiln-iso` stays the pure layer below it: argv builders and ISO readers, no context.

pub mod bootcfg;
pub mod extra_files;
pub mod iso;
pub mod kiwi;
pub mod lorax;
pub mod naming;
mod output;
pub mod reuse;
mod treemeta;

pub use iso::{IsoJob, MadeIso, check_size, command, file_image_digests, make_iso, set_mtime};
pub use output::{
    Placed, block_arches, compose_relative, file_image, iso_output_dir, place_image, write_records,
};
pub use treemeta::tree_metadata;

use kiln_checksum::Algorithm;
use kiln_config::Config;
use kiln_engine::PhaseError;

/// `media_checksums`: the digests of CHECKSUM files, images.json and extra_files.json, in the
/// config's order. One list for every phase that takes them, so they always agree.
pub fn media_algorithms(config: &Config) -> Result<Vec<Algorithm>, PhaseError> {
    config
        .media_checksums
        .iter()
        .map(|a| match a.parse::<Algorithm>() {
            Ok(Algorithm::Blake3) | Err(_) => Err(PhaseError::msg(format!(
                "media_checksums: unknown checksum {a:?} (use md5, sha1, sha256, sha512)"
            ))),
            Ok(alg) => Ok(alg),
        })
        .collect()
}
