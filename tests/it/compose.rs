//! `kiln compose` as a release engineer runs it: the whole pipeline on the mini distro, config
//! errors, skip rules, resume after a failure anywhere, and a stopped compose.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{compose_args, compose_dir, files, kiln, kiln_command, mini_config, text};

#[test]
fn config_errors_are_located_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.yaml");
    std::fs::write(
        &cfg,
        "release_name: X\nrelease_short: X\nrelease_version: '1'\ngather_metod: deps\nvariants: [{id: A, arches: [x86_64]}]\npkgset_repos: {x86_64: [r]}\n",
    )
    .unwrap();
    let out = kiln(
        &["compose", "bad.yaml", "--target-dir", "t", "--no-label"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:4:1: unknown option `gather_metod`; did you mean `gather_method`?"),
        "{err}"
    );
    assert!(
        !dir.path().join("t").exists(),
        "nothing is created for an invalid config"
    );
}

#[test]
fn a_production_compose_needs_a_label_decision() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "");
    let out = kiln(
        &["compose", cfg.to_str().unwrap(), "--target-dir", "t"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("needs --label or --no-label"));
    let out = kiln(
        &[
            "compose",
            cfg.to_str().unwrap(),
            "--target-dir",
            "t",
            "--label",
            "Gamma-1",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("invalid label \"Gamma-1\""));
}

#[test]
fn skipping_a_needed_phase_names_both_phases() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "");
    let out = kiln(&compose_args(&cfg, &["--skip-phase", "gather"]), dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("phase gather is skipped but phase createrepo needs its output"),
        "{}",
        text(&out)
    );
    let plan = kiln(&["plan", cfg.to_str().unwrap()], dir.path());
    assert!(plan.status.success(), "{}", text(&plan));
    let plan = String::from_utf8_lossy(&plan.stdout);
    assert!(
        plan.contains("createrepo     run  needs: pkgset, gather"),
        "{plan}"
    );
    assert!(plan.contains("ostree         not configured"), "{plan}");
}

