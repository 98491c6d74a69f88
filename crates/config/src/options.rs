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
    /// Where each top-level option is set, for what is found wrong after loading.
    #[serde(skip)]
    #[schemars(skip)]
    pub origin: crate::Origin,
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
    /// Short name of the base product of a layered product.
    #[serde(default)]
    pub base_product_short: Option<String>,
    /// Version of the base product.
    #[serde(default)]
    pub base_product_version: Option<String>,
    /// Release type of the base product (ga, updates, ...).
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
    /// pungi's `gather_prepopulate`: a JSON file `{variant: {arch: {source: ["name.arch"]}}}` of
    /// packages gather adds to those trees (when the package set has them) before it resolves.
    #[serde(default)]
    pub gather_prepopulate: Option<PathBuf>,
    /// pungi's `gather_source_mapping` (its `json` gather source): a JSON file
    /// `{variant: {arch: {package: [arch or null, ...]}}}` of packages each tree takes as inputs.
    #[serde(default)]
    pub gather_source_mapping: Option<PathBuf>,
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
    /// Where external commands run: `local`, `podman` (`runroot_podman`), `kubernetes`
    /// (`runroot_kubernetes`: a Job per command) or `koji` (Koji runroot tasks in
    /// `runroot_tag`), for every phase or per phase (`{createiso: koji}`; phases not
    /// named run locally).
    #[serde(default)]
    pub runroot_method: RunrootMethod,
    /// The podman runner's settings, when `runroot_method` names podman.
    #[serde(default)]
    pub runroot_podman: Option<PodmanRunroot>,
    /// The Kubernetes runner's settings, when `runroot_method` names kubernetes.
    #[serde(default)]
    pub runroot_kubernetes: Option<KubernetesRunroot>,
    /// The Koji profile of the `koji` CLI (pungi's `koji_profile`; its server, auth and
    /// `topurl` come from the profile's koji config).
    #[serde(default)]
    pub koji_profile: Option<String>,
    /// The build tag whose buildroot Koji runroot tasks run in (required for `koji`).
    #[serde(default)]
    pub runroot_tag: Option<String>,
    /// The Koji channel runroot tasks go to (`--channel-override`).
    #[serde(default)]
    pub runroot_channel: Option<String>,
    /// Task weight per phase (`--weight`), as pungi's `runroot_weights`.
    #[serde(default)]
    pub runroot_weights: BTreeMap<String, u32>,

    // ---- naming ----
    /// ISO file name format, or a map variant regex -> format.
    #[serde(default)]
    pub image_name_format: Option<NameFormat>,
    /// Volume ID candidates, tried in order until one fits in 32 bytes.
    #[serde(default = "d_volid_formats")]
    pub image_volid_formats: Vec<String>,
    /// Volume ID candidates for layered products, tried in order until one fits in 32 bytes.
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
    /// Where packages come from: `repos` (local paths, http(s) URLs, or plain folders of RPMs)
    /// or `koji` (the latest builds of `pkgset_koji_tag` in the hub of `koji_profile`, read from
    /// the Koji volume).
    #[serde(default = "d_repos")]
    pub pkgset_source: String,
    /// `{arch or "*": [path or URL, ...]}` for pkgset_source repos.
    #[serde(default)]
    pub pkgset_repos: BTreeMap<String, Vec<String>>,
    /// The Koji tag (or tags) of `pkgset_source: koji`.
    #[serde(default)]
    pub pkgset_koji_tag: Option<OneOrMany>,
    /// Builds (NVRs) added to a Koji package set whether the tag has them or not.
    #[serde(default)]
    pub pkgset_koji_builds: Vec<String>,
    /// Whether the tag's inherited builds count (pungi's default: yes).
    #[serde(default = "d_true")]
    pub pkgset_koji_inherit: bool,
    /// The Koji event the tag is read at (default: the hub's last event when the compose
    /// starts, recorded in `work/global/koji-event`).
    #[serde(default)]
    pub koji_event: Option<u64>,
    /// Signing key IDs, in order of preference; null allows unsigned packages.
    #[serde(default = "d_sigkeys")]
    pub sigkeys: Vec<Option<String>>,
    /// A noarch package whose build has ExclusiveArch/ExcludeArch enters only the arches it allows.
    #[serde(default = "d_true")]
    pub pkgset_exclusive_arch_considers_noarch: bool,
    /// Accepted for pungi compatibility: kiln always reuses package headers through its header cache.
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
    /// Accepted for pungi compatibility (dnf, yum): kiln always solves with its own provides index.
    #[serde(default)]
    pub gather_backend: Option<String>,
    /// Ship every subpackage of each source package that has one package shipped.
    #[serde(default)]
    pub gather_fulltree: bool,
    /// Also ship what the shipped source packages' BuildRequires need.
    #[serde(default)]
    pub gather_selfhosting: bool,
    /// none, all or build.
    #[serde(default = "d_none")]
    pub greedy_method: String,
    /// Multilib methods per variant/arch: devel, runtime, all.
    #[serde(default)]
    pub multilib: VariantArchMap<Vec<String>>,
    /// `{arch: [package name globs]}` always shipped as multilib.
    #[serde(default)]
    pub multilib_whitelist: BTreeMap<String, Vec<String>>,
    /// `{arch: [package name globs]}` never shipped as multilib.
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
    /// Accepted for pungi compatibility: kiln reuses gather results through `--resume` records.
    #[serde(default)]
    pub gather_allow_reuse: bool,

    // ---- createrepo ----
    /// sha256, sha1, sha224, sha384, sha512.
    #[serde(default = "d_sha256")]
    pub createrepo_checksum: String,
    /// Compress primary, filelists and other with xz.
    #[serde(default)]
    pub createrepo_use_xz: bool,
    /// gz, zstd, xz: compression of primary/filelists/other (pungi's default is gz).
    #[serde(default)]
    pub createrepo_compress_type: Option<String>,
    /// createrepo_c flags; those with a kiln equivalent are applied, the others warned about.
    #[serde(default)]
    pub createrepo_extra_args: Vec<String>,
    /// Accepted for pungi compatibility: kiln writes repodata on all cores.
    #[serde(default)]
    pub createrepo_num_threads: Option<usize>,
    /// Accepted for pungi compatibility: kiln reads headers once per compose, in the pkgset phase.
    #[serde(default = "d_three")]
    pub createrepo_num_workers: usize,
    /// Reuse repodata of unchanged packages from this earlier compose's trees.
    #[serde(default)]
    pub createrepo_reuse_from: Option<PathBuf>,
    /// productid certificate source (scm dict) installed into repodata.
    #[serde(default)]
    pub product_id: Option<Scm>,
    /// Go on without a productid certificate when product_id finds none.
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
    /// lorax: run lorax to make the installer tree; import: take a prebuilt lorax tree from
    /// `buildinstall_import` (as empanadas pulls lorax trees). Unset: no buildinstall.
    #[serde(default)]
    pub buildinstall_method: Option<String>,
    /// With `buildinstall_method: import`, per variant/arch: a lorax output tree, as a folder or
    /// a tarball (`.tar`, `.tar.gz`, `.tgz`, `.tar.xz`, `.tar.zst`); relative to the config; or an
    /// http(s) URL of a tarball with its digest, `URL#sha256=<hex>`.
    #[serde(default)]
    pub buildinstall_import: VariantArchMap<String>,
    /// Per variant/arch lorax options: nomacboot, noupgrade, bugurl.
    #[serde(default)]
    pub lorax_options: VariantArchMap<serde_json::Value>,
    /// Per variant/arch: true skips lorax there.
    #[serde(default)]
    pub buildinstall_skip: VariantArchMap<bool>,
    /// Take a variant/arch's lorax tree from the old compose (`--old-composes`) instead of
    /// running lorax again, when lorax's command line (but for its sources and output paths),
    /// lorax's version and every package lorax installed (by name, every build of that name in
    /// the package set, by path and checksum) are unchanged. pungi's option, off by default as
    /// there: a package lorax did not install before (a new provider) does not stop the reuse.
    #[serde(default)]
    pub buildinstall_allow_reuse: bool,
    /// Make bootable DVDs by replaying `images/boot.iso`'s boot setup (xorriso `-boot_image any
    /// replay`, as empanadas does) instead of pungi's per-arch mkisofs arguments.
    #[serde(default)]
    pub createiso_replay_boot_iso: bool,

    // ---- extra files ----
    /// Files copied into trees: `[variant_regex, {arch: [scm dict + target], ...}]`.
    #[serde(default)]
    pub extra_files: VariantArchMap<Vec<ExtraFile>>,

    // ---- createiso ----
    /// Per variant/arch: true makes no ISO there (`src` for source ISOs).
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
    /// Per variant/arch: an ISO over createiso_max_size fails the compose instead of warning.
    #[serde(default)]
    pub createiso_max_size_is_strict: VariantArchMap<bool>,
    /// Make ISOs of optional variants too.
    #[serde(default)]
    pub create_optional_isos: bool,
    /// Put ISOs in this folder and symlink iso/ to it.
    #[serde(default)]
    pub symlink_isos_to: Option<PathBuf>,
    /// Copy hardlinked files before xorriso reads them, so later changes cannot alter an ISO.
    #[serde(default)]
    pub createiso_break_hardlinks: bool,
    /// An ISO whose recipe (inputs, volume ID, boot setup, dates, options, xorriso) is an image's
    /// of the old compose is hard-linked from there instead of made again; false makes every
    /// image afresh (pungi's option; kiln's reuse is exact, so false only costs time).
    #[serde(default = "d_true")]
    pub createiso_allow_reuse: bool,
    /// Accepted for pungi compatibility: kiln always uses xorrisofs.
    #[serde(default = "d_true")]
    pub createiso_use_xorrisofs: bool,
    /// ISO 9660 interchange level (1-4), or per variant/arch.
    #[serde(default)]
    pub iso_level: Option<IsoLevel>,
    /// Accepted for pungi compatibility: kiln makes no HFS partition for ppc64le.
    #[serde(default = "d_true")]
    pub iso_hfs_ppc64le_compatible: bool,
    /// jigdo files are not supported by kiln; must stay false.
    #[serde(default)]
    pub create_jigdo: bool,

    // ---- extra isos ----
    /// `{variant_regex: [extra iso block, ...]}`.
    #[serde(default)]
    pub extra_isos: BTreeMap<String, Vec<ExtraIso>>,
    /// `createiso_allow_reuse` for the extra ISOs (pungi's option).
    #[serde(default = "d_true")]
    pub extraiso_allow_reuse: bool,

    // ---- image checksums ----
    /// md5, sha1, sha256, sha512.
    #[serde(default = "d_media_checksums")]
    pub media_checksums: Vec<String>,
    /// Write one CHECKSUM file per folder instead of one file per digest (MD5SUM, SHA256SUM, ...).
    #[serde(default)]
    pub media_checksum_one_file: bool,
    /// Prefix of checksum file names, a format with {release_short}, {variant}, {version}, {arch}, {date}, {type_suffix}, {respin}.
    #[serde(default)]
    pub media_checksum_base_filename: String,

    // ---- image builders (each phase runs only when configured) ----
    /// pungi's `ostree`: variant regex → one block or a list of blocks, each an OSTree commit of
    /// a treefile's packages installed from the compose's repositories.
    #[serde(default)]
    pub ostree: BTreeMap<String, OneOrMore<OstreeBlock>>,
    /// How `ostree` and `ostree_container` trees are composed: `dnf` (kiln's own compose: dnf
    /// `--installroot` and `ostree commit`) or `rpm-ostree` (pungi's `rpm-ostree compose tree` /
    /// `compose image`, which must then be installed). Chosen, never detected: the same config
    /// gives the same trees on every host.
    #[serde(default)]
    pub ostree_method: Option<String>,
    /// pungi's `ostree_container`: variant regex → blocks, each a treefile composed and
    /// committed as for `ostree`, then shipped as an OCI image archive of that commit in
    /// `compose/<V>/<arch>/images/`.
    #[serde(default)]
    pub ostree_container: BTreeMap<String, OneOrMore<OstreeContainerBlock>>,
    /// pungi's `ostree_installer`: `[variant_regex, {arch: block or blocks}]`, each an installer
    /// ISO (`dvd-ostree`) made from the variant's buildinstall tree with an ostree commit embedded.
    #[serde(default)]
    pub ostree_installer: VariantArchMap<OneOrMore<OstreeInstallerBlock>>,
    /// Accepted for pungi configs: kiln's installer never writes into the os tree, so it cannot
    /// clash with buildinstall's files there.
    #[serde(default)]
    pub ostree_installer_overwrite: bool,
    /// pungi's `live_media`: variant regex → blocks, each one `koji spin-livemedia` task
    /// (livemedia-creator on Koji's builders), or with `kiwi` a KIWI live ISO built here.
    #[serde(default)]
    pub live_media: BTreeMap<String, OneOrMore<LiveMediaBlock>>,
    /// The Koji target of `live_media` blocks that name none.
    #[serde(default)]
    pub live_media_target: Option<String>,
    /// The version of `live_media` blocks that name none.
    #[serde(default)]
    pub live_media_version: Option<String>,
    /// The release of `live_media` blocks that name none.
    #[serde(default)]
    pub live_media_release: Option<String>,
    /// The kickstart SCM URL of `live_media` blocks that name none.
    #[serde(default)]
    pub live_media_ksurl: Option<String>,
    /// pungi's `image_build`: variant regex → blocks, each one `koji image-build` task
    /// (ImageFactory on Koji's builders).
    #[serde(default)]
    pub image_build: BTreeMap<String, OneOrMore<ImageBuildBlock>>,
    /// Take an image_build block's images from the old compose (`--old-composes`) instead of a
    /// new Koji task when the block, its target, the packages of the variant trees it installs
    /// from, its install tree's boot images and its repositories outside the compose are
    /// unchanged (pungi's option, off by default as there).
    #[serde(default)]
    pub image_build_allow_reuse: bool,
    /// The Koji target of `image_build` blocks that name none.
    #[serde(default)]
    pub image_build_target: Option<String>,
    /// The version of `image_build` blocks that name none.
    #[serde(default)]
    pub image_build_version: Option<String>,
    /// The release of `image_build` blocks that name none.
    #[serde(default)]
    pub image_build_release: Option<String>,
    /// pungi's `kiwibuild`: variant regex → blocks, each a KIWI image built by the real
    /// `kiwi-ng system build` from a description, with the compose's repositories.
    #[serde(default)]
    pub kiwibuild: BTreeMap<String, OneOrMore<KiwiBlock>>,
    /// The Koji target of `kiwibuild` blocks that set none: with a target, a block is built by
    /// Koji's kiwiBuild task (as in pungi) instead of the local kiwi-ng.
    #[serde(default)]
    pub kiwibuild_target: Option<String>,
    /// pungi's `osbuild`: variant regex → blocks, each one Koji `osbuildImage` task.
    #[serde(default)]
    pub osbuild: BTreeMap<String, OneOrMore<OsbuildBlock>>,
    /// The Koji target of `osbuild` blocks that name none.
    #[serde(default)]
    pub osbuild_target: Option<String>,
    /// The version of `osbuild` blocks that name none (pungi's generators expanded).
    #[serde(default)]
    pub osbuild_version: Option<String>,
    /// The release of `osbuild` blocks that name none (pungi's generators expanded).
    #[serde(default)]
    pub osbuild_release: Option<String>,
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
    PerVariant(BTreeMap<String, VariantGatherMethod>),
}

