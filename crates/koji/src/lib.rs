//! The Koji client the phases share (pkgset's tags, the image phases' tasks): hub calls through
//! the real `koji` CLI (`koji --profile=P call --json`, so the profile's server, auth and
//! options apply as they do for a release engineer's own `koji`), task watching with `koji
//! watch-task`, and the Koji volume's layout under the profile's `topdir` (read with the koji
//! library's own config reader). Every command goes through the phase's runner and log.

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_engine::{PhaseContext, PhaseError};
use serde_json::Value;

/// Koji's task states (`koji.TASK_STATES`).
pub const TASK_CLOSED: u64 = 2;
pub const TASK_CANCELED: u64 = 3;
pub const TASK_FAILED: u64 = 5;

/// A client for one phase, logging to `log`.
pub struct Koji<'a> {
    ctx: &'a PhaseContext<'a>,
    profile: String,
    log: PathBuf,
}

impl<'a> Koji<'a> {
    pub fn new(ctx: &'a PhaseContext<'a>, log: PathBuf) -> Self {
        Koji {
            ctx,
            profile: ctx
                .config
                .koji_profile
                .clone()
                .unwrap_or_else(|| "koji".into()),
            log,
        }
    }

    /// `koji --profile=P`.
    pub fn command(&self) -> Command {
        let mut c = Command::new("koji");
        c.arg(format!("--profile={}", self.profile));
        c
    }

    /// A hub call with JSON arguments and keyword arguments; its JSON answer.
    pub fn call(
        &self,
        method: &str,
        args: &[Value],
        kwargs: &[(&str, Value)],
    ) -> Result<Value, PhaseError> {
        let mut c = self.command();
        c.args(["call", "--json", method]);
        for a in args {
            c.arg(a.to_string());
        }
        for (k, v) in kwargs {
            c.arg(format!("{k}={v}"));
        }
        let out = self.ctx.run(&c, &self.log)?;
        serde_json::from_slice(&out.stdout).map_err(|e| {
            PhaseError::msg(format!(
                "koji {method} answered something that is not JSON ({e}); see {}",
                self.log.display()
            ))
        })
    }

