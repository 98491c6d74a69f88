//! productmd 1.2 metadata, written byte for byte as Python productmd writes it: the JSON files
//! under `compose/metadata/` (images, extra_files; rpms and composeinfo live in their own
//! modules), and the tree files `.treeinfo`, `.discinfo` and `media.repo`.
//!
//! Everything here is pure: functions render bytes from values. Timestamps are parameters (the
//! compose's deterministic timestamp), never read from the clock.

pub mod common;
pub mod composeinfo;
pub mod extra_files;
pub mod images;
pub mod ini;
pub mod json;
pub mod rpms;
pub mod treeinfo;

pub use common::{ComposeRef, Header, ProductmdError};
pub use extra_files::{ExtraFile, ExtraFiles};
pub use images::{Image, ImageRecord, Images};
pub use treeinfo::{Product, TreeInfo, TreeVariant};

use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` through a temporary file in the same directory and a rename, so a
/// reader never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ProductmdError> {
    let err = |source| ProductmdError::Write {
        path: path.to_owned(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(err)
}