/// A variant's `gather_method`: one method, or pungi's method per gather source
/// (`{"comps": "deps", "module": "nodeps", "json": ...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum VariantGatherMethod {
    One(String),
    PerSource(BTreeMap<String, String>),
}

impl GatherMethod {
    /// The variant's method: the last matching entry's, and for a per-source entry its `comps`
    /// method (kiln gathers a variant in one run; `source_method` tells the others).
    pub fn for_variant(&self, variant: &str) -> &str {
        match self {
            GatherMethod::One(m) => m,
            GatherMethod::PerVariant(_) => match self.entry(variant) {
                None => "deps",
                Some(VariantGatherMethod::One(m)) => m,
                Some(VariantGatherMethod::PerSource(map)) => {
                    map.get("comps").map_or("deps", String::as_str)
                }
            },
        }
    }

    /// The per-source method for `source` (`module`, `json`) when the variant's entry names one.
    pub fn source_method(&self, variant: &str, source: &str) -> Option<&str> {
        match self.entry(variant) {
            Some(VariantGatherMethod::PerSource(map)) => map.get(source).map(String::as_str),
            _ => None,
        }
    }

    fn entry(&self, variant: &str) -> Option<&VariantGatherMethod> {
        match self {
            GatherMethod::One(_) => None,
            GatherMethod::PerVariant(map) => map
                .iter()
                .filter(|(re, _)| crate::values::variant_matches(re, variant))
                .map(|(_, m)| m)
                .next_back(),
        }
    }

