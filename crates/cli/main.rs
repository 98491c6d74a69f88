//! `kiln`: a thin command line over the library crates. Each subcommand lives in its own module;
//! this file only parses arguments and maps outcomes to exit codes.

mod compose;
mod config;
mod console;
mod createrepo;
mod diff;
mod gather;
mod phases;
mod repoclosure;
mod why;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// A compose allocates and frees millions of small strings (headers, paths, XML); glibc's
// allocator spent an eighth of a re-compose's CPU on them, mimalloc far less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes, documented in the README: scripts and schedulers branch on them.
pub mod exit {
    pub const FINISHED: u8 = 0;
    pub const DOOMED: u8 = 1;
    /// Bad command line or invalid config: nothing was run.
    pub const CONFIG_ERROR: u8 = 2;
    pub const FINISHED_INCOMPLETE: u8 = 3;
    pub const TERMINATED: u8 = 4;
}

#[derive(Debug, Parser)]
#[command(
    name = "kiln",
    version,
    about = "A distribution compose engine",
    max_term_width = 100
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a compose (or resume one that failed or was stopped).
    Compose(compose::ComposeArgs),
    /// Print the phase graph and what a compose would run, skip, keep or re-run, and why.
    Plan(compose::PlanArgs),
    /// Write repodata for a folder of RPMs (a drop-in for createrepo_c).
    Createrepo(createrepo::CreaterepoArgs),
    /// Check that every dependency in some repositories is satisfied.
    Repoclosure(repoclosure::RepoclosureArgs),
    /// Gather from bare repositories with the gather phase's depsolver, and print the choice.
    Gather(gather::GatherArgs),
    /// What changed between two composes: packages, images, config (exit 1 when anything did).
    Diff(diff::DiffArgs),
    /// Why a package is in a compose's variants (the chain down to its input), or why not.
    Why(why::WhyArgs),
    /// Write a compose's report (logs/report.html) again: status, timeline, counts, problems.
    Report(why::ReportArgs),
    /// Config tools: `kiln config convert PUNGI.conf` writes a pungi config as kiln YAML.
    Config(config::ConfigArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(exit::CONFIG_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Compose(args) => compose::compose(args),
        Command::Plan(args) => compose::plan(args),
        Command::Createrepo(args) => createrepo::run(args),
        Command::Repoclosure(args) => repoclosure::run(args),
        Command::Gather(args) => gather::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Why(args) => why::run(args),
        Command::Report(args) => why::report(args),
        Command::Config(args) => config::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kiln: error: {}", render_chain(&e));
            ExitCode::from(exit::DOOMED)
        }
    }
}

/// The error and its causes, leaving out a cause whose text the message before it already says
/// (library errors name their source in their own message).
fn render_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}
