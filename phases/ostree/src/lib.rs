//! The ostree phase (pungi's `ostree`): for every `ostree` block of a variant and each of its
//! arches, the treefile's packages are installed from the compose's own repositories into a
//! fresh root with the real `dnf --installroot`, the root is shaped as rpm-ostree shapes it
//! (units enabled, `remove-files` removed, `/etc` moved to `/usr/etc`, the rpm database in
//! `/usr/share/rpm`, `/var` emptied), and the real `ostree commit` records it in the configured
//! repository (archive mode, made when missing) on the treefile's ref, with the `version`
//! metadata, the ref's commit as parent and the compose's timestamp.
//!
//! No commit is made when the tree is the ref's tree already (`force_new_commit` makes one); the
//! ref moves unless `tag_ref` is false; `update_summary` runs `ostree summary -u`. Every commit
//! (or the reason there was none) goes into `compose/metadata/ostree.json` and pungi's `ostree`
//! notification. The repository lives outside the compose: `--resume` keeps this phase's record,
//! so a resumed compose never commits twice. `rpm-ostree compose tree` is not used: it cannot be
//! installed here, and a host that has it still gets the same, tested path.

mod installer;
mod oci;
mod rpm_ostree;
mod shape;
mod treefile;

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_config::{Config, OstreeBlock, OstreeContainerBlock};
use kiln_engine::{Phase, PhaseContext, PhaseError, Work};
use kiln_media::naming::{GENERATORS, version_generator as version};
use serde_json::json;

pub use treefile::{Treefile, TreefileError};

pub struct OstreePhase;

/// What a task makes.
#[derive(Clone, Copy)]
enum Kind<'a> {
    /// An `ostree` block: a commit in its repository.
    Commit(&'a OstreeBlock),
    /// An `ostree_container` block: an OCI archive of a commit.
    Container(&'a OstreeContainerBlock),
}

/// One commit (or container image) to make.
struct Task<'a> {
    variant: &'a kiln_variants::Variant,
    arch: String,
    kind: Kind<'a>,
    /// `ostree-<n>`: the task's work and log folder name, as pungi numbers them.
    number: usize,
}

/// Where a task's tree comes from, whichever kind of block it is.
struct Source<'a> {
    treefile: &'a str,
    config_url: &'a str,
    config_branch: Option<&'a str>,
    repo: Vec<String>,
    ostree_ref: Option<&'a str>,
    version: Option<&'a str>,
    failable: &'a [String],
}

impl Task<'_> {
    fn source(&self) -> Source<'_> {
        match self.kind {
            Kind::Commit(b) => Source {
                treefile: &b.treefile,
                config_url: &b.config_url,
                config_branch: b.config_branch.as_deref(),
                repo: b.repo.to_vec(),
                ostree_ref: b.ostree_ref.as_deref(),
                version: b.version.as_deref(),
                failable: &b.failable,
            },
            Kind::Container(b) => Source {
                treefile: &b.treefile,
                config_url: &b.config_url,
                config_branch: b.config_branch.as_deref(),
                repo: b.repo.to_vec(),
                ostree_ref: b.ostree_ref.as_deref(),
                version: b.version.as_deref(),
                failable: &b.failable,
            },
        }
    }
}

/// What a task left in the repository.
#[derive(Debug, Clone)]
struct Committed {
    variant: String,
    arch: String,
    ref_: String,
    commitid: String,
    parent: Option<String>,
    new_commit: bool,
    version: Option<String>,
    repo: PathBuf,
}

fn blocks(config: &Config) -> impl Iterator<Item = (&String, &OstreeBlock)> {
    config
        .ostree
        .iter()
        .flat_map(|(re, blocks)| blocks.iter().map(move |b| (re, b)))
}

fn container_blocks(config: &Config) -> impl Iterator<Item = (&String, &OstreeContainerBlock)> {
    config
        .ostree_container
        .iter()
        .flat_map(|(re, blocks)| blocks.iter().map(move |b| (re, b)))
}

/// (variant regex, config_url, version) of every block of both kinds.
fn all_sources(config: &Config) -> Vec<(&String, &str, Option<&str>)> {
    blocks(config)
        .map(|(re, b)| (re, b.config_url.as_str(), b.version.as_deref()))
        .chain(
            container_blocks(config)
                .map(|(re, b)| (re, b.config_url.as_str(), b.version.as_deref())),
        )
        .collect()
}

