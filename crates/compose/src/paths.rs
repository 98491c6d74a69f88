//! Every path of a compose, in pungi's layout (pungi's paths.py is the reference for the names).
//!
//! ```text
//! <topdir>/STATUS, COMPOSE_ID
//! <topdir>/compose/metadata/{composeinfo,rpms,images,extra_files}.json
//! <topdir>/compose/<V>/<arch>/os/{Packages,repodata,.treeinfo,...}      addons: os/addons/<id>
//! <topdir>/compose/<V>/<arch>/debug/tree/{Packages,repodata}
//! <topdir>/compose/<V>/<arch>/iso/            <topdir>/compose/<V>/source/{tree,iso}
//! <topdir>/work/{global,<arch>}/...           <topdir>/logs/{global,<arch>}/<name>.<arch>.log
//! ```

use std::path::{Path, PathBuf};

use kiln_variants::{Variant, VariantKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    topdir: PathBuf,
}

impl Paths {
    pub fn new(topdir: impl Into<PathBuf>) -> Self {
        Paths {
            topdir: topdir.into(),
        }
    }

    pub fn topdir(&self) -> &Path {
        &self.topdir
    }

    /// `compose/`: what is published.
    pub fn compose_dir(&self) -> PathBuf {
        self.topdir.join("compose")
    }

    pub fn metadata_dir(&self) -> PathBuf {
        self.compose_dir().join("metadata")
    }

    /// The variant whose tree a variant's content lives in: addons live inside their parent's.
    fn tree_uid(variant: &Variant) -> &str {
        match (variant.kind, &variant.parent) {
            (VariantKind::Addon, Some(parent)) => parent,
            _ => &variant.uid,
        }
    }

    /// `compose/<V>/<arch>/os`: the installable tree (binary packages, repodata, boot files).
    pub fn os_tree(&self, variant: &Variant, arch: &str) -> PathBuf {
        self.compose_dir()
            .join(Self::tree_uid(variant))
            .join(arch)
            .join("os")
    }

    /// Root of a variant's binary repository: the os tree, or `os/addons/<id>` for an addon.
    pub fn os_repo(&self, variant: &Variant, arch: &str) -> PathBuf {
        match variant.kind {
            VariantKind::Addon => self.os_tree(variant, arch).join("addons").join(&variant.id),
            _ => self.os_tree(variant, arch),
        }
    }

    /// `compose/<V>/<arch>/debug/tree`
    pub fn debug_tree(&self, variant: &Variant, arch: &str) -> PathBuf {
        self.compose_dir()
            .join(Self::tree_uid(variant))
            .join(arch)
            .join("debug")
            .join("tree")
    }

    /// `compose/<V>/source/tree`
    pub fn source_tree(&self, variant: &Variant) -> PathBuf {
        self.compose_dir()
            .join(Self::tree_uid(variant))
            .join("source")
            .join("tree")
    }

    /// Where a tree keeps its packages: `Packages/`, plus the first letter of the package name
    /// (lower-cased) with `hashed_directories`.
    pub fn packages_dir(tree: &Path, package_name: &str, hashed: bool) -> PathBuf {
        let dir = tree.join("Packages");
        match package_name.chars().next() {
            Some(c) if hashed => dir.join(c.to_lowercase().to_string()),
            _ => dir,
        }
    }

    /// `compose/<V>/<arch>/iso`, and `compose/<V>/source/iso` for arch `src`.
    pub fn iso_dir(&self, variant: &Variant, arch: &str) -> PathBuf {
        let v = self.compose_dir().join(Self::tree_uid(variant));
        if arch == "src" {
            v.join("source").join("iso")
        } else {
            v.join(arch).join("iso")
        }
    }

    /// `compose/<V>/<arch>/images`: disk and cloud images.
    pub fn images_dir(&self, variant: &Variant, arch: &str) -> PathBuf {
        self.compose_dir()
            .join(Self::tree_uid(variant))
            .join(arch)
            .join("images")
    }

