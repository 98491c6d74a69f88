//! `kiln diff OLD NEW`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use kiln_productmd::Image;
use kiln_productmd::images::Images;
use kiln_productmd::rpms::Rpms;
use serde::Serialize;
use serde_json::Value;

use crate::InspectError;

/// A package as rpms.json keys it, split.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
struct Nevra {
    name: String,
    epoch: u32,
    version: String,
    release: String,
    arch: String,
}

impl Nevra {
    /// `name-epoch:version-release.arch`.
    fn parse(s: &str) -> Option<Nevra> {
        let (rest, arch) = s.rsplit_once('.')?;
        let (rest, release) = rest.rsplit_once('-')?;
        let (name, ev) = rest.rsplit_once('-')?;
        let (epoch, version) = match ev.split_once(':') {
            Some((e, v)) => (e.parse().ok()?, v),
            None => (0, ev),
        };
        Some(Nevra {
            name: name.into(),
            epoch,
            version: version.into(),
            release: release.into(),
            arch: arch.into(),
        })
    }

    fn evr(&self) -> String {
        if self.epoch == 0 {
            format!("{}-{}", self.version, self.release)
        } else {
            format!("{}:{}-{}", self.epoch, self.version, self.release)
        }
    }

    fn nvra(&self) -> String {
        format!("{}-{}.{}", self.name, self.evr(), self.arch)
    }

    fn cmp_evr(&self, other: &Nevra) -> Ordering {
        kiln_depsolve::evr::compare_pkg_evr(
            (self.epoch, &self.version, &self.release),
            (other.epoch, &other.version, &other.release),
        )
    }
}

/// What a diff reads of one compose.
#[derive(Debug, Clone)]
pub struct ComposeView {
    pub id: String,
    /// `Variant.arch` → (name, arch) → package.
    packages: BTreeMap<String, BTreeMap<(String, String), Nevra>>,
    /// (variant, filed arch, the image's own arch, type, format, subvariant, disc) → image:
    /// a source DVD is filed under a binary arch beside that arch's DVD.
    images: BTreeMap<ImageKey, Image>,
    config: serde_json::Map<String, Value>,
}

type ImageKey = (String, String, String, String, String, String, u32);

impl ComposeView {
    /// Reads `compose/metadata/rpms.json`, `images.json` (when there is one) and the config dump
    /// of the compose at `dir`.
    pub fn load(dir: &Path) -> Result<ComposeView, InspectError> {
        let metadata = dir.join("compose/metadata");
        let rpms_path = metadata.join("rpms.json");
        if !rpms_path.is_file() {
            return Err(InspectError::NotACompose {
                path: dir.to_owned(),
                why: format!("{} is missing", rpms_path.display()),
            });
        }
        let (compose, rpms) = Rpms::load(&rpms_path)?;
        let mut packages: BTreeMap<String, BTreeMap<(String, String), Nevra>> = BTreeMap::new();
        for (variant, arches) in &rpms.rpms {
            for (arch, srpms) in arches {
                let tree = packages.entry(format!("{variant}.{arch}")).or_default();
                for nevra in srpms.values().flat_map(|p| p.keys()) {
                    if let Some(n) = Nevra::parse(nevra) {
                        tree.insert((n.name.clone(), n.arch.clone()), n);
                    }
                }
            }
        }
        let mut images = BTreeMap::new();
        let images_path = metadata.join("images.json");
        if images_path.is_file() {
            let (_, all) = Images::load(&images_path)?;
            for (variant, arches) in all.images {
                for (arch, list) in arches {
                    for image in list {
                        let key = (
                            variant.clone(),
                            arch.clone(),
                            image.arch.clone(),
                            image.kind.clone(),
                            image.format.clone(),
                            image.subvariant.clone(),
                            image.disc_number,
                        );
                        images.insert(key, image);
                    }
                }
            }
        }
        let config = read_config(dir)?;
        Ok(ComposeView {
            id: compose.id,
            packages,
            images,
            config,
        })
    }
}

/// kiln's config dump (`logs/global/config-dump.global.log`), or nothing for a compose without.
pub(crate) fn read_config(dir: &Path) -> Result<serde_json::Map<String, Value>, InspectError> {
    let path = dir.join("logs/global/config-dump.global.log");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(serde_json::Map::new());
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Ok(serde_json::Map::new()),
        Err(source) => Err(InspectError::Json { path, source }),
    }
}

/// A package whose version moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upgrade {
    pub name: String,
    pub arch: String,
    pub old: String,
    pub new: String,
}

/// The package changes of one variant and arch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PackageChanges {
    /// `name-evr.arch`.
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub upgraded: Vec<Upgrade>,
    pub downgraded: Vec<Upgrade>,
}

impl PackageChanges {
    fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.upgraded.is_empty()
            && self.downgraded.is_empty()
    }
}

/// An image that came, went or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageChange {
    /// `added`, `removed` or `changed`.
    pub change: String,
    pub variant: String,
    pub arch: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub format: String,
    pub disc_number: u32,
    /// Relative to `compose/`, in the old and the new compose.
    pub old_path: Option<String>,
    pub new_path: Option<String>,
    /// Checksums that differ: name → (old, new).
    pub checksums: BTreeMap<String, (String, String)>,
}

/// A config option that came, went or changed value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigChange {
    pub option: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// What changed from one compose to another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    pub old: String,
    pub new: String,
    /// `Variant.arch` → changes (only trees with changes).
    pub packages: BTreeMap<String, PackageChanges>,
    pub images: Vec<ImageChange>,
    pub config: Vec<ConfigChange>,
}

