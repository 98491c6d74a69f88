//! pkgset: the package set a compose chooses from.
//!
//! For every compose arch it collects the packages of `pkgset_repos` (a repository with repodata,
//! whose `location` hrefs name the files — local, or http(s) and mirrored into the download cache
//! with resume and checksum verification — or a plain folder of RPMs), reads every header once —
//! through a cache shared across composes keyed by path, size and mtime, so an unchanged package is
//! never read twice — checks `sigkeys`, keeps the arches that arch takes, and keeps the newest
//! version of each name (all versions with `pkgset_all_versions`).
//!
//! With `pkgset_source: koji` the files are the latest builds of `pkgset_koji_tag` on the Koji
//! volume instead ([`koji`]); everything after the listing is the same.
//!
//! It writes `work/global/pkgset/<arch>.json`, a `kiln_artifacts::PackageSet`: every binary, debug
//! and source package the arch may use, with its full header and the absolute path of its file.

mod arches;
mod cache;
mod koji;
mod sources;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use kiln_artifacts::{Artifact, Entry, FileStat, PackageSet};
use kiln_engine::{Phase, PhaseContext, PhaseError};
use kiln_remote::{cache_dir, download as remote};
use kiln_rpm::{ChecksumKind, Package};
use rayon::prelude::*;

pub use arches::accepts;
pub use sources::{Expected, PackageSource, RemoteCtx, source_for};

pub struct PkgsetPhase;

/// The name the Koji tags' listing goes by among the sources.
const KOJI_SOURCE: &str = "koji:pkgset_koji_tag";

fn checksum_kind(name: &str) -> ChecksumKind {
    match name {
        "sha1" => ChecksumKind::Sha1,
        "sha224" => ChecksumKind::Sha224,
        "sha384" => ChecksumKind::Sha384,
        "sha512" => ChecksumKind::Sha512,
        _ => ChecksumKind::Sha256,
    }
}

