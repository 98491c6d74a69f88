//! The Kubernetes runner: each command is a Job of one pod, as empanadas' `launch-builds` runs
//! its builds. kiln drives `kubectl` (not a client crate): a release engineer's kubeconfig,
//! contexts and auth plugins work as they do in their shell, and kiln's build stays free of an
//! async HTTP stack for what is a few calls per command.
//!
//! The pod mounts the compose's top folder (and `mounts`) at their own paths, from `hostPath`
//! or from a PersistentVolumeClaim, and runs the command in the [`io_files`](super::io_files)
//! script, so its output comes back as a local run's does. kiln watches the Job until it
//! completes or fails, notices a pod that cannot start its image, and deletes the Job and its
//! pods when it is done with them: finished, failed or cancelled, nothing stays behind.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::io_files::IoFiles;
use super::{
    CancelToken, CommandOutput, CommandSpec, LocalRunner, RunError, Runner, append_log, arch_of,
    tail,
};

#[derive(Debug, Clone)]
pub struct KubernetesRunner {
    pub image: String,
    pub namespace: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Mounted at their own paths; the compose's top folder first.
    pub mounts: Vec<PathBuf>,
    /// Mount them from this claim (`subPath` = the path) instead of `hostPath`.
    pub claim: Option<String>,
    /// Node labels per arch.
    pub node_selectors: BTreeMap<String, BTreeMap<String, String>>,
    pub resources: BTreeMap<String, BTreeMap<String, String>>,
    pub backoff_limit: u32,
    pub active_deadline_seconds: Option<u64>,
    pub image_pull_policy: Option<String>,
    pub host_network: bool,
    pub poll: Duration,
    /// Under the compose's top folder: where the commands leave their output.
    pub io_dir: PathBuf,
    pub default_arch: String,
}

static JOBS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Reasons a pod's container waits for that it will not get past by waiting.
const STUCK: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// Where a watched Job got to.
enum State {
    Running,
    Complete,
    Failed(String),
}

impl KubernetesRunner {
    /// A fresh Job name: `kiln-<pid>-<n>`, so a compose's Jobs are told apart from others'.
    fn job_name() -> String {
        let n = JOBS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("kiln-{}-{n}", std::process::id())
    }

    /// `kubectl` with the configured kubeconfig, context and namespace.
    pub fn kubectl(&self) -> CommandSpec {
        let mut c = CommandSpec::new("kubectl");
        if let Some(k) = &self.kubeconfig {
            c = c.arg("--kubeconfig").arg(k.as_os_str());
        }
        if let Some(ctx) = &self.context {
            c = c.arg("--context").arg(ctx.as_str());
        }
        if let Some(ns) = &self.namespace {
            c = c.arg("--namespace").arg(ns.as_str());
        }
        c
    }

