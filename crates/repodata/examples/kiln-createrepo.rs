//! `kiln createrepo` as a standalone binary, built from the CLI module itself,
//! so tests and the bench can drive it without building every phase.

#[path = "../../cli/createrepo.rs"]
mod createrepo;

use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: createrepo::CreaterepoArgs,
}

fn main() -> std::process::ExitCode {
    match createrepo::run(Cli::parse().args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kiln createrepo: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
