//! Reading the package set the pkgset phase wrote for an arch.

use kiln_engine::{PhaseContext, PhaseError};

use crate::solve::PkgRecord;

/// Every package (binary, debug and source) the package set holds for `arch`.
pub fn load(_ctx: &PhaseContext, arch: &str) -> Result<Vec<PkgRecord>, PhaseError> {
    Err(PhaseError::msg(format!(
        "gather {arch}: reading the pkgset phase's output is not wired yet"
    )))
}
