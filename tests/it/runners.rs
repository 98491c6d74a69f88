//! Runners beyond the local machine, with the real tools: every phase's commands in podman
//! containers or Kubernetes Jobs (the compose mounted at its own path) make the local compose's
//! bytes; an image that lacks a tool stops the compose before it starts; a command failing
//! remotely fails its phase with its own output; a stopped compose leaves nothing running. The
//! Kubernetes tests need the one-node test cluster and run in `cargo xtask slow-tests`.

use crate::common::{compose_args, compose_dir, have, kiln, mini_config, text};
use xtask::fixtures::podman::{PODMAN_ARGS, broken_xorriso_image, busybox_image, tools_image};

fn podman_config(dir: &std::path::Path, image: &str) -> std::path::PathBuf {
    podman_config_for(dir, image, "{createiso: podman}")
}

fn podman_config_for(dir: &std::path::Path, image: &str, method: &str) -> std::path::PathBuf {
    let args: Vec<String> = PODMAN_ARGS.iter().map(|a| format!("{a:?}")).collect();
    mini_config(
        dir,
        &format!(
            "runroot_method: {method}\nrunroot_podman:\n  image: {image}\n  args: [{}]\n",
            args.join(", ")
        ),
    )
}

/// The compose/ tree of `remote` equals, file by file and byte for byte, a local compose's of
/// the same config.
fn assert_same_as_local(remote: &std::path::Path, how: &str) {
    let b = tempfile::tempdir().unwrap();
    let out = kiln(&compose_args(&mini_config(b.path(), ""), &[]), b.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let local = compose_dir(&b.path().join("t"));
    let (x, y) = (
        crate::common::files(&remote.join("compose")),
        crate::common::files(&local.join("compose")),
    );
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&x), names(&y));
    for ((name, p), (_, q)) in x.iter().zip(&y) {
        assert!(
            p == q,
            "{name} differs between the {how} and the local compose"
        );
    }
}

