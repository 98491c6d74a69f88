use kiln_config::Config;

use crate::context::PhaseContext;
use crate::runner::RunError;

/// Where a phase spends its time, so the executor can keep CPU work on rayon's pool and park
/// phases that wait on external tools on threads of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Cpu,
    External,
}

/// One step of a compose. Phases talk to each other only through files under `work/` and
/// `compose/`, never through memory, because a resumed compose runs only some of them.
pub trait Phase: Send + Sync {
    /// The canonical name, equal to the crate's suffix (`createrepo` for kiln-phase-createrepo).
    fn name(&self) -> &'static str;
    /// Phases whose outputs this one reads. It cannot run without them: skipping one of them is an
    /// error at start-up unless `--resume` supplies its output from the compose's records.
    fn needs(&self) -> &'static [&'static str];
    /// Phases this one must follow when they run, without needing them: imagechecksum runs after
    /// every image phase, but a skipped createiso only means fewer images to sum.
    fn after(&self) -> &'static [&'static str] {
        &[]
    }
    /// The config options this phase reads; their values enter its fingerprint. The first is
    /// the phase's own option (`kiwibuild`, `live_media`...): what [`Phase::unsupported`] and
    /// [`Phase::refused`] say is located at the line that sets it.
    fn config_keys(&self) -> &'static [&'static str];
    /// Names of keys, at any depth of its config, whose paths the phase writes to (an ostree
    /// repository): their content is not an input, so it stays out of the fingerprint.
    fn config_outputs(&self) -> &'static [&'static str] {
        &[]
    }
    /// False when nothing is configured for it (pungi's ConfigGuardedPhase): it is then not run and
    /// does not hold up the phases that follow it.
    fn enabled(&self, _config: &Config) -> bool {
        true
    }
    /// init and imagechecksum cannot be skipped, as in pungi.
    fn skippable(&self) -> bool {
        true
    }
    fn work(&self) -> Work {
        Work::Cpu
    }
    /// External programs it runs; their versions enter its fingerprint.
    fn tools(&self, _config: &Config) -> Vec<&'static str> {
        Vec::new()
    }
    /// Why this kiln cannot do what the config asks of this phase, if it cannot: the compose then
    /// refuses to start (exit 2) instead of failing when the phase's turn comes.
    fn unsupported(&self, _config: &Config) -> Option<String> {
        None
    }
    /// What in the config cannot fit this compose's variants (a block's arch no variant it
    /// names has), found before the compose starts (exit 2) like [`Phase::unsupported`].
    fn refused(&self, _config: &Config, _compose: &crate::Compose) -> Option<String> {
        None
    }
    fn run(&self, ctx: &PhaseContext) -> Result<(), PhaseError>;
    /// Called once every phase of the run that needs this one has finished or will not run: a
    /// phase that handed its dependents values in memory (so they need not parse its files
    /// again) frees them here, instead of holding them through the rest of the compose.
    fn dependents_done(&self) {}
}

#[derive(Debug, thiserror::Error)]
pub enum PhaseError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Fs(#[from] kiln_fs::FsError),
    #[error("cancelled")]
    Cancelled,
    /// Anything else, already phrased for the user (name the file, package or variant).
    #[error("{0}")]
    Failed(String),
    #[error("{context}: {source}")]
    Other {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl PhaseError {
    pub fn msg(message: impl Into<String>) -> Self {
        PhaseError::Failed(message.into())
    }

    /// Wraps a library error with what the phase was doing.
    pub fn with(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        PhaseError::Other {
            context: context.into(),
            source: Box::new(source),
        }
    }
}

impl From<std::io::Error> for PhaseError {
    fn from(e: std::io::Error) -> Self {
        PhaseError::Other {
            context: "I/O error".into(),
            source: Box::new(e),
        }
    }
}