    fn methods(&self) -> Vec<&str> {
        match self {
            GatherMethod::One(m) => vec![m],
            GatherMethod::PerVariant(map) => map
                .values()
                .flat_map(|m| match m {
                    VariantGatherMethod::One(m) => vec![m.as_str()],
                    VariantGatherMethod::PerSource(s) => s.values().map(String::as_str).collect(),
                })
                .collect(),
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

/// One value or a list of them (pungi's blocks: `{regex: block}` or `{regex: [block, ...]}`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMore<T> {
    One(T),
    Many(Vec<T>),
}

/// Not serde's untagged enum: that says only "did not match any variant"; this one passes on
/// what is wrong with the block (an unknown key, a missing one, a wrong type).
impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for OneOrMore<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let r = if v.is_array() {
            serde_json::from_value(v).map(OneOrMore::Many)
        } else {
            serde_json::from_value(v).map(OneOrMore::One)
        };
        r.map_err(serde::de::Error::custom)
    }
}

impl<T> OneOrMore<T> {
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        match self {
            OneOrMore::One(t) => std::slice::from_ref(t).iter(),
            OneOrMore::Many(v) => v.iter(),
        }
    }
}

/// An `ostree` block, with pungi's option names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OstreeBlock {
    /// The treefile (rpm-ostree's JSON or YAML), relative to `config_url`.
    pub treefile: String,
    /// Where the treefile is: a git repository URL, or a local folder.
    pub config_url: String,
    /// The git branch of `config_url` (default `master`).
    #[serde(default)]
    pub config_branch: Option<String>,
    /// Repositories the packages come from: a variant UID (the compose's own tree for the arch),
    /// a URL or a path; one or a list.
    pub repo: OneOrMany,
    /// The OSTree repository the commit goes to (made, in archive mode, when missing). It lives
    /// outside the compose and keeps its commits whatever becomes of the compose.
    pub ostree_repo: PathBuf,
    /// The ref instead of the treefile's `ref` (`${basearch}` is replaced).
    #[serde(default)]
    pub ostree_ref: Option<String>,
    /// `version` metadata of the commit; `!OSTREE_VERSION_FROM_LABEL_DATE_TYPE_RESPIN` and
    /// pungi's other generators are expanded.
    #[serde(default)]
    pub version: Option<String>,
    /// Commit even when the tree is the ref's tree already.
    #[serde(default)]
    pub force_new_commit: bool,
    /// `ostree summary -u` after the commit.
    #[serde(default)]
    pub update_summary: bool,
    /// Move the ref to the new commit (false: the commit is made, the ref stays).
    #[serde(default = "d_true")]
    pub tag_ref: bool,
    /// Arches to commit for (default: every arch of the variant).
    #[serde(default)]
    pub arches: Vec<String>,
    /// Arches whose failure does not fail the compose (`*` for all).
    #[serde(default)]
    pub failable: Vec<String>,
    /// Accepted for pungi configs: the treefile's own repos are never used here.
    #[serde(default)]
    pub keep_original_sources: bool,
    /// Accepted for pungi configs (an rpm-ostree option).
    #[serde(default)]
    pub unified_core: bool,
}

