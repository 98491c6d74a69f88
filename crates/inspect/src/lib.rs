//! Reading finished composes for the people who make them. [`why`] says why a package is (or
//! is not) in a variant, from the reasons gather recorded; [`diff`] says what changed between two
//! composes: packages per variant and arch (added, removed, upgraded, downgraded), images (added,
//! removed, changed by checksum) and config options, from the composes' own manifests
//! (`rpms.json`, `images.json`) and config dumps, so it works on any two kiln composes, and on
//! pungi's as far as their manifests go.

mod diff;
pub mod report;
mod why;

pub use diff::{ComposeView, ConfigChange, Diff, ImageChange, PackageChanges, Upgrade, diff};
pub use why::{Finding, why};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("{path} is not a compose: {why}")]
    NotACompose { path: PathBuf, why: String },
    #[error(transparent)]
    Productmd(#[from] kiln_productmd::ProductmdError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
}
