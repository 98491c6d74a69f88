//! `.treeinfo` (productmd 1.2), `.discinfo` and `media.repo`: the files that make a directory an
//! installable tree. They are written for every os and source tree once its repodata exists
//! ([`tree_metadata_files`], called at the end of the createrepo phase) and again, with a
//! `[media]` section, into each ISO's staging area ([`with_media`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::ProductmdError;
use crate::ini::Ini;

/// `[release]` (and `[base_product]`) of a treeinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub name: String,
    pub short: String,
    pub version: String,
}

/// One `[variant-<uid>]` (or `[addon-<uid>]`) section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeVariant {
    pub id: String,
    pub uid: String,
    pub name: String,
    /// `variant`, `addon`, `optional`, `layered-product`
    pub kind: String,
    pub repository: Option<String>,
    pub packages: Option<String>,
    pub parent: Option<String>,
}

impl TreeVariant {
    /// A variant whose repository is the tree root, as pungi lays out os and source trees.
    pub fn at_root(id: &str, uid: &str, name: &str, kind: &str) -> Self {
        TreeVariant {
            id: id.to_owned(),
            uid: uid.to_owned(),
            name: name.to_owned(),
            kind: kind.to_owned(),
            repository: Some(".".to_owned()),
            packages: Some("Packages".to_owned()),
            parent: None,
        }
    }

    fn section(&self) -> String {
        if self.kind == "addon" {
            format!("addon-{}", self.uid)
        } else {
            format!("variant-{}", self.uid)
        }
    }
}

/// Everything a productmd 1.2 `.treeinfo` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeInfo {
    pub release: Product,
    pub is_layered: bool,
    pub base_product: Option<Product>,
    /// `x86_64`, or `src` for source trees.
    pub arch: String,
    /// The compose's deterministic timestamp.
    pub build_timestamp: i64,
    pub platforms: BTreeSet<String>,
    /// The tree's own variant first; addons follow with `parent` set.
    pub variants: Vec<TreeVariant>,
    /// uid of the variant `[general]` describes; the first variant when `None`.
    pub main_variant: Option<String>,
    /// `[images-<platform>]`: image kind (`kernel`, `initrd`, `efiboot.img`, `boot.iso`) → path.
    pub images: BTreeMap<String, BTreeMap<String, String>>,
    pub stage2_mainimage: Option<String>,
    pub stage2_instimage: Option<String>,
    /// `[media]` (disc number, total discs): only on ISO copies.
    pub media: Option<(u32, u32)>,
    /// `[checksums]`: path → (algorithm, hex).
    pub checksums: BTreeMap<String, (String, String)>,
}

impl TreeInfo {
    /// A tree of one variant at its root, with no boot images.
    pub fn new(release: Product, arch: &str, build_timestamp: i64, variant: TreeVariant) -> Self {
        TreeInfo {
            release,
            is_layered: false,
            base_product: None,
            arch: arch.to_owned(),
            build_timestamp,
            platforms: BTreeSet::from([arch.to_owned()]),
            variants: vec![variant],
            main_variant: None,
            images: BTreeMap::new(),
            stage2_mainimage: None,
            stage2_instimage: None,
            media: None,
            checksums: BTreeMap::new(),
        }
    }

    fn main(&self) -> Result<&TreeVariant, ProductmdError> {
        let found = match &self.main_variant {
            Some(uid) => self.variants.iter().find(|v| &v.uid == uid),
            None => {
                let mut top: Vec<&TreeVariant> = self
                    .variants
                    .iter()
                    .filter(|v| v.parent.is_none())
                    .collect();
                top.sort_by(|a, b| a.uid.cmp(&b.uid));
                top.first().copied()
            }
        };
        found.ok_or_else(|| {
            ProductmdError::Invalid(format!(
                "treeinfo for {} has no variant {:?}",
                self.arch, self.main_variant
            ))
        })
    }