/// An `ostree_container` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OstreeContainerBlock {
    /// The treefile, relative to `config_url`.
    pub treefile: String,
    /// A git repository URL or a local folder holding the treefile.
    pub config_url: String,
    #[serde(default)]
    pub config_branch: Option<String>,
    /// Repositories the packages come from (variant UIDs, URLs, paths).
    pub repo: OneOrMany,
    /// The ref recorded in the image (default: the treefile's).
    #[serde(default)]
    pub ostree_ref: Option<String>,
    /// `version` of the image and its file name; pungi's generators are expanded.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub arches: Vec<String>,
    #[serde(default)]
    pub failable: Vec<String>,
    /// Accepted for pungi configs (packages of pungi's runroot).
    #[serde(default)]
    pub runroot_packages: Vec<String>,
}

/// `runroot_method`: one method for every phase, or a method per phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RunrootMethod {
    One(String),
    PerPhase(BTreeMap<String, String>),
}

impl Default for RunrootMethod {
    fn default() -> Self {
        RunrootMethod::One("local".into())
    }
}

impl RunrootMethod {
    /// The method of `phase`.
    pub fn for_phase(&self, phase: &str) -> &str {
        match self {
            RunrootMethod::One(m) => m,
            RunrootMethod::PerPhase(map) => map.get(phase).map_or("local", String::as_str),
        }
    }

