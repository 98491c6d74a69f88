//! `cargo xtask check-layout`: the workspace's layering, checked from `cargo metadata`.
//!
//! The layers, lowest first (ARCHITECTURE.md, "Layers"):
//!
//! 1. libraries: `crates/*` other than the ones below; one job each, no compose knowledge
//!    beyond what their names say. A library may use other libraries.
//! 2. core: `crates/engine` (the `Phase` trait, the DAG executor) and `crates/artifacts` (the
//!    typed files phases hand each other).
//! 3. shared code over the core: `crates/media` (ISO making, `.treeinfo`, image records) used by
//!    several phases, `crates/inspect` (reading finished composes and their artifacts for
//!    `kiln why` and `kiln diff`) and `crates/koji` (the Koji client of pkgset and the image
//!    phases).
//! 4. phases: `phases/<name>`, each crate `kiln-phase-<name>`. A phase never uses another phase:
//!    what one phase needs from another goes through an artifact or the shared layer.
//! 5. `xtask`: fixtures and benches, which drive phases directly.
//! 6. the `kiln` binary (root package), whose end-to-end tests build fixtures with `xtask`.
//!
//! A dependency must point to a strictly lower layer, except library → library. Dev- and
//! build-dependencies count too: a phase's tests importing another phase is the same tangle.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where a workspace crate sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    Library,
    Core,
    Shared,
    Phase,
    Tool,
    Binary,
}

/// A workspace crate as the check sees it.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    /// Manifest directory relative to the workspace root, `/`-separated (`phases/gather`).
    pub dir: String,
    /// Names of the workspace crates it depends on (normal, dev and build).
    pub deps: Vec<String>,
}

/// One rule broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn layer_of(dir: &str) -> Option<Layer> {
    match dir {
        "" => Some(Layer::Binary),
        "xtask" => Some(Layer::Tool),
        "crates/engine" | "crates/artifacts" => Some(Layer::Core),
        "crates/media" | "crates/inspect" | "crates/koji" => Some(Layer::Shared),
        _ if dir.starts_with("phases/") => Some(Layer::Phase),
        _ if dir.starts_with("crates/") => Some(Layer::Library),
        _ => None,
    }
}

