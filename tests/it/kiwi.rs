//! The kiwi phase with the real KIWI: a root-tarball description built from the compose's own
//! BaseOS tree (the description's own repository is replaced), moved into the compose's images
//! folder, listed in images.json, covered by CHECKSUM; a failable block that fails leaves the
//! compose FINISHED_INCOMPLETE.

use std::path::Path;
use std::process::Command;

use crate::common::{compose_args, compose_dir, have, kiln, mini_config, run_ok, text};

/// A KIWI description of a root tarball of the mini distro; its repository does not exist, so
/// the build works only with the repositories kiln hands to kiwi-ng.
fn description(dir: &Path, packages: &[&str]) -> std::path::PathBuf {
    let desc = dir.join("descriptions/mini-root");
    std::fs::create_dir_all(&desc).unwrap();
    let packages: String = packages
        .iter()
        .map(|p| format!("        <package name=\"{p}\"/>\n"))
        .collect();
    std::fs::write(
        desc.join("config.xml"),
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.5" name="mini-root">
    <description type="system">
        <author>kiln</author>
        <contact>kiln@example.invalid</contact>
        <specification>Mini root tarball</specification>
    </description>
    <preferences>
        <version>36.0.0</version>
        <packagemanager>dnf</packagemanager>
        <rpm-check-signatures>false</rpm-check-signatures>
        <type image="tbz"/>
    </preferences>
    <repository type="rpm-md" alias="nowhere">
        <source path="dir:///nonexistent/repo"/>
    </repository>
    <packages type="image"/>
    <packages type="bootstrap">
{packages}    </packages>
</image>
"#
        ),
    )
    .unwrap();
    dir.join("descriptions")
}

fn block(scm: &Path, extra: &str) -> String {
    format!(
        "kiwibuild:\n  \"^BaseOS$\":\n    description_scm: {}\n    description_path: mini-root\n    \
         repos: [BaseOS]\n    subvariant: Minimal\n{extra}",
        scm.display()
    )
}

fn images_json(top: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(top.join("compose/metadata/images.json")).unwrap())
        .unwrap()
}

#[test]
fn kiwi_builds_a_root_tarball_from_the_compose_repos() {
    if !have("kiwi-ng") || !have("dnf") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scm = description(dir.path(), &["mini-filesystem", "mini-bash"]);
    let cfg = mini_config(dir.path(), &block(&scm, ""));
    let out = kiln(
        &compose_args(&cfg, &["--skip-phase", "createiso"]),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.path().join("t"));

    let images = images_json(&top);
    let listed = images["payload"]["images"]["BaseOS"]["x86_64"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let tarball = listed
        .iter()
        .find(|i| i["format"] == "tar.xz")
        .unwrap_or_else(|| panic!("no tar.xz image in {images}"));
    assert_eq!(tarball["type"], "container", "{tarball}");
    assert_eq!(tarball["subvariant"], "Minimal", "{tarball}");
    assert_eq!(tarball["arch"], "x86_64", "{tarball}");
    let path = tarball["path"].as_str().unwrap();
    assert!(
        path.starts_with("BaseOS/x86_64/images/mini-root."),
        "{path}"
    );
    let file = top.join("compose").join(path);
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        tarball["size"].as_u64().unwrap()
    );

    if let Some(loaded) = crate::common::productmd_images(&top.join("compose/metadata/images.json"))
    {
        assert!(
            loaded.contains(&format!("BaseOS x86_64 container tar.xz {path}")),
            "{loaded:?}"
        );
    }
    // The tarball unpacks and holds the packages from the compose's BaseOS.
    let listing = run_ok(Command::new("tar").arg("-tJf").arg(&file));
    let listing = String::from_utf8_lossy(&listing);
    assert!(
        listing.lines().any(|l| l.ends_with("usr/bin/mini-bash")),
        "{listing}"
    );

    // imagechecksum covers it: sha256sum accepts the CHECKSUM file beside it.
    let images_dir = file.parent().unwrap();
    let sums = std::fs::read_to_string(images_dir.join("CHECKSUM")).unwrap();
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(sums.contains(name), "{sums}");
    run_ok(
        Command::new("sha256sum")
            .args(["-c", "--ignore-missing", "CHECKSUM"])
            .current_dir(images_dir),
    );
    // KIWI's build root stays in the work folder, out of the compose.
    assert!(!images_dir.join("build").exists());
}

#[test]
fn a_failable_kiwi_image_that_fails_leaves_the_compose_incomplete() {
    if !have("kiwi-ng") || !have("dnf") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A package that no repository has: kiwi-ng fails.
    let scm = description(dir.path(), &["mini-filesystem", "no-such-package"]);
    let cfg = mini_config(dir.path(), &block(&scm, "    failable: [\"*\"]\n"));
    let out = kiln(
        &compose_args(&cfg, &["--skip-phase", "createiso"]),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let top = compose_dir(&dir.path().join("t"));
    assert_eq!(
        std::fs::read_to_string(top.join("STATUS")).unwrap().trim(),
        "FINISHED_INCOMPLETE"
    );
    let deliverables: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("logs/global/deliverables.json")).unwrap())
            .unwrap();
    assert_eq!(
        deliverables["failed"]["kiwibuild"],
        serde_json::json!([["BaseOS", "x86_64", "Minimal"]]),
        "{deliverables}"
    );
}

/// Image blocks that cannot fit the compose are refused before it starts, naming the block: an
/// arch the variant lacks (kiwibuild, osbuild, image_build alike) and a KIWI type the local
/// description does not define.
#[test]
fn image_blocks_that_do_not_fit_the_compose_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let scm = description(dir.path(), &["mini-filesystem"]);
    let refused = |extra: &str| {
        let cfg = mini_config(dir.path(), extra);
        let out = kiln(&compose_args(&cfg, &[]), dir.path());
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(!dir.path().join("t").exists(), "{}", text(&out));
        text(&out)
    };
    let t = refused(&block(&scm, "    arches: [aarch64]\n"));
    assert!(
        t.contains("kiwibuild block for ^BaseOS$: arch aarch64 is not an arch of BaseOS (x86_64)"),
        "{t}"
    );
    let t = refused(&block(&scm, "    type: oem\n"));
    assert!(
        t.contains("kiwibuild block for ^BaseOS$: type oem is not one mini-root defines (tbz)"),
        "{t}"
    );
    let t = refused(
        "osbuild_target: t\nosbuild:\n  \"^BaseOS$\":\n    name: cloud\n    distro: fedora-41\n    \
         image_types: qcow2\n    arches: [s390x]\n",
    );
    assert!(
        t.contains("osbuild block for ^BaseOS$: arch s390x is not an arch of BaseOS"),
        "{t}"
    );
    let t = refused(
        "image_build_target: t\nimage_build:\n  \"^BaseOS$\":\n    image-build:\n      name: cloud\n      \
         format: qcow2\n      kickstart: k.ks\n      distro: fedora-41\n      arches: [ppc64le]\n",
    );
    assert!(
        t.contains("image_build block for ^BaseOS$: arch ppc64le is not an arch of BaseOS"),
        "{t}"
    );
}
