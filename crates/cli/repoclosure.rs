//! `kiln repoclosure`: check that repositories are closed under their dependencies, standalone,
//! with `dnf repoclosure`'s report format.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use kiln_phase_repoclosure::{RepoInput, check, read_repo};

#[derive(clap::Args, Debug)]
pub struct RepoclosureArgs {
    /// A repository to check, `[ID,]PATH` (the directory holding `repodata/`); repeatable.
    #[arg(long = "repo", required = true, value_name = "[ID,]PATH")]
    pub repos: Vec<String>,
    /// A repository that may satisfy dependencies but is not checked itself; repeatable.
    #[arg(long, value_name = "[ID,]PATH")]
    pub lookaside: Vec<String>,
    /// Only packages of these arches are checked (`x86_64`, `noarch`); providers may be of any arch; repeatable.
    #[arg(long)]
    pub arch: Vec<String>,
    /// Check only the newest version of each package name and arch.
    #[arg(long)]
    pub newest: bool,
}

fn split(spec: &str, n: usize, prefix: &str) -> (String, PathBuf) {
    match spec.split_once(',') {
        Some((id, path)) if !id.is_empty() => (id.to_owned(), PathBuf::from(path)),
        _ => (
            format!("{prefix}{n}"),
            PathBuf::from(spec.trim_start_matches(',')),
        ),
    }
}

fn load(specs: &[String], prefix: &str) -> anyhow::Result<Vec<RepoInput<'static>>> {
    specs
        .iter()
        .enumerate()
        .map(|(n, spec)| {
            let (id, path) = split(spec, n, prefix);
            let path = match path.to_str().and_then(|p| p.strip_prefix("file://")) {
                Some(p) => PathBuf::from(p),
                None => path,
            };
            let packages = read_repo(&path)
                .with_context(|| format!("loading repository {id} ({})", path.display()))?;
            Ok(RepoInput {
                id,
                packages: packages.into_iter().map(std::borrow::Cow::Owned).collect(),
            })
        })
        .collect()
}

/// Prints problems as `dnf repoclosure` does; exit code 1 when there are any.
pub fn run(args: RepoclosureArgs) -> anyhow::Result<ExitCode> {
    let repos = load(&args.repos, "repo")?;
    let lookasides = load(&args.lookaside, "lookaside")?;
    let problems = check(&repos, &lookasides, &args.arch, args.newest)?;
    print!("{}", kiln_depsolve::format_dnf(&problems));
    if problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("Error: Repoclosure ended with unresolved dependencies.");
        Ok(ExitCode::from(1))
    }
}
