//! The ostree phase with the real ostree and dnf: a treefile's packages from the compose's own
//! repository committed to an archive repository; `ostree log/ls/fsck/show` judge the result; the
//! same packages again make no commit, a changed package makes one on top of the first, and
//! `--resume` after a later failure does not commit again.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{compose_args, compose_dir, have, kiln, kiln_command, mini, mini_config, text};

const REF: &str = "mini/x86_64/docs";

/// The mini config with an ostree block for AppStream, the treefile in `dir/config`, the repo at
/// `repo`, and `updates` as a second package repository when given.
fn config(dir: &Path, repo: &Path, updates: Option<&Path>) -> PathBuf {
    let tree = dir.join("config");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(
        tree.join("mini-docs.yaml"),
        "ref: mini/${basearch}/docs\npackages: [mini-docs]\nremove-files: [usr/share/doc/mini-docs/unused]\n",
    )
    .unwrap();
    let extra = format!(
        "ostree:\n  \"^AppStream$\":\n    treefile: mini-docs.yaml\n    config_url: {}\n    \
         repo: [AppStream, BaseOS]\n    ostree_repo: {}\n    version: \
         \"!OSTREE_VERSION_FROM_LABEL_DATE_TYPE_RESPIN\"\n    update_summary: true\n",
        tree.display(),
        repo.display()
    );
    let cfg = mini_config(dir, &extra);
    if let Some(u) = updates {
        let repo_line = format!("x86_64: [{}]", mini().repo.display());
        let text = std::fs::read_to_string(&cfg).unwrap().replace(
            &repo_line,
            &format!("x86_64: [{}, {}]", mini().repo.display(), u.display()),
        );
        std::fs::write(&cfg, text).unwrap();
    }
    cfg
}

fn ostree(repo: &Path, args: &[&str]) -> String {
    let out = crate::common::run_ok(
        Command::new("ostree")
            .args(args)
            .arg(format!("--repo={}", repo.display())),
    );
    String::from_utf8_lossy(&out).into_owned()
}

fn commits(repo: &Path) -> Vec<String> {
    ostree(repo, &["log", REF])
        .lines()
        .filter_map(|l| l.strip_prefix("commit "))
        .map(str::to_owned)
        .collect()
}

fn metadata(top: &Path) -> serde_json::Value {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("compose/metadata/ostree.json")).unwrap())
            .unwrap();
    m["payload"]["ostree"]["AppStream"]["x86_64"][0].clone()
}