/// Every broken rule in `members`, sorted.
pub fn check(members: &[Member]) -> Vec<Violation> {
    let mut found = Vec::new();
    let by_name = |name: &str| members.iter().find(|m| m.name == name);
    for member in members {
        let Some(layer) = layer_of(&member.dir) else {
            found.push(Violation(format!(
                "{} lives in {:?}, outside crates/, phases/ and xtask/",
                member.name, member.dir
            )));
            continue;
        };
        if let Some(dir_name) = member.dir.strip_prefix("phases/") {
            let expected = format!("kiln-phase-{dir_name}");
            if member.name != expected {
                found.push(Violation(format!(
                    "{} is named {}, phase crates are named {expected}",
                    member.dir, member.name
                )));
            }
        }
        for dep in &member.deps {
            let Some(target) = by_name(dep) else { continue };
            let Some(dep_layer) = layer_of(&target.dir) else {
                continue;
            };
            let allowed = dep_layer < layer || (layer == Layer::Library && dep_layer == layer);
            if !allowed {
                let why = match (layer, dep_layer) {
                    (Layer::Phase, Layer::Phase) => {
                        "a phase may not use another phase: move what they share to an \
                         artifact (crates/artifacts) or shared code (crates/media)"
                    }
                    _ => "a crate may only use crates of a lower layer",
                };
                found.push(Violation(format!(
                    "{} ({:?}) depends on {} ({:?}): {why}",
                    member.name, layer, target.name, dep_layer
                )));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// The workspace's members, read from `cargo metadata --no-deps`.
pub fn members(root: &Path) -> Result<Vec<Member>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).context("parsing cargo metadata's output")?;
    parse_members(&metadata)
}

fn parse_members(metadata: &Value) -> Result<Vec<Member>> {
    let root = metadata["workspace_root"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no workspace_root")?;
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata has no packages")?;
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut members = Vec::new();
    for package in packages {
        let name = package["name"].as_str().context("package without a name")?;
        let manifest = package["manifest_path"]
            .as_str()
            .with_context(|| format!("{name} has no manifest_path"))?;
        let dir = Path::new(manifest)
            .parent()
            .and_then(|d| d.strip_prefix(&root).ok())
            .with_context(|| format!("{name}'s manifest {manifest} is outside the workspace"))?;
        let dir = dir
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let mut deps: Vec<String> = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["name"].as_str())
            .filter(|d| names.contains(d))
            .map(str::to_owned)
            .collect();
        deps.sort();
        deps.dedup();
        members.push(Member {
            name: name.to_owned(),
            dir,
            deps,
        });
    }
    Ok(members)
}

/// The workspace root, from xtask's own manifest directory.
pub fn workspace_root() -> Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .context("xtask is not inside the workspace")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, dir: &str, deps: &[&str]) -> Member {
        Member {
            name: name.into(),
            dir: dir.into(),
            deps: deps.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn the_workspace_keeps_its_layers() {
        let members = members(&workspace_root().unwrap()).unwrap();
        assert!(
            members.iter().any(|m| m.dir.starts_with("phases/")),
            "no phase crates found in cargo metadata"
        );
        let violations = check(&members);
        assert!(violations.is_empty(), "layout broken: {violations:#?}");
    }

    #[test]
    fn a_phase_using_another_phase_is_flagged() {
        let members = [
            member("kiln-engine", "crates/engine", &[]),
            member("kiln-phase-gather", "phases/gather", &["kiln-engine"]),
            member(
                "kiln-phase-createiso",
                "phases/createiso",
                &["kiln-engine", "kiln-phase-gather"],
            ),
        ];
        let violations = check(&members);
        assert_eq!(violations.len(), 1, "{violations:#?}");
        assert!(
            violations[0]
                .0
                .starts_with("kiln-phase-createiso (Phase) depends on kiln-phase-gather")
        );
    }

    #[test]
    fn a_library_using_the_engine_or_media_is_flagged_but_not_another_library() {
        let members = [
            member("kiln-engine", "crates/engine", &[]),
            member("kiln-media", "crates/media", &["kiln-engine", "kiln-iso"]),
            member("kiln-iso", "crates/iso", &["kiln-fs"]),
            member("kiln-fs", "crates/fs", &[]),
            member("kiln-rpm", "crates/rpm", &["kiln-engine", "kiln-media"]),
        ];
        let violations = check(&members);
        assert_eq!(violations.len(), 2, "{violations:#?}");
        assert!(
            violations
                .iter()
                .all(|v| v.0.starts_with("kiln-rpm (Library)"))
        );
    }

    #[test]
    fn a_misnamed_phase_crate_is_flagged() {
        let violations = check(&[member("gather", "phases/gather", &[])]);
        assert_eq!(violations.len(), 1);
        assert!(violations[0].0.contains("kiln-phase-gather"));
    }

    #[test]
    fn metadata_is_read_into_members() {
        let metadata = serde_json::json!({
            "workspace_root": "/w",
            "packages": [
                {"name": "kiln-engine", "manifest_path": "/w/crates/engine/Cargo.toml",
                 "dependencies": [{"name": "petgraph"}]},
                {"name": "kiln-phase-init", "manifest_path": "/w/phases/init/Cargo.toml",
                 "dependencies": [{"name": "kiln-engine"}, {"name": "serde"}]},
            ]
        });
        let members = parse_members(&metadata).unwrap();
        assert_eq!(members[1].dir, "phases/init");
        assert_eq!(members[1].deps, ["kiln-engine"]);
        assert!(members[0].deps.is_empty());
    }
}
