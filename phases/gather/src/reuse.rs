//! An arch's gather results taken from the old compose when the solve would give the same:
//! exact reuse, keyed by everything the results are made of.
//!
//! The solve of an arch is a function of its package set and its variants' plans alone (and
//! `trim` moves packages between variants, so an arch is solved, or reused, whole). The key is
//! the package set file's digest and a digest of the variants, their plans and the tree layout;
//! when the old compose's key file holds the same bytes, its results are the results.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use kiln_artifacts::{Artifact, GatherResult};
use kiln_engine::{PhaseContext, PhaseError};
use kiln_variants::Variant;
use serde::Serialize;

use crate::solve::VariantPlan;

/// What an arch's results are made of.
#[derive(Serialize)]
struct Key<'a> {
    kiln: &'a str,
    gather_result: u32,
    package_set: String,
    /// blake3 of the variants, their plans and `hashed_directories`, as Rust's `Debug` spells
    /// them (every collection in them is ordered).
    plans: String,
}

/// `work/<arch>/gather-inputs.<arch>.json`, beside the results (a variant may be called
/// anything, so not among them).
pub fn key_path(topdir: &Path, arch: &str) -> PathBuf {
    topdir
        .join("work")
        .join(arch)
        .join(format!("gather-inputs.{arch}.json"))
}

/// A `fmt::Write` into a hasher, so a plan is hashed without being spelled out in memory.
struct HashWriter(blake3::Hasher);

impl std::fmt::Write for HashWriter {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

/// The key file's bytes for an arch.
pub fn key(
    ctx: &PhaseContext,
    set_path: &Path,
    variants: &[&Variant],
    plans: &[VariantPlan],
) -> Result<Vec<u8>, PhaseError> {
    let recorded = kiln_engine::RecordedDigests::load(ctx.compose.paths.topdir());
    let package_set = recorded
        .digest(set_path)
        .map_err(|e| PhaseError::with(format!("cannot read {}", set_path.display()), e))?;
    let mut h = HashWriter(blake3::Hasher::new());
    // Writing into a hasher cannot fail.
    let _ = write!(
        h,
        "{variants:?}\n{plans:?}\n{}",
        ctx.config.hashed_directories
    );
    let key = Key {
        kiln: env!("CARGO_PKG_VERSION"),
        gather_result: GatherResult::VERSION,
        package_set,
        plans: format!("blake3:{}", h.0.finalize().to_hex()),
    };
    let mut bytes = serde_json::to_vec_pretty(&key).unwrap_or_default();
    bytes.push(b'\n');
    Ok(bytes)
}

/// The old compose's results of every variant in `variants` when its key for the arch is `key`;
/// None when there is no old compose, its key differs, or a result is missing or unreadable.
pub fn old_results(
    ctx: &PhaseContext,
    arch: &str,
    key: &[u8],
    variants: &[&Variant],
) -> Option<(PathBuf, BTreeMap<String, GatherResult>)> {
    let old = ctx.compose.old.as_ref()?;
    if std::fs::read(key_path(old, arch)).ok()? != key {
        return None;
    }
    let results = variants
        .iter()
        .map(|v| {
            let r = GatherResult::load(&GatherResult::path(old, &v.uid, arch)).ok()?;
            Some((v.uid.clone(), r))
        })
        .collect::<Option<BTreeMap<_, _>>>()?;
    Some((old.clone(), results))
}