#[test]
fn ostree_commits_the_treefile_and_only_when_it_changed() {
    if !have("ostree") || !have("dnf") {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let repo = base.path().join("ostree-repo");

    // The first commit.
    let a = base.path().join("a");
    std::fs::create_dir_all(&a).unwrap();
    let out = kiln(
        &compose_args(&config(&a, &repo, None), &["--skip-phase", "createiso"]),
        &a,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let first = commits(&repo);
    assert_eq!(first.len(), 1, "{first:?}");
    let log = ostree(&repo, &["log", REF]);
    assert!(log.contains("Version: 36.20261121.0"), "{log}");
    let files = ostree(&repo, &["ls", "-R", REF]);
    assert!(
        files.contains("/usr/share/doc/mini-docs/index.txt"),
        "{files}"
    );
    assert!(
        files.contains("/usr/share/rpm"),
        "the rpm database: {files}"
    );
    // Nothing of the build host or the compose's work folders leaks into the tree.
    for leak in [
        "/work/",
        "dnf-cache",
        "/var/cache/",
        "/var/log/",
        ".rpm.lock",
    ] {
        assert!(!files.contains(leak), "{leak} in the tree: {files}");
    }
    ostree(&repo, &["fsck"]);
    assert!(ostree(&repo, &["show", REF]).contains(&first[0]));
    assert!(repo.join("summary").is_file(), "update_summary");
    let top = compose_dir(&a.join("t"));
    let m = metadata(&top);
    assert_eq!(m["commitid"], first[0].as_str(), "{m}");
    assert_eq!(m["new_commit"], true);
    // The tree checks out and holds the package's file.
    let co = base.path().join("checkout");
    ostree(&repo, &["checkout", REF, co.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(co.join("usr/share/doc/mini-docs/index.txt")).unwrap(),
        "Docs.\n"
    );

    // The same packages: no new commit.
    let b = base.path().join("b");
    std::fs::create_dir_all(&b).unwrap();
    let out = kiln(
        &compose_args(&config(&b, &repo, None), &["--skip-phase", "createiso"]),
        &b,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(commits(&repo), first);
    assert_eq!(metadata(&compose_dir(&b.join("t")))["new_commit"], false);

    // A changed package: a new commit whose parent is the first. The last phase fails after its
    // work, and --resume finishes the compose without committing again.
    let c = base.path().join("c");
    std::fs::create_dir_all(&c).unwrap();
    let updates = crate::incremental::newer_docs(&c);
    let cfg = config(&c, &repo, Some(&updates));
    let out = kiln_command(&compose_args(&cfg, &["--skip-phase", "createiso"]), &c)
        .env("KILN_FAILPOINT", "fail:test")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let second = commits(&repo);
    assert_eq!(second.len(), 2, "{second:?}");
    assert_eq!(second[1], first[0], "the new commit's parent is the first");
    let top = compose_dir(&c.join("t"));
    let resumed = kiln(&["compose", "--resume", top.to_str().unwrap()], &c);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    assert_eq!(commits(&repo), second, "--resume committed again");
    assert_eq!(metadata(&top)["commitid"], second[0].as_str());
}

#[test]
fn an_ostree_block_with_a_typo_is_refused_with_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(
        dir.path(),
        "ostree:\n  \"^BaseOS$\":\n    treefile: t.yaml\n    config_url: /x\n    repo: BaseOS\n    \
         ostree_repo: /tmp/r\n    update_sumary: true\n",
    );
    let out = kiln(&compose_args(&cfg, &[]), dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unknown field `update_sumary`"),
        "{}",
        text(&out)
    );
    assert!(
        !dir.path().join("t").exists()
            || std::fs::read_dir(dir.path().join("t")).unwrap().count() == 0
    );
    // A treefile that is not in its local folder: named before the compose starts.
    let folder = dir.path().join("treefiles");
    std::fs::create_dir_all(&folder).unwrap();
    let cfg = mini_config(
        dir.path(),
        &format!(
            "ostree_container:\n  \"^BaseOS$\":\n    treefile: missing.yaml\n    config_url: {}\n    \
             repo: BaseOS\n",
            folder.display()
        ),
    );
    let out = kiln(&compose_args(&cfg, &[]), dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("ostree block for ^BaseOS$: no treefile missing.yaml in"),
        "{}",
        text(&out)
    );
    assert!(!dir.path().join("t").exists(), "{}", text(&out));
}

/// ostree_installer blocks are checked with the config: an unknown key, a block that names no
/// repository to embed, and a compose without buildinstall to build the installer on.
#[test]
fn ostree_installer_blocks_are_checked_before_the_compose_starts() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |extra: &str| {
        let cfg = mini_config(dir.path(), extra);
        let out = kiln(&compose_args(&cfg, &[]), dir.path());
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(!dir.path().join("t").exists(), "{}", text(&out));
        text(&out)
    };
    let typo = refused(
        "ostree_installer:\n  - [\"^BaseOS$\", {x86_64: {add_template_vars: [ostree_ref=a]}}]\n",
    );
    assert!(typo.contains("unknown field `add_template_vars`"), "{typo}");
    let nothing = refused(
        "ostree_installer:\n  - [\"^BaseOS$\", {x86_64: {add_template_var: [ostree_osname=mini]}}]\n",
    );
    assert!(
        nothing.contains("ostree_installer block for ^BaseOS$ x86_64")
            && nothing.contains("ostree_repo=PATH or URL"),
        "{nothing}"
    );
    let no_tree = refused(
        "ostree_installer:\n  - [\"^BaseOS$\", {x86_64: {add_template_var: [ostree_repo=/r, ostree_ref=a/b]}}]\n",
    );
    assert!(no_tree.contains("set buildinstall_method"), "{no_tree}");
}

/// ostree_container: the treefile committed and shipped as an OCI archive in the variant's
/// images, listed in images.json; skopeo reads it, podman loads it, and the container's file
/// system holds the package's file.
#[test]
fn ostree_container_ships_an_oci_archive_podman_loads() {
    if !have("ostree") || !have("dnf") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("config");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(
        tree.join("docs.yaml"),
        "ref: mini/${basearch}/docs\npackages: [mini-docs]\n",
    )
    .unwrap();
    let extra = format!(
        "ostree_container:\n  \"^AppStream$\":\n    treefile: docs.yaml\n    config_url: {}\n    \
         repo: [AppStream, BaseOS]\n    version: \"!OSTREE_VERSION_FROM_LABEL_DATE_TYPE_RESPIN\"\n",
        tree.display()
    );
    let cfg = mini_config(dir.path(), &extra);
    let out = kiln(
        &compose_args(&cfg, &["--skip-phase", "createiso"]),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.path().join("t"));
    let rel = "AppStream/x86_64/images/Mini-AppStream-36.20261121.0.ociarchive";
    let archive = top.join("compose").join(rel);
    assert!(archive.is_file(), "{}", archive.display());
    let images: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("compose/metadata/images.json")).unwrap())
            .unwrap();
    let listed = images["payload"]["images"]["AppStream"]["x86_64"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == rel)
        .unwrap_or_else(|| panic!("{rel} is not in images.json: {images:#}"))
        .clone();
    assert_eq!(listed["type"], "ociarchive");
    assert_eq!(listed["format"], "ociarchive");

    if have("skopeo") {
        let out = crate::common::run_ok(
            Command::new("skopeo")
                .arg("inspect")
                .arg(format!("oci-archive:{}", archive.display())),
        );
        let info: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(info["Layers"].as_array().unwrap().len(), 1, "{info:#}");
        assert_eq!(info["Labels"]["ostree.ref"], "mini/x86_64/docs");
        assert_eq!(info["Architecture"], "amd64");
    }
    if have("podman") {
        let image = "localhost/mini-appstream:36.20261121.0";
        let podman = |args: &[&str]| crate::common::run_ok(Command::new("podman").args(args));
        let loaded = podman(&["load", "-i", archive.to_str().unwrap()]);
        assert!(
            String::from_utf8_lossy(&loaded).contains(image),
            "{}",
            String::from_utf8_lossy(&loaded)
        );
        let name = format!("kiln-test-{}", std::process::id());
        podman(&["create", "--name", &name, image, "/none"]);
        let export = dir.path().join("rootfs.tar");
        podman(&["export", "-o", export.to_str().unwrap(), &name]);
        podman(&["rm", &name]);
        podman(&["rmi", image]);
        let out = Command::new("tar")
            .arg("-xOf")
            .arg(&export)
            .arg("usr/share/doc/mini-docs/index.txt")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "Docs.\n");
    }
}