    /// The task of `key` (`<phase>-<V>-<n>`): the one an earlier run of this compose submitted,
    /// when the hub still has it open or closed, else a new one from `submit`, recorded in
    /// `work/global/koji-tasks/<key>.json` before it is waited for. So a compose stopped while a
    /// task runs picks that task up on `--resume` instead of building the image again, and a
    /// task that failed or was cancelled is submitted anew.
    pub fn task(
        &self,
        key: &str,
        submit: impl FnOnce() -> Result<u64, PhaseError>,
    ) -> Result<u64, PhaseError> {
        let record = self
            .ctx
            .compose
            .paths
            .work_dir("global")
            .join("koji-tasks")
            .join(format!("{key}.json"));
        let recorded = std::fs::read(&record)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v["task"].as_u64());
        if let Some(id) = recorded {
            let info = self.call("getTaskInfo", &[id.into()], &[])?;
            match info["state"].as_u64() {
                Some(s) if s != TASK_CANCELED && s != TASK_FAILED => {
                    tracing::info!("{key}: Koji task {id} of an earlier run, not submitted again");
                    return Ok(id);
                }
                _ => tracing::info!(
                    "{key}: Koji task {id} of an earlier run failed: submitting anew"
                ),
            }
        }
        let id = submit()?;
        // Not a phase output: those of an attempt that did not finish are removed before the
        // next, and this file is what the next attempt must find.
        if let Some(dir) = record.parent() {
            std::fs::create_dir_all(dir)?;
        }
        kiln_fs::write_atomic(&record, format!("{{\"task\": {id}}}\n").as_bytes())?;
        Ok(id)
    }

    /// Waits for a task with `koji watch-task`, its progress in `log`; whether it succeeded.
    pub fn watch(&self, task: u64, log: &Path) -> Result<bool, PhaseError> {
        let mut c = self.command();
        c.args(["watch-task", &task.to_string()]);
        Ok(self.ctx.run_status(&c, log)?.success())
    }

    /// The profile's `topdir`: the Koji volume's top folder.
    pub fn topdir(&self) -> Result<PathBuf, PhaseError> {
        let mut py = Command::new("python3");
        py.args([
            "-c",
            "import koji, sys; print(koji.read_config(sys.argv[1])['topdir'])",
            &self.profile,
        ]);
        let out = self.ctx.run(&py, &self.log)?;
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if dir.is_empty() {
            return Err(PhaseError::msg(format!(
                "koji profile {} names no topdir (the Koji volume's top folder)",
                self.profile
            )));
        }
        Ok(PathBuf::from(dir))
    }

    /// The image files of a finished image task, by arch, as pungi's `get_image_paths` finds
    /// them: each closed image child task's result names its build and files, which lie in the
    /// build's `images/` folder on the volume.
    pub fn image_paths(&self, task: u64) -> Result<Vec<(String, PathBuf)>, PhaseError> {
        let top = self.topdir()?;
        let children = self.call(
            "getTaskChildren",
            &[task.into()],
            &[("request", true.into())],
        )?;
        let mut out = Vec::new();
        for child in children.as_array().into_iter().flatten() {
            let method = child["method"].as_str().unwrap_or_default();
            if !IMAGE_METHODS.contains(&method) || child["state"].as_u64() != Some(TASK_CLOSED) {
                continue;
            }
            let Some(id) = child["id"].as_u64() else {
                continue;
            };
            let result = self.call("getTaskResult", &[id.into()], &[])?;
            let field = |k: &str| result[k].as_str().unwrap_or_default().to_owned();
            // A scratch image has no build: its files stay in the task's work folder.
            let scratch = child["request"]
                .as_array()
                .and_then(|r| r.last())
                .and_then(|o| o["scratch"].as_bool())
                .unwrap_or(false);
            let dir = if scratch {
                task_work_dir(&top, id)
            } else {
                image_build_dir(&top, &field("name"), &field("version"), &field("release"))
            };
            let arch = field("arch");
            for f in result["files"].as_array().into_iter().flatten() {
                if let Some(f) = f.as_str() {
                    out.push((arch.clone(), dir.join(f)));
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

impl Koji<'_> {
    /// The arches of a task's image children that failed (their arches may fail: the task
    /// itself went on), as pungi's `get_image_paths` callback reports them.
    pub fn failed_image_arches(&self, task: u64) -> Result<Vec<String>, PhaseError> {
        let children = self.call(
            "getTaskChildren",
            &[task.into()],
            &[("request", true.into())],
        )?;
        let mut out: Vec<String> = children
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| IMAGE_METHODS.contains(&c["method"].as_str().unwrap_or_default()))
            .filter(|c| c["state"].as_u64() == Some(TASK_FAILED))
            .filter_map(|c| c["arch"].as_str().map(str::to_owned))
            .collect();
        out.sort();
        Ok(out)
    }
}

/// A task's repositories as pungi resolves them: the block's, then the variant's own tree
/// unless listed (or the variant is empty); a variant UID becomes that variant's os tree with
/// `arch_var` (`$arch` or `$basearch`) for Koji to fill in.
pub fn repo_urls(
    ctx: &PhaseContext,
    variant: &kiln_variants::Variant,
    repos: &[String],
    arch_var: &str,
) -> Vec<String> {
    let mut names = repos.to_vec();
    if !variant.is_empty && !names.contains(&variant.uid) {
        names.push(variant.uid.clone());
    }
    names
        .iter()
        .map(|r| match ctx.compose.variants.get(r) {
            Some(v) => tree_url(ctx, &v.uid, arch_var),
            None => r.clone(),
        })
        .collect()
}

/// A variant's os tree with `arch_var` in place of the arch, as Koji tasks take it.
pub fn tree_url(ctx: &PhaseContext, uid: &str, arch_var: &str) -> String {
    ctx.compose
        .paths
        .compose_dir()
        .join(uid)
        .join(arch_var)
        .join("os")
        .display()
        .to_string()
}

/// A job of an image phase: one Koji task, submitted, watched and collected.
pub type Job<'a, T> = Box<dyn FnOnce() -> Result<T, PhaseError> + Send + 'a>;

/// Runs every job at once, one thread each (a Koji task is mostly waiting, and pungi submits a
/// phase's tasks side by side too); the results come back in job order, and the first error in
/// that order is the phase's.
pub fn all_at_once<T: Send>(jobs: Vec<Job<'_, T>>) -> Result<Vec<T>, PhaseError> {
    // Each task's thread logs into the phase's (and arch's) log as the phase itself does.
    let span = tracing::Span::current();
    let results: Vec<Result<T, PhaseError>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|j| {
                let span = span.clone();
                s.spawn(move || span.in_scope(j))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(PhaseError::msg("a Koji task's thread panicked")))
            })
            .collect()
    });
    results.into_iter().collect()
}

