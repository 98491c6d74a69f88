//! The images of an image-build task taken from the old compose (`image_build_allow_reuse`,
//! pungi's option) instead of a new Koji task: one is tens of minutes of a builder's time.
//!
//! Every task leaves `<its image-build config>.reuse.json` ([`Metadata`]): what decides the
//! image ([`Key`]) and the images it filed. The old compose's images are reused when the key is
//! the same now, as pungi decides it: the block as configured (not its expanded version and
//! release, which change from compose to compose), the Koji target, the packages of every
//! variant tree the image installs from (its rpms.json entries, by arch), the install tree's
//! boot images (the checksums its `.treeinfo` lists: a lorax run made again changes them) and
//! the repodata of every repository outside the compose. A repository given as a URL cannot be
//! checked here, so such an image is always built.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kiln_engine::PhaseContext;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What decides an image-build task's images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    /// The `image_build` block as the config gives it.
    pub block: Value,
    pub target: String,
    /// By arch: the rpms.json entries of each variant whose tree the image reads.
    pub packages: BTreeMap<String, BTreeMap<String, Value>>,
    /// By arch: the `[checksums]` lines of the install tree's `.treeinfo`.
    pub install_tree: BTreeMap<String, String>,
    /// Repositories outside the compose (paths), by the blake3 of their `repodata/repomd.xml`.
    pub external: BTreeMap<String, String>,
}

/// An image the task filed, relative to the compose's top folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filed {
    pub arch: String,
    pub path: PathBuf,
    pub kind: String,
    pub format: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub key: Key,
    pub task: u64,
    pub images: Vec<Filed>,
}

/// `<config>.reuse.json`, beside the task's image-build config.
pub fn metadata_path(conf: &Path) -> PathBuf {
    let name = conf.file_name().map(|n| n.to_string_lossy().into_owned());
    conf.with_file_name(format!("{}.reuse.json", name.unwrap_or_default()))
}

/// The compose's `compose/metadata/rpms.json` under `top`, or why it cannot be read.
pub fn load_rpms(top: &Path) -> Result<Value, String> {
    let path = top.join("compose/metadata/rpms.json");
    std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| format!("cannot read {}", path.display()))
}

/// What an image-build task reads.
pub struct Reads<'a> {
    pub arches: &'a [String],
    /// The variants (UIDs) whose trees it installs from.
    pub trees: &'a [String],
    /// The variant of its install tree; empty when that is outside the compose.
    pub install: &'a str,
    /// Its repositories (and install tree) outside the compose.
    pub external: &'a [String],
}

/// What the compose at `top` (its rpms.json `rpms`) holds that decides the images of `block`
/// for `target`, which reads `reads`. Err says why it cannot be known.
pub fn key(
    top: &Path,
    rpms: &Value,
    block: Value,
    target: &str,
    reads: &Reads,
) -> Result<Key, String> {
    let Reads {
        arches,
        trees,
        install,
        external,
    } = *reads;
    let mut packages = BTreeMap::new();
    let mut install_tree = BTreeMap::new();
    for arch in arches {
        let of_arch: BTreeMap<String, Value> = trees
            .iter()
            .map(|uid| {
                let entries = rpms["payload"]["rpms"][uid][arch].clone();
                (uid.clone(), entries)
            })
            .collect();
        packages.insert(arch.clone(), of_arch);
        let treeinfo = top
            .join("compose")
            .join(install)
            .join(arch)
            .join("os/.treeinfo");
        let text = std::fs::read_to_string(&treeinfo).unwrap_or_default();
        install_tree.insert(arch.clone(), checksums_section(&text));
    }
    let mut ext = BTreeMap::new();
    for repo in external {
        if repo.contains("://") {
            return Err(format!(
                "the repository {repo} cannot be checked for changes"
            ));
        }
        let repomd = Path::new(repo).join("repodata/repomd.xml");
        let bytes =
            std::fs::read(&repomd).map_err(|e| format!("cannot read {}: {e}", repomd.display()))?;
        ext.insert(repo.clone(), blake3::hash(&bytes).to_hex().to_string());
    }
    Ok(Key {
        block,
        target: target.to_owned(),
        packages,
        install_tree,
        external: ext,
    })
}

/// The lines of the `[checksums]` section of a `.treeinfo`.
fn checksums_section(treeinfo: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in treeinfo.lines() {
        if line.starts_with('[') {
            inside = line.trim() == "[checksums]";
            continue;
        }
        if inside && !line.trim().is_empty() {
            out.push_str(line.trim());
            out.push('\n');
        }
    }
    out
}

/// The old compose's metadata of this task when its key is `now`, or why not.
pub fn old_images(
    ctx: &PhaseContext,
    conf: &Path,
    now: &Key,
) -> Result<(PathBuf, Metadata), String> {
    let (Some(old_top), Some(old_conf)) = (&ctx.compose.old, ctx.compose.old_path(conf)) else {
        return Err("there is no old compose".into());
    };
    let path = metadata_path(&old_conf);
    let old: Metadata = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| format!("cannot read {}", path.display()))?;
    let old_key = &old.key;
    if old_key.block != now.block {
        return Err("the image_build block changed".into());
    }
    if old_key.target != now.target {
        return Err("the Koji target changed".into());
    }
    for (arch, trees) in &now.packages {
        for (uid, entries) in trees {
            if old_key.packages.get(arch).and_then(|t| t.get(uid)) != Some(entries) {
                return Err(format!("the packages of {uid}.{arch} changed"));
            }
        }
    }
    if old_key.install_tree != now.install_tree {
        return Err("the install tree's boot images changed".into());
    }
    if old_key.external != now.external {
        return Err("a repository outside the compose changed".into());
    }
    if let Some(gone) = old.images.iter().find(|i| !old_top.join(&i.path).is_file()) {
        return Err(format!("{} is gone", old_top.join(&gone.path).display()));
    }
    Ok((old_top.clone(), old))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_checksums_section_of_a_treeinfo_counts() {
        let text = "[general]\ntimestamp = 1\n\n[checksums]\nimages/boot.iso = sha256:ab\n\
                    images/efiboot.img = sha256:cd\n\n[tree]\nbuild_timestamp = 2\n";
        assert_eq!(
            checksums_section(text),
            "images/boot.iso = sha256:ab\nimages/efiboot.img = sha256:cd\n"
        );
        assert_eq!(checksums_section("[tree]\narch = x86_64\n"), "");
    }

    #[test]
    fn the_metadata_lies_beside_the_config() {
        assert_eq!(
            metadata_path(Path::new(
                "/c/work/image-build/BaseOS/qcow2_cloud-x86_64.cfg"
            )),
            Path::new("/c/work/image-build/BaseOS/qcow2_cloud-x86_64.cfg.reuse.json")
        );
    }
}
