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
pub mod modules;
pub mod rpms;
pub mod treeinfo;

pub use common::{ComposeRef, Header, ProductmdError};
pub use extra_files::{ExtraFile, ExtraFiles};
pub use images::{Image, ImageRecord, Images};
pub use modules::{ModuleEntry, ModuleMetadata, Modules};
pub use treeinfo::{Product, TreeInfo, TreeVariant};
