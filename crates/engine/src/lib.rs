//! The engine every phase plugs into.
//!
//! A compose is a DAG of [`Phase`]s built from what each one declares it needs. The
//! [`executor`] starts a phase the moment its needs are done, runs independent phases at the
//! same time (CPU work on rayon, external tools on their own threads), and leaves a
//! [`record`] per phase: the fingerprint of its inputs and the digest of every file it produced.
//! Those records are what makes `--resume` exact: a phase re-runs only when its record is missing,
//! failed or stale, and a resumed compose ends byte-identical to one that never failed.

mod cancel;
mod composeinfo;
mod context;
mod deliverables;
pub mod executor;
mod logging;
mod notify;
mod phase;
pub mod plan;
pub mod record;
mod runner;

pub use cancel::CancelToken;
pub use composeinfo::compose_ref;
pub use context::{PhaseContext, Progress};
pub use deliverables::Deliverables;
pub use executor::{Executor, Options, Outcome, RunReport};
pub use logging::{LogSink, PhaseLogLayer};
pub use notify::Notifier;
pub use phase::{Phase, PhaseError, Work};
pub use plan::{Action, Plan, PlanError};
pub use record::RecordedDigests;
pub use runner::{
    CommandOutput, CommandSpec, KojiRunner, KubernetesRunner, LocalRunner, PhaseRunners,
    PodmanRunner, RunError, Runner, find_on_path, install_hint, rpm_packages, version_flag,
};

pub use kiln_compose::{Compose, ComposeInfo, Paths};
pub use kiln_config::Config;

/// What an embedding program (the CLI, a test) hears about a run as it goes.
pub trait Observer: Send + Sync {
    fn phase_started(&self, _phase: &str) {}
    fn phase_finished(&self, _phase: &str, _outcome: &str, _seconds: f64) {}
    /// A phase that was not run, and why.
    fn phase_not_run(&self, _phase: &str, _why: &str) {}
    /// An external command about to run (printed with `--verbose`).
    fn command(&self, _phase: &str, _argv: &str) {}
    fn error(&self, _phase: &str, _message: &str) {}
    /// A progress bar for long per-item work; hidden unless the observer draws one.
    fn progress(&self, _phase: &str, _len: u64, _message: &str) -> indicatif::ProgressBar {
        indicatif::ProgressBar::hidden()
    }
}

/// An observer that says nothing.
pub struct Silent;
impl Observer for Silent {}

#[cfg(test)]
mod tests;
