//! Every option kiln reads, with pungi's name, meaning and default. Option docs become the
//! descriptions in `schemas/config.schema.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kiln_variants::VariantDef;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::values::{OneOrMany, Size, VariantArchMap};

/// A kiln compose configuration.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    // ---- release ----
    /// Full product name, e.g. "Fedora".
    pub release_name: String,
    /// Short product name used in compose IDs and file names, e.g. "Fedora".
    pub release_short: String,
    /// Product version, e.g. "36" or "Rawhide".
    pub release_version: String,
    /// Release type: ga, updates, updates-testing, eus, aus, els, tus, e4s, fast.
    #[serde(default = "d_ga")]
    pub release_type: String,
    /// Internal release (productmd's release.internal).
    #[serde(default)]
    pub release_internal: bool,
    /// Description in .discinfo and media.repo, instead of "<release_name> <release_version>".
    #[serde(default)]
    pub release_discinfo_description: Option<String>,
    /// Base product of a layered product.
    #[serde(default)]
    pub base_product_name: Option<String>,
    #[serde(default)]
    pub base_product_short: Option<String>,
    #[serde(default)]
    pub base_product_version: Option<String>,
    #[serde(default = "d_ga")]
    pub base_product_type: String,
    /// Version written into .treeinfo instead of release_version.
    #[serde(default)]
    pub treeinfo_version: Option<String>,

    // ---- general ----
    /// comps.xml with groups, environments, categories and langpacks.
    #[serde(default)]
    pub comps_file: Option<PathBuf>,
    /// pungi's variants.xml. Either this or `variants` is required.
    #[serde(default)]
    pub variants_file: Option<PathBuf>,
    /// Variants defined inline instead of in variants.xml.
    #[serde(default)]
    pub variants: Vec<VariantDef>,
    /// Folder of module defaults (modulemd-defaults YAML) passed through to the repos.
    #[serde(default)]
    pub module_defaults_dir: Option<PathBuf>,
    /// Keep in each variant's comps only the environments its definition lists (pungi's
    /// `comps_filter_environments`; variants listing no groups or environments keep all).
    #[serde(default = "d_true")]
    pub comps_filter_environments: bool,
    /// Only compose these arches.
    #[serde(default)]
    pub tree_arches: Vec<String>,
    /// Only compose these variants (and their children).
    #[serde(default)]
    pub tree_variants: Vec<String>,
    /// Phases never to run (kiln or pungi names).
    #[serde(default)]
    pub skip_phases: Vec<String>,
    /// Deliverables whose failure makes the compose FINISHED_INCOMPLETE instead of DOOMED:
    /// `[variant_regex, {arch: [buildinstall, iso, ...]}]`.
    #[serde(default)]
    pub failable_deliverables: VariantArchMap<Vec<String>>,
    /// Programs run on every status change and phase start/stop, with the message name as
    /// argument and JSON on stdin.
    #[serde(default)]
    pub notification_script: OneOrMany,
    /// How packages get into the trees: hardlink, copy, hardlink-or-copy, symlink,
    /// abspath-symlink, reflink.
    #[serde(default)]
    pub link_type: LinkType,
    /// Put packages in Packages/<first letter>/.
    #[serde(default)]
    pub hashed_directories: bool,
    /// Path prefix rewrites for messages: `[[from, to], ...]`.
    #[serde(default)]
    pub translate_paths: Vec<(String, String)>,
    /// Where external commands run: local (podman, mock, koji and kube runners fit the same trait).
    #[serde(default = "d_local")]
    pub runroot_method: String,

    // ---- naming ----
    /// ISO file name format, or a map variant regex -> format.
    #[serde(default)]
    pub image_name_format: Option<NameFormat>,
    /// Volume ID candidates, tried in order until one fits in 32 bytes.
    #[serde(default = "d_volid_formats")]
    pub image_volid_formats: Vec<String>,
    #[serde(default = "d_volid_lp_formats")]
    pub image_volid_layered_product_formats: Vec<String>,
    /// Replacements applied to volume IDs, longest key first.
    #[serde(default)]
    pub volume_id_substitutions: BTreeMap<String, String>,
    /// Replace every non-word character in volume IDs with '-'.
    #[serde(default)]
    pub restricted_volid: bool,
    /// disc_type used in image names for each kind of media.
    #[serde(default = "d_disc_types")]
    pub disc_types: BTreeMap<String, String>,

    // ---- pkgset ----
    /// Where packages come from: repos (local paths, http(s) URLs, or plain folders of RPMs).
    #[serde(default = "d_repos")]
    pub pkgset_source: String,
    /// `{arch or "*": [path or URL, ...]}` for pkgset_source repos.
    #[serde(default)]
    pub pkgset_repos: BTreeMap<String, Vec<String>>,
    /// Signing key IDs, in order of preference; null allows unsigned packages.
    #[serde(default = "d_sigkeys")]
    pub sigkeys: Vec<Option<String>>,
    /// A noarch package whose build has ExclusiveArch/ExcludeArch enters only the arches it allows.
    #[serde(default = "d_true")]
    pub pkgset_exclusive_arch_considers_noarch: bool,
    #[serde(default = "d_true")]
    pub pkgset_allow_reuse: bool,
    /// Keep every version of a package, not only the newest.
    #[serde(default)]
    pub pkgset_all_versions: bool,
    /// Folder for the header cache and downloads shared between composes (default: <target>/.kiln-cache).
    #[serde(default)]
    pub pkgset_cache_dir: Option<PathBuf>,

    // ---- gather ----
    /// deps, nodeps or hybrid; or a map variant regex -> method.
    #[serde(default = "d_deps")]
    pub gather_method: GatherMethod,
    #[serde(default)]
    pub gather_backend: Option<String>,
    #[serde(default)]
    pub gather_fulltree: bool,
    #[serde(default)]
    pub gather_selfhosting: bool,
    /// none, all or build.
    #[serde(default = "d_none")]
    pub greedy_method: String,
    /// Multilib methods per variant/arch: devel, runtime, all.
    #[serde(default)]
    pub multilib: VariantArchMap<Vec<String>>,
    #[serde(default)]
    pub multilib_whitelist: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub multilib_blacklist: BTreeMap<String, Vec<String>>,
    /// Packages (name or name.arch globs) removed everywhere they would enter.
    #[serde(default)]
    pub filter_packages: VariantArchMap<Vec<String>>,
    /// Packages added to a variant/arch besides its comps groups.
    #[serde(default)]
    pub additional_packages: VariantArchMap<Vec<String>>,
    /// Repos whose packages satisfy dependencies but are not shipped.
    #[serde(default)]
    pub gather_lookaside_repos: VariantArchMap<Vec<String>>,
    /// `[[variant, lookaside_variant], ...]`: the first never repeats what the second ships.
    #[serde(default)]
    pub variant_as_lookaside: Vec<(String, String)>,
    /// Fail the compose on unresolved dependencies.
    #[serde(default = "d_true")]
    pub check_deps: bool,
    #[serde(default)]
    pub gather_allow_reuse: bool,
    #[serde(default = "d_true")]
    pub filter_system_release_packages: bool,

    // ---- createrepo ----
    /// sha256, sha1, sha224, sha384, sha512.
    #[serde(default = "d_sha256")]
    pub createrepo_checksum: String,
    #[serde(default)]
    pub createrepo_use_xz: bool,
    /// gz, zstd, xz: compression of primary/filelists/other (pungi's default is gz).
    #[serde(default)]
    pub createrepo_compress_type: Option<String>,
    #[serde(default)]
    pub createrepo_extra_args: Vec<String>,
    #[serde(default)]
    pub createrepo_num_threads: Option<usize>,
    #[serde(default = "d_three")]
    pub createrepo_num_workers: usize,
    /// Reuse repodata of unchanged packages from this earlier compose's trees.
    #[serde(default)]
    pub createrepo_reuse_from: Option<PathBuf>,
    /// productid certificate source (scm dict) installed into repodata.
    #[serde(default)]
    pub product_id: Option<Scm>,
    #[serde(default)]
    pub product_id_allow_missing: bool,

    // ---- repoclosure ----
    /// off, lenient or fatal per variant/arch (last match wins); default lenient.
    #[serde(default)]
    pub repoclosure_strictness: VariantArchMap<String>,
    /// native (kiln's own check) or dnf (runs `dnf repoclosure`).
    #[serde(default = "d_native")]
    pub repoclosure_backend: String,

    // ---- buildinstall ----
    /// lorax: run lorax to make the installer tree. Unset: no buildinstall.
    #[serde(default)]
    pub buildinstall_method: Option<String>,
    #[serde(default)]
    pub lorax_options: VariantArchMap<serde_json::Value>,
    #[serde(default)]
    pub buildinstall_skip: VariantArchMap<bool>,

    // ---- extra files ----
    /// Files copied into trees: `[variant_regex, {arch: [scm dict + target], ...}]`.
    #[serde(default)]
    pub extra_files: VariantArchMap<Vec<ExtraFile>>,

    // ---- createiso ----
    #[serde(default)]
    pub createiso_skip: VariantArchMap<bool>,
    /// Size of one disc; larger trees are split.
    #[serde(default = "d_iso_size")]
    pub iso_size: Size,
    /// Space kept free on each disc when splitting.
    #[serde(default = "d_split_reserve")]
    pub split_iso_reserve: Size,
    /// Warn (or fail, when strict) when an ISO grows past this many bytes.
    #[serde(default)]
    pub createiso_max_size: VariantArchMap<u64>,
    #[serde(default)]
    pub createiso_max_size_is_strict: VariantArchMap<bool>,
    #[serde(default)]
    pub create_optional_isos: bool,
    /// Put ISOs in this folder and symlink iso/ to it.
    #[serde(default)]
    pub symlink_isos_to: Option<PathBuf>,
    #[serde(default)]
    pub createiso_break_hardlinks: bool,
    /// Accepted for pungi compatibility: kiln always uses xorrisofs.
    #[serde(default = "d_true")]
    pub createiso_use_xorrisofs: bool,
    #[serde(default)]
    pub iso_level: Option<IsoLevel>,
    #[serde(default = "d_true")]
    pub iso_hfs_ppc64le_compatible: bool,
    /// jigdo files are not supported by kiln; must stay false.
    #[serde(default)]
    pub create_jigdo: bool,

    // ---- extra isos ----
    /// `{variant_regex: [extra iso block, ...]}`.
    #[serde(default)]
    pub extra_isos: BTreeMap<String, Vec<ExtraIso>>,

    // ---- image checksums ----
    /// md5, sha1, sha256, sha512.
    #[serde(default = "d_media_checksums")]
    pub media_checksums: Vec<String>,
    #[serde(default)]
    pub media_checksum_one_file: bool,
    #[serde(default)]
    pub media_checksum_base_filename: String,

    // ---- image builders (each phase runs only when configured) ----
    #[serde(default)]
    pub ostree: Option<serde_json::Value>,
    #[serde(default)]
    pub live_media: Option<serde_json::Value>,
    #[serde(default)]
    pub image_build: Option<serde_json::Value>,
    #[serde(default)]
    pub kiwibuild: Option<serde_json::Value>,
    #[serde(default)]
    pub osbuild: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LinkType {
    Hardlink,
    Copy,
    #[default]
    HardlinkOrCopy,
    Symlink,
    AbspathSymlink,
    Reflink,
}

