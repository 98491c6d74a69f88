//! What every phase that makes media shares: pungi's image names and volume IDs, making an ISO
//! with the real xorriso (and implanting and checking its MD5), the tree metadata files
//! (`.treeinfo`, `.discinfo`, `media.repo`), extra files, and filing images for images.json.
//!
//! createiso, extraisos, createrepo, extrafiles and imagechecksum call it; they never call each
//! other. `kiln-iso` stays the pure layer below it: argv builders and ISO readers, no context.

pub mod extra_files;
pub mod iso;
pub mod naming;
mod output;
mod treemeta;

pub use iso::{IsoJob, MadeIso, check_size, make_iso, set_mtime};
pub use output::{compose_relative, file_image, iso_output_dir, write_records};
pub use treemeta::tree_metadata;