#[test]
fn the_mini_distro_composes_finished_with_pungis_layout() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "");
    let out = kiln(&compose_args(&cfg, &[]), dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = dir.path().join("t/Mini-36-20261121.0");
    assert_eq!(
        std::fs::read_to_string(top.join("STATUS")).unwrap(),
        "FINISHED\n"
    );
    assert_eq!(
        std::fs::read_to_string(top.join("COMPOSE_ID")).unwrap(),
        "Mini-36-20261121.0"
    );
    assert_eq!(
        std::fs::read_link(dir.path().join("t/latest-Mini-36")).unwrap(),
        Path::new("Mini-36-20261121.0")
    );
    for tree in [
        "BaseOS/x86_64/os",
        "AppStream/x86_64/os",
        "BaseOS/source/tree",
    ] {
        assert!(
            top.join("compose")
                .join(tree)
                .join("repodata/repomd.xml")
                .is_file(),
            "{tree}"
        );
    }
    assert!(top.join("logs/global/gather.global.log").is_file());
    // productmd, which no one here wrote, must load the compose's metadata.
    let check = Command::new("python3")
        .args([
            "-c",
            "import sys, productmd.compose as c; m = c.Compose(sys.argv[1]); print(m.info.compose.id, sorted(m.info.variants.variants))",
            top.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        "Mini-36-20261121.0 ['AppStream', 'BaseOS']"
    );

    // The reference pungi compose of the same input (shared/, read at test time, never copied).
    let reference = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/pungi-compose/compose/metadata/composeinfo.json");
    if let Ok(expected) = std::fs::read(&reference) {
        let got = std::fs::read(top.join("compose/metadata/composeinfo.json")).unwrap();
        assert!(got == expected, "composeinfo.json differs from pungi's");
    }

    // Same day, same target: the next compose is respin 1.
    let out = kiln(
        &compose_args(&cfg, &["--skip-phase", "createiso"]),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(dir.path().join("t/Mini-36-20261121.1/STATUS").exists());
}

/// The phases of the mini compose, in an order where each comes after what it needs.
const PIPELINE: &[&str] = &[
    "init",
    "pkgset",
    "gather",
    "extrafiles",
    "createrepo",
    "createiso",
    "repoclosure",
    "imagechecksum",
    "test",
];

#[test]
fn resume_after_a_failure_in_any_phase_ends_byte_identical() {
    let clean = tempfile::tempdir().unwrap();
    let cfg = mini_config(clean.path(), "");
    let out = kiln(&compose_args(&cfg, &[]), clean.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let expected = files(&compose_dir(&clean.path().join("t")).join("compose"));
    assert!(expected.len() > 50, "a real compose has many files");

    for phase in PIPELINE {
        let dir = tempfile::tempdir().unwrap();
        let cfg = mini_config(dir.path(), "");
        let failed = kiln_command(&compose_args(&cfg, &[]), dir.path())
            .env("KILN_FAILPOINT", format!("fail:{phase}"))
            .output()
            .unwrap();
        assert_eq!(
            failed.status.code(),
            Some(1),
            "failure in {phase}: {}",
            text(&failed)
        );
        let top = compose_dir(&dir.path().join("t"));
        assert_eq!(
            std::fs::read_to_string(top.join("STATUS")).unwrap(),
            "DOOMED\n"
        );
        assert!(!dir.path().join("t/latest-Mini-36").exists());

        let resumed = kiln(&["compose", "--resume", top.to_str().unwrap()], dir.path());
        assert_eq!(
            resumed.status.code(),
            Some(0),
            "resume after {phase}: {}",
            text(&resumed)
        );
        let out = String::from_utf8_lossy(&resumed.stderr);
        assert!(
            out.contains(&format!("[{phase:<13}] done")),
            "{phase} re-ran: {out}"
        );
        let got = files(&top.join("compose"));
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&got),
            names(&expected),
            "file list after resuming {phase}"
        );
        for ((name, a), (_, b)) in got.iter().zip(&expected) {
            assert!(a == b, "{name} differs after resuming a failure in {phase}");
        }
    }
}

/// A compose started with `--skip-phase` and resumed without it ends as the uninterrupted one:
/// the resume keeps the phases the compose was started with (and says so).
#[test]
fn resume_keeps_the_skipped_phases_of_the_start() {
    let clean = tempfile::tempdir().unwrap();
    let cfg = mini_config(clean.path(), "");
    let out = kiln(
        &compose_args(&cfg, &["--skip-phase", "createiso"]),
        clean.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let expected = files(&compose_dir(&clean.path().join("t")).join("compose"));

    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "");
    let failed = kiln_command(
        &compose_args(&cfg, &["--skip-phase", "createiso"]),
        dir.path(),
    )
    .env("KILN_FAILPOINT", "fail:repoclosure")
    .output()
    .unwrap();
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    let top = compose_dir(&dir.path().join("t"));
    let resumed = kiln(&["compose", "--resume", top.to_str().unwrap()], dir.path());
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    assert!(
        text(&resumed)
            .contains("resuming with the phases the compose was started with (skipped: createiso)"),
        "{}",
        text(&resumed)
    );
    assert!(
        !top.join("compose/BaseOS/x86_64/iso").exists(),
        "the resume made the ISOs the start skipped"
    );
    let got = files(&top.join("compose"));
    assert!(
        got == expected,
        "the resumed compose differs from the uninterrupted one"
    );
}

#[test]
fn sigterm_stops_the_tool_and_leaves_a_resumable_compose() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "");
    let mut child = kiln_command(&compose_args(&cfg, &[]), dir.path())
        .env("KILN_FAILPOINT", "hang:createrepo")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until createrepo is waiting on its child process.
    let start = Instant::now();
    let log = || {
        std::fs::read_dir(dir.path().join("t"))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.path().join("logs/global/failpoint.global.log"))
    };
    while !log().is_some_and(|l| l.exists()) {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "createrepo never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let waited = Instant::now();
    let status = child.wait().unwrap();
    assert!(
        waited.elapsed() < Duration::from_secs(20),
        "kiln did not stop promptly"
    );
    assert_eq!(status.code(), Some(4));
    let top = compose_dir(&dir.path().join("t"));
    assert_eq!(
        std::fs::read_to_string(top.join("STATUS")).unwrap(),
        "TERMINATED\n"
    );
    let ps = Command::new("pgrep")
        .args(["-f", "sleep 600"])
        .output()
        .unwrap();
    assert!(ps.stdout.is_empty(), "the hanging child outlived kiln");

    let resumed = kiln(&["compose", "--resume", top.to_str().unwrap()], dir.path());
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    let err = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        !err.contains("[gather       ] done"),
        "gather was re-run: {err}"
    );
}

