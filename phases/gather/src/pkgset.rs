//! Reading the package set the pkgset phase wrote for an arch.

use kiln_artifacts::{Artifact, PackageSet};
use kiln_engine::{PhaseContext, PhaseError};

use crate::solve::PkgRecord;

/// Every package (binary, debug and source) the package set holds for `arch`.
pub fn load(ctx: &PhaseContext, arch: &str) -> Result<Vec<PkgRecord>, PhaseError> {
    let set = PackageSet::load(&PackageSet::path(&ctx.compose.paths, arch))
        .map_err(|e| PhaseError::with(format!("gather {arch}"), e))?;
    Ok(set
        .packages
        .into_iter()
        .map(|e| PkgRecord {
            package: e.package,
            path: e.path,
        })
        .collect())
}