    pub fn methods(&self) -> Vec<&str> {
        match self {
            RunrootMethod::One(m) => vec![m.as_str()],
            RunrootMethod::PerPhase(map) => map.values().map(String::as_str).collect(),
        }
    }
}

/// `runroot_podman`: where and how the podman runner runs commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PodmanRunroot {
    /// The image every command runs in; it must hold the tools of the phases that use it.
    pub image: String,
    /// Folders mounted at the same paths besides the compose's own (package repositories...).
    #[serde(default)]
    pub mounts: Vec<PathBuf>,
    /// Give containers the network (default: `--network=none`).
    #[serde(default)]
    pub network: bool,
    /// More `podman run` arguments (`--runtime`, `--ulimit`, `--memory`, ...).
    #[serde(default)]
    pub args: Vec<String>,
}

/// `runroot_kubernetes`: where and how the Kubernetes runner runs commands, one Job each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubernetesRunroot {
    /// The image every Job's pod runs; it must hold the tools of the phases that use it.
    pub image: String,
    /// The namespace of the Jobs (default: the kubeconfig context's).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The kubeconfig `kubectl` uses (default: `KUBECONFIG`, else `~/.kube/config`).
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current one).
    #[serde(default)]
    pub context: Option<String>,
    /// Folders mounted at the same paths besides the compose's top folder, which every pod
    /// must see where kiln sees it.
    #[serde(default)]
    pub mounts: Vec<PathBuf>,
    /// Mount the folders from this PersistentVolumeClaim, each at its own path with the path as
    /// the claim's `subPath` (the claim holds the shared filesystem from its root), instead of
    /// as `hostPath` volumes (a one-node cluster, or nodes that all mount the same storage).
    #[serde(default)]
    pub persistent_volume_claim: Option<String>,
    /// Node labels a pod of each arch must match (`{x86_64: {kubernetes.io/arch: amd64}}`).
    #[serde(default)]
    pub node_selectors: BTreeMap<String, BTreeMap<String, String>>,
    /// The container's `resources` (`{requests: {cpu: "2"}, limits: {memory: 8Gi}}`).
    #[serde(default)]
    pub resources: BTreeMap<String, BTreeMap<String, String>>,
    /// The Job's `backoffLimit`: retries of a failed pod (default 0: a failed command fails).
    #[serde(default)]
    pub backoff_limit: u32,
    /// The Job's `activeDeadlineSeconds`: how long it may run before Kubernetes stops it.
    #[serde(default)]
    pub active_deadline_seconds: Option<u64>,
    /// The pod's `imagePullPolicy` (`Always`, `IfNotPresent`, `Never`; default Kubernetes').
    #[serde(default)]
    pub image_pull_policy: Option<String>,
    /// Run pods in the node's network namespace (`hostNetwork`: a cluster without a network
    /// plugin).
    #[serde(default)]
    pub host_network: bool,
    /// Seconds between two looks at a running Job.
    #[serde(default = "default_poll_seconds")]
    pub poll_seconds: f64,
}

