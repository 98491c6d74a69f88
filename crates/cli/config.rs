//! `kiln config convert PUNGI.conf`: a pungi config (kobo's syntax, its imports followed) as
//! kiln's YAML on stdout; the options kiln does not take are listed on stderr with their lines.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum ConfigCommand {
    /// Write a pungi config (`*.conf`) as kiln YAML on stdout.
    Convert {
        /// The pungi config.
        config: PathBuf,
    },
}

/// The pungi options kiln leaves out, one line each, on stderr.
pub fn print_unsupported(c: &kiln_config::Converted) {
    for (key, file, line, hint) in &c.unsupported {
        let hint = hint
            .as_ref()
            .map(|h| format!("; did you mean `{h}`?"))
            .unwrap_or_default();
        eprintln!(
            "kiln: {}:{line}: pungi option `{key}` is not supported by kiln and is left out{hint}",
            file.display()
        );
    }
}

pub fn run(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ConfigCommand::Convert { config } => match kiln_config::convert_pungi(&config) {
            Ok(c) => {
                print!("{}", c.yaml);
                print_unsupported(&c);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("kiln: {e}");
                Ok(ExitCode::from(crate::exit::CONFIG_ERROR))
            }
        },
    }
}