/// Every phase's commands in podman containers: the compose/ tree equals the local compose's
/// byte for byte.
#[test]
fn a_compose_in_podman_equals_the_local_one() {
    if !have("podman") || !have("debootstrap") {
        return;
    }
    let image = tools_image().expect("building the podman tools image");
    let a = tempfile::tempdir().unwrap();
    let out = kiln(
        &compose_args(&podman_config_for(a.path(), image, "podman"), &[]),
        a.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let in_podman = compose_dir(&a.path().join("t"));
    assert_same_as_local(&in_podman, "podman");
    let log = std::fs::read_to_string(
        in_podman
            .join("logs/x86_64/createiso-Mini-36-20261121.0-BaseOS-x86_64-dvd1.iso.x86_64.log"),
    )
    .unwrap();
    let top = in_podman.display().to_string();
    assert!(log.contains("$ podman run --rm --name kiln-"), "{log}");
    assert!(
        log.contains(&format!(" --network=none -v {top}:{top} ")),
        "{log}"
    );
    assert!(
        log.contains(&format!("{image} xorriso -as mkisofs")),
        "{log}"
    );
}

#[test]
fn an_image_without_the_tool_stops_the_compose_before_it_starts() {
    if !have("podman") {
        return;
    }
    let image = busybox_image().expect("building the busybox image");
    let dir = tempfile::tempdir().unwrap();
    let out = kiln(
        &compose_args(&podman_config(dir.path(), image), &[]),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("xorriso"), "{}", text(&out));
    assert!(!dir.path().join("t").exists(), "nothing may be created");
}

/// SIGTERM while a phase's command runs in a container: kiln stops promptly, the container is
/// gone (`--rm`, and removed when its `podman run` is killed), and the compose resumes.
#[test]
fn a_stopped_compose_leaves_no_container_behind() {
    if !have("podman") || !have("debootstrap") {
        return;
    }
    let image = tools_image().expect("building the podman tools image");
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<String> = PODMAN_ARGS.iter().map(|a| format!("{a:?}")).collect();
    let cfg = mini_config(
        dir.path(),
        &format!(
            "runroot_method: {{createrepo: podman, createiso: podman}}\nrunroot_podman:\n  image: {image}\n  args: [{}]\n",
            args.join(", ")
        ),
    );
    // The failpoint makes createrepo wait on `sleep 600`, run through createrepo's runner.
    let child = crate::common::kiln_command(&compose_args(&cfg, &[]), dir.path())
        .env("KILN_FAILPOINT", "hang:createrepo")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ours = format!("kiln-{}-", child.id());
    let running = || {
        let out = std::process::Command::new("podman")
            .args(["ps", "--all", "--format", "{{.Names}}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|n| n.starts_with(&ours))
            .count()
    };
    // Past preflight (whose tool probes are containers too): createrepo waits on its command.
    let failpoint_log = || {
        std::fs::read_dir(dir.path().join("t"))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path().join("logs/global/failpoint.global.log"))
            .is_some_and(|l| l.exists())
    };
    stop_and_resume(child, dir.path(), || failpoint_log() && running() > 0);
    // Named after the stopped run's pid: the resumed compose's containers are not counted.
    assert_eq!(running(), 0, "a container of the stopped compose is left");
}

/// Waits until `started` (the remote command runs), sends kiln SIGTERM, checks it stopped as
/// TERMINATED, and resumes the compose to its end.
fn stop_and_resume(
    mut child: std::process::Child,
    dir: &std::path::Path,
    started: impl Fn() -> bool,
) {
    let start = std::time::Instant::now();
    while !started() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "the remote command never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(4), "TERMINATED");
    let top = compose_dir(&dir.join("t"));
    let resumed = kiln(&["compose", "--resume", top.to_str().unwrap()], dir);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
}

/// The Kubernetes runner's config for `phases` (`{createiso: kubernetes}`), against the test
/// cluster, pods on the node of their arch.
fn kubernetes_config(dir: &std::path::Path, phases: &str, extra: &str) -> std::path::PathBuf {
    let image = tools_image().expect("building the tools image");
    kubernetes_config_with(dir, phases, extra, image)
}

/// [`kubernetes_config`] with pods of `image` (from podman's store, loaded into the cluster).
fn kubernetes_config_with(
    dir: &std::path::Path,
    phases: &str,
    extra: &str,
    image: &str,
) -> std::path::PathBuf {
    let kubeconfig = xtask::fixtures::kubernetes::running_cluster(image).expect("the test cluster");
    let (label, value) = xtask::fixtures::kubernetes::NODE_LABEL;
    mini_config(
        dir,
        &format!(
            "runroot_method: {phases}\nrunroot_kubernetes:\n  image: {image}\n  kubeconfig: {}\n  \
             image_pull_policy: Never\n  host_network: true\n  poll_seconds: 0.2\n  \
             node_selectors: {{x86_64: {{{label}: {value}}}}}\n{extra}",
            kubeconfig.display()
        ),
    )
}

/// The cluster's tests one at a time: each checks that kiln left no Job or pod behind.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    CLUSTER.lock().unwrap_or_else(|e| e.into_inner())
}

/// kiln's Jobs and pods on the test cluster.
fn kiln_objects() -> Vec<String> {
    let out = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(xtask::fixtures::kubernetes::kubeconfig())
        .args([
            "get",
            "jobs,pods",
            "--selector",
            "app.kubernetes.io/managed-by=kiln",
            "-o",
            "name",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Every phase's commands as Kubernetes Jobs: the compose/ tree equals the local compose's byte
/// for byte, each command's Job is in its phase log, and no Job or pod is left.
#[test]
#[ignore = "needs the one-node test cluster (built once, about 10 min): cargo xtask slow-tests"]
fn a_compose_in_kubernetes_jobs_equals_the_local_one() {
    let _cluster = one_at_a_time();
    let a = tempfile::tempdir().unwrap();
    let out = kiln(
        &compose_args(&kubernetes_config(a.path(), "kubernetes", ""), &[]),
        a.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let remote = compose_dir(&a.path().join("t"));
    assert_same_as_local(&remote, "Kubernetes");
    let log = std::fs::read_to_string(
        remote.join("logs/x86_64/createiso-Mini-36-20261121.0-BaseOS-x86_64-dvd1.iso.x86_64.log"),
    )
    .unwrap();
    assert!(log.contains("kubernetes job kiln-"), "{log}");
    assert!(log.contains("xorriso -as mkisofs"), "{log}");
    assert_eq!(kiln_objects(), Vec::<String>::new());
}

/// A Job that runs past `active_deadline_seconds` fails its phase, saying why, and is deleted.
#[test]
#[ignore = "needs the one-node test cluster (built once, about 10 min): cargo xtask slow-tests"]
fn a_kubernetes_job_past_its_deadline_fails_its_phase() {
    let _cluster = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let cfg = kubernetes_config(
        dir.path(),
        "{createrepo: kubernetes}",
        "  active_deadline_seconds: 3\n",
    );
    let out = crate::common::kiln_command(&compose_args(&cfg, &[]), dir.path())
        .env("KILN_FAILPOINT", "hang:createrepo")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("DeadlineExceeded"), "{t}");
    assert_eq!(kiln_objects(), Vec::<String>::new());
}

/// An image that lacks a phase's tool stops the compose before it starts, as in podman.
#[test]
#[ignore = "needs the one-node test cluster (built once, about 10 min): cargo xtask slow-tests"]
fn a_kubernetes_image_without_the_tool_stops_the_compose_before_it_starts() {
    let _cluster = one_at_a_time();
    let busybox = busybox_image().expect("building the busybox image");
    let dir = tempfile::tempdir().unwrap();
    let cfg = kubernetes_config_with(dir.path(), "{createiso: kubernetes}", "", busybox);
    let out = kiln(&compose_args(&cfg, &[]), dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("xorriso"), "{}", text(&out));
    assert!(!dir.path().join("t").exists(), "nothing may be created");
    assert_eq!(kiln_objects(), Vec::<String>::new());
}

/// SIGTERM while a command runs as a Job: kiln deletes the Job and its pod, stops, and the
/// compose resumes.
#[test]
#[ignore = "needs the one-node test cluster (built once, about 10 min): cargo xtask slow-tests"]
fn a_stopped_compose_leaves_no_job_or_pod_behind() {
    let _cluster = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let cfg = kubernetes_config(dir.path(), "{createrepo: kubernetes}", "");
    let child = crate::common::kiln_command(&compose_args(&cfg, &[]), dir.path())
        .env("KILN_FAILPOINT", "hang:createrepo")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ours = format!("pod/kiln-{}-", child.id());
    stop_and_resume(child, dir.path(), || {
        kiln_objects().iter().any(|o| o.starts_with(&ours))
    });
    // The resumed compose deletes its own Jobs; one of the stopped run would still be listed.
    assert_eq!(kiln_objects(), Vec::<String>::new());
}

/// A command that fails in its container fails its phase with the command's own output.
#[test]
fn a_failing_command_in_podman_fails_its_phase_with_its_output() {
    if !have("podman") || !have("debootstrap") {
        return;
    }
    let image = broken_xorriso_image().expect("building the broken image");
    let dir = tempfile::tempdir().unwrap();
    let out = kiln(
        &compose_args(&podman_config(dir.path(), image), &[]),
        dir.path(),
    );
    assert_failed_with_its_output(&out, dir.path());
}

/// The same with the command in a Kubernetes Job.
#[test]
#[ignore = "needs the one-node test cluster (built once, about 10 min): cargo xtask slow-tests"]
fn a_failing_command_in_a_kubernetes_job_fails_its_phase_with_its_output() {
    let _cluster = one_at_a_time();
    let broken = broken_xorriso_image().expect("building the broken image");
    let dir = tempfile::tempdir().unwrap();
    let cfg = kubernetes_config_with(dir.path(), "{createiso: kubernetes}", "", broken);
    let out = kiln(&compose_args(&cfg, &[]), dir.path());
    assert_failed_with_its_output(&out, dir.path());
    assert_eq!(kiln_objects(), Vec::<String>::new());
}

fn assert_failed_with_its_output(out: &std::process::Output, dir: &std::path::Path) {
    assert_eq!(out.status.code(), Some(1), "{}", text(out));
    let t = text(out);
    assert!(t.contains("builder: no space left on device"), "{t}");
    assert!(t.contains("exit code 5"), "{t}");
    let top = compose_dir(&dir.join("t"));
    assert_eq!(
        std::fs::read_to_string(top.join("STATUS")).unwrap().trim(),
        "DOOMED"
    );
}
