//! `kiln repoclosure` against Debian's `dnf repoclosure` on repositories with deliberately
//! broken dependencies, and on the healthy mini distro.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use xtask::fixtures::spec::{BinSpec, BuildOpts, Dep, FileKind, FileSpec, SrcSpec, any, ge};

use crate::common::{kiln, text};

fn src(name: &str, version: &str, bins: Vec<BinSpec>) -> SrcSpec {
    SrcSpec {
        name: name.into(),
        version: version.into(),
        release: "1".into(),
        license: "MIT".into(),
        summary: name.into(),
        description: name.into(),
        binaries: bins,
        ..Default::default()
    }
}

fn bin(name: &str, arch: &str, requires: Vec<Dep>, provides: Vec<Dep>) -> BinSpec {
    BinSpec {
        name: name.into(),
        arch: arch.into(),
        summary: name.into(),
        description: name.into(),
        requires,
        provides,
        files: vec![FileSpec::text(
            &format!("/usr/share/{name}/README"),
            FileKind::Doc,
            name,
        )],
        ..Default::default()
    }
}

/// Missing provider, version too old, missing file, unsatisfiable rich dependency, obsoleted
/// provider, an arch-filtered provider, and healthy packages.
fn broken() -> Vec<SrcSpec> {
    let mut tool = bin("tool", "x86_64", vec![], vec![]);
    tool.files.push(FileSpec::text(
        "/usr/bin/there",
        FileKind::Executable,
        "#!/bin/sh\n",
    ));
    let mut newpkg = bin("newpkg", "noarch", vec![], vec![]);
    newpkg.obsoletes.push(ge("oldpkg", "0"));
    vec![
        src("tool", "1.0", vec![tool]),
        src(
            "libold",
            "1.0",
            vec![bin("libold", "x86_64", vec![], vec![])],
        ),
        src(
            "oldpkg",
            "1.0",
            vec![bin("oldpkg", "noarch", vec![], vec![any("oldcap")])],
        ),
        src("newpkg", "2.0", vec![newpkg]),
        src(
            "lib32",
            "1.0",
            vec![bin("lib32", "i686", vec![], vec![any("only-32bit")])],
        ),
        src(
            "a",
            "1",
            vec![bin(
                "needs-ghost",
                "x86_64",
                vec![any("ghost-capability")],
                vec![],
            )],
        ),
        src(
            "b",
            "1",
            vec![bin(
                "needs-new-libold",
                "x86_64",
                vec![ge("libold", "2.0")],
                vec![],
            )],
        ),
        src(
            "c",
            "1",
            vec![bin(
                "needs-files",
                "noarch",
                vec![any("/usr/bin/nothere"), any("/usr/bin/there")],
                vec![],
            )],
        ),
        src(
            "d",
            "1",
            vec![bin(
                "needs-rich",
                "x86_64",
                vec![any("(zz1 or zz2 >= 2)"), any("(tool or zz3)")],
                vec![],
            )],
        ),
        src(
            "e",
            "1",
            vec![bin(
                "needs-obsoleted",
                "x86_64",
                vec![any("oldcap")],
                vec![],
            )],
        ),
        src(
            "f",
            "1",
            vec![bin(
                "needs-32bit",
                "x86_64",
                vec![any("only-32bit")],
                vec![],
            )],
        ),
        src(
            "g",
            "1",
            vec![bin(
                "good",
                "x86_64",
                vec![ge("tool", "1.0"), any("libold")],
                vec![],
            )],
        ),
    ]
}

fn make_repo(dir: &Path, srcs: &[SrcSpec]) -> std::path::PathBuf {
    xtask::fixtures::write_set(dir, srcs, &BuildOpts::default()).expect("fixture RPMs");
    let repo = dir.join("repo");
    std::fs::remove_dir_all(repo.join("SRPMS")).expect("rm SRPMS");
    xtask::fixtures::createrepo(&repo, None).expect("createrepo_c");
    repo
}

/// (package, requirement) pairs from dnf-style output.
fn parse(out: &str) -> BTreeSet<(String, String)> {
    let mut set = BTreeSet::new();
    let mut pkg = String::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("package: ") {
            pkg = rest.split(" from ").next().unwrap_or_default().to_owned();
        } else if let Some(dep) = line.strip_prefix("    ") {
            set.insert((pkg.clone(), dep.trim().to_owned()));
        }
    }
    set
}