    /// The INI document productmd would write.
    pub fn to_ini(&self) -> Result<Ini, ProductmdError> {
        let mut ini = Ini::default();
        let main = self.main()?;
        let top: BTreeSet<&str> = self
            .variants
            .iter()
            .filter(|v| v.parent.is_none())
            .map(|v| v.uid.as_str())
            .collect();
        let top_list = top.iter().copied().collect::<Vec<_>>().join(",");
        let mut platforms = self.platforms.clone();
        platforms.insert(self.arch.clone());
        let platforms = platforms.into_iter().collect::<Vec<_>>().join(",");

        let g = "general";
        ini.set(
            g,
            "; WARNING.0",
            "This section provides compatibility with pre-productmd treeinfos.",
        );
        ini.set(
            g,
            "; WARNING.1",
            "Read productmd documentation for details about new format.",
        );
        ini.set(
            g,
            "name",
            format!("{} {}", self.release.name, self.release.version),
        );
        ini.set(g, "family", &self.release.name);
        ini.set(g, "version", &self.release.version);
        ini.set(g, "arch", &self.arch);
        ini.set(g, "platforms", &platforms);
        ini.set(g, "timestamp", self.build_timestamp.to_string());
        ini.set(g, "variants", &top_list);
        ini.set(g, "variant", &main.uid);
        if let Some(p) = &main.packages {
            ini.set(g, "packagedir", p);
        }
        if let Some(r) = &main.repository {
            ini.set(g, "repository", r);
        }

        ini.set("header", "type", "productmd.treeinfo");
        ini.set("header", "version", crate::common::VERSION);

        ini.set("release", "name", &self.release.name);
        ini.set("release", "short", &self.release.short);
        ini.set("release", "version", &self.release.version);
        if self.is_layered {
            ini.set("release", "is_layered", "true");
        }
        if let Some(bp) = &self.base_product {
            ini.set("base_product", "name", &bp.name);
            ini.set("base_product", "short", &bp.short);
            ini.set("base_product", "version", &bp.version);
        }

        ini.set("tree", "arch", &self.arch);
        ini.set("tree", "build_timestamp", self.build_timestamp.to_string());
        ini.set("tree", "platforms", &platforms);
        ini.set("tree", "variants", &top_list);

        for v in &self.variants {
            let s = v.section();
            ini.set(&s, "id", &v.id);
            ini.set(&s, "uid", &v.uid);
            ini.set(&s, "name", &v.name);
            ini.set(&s, "type", &v.kind);
            if let Some(r) = &v.repository {
                ini.set(&s, "repository", r);
            }
            if let Some(p) = &v.packages {
                ini.set(&s, "packages", p);
            }
            if let Some(parent) = &v.parent {
                ini.set(&s, "parent", parent);
            }
            let children: BTreeSet<&str> = self
                .variants
                .iter()
                .filter(|c| c.parent.as_deref() == Some(v.uid.as_str()))
                .map(|c| c.uid.as_str())
                .collect();
            if !children.is_empty() {
                ini.set(
                    &s,
                    "addons",
                    children.into_iter().collect::<Vec<_>>().join(","),
                );
            }
        }

        for (platform, images) in &self.images {
            for (kind, path) in images {
                ini.set(&format!("images-{platform}"), kind, path);
            }
        }
        if let Some(m) = &self.stage2_mainimage {
            ini.set("stage2", "mainimage", m);
        }
        if let Some(i) = &self.stage2_instimage {
            ini.set("stage2", "instimage", i);
        }
        if let Some((num, total)) = self.media {
            ini.set("media", "discnum", num.to_string());
            ini.set("media", "totaldiscs", total.to_string());
        }
        for (path, (alg, hex)) in &self.checksums {
            ini.set("checksums", path, format!("{alg}:{hex}"));
        }
        Ok(ini)
    }

    pub fn render(&self) -> Result<String, ProductmdError> {
        Ok(self.to_ini()?.render())
    }

    /// Take the boot images, stage2 and their checksums from a treeinfo lorax (buildinstall)
    /// or an earlier kiln run left in the tree, and checksum every one of them that exists in
    /// `tree_dir` with sha256, so the treeinfo vouches for the files actually shipped.
    pub fn merge_boot_from(
        &mut self,
        existing: &Ini,
        tree_dir: &Path,
    ) -> Result<(), ProductmdError> {
        for (section, keys) in &existing.sections {
            if let Some(platform) = section.strip_prefix("images-") {
                for (kind, path) in keys {
                    if !path.is_empty() {
                        self.images
                            .entry(platform.to_owned())
                            .or_default()
                            .insert(kind.clone(), path.clone());
                    }
                }
                self.platforms.insert(platform.to_owned());
            }
        }
        if let Some(m) = existing.get("stage2", "mainimage") {
            self.stage2_mainimage = Some(m.to_owned());
        }
        if let Some(i) = existing.get("stage2", "instimage") {
            self.stage2_instimage = Some(i.to_owned());
        }
        let mut paths: BTreeSet<String> = self
            .images
            .values()
            .flat_map(|m| m.values().cloned())
            .collect();
        paths.extend(self.stage2_mainimage.clone());
        paths.extend(self.stage2_instimage.clone());
        for rel in paths {
            let file = tree_dir.join(&rel);
            if file.is_file() {
                let hex = sha256_file(&file)?;
                self.checksums.insert(rel, ("sha256".to_owned(), hex));
            }
        }
        Ok(())
    }
}