/// `ostree_method: rpm-ostree`: pungi's tools instead of kiln's own compose.
fn uses_rpm_ostree(config: &Config) -> bool {
    config.ostree_method.as_deref() == Some("rpm-ostree")
}

fn is_remote(url: &str) -> bool {
    url.contains("://") && !url.starts_with("file://")
}

impl Phase for OstreePhase {
    fn name(&self) -> &'static str {
        "ostree"
    }
    /// The packages come from the compose's repositories.
    fn needs(&self) -> &'static [&'static str] {
        &["createrepo"]
    }
    /// The installer ISOs are built on buildinstall's trees.
    fn after(&self) -> &'static [&'static str] {
        &["buildinstall"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "ostree",
            "ostree_container",
            "ostree_installer",
            "release_short",
            "image_name_format",
            "image_volid_formats",
            "volume_id_substitutions",
            "restricted_volid",
            "disc_types",
            "symlink_isos_to",
            "media_checksums",
            "createiso_break_hardlinks",
        ]
    }
    fn config_outputs(&self) -> &'static [&'static str] {
        &["ostree_repo"]
    }
    fn enabled(&self, config: &Config) -> bool {
        !config.ostree.is_empty()
            || !config.ostree_container.is_empty()
            || !config.ostree_installer.is_empty()
    }
    fn work(&self) -> Work {
        Work::External
    }
    fn tools(&self, config: &Config) -> Vec<&'static str> {
        let mut tools = vec!["ostree"];
        if !config.ostree.is_empty() || !config.ostree_container.is_empty() {
            tools.push(if uses_rpm_ostree(config) {
                "rpm-ostree"
            } else {
                "dnf"
            });
        }
        if !config.ostree_installer.is_empty() {
            if installer::uses_lorax(config) {
                tools.extend(["lorax", "xorriso"]);
                let templates = config
                    .ostree_installer
                    .0
                    .iter()
                    .flat_map(|(_, m)| m.values())
                    .flat_map(|b| b.iter())
                    .any(|b| b.template_repo.is_some());
                if templates && !tools.contains(&"git") {
                    tools.push("git");
                }
            } else {
                // xorriso masters the disc; mtools edits the boot configs in efiboot.img.
                tools.extend(["xorriso", "mtype", "mcopy"]);
            }
        }
        if all_sources(config)
            .iter()
            .any(|(_, url, _)| !Path::new(url).is_dir())
            && !tools.contains(&"git")
        {
            tools.push("git");
        }
        tools
    }
    fn unsupported(&self, config: &Config) -> Option<String> {
        if !config.ostree_installer.is_empty() && config.buildinstall_method.is_none() {
            return Some(
                "ostree_installer builds its ISO on buildinstall's installer tree: set \
                 buildinstall_method (lorax, or import with buildinstall_import)"
                    .into(),
            );
        }
        // A treefile in a local folder is there now or never: say so before any work.
        let treefiles = blocks(config)
            .map(|(re, b)| (re, b.config_url.as_str(), b.treefile.as_str()))
            .chain(
                container_blocks(config)
                    .map(|(re, b)| (re, b.config_url.as_str(), b.treefile.as_str())),
            );
        for (re, url, treefile) in treefiles {
            let local = Path::new(url.strip_prefix("file://").unwrap_or(url));
            if local.is_dir() && !local.join(".git").exists() && !local.join(treefile).is_file() {
                return Some(format!(
                    "ostree block for {re}: no treefile {treefile} in {}",
                    local.display()
                ));
            }
        }
        all_sources(config).into_iter().find_map(|(re, _, v)| {
            let v = v?;
            (v.starts_with('!') && !GENERATORS.contains(&v)).then(|| {
                format!(
                    "ostree block for {re}: unknown version generator {v} (known: {})",
                    GENERATORS.join(", ")
                )
            })
        })
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let mut tasks = Vec::new();
        let arches_of = |variant: &kiln_variants::Variant, wanted: &[String]| -> Vec<String> {
            if wanted.is_empty() {
                variant.arches.clone()
            } else {
                wanted
                    .iter()
                    .filter(|a| variant.arches.contains(a))
                    .cloned()
                    .collect()
            }
        };
        // Both kinds of block, in config order: commits first, then container images.
        let wanted: Vec<(&String, &[String], Kind)> = blocks(ctx.config)
            .map(|(re, b)| (re, b.arches.as_slice(), Kind::Commit(b)))
            .chain(
                container_blocks(ctx.config)
                    .map(|(re, b)| (re, b.arches.as_slice(), Kind::Container(b))),
            )
            .collect();
        for variant in &ctx.compose.variants.all {
            for (re, arches, kind) in &wanted {
                if kiln_config::variant_matches(re, &variant.uid) {
                    for arch in arches_of(variant, arches) {
                        let number = tasks.len() + 1;
                        tasks.push(Task {
                            variant,
                            arch,
                            kind: *kind,
                            number,
                        });
                    }
                }
            }
        }
        let mut done = Vec::new();
        let mut images = Vec::new();
        for task in &tasks {
            let _arch = ctx.arch_span(&task.arch);
            ctx.check_cancelled()?;
            let failable = task
                .source()
                .failable
                .iter()
                .any(|a| a == "*" || *a == task.arch);
            let deliverable = match task.kind {
                Kind::Commit(_) => "ostree",
                Kind::Container(_) => "ostree-container",
            };
            let made = ctx.failable_with(
                deliverable,
                &task.variant.uid,
                &task.arch,
                None,
                failable,
                || match task.kind {
                    Kind::Commit(b) if uses_rpm_ostree(ctx.config) => {
                        rpm_ostree::compose_tree(ctx, task, b).map(|c| (Some(c), Vec::new()))
                    }
                    Kind::Commit(b) => commit_tree(ctx, task, b).map(|c| (Some(c), Vec::new())),
                    Kind::Container(_) => container_image(ctx, task).map(|i| (None, i)),
                },
            )?;
            if let Some((c, i)) = made {
                done.extend(c);
                images.extend(i);
            }
        }
        // The installers come last: they embed the commits just made.
        for (n, (variant, arch, block)) in installer::tasks(ctx).into_iter().enumerate() {
            let _arch = ctx.arch_span(&arch);
            ctx.check_cancelled()?;
            let failable = block.failable.iter().any(|a| a == "*" || *a == arch);
            let subvariant = block.subvariant.as_deref().unwrap_or(&variant.uid);
            if let Some(made) = ctx.failable_with(
                "ostree-installer",
                &variant.uid,
                &arch,
                Some(subvariant),
                failable,
                || installer::build(ctx, variant, &arch, block, n + 1),
            )? {
                images.extend(made);
            }
        }
        if !images.is_empty() {
            kiln_media::write_records(ctx, images)?;
        }
        write_metadata(ctx, &done)
    }
}

