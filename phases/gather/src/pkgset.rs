//! Reading the package set the pkgset phase wrote for an arch.

use kiln_artifacts::{Artifact, PackageSet};
use kiln_engine::{PhaseContext, PhaseError};
use kiln_modulemd::ModuleIndex;

use crate::solve::PkgRecord;

/// Every package (binary, debug and source) the package set holds for `arch`, and the module
/// builds of its repositories.
pub fn load(ctx: &PhaseContext, arch: &str) -> Result<(Vec<PkgRecord>, ModuleIndex), PhaseError> {
    let path = PackageSet::path(&ctx.compose.paths, arch);
    let set = PackageSet::load(&path).map_err(|e| PhaseError::with(format!("gather {arch}"), e))?;
    let modules = ModuleIndex::parse(&set.modulemd, &path.display().to_string())
        .map_err(|e| PhaseError::with(format!("gather {arch}"), e))?;
    let packages = set
        .packages
        .into_iter()
        .map(|e| PkgRecord {
            package: e.package,
            path: e.path,
        })
        .collect();
    Ok((packages, modules))
}
