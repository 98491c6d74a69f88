//! What a release engineer reads: messages and exit codes of the `kiln` binary for the everyday
//! mistakes and outcomes (a typo'd config, a resumed finished compose, a failed phase under -q).

use crate::common::{compose_args, compose_dir, files, kiln, kiln_command, mini_config, text};

#[test]
fn a_duplicate_key_names_the_key_and_both_places() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dup.yaml"),
        "release_name: X\nrelease_short: X\nrelease_version: '1'\nrelease_version: '2'\n\
         variants: [{id: A, arches: [x86_64]}]\npkgset_repos: {x86_64: [r]}\n",
    )
    .unwrap();
    let out = kiln(
        &["compose", "dup.yaml", "--target-dir", "t", "--no-label"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "dup.yaml:4:1: `release_version` is set twice in the same mapping \
             (first set at line 3, column 1); delete one of the two"
        ),
        "{err}"
    );
    assert!(!err.contains("DuplicateKeyPolicy"), "{err}");
    assert!(!dir.path().join("t").exists());
}

#[test]
fn a_duplicate_nested_key_points_into_its_own_mapping() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dup.yaml"),
        "release_name: X\nrelease_short: X\nrelease_version: '1'\nvariants: [{id: A, arches: [x86_64]}]\n\
         pkgset_repos:\n  x86_64: [r]\n  aarch64: [s]\n  x86_64: [t]\n",
    )
    .unwrap();
    let out = kiln(&["plan", "dup.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(
            "dup.yaml:8:3: `x86_64` is set twice in the same mapping (first set at line 6, column 3)"
        ),
        "{}",
        text(&out)
    );
}

#[test]
fn resuming_a_finished_compose_says_so_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "");
    let out = kiln(
        &compose_args(&cfg, &["--skip-phase", "createiso"]),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.path().join("t"));
    // Log lines start with a readable UTC time, as pungi's do: `2026-12-04 21:19:34 [gather ...`.
    let log = std::fs::read_to_string(top.join("logs/global/gather.global.log")).unwrap();
    for line in log.lines() {
        let (stamp, rest) = line.split_at_checked(19).expect("a log line");
        let shape: String = stamp
            .chars()
            .map(|c| if c.is_ascii_digit() { '9' } else { c })
            .collect();
        assert_eq!(shape, "9999-99-99 99:99:99", "{line}");
        assert!(rest.starts_with(" [gather      ] ["), "{line}");
    }
    let before = files(&top);
    let again = kiln(&["compose", "--resume", top.to_str().unwrap()], dir.path());
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        text(&again)
            .contains("is FINISHED: nothing to resume (a finished compose is never changed)"),
        "{}",
        text(&again)
    );
    assert!(
        files(&top) == before,
        "a finished compose was changed by --resume"
    );
}

#[test]
fn under_quiet_a_failure_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "");
    let out = kiln_command(&compose_args(&cfg, &["-q"]), dir.path())
        .env("KILN_FAILPOINT", "fail:createrepo")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.matches("failure injected by KILN_FAILPOINT in createrepo")
            .count(),
        1,
        "{err}"
    );
    assert!(err.contains("[createrepo   ] FAILED in "), "{err}");
    assert!(
        err.contains("kiln: phase createrepo failed (its error is above; log: "),
        "{err}"
    );
    assert!(err.contains("DOOMED: "), "{err}");
    assert!(out.stdout.is_empty(), "{}", text(&out));
}

#[test]
fn phases_the_config_never_mentions_are_listed_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "");
    let out = kiln(
        &compose_args(&cfg, &["--skip-phase", "createiso"]),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("not configured"), "{}", text(&out));
    let out = kiln(
        &compose_args(&cfg, &["--skip-phase", "createiso", "--verbose"]),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("[ostree       ] not configured"),
        "{}",
        text(&out)
    );
}

