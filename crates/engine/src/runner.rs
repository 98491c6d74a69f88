//! Running external tools. [`Runner`] is the seam where pungi has runroot: the local runner comes
//! first, and a podman, mock, Koji runroot or Kubernetes Job runner fits the same trait without
//! any phase changing, because phases hand over a [`CommandSpec`] and never spawn processes.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cancel::CancelToken;

/// `run` and `run_into` of a runner whose `exec(spec, log, cancel, Option<sink>)` does both.
macro_rules! run_through_exec {
    () => {
        fn run(
            &self,
            spec: &CommandSpec,
            log: &Path,
            cancel: &CancelToken,
        ) -> Result<CommandOutput, RunError> {
            self.exec(spec, log, cancel, None)
        }

        fn run_into(
            &self,
            spec: &CommandSpec,
            log: &Path,
            cancel: &CancelToken,
            sink: &mut (dyn Write + Send),
        ) -> Result<CommandOutput, RunError> {
            self.exec(spec, log, cancel, Some(sink))
        }
    };
}

mod io_files;
mod kubernetes;

pub use kubernetes::KubernetesRunner;

/// A command as data: what a runner needs to run it anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(OsString, OsString)>,
    pub stdin: Option<Vec<u8>>,
}

impl CommandSpec {
    pub fn new(program: impl Into<OsString>) -> Self {
        CommandSpec {
            program: program.into(),
            args: Vec::new(),
            cwd: None,
            env: Vec::new(),
            stdin: None,
        }
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Takes program, arguments, folder and environment of a `std::process::Command`.
    pub fn from_command(cmd: &Command) -> Self {
        CommandSpec {
            program: cmd.get_program().to_owned(),
            args: cmd.get_args().map(ToOwned::to_owned).collect(),
            cwd: cmd.get_current_dir().map(ToOwned::to_owned),
            env: cmd
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned())))
                .collect(),
            stdin: None,
        }
    }

    /// The command line as a shell would read it, for logs and `--verbose`.
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| shell_quote(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn program_name(&self) -> String {
        Path::new(&self.program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.program.to_string_lossy().into_owned())
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[derive(Debug, Clone)]
pub struct CommandOutput {
    /// Exit code; None when killed by a signal.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl CommandOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The first line of stdout, or of stderr when stdout is empty (where some tools print
    /// their version), trimmed.
    pub fn first_line(&self) -> String {
        first_line(&self.stdout, &self.stderr)
    }
}

pub(crate) fn first_line(stdout: &[u8], stderr: &[u8]) -> String {
    let text = if stdout.is_empty() { stderr } else { stdout };
    String::from_utf8_lossy(text)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// The argument that makes `tool` print its version: `--version`, but for lorax, whose
/// `--version` is the version of the product it builds.
pub fn version_flag(tool: &str) -> &'static str {
    if tool == "lorax" { "-V" } else { "--version" }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("`{tool}` is not installed or not on PATH; {hint}")]
    MissingTool { tool: String, hint: String },
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed with {status}; its output is in {log}{tail}")]
    Failed {
        command: String,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("cannot store the output of `{command}`: {source}")]
    Output {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` was stopped because the compose was cancelled")]
    Cancelled { command: String },
    #[error("cannot write command log {path}: {source}")]
    Log {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The RPM packages that hold a tool (what a Koji runroot task asks its buildroot for).
pub fn rpm_packages(tool: &str) -> Vec<String> {
    packages(tool)
        .1
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// How to get a tool, for the error a release engineer sees when it is missing.
pub fn install_hint(tool: &str) -> String {
    let (deb, rpm) = packages(tool);
    match deb {
        Some(deb) => format!(
            "install it with `apt-get install {deb}` (Debian/Ubuntu) or `dnf install {rpm}` (Fedora/RHEL)"
        ),
        None => format!(
            "install it with `dnf install {rpm}` (Fedora/RHEL; Debian has no package for it)"
        ),
    }
}

/// (Debian packages, RPM packages) of a tool.
fn packages(tool: &str) -> (Option<&str>, &str) {
    match tool {
        "xorriso" | "xorrisofs" => (Some("xorriso"), "xorriso"),
        "implantisomd5" | "checkisomd5" => (Some("isomd5sum"), "isomd5sum"),
        "isohybrid" => (Some("syslinux-utils"), "syslinux"),
        "createrepo_c" | "modifyrepo_c" => (Some("createrepo-c"), "createrepo_c"),
        "dnf" => (Some("dnf dnf-plugins-core"), "dnf dnf-plugins-core"),
        "git" => (Some("git"), "git"),
        "mtype" | "mcopy" | "mdir" | "mformat" => (Some("mtools"), "mtools"),
        "lorax" => (None, "lorax"),
        "rpm-ostree" => (None, "rpm-ostree"),
        "kiwi-ng" => (Some("kiwi"), "kiwi-cli"),
        "qemu-img" => (Some("qemu-utils"), "qemu-img"),
        "sfdisk" => (Some("fdisk"), "util-linux"),
        "sgdisk" => (Some("gdisk"), "gdisk"),
        "mksquashfs" => (Some("squashfs-tools"), "squashfs-tools"),
        "mkfs.vfat" => (Some("dosfstools"), "dosfstools"),
        "ostree" => (Some("ostree"), "ostree"),
        "podman" => (Some("podman"), "podman"),
        "kubectl" => (Some("kubernetes-client"), "kubernetes-client"),
        other => (Some(other), other),
    }
}

/// Runs commands somewhere. Output goes to `log` as well as back to the caller.
pub trait Runner: Send + Sync {
    fn name(&self) -> &'static str;
    /// Whether `tool` can be run here; asked for every tool of every phase that will run, before
    /// the compose starts. A runner that cannot tell (a remote one) says yes and lets `run` fail.
    fn has_tool(&self, _tool: &str) -> bool {
        true
    }
    fn run(
        &self,
        cmd: &CommandSpec,
        log: &Path,
        cancel: &CancelToken,
    ) -> Result<CommandOutput, RunError>;
    /// The runner `phase`'s commands go to (`runroot_method` per phase); itself for a runner
    /// that is not a router.
    fn for_phase(&self, _phase: &str) -> Option<&dyn Runner> {
        None
    }
    /// Like `run`, but standard output goes to `sink` as it comes instead of into memory or the
    /// log (an image a tool writes to stdout). The returned output's `stdout` is empty. This
    /// default holds the output in memory first; runners that can stream override it.
    fn run_into(
        &self,
        cmd: &CommandSpec,
        log: &Path,
        cancel: &CancelToken,
        sink: &mut (dyn Write + Send),
    ) -> Result<CommandOutput, RunError> {
        let out = self.run(cmd, log, cancel)?;
        sink.write_all(&out.stdout)
            .and_then(|()| sink.flush())
            .map_err(|source| RunError::Output {
                command: cmd.display(),
                source,
            })?;
        Ok(CommandOutput {
            stdout: Vec::new(),
            ..out
        })
    }
}

/// The executable file named `tool` in a `PATH` folder (or `tool` itself, when it is a path):
/// the one lookup of the project, used by the local runner's start-up check and the tests.
pub fn find_on_path(tool: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if tool.contains('/') {
        return executable(Path::new(tool)).then(|| PathBuf::from(tool));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| executable(p))
}

/// Runs commands on this machine, in their own process group so a cancel stops their children too.
#[derive(Debug, Default)]
pub struct LocalRunner;

impl Runner for LocalRunner {
    fn name(&self) -> &'static str {
        "local"
    }

    fn has_tool(&self, tool: &str) -> bool {
        find_on_path(tool).is_some()
    }

    run_through_exec!();
}

impl LocalRunner {
    fn exec(
        &self,
        spec: &CommandSpec,
        log: &Path,
        cancel: &CancelToken,
        sink: Option<&mut (dyn Write + Send)>,
    ) -> Result<CommandOutput, RunError> {
        let shown = spec.display();
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir).map_err(|source| RunError::Log {
                path: log.to_owned(),
                source,
            })?;
        }
        let log_err = |source| RunError::Log {
            path: log.to_owned(),
            source,
        };
        let mut logf = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(log_err)?;
        writeln!(logf, "$ {shown}").map_err(log_err)?;
        let logf = Arc::new(Mutex::new(logf));

        let mut cmd = Command::new(&spec.program);
        cmd.args(&spec.args)
            .stdin(if spec.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &spec.cwd {
            cmd.current_dir(dir);
        }
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                RunError::MissingTool {
                    tool: spec.program_name(),
                    hint: install_hint(&spec.program_name()),
                }
            } else {
                RunError::Spawn {
                    command: shown.clone(),
                    source,
                }
            }
        })?;
        if let (Some(input), Some(mut stdin)) = (&spec.stdin, child.stdin.take()) {
            let input = input.clone();
            std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
        }
        // Scoped threads, so stdout can go into a borrowed sink while this thread watches for
        // the end of the command and for a cancel.
        let capture = |stream: Option<Box<dyn Read + Send>>, log: Arc<Mutex<std::fs::File>>| {
            let mut captured = Vec::new();
            if let Some(mut s) = stream {
                let mut buf = [0u8; 8192];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    captured.extend_from_slice(&buf[..n]);
                    if let Ok(mut f) = log.lock() {
                        let _ = f.write_all(&buf[..n]);
                    }
                }
            }
            captured
        };
        let stdout = child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>);
        let pid = child.id();
        std::thread::scope(|scope| {
            let out = match sink {
                None => {
                    let log = logf.clone();
                    scope.spawn(move || Ok(capture(stdout, log)))
                }
                Some(sink) => scope.spawn(move || {
                    let copied = match stdout {
                        Some(mut s) => std::io::copy(&mut s, sink).and_then(|_| sink.flush()),
                        None => Ok(()),
                    };
                    // A sink that fails (a full disk) must not leave the tool blocked on a pipe.
                    if copied.is_err() {
                        kill_group(pid);
                    }
                    copied.map(|()| Vec::new())
                }),
            };
            let err = {
                let log = logf.clone();
                scope.spawn(move || capture(stderr, log))
            };
            let status = loop {
                if cancel.is_cancelled() {
                    kill_group(pid);
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = out.join();
                    let _ = err.join();
                    return Err(RunError::Cancelled {
                        command: shown.clone(),
                    });
                }
                match child.try_wait() {
                    Ok(Some(status)) => break status,
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                    Err(source) => {
                        return Err(RunError::Spawn {
                            command: shown.clone(),
                            source,
                        });
                    }
                }
            };
            let stdout = match out.join() {
                Ok(Ok(bytes)) => bytes,
                Ok(Err(source)) => {
                    return Err(RunError::Output {
                        command: shown.clone(),
                        source,
                    });
                }
                Err(_) => Vec::new(),
            };
            let stderr = err.join().unwrap_or_default();
            if let Ok(mut f) = logf.lock() {
                let _ = writeln!(f, "[exit: {status}]");
            }
            Ok(CommandOutput {
                code: status.code(),
                stdout,
                stderr,
            })
        })
    }
}

/// Kills the whole process group of a child: tools like lorax or xorriso start helpers of their
/// own, and a cancelled compose must not leave them running.
fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The last lines of a failed command's stderr, so the error is useful without opening the log.
pub(crate) fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let start = lines.len().saturating_sub(5);
    format!(":\n    {}", lines[start..].join("\n    "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_captured_and_logged() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("x.log");
        let spec = CommandSpec::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]);
        let out = LocalRunner.run(&spec, &log, &CancelToken::new()).unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, b"out\n");
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(
            logged.starts_with("$ sh -c 'echo out; echo err >&2; exit 3'\n"),
            "{logged}"
        );
        assert!(logged.contains("err\n") && logged.contains("[exit: exit status: 3]"));
    }

    #[test]
    fn a_missing_tool_is_named_with_how_to_install_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = LocalRunner
            .run(
                &CommandSpec::new("xorriso-that-does-not-exist"),
                &dir.path().join("l"),
                &CancelToken::new(),
            )
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("`xorriso-that-does-not-exist` is not installed")
        );
    }

    #[test]
    fn cancel_kills_the_child_and_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let cancel = CancelToken::new();
        let c2 = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            c2.cancel();
        });
        let script = format!("(sleep 1; touch {}) & sleep 30", marker.display());
        let start = std::time::Instant::now();
        let err = LocalRunner
            .run(
                &CommandSpec::new("sh").args(["-c", &script]),
                &dir.path().join("l"),
                &cancel,
            )
            .unwrap_err();
        assert!(matches!(err, RunError::Cancelled { .. }));
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "a grandchild outlived the cancel");
    }
}

/// Runs each command in its own podman container (`podman run --rm`), empanadas' way: the paths in
/// `mounts` (the compose's top folder first) bind-mounted at the same paths, no network unless
/// `network`, the command's working folder and environment kept. Standard output streams through
/// `podman run` as from a local command (an ISO xorriso writes to stdout), and stopping `podman
/// run` (cancellation kills its process group) stops and removes the container.
#[derive(Debug, Clone)]
pub struct PodmanRunner {
    pub image: String,
    pub mounts: Vec<PathBuf>,
    pub network: bool,
    /// More `podman run` arguments (`--runtime runc`, `--ulimit ...`, resources).
    pub args: Vec<String>,
}

/// Names of this process's containers: `kiln-<pid>-<n>`, so a cancelled one can be removed.
static CONTAINERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl PodmanRunner {
    /// A fresh container name.
    fn name() -> String {
        let n = CONTAINERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("kiln-{}-{n}", std::process::id())
    }

    /// The `podman run` command that runs `cmd` in a container named `name`.
    pub fn wrap(&self, cmd: &CommandSpec, name: &str) -> CommandSpec {
        let mut c = CommandSpec::new("podman").args(["run", "--rm", "--name", name]);
        if cmd.stdin.is_some() {
            c = c.arg("-i");
        }
        if !self.network {
            c = c.arg("--network=none");
        }
        for m in &self.mounts {
            let mut v = m.as_os_str().to_owned();
            v.push(":");
            v.push(m.as_os_str());
            c = c.arg("-v").arg(v);
        }
        if let Some(cwd) = &cmd.cwd {
            c = c.arg("-w").arg(cwd.as_os_str());
        }
        for (k, v) in &cmd.env {
            let mut e = k.clone();
            e.push("=");
            e.push(v);
            c = c.arg("-e").arg(e);
        }
        c = c
            .args(self.args.iter().map(OsString::from))
            .arg(self.image.as_str())
            .arg(cmd.program.clone())
            .args(cmd.args.iter().cloned());
        c.cwd = cmd.cwd.clone();
        c.stdin = cmd.stdin.clone();
        c
    }
}

impl Runner for PodmanRunner {
    fn name(&self) -> &'static str {
        "podman"
    }

    /// Asks the image (`command -v` in a container), so a missing tool stops the compose before
    /// it starts, as a locally missing one does.
    fn has_tool(&self, tool: &str) -> bool {
        let probe = CommandSpec::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool} >/dev/null"));
        // Before the compose folder exists: the image alone, nothing mounted.
        let bare = PodmanRunner {
            mounts: Vec::new(),
            ..self.clone()
        };
        let spec = bare.wrap(&probe, &Self::name());
        std::process::Command::new(&spec.program)
            .args(&spec.args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    run_through_exec!();
}

impl PodmanRunner {
    /// The command in a container of its own, through the local runner.
    fn exec(
        &self,
        spec: &CommandSpec,
        log: &Path,
        cancel: &CancelToken,
        sink: Option<&mut (dyn Write + Send)>,
    ) -> Result<CommandOutput, RunError> {
        let name = Self::name();
        let r = LocalRunner.exec(&self.wrap(spec, &name), log, cancel, sink);
        Self::reap(&name, &r);
        r
    }

    /// Killing `podman run` (a cancel kills its process group) leaves the container running
    /// under conmon: remove it, so a stopped compose leaves nothing behind.
    fn reap(name: &str, r: &Result<CommandOutput, RunError>) {
        if matches!(r, Err(RunError::Cancelled { .. })) {
            let _ = Command::new("podman")
                .args(["rm", "--force", "--time", "0", name])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// `runroot_method` per phase: each phase's commands go to its runner, the rest to `default`.
pub struct PhaseRunners {
    pub default: Box<dyn Runner>,
    pub per_phase: std::collections::BTreeMap<String, Box<dyn Runner>>,
}

impl Runner for PhaseRunners {
    fn name(&self) -> &'static str {
        self.default.name()
    }
    fn has_tool(&self, tool: &str) -> bool {
        self.default.has_tool(tool)
    }
    fn for_phase(&self, phase: &str) -> Option<&dyn Runner> {
        Some(
            self.per_phase
                .get(phase)
                .map(|r| r.as_ref())
                .unwrap_or(self.default.as_ref()),
        )
    }
    fn run(
        &self,
        spec: &CommandSpec,
        log: &Path,
        cancel: &CancelToken,
    ) -> Result<CommandOutput, RunError> {
        self.default.run(spec, log, cancel)
    }
    fn run_into(
        &self,
        spec: &CommandSpec,
        log: &Path,
        cancel: &CancelToken,
        sink: &mut (dyn Write + Send),
    ) -> Result<CommandOutput, RunError> {
        self.default.run_into(spec, log, cancel, sink)
    }
}

/// Runs each command as a Koji runroot task, as pungi's `runroot_method: koji` does: `koji
/// --profile=P runroot --nowait --task-id --new-chroot --use-shell [--channel-override=C]
/// [--weight=W] --mount=<top> TAG ARCH '<script>'`, then `koji watch-task` until it ends
/// (a cancel runs `koji cancel`). The builder mounts the compose's top folder at its own path, so
/// the script leaves the command's stdout, stderr and exit code in `io_dir` there, and kiln reads
/// them back: phases get the same [`CommandOutput`] as from a local run. The task ID goes into the
/// phase log. The arch of a task is its log's folder (`logs/<arch>/`), `default_arch` for global
/// and source work.
#[derive(Debug, Clone)]
pub struct KojiRunner {
    pub profile: String,
    pub tag: String,
    pub channel: Option<String>,
    pub weight: Option<u32>,
    /// Packages the runroot's buildroot must have (`--package`): those of the phase's tools.
    pub packages: Vec<String>,
    /// Mounted read-write in the runroot (`--mount`); the compose's top folder first.
    pub mounts: Vec<PathBuf>,
    /// Under the compose's top folder: where the tasks leave their output.
    pub io_dir: PathBuf,
    pub default_arch: String,
}

impl KojiRunner {
    fn koji(&self) -> CommandSpec {
        CommandSpec::new("koji").arg(format!("--profile={}", self.profile))
    }

    /// The `koji runroot` submission of `script` on `arch`.
    pub fn submit_command(&self, arch: &str, script: &str) -> CommandSpec {
        let mut c = self.koji().args([
            "runroot",
            "--nowait",
            "--task-id",
            "--new-chroot",
            "--use-shell",
        ]);
        if let Some(ch) = &self.channel {
            c = c.arg(format!("--channel-override={ch}"));
        }
        if let Some(w) = self.weight {
            c = c.arg(format!("--weight={w}"));
        }
        for p in &self.packages {
            c = c.arg(format!("--package={p}"));
        }
        for m in &self.mounts {
            let mut a = OsString::from("--mount=");
            a.push(m.as_os_str());
            c = c.arg(a);
        }
        c.args([self.tag.as_str(), arch, script])
    }

    fn exec(
        &self,
        spec: &CommandSpec,
        log: &Path,
        cancel: &CancelToken,
        sink: Option<&mut (dyn Write + Send)>,
    ) -> Result<CommandOutput, RunError> {
        let shown = spec.display();
        let io = io_files::IoFiles::new(&self.io_dir, spec)?;
        let arch = arch_of(log, &self.default_arch);
        let submitted = LocalRunner.run(&self.submit_command(&arch, &io.script), log, cancel)?;
        let task = String::from_utf8_lossy(&submitted.stdout)
            .lines()
            .next()
            .map(str::trim)
            .filter(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned);
        let Some(task) = task.filter(|_| submitted.success()) else {
            return Err(RunError::Failed {
                command: format!("koji runroot for `{shown}`"),
                status: "no task ID".into(),
                log: log.to_owned(),
                tail: tail(&submitted.stderr),
            });
        };
        append_log(
            log,
            &format!("koji runroot task {task} ({arch}): {shown}\n"),
        );
        let watched = LocalRunner.run(
            &self.koji().args(["watch-task", "--quiet", task.as_str()]),
            log,
            cancel,
        );
        if let Err(RunError::Cancelled { .. }) = &watched {
            let _ = LocalRunner.run(
                &self.koji().args(["cancel", task.as_str()]),
                log,
                &CancelToken::new(),
            );
            append_log(log, &format!("koji task {task} cancelled\n"));
        }
        watched?;
        io.collect(log, sink, &format!("Koji task {task}"))
    }
}

/// The arch of a remote task: its log's folder (`logs/<arch>/`), `default` for global and
/// source work.
fn arch_of(log: &Path, default: &str) -> String {
    match log
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str())
    {
        Some(a) if a != "global" && a != "src" => a.to_owned(),
        _ => default.to_owned(),
    }
}

fn append_log(log: &Path, text: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = f.write_all(text.as_bytes());
    }
}

impl Runner for KojiRunner {
    fn name(&self) -> &'static str {
        "koji"
    }

    /// The builders cannot be asked before the compose starts: say yes and let a task fail.
    /// (The `koji` client itself is checked where the runner is made.)
    fn has_tool(&self, _tool: &str) -> bool {
        true
    }

    run_through_exec!();
}
