//! How a command run elsewhere hands its output back: the runners whose commands run on another
//! machine (a Koji builder, a Kubernetes pod) see the compose's top folder at its own path, so
//! the command runs inside a small `sh` script that leaves its stdout, stderr and exit code in
//! files there, and kiln reads them back. Phases get the same [`CommandOutput`] as from a local
//! run, standard output streamed into a sink where they ask for it (an ISO xorriso writes).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{CommandOutput, CommandSpec, RunError, append_log, shell_quote, tail};

static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One command's files, removed when dropped.
pub(crate) struct IoFiles {
    shown: String,
    input: PathBuf,
    out: PathBuf,
    err: PathBuf,
    rc: PathBuf,
    /// What the remote side runs.
    pub script: String,
}

impl IoFiles {
    /// Fresh files under `dir` for `spec`, its standard input written out first.
    pub fn new(dir: &Path, spec: &CommandSpec) -> Result<Self, RunError> {
        let shown = spec.display();
        let io_err = |source| RunError::Output {
            command: shown.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io_err)?;
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base = dir.join(format!("{}-{n}", std::process::id()));
        let [input, out, err, rc] = ["in", "out", "err", "rc"].map(|e| base.with_extension(e));
        let stdin = match &spec.stdin {
            Some(bytes) => {
                std::fs::write(&input, bytes).map_err(io_err)?;
                Some(input.as_path())
            }
            None => None,
        };
        let script = script(spec, stdin, &out, &err, &rc);
        Ok(IoFiles {
            shown,
            input,
            out,
            err,
            rc,
            script,
        })
    }

    /// The command's output once the remote side is done, into the phase log too; `who` names
    /// the remote task in messages. A missing exit code means the task ended before the command.
    pub fn collect(
        &self,
        log: &Path,
        sink: Option<&mut (dyn Write + Send)>,
        who: &str,
    ) -> Result<CommandOutput, RunError> {
        let read = |p: &Path| std::fs::read(p).unwrap_or_default();
        let code = String::from_utf8_lossy(&read(&self.rc))
            .trim()
            .parse::<i32>()
            .ok();
        let stderr = read(&self.err);
        let stdout = match sink {
            Some(sink) => std::fs::File::open(&self.out)
                .and_then(|mut f| std::io::copy(&mut f, sink))
                .and_then(|_| sink.flush())
                .map(|()| Vec::new()),
            None => Ok(read(&self.out)),
        }
        .map_err(|source| RunError::Output {
            command: self.shown.clone(),
            source,
        })?;
        let mut logged = stdout.clone();
        logged.extend_from_slice(&stderr);
        append_log(log, &String::from_utf8_lossy(&logged));
        append_log(log, &format!("[{who}: exit {code:?}]\n"));
        if code.is_none() {
            return Err(RunError::Failed {
                command: self.shown.clone(),
                status: format!("{who} ending before the command did"),
                log: log.to_owned(),
                tail: tail(&stderr),
            });
        }
        Ok(CommandOutput {
            code,
            stdout,
            stderr,
        })
    }
}

impl Drop for IoFiles {
    fn drop(&mut self) {
        for p in [&self.input, &self.out, &self.err, &self.rc] {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The `sh` script a task runs: the command in its folder with its environment, its output into
/// `out`/`err`, its exit code into `rc`, and the task failing when the command fails.
pub fn script(
    cmd: &CommandSpec,
    stdin: Option<&Path>,
    out: &Path,
    err: &Path,
    rc: &Path,
) -> String {
    let q = |s: &std::ffi::OsStr| shell_quote(&s.to_string_lossy());
    let mut line = String::new();
    if let Some(dir) = &cmd.cwd {
        line.push_str(&format!("cd {} && ", q(dir.as_os_str())));
    }
    line.push('(');
    for (k, v) in &cmd.env {
        line.push_str(&format!("{}={} ", k.to_string_lossy(), q(v)));
    }
    line.push_str(&q(&cmd.program));
    for a in &cmd.args {
        line.push(' ');
        line.push_str(&q(a));
    }
    line.push(')');
    if let Some(input) = stdin {
        line.push_str(&format!(" < {}", q(input.as_os_str())));
    }
    line.push_str(&format!(
        " > {} 2> {}; rc=$?; echo $rc > {}; exit $rc",
        q(out.as_os_str()),
        q(err.as_os_str()),
        q(rc.as_os_str())
    ));
    line
}
