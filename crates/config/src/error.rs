use std::fmt;
use std::path::PathBuf;

/// One thing wrong with a config, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Every problem found, not only the first: fixing a config should take one round.
    #[error("{}", render(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid(p) => p,
            ConfigError::Read { .. } => &[],
        }
    }
}

fn render(problems: &[Problem]) -> String {
    let mut out = String::from("the config is not valid:");
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.to_string());
    }
    out
}

/// The file a config was loaded from and where its top-level options are set.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub(crate) file: PathBuf,
    pub(crate) keys: std::collections::BTreeMap<String, (u64, u64)>,
}

impl Origin {
    /// `file:line:column` of a top-level option, when the file sets it.
    pub fn locate(&self, key: &str) -> Option<String> {
        self.keys
            .get(key)
            .map(|(line, column)| format!("{}:{line}:{column}", self.file.display()))
    }
}
