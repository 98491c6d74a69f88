//! Compose identity and layout, as pungi and productmd define them.
//!
//! Everything downstream tools rely on lives here: the compose ID grammar, labels, the STATUS
//! words, and every path of `<target>/<compose id>/{compose,work,logs}`. Phases never build a
//! compose path by hand; they ask [`Paths`].

mod id;
mod paths;
mod status;

pub use id::{BaseProduct, ComposeInfo, ComposeType, IdError, Release, compose_date, verify_label};
pub use paths::Paths;
pub use status::{ComposeLock, ComposeStatus, StatusError, read_status, write_status};

use std::path::{Path, PathBuf};

use kiln_variants::Variants;

/// A compose being made: who it is, where it lives, what it ships.
#[derive(Debug, Clone)]
pub struct Compose {
    pub info: ComposeInfo,
    pub paths: Paths,
    pub variants: Variants,
    /// Epoch seconds every timestamp in the output uses: `SOURCE_DATE_EPOCH` when set, else
    /// midnight UTC of the compose date. Never the wall clock, so output is reproducible.
    pub timestamp: i64,
    /// A finished earlier compose of the same release (`--old-composes`) whose outputs phases may
    /// reuse where theirs would be the same bytes: repodata of unchanged trees, ISOs of unchanged
    /// trees. Reuse is exact or it does not happen, but where the config opts into pungi's reuse
    /// of builds that never come out the same bytes twice (`buildinstall_allow_reuse`,
    /// `image_build_allow_reuse`): those are reused when what they are made of is unchanged.
    pub old: Option<PathBuf>,
}

impl Compose {
    /// Where `path`, a path of this compose, is in the old compose (pungi's
    /// `old_compose_path`); None without an old compose or for a path outside this one.
    pub fn old_path(&self, path: &Path) -> Option<PathBuf> {
        let old = self.old.as_ref()?;
        let rel = path.strip_prefix(self.paths.topdir()).ok()?;
        Some(old.join(rel))
    }
}