/// The treeinfo pungi writes for a variant's os tree (`arch`) or source tree (`src`): the
/// variant at the tree root and its addons under `addons/<id>`. A layered product names its own
/// release and the base product it is layered on.
pub fn for_variant_tree(
    release: Product,
    base_product: Option<Product>,
    variant: &kiln_variants::Variant,
    addons: &[&kiln_variants::Variant],
    arch: &str,
    timestamp: i64,
) -> TreeInfo {
    let main = TreeVariant::at_root(
        &variant.id,
        &variant.uid,
        &variant.name,
        variant.kind.as_str(),
    );
    let (release, base_product, is_layered) = match (&variant.release, base_product) {
        (Some(lp), _) => (
            Product {
                name: lp.name.clone(),
                short: lp.short.clone(),
                version: lp.version.clone(),
            },
            Some(release),
            true,
        ),
        (None, base) => {
            let layered = base.is_some();
            (release, base, layered)
        }
    };
    let mut ti = TreeInfo::new(release, arch, timestamp, main);
    ti.base_product = base_product;
    ti.is_layered = is_layered;
    ti.main_variant = Some(variant.uid.clone());
    for addon in addons {
        let dir = format!("addons/{}", addon.id);
        ti.variants.push(TreeVariant {
            id: addon.id.clone(),
            uid: addon.uid.clone(),
            name: addon.name.clone(),
            kind: addon.kind.as_str().to_owned(),
            packages: Some(format!("{dir}/Packages")),
            repository: Some(dir),
            parent: Some(variant.uid.clone()),
        });
    }
    ti
}

fn sha256_file(path: &Path) -> Result<String, ProductmdError> {
    let sums = kiln_checksum::file_digests(path, &[kiln_checksum::Algorithm::Sha256])
        .map_err(|e| ProductmdError::Invalid(format!("cannot checksum {}: {e}", path.display())))?;
    Ok(sums
        .hex(kiln_checksum::Algorithm::Sha256)
        .unwrap_or_default()
        .to_owned())
}

/// `.discinfo`: timestamp, description, arch, disc numbers (`ALL` for trees).
pub fn discinfo(timestamp: i64, description: &str, arch: &str, disc: Option<u32>) -> String {
    let discs = disc.map_or_else(|| "ALL".to_owned(), |n| n.to_string());
    format!("{}\n{description}\n{arch}\n{discs}\n", media_id(timestamp))
}

/// `media.repo`: lets an installer or `dnf` treat the mounted medium as a repository.
pub fn media_repo(timestamp: i64, description: &str) -> String {
    format!(
        "[InstallMedia]\nname={description}\nmediaid={}\nmetadata_expire=-1\ngpgcheck=0\ncost=500\n",
        media_id(timestamp)
    )
}

/// productmd writes the discinfo timestamp with `%f`; from an integral timestamp that is
/// `<secs>.000000`, which is what pungi writes under SOURCE_DATE_EPOCH.
fn media_id(timestamp: i64) -> String {
    format!("{timestamp}.000000")
}

/// The three files of a finished tree, as (path, bytes) for the caller to write atomically and
/// record as outputs. `description` is `"<release name> <release version>"` (pungi's default).
/// Boot images, stage2 and their checksums are taken from the tree's own `.treeinfo` when one
/// is there (lorax's, or an earlier run's).
pub fn tree_metadata_files(
    tree_dir: &Path,
    treeinfo: &TreeInfo,
    description: &str,
) -> Result<Vec<(PathBuf, Vec<u8>)>, ProductmdError> {
    tree_metadata_files_from(
        tree_dir,
        treeinfo,
        description,
        &[&tree_dir.join(".treeinfo")],
    )
}