fn default_poll_seconds() -> f64 {
    1.0
}

/// A `live_media` block's KIWI description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveKiwi {
    /// Where the description is: a git repository URL, or a local folder.
    pub description_scm: String,
    /// The description's folder inside `description_scm`.
    pub description_path: String,
    /// `--profile`.
    #[serde(default)]
    pub kiwi_profile: Option<String>,
}

/// A `kiwibuild` block (pungi's keys; the Koji-only ones are accepted and unused locally).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KiwiBlock {
    /// Where the KIWI descriptions are: a git repository URL, or a local folder.
    pub description_scm: String,
    /// The description's folder inside `description_scm`.
    pub description_path: String,
    /// `--profile`.
    #[serde(default)]
    pub kiwi_profile: Option<String>,
    /// `--type`: the image type of the description to build (default: its primary type).
    #[serde(default, rename = "type")]
    pub image_type: Option<String>,
    /// Type attributes (Koji builds only).
    #[serde(default)]
    pub type_attr: Vec<String>,
    /// Repositories the image's packages come from: variant UIDs (the compose's own trees),
    /// URLs or paths. They replace the description's own repositories.
    #[serde(default)]
    pub repos: Vec<String>,
    #[serde(default)]
    pub arches: Vec<String>,
    #[serde(default)]
    pub failable: Vec<String>,
    /// images.json's subvariant (default: the variant's UID).
    #[serde(default)]
    pub subvariant: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub release: Option<String>,
    /// Koji's `result_bundle_name_format` (Koji builds only).
    #[serde(default)]
    pub bundle_name_format: Option<String>,
    /// The Koji target: the block is built by Koji's kiwiBuild task (default
    /// `kiwibuild_target`; neither: the local kiwi-ng).
    #[serde(default)]
    pub target: Option<String>,
    /// Koji's `repo_releasever` (Koji builds only).
    #[serde(default)]
    pub repo_releasever: Option<String>,
    /// Koji's `use_buildroot_repo` (Koji builds only).
    #[serde(default)]
    pub use_buildroot_repo: Option<bool>,
}

