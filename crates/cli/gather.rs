//! `kiln gather`: the gather phase's depsolving on bare repositories, without a compose, as
//! pungi's gather test harness drives its depsolver: package patterns and options in, the chosen
//! binary, source and debuginfo packages out. It runs the phase's own code
//! (`kiln_phase_gather::solve_arch`), so what it prints is what the phase would ship.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use kiln_depsolve::{GatherOptions, Greedy, Multilib, MultilibMethod};
use kiln_phase_gather::{Method, PkgRecord, VariantPlan, solve_arch};
use kiln_variants::VariantKind;

#[derive(clap::Args, Debug)]
pub struct GatherArgs {
    /// A repository to gather from (the directory holding `repodata/`); repeatable.
    #[arg(long = "repo", required = true, value_name = "PATH")]
    pub repos: Vec<PathBuf>,
    /// A repository whose packages satisfy dependencies but are not gathered; repeatable.
    #[arg(long, value_name = "PATH")]
    pub lookaside: Vec<PathBuf>,
    /// The compose arch.
    #[arg(long, default_value = "x86_64")]
    pub arch: String,
    /// none, all or build.
    #[arg(long, default_value = "none")]
    pub greedy: String,
    /// Multilib methods (none, all, runtime, devel, kernel, yaboot); repeatable.
    #[arg(long)]
    pub multilib: Vec<String>,
    /// Multilib blacklist globs; repeatable.
    #[arg(long)]
    pub multilib_blacklist: Vec<String>,
    /// Multilib whitelist globs; repeatable.
    #[arg(long)]
    pub multilib_whitelist: Vec<String>,
    /// Every binary package built from a source package that is in.
    #[arg(long)]
    pub fulltree: bool,
    /// A source package name fulltree leaves alone; repeatable.
    #[arg(long, value_name = "SRPM_NAME")]
    pub fulltree_exclude: Vec<String>,
    /// Pull in the langpacks comps names for the packages gathered (pungi's deps method
    /// always does, from the variant's comps).
    #[arg(long)]
    pub langpacks: bool,
    /// Build dependencies of every source package too.
    #[arg(long)]
    pub selfhosting: bool,
    /// `name.arch` packages added when they exist; repeatable.
    #[arg(long)]
    pub prepopulate: Vec<String>,
    /// Resolve no dependencies (fulltree, multilib and langpacks still apply).
    #[arg(long)]
    pub nodeps: bool,
    #[arg(long)]
    pub exclude_source: bool,
    #[arg(long)]
    pub exclude_debug: bool,
    /// Exclusion patterns (`filter_packages`); repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// comps file for `@group` patterns and --langpacks (default: the group metadata of the
    /// first --repo that has it).
    #[arg(long, value_name = "FILE")]
    pub comps: Option<PathBuf>,
    /// Follow each package with pungi's flags for it (`[input,fulltree]`), and list the
    /// lookaside packages that satisfied dependencies.
    #[arg(long)]
    pub flags: bool,
    /// Package patterns: names, globs, `name.arch`, `name.+`, and `@group` (globs allowed).
    #[arg(required = true)]
    pub patterns: Vec<String>,
}

/// The comps text for `@group` patterns and langpacks: `--comps`, else a repository's `group`
/// metadata.
fn comps_text(args: &GatherArgs) -> anyhow::Result<(String, PathBuf)> {
    if let Some(path) = &args.comps {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Ok((text, path.clone()));
    }
    for repo in &args.repos {
        let repomd = repo.join("repodata/repomd.xml");
        let Ok(file) = std::fs::File::open(&repomd) else {
            continue;
        };
        let md = kiln_repodata::repomd::RepoMd::parse(
            std::io::BufReader::new(file),
            &repomd.display().to_string(),
        )
        .with_context(|| format!("cannot read {}", repomd.display()))?;
        if let Some(rec) = md.record("group").or_else(|| md.record("group_gz")) {
            let path = repo.join(&rec.href);
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut kiln_repodata::compress::open_read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
                &mut text,
            )
            .with_context(|| format!("cannot read {}", path.display()))?;
            return Ok((text, path));
        }
    }
    bail!(
        "@group patterns and --langpacks need comps: give --comps FILE, or a --repo with group \
         metadata"
    )
}

fn read(paths: &[PathBuf]) -> anyhow::Result<Vec<PkgRecord>> {
    let mut out = Vec::new();
    for path in paths {
        let packages = kiln_phase_repoclosure::read_repo(path)
            .with_context(|| format!("loading repository {}", path.display()))?;
        // Only headers are needed: pungi's fixture repositories hold repodata alone.
        out.extend(packages.into_iter().map(|package| PkgRecord {
            path: path.clone(),
            package,
            stat: None,
        }));
    }
    Ok(out)
}