impl Phase for PkgsetPhase {
    fn name(&self) -> &'static str {
        "pkgset"
    }
    fn needs(&self) -> &'static [&'static str] {
        &[]
    }
    fn tools(&self, config: &kiln_config::Config) -> Vec<&'static str> {
        if config.pkgset_source == "koji" {
            // The hub through the koji client; the profile's topdir through its library.
            vec!["koji", "python3"]
        } else {
            Vec::new()
        }
    }
    fn config_keys(&self) -> &'static [&'static str] {
        &[
            "pkgset_source",
            "pkgset_repos",
            "pkgset_koji_tag",
            "pkgset_koji_inherit",
            "pkgset_koji_builds",
            "koji_event",
            "koji_profile",
            "sigkeys",
            "pkgset_exclusive_arch_considers_noarch",
            "pkgset_all_versions",
            "createrepo_checksum",
            // Remote packages' paths in the set lie in the cache.
            "pkgset_cache_dir",
        ]
    }

    /// gather, createrepo and repoclosure have read the sets pkgset shared with them.
    fn dependents_done(&self) {
        PackageSet::release_shared();
    }

    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError> {
        let config = ctx.config;
        let kind = checksum_kind(&config.createrepo_checksum);
        let cache_path = cache_file(ctx);
        // Tens of megabytes of JSON at Fedora's scale: parsed while the repositories are listed
        // and their files stat'ed. A run that fails before it is joined leaves it to finish
        // unread.
        let loading = {
            let path = cache_path.clone();
            std::thread::spawn(move || cache::HeaderCache::load(&path))
        };

        // Every repo is listed (and downloaded) once, whatever number of arches use it.
        let mut repos_of: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        let from_koji = config.pkgset_source == "koji";
        for arch in ctx.compose.variants.arches() {
            if from_koji {
                // A tag serves every arch; `arches::accepts` below keeps what each arch takes.
                repos_of
                    .entry(arch.clone())
                    .or_default()
                    .insert(KOJI_SOURCE);
                continue;
            }
            for (key, repos) in &config.pkgset_repos {
                if kiln_config::matches_arch(key, &arch) {
                    repos_of
                        .entry(arch.clone())
                        .or_default()
                        .extend(repos.iter().map(String::as_str));
                }
            }
        }
        let all_repos: BTreeSet<&str> = repos_of.values().flatten().copied().collect();
        let cancelled = || ctx.check_cancelled().is_err();
        let downloader = remote::Downloader::new(&cancelled);
        let dl_bar = ctx.progress(0, "downloading packages");
        let done = || dl_bar.inc(1);
        let cache_base = cache_dir(config, &ctx.compose.paths);
        let remote_ctx = sources::RemoteCtx {
            downloader: &downloader,
            cache: &cache_base,
            done: &done,
        };
        let mut listed: BTreeMap<&str, Vec<(PathBuf, Option<sources::Expected>)>> = BTreeMap::new();
        let mut modules: BTreeMap<&str, String> = BTreeMap::new();
        for repo in all_repos {
            ctx.check_cancelled()?;
            if repo == KOJI_SOURCE {
                listed.insert(repo, koji::list_tags(ctx)?.files);
                continue;
            }
            let source = sources::source_for(repo)?;
            tracing::info!("listing the packages of {}", source.describe());
            let listing = source.list(&remote_ctx)?;
            listed.insert(repo, listing.files);
            if let Some(text) = listing.modules {
                // Broken module metadata fails here, naming the repository, not in gather.
                let index = kiln_modulemd::ModuleIndex::parse(&text, repo)
                    .map_err(|e| PhaseError::with("package set", e))?;
                tracing::info!("{repo}: {} module streams", index.streams.len());
                modules.insert(repo, text);
            }
        }
        dl_bar.finish_and_clear();
        // Every file once, in the order the arches and their repositories list them (a file two
        // repositories list is checked against the last one's metadata); each arch's files as
        // indices into that list. Hashed, not ordered: comparing paths component by component
        // was a fifth of a re-compose's pkgset.
        let mut list: Vec<(PathBuf, Option<sources::Expected>)> = Vec::new();
        let mut index_of: HashMap<PathBuf, usize> = HashMap::new();
        let mut by_arch: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (arch, repos) in &repos_of {
            let mut seen = HashSet::new();
            let of_arch = by_arch.entry(arch.clone()).or_default();
            for repo in repos {
                for (file, expected) in listed.get(repo).into_iter().flatten() {
                    let i = match index_of.get(file) {
                        Some(&i) => {
                            list[i].1 = expected.clone();
                            i
                        }
                        None => {
                            index_of.insert(file.clone(), list.len());
                            list.push((file.clone(), expected.clone()));
                            list.len() - 1
                        }
                    };
                    if seen.insert(i) {
                        of_arch.push(i);
                    }
                }
            }
        }
        drop(index_of);
        let bar = ctx.progress(list.len() as u64, "reading package headers");
        let downloads = cache_base.join("downloads");
        // Cache hits are moved out of the cache; the misses are read from their files below.
        let files: Vec<Option<(cache::Stat, bool)>> =
            list.par_iter().map(|(p, _)| cache::stat_file(p)).collect();
        let mut cache = loading
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let hits: Vec<Option<Package>> = list
            .iter()
            .zip(&files)
            .map(|((path, _), file)| cache.take(path, file.map(|(stat, _)| stat), kind))
            .collect();
        let from_cache = hits.iter().filter(|h| h.is_some()).count();
        let read: Vec<Result<Package, PhaseError>> = list
            .par_iter()
            .zip(hits)
            .map(|((path, expected), hit)| {
                ctx.check_cancelled()?;
                let pkg = match hit {
                    Some(p) => p,
                    None => kiln_rpm::read_package(path, kind)
                        .map_err(|e| PhaseError::with("package set", e))?,
                };
                if let Some(exp) = expected
                    && let Err(e) = exp.check(path, &pkg)
                {
                    // A damaged file in the download cache would fail every run; drop it so the
                    // next run fetches it again.
                    if path.starts_with(&downloads) && std::fs::remove_file(path).is_ok() {
                        return Err(PhaseError::msg(format!(
                            "{e} (removed from the download cache: the next run fetches it again)"
                        )));
                    }
                    return Err(e);
                }
                bar.inc(1);
                Ok(pkg)
            })
            .collect();
        bar.finish_and_clear();
        let mut headers: Vec<Option<Package>> = Vec::with_capacity(list.len());
        let mut errors = Vec::new();
        for r in read {
            match r {
                Ok(pkg) => headers.push(Some(pkg)),
                Err(e) => {
                    errors.push(e.to_string());
                    headers.push(None);
                }
            }
        }
        tracing::info!(
            "{} headers read, {} from cache",
            list.len().saturating_sub(from_cache),
            from_cache
        );
        if from_cache < list.len() {
            cache.missed();
        }
        cache.save(
            &cache_path,
            list.iter()
                .zip(&files)
                .zip(&headers)
                .filter_map(|(((path, _), file), h)| {
                    Some((path.as_path(), (*file)?.0, h.as_ref()?))
                }),
        );
        drop(cache);
        if !errors.is_empty() {
            return Err(PhaseError::msg(errors.join("\n")));
        }
        let headers: Vec<Package> = headers.into_iter().flatten().collect();
        check_sigkeys(
            &config.sigkeys,
            list.iter().map(|(p, _)| p.as_path()).zip(&headers),
        )?;
        let by_srpm: HashMap<String, &Package> = headers
            .iter()
            .filter(|p| p.is_source)
            .map(|p| (p.file_name(), p))
            .collect();
        // Which files each arch keeps; then the headers move into the arch's set (copied only
        // for a file an arch after it keeps too).
        let kept: Vec<(&String, Vec<usize>)> = by_arch
            .iter()
            .map(|(arch, files)| {
                let keep = files
                    .iter()
                    .copied()
                    .filter(|&i| {
                        let h = &headers[i];
                        let source = h.sourcerpm.as_ref().and_then(|s| by_srpm.get(s).copied());
                        arches::accepts(
                            arch,
                            h,
                            source,
                            config.pkgset_exclusive_arch_considers_noarch,
                        )
                    })
                    .collect();
                (arch, keep)
            })
            .collect();
        drop(by_srpm);
        let mut uses = vec![0usize; headers.len()];
        for (_, keep) in &kept {
            for &i in keep {
                uses[i] += 1;
            }
        }
        let mut headers: Vec<Option<Package>> = headers.into_iter().map(Some).collect();
        for (arch, keep) in kept {
            let entries: Vec<Entry> = keep
                .into_iter()
                .filter_map(|i| {
                    uses[i] -= 1;
                    let package = if uses[i] == 0 {
                        headers[i].take()?
                    } else {
                        headers[i].clone()?
                    };
                    Some(Entry {
                        path: list[i].0.clone(),
                        package,
                        stat: files[i]
                            .filter(|(_, plain)| *plain)
                            .map(|((size, mtime_ns), _)| FileStat { size, mtime_ns }),
                    })
                })
                .collect();
            let packages = if config.pkgset_all_versions {
                sorted(entries)
            } else {
                newest_only(entries)
            };
            tracing::info!("{arch}: {} packages", packages.len());
            let mut set = PackageSet::new(arch.clone(), packages);
            // In the order the config lists the repositories, each once.
            let mut seen = BTreeSet::new();
            for (key, repos) in &config.pkgset_repos {
                if kiln_config::matches_arch(key, arch) {
                    for repo in repos.iter().filter(|r| seen.insert(r.as_str())) {
                        if let Some(text) = modules.get(repo.as_str()) {
                            set.modulemd.push_str(text);
                            if !text.ends_with('\n') {
                                set.modulemd.push('\n');
                            }
                        }
                    }
                }
            }
            let json = set
                .encode_for(ctx.phase())
                .map_err(|e| PhaseError::with("package set", e))?;
            let path = PackageSet::path(&ctx.compose.paths, arch);
            ctx.write(&path, &json)?;
            if config.pkgset_source == "koji" {
                write_koji_repo(ctx, &set, kind)?;
            }
            // The phases after this one in this process read the set without parsing it.
            PackageSet::share(&path, set);
        }
        Ok(())
    }
}