fn dnf(cache: &Path, repos: &[(&str, &Path)], check: &str, arches: &[&str]) -> Option<String> {
    let mut cmd = Command::new("dnf");
    cmd.arg("repoclosure")
        .arg(format!("--setopt=cachedir={}", cache.display()))
        .arg(format!("--setopt=reposdir={}", cache.display()))
        .arg(format!("--setopt=logdir={}", cache.display()))
        .arg("--releasever=36");
    for a in arches {
        cmd.arg(format!("--arch={a}"));
    }
    for (id, path) in repos {
        cmd.arg(format!("--repofrompath={id},file://{}", path.display()));
        cmd.arg(format!("--repo={id}"));
    }
    cmd.arg(format!("--check={check}"));
    let out = cmd.output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn skip() -> bool {
    if !xtask::fixtures::createrepo_c_available() {
        eprintln!("skipping: createrepo_c is not installed");
        return true;
    }
    false
}

#[test]
fn broken_repo_same_problems_as_dnf() {
    if skip() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = make_repo(tmp.path(), &broken());
    let cache = tmp.path().join("dnf");
    std::fs::create_dir_all(&cache).expect("mkdir");
    for arches in [vec![], vec!["x86_64", "noarch"]] {
        let mut args = vec![
            "repoclosure".to_owned(),
            format!("--repo=broken,{}", repo.display()),
        ];
        args.extend(arches.iter().map(|a| format!("--arch={a}")));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = kiln(&args, tmp.path());
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let ours = parse(&String::from_utf8_lossy(&out.stdout));
        let want = [
            ("needs-ghost-1-1.x86_64", "ghost-capability"),
            ("needs-new-libold-1-1.x86_64", "libold >= 2.0"),
            ("needs-files-1-1.noarch", "/usr/bin/nothere"),
            ("needs-rich-1-1.x86_64", "(zz1 or zz2 >= 2)"),
        ];
        if arches.is_empty() {
            // Without an arch list the i686 provider of only-32bit is checked too; with one,
            // it still provides (dnf limits only the packages it checks).
            assert!(ours.iter().all(|(p, _)| !p.ends_with(".i686")));
        }
        let want: BTreeSet<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(ours, want, "arches {arches:?}");
        match dnf(&cache, &[("broken", &repo)], "broken", &arches) {
            Some(theirs) => assert_eq!(
                ours,
                parse(&theirs),
                "arches {arches:?}: dnf said\n{theirs}"
            ),
            None => eprintln!("dnf is not installed: compared with the expected set only"),
        }
    }
}

#[test]
fn lookaside_satisfies_but_is_not_checked() {
    if skip() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = make_repo(
        &tmp.path().join("base"),
        &[src(
            "base",
            "1",
            vec![bin(
                "base-lib",
                "x86_64",
                vec![any("never-there")],
                vec![any("base-cap")],
            )],
        )],
    );
    let app = make_repo(
        &tmp.path().join("app"),
        &[src(
            "app",
            "1",
            vec![bin("app", "x86_64", vec![any("base-cap")], vec![])],
        )],
    );
    let alone = kiln(
        &["repoclosure", &format!("--repo=app,{}", app.display())],
        tmp.path(),
    );
    assert_eq!(alone.status.code(), Some(1), "{}", text(&alone));
    assert!(String::from_utf8_lossy(&alone.stdout).contains("base-cap"));
    let with = kiln(
        &[
            "repoclosure",
            &format!("--repo=app,{}", app.display()),
            &format!("--lookaside=base,{}", base.display()),
        ],
        tmp.path(),
    );
    // base-lib's own broken requirement is not reported: lookasides are not checked.
    assert_eq!(with.status.code(), Some(0), "{}", text(&with));
    assert_eq!(String::from_utf8_lossy(&with.stdout), "");
}

#[test]
fn mini_distro_agrees_with_dnf() {
    if skip() {
        return;
    }
    let m = crate::common::mini();
    if !m.has_repodata {
        eprintln!("skipping: the mini distro has no repodata");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = kiln(
        &[
            "repoclosure",
            &format!("--repo=mini,{}", m.repo.display()),
            "--arch=x86_64",
            "--arch=noarch",
        ],
        tmp.path(),
    );
    let ours = parse(&String::from_utf8_lossy(&out.stdout));
    std::fs::create_dir_all(tmp.path().join("dnf")).expect("mkdir");
    if let Some(theirs) = dnf(
        &tmp.path().join("dnf"),
        &[("mini", &m.repo)],
        "mini",
        &["x86_64", "noarch"],
    ) {
        assert_eq!(
            ours,
            parse(&theirs),
            "kiln:\n{}\ndnf:\n{theirs}",
            text(&out)
        );
    }
}

#[test]
fn unreadable_repository_is_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = kiln(
        &["repoclosure", "--repo=nothing,/nonexistent/repo"],
        tmp.path(),
    );
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/repo"), "{}", text(&out));
}
