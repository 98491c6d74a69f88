//! Fixture repositories with deliberately broken dependencies: kiln's repoclosure must report
//! the same problems as Debian's `dnf repoclosure`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use kiln_phase_repoclosure::{RepoInput, check, read_repo};
use xtask::fixtures::spec::{BinSpec, BuildOpts, Dep, FileKind, FileSpec, SrcSpec, any, ge};

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

fn bin(name: &str, requires: Vec<Dep>, provides: Vec<Dep>) -> BinSpec {
    BinSpec {
        name: name.into(),
        arch: "x86_64".into(),
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

/// One package per kind of breakage, plus healthy ones.
fn broken_set() -> Vec<SrcSpec> {
    let mut tool = bin("tool", vec![], vec![]);
    tool.files.push(FileSpec::text(
        "/usr/bin/there",
        FileKind::Executable,
        "#!/bin/sh\n",
    ));
    let mut newpkg = bin("newpkg", vec![], vec![]);
    newpkg.obsoletes.push(ge("oldpkg", "0"));
    vec![
        src("tool", "1.0", vec![tool]),
        src("libold", "1.0", vec![bin("libold", vec![], vec![])]),
        src(
            "oldpkg",
            "1.0",
            vec![bin("oldpkg", vec![], vec![any("oldcap")])],
        ),
        src("newpkg", "2.0", vec![newpkg]),
        src(
            "missing-provider",
            "1",
            vec![bin("needs-ghost", vec![any("ghost-capability")], vec![])],
        ),
        src(
            "too-old",
            "1",
            vec![bin("needs-new-libold", vec![ge("libold", "2.0")], vec![])],
        ),
        src(
            "files",
            "1",
            vec![bin(
                "needs-files",
                vec![any("/usr/bin/nothere"), any("/usr/bin/there")],
                vec![],
            )],
        ),
        src(
            "rich",
            "1",
            vec![bin(
                "needs-rich",
                vec![any("(zz1 or zz2 >= 2)"), any("(tool or zz3)")],
                vec![],
            )],
        ),
        src(
            "obsoleted",
            "1",
            vec![bin("needs-obsoleted", vec![any("oldcap")], vec![])],
        ),
        src(
            "good",
            "1",
            vec![bin("good", vec![ge("tool", "1.0"), any("libold")], vec![])],
        ),
    ]
}

fn dnf_problems(repo: &Path, cache: &Path) -> Option<BTreeSet<(String, String)>> {
    let out = Command::new("dnf")
        .arg("repoclosure")
        .arg(format!("--setopt=cachedir={}", cache.display()))
        .arg(format!("--setopt=reposdir={}", cache.display()))
        .arg("--setopt=logdir=".to_owned() + &cache.display().to_string())
        .arg("--releasever=36")
        .arg(format!("--repofrompath=broken,file://{}", repo.display()))
        .arg("--repo=broken")
        .arg("--check=broken")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut set = BTreeSet::new();
    let mut pkg = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("package: ") {
            pkg = rest.split(" from ").next().unwrap_or_default().to_owned();
        } else if let Some(dep) = line.strip_prefix("    ") {
            set.insert((pkg.clone(), dep.trim().to_owned()));
        }
    }
    if set.is_empty() {
        eprintln!("dnf said: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    }
    Some(set)
}

#[test]
fn same_problems_as_dnf() {
    if !xtask::fixtures::createrepo_c_available() {
        eprintln!("skipping: createrepo_c is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    xtask::fixtures::write_set(tmp.path(), &broken_set(), &BuildOpts::default()).unwrap();
    let repo = tmp.path().join("repo");
    std::fs::remove_dir_all(repo.join("SRPMS")).unwrap();
    xtask::fixtures::createrepo(&repo, None).unwrap();

    let packages = read_repo(&repo).unwrap();
    let problems = check(
        &[RepoInput {
            id: "broken".into(),
            packages,
        }],
        &[],
        &[],
        false,
    )
    .unwrap();
    let ours: BTreeSet<(String, String)> = problems
        .iter()
        .flat_map(|p| p.unresolved.iter().map(|u| (p.package.clone(), u.clone())))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("needs-ghost-1-1.x86_64", "ghost-capability"),
        ("needs-new-libold-1-1.x86_64", "libold >= 2.0"),
        ("needs-files-1-1.x86_64", "/usr/bin/nothere"),
        ("needs-rich-1-1.x86_64", "(zz1 or zz2 >= 2)"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(ours, expected);

    let cache = tmp.path().join("dnf");
    std::fs::create_dir_all(&cache).unwrap();
    match dnf_problems(&repo, &cache) {
        Some(theirs) => assert_eq!(ours, theirs),
        None => eprintln!("skipping the dnf comparison: dnf is not installed"),
    }
}