/// The folder holding the treefile: `config_url` itself when it is a local folder, else a
/// shallow git clone of its `config_branch`.
fn config_dir(
    ctx: &PhaseContext,
    src: &Source,
    work: &Path,
    log: &Path,
) -> Result<PathBuf, PhaseError> {
    let url = src.config_url;
    let local = url.strip_prefix("file://").unwrap_or(url);
    if Path::new(local).is_dir() && !Path::new(local).join(".git").exists() {
        return Ok(PathBuf::from(local));
    }
    let dir = work.join("config_repo");
    let _ = std::fs::remove_dir_all(&dir);
    let branch = src.config_branch.unwrap_or("master");
    let mut git = Command::new("git");
    git.args(["clone", "--quiet", "--depth", "1", "--branch", branch])
        .arg(if is_remote(url) {
            url.to_owned()
        } else {
            format!("file://{local}")
        })
        .arg(&dir);
    ctx.run(&git, log)?;
    Ok(dir)
}

/// A repository of the block as dnf takes it: a variant UID is the compose's own tree.
fn repo_url(ctx: &PhaseContext, repo: &str, arch: &str) -> Result<String, PhaseError> {
    if let Some(v) = ctx.compose.variants.get(repo) {
        let tree = ctx
            .compose
            .paths
            .compose_dir()
            .join(&v.uid)
            .join(arch)
            .join("os");
        if !tree.join("repodata/repomd.xml").is_file() {
            return Err(PhaseError::msg(format!(
                "ostree repo {repo}: the compose has no repository at {}",
                tree.display()
            )));
        }
        return Ok(format!("file://{}", tree.display()));
    }
    if repo.contains("://") {
        return Ok(repo.to_owned());
    }
    Ok(format!("file://{repo}"))
}

