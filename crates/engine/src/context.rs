use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use kiln_compose::Compose;
use kiln_config::Config;

use crate::cancel::CancelToken;
use crate::deliverables::{DeliverableEntry, Deliverables};
use crate::phase::PhaseError;
use crate::runner::{CommandOutput, CommandSpec, RunError, Runner, tail};
use crate::{Notifier, Observer};

/// A progress bar for per-item work; a no-op when nobody watches.
pub type Progress = indicatif::ProgressBar;

/// What a phase already knows of a file it produced, so the record need not find it out again.
#[derive(Debug)]
pub(crate) struct Known {
    /// `<kind>:<hex>`, as the record writes it.
    pub(crate) digest: String,
    /// Size and mtime (ns), when known too.
    pub(crate) stat: Option<(u64, i128)>,
}

/// What a running phase can see and do.
pub struct PhaseContext<'a> {
    pub config: &'a Config,
    pub compose: &'a Compose,
    pub cancel: &'a CancelToken,
    pub(crate) phase: &'static str,
    pub(crate) span: tracing::Span,
    pub(crate) runner: &'a dyn Runner,
    pub(crate) observer: &'a dyn Observer,
    pub(crate) notifier: &'a Notifier,
    pub(crate) deliverables: &'a Deliverables,
    pub(crate) outputs: Mutex<Vec<PathBuf>>,
    pub(crate) known_digests: Mutex<std::collections::HashMap<PathBuf, Known>>,
    pub(crate) failed: Mutex<Vec<DeliverableEntry>>,
}