/// [`tree_metadata_files`] taking boot images from each of `boot_sources` that exists, e.g.
/// `work/<arch>/buildinstall/<V>/.treeinfo` (lorax's, which buildinstall does not copy) and the
/// tree's own `.treeinfo`.
pub fn tree_metadata_files_from(
    tree_dir: &Path,
    treeinfo: &TreeInfo,
    description: &str,
    boot_sources: &[&Path],
) -> Result<Vec<(PathBuf, Vec<u8>)>, ProductmdError> {
    let mut ti = treeinfo.clone();
    for source in boot_sources {
        if !source.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(source).map_err(|e| ProductmdError::Read {
            path: source.to_path_buf(),
            source: e,
        })?;
        let ini =
            Ini::parse(&text, &source.display().to_string()).map_err(ProductmdError::Invalid)?;
        ti.merge_boot_from(&ini, tree_dir)?;
    }
    let disc = ti.media.map(|(n, _)| n);
    Ok(vec![
        (tree_dir.join(".treeinfo"), ti.render()?.into_bytes()),
        (
            tree_dir.join(".discinfo"),
            discinfo(ti.build_timestamp, description, &ti.arch, disc).into_bytes(),
        ),
        (
            tree_dir.join("media.repo"),
            media_repo(ti.build_timestamp, description).into_bytes(),
        ),
    ])
}

/// Write the tree metadata files directly (atomic temp + rename), for callers outside a phase
/// context. Returns the paths written.
pub fn write_tree_metadata(
    tree_dir: &Path,
    treeinfo: &TreeInfo,
    description: &str,
) -> Result<Vec<PathBuf>, ProductmdError> {
    let files = tree_metadata_files(tree_dir, treeinfo, description)?;
    let mut written = Vec::new();
    for (path, bytes) in files {
        kiln_fs::write_atomic(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// A tree's `.treeinfo` text with `[media]` set, for the copy on disc `num` of `total`.
pub fn with_media(
    treeinfo_text: &str,
    what: &str,
    num: u32,
    total: u32,
) -> Result<String, ProductmdError> {
    let mut ini = Ini::parse(treeinfo_text, what).map_err(ProductmdError::Invalid)?;
    ini.set("media", "discnum", num.to_string());
    ini.set("media", "totaldiscs", total.to_string());
    Ok(ini.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(rel: &str) -> Option<String> {
        let p = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference/pungi-compose/compose"
        ))
        .join(rel);
        std::fs::read_to_string(p).ok()
    }

    fn mini() -> Product {
        Product {
            name: "Mini Linux".into(),
            short: "Mini".into(),
            version: "36".into(),
        }
    }

    #[test]
    fn os_and_source_trees_match_pungi_byte_for_byte() {
        for (rel, arch) in [
            ("BaseOS/x86_64/os", "x86_64"),
            ("BaseOS/source/tree", "src"),
            ("AppStream/x86_64/os", "x86_64"),
        ] {
            let Some(want) = reference(&format!("{rel}/.treeinfo")) else {
                eprintln!("reference compose absent, skipping");
                return;
            };
            let uid = rel.split('/').next().unwrap();
            let ti = TreeInfo::new(
                mini(),
                arch,
                1795251170,
                TreeVariant::at_root(uid, uid, uid, "variant"),
            );
            assert_eq!(ti.render().unwrap(), want, "{rel}/.treeinfo");
            // pungi ran without SOURCE_DATE_EPOCH, so only the fraction differs.
            let disc = reference(&format!("{rel}/.discinfo")).unwrap();
            let ours = discinfo(1795251170, "Mini Linux 36", arch, None);
            assert_eq!(
                ours.lines().skip(1).collect::<Vec<_>>(),
                disc.lines().skip(1).collect::<Vec<_>>()
            );
            let repo = reference(&format!("{rel}/media.repo")).unwrap();
            let ours = media_repo(1795251170, "Mini Linux 36");
            let strip = |s: &str| {
                s.lines()
                    .filter(|l| !l.starts_with("mediaid"))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            assert_eq!(strip(&ours), strip(&repo));
        }
    }

    #[test]
    fn media_section_added_for_discs() {
        let ti = TreeInfo::new(
            mini(),
            "x86_64",
            1,
            TreeVariant::at_root("B", "B", "B", "variant"),
        );
        let text = with_media(&ti.render().unwrap(), "t", 1, 2).unwrap();
        assert!(text.contains("[media]\ndiscnum = 1\ntotaldiscs = 2\n"));
    }
}
