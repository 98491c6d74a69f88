//! The repoclosure phase: is every variant/arch repository closed under its dependencies,
//! together with its parent and lookasides?
//!
//! The native backend checks the gather results (`work/<arch>/gather/<V>.<arch>.json`) on
//! kiln-depsolve's provides index, so it does not need repodata. `repoclosure_backend: dnf`
//! runs `dnf repoclosure` with pungi's command line over the published repodata. Because a
//! phase's needs are static, the phase always declares a need on `createrepo`, even though the
//! native backend would not have to wait for it.
//!
//! `repoclosure_strictness` (per variant/arch, last match wins): `off` skips the check,
//! `lenient` (the default) logs problems, `fatal` fails the compose. Results go to
//! `logs/<arch>/repoclosure-<V>.<arch>.log`, in `dnf repoclosure`'s format.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_artifacts::{Artifact, GatherResult, Headers, PackageSet};
use kiln_depsolve::{ClosureProblem, ClosureScope, PkgSpec, PoolBuilder, format_dnf, repoclosure};
use kiln_engine::{Config, Phase, PhaseContext, PhaseError};
use kiln_variants::{Variant, VariantKind};
use rayon::prelude::*;

/// The phase.
pub struct Repoclosure;

#[derive(Debug, thiserror::Error)]
pub enum RepoclosureError {
    #[error("cannot read repository {path}: {message}")]
    Repo { path: PathBuf, message: String },
    #[error("{0}")]
    Pool(#[from] kiln_depsolve::PoolError),
}

/// A set of packages checked or used as lookaside: headers read from a repository, or borrowed
/// from the package set the compose's gather results point into.
pub struct RepoInput<'a> {
    pub id: String,
    pub packages: Vec<Cow<'a, kiln_rpm::Package>>,
}

/// Reads a repository's packages (primary and filelists) from its repodata.
pub fn read_repo(path: &Path) -> Result<Vec<kiln_rpm::Package>, RepoclosureError> {
    let err = |e: &dyn std::fmt::Display| RepoclosureError::Repo {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let reader = kiln_repodata::RepoReader::open(path).map_err(|e| err(&e))?;
    let mut out = Vec::new();
    for item in reader {
        let (p, _) = item.map_err(|e| err(&e))?;
        out.push(p);
    }
    Ok(out)
}

/// Checks `check` repositories with `lookaside` ones as extra providers; `arches` empty = all;
/// `newest` checks only the newest package per name and arch, as `dnf repoclosure --newest`.
pub fn check(
    check: &[RepoInput],
    lookaside: &[RepoInput],
    arches: &[String],
    newest: bool,
) -> Result<Vec<ClosureProblem>, RepoclosureError> {
    // Only the files some requirement names are indexed; the specs carry no others.
    let paths = kiln_depsolve::required_paths(
        check
            .iter()
            .chain(lookaside)
            .flat_map(|r| r.packages.iter().map(|p| p.as_ref())),
    );
    let keep = |f: &str| paths.contains(f);
    let mut b = PoolBuilder::new();
    let mut checked = Vec::new();
    for r in check {
        let id = b.add_repo(&r.id, false);
        checked.push(id);
        for p in &r.packages {
            b.add(id, PkgSpec::from_rpm_keeping(p, &keep));
        }
    }
    for r in lookaside {
        let id = b.add_repo(&r.id, true);
        for p in &r.packages {
            b.add(id, PkgSpec::from_rpm_keeping(p, &keep));
        }
    }
    let pool = b.build()?;
    Ok(repoclosure(
        &pool,
        &ClosureScope {
            check: checked,
            arches: arches.to_vec(),
            newest,
        },
    ))
}

/// `off`, `lenient` or `fatal` for a variant/arch (pungi's default: lenient).
pub fn strictness<'a>(config: &'a Config, variant: &str, arch: &str) -> &'a str {
    config
        .repoclosure_strictness
        .last_for(variant, arch)
        .map_or("lenient", String::as_str)
}

/// The package arches repoclosure considers for a compose arch: with multilib configured for
/// the variant, the multilib arches too (pungi's `get_valid_arches`).
pub fn arches_for(config: &Config, variant: &str, arch: &str) -> Vec<String> {
    let multilib = config
        .multilib
        .list_for(variant, arch)
        .iter()
        .any(|m| m != "none");
    let mut out: Vec<String> = kiln_depsolve::arch::native_arches(arch)
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    if out.is_empty() {
        out.push(arch.to_owned());
    }
    if multilib {
        out.extend(
            kiln_depsolve::arch::multilib_arches(arch)
                .iter()
                .map(|s| (*s).to_owned()),
        );
    }
    out.push("noarch".to_owned());
    out
}

