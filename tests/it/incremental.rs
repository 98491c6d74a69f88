//! Composes that start from an earlier one: after a package changes, the new compose reuses the
//! old compose's unchanged repodata and ISOs, and ends byte-identical to a compose made from
//! scratch of the same input.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::common::{compose_args, compose_dir, files, have, kiln, logs, mini_config, text};
use xtask::fixtures::spec::{BinSpec, BuildOpts, FileKind, FileSpec, SrcSpec};

/// A folder with mini-docs 1.1, newer than the mini distro's 1.0 (AppStream ships it).
pub(crate) fn newer_docs(dir: &Path) -> PathBuf {
    let src = SrcSpec {
        name: "mini-docs".into(),
        version: "1.1".into(),
        release: "1.mini36".into(),
        license: "MIT".into(),
        summary: "Documentation".into(),
        description: "Documentation, updated.".into(),
        source_size: 64,
        binaries: vec![BinSpec {
            name: "mini-docs".into(),
            arch: "noarch".into(),
            summary: "Documentation".into(),
            description: "Documentation.".into(),
            files: vec![FileSpec::text(
                "/usr/share/doc/mini-docs/index.txt",
                FileKind::Doc,
                "Docs, second edition.\n",
            )],
            ..BinSpec::default()
        }],
        ..SrcSpec::default()
    };
    let out = dir.join("updates");
    std::fs::create_dir_all(&out).unwrap();
    let opts = BuildOpts::default();
    let bin = xtask::fixtures::spec::build_binary(&src, &src.binaries[0], &opts).unwrap();
    xtask::fixtures::write_with_mtime(
        &out.join(src.rpm_file_name(&src.binaries[0])),
        &bin,
        1_700_000_000,
    )
    .unwrap();
    let srpm = xtask::fixtures::spec::build_source(&src, &opts).unwrap();
    xtask::fixtures::write_with_mtime(&out.join(src.srpm_file_name()), &srpm, 1_700_000_000)
        .unwrap();
    out
}

/// The mini config in `dir`, with `updates` as a second package repository when given.
pub(crate) fn config(dir: &Path, updates: Option<&Path>) -> PathBuf {
    let cfg = mini_config(dir, "");
    if let Some(u) = updates {
        let m = crate::common::mini();
        let repo = m.repo.display().to_string();
        let text = std::fs::read_to_string(&cfg).unwrap().replace(
            &format!("x86_64: [{repo}]"),
            &format!("x86_64: [{repo}, {}]", u.display()),
        );
        assert!(text.contains(&*u.to_string_lossy()));
        std::fs::write(&cfg, text).unwrap();
    }
    cfg
}

fn recipe(top: &Path, name_part: &str) -> serde_json::Value {
    let dir = top.join("work/x86_64/iso");
    let path = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.contains(name_part) && n.ends_with("-recipe.json")
        })
        .unwrap_or_else(|| panic!("no recipe for {name_part} in {}", dir.display()));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn inode(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().ino()
}

#[test]
fn a_compose_after_a_package_change_reuses_what_did_not_change_and_equals_a_fresh_one() {
    if !have("xorriso") {
        return;
    }
    // The earlier compose.
    let a = tempfile::tempdir().unwrap();
    let out = kiln(&compose_args(&config(a.path(), None), &[]), a.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let old = compose_dir(&a.path().join("t"));

    // mini-docs changes: AppStream changes, BaseOS does not.
    let b = tempfile::tempdir().unwrap();
    let updates = newer_docs(b.path());
    let cfg = config(b.path(), Some(&updates));
    let old_dir = a.path().join("t");
    let out = kiln(
        &compose_args(&cfg, &["--old-composes", old_dir.to_str().unwrap()]),
        b.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("reusing what has not changed from"),
        "{}",
        text(&out)
    );
    let new = compose_dir(&b.path().join("t"));

    // The same input from scratch.
    let c = tempfile::tempdir().unwrap();
    let cfg_c = config(c.path(), Some(&newer_docs(c.path())));
    let out = kiln(&compose_args(&cfg_c, &["--no-old-composes"]), c.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let fresh = compose_dir(&c.path().join("t"));

    let got = files(&new.join("compose"));
    let want = files(&fresh.join("compose"));
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want));
    for ((n, g), (_, w)) in got.iter().zip(&want) {
        assert!(g == w, "{n} differs from the fresh compose's");
    }
    assert!(
        names(&got).iter().any(|n| n.contains("mini-docs-1.1")),
        "the change is not in the compose"
    );

    // BaseOS's DVD and repodata are the old compose's files; AppStream's DVD was made again.
    let base = recipe(&new, "BaseOS-x86_64-dvd1");
    let base_iso = new.join(base["image"].as_str().unwrap());
    let reused_from = PathBuf::from(base["reused_from"].as_str().expect("BaseOS reused"));
    assert!(reused_from.starts_with(&old), "{reused_from:?}");
    assert_eq!(inode(&base_iso), inode(&reused_from));
    let app = recipe(&new, "AppStream-x86_64-dvd1");
    assert!(app["reused_from"].is_null(), "AppStream changed: {app}");
    let repomd = "compose/BaseOS/x86_64/os/repodata/repomd.xml";
    assert_eq!(inode(&new.join(repomd)), inode(&old.join(repomd)));
    let app_repomd = "compose/AppStream/x86_64/os/repodata/repomd.xml";
    assert_ne!(inode(&new.join(app_repomd)), inode(&old.join(app_repomd)));
}