/// An `ostree_installer` block, with pungi's keys. With lorax trees (`buildinstall_method:
/// lorax`) lorax runs with the block's templates as in pungi; with imported trees kiln builds the
/// installer on the variant's buildinstall tree and the lorax keys are unused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OstreeInstallerBlock {
    /// `NAME=VALUE` template variables. kiln reads the ones of pungi's ostree templates:
    /// `ostree_repo` (or `ostree_install_repo`: the repository to embed, a path or URL),
    /// `ostree_ref` (or `ostree_install_ref`) and `ostree_osname`.
    #[serde(default)]
    pub add_template_var: Vec<String>,
    /// lorax templates: absolute, or paths in `template_repo`.
    #[serde(default)]
    pub add_template: Vec<String>,
    #[serde(default)]
    pub add_arch_template: Vec<String>,
    #[serde(default)]
    pub add_arch_template_var: Vec<String>,
    /// lorax's package sources besides the package set's: variant UIDs (the compose's trees),
    /// URLs or paths (`$arch` replaced).
    #[serde(default)]
    pub repo: Option<OneOrMany>,
    #[serde(default)]
    pub release: Option<String>,
    #[serde(default)]
    pub installpkgs: Vec<String>,
    #[serde(default)]
    pub rootfs_size: Option<u64>,
    #[serde(default)]
    pub template_repo: Option<String>,
    #[serde(default)]
    pub template_branch: Option<String>,
    #[serde(default)]
    pub extra_runroot_pkgs: Vec<String>,
    #[serde(default)]
    pub skip_branding: bool,
    /// Arches whose failure does not fail the compose (`*` for all).
    #[serde(default)]
    pub failable: Vec<String>,
    /// images.json's subvariant (default: the variant's UID).
    #[serde(default)]
    pub subvariant: Option<String>,
}

impl OstreeInstallerBlock {
    /// The value of template variable `name` (the first of `names` that is set).
    pub fn template_var(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| {
            self.add_template_var
                .iter()
                .find_map(|kv| kv.strip_prefix(n)?.strip_prefix('='))
        })
    }
    /// The repository to embed, its ref and the OS name (`ostree_osname`, default `kiln`).
    pub fn embedded(&self) -> Option<(&str, &str, &str)> {
        Some((
            self.template_var(&["ostree_repo", "ostree_install_repo"])?,
            self.template_var(&["ostree_ref", "ostree_install_ref"])?,
            self.template_var(&["ostree_osname"]).unwrap_or("kiln"),
        ))
    }
}