/// pungi's per-arch repository of a Koji package set: repodata in `work/<arch>/repo/<tag>/`
/// whose packages stay where they are on the Koji volume (`xml:base="file:///"`), for the
/// tools that install from a repository (lorax): the arch's binary packages, sorted by file
/// name as createrepo_c sorts them.
fn write_koji_repo(
    ctx: &PhaseContext,
    set: &PackageSet,
    kind: ChecksumKind,
) -> Result<(), PhaseError> {
    let tags: Vec<String> = ctx
        .config
        .pkgset_koji_tag
        .iter()
        .flat_map(|t| t.to_vec())
        .collect();
    let dir = PackageSet::repo_dir(&ctx.compose.paths, &set.arch, &tags);
    let mut pkgs: Vec<(Package, kiln_repodata::Location)> = set
        .packages
        .iter()
        .filter(|e| !e.package.is_source)
        .map(|e| {
            let href = e.path.to_string_lossy();
            (
                e.package.clone(),
                kiln_repodata::Location {
                    href: href.trim_start_matches('/').to_owned(),
                    base: Some("file:///".to_owned()),
                },
            )
        })
        .collect();
    pkgs.sort_by(|(_, a), (_, b)| {
        let name = |h: &str| h.rsplit('/').next().unwrap_or(h).to_owned();
        name(&a.href)
            .cmp(&name(&b.href))
            .then_with(|| a.href.cmp(&b.href))
    });
    std::fs::create_dir_all(&dir)
        .map_err(|e| PhaseError::with(format!("cannot create {}", dir.display()), e))?;
    let opts = kiln_repodata::RepoOptions {
        checksum: kind,
        timestamp: Some(ctx.compose.timestamp.max(0) as u64),
        ..kiln_repodata::RepoOptions::default()
    };
    kiln_repodata::write_repo(&dir, &pkgs, &[], &opts).map_err(|e| {
        PhaseError::with(format!("the package set repository {}", dir.display()), e)
    })?;
    ctx.produced(&dir.join("repodata"));
    Ok(())
}

