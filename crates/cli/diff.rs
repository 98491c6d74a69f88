//! `kiln diff OLD NEW`: what changed between two composes, as text or JSON. The exit code says
//! whether anything did, as diff(1)'s does.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use kiln_inspect::{ComposeView, diff};

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// The earlier compose's folder.
    pub old: PathBuf,
    /// The later compose's folder.
    pub new: PathBuf,
    /// Print JSON for tools instead of text.
    #[arg(long)]
    pub json: bool,
}

/// 0: no differences; 1: differences; 2 (from main's error path): a folder is not a compose.
pub fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let load = |p: &PathBuf| {
        ComposeView::load(p).with_context(|| format!("reading the compose {}", p.display()))
    };
    let (old, new) = match (load(&args.old), load(&args.new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("kiln: {}", crate::render_chain(&e));
            return Ok(ExitCode::from(crate::exit::CONFIG_ERROR));
        }
    };
    let d = diff(&old, &new);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", d.to_text());
    }
    Ok(ExitCode::from(u8::from(!d.is_empty())))
}
