//! `kiln why` on the mini compose: the chain from a package down to the comps group that asked
//! for it, and why packages are not shipped (filtered, absent from the package set, unneeded).

use crate::common::{compose_args, compose_dir, kiln, mini_config, text};

#[test]
fn kiln_why_walks_the_chain_and_explains_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let out = kiln(
        &compose_args(&mini_config(dir.path(), ""), &["--skip-phase", "createiso"]),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.path().join("t"));
    let top = top.to_str().unwrap();

    let out = kiln(
        &["why", top, "mini-glibc-common", "--variant", "BaseOS"],
        dir.path(),
    );
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("BaseOS.x86_64 (os):"), "{shown}");
    assert!(
        shown.contains(
            "mini-glibc-common-2.35-3.mini36.x86_64: required by mini-glibc-2.35-3.mini36.x86_64 (mini-glibc-common = 2.35-3.mini36)"
        ),
        "{shown}"
    );
    assert!(
        shown.contains(
            "mini-glibc-2.35-3.mini36.x86_64: an input (pattern mini-glibc) from comps group core"
        ),
        "{shown}"
    );

    // The chain is real: BaseOS's own repodata says mini-glibc requires it.
    let repo = std::path::Path::new(top).join("compose/BaseOS/x86_64/os");
    let reader = kiln_repodata::RepoReader::open(&repo).unwrap();
    let glibc = reader
        .map(|r| r.unwrap().0)
        .find(|p| p.name == "mini-glibc" && p.arch == "x86_64")
        .expect("mini-glibc in BaseOS's primary.xml");
    assert!(
        glibc.requires.iter().any(|d| d.name == "mini-glibc-common"),
        "{:?}",
        glibc.requires
    );

    // AppStream leaves it to BaseOS, its lookaside.
    let out = kiln(
        &["why", top, "mini-glibc-common", "--variant", "AppStream"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("BaseOS ships it"), "{}", text(&out));

    let out = kiln(&["why", top, "mini-filtered"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains(
            "BaseOS.x86_64: not shipped: filter_packages removes it (pattern mini-filtered)"
        ),
        "{}",
        text(&out)
    );
    let out = kiln(
        &["why", top, "mini-glibc.i686", "--variant", "BaseOS"],
        dir.path(),
    );
    assert!(
        text(&out).contains(
            "mini-glibc-2.35-3.mini36.i686 is of a multilib arch of x86_64: only the `multilib` methods bring such packages in"
        ),
        "{}",
        text(&out)
    );
    // An older version: the package set keeps the newest of each name.
    let out = kiln(
        &[
            "why",
            top,
            "mini-editor-1.0-1.mini36.x86_64",
            "--variant",
            "AppStream",
        ],
        dir.path(),
    );
    assert!(
        text(&out).contains("the package set has another version (")
            && text(&out).contains("mini-editor-1.1-1.mini36.x86_64)"),
        "{}",
        text(&out)
    );
    let out = kiln(
        &["why", top, "mini-unused", "--variant", "BaseOS"],
        dir.path(),
    );
    assert!(
        text(&out).contains("nothing in the variant requires it and no input names it"),
        "{}",
        text(&out)
    );
    let out = kiln(
        &["why", top, "no-such-package", "--variant", "BaseOS"],
        dir.path(),
    );
    assert!(
        text(&out).contains("no package of the x86_64 package set is named no-such-package"),
        "{}",
        text(&out)
    );
    let out = kiln(&["why", "/nonexistent", "x"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// The reasons fulltree and multilib give, on a compose that uses both, checked against the
/// repodata: the fulltree package shares its source RPM with the one it came with.
#[test]
fn kiln_why_names_fulltree_and_multilib() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(
        dir.path(),
        "gather_fulltree: true\nmultilib:\n  - [\"^BaseOS$\", {\"x86_64\": [devel]}]\n",
    );
    let out = kiln(
        &compose_args(&cfg, &["--skip-phase", "createiso"]),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.path().join("t"));
    let t = top.to_str().unwrap();

    let out = kiln(
        &["why", t, "mini-glibc-devel.i686", "--variant", "BaseOS"],
        dir.path(),
    );
    let shown = text(&out);
    assert!(
        shown.contains("mini-glibc-devel-2.35-3.mini36.i686: the multilib copy of mini-glibc-devel-2.35-3.mini36.x86_64"),
        "{shown}"
    );
    assert!(shown.contains("from additional_packages"), "{shown}");

    let out = kiln(
        &["why", t, "mini-systemd-doc", "--variant", "BaseOS"],
        dir.path(),
    );
    let shown = text(&out);
    assert!(
        shown.contains("mini-systemd-doc-250.3-1.mini36.noarch: built from the same source as mini-systemd-250.3-1.mini36.x86_64 (fulltree)"),
        "{shown}"
    );
    let repo = std::path::Path::new(t).join("compose/BaseOS/x86_64/os");
    let packages: Vec<kiln_rpm::Package> = kiln_repodata::RepoReader::open(&repo)
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect();
    let src = |name: &str| {
        packages
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.sourcerpm.clone())
            .unwrap_or_else(|| panic!("{name} is not in BaseOS's primary.xml"))
    };
    assert_eq!(src("mini-systemd-doc"), src("mini-systemd"));
}