/// pungi's `dnf repoclosure` command line.
pub fn dnf_command(
    arches: &[String],
    arch: &str,
    repo_id: &str,
    repo: &Path,
    lookasides: &[(String, String)],
) -> Command {
    let mut cmd = Command::new("dnf");
    cmd.arg("repoclosure");
    for a in arches {
        cmd.arg(format!("--arch={a}"));
    }
    cmd.arg(format!("--forcearch={arch}"));
    cmd.arg(format!(
        "--repofrompath={repo_id},file://{}",
        repo.display()
    ));
    cmd.arg(format!("--repo={repo_id}"));
    cmd.arg(format!("--check={repo_id}"));
    for (id, url) in lookasides {
        cmd.arg(format!("--repofrompath={id},{url}"));
        cmd.arg(format!("--repo={id}"));
    }
    cmd
}

fn os_packages<'s>(
    r: &GatherResult,
    headers: &Headers<'s>,
) -> Result<Vec<Cow<'s, kiln_rpm::Package>>, PhaseError> {
    r.os.packages
        .iter()
        .map(|p| headers.of(p).map(Cow::Borrowed))
        .collect::<Result<_, _>>()
        .map_err(|e| PhaseError::with(format!("repoclosure of {}.{}", r.variant, r.arch), e))
}

/// Variants whose repositories a variant's closure may lean on: its parent (and for an optional
/// variant the parent's addons) and its `variant_as_lookaside` partners.
fn lookaside_variants<'a>(
    config: &'a Config,
    all: &'a [Variant],
    v: &'a Variant,
) -> Vec<&'a Variant> {
    let mut out: Vec<&Variant> = Vec::new();
    if let Some(parent) = v.parent.as_deref() {
        out.extend(all.iter().filter(|x| x.uid == parent));
        if v.kind == VariantKind::Optional {
            out.extend(
                all.iter().filter(|x| {
                    x.parent.as_deref() == Some(parent) && x.kind == VariantKind::Addon
                }),
            );
        }
    }
    for (a, b) in &config.variant_as_lookaside {
        if a == &v.uid {
            out.extend(all.iter().filter(|x| &x.uid == b));
        }
    }
    out
}