impl<'a> PhaseContext<'a> {
    pub fn phase(&self) -> &'static str {
        self.phase
    }

    /// `Err(Cancelled)` once the compose is being stopped; call it between units of work.
    pub fn check_cancelled(&self) -> Result<(), PhaseError> {
        if self.cancel.is_cancelled() {
            Err(PhaseError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Writes a file atomically and records it as this phase's output.
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), PhaseError> {
        kiln_fs::write_atomic(path, bytes)?;
        self.produced(path);
        Ok(())
    }

    /// [`write`](Self::write) of `value` as pretty JSON with a final newline.
    pub fn write_json(&self, path: &Path, value: &impl serde::Serialize) -> Result<(), PhaseError> {
        let mut json = serde_json::to_vec_pretty(value)
            .map_err(|e| PhaseError::with(format!("cannot encode {}", path.display()), e))?;
        json.push(b'\n');
        self.write(path, &json)
    }

    /// Records a file (or every file under a folder) this phase made some other way.
    pub fn produced(&self, path: &Path) {
        if let Ok(mut o) = self.outputs.lock() {
            o.push(path.to_owned());
        }
    }

    /// Enters an arch: until the guard drops, this thread's log events also go to
    /// `logs/<arch>/<phase>.<arch>.log`. Rayon workers do not inherit it; enter it in each task.
    /// The name of the runner this phase's commands go to (`local`, `podman`, `kubernetes`,
    /// `koji`): where a command shares this machine's files and locks, and where not.
    pub fn runner_name(&self) -> &'static str {
        self.runner.name()
    }

    pub fn arch_span(&self, arch: &str) -> tracing::span::EnteredSpan {
        let phase_span = self.span.clone();
        let log = self.compose.paths.log_file(arch, self.phase);
        tracing::info_span!(parent: &phase_span, "arch", arch, arch_log = %log.display()).entered()
    }

    /// Records a file whose sha256 the phase already knows (a linked package, whose checksum
    /// came from its one header read), so the record does not read the file again.
    pub fn produced_with_sha256(&self, path: &Path, hex: &str) {
        self.known(path, format!("sha256:{hex}"), None);
    }

    /// A file whose sha256, size and mtime (ns) the phase knows (a new hard link to a package
    /// pkgset read and stat'ed, which is the package's inode): recorded with neither a read nor
    /// a stat.
    pub fn produced_hard_link(&self, path: &Path, sha256_hex: &str, size: u64, mtime_ns: i128) {
        self.known(path, format!("sha256:{sha256_hex}"), Some((size, mtime_ns)));
    }

    fn known(&self, path: &Path, digest: String, stat: Option<(u64, i128)>) {
        if let Ok(mut k) = self.known_digests.lock() {
            k.insert(path.to_owned(), Known { digest, stat });
        }
        self.produced(path);
    }

    /// `logs/<arch>/<name>.<arch>.log` for a command's output.
    pub fn log_file(&self, arch: &str, name: &str) -> PathBuf {
        self.compose.paths.log_file(arch, name)
    }

    /// Runs an external command through the compose's runner; a non-zero exit is an error that
    /// names the command, the log and the last lines it printed.
    pub fn run(&self, cmd: &Command, log: &Path) -> Result<CommandOutput, PhaseError> {
        let spec = CommandSpec::from_command(cmd);
        let out = self.run_status(cmd, log)?;
        if out.success() {
            Ok(out)
        } else {
            Err(RunError::Failed {
                command: spec.display(),
                status: match out.code {
                    Some(c) => format!("exit code {c}"),
                    None => "a signal".to_owned(),
                },
                log: log.to_owned(),
                tail: tail(if out.stderr.is_empty() {
                    &out.stdout
                } else {
                    &out.stderr
                }),
            }
            .into())
        }
    }

    /// Like [`run`](Self::run), but the command's standard output streams into `sink` (an image
    /// written to stdout, hashed as it passes) instead of into memory.
    pub fn run_into(
        &self,
        cmd: &Command,
        log: &Path,
        sink: &mut (dyn std::io::Write + Send),
    ) -> Result<CommandOutput, PhaseError> {
        self.check_cancelled()?;
        let spec = CommandSpec::from_command(cmd);
        let shown = spec.display();
        tracing::info!("running {shown} (output streamed)");
        self.observer.command(self.phase, &shown);
        let out = self
            .runner
            .run_into(&spec, log, self.cancel, sink)
            .map_err(|e| match e {
                RunError::Cancelled { .. } => PhaseError::Cancelled,
                e => PhaseError::from(e),
            })?;
        if out.success() {
            return Ok(out);
        }
        Err(RunError::Failed {
            command: shown,
            status: match out.code {
                Some(c) => format!("exit code {c}"),
                None => "a signal".to_owned(),
            },
            log: log.to_owned(),
            tail: tail(&out.stderr),
        }
        .into())
    }

    /// Like [`run`](Self::run) but hands back any exit code, for tools whose codes carry meaning.
    pub fn run_status(&self, cmd: &Command, log: &Path) -> Result<CommandOutput, PhaseError> {
        self.check_cancelled()?;
        let spec = CommandSpec::from_command(cmd);
        self.run_spec(&spec, log)
    }

    pub fn run_spec(&self, spec: &CommandSpec, log: &Path) -> Result<CommandOutput, PhaseError> {
        let shown = spec.display();
        tracing::info!("running {shown}");
        self.observer.command(self.phase, &shown);
        self.runner
            .run(spec, log, self.cancel)
            .map_err(|e| match e {
                RunError::Cancelled { .. } => PhaseError::Cancelled,
                e => e.into(),
            })
    }

    /// pungi's `failable`: runs `work` for one deliverable; when it fails and
    /// `failable_deliverables` allows it for this variant/arch, the failure is logged and recorded
    /// (the compose ends FINISHED_INCOMPLETE) and `Ok(None)` comes back.
    pub fn failable<T>(
        &self,
        deliverable: &str,
        variant: &str,
        arch: &str,
        work: impl FnOnce() -> Result<T, PhaseError>,
    ) -> Result<Option<T>, PhaseError> {
        self.failable_with(deliverable, variant, arch, None, false, work)
    }

    /// [`failable`](Self::failable) with a subvariant, and `also_failable` for what a phase's own
    /// block allows on top of `failable_deliverables` (pungi's per-block `failable` arch lists).
    pub fn failable_with<T>(
        &self,
        deliverable: &str,
        variant: &str,
        arch: &str,
        subvariant: Option<&str>,
        also_failable: bool,
        work: impl FnOnce() -> Result<T, PhaseError>,
    ) -> Result<Option<T>, PhaseError> {
        let can_fail = also_failable || self.config.can_fail(variant, arch, deliverable);
        let entry = DeliverableEntry {
            kind: deliverable.to_owned(),
            variant: variant.to_owned(),
            arch: arch.to_owned(),
            subvariant: subvariant.map(ToOwned::to_owned),
        };
        self.deliverables.attempt(&entry, can_fail);
        match work() {
            Ok(v) => Ok(Some(v)),
            Err(PhaseError::Cancelled) => Err(PhaseError::Cancelled),
            Err(e) if can_fail => {
                tracing::warn!(
                    "[FAIL] {deliverable} ({variant}.{arch}) failed, but going on anyway: {e}"
                );
                self.observer.error(
                    self.phase,
                    &format!("{deliverable} for {variant}.{arch} failed (failable): {e}"),
                );
                if let Ok(mut f) = self.failed.lock() {
                    f.push(entry.clone());
                }
                self.deliverables.fail(entry);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// pungi's `log_failed_task`: one arch of a deliverable failed while the task as a whole
    /// went on (a Koji child task of a failable arch). It is recorded as failed, so the compose
    /// ends FINISHED_INCOMPLETE.
    pub fn failed_arch(
        &self,
        deliverable: &str,
        variant: &str,
        arch: &str,
        subvariant: Option<&str>,
        why: &str,
    ) {
        let entry = DeliverableEntry {
            kind: deliverable.to_owned(),
            variant: variant.to_owned(),
            arch: arch.to_owned(),
            subvariant: subvariant.map(ToOwned::to_owned),
        };
        self.deliverables.attempt(&entry, true);
        tracing::warn!(
            "[FAIL] {deliverable} ({variant}.{arch}) failed, but going on anyway: {why}"
        );
        self.observer.error(
            self.phase,
            &format!("{deliverable} for {variant}.{arch} failed (failable): {why}"),
        );
        if let Ok(mut f) = self.failed.lock() {
            f.push(entry.clone());
        }
        self.deliverables.fail(entry);
    }

    /// A progress bar for long per-item work (hidden when stderr is not a terminal).
    pub fn progress(&self, len: u64, message: &str) -> Progress {
        self.observer.progress(self.phase, len, message)
    }

    /// Sends a notification message (e.g. createiso-imagedone) to `notification_script`.
    pub fn notify(&self, message: &str, payload: serde_json::Value) {
        self.notifier.send(self.runner, message, payload);
    }
}
