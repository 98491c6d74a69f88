//! Reading the package set the pkgset phase wrote for an arch.

use std::sync::Arc;

use kiln_artifacts::{Artifact, PackageSet};
use kiln_engine::{PhaseContext, PhaseError};
use kiln_modulemd::ModuleIndex;

/// The package set of `arch` (every binary, debug and source package it may use; its entries
/// are the phase's `PkgRecord`s), and the module builds of its repositories.
pub fn load(ctx: &PhaseContext, arch: &str) -> Result<(Arc<PackageSet>, ModuleIndex), PhaseError> {
    let path = PackageSet::path(&ctx.compose.paths, arch);
    let set = PackageSet::load_shared(&path)
        .map_err(|e| PhaseError::with(format!("gather {arch}"), e))?;
    let modules = ModuleIndex::parse(&set.modulemd, &path.display().to_string())
        .map_err(|e| PhaseError::with(format!("gather {arch}"), e))?;
    Ok((set, modules))
}