/// The compose's timestamp as `ostree commit --timestamp` takes it.
pub(crate) fn iso8601(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn stdout_line(out: &kiln_engine::CommandOutput) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A task's tree, installed and shaped in its work folder.
struct Prepared {
    work: PathBuf,
    log: PathBuf,
    root: PathBuf,
    ref_: String,
    version: Option<String>,
}

fn prepare(ctx: &PhaseContext, task: &Task) -> Result<Prepared, PhaseError> {
    let uid = &task.variant.uid;
    let arch = &task.arch;
    let src = task.source();
    let work = ctx
        .compose
        .paths
        .work_dir(arch)
        .join(format!("ostree-{}", task.number));
    std::fs::create_dir_all(&work)
        .map_err(|e| PhaseError::with(format!("cannot create {}", work.display()), e))?;
    let log = ctx.log_file(arch, &format!("ostree-{}-{uid}", task.number));
    let _ = std::fs::remove_file(&log);
    let dir = config_dir(ctx, &src, &work, &log)?;
    let treefile = Treefile::load(&dir.join(src.treefile), arch)
        .map_err(|e| PhaseError::with(format!("ostree {uid}.{arch}"), e))?;
    let ref_ = treefile.ref_for(src.ostree_ref, arch).ok_or_else(|| {
        PhaseError::msg(format!(
            "ostree {uid}.{arch}: treefile {} names no ref, and the block no ostree_ref",
            src.treefile
        ))
    })?;
    if treefile.packages.is_empty() {
        return Err(PhaseError::msg(format!(
            "ostree {uid}.{arch}: treefile {} lists no packages",
            src.treefile
        )));
    }
    let version = version(ctx.compose, src.version).map_err(PhaseError::msg)?;

    // Install the packages into a fresh root.
    let root = work.join("root");
    if root.exists() {
        std::fs::remove_dir_all(&root)
            .map_err(|e| PhaseError::with(format!("cannot remove {}", root.display()), e))?;
    }
    let mut dnf = Command::new("dnf");
    dnf.args([
        "-y",
        "--setopt=reposdir=/dev/null",
        "--setopt=install_weak_deps=False",
    ])
    .arg("--nogpgcheck")
    .arg(format!("--releasever={}", ctx.compose.info.release.version))
    .arg(format!("--installroot={}", root.display()))
    // dnf resolves cachedir inside the installroot; /var is emptied before the commit.
    .arg("--setopt=cachedir=/var/cache/dnf")
    .arg(format!("--forcearch={arch}"))
    // rpm then records the compose's time as the install time: the same packages give the
    // same rpm database, so an unchanged tree is the same commit content.
    .env("SOURCE_DATE_EPOCH", ctx.compose.timestamp.to_string());
    for (i, repo) in src.repo.iter().enumerate() {
        dnf.arg(format!(
            "--repofrompath=ostree-{i},{}",
            repo_url(ctx, repo, arch)?
        ))
        .arg(format!("--repo=ostree-{i}"));
    }
    dnf.arg("install").args(&treefile.packages);
    ctx.run(&dnf, &log)?;
    shape::shape(&root, &treefile)
        .map_err(|e| PhaseError::msg(format!("ostree {uid}.{arch}: {e}")))?;

    Ok(Prepared {
        work,
        log,
        root,
        ref_,
        version,
    })
}

/// Makes the archive repository at `repo` when it is not one yet.
fn ensure_repo(ctx: &PhaseContext, repo: &Path, log: &Path) -> Result<(), PhaseError> {
    if !repo.join("config").is_file() {
        std::fs::create_dir_all(repo)
            .map_err(|e| PhaseError::with(format!("cannot create {}", repo.display()), e))?;
        let mut init = Command::new("ostree");
        init.arg("init")
            .arg(format!("--repo={}", repo.display()))
            .arg("--mode=archive");
        ctx.run(&init, log)?;
    }
    Ok(())
}

fn commit_tree(
    ctx: &PhaseContext,
    task: &Task,
    block: &OstreeBlock,
) -> Result<Committed, PhaseError> {
    let uid = &task.variant.uid;
    let arch = &task.arch;
    let Prepared {
        log,
        root,
        ref_,
        version,
        ..
    } = prepare(ctx, task)?;
    let repo = &block.ostree_repo;
    ensure_repo(ctx, repo, &log)?;
    let repo_arg = format!("--repo={}", repo.display());
    let mut rev = Command::new("ostree");
    rev.args(["rev-parse", &repo_arg, &ref_]);
    let parent = ctx
        .run_status(&rev, &log)
        .ok()
        .filter(|o| o.success())
        .map(|o| stdout_line(&o))
        .filter(|s| !s.is_empty());
    let mut commit = Command::new("ostree");
    commit.args(["commit", &repo_arg]);
    if block.tag_ref {
        commit.arg(format!("--branch={ref_}"));
        if !block.force_new_commit {
            commit.arg("--skip-if-unchanged");
        }
    } else {
        commit.arg("--orphan");
        if let Some(p) = &parent {
            commit.arg(format!("--parent={p}"));
        }
    }
    let subject = match &version {
        Some(v) => format!("{ref_} {v}"),
        None => ref_.clone(),
    };
    commit
        .arg(format!("--tree=dir={}", root.display()))
        .arg(format!("--subject={subject}"))
        .arg(format!("--timestamp={}", iso8601(ctx.compose.timestamp)));
    if let Some(v) = &version {
        commit.arg(format!("--add-metadata-string=version={v}"));
    }
    let mut commitid = stdout_line(&ctx.run(&commit, &log)?);
    if !block.tag_ref
        && !block.force_new_commit
        && let Some(p) = &parent
        && same_tree(ctx, &repo_arg, p, &commitid, &log)?
    {
        // An orphan commit of the parent's tree: not a new one (nothing refers to it).
        commitid = p.clone();
    }
    let new_commit = parent.as_deref() != Some(commitid.as_str());
    if block.update_summary {
        let mut summary = Command::new("ostree");
        summary.args(["summary", "-u", &repo_arg]);
        ctx.run(&summary, &log)?;
    }
    tracing::info!(
        "ostree {uid}.{arch}: {ref_} {} {commitid}",
        if new_commit {
            "committed"
        } else {
            "unchanged at"
        }
    );
    ctx.notify(
        "ostree",
        json!({
            "variant": uid, "arch": arch, "ref": ref_, "commitid": commitid,
            "repo_path": repo.display().to_string(),
            "local_repo_path": repo.display().to_string(),
        }),
    );
    Ok(Committed {
        variant: uid.clone(),
        arch: arch.clone(),
        ref_,
        commitid,
        parent: if new_commit { parent } else { None },
        new_commit,
        version,
        repo: repo.clone(),
    })
}

/// An `ostree_container` task: an OCI archive at
/// `compose/<V>/<arch>/images/<release_short>-<V>-<version>.ociarchive`, from `rpm-ostree
/// compose image` or kiln's own ([`oci_of_tree`]), recorded for images.json.
fn container_image(
    ctx: &PhaseContext,
    task: &Task,
) -> Result<Vec<kiln_productmd::ImageRecord>, PhaseError> {
    let uid = &task.variant.uid;
    let arch = &task.arch;
    let version = version(ctx.compose, task.source().version).map_err(PhaseError::msg)?;
    let label = version
        .clone()
        .unwrap_or_else(|| format!("{}.{}", ctx.compose.info.date, ctx.compose.info.respin));
    let name = format!("{}-{uid}-{label}.ociarchive", ctx.config.release_short);
    let dir = ctx.compose.paths.images_dir(task.variant, arch);
    std::fs::create_dir_all(&dir)
        .map_err(|e| PhaseError::with(format!("cannot create {}", dir.display()), e))?;
    let dest = dir.join(&name);
    if uses_rpm_ostree(ctx.config) {
        rpm_ostree::compose_image(ctx, task, &dest)?;
        tracing::info!("ostree_container {uid}.{arch}: {name} (rpm-ostree compose image)");
    } else {
        let (ref_, commitid) = oci_of_tree(ctx, task, &dest, &label)?;
        tracing::info!("ostree_container {uid}.{arch}: {name} of {ref_} {commitid}");
    }
    kiln_media::set_mtime(&dest, ctx.compose.timestamp)?;
    let (size, checksums) = kiln_media::file_image_digests(ctx, &dest)?;
    let image = kiln_productmd::Image {
        path: kiln_media::compose_relative(ctx, &dest),
        mtime: ctx.compose.timestamp,
        size,
        volume_id: None,
        kind: "ociarchive".into(),
        format: "ociarchive".into(),
        arch: arch.clone(),
        disc_number: 1,
        disc_count: 1,
        checksums,
        implant_md5: None,
        bootable: false,
        subvariant: uid.clone(),
        unified: false,
        additional_variants: Vec::new(),
    };
    Ok(kiln_media::file_image(task.variant, arch, image))
}

/// kiln's own container image: the tree committed into a repository of the task's work folder,
/// that commit checked out and written as an OCI archive at `dest`. Returns the ref and commit.
fn oci_of_tree(
    ctx: &PhaseContext,
    task: &Task,
    dest: &Path,
    label: &str,
) -> Result<(String, String), PhaseError> {
    let uid = &task.variant.uid;
    let arch = &task.arch;
    let Prepared {
        work,
        log,
        root,
        ref_,
        version,
    } = prepare(ctx, task)?;
    let repo = work.join("repo");
    let _ = std::fs::remove_dir_all(&repo);
    ensure_repo(ctx, &repo, &log)?;
    let mut commit = Command::new("ostree");
    commit
        .arg("commit")
        .arg(format!("--repo={}", repo.display()))
        .arg(format!("--branch={ref_}"))
        .arg(format!("--tree=dir={}", root.display()))
        .arg(format!("--subject={ref_}"))
        .arg(format!("--timestamp={}", iso8601(ctx.compose.timestamp)));
    if let Some(v) = &version {
        commit.arg(format!("--add-metadata-string=version={v}"));
    }
    let commitid = stdout_line(&ctx.run(&commit, &log)?);
    let checkout = work.join("checkout");
    let _ = std::fs::remove_dir_all(&checkout);
    let mut co = Command::new("ostree");
    co.arg("checkout")
        .arg(format!("--repo={}", repo.display()))
        .arg(&commitid)
        .arg(&checkout);
    ctx.run(&co, &log)?;
    let image_name = format!(
        "{}:{label}",
        format!("{}-{uid}", ctx.config.release_short).to_lowercase()
    );
    oci::write_archive(
        &checkout,
        dest,
        &oci::ImageInfo {
            name: &image_name,
            arch,
            timestamp: ctx.compose.timestamp,
            commit: &commitid,
            ostree_ref: &ref_,
            version: version.as_deref(),
        },
    )
    .map_err(|e| PhaseError::with(format!("cannot write {}", dest.display()), e))?;
    Ok((ref_, commitid))
}

/// Whether two commits have the same root tree (`ostree ls -C -d` prints its checksums).
fn same_tree(
    ctx: &PhaseContext,
    repo_arg: &str,
    a: &str,
    b: &str,
    log: &Path,
) -> Result<bool, PhaseError> {
    let ls = |c: &str| -> Result<String, PhaseError> {
        let mut cmd = Command::new("ostree");
        cmd.args(["ls", repo_arg, "-C", "-d", c, "/"]);
        Ok(stdout_line(&ctx.run(&cmd, log)?))
    };
    Ok(ls(a)? == ls(b)?)
}

/// `compose/metadata/ostree.json`: every commit this compose made or found unchanged.
fn write_metadata(ctx: &PhaseContext, done: &[Committed]) -> Result<(), PhaseError> {
    let mut by_variant = serde_json::Map::new();
    for c in done {
        let arches = by_variant
            .entry(c.variant.clone())
            .or_insert_with(|| json!({}));
        let list = arches.as_object_mut().and_then(|m| {
            m.entry(c.arch.clone())
                .or_insert_with(|| json!([]))
                .as_array_mut()
        });
        if let Some(list) = list {
            list.push(json!({
                "ref": c.ref_,
                "commitid": c.commitid,
                "new_commit": c.new_commit,
                "parent": c.parent,
                "version": c.version,
                "repo_path": c.repo.display().to_string(),
            }));
        }
    }
    let doc = json!({
        "header": {"type": "kiln.ostree", "version": "1.0"},
        "payload": {
            "compose": kiln_engine::compose_ref(ctx.compose).to_json(),
            "ostree": by_variant,
        },
    });
    ctx.write(
        &ctx.compose.paths.metadata_dir().join("ostree.json"),
        kiln_productmd::json::to_string(&doc).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::iso8601;

    #[test]
    fn timestamps_are_utc_iso8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_795_219_200), "2026-11-21T00:00:00Z");
        assert_eq!(iso8601(951_825_600), "2000-02-29T12:00:00Z");
    }
}