/// `gather_method`: one method for all variants, or per variant regex.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum GatherMethod {
    One(String),
    PerVariant(BTreeMap<String, String>),
}

impl GatherMethod {
    pub fn for_variant(&self, variant: &str) -> &str {
        match self {
            GatherMethod::One(m) => m,
            GatherMethod::PerVariant(map) => map
                .iter()
                .filter(|(re, _)| crate::values::variant_matches(re, variant))
                .map(|(_, m)| m.as_str())
                .next_back()
                .unwrap_or("deps"),
        }
    }

    fn methods(&self) -> Vec<&str> {
        match self {
            GatherMethod::One(m) => vec![m],
            GatherMethod::PerVariant(map) => map.values().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NameFormat {
    One(String),
    PerVariant(BTreeMap<String, String>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum IsoLevel {
    One(u8),
    PerVariantArch(VariantArchMap<u8>),
}

/// pungi's scm dict: where a file comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scm {
    /// file, git or rpm.
    pub scm: String,
    /// Git URL, or for rpm the package name (or path).
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub file: OneOrMany,
    #[serde(default)]
    pub dir: OneOrMany,
    /// Command run in the checkout before the files are taken.
    #[serde(default)]
    pub command: Option<String>,
}

/// An `extra_files` entry: an scm dict plus where the files go in the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraFile {
    pub scm: String,
    #[serde(default)]
    pub repo: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub file: OneOrMany,
    #[serde(default)]
    pub dir: OneOrMany,
    #[serde(default)]
    pub command: Option<String>,
    /// Folder in the tree, relative to its root.
    #[serde(default)]
    pub target: String,
}

/// An `extra_isos` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraIso {
    /// Variants whose packages go on the image besides the block's own variant.
    #[serde(default)]
    pub include_variants: Vec<String>,
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default)]
    pub volid: Option<OneOrMany>,
    #[serde(default)]
    pub extra_files: Vec<ExtraFile>,
    #[serde(default)]
    pub arches: Vec<String>,
    #[serde(default)]
    pub failable_arches: Vec<String>,
    #[serde(default)]
    pub skip_src: bool,
    #[serde(default = "d_true")]
    pub inherit_extra_files: bool,
    #[serde(default)]
    pub max_size: Option<u64>,
}