fn cache_file(ctx: &PhaseContext) -> PathBuf {
    cache_dir(ctx.config, &ctx.compose.paths).join("headers.json")
}

/// Offenders named in the error itself.
const SHOWN: usize = 20;

/// Only packages signed with one of `sigkeys` enter; `null` in the list lets unsigned packages in.
/// Every offending package is named with its key, as pungi's UnsignedPackagesError does.
fn check_sigkeys<'a>(
    sigkeys: &[Option<String>],
    headers: impl Iterator<Item = (&'a std::path::Path, &'a Package)>,
) -> Result<(), PhaseError> {
    let allowed: Vec<Option<String>> = sigkeys
        .iter()
        .map(|k| k.as_ref().map(|k| normalize_key(k)))
        .collect();
    if allowed.contains(&None) && allowed.len() == 1 {
        return Ok(());
    }
    let bad: Vec<String> = headers
        .filter(|(_, p)| {
            let key = p.sigkey.as_ref().map(|k| normalize_key(k));
            !(allowed.contains(&key) || (key.is_none() && allowed.contains(&None)))
        })
        .map(|(path, p)| {
            format!(
                "{} ({}) is {}",
                p.nevra(),
                path.display(),
                match &p.sigkey {
                    Some(k) => format!("signed with key {k}"),
                    None => "unsigned".to_owned(),
                }
            )
        })
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    let wanted: Vec<String> = sigkeys
        .iter()
        .map(|k| k.clone().unwrap_or_else(|| "null (unsigned)".into()))
        .collect();
    let head = format!(
        "{} package(s) are not signed with any of sigkeys [{}]",
        bad.len(),
        wanted.join(", ")
    );
    // The log gets every offender; the error (the console) the first ones.
    tracing::error!("{head}:\n  {}", bad.join("\n  "));
    let mut shown: Vec<String> = bad.iter().take(SHOWN).cloned().collect();
    if bad.len() > SHOWN {
        shown.push(format!(
            "... and {} more (all in logs/global/pkgset.global.log)",
            bad.len() - SHOWN
        ));
    }
    Err(PhaseError::msg(format!(
        "{head}:\n  {}",
        shown.join("\n  ")
    )))
}

/// Koji spells key IDs as the last 8 hex digits, lower case.
fn normalize_key(k: &str) -> String {
    let k = k.trim().to_ascii_lowercase();
    k[k.len().saturating_sub(8)..].to_owned()
}

fn evr(p: &Package) -> (u32, &str, &str) {
    (p.epoch, p.version.as_str(), p.release.as_str())
}

fn sorted(entries: Vec<Entry>) -> Vec<Entry> {
    let all: Vec<usize> = (0..entries.len()).collect();
    in_order(entries, all)
}

/// The entries at `keep`, in the set's order: by name, arch, then version. Indices are sorted,
/// not the entries: a header is hundreds of bytes to move at every step of a sort.
fn in_order(entries: Vec<Entry>, mut keep: Vec<usize>) -> Vec<Entry> {
    keep.sort_by(|&a, &b| {
        let (a, b) = (&entries[a], &entries[b]);
        (&a.package.name, &a.package.arch)
            .cmp(&(&b.package.name, &b.package.arch))
            .then_with(|| kiln_rpm::evr::compare(evr(&a.package), evr(&b.package)))
            .then_with(|| a.path.cmp(&b.path))
    });
    let mut slots: Vec<Option<Entry>> = entries.into_iter().map(Some).collect();
    keep.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// The newest build of each name and arch; source packages stay when a kept binary was built
/// from them.
fn newest_only(entries: Vec<Entry>) -> Vec<Entry> {
    use std::collections::hash_map::Entry as Slot;
    // The first of equal versions stays.
    let mut best: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if e.package.is_source {
            continue;
        }
        match best.entry((&e.package.name, &e.package.arch)) {
            Slot::Occupied(mut cur) => {
                let newer =
                    kiln_rpm::evr::compare(evr(&entries[*cur.get()].package), evr(&e.package))
                        .is_lt();
                if newer {
                    cur.insert(i);
                }
            }
            Slot::Vacant(slot) => {
                slot.insert(i);
            }
        }
    }
    let wanted: HashSet<&str> = best
        .values()
        .filter_map(|&i| entries[i].package.sourcerpm.as_deref())
        .collect();
    let mut keep: Vec<usize> = best.values().copied().collect();
    keep.extend(
        entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.package.is_source && wanted.contains(e.package.file_name().as_str()))
            .map(|(i, _)| i),
    );
    drop(best);
    in_order(entries, keep)
}