/// A test double for rpm-ostree, which cannot be installed here: it records how kiln calls it
/// and leaves what rpm-ostree leaves (a commit made with the real ostree, the commit ID file and
/// the stamp; or, with `DOUBLE_UNCHANGED`, neither, as when the tree did not change).
const RPM_OSTREE_DOUBLE: &str = r#"#!/bin/sh
echo "$*" >> "$DOUBLE_LOG"
case "$1 $2" in
"--version "*)
  echo "rpm-ostree: test double"
  ;;
"compose tree")
  shift 2
  for a; do case "$a" in
    --repo=*) REPO=${a#--repo=};;
    --write-commitid-to=*) IDF=${a#--write-commitid-to=};;
    --touch-if-changed=*) STAMP=${a#--touch-if-changed=};;
    --*) ;;
    *) TREEFILE=$a;;
  esac; done
  cp "$TREEFILE" "$DOUBLE_LOG.treefile"
  cp "$(dirname "$TREEFILE")/pungi.repo" "$DOUBLE_LOG.repo"
  [ -n "$DOUBLE_UNCHANGED" ] && exit 0
  ROOT=$(mktemp -d); mkdir -p "$ROOT/usr/share"; cp "$TREEFILE" "$ROOT/usr/share/treefile.json"
  ostree commit --repo="$REPO" --orphan --tree=dir="$ROOT" --subject=double > "$IDF" && touch "$STAMP"
  ;;
"compose image")
  for a; do OUT=$a; done
  echo "an OCI archive" > "$OUT"
  ;;
esac
"#;