/// A phase's Koji tasks ([`all_at_once`]) waiting on Koji while `local` builds run here; the
/// records of both, the local ones first. The local error wins, then the first task's.
pub fn beside_local<'a, T: Send>(
    jobs: Vec<Job<'a, Option<Vec<T>>>>,
    local: impl FnOnce() -> Result<Vec<T>, PhaseError>,
) -> Result<Vec<T>, PhaseError> {
    let span = tracing::Span::current();
    std::thread::scope(|s| {
        let remote = s.spawn(move || span.in_scope(|| all_at_once(jobs)));
        let mut records = local();
        let remote = remote
            .join()
            .unwrap_or_else(|_| Err(PhaseError::msg("a Koji task's thread panicked")));
        if let Ok(r) = &mut records {
            r.extend(remote?.into_iter().flatten().flatten());
        }
        records
    })
}

/// The child tasks that make images.
const IMAGE_METHODS: &[&str] = &[
    "createImage",
    "createLiveMedia",
    "createAppliance",
    "createKiwiImage",
];

/// `pathinfo.work()` + `taskrelpath`: a task's work folder on the volume.
pub fn task_work_dir(top: &Path, task: u64) -> PathBuf {
    top.join("work/tasks")
        .join((task % 10000).to_string())
        .join(task.to_string())
}

/// `pathinfo.imagebuild`: an image build's files on the volume.
pub fn image_build_dir(top: &Path, name: &str, version: &str, release: &str) -> PathBuf {
    top.join("packages")
        .join(name)
        .join(version)
        .join(release)
        .join("images")
}

/// pungi's image types by file suffix (`image_build.EXTENSIONS`), in its order: the first match
/// names the type and the format.
const EXTENSIONS: &[(&str, &[&str])] = &[
    ("docker", &["tar.gz", "tar.xz"]),
    ("iso", &["iso"]),
    ("liveimg-squashfs", &["liveimg.squashfs"]),
    ("qcow", &["qcow"]),
    ("qcow2", &["qcow2"]),
    ("raw", &["raw"]),
    ("raw-xz", &["raw.xz"]),
    ("rhevm-ova", &["rhevm.ova"]),
    ("tar-gz", &["tar.gz"]),
    ("vagrant-hyperv", &["vagrant-hyperv.box"]),
    ("vagrant-libvirt", &["vagrant-libvirt.box"]),
    ("vagrant-virtualbox", &["vagrant-virtualbox.box"]),
    ("vagrant-vmware-fusion", &["vagrant-vmware-fusion.box"]),
    ("vdi", &["vdi"]),
    ("vmdk", &["vmdk"]),
    ("vpc", &["vhd"]),
    ("vhd-compressed", &["vhd.gz", "vhd.xz"]),
    ("vsphere-ova", &["vsphere.ova"]),
];

/// The file suffixes of an image type, or None for a type that is not an image.
pub fn suffixes(type_name: &str) -> Option<&'static [&'static str]> {
    EXTENSIONS
        .iter()
        .find(|(kind, _)| *kind == type_name)
        .map(|(_, s)| *s)
}

/// An image file's images.json type and format, or None for what is not an image (logs,
/// manifests).
pub fn image_kind(file: &str) -> Option<(&'static str, &'static str)> {
    EXTENSIONS.iter().find_map(|(kind, suffixes)| {
        suffixes
            .iter()
            .find(|s| file.ends_with(&format!(".{s}")))
            .map(|s| (*kind, *s))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_files_are_typed_as_pungi_types_them() {
        assert_eq!(image_kind("a.x86_64-1.qcow2"), Some(("qcow2", "qcow2")));
        assert_eq!(image_kind("a.raw.xz"), Some(("raw-xz", "raw.xz")));
        assert_eq!(image_kind("root.tar.xz"), Some(("docker", "tar.xz")));
        assert_eq!(
            image_kind("Fedora.vagrant-libvirt.box"),
            Some(("vagrant-libvirt", "vagrant-libvirt.box"))
        );
        assert_eq!(image_kind("x.packages"), None);
        assert_eq!(
            image_build_dir(Path::new("/mnt/koji"), "Fedora-Cloud", "41", "1"),
            Path::new("/mnt/koji/packages/Fedora-Cloud/41/1/images")
        );
        assert_eq!(
            task_work_dir(Path::new("/mnt/koji"), 123_456_789),
            Path::new("/mnt/koji/work/tasks/6789/123456789")
        );
    }
}
