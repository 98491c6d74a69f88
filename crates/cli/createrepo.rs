//! `kiln createrepo DIR`: a drop-in for `createrepo_c DIR` with its common flags.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use kiln_repodata::compress::Compression;
use kiln_repodata::createrepo::{Progress, Request, createrepo};
use kiln_repodata::repo::RepoOptions;
use kiln_rpm::ChecksumKind;

#[derive(Debug, clap::Args)]
pub struct CreaterepoArgs {
    /// Directory with the packages (searched recursively for *.rpm).
    pub dir: PathBuf,
    /// Write repodata/ here instead of DIR.
    #[arg(short = 'o', long)]
    pub outputdir: Option<PathBuf>,
    /// Reuse metadata of unchanged packages (same location, size and mtime).
    #[arg(long)]
    pub update: bool,
    /// Take the old metadata from this repository instead (repeatable).
    #[arg(long = "update-md-path")]
    pub update_md_path: Vec<PathBuf>,
    /// Comps file to add as group/group_gz.
    #[arg(short = 'g', long)]
    pub groupfile: Option<PathBuf>,
    /// Only the packages listed in this file (paths relative to DIR).
    #[arg(short = 'i', long)]
    pub pkglist: Option<PathBuf>,
    /// Threads reading packages.
    #[arg(long, default_value_t = 5)]
    pub workers: usize,
    /// Checksum of packages and metadata: md5, sha1, sha224, sha256, sha384, sha512.
    #[arg(short = 's', long, default_value = "sha256")]
    pub checksum: ChecksumKind,
    /// Compression of primary/filelists/other: gz, zstd, xz, none.
    #[arg(long = "compress-type")]
    pub compress_type: Option<Compression>,
    /// Compression of every other metadata file.
    #[arg(long = "general-compress-type")]
    pub general_compress_type: Option<Compression>,
    /// Use xz for all metadata (createrepo_c's --xz).
    #[arg(long)]
    pub xz: bool,
    /// Prefix metadata file names with their checksum (the default).
    #[arg(long = "unique-md-filenames", overrides_with = "simple_md_filenames")]
    pub unique_md_filenames: bool,
    /// Plain metadata file names (primary.xml.gz ...).
    #[arg(long = "simple-md-filenames")]
    pub simple_md_filenames: bool,
    /// xml:base of every package location.
    #[arg(short = 'u', long)]
    pub baseurl: Option<String>,
    /// Leave out files matching this glob (repeatable).
    #[arg(short = 'x', long)]
    pub excludes: Vec<String>,
    /// With --update, trust old metadata without comparing size and mtime.
    #[arg(long = "skip-stat")]
    pub skip_stat: bool,
    /// repomd.xml revision (default: the timestamp).
    #[arg(long)]
    pub revision: Option<String>,
    /// Distro tag, `CPEID,NAME` or `NAME` (repeatable).
    #[arg(long)]
    pub distro: Vec<String>,
    /// Content tag (repeatable).
    #[arg(long)]
    pub content: Vec<String>,
    /// Repo tag (repeatable).
    #[arg(long)]
    pub repo: Vec<String>,
    /// Newest changelog entries kept per package.
    #[arg(long = "changelog-limit", default_value_t = 10)]
    pub changelog_limit: usize,
    /// Exit with 2 when some packages could not be read (createrepo_c's flag).
    #[arg(long = "error-exit-val")]
    pub error_exit_val: bool,
    /// Accepted for compatibility: kiln never writes sqlite databases.
    #[arg(long = "no-database")]
    pub no_database: bool,
    /// Print nothing but errors.
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

fn timestamp_from_env() -> anyhow::Result<Option<u64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(s) if !s.trim().is_empty() => s
            .trim()
            .parse()
            .map(Some)
            .with_context(|| format!("SOURCE_DATE_EPOCH={s:?} is not a number of seconds")),
        _ => Ok(None),
    }
}

pub fn run(args: CreaterepoArgs) -> anyhow::Result<ExitCode> {
    if !args.dir.is_dir() {
        anyhow::bail!("{}: not a directory", args.dir.display());
    }
    let pkglist = match &args.pkglist {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("reading package list {}", p.display()))?
                .lines()
                .map(str::to_owned)
                .collect(),
        ),
        None => None,
    };
    let xz = args.xz.then_some(Compression::Xz);
    let distro_tags = args
        .distro
        .iter()
        .map(|d| match d.split_once(',') {
            Some((cpe, name)) => (Some(cpe.to_owned()), name.to_owned()),
            None => (None, d.clone()),
        })
        .collect();
    let req = Request {
        dir: args.dir.clone(),
        outputdir: args.outputdir.clone(),
        update: args.update,
        update_md_paths: args.update_md_path.clone(),
        groupfile: args.groupfile.clone(),
        pkglist,
        workers: args.workers,
        options: RepoOptions {
            checksum: args.checksum,
            compression: args.compress_type.or(xz).unwrap_or(Compression::Gz),
            general_compression: args.general_compress_type.or(xz).unwrap_or(Compression::Gz),
            unique_names: !args.simple_md_filenames,
            revision: args.revision.clone(),
            timestamp: timestamp_from_env()?,
            changelog_limit: args.changelog_limit,
            content_tags: args.content.clone(),
            repo_tags: args.repo.clone(),
            distro_tags,
        },
        baseurl: args.baseurl.clone(),
        excludes: args.excludes.clone(),
        skip_stat: args.skip_stat,
    };
    let bar = if args.quiet {
        indicatif::ProgressBar::hidden()
    } else if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        b.set_message("reading packages");
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let plain = !args.quiet && !std::io::stderr().is_terminal();
    let report = createrepo(&req, &|p| match p {
        Progress::Found(n) => {
            bar.set_length(n as u64);
            if plain {
                eprintln!("{n} packages found in {}", req.dir.display());
            }
        }
        Progress::Package => bar.inc(1),
        Progress::Written(_) => {}
    })?;
    bar.finish_and_clear();
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    if !args.quiet {
        eprintln!(
            "{} packages ({} read, {} reused), {} bad; metadata in {}",
            report.packages,
            report.read,
            report.reused,
            report.errors.len(),
            req.outputdir
                .as_ref()
                .unwrap_or(&req.dir)
                .join("repodata")
                .display()
        );
    }
    Ok(if args.error_exit_val && !report.errors.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