/// The differences from `old` to `new`.
pub fn diff(old: &ComposeView, new: &ComposeView) -> Diff {
    let mut packages = BTreeMap::new();
    let trees: BTreeSet<&String> = old.packages.keys().chain(new.packages.keys()).collect();
    let empty = BTreeMap::new();
    for tree in trees {
        let a = old.packages.get(tree).unwrap_or(&empty);
        let b = new.packages.get(tree).unwrap_or(&empty);
        let mut ch = PackageChanges::default();
        for (key, n) in b {
            match a.get(key) {
                None => ch.added.push(n.nvra()),
                Some(o) => {
                    let up = Upgrade {
                        name: n.name.clone(),
                        arch: n.arch.clone(),
                        old: o.evr(),
                        new: n.evr(),
                    };
                    match n.cmp_evr(o) {
                        Ordering::Greater => ch.upgraded.push(up),
                        Ordering::Less => ch.downgraded.push(up),
                        Ordering::Equal => {}
                    }
                }
            }
        }
        for (key, o) in a {
            if !b.contains_key(key) {
                ch.removed.push(o.nvra());
            }
        }
        if !ch.is_empty() {
            packages.insert(tree.clone(), ch);
        }
    }
    let mut images = Vec::new();
    let keys: BTreeSet<&ImageKey> = old.images.keys().chain(new.images.keys()).collect();
    for key in keys {
        let (a, b) = (old.images.get(key), new.images.get(key));
        let mut checksums = BTreeMap::new();
        let change = match (a, b) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            (Some(x), Some(y)) => {
                for (alg, h) in &y.checksums {
                    if let Some(old_h) = x.checksums.get(alg)
                        && old_h != h
                    {
                        checksums.insert(alg.clone(), (old_h.clone(), h.clone()));
                    }
                }
                if checksums.is_empty() && x.size == y.size {
                    continue;
                }
                "changed"
            }
            (None, None) => continue,
        };
        images.push(ImageChange {
            change: change.into(),
            variant: key.0.clone(),
            arch: key.1.clone(),
            kind: key.3.clone(),
            format: key.4.clone(),
            disc_number: key.6,
            old_path: a.map(|i| i.path.clone()),
            new_path: b.map(|i| i.path.clone()),
            checksums,
        });
    }
    let mut config = Vec::new();
    let options: BTreeSet<&String> = old.config.keys().chain(new.config.keys()).collect();
    for option in options {
        let (a, b) = (old.config.get(option), new.config.get(option));
        if a != b {
            config.push(ConfigChange {
                option: option.clone(),
                old: a.cloned(),
                new: b.cloned(),
            });
        }
    }
    Diff {
        old: old.id.clone(),
        new: new.id.clone(),
        packages,
        images,
        config,
    }
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.images.is_empty() && self.config.is_empty()
    }

    /// The text `kiln diff` prints.
    pub fn to_text(&self) -> String {
        let mut out = format!("{} -> {}\n", self.old, self.new);
        if self.is_empty() {
            out.push_str("no differences\n");
            return out;
        }
        if !self.packages.is_empty() {
            out.push_str("packages:\n");
            for (tree, ch) in &self.packages {
                let _ = writeln!(out, "  {tree}:");
                for p in &ch.added {
                    let _ = writeln!(out, "    added      {p}");
                }
                for p in &ch.removed {
                    let _ = writeln!(out, "    removed    {p}");
                }
                for u in &ch.upgraded {
                    let _ = writeln!(
                        out,
                        "    upgraded   {}.{} {} -> {}",
                        u.name, u.arch, u.old, u.new
                    );
                }
                for u in &ch.downgraded {
                    let _ = writeln!(
                        out,
                        "    downgraded {}.{} {} -> {}",
                        u.name, u.arch, u.old, u.new
                    );
                }
            }
        }
        if !self.images.is_empty() {
            out.push_str("images:\n");
            for i in &self.images {
                let path = i
                    .new_path
                    .as_ref()
                    .or(i.old_path.as_ref())
                    .cloned()
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {:<10} {}.{} {} {} disc {}: {path}",
                    i.change, i.variant, i.arch, i.kind, i.format, i.disc_number
                );
                for (alg, (a, b)) in &i.checksums {
                    let _ = writeln!(out, "             {alg} {a} -> {b}");
                }
            }
        }
        if !self.config.is_empty() {
            out.push_str("config:\n");
            let show =
                |v: &Option<Value>| v.as_ref().map_or("(unset)".to_owned(), Value::to_string);
            for c in &self.config {
                let _ = writeln!(out, "  {}: {} -> {}", c.option, show(&c.old), show(&c.new));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Nevra;

    #[test]
    fn nevras_split_and_compare_as_rpm_does() {
        let a = Nevra::parse("mini-docs-0:1.0-1.mini36.noarch").unwrap();
        let b = Nevra::parse("mini-docs-0:1.10-1.mini36.noarch").unwrap();
        assert_eq!((a.name.as_str(), a.arch.as_str()), ("mini-docs", "noarch"));
        assert_eq!(b.cmp_evr(&a), std::cmp::Ordering::Greater);
        assert_eq!(Nevra::parse("x-1:2-3.src").unwrap().evr(), "1:2-3");
        assert!(Nevra::parse("nonsense").is_none());
    }
}
