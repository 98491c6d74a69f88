//! ISO 9660 images through the real `xorriso`, as pungi's createiso makes them: volume IDs
//! ([`volid`]), name formats ([`format`]), `xorriso -as mkisofs` command lines with graft
//! points and per-arch El Torito ([`mkisofs`]), implanted MD5 ([`md5`]), `.manifest` listings
//! ([`manifest`]) and the header checks of the test phase ([`headers`]).
//!
//! Builders are pure and return argv; the caller runs them through its runner (a phase's
//! `ctx.run`), so this crate never spawns a process itself.

pub mod format;
pub mod headers;
pub mod implant;
pub mod manifest;
pub mod md5;
pub mod mkisofs;
pub mod volid;

pub use mkisofs::{Boot, IsoSpec};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IsoError {
    #[error(
        "cannot make a volume ID of at most 32 bytes for variant {variant}; tried {tried:?} \
         (shorten it with volume_id_substitutions or image_volid_formats)"
    )]
    VolidTooLong { variant: String, tried: Vec<String> },
    #[error("format {format:?}: {problem}")]
    Format { format: String, problem: String },
    #[error("cannot scan {path}: {message}")]
    Scan { path: PathBuf, message: String },
}