/// `ostree_method: rpm-ostree`: kiln calls rpm-ostree with pungi's arguments and a treefile
/// rewritten as pungi's tweak_treeconf does, moves the ref to the commit rpm-ostree reports,
/// keeps the ref when rpm-ostree made no commit, and runs `compose image` for containers.
#[test]
fn rpm_ostree_is_driven_with_pungis_arguments() {
    if !have("ostree") {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let bin = base.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let double = bin.join("rpm-ostree");
    std::fs::write(&double, RPM_OSTREE_DOUBLE).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&double, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let repo = base.path().join("ostree-repo");
    let tree = base.path().join("config");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(
        tree.join("docs.yaml"),
        "ref: mini/${basearch}/docs\nrepos: [fedora]\npackages: [mini-docs]\n",
    )
    .unwrap();
    let compose = |name: &str, unchanged: bool| {
        let dir = base.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let extra = format!(
            "ostree_method: rpm-ostree\nostree:\n  \"^AppStream$\":\n    treefile: docs.yaml\n    \
             config_url: {t}\n    repo: [AppStream, BaseOS]\n    ostree_repo: {r}\n    \
             version: \"36.1\"\n    force_new_commit: true\n    update_summary: true\n\
             ostree_container:\n  \"^AppStream$\":\n    treefile: docs.yaml\n    config_url: {t}\n    \
             repo: BaseOS\n    version: \"36.1\"\n",
            t = tree.display(),
            r = repo.display()
        );
        let cfg = mini_config(&dir, &extra);
        let log = dir.join("double.log");
        let mut cmd = kiln_command(&compose_args(&cfg, &["--skip-phase", "createiso"]), &dir);
        cmd.env("PATH", &path).env("DOUBLE_LOG", &log);
        if unchanged {
            cmd.env("DOUBLE_UNCHANGED", "1");
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        (dir, log)
    };

    let (a, log) = compose("a", false);
    let calls = std::fs::read_to_string(&log).unwrap();
    let mut lines = calls.lines().filter(|l| l.starts_with("compose "));
    let work = compose_dir(&a.join("t")).join("work/x86_64/ostree-1");
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "compose tree --repo={} --write-commitid-to={w}/commitid.log \
             --touch-if-changed={w}/commitid.log.stamp --add-metadata-string=version=36.1 \
             --force-nocache {w}/config/docs.json",
            repo.display(),
            w = work.display()
        )
    );
    let container_work = compose_dir(&a.join("t")).join("work/x86_64/ostree-2");
    let archive = compose_dir(&a.join("t"))
        .join("compose/AppStream/x86_64/images/Mini-AppStream-36.1.ociarchive");
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "compose image --initialize --touch-if-changed={w}/Mini-AppStream-36.1.stamp \
             {w}/config/docs.json {}",
            archive.display(),
            w = container_work.display()
        )
    );
    // The treefile rpm-ostree got: the block's repos instead of its own, as pungi.repo holds them.
    let treefile: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("config/docs.json")).unwrap()).unwrap();
    assert_eq!(treefile["repos"], serde_json::json!(["repo-0", "repo-1"]));
    assert_eq!(treefile["ref"], "mini/${basearch}/docs");
    let repo_file = std::fs::read_to_string(work.join("config/pungi.repo")).unwrap();
    assert!(
        repo_file.contains("[repo-0]\nname=repo-0\nbaseurl=file://")
            && repo_file.contains("/compose/AppStream/x86_64/os\n"),
        "{repo_file}"
    );
    // The ref points at the commit rpm-ostree reported; ostree.json says so.
    let reported = std::fs::read_to_string(work.join("commitid.log")).unwrap();
    assert_eq!(commits(&repo), vec![reported.trim().to_owned()]);
    let m = metadata(&compose_dir(&a.join("t")));
    assert_eq!(m["commitid"], reported.trim());
    assert_eq!(m["new_commit"], true);
    assert!(repo.join("summary").is_file(), "update_summary");
    let images =
        std::fs::read_to_string(compose_dir(&a.join("t")).join("compose/metadata/images.json"))
            .unwrap();
    assert!(
        images.contains("AppStream/x86_64/images/Mini-AppStream-36.1.ociarchive"),
        "{images}"
    );

    // rpm-ostree made no commit: the ref stays, and the compose says the tree was unchanged.
    let (b, _) = compose("b", true);
    assert_eq!(commits(&repo), vec![reported.trim().to_owned()]);
    let m = metadata(&compose_dir(&b.join("t")));
    assert_eq!(m["commitid"], reported.trim());
    assert_eq!(m["new_commit"], false);
}

/// rpm-ostree chosen but not installed: named before the compose starts.
#[test]
fn a_missing_rpm_ostree_is_named_at_start_up() {
    if kiln_engine::find_on_path("rpm-ostree").is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(
        dir.path(),
        "ostree_method: rpm-ostree\nostree:\n  \"^BaseOS$\":\n    treefile: t.yaml\n    \
         config_url: /x\n    repo: BaseOS\n    ostree_repo: /tmp/r\n",
    );
    let out = kiln(&compose_args(&cfg, &[]), dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("rpm-ostree") && t.contains("dnf install rpm-ostree"),
        "{t}"
    );
    assert!(!dir.path().join("t").exists(), "{t}");
}