/// A compose whose package set and variants are the old compose's takes its gather results
/// from it (and says so); one config change that touches a variant's inputs solves again.
#[test]
fn gather_results_are_reused_when_nothing_they_are_made_of_changed() {
    let a = tempfile::tempdir().unwrap();
    let cfg = config(a.path(), None);
    let phases = [
        "--just-phase",
        "init",
        "--just-phase",
        "pkgset",
        "--just-phase",
        "gather",
    ];
    let out = kiln(&compose_args(&cfg, &phases), a.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let old = compose_dir(&a.path().join("t"));
    assert!(!logs(&old).contains("gather results are reused"));

    let again = |cfg: &Path| -> PathBuf {
        let out = kiln(&compose_args(cfg, &phases), a.path());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(a.path().join("t"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir() && !p.is_symlink())
            .collect();
        dirs.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
        dirs.pop().unwrap()
    };
    let new = again(&cfg);
    assert_ne!(new, old);
    assert!(
        logs(&new).contains("gather results are reused"),
        "{}",
        logs(&new)
    );
    for v in ["BaseOS", "AppStream"] {
        let result = format!("work/x86_64/gather/{v}.x86_64.json");
        assert_eq!(
            std::fs::read(new.join(&result)).unwrap(),
            std::fs::read(old.join(&result)).unwrap(),
            "{result}"
        );
    }
    let payload = |top: &Path| crate::common::metadata(top, "rpms.json")["payload"]["rpms"].clone();
    assert_eq!(payload(&new), payload(&old));
    assert!(
        new.join("compose/BaseOS/x86_64/os/Packages").is_dir(),
        "a reused result is still linked"
    );

    // AppStream's filter changes: the arch is solved again, and the change is in its result.
    let text_cfg = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text_cfg.replace(
            "{\"*\": [mini-filtered]}]",
            "{\"*\": [mini-filtered]}]\n  - [\"^AppStream$\", {\"*\": [mini-nginx]}]",
        ),
    )
    .unwrap();
    let changed = again(&cfg);
    assert!(!logs(&changed).contains("gather results are reused"));
    let app =
        std::fs::read_to_string(changed.join("work/x86_64/gather/AppStream.x86_64.json")).unwrap();
    assert!(!app.contains("mini-nginx-"), "{app}");
    let old_app =
        std::fs::read_to_string(old.join("work/x86_64/gather/AppStream.x86_64.json")).unwrap();
    assert!(
        old_app.contains("mini-nginx-"),
        "the old compose shipped it"
    );
}

/// pungi's `createiso_allow_reuse: false`: every image is made again, to the same bytes.
#[test]
fn createiso_allow_reuse_false_makes_every_image_afresh() {
    if !have("xorriso") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = kiln(&compose_args(&config(dir.path(), None), &[]), dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let old = compose_dir(&dir.path().join("t"));
    let old_base = recipe(&old, "BaseOS-x86_64-dvd1");

    let cfg = config(dir.path(), None);
    let yaml = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{yaml}\ncreateiso_allow_reuse: false\n")).unwrap();
    let out = kiln(&compose_args(&cfg, &[]), dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let new = compose_dir(&dir.path().join("t"));
    assert_ne!(new, old);
    let base = recipe(&new, "BaseOS-x86_64-dvd1");
    assert!(base["reused_from"].is_null(), "{base}");
    assert_eq!(base["recipe"], old_base["recipe"], "the same recipe");
    let iso = |top: &Path, r: &serde_json::Value| top.join(r["image"].as_str().unwrap());
    assert_ne!(inode(&iso(&new, &base)), inode(&iso(&old, &old_base)));
    assert!(
        std::fs::read(iso(&new, &base)).unwrap() == std::fs::read(iso(&old, &old_base)).unwrap(),
        "made again, the DVD must still be the same bytes"
    );
}
