//! `kiln why COMPOSE_DIR PKG`: why a package is in each variant and arch of a compose (the chain
//! of reasons gather recorded, down to the input that started it), or why it is not.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct WhyArgs {
    /// The compose's folder.
    pub compose: PathBuf,
    /// A package name, NVRA or NEVRA.
    pub package: String,
    /// Only this variant.
    #[arg(long)]
    pub variant: Option<String>,
    /// Only this arch.
    #[arg(long)]
    pub arch: Option<String>,
}

/// 0: shipped somewhere asked about; 1: shipped nowhere asked about; 2: not a compose.
pub fn run(args: WhyArgs) -> anyhow::Result<ExitCode> {
    let findings = match kiln_inspect::why(
        &args.compose,
        &args.package,
        args.variant.as_deref(),
        args.arch.as_deref(),
    ) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("kiln: {e}");
            return Ok(ExitCode::from(crate::exit::CONFIG_ERROR));
        }
    };
    if findings.is_empty() {
        eprintln!("kiln: the compose has no variant and arch that match");
        return Ok(ExitCode::from(crate::exit::CONFIG_ERROR));
    }
    let mut shipped = false;
    for f in &findings {
        shipped |= matches!(f, kiln_inspect::Finding::In { .. });
        print!("{}", f.render());
    }
    Ok(ExitCode::from(u8::from(!shipped)))
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The compose's folder.
    pub compose: PathBuf,
}

/// `kiln report COMPOSE_DIR`: writes `logs/report.html` again and prints its path.
pub fn report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    match kiln_inspect::report::write(&args.compose) {
        Ok(path) => {
            println!("{}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("kiln: {e}");
            Ok(ExitCode::from(crate::exit::CONFIG_ERROR))
        }
    }
}