impl Repoclosure {
    /// `sets`: the package sets by arch, which hold the headers the gather results point at
    /// (read once for the whole phase, and only for the native backend).
    fn one(
        &self,
        ctx: &PhaseContext,
        sets: &BTreeMap<String, std::sync::Arc<PackageSet>>,
        v: &Variant,
        arch: &str,
    ) -> Result<(), PhaseError> {
        let level = strictness(ctx.config, &v.uid, arch);
        if level == "off" {
            return Ok(());
        }
        let paths = &ctx.compose.paths;
        let log = paths.log_file(arch, &format!("repoclosure-{}", v.uid));
        let arches = arches_for(ctx.config, &v.uid, arch);
        let repo_id = format!("{}-repoclosure-{}.{arch}", ctx.compose.info.id, v.uid);
        let all = &ctx.compose.variants.all;
        let (ok, report) = if ctx.config.repoclosure_backend == "dnf" {
            let mut look = Vec::new();
            for (i, lv) in lookaside_variants(ctx.config, all, v)
                .into_iter()
                .enumerate()
            {
                look.push((
                    format!("{}-lookaside-{}.{arch}-{i}", ctx.compose.info.id, v.uid),
                    format!("file://{}", paths.os_repo(lv, arch).display()),
                ));
            }
            for url in ctx.config.gather_lookaside_repos.list_for(&v.uid, arch) {
                let i = look.len();
                look.push((
                    format!("{}-lookaside-{}.{arch}-{i}", ctx.compose.info.id, v.uid),
                    url,
                ));
            }
            let cmd = dnf_command(&arches, arch, &repo_id, &paths.os_repo(v, arch), &look);
            let out = ctx.run_status(&cmd, &log)?;
            ctx.produced(&log);
            (
                out.success(),
                format!(
                    "dnf repoclosure exited with {:?}; see {}",
                    out.code,
                    log.display()
                ),
            )
        } else {
            let load = |uid: &str| {
                let p = GatherResult::path(paths.topdir(), uid, arch);
                GatherResult::load_shared(&p)
                    .map_err(|e| PhaseError::with(format!("repoclosure of {uid}.{arch}"), e))
            };
            let headers = sets
                .get(arch)
                .ok_or_else(|| PhaseError::msg(format!("repoclosure: no package set for {arch}")))?
                .headers();
            let me = load(&v.uid)?;
            let mut look = Vec::new();
            for lv in lookaside_variants(ctx.config, all, v) {
                let r = load(&lv.uid)?;
                look.push(RepoInput {
                    id: format!("{}-lookaside-{}.{arch}", ctx.compose.info.id, lv.uid),
                    packages: os_packages(&r, &headers)?,
                });
            }
            for (i, url) in ctx
                .config
                .gather_lookaside_repos
                .list_for(&v.uid, arch)
                .iter()
                .enumerate()
            {
                let path = url.strip_prefix("file://").unwrap_or(url);
                let packages = read_repo(Path::new(path))
                    .map_err(|e| PhaseError::with(format!("lookaside of {}.{arch}", v.uid), e))?;
                look.push(RepoInput {
                    id: format!("{}-lookaside-{}.{arch}-{i}", ctx.compose.info.id, v.uid),
                    packages: packages.into_iter().map(Cow::Owned).collect(),
                });
            }
            let checked = [RepoInput {
                id: repo_id.clone(),
                packages: os_packages(&me, &headers)?,
            }];
            let problems = check(&checked, &look, &arches, false)
                .map_err(|e| PhaseError::with(format!("repoclosure of {}.{arch}", v.uid), e))?;
            let mut text = format!(
                "COMMAND: kiln native repoclosure --check={repo_id} {}\n{}\n",
                arches
                    .iter()
                    .map(|a| format!("--arch={a}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                "-".repeat(79)
            );
            text.push_str(&format_dnf(&problems));
            ctx.write(&log, text.as_bytes())?;
            let n = problems.len();
            (
                n == 0,
                format!(
                    "{n} package(s) with unresolved dependencies:\n{}",
                    format_dnf(&problems)
                ),
            )
        };
        if ok {
            tracing::info!(
                "repoclosure of {}.{arch}: closed ({})",
                v.uid,
                log.display()
            );
            return Ok(());
        }
        let msg = format!("repoclosure of {}.{arch}: {report}", v.uid);
        if level == "fatal" {
            Err(PhaseError::msg(msg))
        } else {
            tracing::warn!("{msg}");
            Ok(())
        }
    }
}

impl Phase for Repoclosure {
    fn name(&self) -> &'static str {
        "repoclosure"
    }
    fn needs(&self) -> &'static [&'static str] {
        // `createrepo` only for the dnf backend, but needs cannot depend on the config; the
        // package set holds the headers the gather results point at.
        &["pkgset", "gather", "createrepo"]
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "repoclosure_strictness",
            "repoclosure_backend",
            "gather_lookaside_repos",
            "variant_as_lookaside",
            "multilib",
        ]
    }
    fn tools(&self, config: &Config) -> Vec<&'static str> {
        if config.repoclosure_backend == "dnf" {
            vec!["dnf"]
        } else {
            Vec::new()
        }
    }
    fn work(&self) -> kiln_engine::Work {
        kiln_engine::Work::Cpu
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let mut errors = Vec::new();
        let sets = if ctx.config.repoclosure_backend == "dnf" {
            BTreeMap::new()
        } else {
            // Only the arches something is checked on.
            let checked = ctx.compose.variants.arches().into_iter().filter(|arch| {
                ctx.compose.variants.all.iter().any(|v| {
                    !v.is_empty
                        && v.arches.contains(arch)
                        && strictness(ctx.config, &v.uid, arch) != "off"
                })
            });
            PackageSet::load_all(&ctx.compose.paths, checked)
                .map_err(|e| PhaseError::with("repoclosure", e))?
        };
        let checks: Vec<(&Variant, &String)> = ctx
            .compose
            .variants
            .all
            .iter()
            .filter(|v| !v.is_empty)
            .flat_map(|v| v.arches.iter().map(move |arch| (v, arch)))
            .collect();
        let check = |&(v, arch): &(&Variant, &String)| {
            let _arch = ctx.arch_span(arch);
            ctx.check_cancelled()?;
            self.one(ctx, &sets, v, arch)
        };
        // kiln's own solver checks each tree on its own, so on every core; dnf runs share a
        // cache folder and take turns on its lock anyway. Errors in the variants' order.
        let results: Vec<Result<(), PhaseError>> = if ctx.config.repoclosure_backend == "dnf" {
            checks.iter().map(check).collect()
        } else {
            checks.par_iter().map(check).collect()
        };
        for result in results {
            match result {
                Err(PhaseError::Cancelled) => return Err(PhaseError::Cancelled),
                Err(e) => errors.push(e.to_string()),
                Ok(()) => {}
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(PhaseError::msg(errors.join("\n")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pungi_command_line() {
        let cmd = dnf_command(
            &["x86_64".into(), "noarch".into()],
            "x86_64",
            "C-repoclosure-AppStream.x86_64",
            Path::new("/c/compose/AppStream/x86_64/os"),
            &[(
                "C-lookaside-AppStream.x86_64-0".into(),
                "file:///c/work/x86_64/BaseOS/lookaside_repo".into(),
            )],
        );
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args.join(" "),
            "repoclosure --arch=x86_64 --arch=noarch --forcearch=x86_64 \
             --repofrompath=C-repoclosure-AppStream.x86_64,file:///c/compose/AppStream/x86_64/os \
             --repo=C-repoclosure-AppStream.x86_64 --check=C-repoclosure-AppStream.x86_64 \
             --repofrompath=C-lookaside-AppStream.x86_64-0,file:///c/work/x86_64/BaseOS/lookaside_repo \
             --repo=C-lookaside-AppStream.x86_64-0"
        );
    }
}