fn d_ga() -> String {
    "ga".into()
}
fn d_local() -> String {
    "local".into()
}
fn d_repos() -> String {
    "repos".into()
}
fn d_none() -> String {
    "none".into()
}
fn d_native() -> String {
    "native".into()
}
fn d_sha256() -> String {
    "sha256".into()
}
fn d_deps() -> GatherMethod {
    GatherMethod::One("deps".into())
}
fn d_true() -> bool {
    true
}
fn d_three() -> usize {
    3
}
fn d_sigkeys() -> Vec<Option<String>> {
    vec![None]
}
fn d_iso_size() -> Size {
    Size(4_700_000_000)
}
fn d_split_reserve() -> Size {
    Size(10 * 1024 * 1024)
}
fn d_media_checksums() -> Vec<String> {
    vec!["md5".into(), "sha1".into(), "sha256".into()]
}
fn d_volid_formats() -> Vec<String> {
    vec![
        "{release_short}-{version} {variant}.{arch}".into(),
        "{release_short}-{version} {arch}".into(),
    ]
}
fn d_volid_lp_formats() -> Vec<String> {
    vec![
        "{release_short}-{version} {base_product_short}-{base_product_version} {variant}.{arch}"
            .into(),
        "{release_short}-{version} {base_product_short}-{base_product_version} {arch}".into(),
    ]
}
fn d_disc_types() -> BTreeMap<String, String> {
    [
        ("boot", "boot"),
        ("dvd", "dvd"),
        ("live", "live"),
        ("ostree", "ostree"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

pub(crate) const RELEASE_TYPES: &[&str] = &[
    "fast",
    "ga",
    "updates",
    "updates-testing",
    "eus",
    "aus",
    "els",
    "tus",
    "e4s",
];

impl Config {
    /// Whether `phase` (canonical name) is listed in `skip_phases`.
    pub fn skips(&self, phase: &str) -> bool {
        self.skip_phases
            .iter()
            .any(|p| crate::phases::canonical(p) == Some(phase))
    }

    /// Whether a failure of `deliverable` for this variant/arch may be tolerated.
    pub fn can_fail(&self, variant: &str, arch: &str, deliverable: &str) -> bool {
        self.failable_deliverables
            .list_for(variant, arch)
            .iter()
            .any(|d| d == deliverable || d == "*")
    }

    /// The description written into .discinfo and media.repo.
    pub fn discinfo_description(&self) -> String {
        self.release_discinfo_description
            .clone()
            .unwrap_or_else(|| format!("{} {}", self.release_name, self.release_version))
    }

    /// Whether this is a layered product (has a base product).
    pub fn is_layered(&self) -> bool {
        self.base_product_short.is_some()
    }

    pub(crate) fn gather_methods(&self) -> Vec<&str> {
        self.gather_method.methods()
    }
}