#[test]
fn an_extra_files_target_outside_the_tree_stops_the_compose_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ef.yaml"),
        "release_name: X\nrelease_short: X\nrelease_version: '1'\n\
         variants: [{id: A, arches: [x86_64]}]\npkgset_repos: {x86_64: [r]}\n\
         extra_files:\n  - [\"^A$\", {\"*\": [\n      {scm: file, file: GPL, target: \"../../etc\"},\n\
         \x20     {scm: file, file: GPL, target: /srv},\n    ]}]\n",
    )
    .unwrap();
    let out = kiln(
        &["compose", "ef.yaml", "--target-dir", "t", "--no-label"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "ef.yaml:8:38: extra_files target \"../../etc\" contains `..`, which would leave the tree"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "ef.yaml:9:38: extra_files target \"/srv\" is absolute; it must be relative to the tree's root"
        ),
        "{err}"
    );
    assert!(!dir.path().join("t").exists(), "nothing may run");
}

#[test]
fn a_missing_tool_stops_the_compose_before_it_starts_naming_tool_and_package() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "");
    let empty = dir.path().join("no-tools");
    std::fs::create_dir(&empty).unwrap();
    let out = kiln_command(&compose_args(&cfg, &[]), dir.path())
        .env("PATH", &empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "phase createiso needs `xorriso`, which is not installed; install it with \
             `apt-get install xorriso` (Debian/Ubuntu) or `dnf install xorriso` (Fedora/RHEL)"
        ),
        "{err}"
    );
    // The MD5 implant is kiln's own now: implantisomd5 is a judge in the tests, not a need.
    assert!(!err.contains("implantisomd5"), "{err}");
    assert!(!dir.path().join("t").exists(), "nothing may be created");

    // kiln plan shows the plan and refuses it the same way.
    let plan = kiln_command(&["plan", cfg.to_str().unwrap()], dir.path())
        .env("PATH", &empty)
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    assert!(
        String::from_utf8_lossy(&plan.stdout).contains("createiso"),
        "{}",
        text(&plan)
    );
    assert!(
        String::from_utf8_lossy(&plan.stderr).contains("phase createiso needs `xorriso`"),
        "{}",
        text(&plan)
    );

    // Leaving the phase out is the other way to go on.
    let out = kiln_command(
        &compose_args(&cfg, &["--skip-phase", "createiso"]),
        dir.path(),
    )
    .env("PATH", &empty)
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn createiso_names_each_image_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "");
    let out = kiln(&compose_args(&cfg, &[]), dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.path().join("t"));
    let log = std::fs::read_to_string(top.join("logs/global/createiso.global.log")).unwrap();
    let mut named: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("] making image ").map(|(_, rest)| rest))
        .collect();
    named.sort();
    let id = "Mini-36-20261121.0";
    assert_eq!(named.len(), 4, "{log}");
    for (n, line) in named.iter().enumerate() {
        assert!(
            line.starts_with(&format!("{} of 4: {id}-", n + 1)),
            "{line}"
        );
    }
    for iso in [
        "BaseOS-x86_64-dvd1.iso",
        "BaseOS-source-dvd1.iso",
        "AppStream-x86_64-dvd1.iso",
        "AppStream-source-dvd1.iso",
    ] {
        assert!(
            named.iter().any(|l| l.ends_with(&format!(": {id}-{iso}"))),
            "{iso} not named in\n{log}"
        );
    }
}

#[test]
fn a_configured_phase_kiln_cannot_drive_stops_the_compose_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    // Live media are built by Koji here (livemedia-creator cannot run on this machine).
    let cfg = mini_config(
        dir.path(),
        "live_media:\n  \"^BaseOS$\": {kickstart: mini-live.ks}\n",
    );
    let out = kiln(&compose_args(&cfg, &[]), dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out)
            .contains("phase live: live_media block mini-live.ks for ^BaseOS$ has no Koji target"),
        "{}",
        text(&out)
    );
    assert!(!dir.path().join("t").exists(), "nothing may be created");
    let out = kiln(
        &compose_args(&cfg, &["--skip-phase", "live", "--skip-phase", "createiso"]),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