    /// The Job that runs `script` on a node of `arch`.
    pub fn job(&self, name: &str, arch: &str, script: &str) -> Value {
        let mut volumes = Vec::new();
        let mut mounts = Vec::new();
        for (i, path) in self.mounts.iter().enumerate() {
            let shown = path.to_string_lossy();
            match &self.claim {
                Some(claim) => {
                    if i == 0 {
                        volumes.push(json!({
                            "name": "shared",
                            "persistentVolumeClaim": {"claimName": claim},
                        }));
                    }
                    mounts.push(json!({
                        "name": "shared",
                        "mountPath": shown,
                        "subPath": shown.trim_start_matches('/'),
                    }));
                }
                None => {
                    let volume = format!("mount-{i}");
                    volumes.push(json!({
                        "name": volume,
                        "hostPath": {"path": shown, "type": "Directory"},
                    }));
                    mounts.push(json!({"name": volume, "mountPath": shown}));
                }
            }
        }
        let mut container = json!({
            "name": "task",
            "image": self.image,
            "command": ["sh", "-c", script],
            "volumeMounts": mounts,
        });
        if let Some(p) = &self.image_pull_policy {
            container["imagePullPolicy"] = json!(p);
        }
        if !self.resources.is_empty() {
            container["resources"] = json!(self.resources);
        }
        let mut pod = json!({
            "restartPolicy": "Never",
            "automountServiceAccountToken": false,
            "containers": [container],
            "volumes": volumes,
        });
        if self.host_network {
            pod["hostNetwork"] = json!(true);
        }
        if let Some(selector) = self.node_selectors.get(arch) {
            pod["nodeSelector"] = json!(selector);
        }
        let mut spec = json!({
            "backoffLimit": self.backoff_limit,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/managed-by": "kiln"}},
                "spec": pod,
            },
        });
        if let Some(s) = self.active_deadline_seconds {
            spec["activeDeadlineSeconds"] = json!(s);
        }
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "labels": {"app.kubernetes.io/managed-by": "kiln", "kiln.arch": arch},
            },
            "spec": spec,
        })
    }

    /// A quiet `kubectl` call (polls stay out of the phase log): its stdout, or its stderr as
    /// the error.
    fn query(&self, args: &[&str]) -> Result<Vec<u8>, String> {
        let spec = self.kubectl().args(args);
        let out = Command::new(&spec.program)
            .args(&spec.args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run kubectl: {e}"))?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    fn state(&self, name: &str) -> Result<State, String> {
        let job: Value = serde_json::from_slice(&self.query(&["get", "job", name, "-o", "json"])?)
            .map_err(|e| format!("kubectl gave unreadable JSON for job {name}: {e}"))?;
        for c in job["status"]["conditions"].as_array().into_iter().flatten() {
            if c["status"] != "True" {
                continue;
            }
            match c["type"].as_str() {
                Some("Complete") => return Ok(State::Complete),
                Some("Failed") => {
                    return Ok(State::Failed(format!(
                        "{}: {}",
                        c["reason"].as_str().unwrap_or("Failed"),
                        c["message"].as_str().unwrap_or("")
                    )));
                }
                _ => {}
            }
        }
        // A pod that cannot start its container never fails the Job: it waits forever.
        let pods: Value = serde_json::from_slice(&self.query(&[
            "get",
            "pods",
            "--selector",
            &format!("job-name={name}"),
            "-o",
            "json",
        ])?)
        .map_err(|e| format!("kubectl gave unreadable JSON for the pods of {name}: {e}"))?;
        for pod in pods["items"].as_array().into_iter().flatten() {
            for c in pod["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let waiting = &c["state"]["waiting"];
                if let Some(reason) = waiting["reason"].as_str()
                    && STUCK.contains(&reason)
                {
                    return Ok(State::Failed(format!(
                        "its pod cannot start: {reason}: {}",
                        waiting["message"].as_str().unwrap_or("")
                    )));
                }
            }
        }
        Ok(State::Running)
    }

    /// Deletes the Job and waits until its pods are gone. A cancelled Job's pods are killed at
    /// once (a shell as PID 1 would wait out the grace period).
    fn delete(&self, name: &str, log: &Path, now: bool) {
        let selector = format!("job-name={name}");
        let mut calls: Vec<Vec<&str>> = Vec::new();
        if now {
            // Orphan the pods first, so the Job controller does not replace the ones killed.
            calls.push(vec!["delete", "job", name, "--cascade=orphan"]);
            calls.push(vec![
                "delete",
                "pods",
                "--selector",
                &selector,
                "--grace-period=0",
                "--force",
                "--wait=true",
            ]);
        } else {
            calls.push(vec![
                "delete",
                "job",
                name,
                "--cascade=foreground",
                "--wait=true",
            ]);
        }
        for args in calls {
            if let Err(e) = self.query(&args) {
                append_log(log, &format!("kubectl {}: {e}\n", args.join(" ")));
            }
        }
    }

    fn exec(
        &self,
        spec: &CommandSpec,
        log: &Path,
        cancel: &CancelToken,
        sink: Option<&mut (dyn Write + Send)>,
    ) -> Result<CommandOutput, RunError> {
        let shown = spec.display();
        let io = IoFiles::new(&self.io_dir, spec)?;
        let arch = arch_of(log, &self.default_arch);
        let name = Self::job_name();
        let manifest = self.io_dir.join(format!("{name}.json"));
        let job = self.job(&name, &arch, &io.script);
        std::fs::write(&manifest, job.to_string()).map_err(|source| RunError::Output {
            command: shown.clone(),
            source,
        })?;
        let created = LocalRunner.run(
            &self
                .kubectl()
                .arg("create")
                .arg("-f")
                .arg(manifest.as_os_str()),
            log,
            cancel,
        );
        let _ = std::fs::remove_file(&manifest);
        let created = created?;
        if !created.success() {
            return Err(RunError::Failed {
                command: format!("kubectl create (a Job for `{shown}`)"),
                status: format!("exit code {:?}", created.code),
                log: log.to_owned(),
                tail: tail(&created.stderr),
            });
        }
        append_log(log, &format!("kubernetes job {name} ({arch}): {shown}\n"));
        let ended = loop {
            if cancel.is_cancelled() {
                self.delete(&name, log, true);
                append_log(log, &format!("kubernetes job {name} deleted: cancelled\n"));
                return Err(RunError::Cancelled { command: shown });
            }
            match self.state(&name) {
                Ok(State::Running) => std::thread::sleep(self.poll),
                Ok(State::Complete) => break Ok(()),
                Ok(State::Failed(why)) => break Err(why),
                Err(e) => break Err(format!("cannot watch it: {e}")),
            }
        };
        // What the pod printed itself (the command's own output is in the I/O files).
        if let Ok(printed) = self.query(&["logs", &format!("job/{name}")])
            && !printed.is_empty()
        {
            append_log(log, &String::from_utf8_lossy(&printed));
        }
        let result = io.collect(log, sink, &format!("Kubernetes job {name}"));
        self.delete(&name, log, false);
        match (ended, result) {
            // The command ran and said how it went: that is the answer, failed or not.
            (_, Ok(out)) => Ok(out),
            (Err(why), Err(_)) => Err(RunError::Failed {
                command: shown,
                status: format!("Kubernetes job {name} failing ({why})"),
                log: log.to_owned(),
                tail: String::new(),
            }),
            (Ok(()), Err(e)) => Err(e),
        }
    }
}

