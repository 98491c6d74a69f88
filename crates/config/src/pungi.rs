//! pungi's own configs (`*.conf`, kobo's Python-like syntax) as kiln configs: every option kiln
//! knows goes into a YAML document, one option per line (its value as JSON, which YAML reads as
//! it is), with the file and line of the assignment kept so errors point at the pungi config.
//! Options kiln does not take are listed with where they are set.

use std::path::{Path, PathBuf};

use crate::{ConfigError, Problem};

/// A pungi config turned into kiln's YAML.
#[derive(Debug, Clone)]
pub struct Converted {
    pub yaml: String,
    /// For each line of `yaml` (0-based), the pungi file and line it came from.
    pub origins: Vec<(PathBuf, usize)>,
    /// Options kiln does not take: name, file, line, and a known option it may be a typo of.
    pub unsupported: Vec<(String, PathBuf, usize, Option<String>)>,
}

/// Reads the pungi config at `path` (and what it imports) into kiln's YAML.
pub fn convert_pungi(path: &Path) -> Result<Converted, ConfigError> {
    let assignments = kiln_pyconf::parse(path).map_err(|e| {
        let (file, line) = match &e {
            kiln_pyconf::PyConfError::Syntax { file, line, .. } => (file.clone(), *line as u64),
            kiln_pyconf::PyConfError::Read { path, .. } => (path.clone(), 1),
        };
        let message = match &e {
            kiln_pyconf::PyConfError::Syntax { message, .. } => message.clone(),
            other => other.to_string(),
        };
        ConfigError::Invalid(vec![Problem {
            file,
            line,
            column: 1,
            message,
        }])
    })?;
    let known = crate::load::known_keys();
    let mut out = Converted {
        yaml: format!("# converted by kiln from {}\n", path.display()),
        origins: vec![(path.to_owned(), 1)],
        unsupported: Vec::new(),
    };
    for a in assignments {
        if known.contains(&a.key.as_str()) {
            out.yaml.push_str(&format!("{}: {}\n", a.key, a.value));
            out.origins.push((a.file, a.line));
        } else {
            let hint = crate::load::suggest(&a.key, &known).map(str::to_owned);
            out.unsupported.push((a.key, a.file, a.line, hint));
        }
    }
    Ok(out)
}

/// Loads a pungi config as kiln's: unsupported options are left out (`convert_pungi` lists
/// them), every other problem is reported at the pungi file's line.
pub(crate) fn load_pungi(path: &Path) -> Result<crate::Config, ConfigError> {
    let converted = convert_pungi(path)?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_owned());
    crate::load_str(&converted.yaml, path, &base).map_err(|e| match e {
        ConfigError::Invalid(problems) => ConfigError::Invalid(
            problems
                .into_iter()
                .map(|mut p| {
                    if let Some((file, line)) =
                        converted.origins.get(p.line.saturating_sub(1) as usize)
                    {
                        p.file = file.clone();
                        p.line = *line as u64;
                        p.column = 1;
                    }
                    p
                })
                .collect(),
        ),
        other => other,
    })
}