/// Prints `binary:`, `source:` and `debug:` sections of `name-version-release.arch` lines.
pub fn run(args: GatherArgs) -> anyhow::Result<ExitCode> {
    let (groups, mut includes): (Vec<&String>, Vec<String>) = {
        let (g, n): (Vec<&String>, Vec<&String>) =
            args.patterns.iter().partition(|p| p.starts_with('@'));
        (g, n.into_iter().cloned().collect())
    };
    let mut conditional = Vec::new();
    let mut langpacks = Vec::new();
    if args.langpacks {
        let (text, origin) = comps_text(&args)?;
        let comps = kiln_comps::Comps::parse(&text, &origin)
            .with_context(|| format!("cannot read comps {}", origin.display()))?;
        langpacks = comps.langpacks.into_iter().collect();
    }
    if !groups.is_empty() {
        let (text, origin) = comps_text(&args)?;
        let comps = kiln_phase_gather::comps::parse_groups(&text, &origin, "", &args.arch)
            .with_context(|| format!("cannot read comps {}", origin.display()))?;
        let wanted: Vec<kiln_variants::GroupRef> = groups
            .iter()
            .map(|g| {
                let name = g.trim_start_matches('@').to_owned();
                kiln_variants::GroupRef {
                    glob: name.contains(['*', '?', '[']),
                    name,
                    default: None,
                    uservisible: None,
                }
            })
            .collect();
        let (names, cond, missing) = kiln_phase_gather::comps::group_inputs(&comps, &wanted);
        if !missing.is_empty() {
            bail!("no comps group matches {}", missing.join(", "));
        }
        includes.extend(names);
        conditional = cond;
    }
    let greedy = Greedy::parse(&args.greedy)
        .with_context(|| format!("--greedy {:?}: use none, all or build", args.greedy))?;
    let methods = args
        .multilib
        .iter()
        .map(|m| MultilibMethod::parse(m).with_context(|| format!("--multilib {m:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let pkgset = read(&args.repos)?;
    let lookaside = read(&args.lookaside)?;
    let plan = VariantPlan {
        uid: "gather".into(),
        kind: VariantKind::Variant,
        parent: None,
        // pungi's DNF gather with `resolve_deps` off, not the `nodeps` gather method: fulltree,
        // multilib and langpacks still apply, as pungi's test matrix expects.
        method: Method::Deps,
        includes,
        conditional,
        excludes: args.exclude.clone(),
        options: GatherOptions {
            arch: args.arch.clone(),
            resolve_deps: !args.nodeps,
            fulltree: args.fulltree,
            fulltree_excludes: args.fulltree_exclude.clone(),
            selfhosting: args.selfhosting,
            greedy,
            multilib: Multilib {
                methods,
                blacklist: args.multilib_blacklist.clone(),
                whitelist: args.multilib_whitelist.clone(),
            },
            exclude_source: args.exclude_source,
            exclude_debug: args.exclude_debug,
            prepopulate: args.prepopulate.clone(),
            langpacks,
        },
        lookaside_variants: Vec::new(),
        lookaside_packages: lookaside,
        hidden: Default::default(),
        origins: Default::default(),
    };
    let selections = solve_arch(&pkgset, std::slice::from_ref(&plan))?;
    let Some(sel) = selections.get("gather") else {
        bail!("the depsolver returned no result");
    };
    let section = |title: &str, picks: &[kiln_phase_gather::solve::Pick]| {
        let mut lines: Vec<String> = picks
            .iter()
            .map(|p| {
                let nvra = pkgset[p.index].package.nvra();
                if args.flags {
                    format!(
                        "{nvra} [{}]",
                        kiln_depsolve::flags::names(p.flags).join(",")
                    )
                } else {
                    nvra
                }
            })
            .collect();
        lines.sort();
        lines.dedup();
        println!("{title}:");
        for l in lines {
            println!("  {l}");
        }
    };
    section("binary", &sel.binary);
    section("source", &sel.source);
    section("debug", &sel.debug);
    if args.flags {
        println!("lookaside:");
        for nevra in &sel.lookaside {
            println!("  {} [lookaside]", without_epoch(nevra));
        }
    }
    for u in &sel.unresolved {
        eprintln!("kiln: unresolved: {u:?}");
    }
    for m in &sel.missing {
        eprintln!("kiln: no package matches {m}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `name-version-release.arch` of a `name-epoch:version-release.arch`.
fn without_epoch(nevra: &str) -> String {
    match nevra.split_once(':') {
        Some((head, tail)) => match head.rsplit_once('-') {
            Some((name, _epoch)) => format!("{name}-{tail}"),
            None => nevra.to_owned(),
        },
        None => nevra.to_owned(),
    }
}