impl Runner for KubernetesRunner {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    /// Asks the image in a Job of its own (`command -v`, nothing mounted: the compose folder
    /// does not exist yet), so a missing tool stops the compose before it starts, as a locally
    /// missing one does. (`kubectl` itself is checked where the runner is made.)
    fn has_tool(&self, tool: &str) -> bool {
        // Phases share tools and each has a runner of its own: one probe per image and tool.
        static PROBED: std::sync::Mutex<BTreeMap<(String, String), bool>> =
            std::sync::Mutex::new(BTreeMap::new());
        let key = (
            self.kubectl().display() + " " + &self.image,
            tool.to_owned(),
        );
        if let Some(found) = PROBED.lock().ok().and_then(|p| p.get(&key).copied()) {
            return found;
        }
        let found = self.probe(tool);
        if let Ok(mut p) = PROBED.lock() {
            p.insert(key, found);
        }
        found
    }

    run_through_exec!();
}

impl KubernetesRunner {
    /// `command -v TOOL` in a Job of the image: whether it completes.
    fn probe(&self, tool: &str) -> bool {
        let bare = KubernetesRunner {
            mounts: Vec::new(),
            ..self.clone()
        };
        let name = Self::job_name();
        let job = bare.job(&name, &self.default_arch, &format!("command -v {tool}"));
        let created = (|| {
            let mut child = Command::new("kubectl")
                .args(&self.kubectl().args)
                .args(["create", "-f", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            child
                .stdin
                .take()?
                .write_all(job.to_string().as_bytes())
                .ok()?;
            child.wait().ok()?.success().then_some(())
        })();
        if created.is_none() {
            return false;
        }
        let found = loop {
            match self.state(&name) {
                Ok(State::Running) => std::thread::sleep(self.poll),
                Ok(State::Complete) => break true,
                _ => break false,
            }
        };
        self.delete(&name, Path::new("/dev/null"), false);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runner(claim: Option<&str>) -> KubernetesRunner {
        KubernetesRunner {
            image: "tools:1".into(),
            namespace: None,
            kubeconfig: None,
            context: None,
            mounts: vec!["/srv/composes/c1".into(), "/srv/repos".into()],
            claim: claim.map(str::to_owned),
            node_selectors: [(
                "aarch64".to_owned(),
                [("kubernetes.io/arch".to_owned(), "arm64".to_owned())].into(),
            )]
            .into(),
            resources: BTreeMap::new(),
            backoff_limit: 0,
            active_deadline_seconds: Some(3600),
            image_pull_policy: None,
            host_network: false,
            poll: Duration::from_secs(1),
            io_dir: "/srv/composes/c1/work/global/kubernetes-io".into(),
            default_arch: "x86_64".into(),
        }
    }

    #[test]
    fn a_job_mounts_the_folders_at_their_paths_on_a_node_of_its_arch() {
        let job = runner(None).job("kiln-1-0", "aarch64", "true");
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["nodeSelector"]["kubernetes.io/arch"], "arm64");
        assert_eq!(pod["restartPolicy"], "Never");
        assert_eq!(job["spec"]["activeDeadlineSeconds"], 3600);
        assert_eq!(pod["volumes"][1]["hostPath"]["path"], "/srv/repos", "{job}");
        let mounts = &pod["containers"][0]["volumeMounts"];
        assert_eq!(mounts[0]["mountPath"], "/srv/composes/c1");
        assert_eq!(pod["containers"][0]["command"][2], "true");
        // An arch without a selector goes anywhere.
        let job = runner(None).job("kiln-1-1", "x86_64", "true");
        assert!(job["spec"]["template"]["spec"]["nodeSelector"].is_null());
    }

    #[test]
    fn with_a_claim_every_folder_is_a_sub_path_of_it() {
        let job = runner(Some("composes")).job("kiln-1-0", "x86_64", "true");
        let pod = &job["spec"]["template"]["spec"];
        assert_eq!(pod["volumes"].as_array().map(Vec::len), Some(1), "{job}");
        assert_eq!(
            pod["volumes"][0]["persistentVolumeClaim"]["claimName"],
            "composes"
        );
        let mounts = &pod["containers"][0]["volumeMounts"];
        assert_eq!(mounts[1]["mountPath"], "/srv/repos");
        assert_eq!(mounts[1]["subPath"], "srv/repos");
    }
}