/// A test double for lorax, which is not packaged for Debian: it records its arguments and
/// leaves a real boot.iso where lorax writes it.
const LORAX_DOUBLE: &str = r#"#!/bin/sh
# lorax names its version with -V (its --version is the product's).
case "$1" in -V) echo "lorax-40.0"; exit 0;; esac
echo "$*" >> "$DOUBLE_LOG"
for a; do OUT=$a; done
mkdir -p "$OUT/images"
cp "$DOUBLE_BOOT_ISO" "$OUT/images/boot.iso"
"#;

/// With lorax trees (`buildinstall_method: lorax`), ostree_installer is pungi's: lorax with the
/// block's templates (relative ones from `template_repo`) and variables, the block's repos and
/// the package set's; its boot.iso becomes the `dvd-ostree` image.
#[test]
fn the_ostree_installer_runs_lorax_with_the_templates_when_trees_come_from_lorax() {
    if !have("xorriso") || !have("git") || !have("mksquashfs") || !have("grub-mkstandalone") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let double = bin.join("lorax");
    std::fs::write(&double, LORAX_DOUBLE).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&double, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The image lorax "makes" (the boot tests' real, bootable boot.iso), and a template
    // repository to clone.
    let boot_iso = xtask::fixtures::boot::boot_tree_cached()
        .expect("building the boot tree")
        .tree
        .join("images/boot.iso");
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(templates.join("ostree-based-installer")).unwrap();
    std::fs::write(
        templates.join("ostree-based-installer/lorax-embed-repo.tmpl"),
        "## template\n",
    )
    .unwrap();
    for args in [
        &["init", "--quiet", "--initial-branch=main"][..],
        &["add", "."],
        &[
            "-c",
            "user.name=k",
            "-c",
            "user.email=k@k",
            "commit",
            "--quiet",
            "-m",
            "t",
        ],
    ] {
        crate::common::run_ok(Command::new("git").args(args).current_dir(&templates));
    }
    let extra = format!(
        "buildinstall_method: lorax\n\
         ostree_installer:\n  - [\"^BaseOS$\", {{x86_64: {{repo: [AppStream], template_repo: \"file://{}\", \
         template_branch: main, add_template: [ostree-based-installer/lorax-embed-repo.tmpl], \
         add_template_var: [ostree_osname=mini, ostree_repo=https://ostree.example/repo, \
         ostree_ref=mini/x86_64/docs], installpkgs: [mini-installer], rootfs_size: 3}}}}]\n",
        templates.display()
    );
    let cfg = mini_config(dir.path(), &extra);
    let log = dir.path().join("lorax.log");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = kiln_command(
        &compose_args(
            &cfg,
            &["--skip-phase", "buildinstall", "--skip-phase", "createiso"],
        ),
        dir.path(),
    )
    .env("PATH", &path)
    .env("DOUBLE_LOG", &log)
    .env("DOUBLE_BOOT_ISO", &boot_iso)
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.path().join("t"));
    let work = top.join("work/x86_64/BaseOS");
    let calls = std::fs::read_to_string(&log).unwrap();
    let repo_root = crate::common::mini().repo.clone();
    assert_eq!(
        calls.trim(),
        format!(
            "--product=Mini Linux --version=36 --release=36 --source=file://{appstream} \
             --source=file://{pkgset} --variant=BaseOS --nomacboot --buildarch=x86_64 \
             --volid=Mini-36 BaseOS.x86_64 --installpkgs=mini-installer \
             --add-template={work}/lorax_templates-1/ostree-based-installer/lorax-embed-repo.tmpl \
             --add-template-var=ostree_osname=mini \
             --add-template-var=ostree_repo=https://ostree.example/repo \
             --add-template-var=ostree_ref=mini/x86_64/docs \
             --logfile={logs}/ostree_installer-1-BaseOS-logs/lorax.log --rootfs-size=3 \
             {work}/ostree_installer-1",
            appstream = top.join("compose/AppStream/x86_64/os").display(),
            pkgset = repo_root.display(),
            work = work.display(),
            logs = top.join("logs/x86_64").display(),
        )
    );
    let images: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("compose/metadata/images.json")).unwrap())
            .unwrap();
    let image = images["payload"]["images"]["BaseOS"]["x86_64"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "dvd-ostree")
        .unwrap_or_else(|| panic!("no dvd-ostree image: {images}"))
        .clone();
    assert_eq!(
        image["path"],
        "BaseOS/x86_64/iso/Mini-36-20261121.0-BaseOS-x86_64-ostree.iso"
    );
    assert_eq!(image["volume_id"], xtask::fixtures::boot::TREE_LABEL);
    assert_eq!(
        std::fs::read(top.join("compose").join(image["path"].as_str().unwrap())).unwrap(),
        std::fs::read(&boot_iso).unwrap()
    );
}