    /// `work/<arch>` (`work/global` for arch `global`): scratch space and inter-phase records.
    pub fn work_dir(&self, arch: &str) -> PathBuf {
        self.topdir.join("work").join(arch)
    }

    /// pungi's comps files: `work/global/comps/comps-global.xml` (arch `global`),
    /// `work/<arch>/comps/comps-<arch>.xml`, `work/<arch>/comps/comps-<V>.<arch>.xml`.
    pub fn comps(&self, arch: &str, variant_uid: Option<&str>) -> PathBuf {
        let name = match variant_uid {
            Some(v) => format!("comps-{v}.{arch}.xml"),
            None => format!("comps-{arch}.xml"),
        };
        self.work_dir(arch).join("comps").join(name)
    }

    /// `work/global/module_defaults`: the module defaults passed through by init.
    /// `work/global/prepopulate.json`: init's copy of `gather_prepopulate`, which gather reads.
    pub fn prepopulate_file(&self) -> PathBuf {
        self.work_dir("global").join("prepopulate.json")
    }

    pub fn module_defaults_dir(&self) -> PathBuf {
        self.work_dir("global").join("module_defaults")
    }

    /// `logs/<arch>`
    pub fn log_dir(&self, arch: &str) -> PathBuf {
        self.topdir.join("logs").join(arch)
    }

    /// `logs/<arch>/<name>.<arch>.log`, pungi's naming.
    pub fn log_file(&self, arch: &str, name: &str) -> PathBuf {
        self.log_dir(arch).join(format!("{name}.{arch}.log"))
    }

    /// `work/<arch>/iso/<iso name>`: staging of one ISO (its .treeinfo/.discinfo copies, graft
    /// points).
    pub fn iso_staging(&self, arch: &str, iso_name: &str) -> PathBuf {
        self.work_dir(arch).join("iso").join(iso_name)
    }

    /// The record a phase leaves for resume: `work/global/phases/<phase>.json`.
    pub fn phase_record(&self, phase: &str) -> PathBuf {
        self.work_dir("global")
            .join("phases")
            .join(format!("{phase}.json"))
    }

    /// `work/global/composeinfo-base.json`: the compose's identity, read back on resume.
    pub fn composeinfo_base(&self) -> PathBuf {
        self.work_dir("global").join("composeinfo-base.json")
    }

    /// The path of `path` relative to `compose/`, as metadata spells locations.
    pub fn relative_to_compose<'a>(&self, path: &'a Path) -> &'a Path {
        let root = self.compose_dir();
        path.strip_prefix(&root).unwrap_or(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_variants::{VariantDef, Variants};

    #[test]
    fn addons_live_in_their_parent_tree() {
        let defs: Vec<VariantDef> = serde_json::from_value(serde_json::json!([
            {"id": "Server", "arches": ["x86_64"], "variants": [
                {"id": "HA", "type": "addon"}, {"id": "optional", "type": "optional"}]}
        ]))
        .unwrap();
        let vs = Variants::from_defs(&defs).unwrap();
        let p = Paths::new("/c");
        let ha = vs.get("Server-HA").unwrap();
        let opt = vs.get("Server-optional").unwrap();
        assert_eq!(
            p.os_tree(ha, "x86_64"),
            Path::new("/c/compose/Server/x86_64/os")
        );
        assert_eq!(
            p.os_repo(ha, "x86_64"),
            Path::new("/c/compose/Server/x86_64/os/addons/HA")
        );
        assert_eq!(
            p.os_tree(opt, "x86_64"),
            Path::new("/c/compose/Server-optional/x86_64/os")
        );
        assert_eq!(
            p.iso_dir(opt, "src"),
            Path::new("/c/compose/Server-optional/source/iso")
        );
        assert_eq!(
            Paths::packages_dir(Path::new("/t"), "Bash", true),
            Path::new("/t/Packages/b")
        );
        assert_eq!(
            p.log_file("x86_64", "repoclosure-Server"),
            Path::new("/c/logs/x86_64/repoclosure-Server.x86_64.log")
        );
    }
}