/// An `osbuild` block, with pungi's keys: one Koji `osbuildImage` task for its arches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OsbuildBlock {
    /// The image's name (the Koji build's name).
    pub name: String,
    /// The distribution osbuild builds for (`fedora-41`, `rhel-9.4`).
    pub distro: String,
    /// osbuild image types (`qcow2`, `ami`, `image-installer`, ...).
    pub image_types: OneOrMany,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub release: Option<String>,
    /// The Koji target (default `osbuild_target`).
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub arches: Vec<String>,
    /// Repositories besides the variant's own tree: variant UIDs, URLs or paths.
    #[serde(default)]
    pub repo: Vec<String>,
    #[serde(default)]
    pub failable: Vec<String>,
    #[serde(default)]
    pub subvariant: Option<String>,
    /// images.json's type instead of the archive's.
    #[serde(default)]
    pub manifest_type: Option<String>,
    #[serde(default)]
    pub ostree_url: Option<String>,
    #[serde(default)]
    pub ostree_ref: Option<String>,
    #[serde(default)]
    pub ostree_parent: Option<String>,
    /// Passed to Koji as they are.
    #[serde(default)]
    pub upload_options: Option<serde_json::Value>,
    #[serde(default)]
    pub customizations: Option<serde_json::Value>,
}

/// An `image_build` block: its `image-build` section, and any other sections of koji's
/// image-build config (`factory-parameters`, `ova-options`) passed on as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImageBuildBlock {
    #[serde(rename = "image-build")]
    pub image_build: ImageBuildSection,
    #[serde(flatten)]
    pub sections: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

/// The `image-build` section, with pungi's keys; other keys are koji image-build options,
/// written to its config as they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImageBuildSection {
    pub name: String,
    /// Formats (`qcow2`, `raw-xz`, ...), one or a list; pungi's old `[format, suffix]` pairs too.
    pub format: serde_json::Value,
    pub kickstart: String,
    pub distro: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub release: Option<String>,
    /// The Koji target (default `image_build_target`).
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub arches: Vec<String>,
    /// Repositories besides the variant's own tree: variant UIDs, URLs or paths.
    #[serde(default)]
    pub repo: Vec<String>,
    #[serde(default)]
    pub failable: Vec<String>,
    #[serde(default)]
    pub subvariant: Option<String>,
    /// The variant whose os tree is the install tree (default: the variant, or its parent), a
    /// URL, or a path.
    #[serde(default)]
    pub install_tree_from: Option<String>,
    #[serde(default)]
    pub ksurl: Option<String>,
    #[serde(default)]
    pub scratch: bool,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// A `live_media` block, with pungi's keys: one `koji spin-livemedia` task for its arches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveMediaBlock {
    /// The kickstart file (in `ksurl`): the block is built by Koji's spin-livemedia.
    #[serde(default)]
    pub kickstart: Option<String>,
    /// Or a KIWI description of the live ISO, built here by `kiwi-ng --type iso` (kiln's own
    /// key; livemedia-creator cannot run here).
    #[serde(default)]
    pub kiwi: Option<LiveKiwi>,
    /// The image name (default `<release_short>-<subvariant>-Live`).
    #[serde(default)]
    pub name: Option<String>,
    /// The kickstart's SCM URL (default `live_media_ksurl`).
    #[serde(default)]
    pub ksurl: Option<String>,
    #[serde(default)]
    pub ksversion: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub release: Option<String>,
    /// The Koji target (default `live_media_target`).
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub arches: Vec<String>,
    /// Repositories besides the variant's own tree: variant UIDs, URLs or paths.
    #[serde(default)]
    pub repo: Vec<String>,
    /// The variant whose os tree is the install tree (default: this one).
    #[serde(default)]
    pub install_tree_from: Option<String>,
    #[serde(default)]
    pub failable: Vec<String>,
    #[serde(default)]
    pub subvariant: Option<String>,
    #[serde(default)]
    pub scratch: bool,
    #[serde(default)]
    pub nomacboot: bool,
    #[serde(default)]
    pub skip_tag: bool,
}
