//! Runners beyond the local machine, with the real tools: createiso's xorriso in podman
//! containers (the compose bind-mounted at its own path, no network) makes the same ISO bytes as
//! the local xorriso, and an image that lacks a tool stops the compose before it starts.

use crate::common::{compose_args, compose_dir, have, kiln, mini_config, text};
use xtask::fixtures::podman::{PODMAN_ARGS, busybox_image, tools_image};

fn podman_config(dir: &std::path::Path, image: &str) -> std::path::PathBuf {
    let args: Vec<String> = PODMAN_ARGS.iter().map(|a| format!("{a:?}")).collect();
    mini_config(
        dir,
        &format!(
            "runroot_method: {{createiso: podman}}\nrunroot_podman:\n  image: {image}\n  args: [{}]\n",
            args.join(", ")
        ),
    )
}

#[test]
fn createiso_in_podman_makes_the_same_iso_as_locally() {
    if !have("podman") || !have("debootstrap") {
        return;
    }
    let image = tools_image().expect("building the podman tools image");
    let a = tempfile::tempdir().unwrap();
    let out = kiln(
        &compose_args(&podman_config(a.path(), image), &[]),
        a.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let in_podman = compose_dir(&a.path().join("t"));
    let b = tempfile::tempdir().unwrap();
    let out = kiln(&compose_args(&mini_config(b.path(), ""), &[]), b.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let local = compose_dir(&b.path().join("t"));

    let iso = "compose/BaseOS/x86_64/iso/Mini-36-20261121.0-BaseOS-x86_64-dvd1.iso";
    assert!(
        std::fs::read(in_podman.join(iso)).unwrap() == std::fs::read(local.join(iso)).unwrap(),
        "the ISO made in podman differs from the local one"
    );
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
    let mut child = crate::common::kiln_command(&compose_args(&cfg, &[]), dir.path())
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
    let start = std::time::Instant::now();
    while !failpoint_log() || running() == 0 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "the container never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(4), "TERMINATED");
    assert_eq!(running(), 0, "a container of the stopped compose is left");
    let top = compose_dir(&dir.path().join("t"));
    let resumed = kiln(&["compose", "--resume", top.to_str().unwrap()], dir.path());
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
}