#[test]
fn notification_scripts_hear_pungis_messages_with_json() {
    let dir = tempfile::tempdir().unwrap();
    let heard = dir.path().join("heard.txt");
    let script = dir.path().join("notify.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s ' \"$1\" >> {0}\ncat >> {0}\necho >> {0}\n",
            heard.display()
        ),
    )
    .unwrap();
    let _ = Command::new("chmod")
        .args(["+x", script.to_str().unwrap()])
        .status();
    let cfg = mini_config(
        dir.path(),
        &format!("notification_script: {}\n", script.display()),
    );
    let out = kiln(&compose_args(&cfg, &["--just-phase", "pkgset"]), dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines: Vec<(String, serde_json::Value)> = std::fs::read_to_string(&heard)
        .unwrap()
        .lines()
        .map(|l| {
            let (msg, json) = l.split_once(' ').unwrap();
            (msg.to_owned(), serde_json::from_str(json).unwrap())
        })
        .collect();
    let names: Vec<&str> = lines.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(names.first(), Some(&"status-change"));
    assert_eq!(lines[0].1["status"], "STARTED");
    assert!(names.contains(&"phase-start") && names.contains(&"phase-stop"));
    let start = lines
        .iter()
        .find(|(m, j)| m == "phase-start" && j["phase_name"] == "pkgset");
    let start = &start.expect("phase-start for pkgset").1;
    assert_eq!(start["compose_id"], "Mini-36-20261121.0");
    assert_eq!(start["release_short"], "Mini");
    let last = lines.last().unwrap();
    assert_eq!(
        (last.0.as_str(), &last.1["status"]),
        ("status-change", &serde_json::json!("FINISHED"))
    );
}

/// xorriso dying halfway through an image (a test double on PATH writes 100 KiB of it, then
/// fails): no ISO and no partial file is left under the compose, and --resume makes them all.
#[test]
fn an_iso_cut_short_leaves_nothing_behind_and_resume_remakes_it() {
    if !crate::common::have("xorriso") || !crate::common::have("checkisomd5") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let real = kiln_engine::find_on_path("xorriso").unwrap();
    let fake = bin.join("xorriso");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nif [ \"$1\" = -as ]; then head -c 102400 /dev/zero; echo 'xorriso: write error' >&2; exit 5; fi\nexec {} \"$@\"\n",
            real.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = kiln_command(&compose_args(&cfg, &[]), dir.path())
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("xorriso: write error"),
        "{}",
        text(&out)
    );
    let top = compose_dir(&dir.path().join("t"));
    let leftovers: Vec<String> = files(&top.join("compose"))
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.ends_with(".iso") || p.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let resumed = kiln(&["compose", "--resume", top.to_str().unwrap()], dir.path());
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    let isos: Vec<String> = files(&top.join("compose"))
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.ends_with(".iso"))
        .collect();
    assert_eq!(isos.len(), 4, "{isos:?}");
    for iso in isos {
        let path = top.join("compose").join(&iso);
        // checkisomd5 fails even implantisomd5's own implant on images under about 1 MB (the
        // mini distro's source DVDs); those are checked for a readable implant only.
        let small = std::fs::metadata(&path).unwrap().len() < 1 << 20;
        let st = Command::new("checkisomd5")
            .args(small.then_some("--md5sumonly"))
            .arg(&path)
            .output()
            .unwrap();
        assert!(st.status.success(), "{iso}: {}", text(&st));
        assert!(
            kiln_iso::md5::parse_md5sumonly(&String::from_utf8_lossy(&st.stdout)).is_some()
                || !small,
            "{iso}: {}",
            text(&st)
        );
    }
}
