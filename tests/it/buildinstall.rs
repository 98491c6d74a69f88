//! buildinstall with a prebuilt lorax tree (`buildinstall_method: import`), through the `kiln`
//! binary: the tree's boot configs point at the DVD, in the tree and inside efiboot.img; the DVD
//! boots by BIOS and UEFI El Torito; boot.iso is the variant's boot image in images.json. The
//! lorax-shaped tree is built here from syslinux's real isolinux.bin, an mtools FAT image and a
//! small real ISO; booting it under qemu is the next step (issue 8).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{compose_args, compose_dir, have, kiln, logs, mini_config, text};

const OLD_LABEL: &str = "Lorax-Boot-Label";
const DVD_LABEL: &str = "Mini-36 BaseOS.x86_64";

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tools() -> bool {
    [
        "xorriso",
        "mformat",
        "mcopy",
        "implantisomd5",
        "checkisomd5",
    ]
    .iter()
    .all(|t| have(t))
        && Path::new("/usr/lib/ISOLINUX/isolinux.bin").is_file()
}

/// A legacy-layout lorax tree (isolinux + efiboot.img) whose configs name `OLD_LABEL`.
fn lorax_tree(root: &Path) -> PathBuf {
    let tree = root.join("lorax-tree");
    for d in ["isolinux", "EFI/BOOT", "images/pxeboot", "bootiso"] {
        std::fs::create_dir_all(tree.join(d)).unwrap();
    }
    std::fs::copy(
        "/usr/lib/ISOLINUX/isolinux.bin",
        tree.join("isolinux/isolinux.bin"),
    )
    .unwrap();
    std::fs::write(
        tree.join("isolinux/isolinux.cfg"),
        format!(
            "default linux\nlabel linux\n  kernel vmlinuz\n  append initrd=initrd.img inst.stage2=hd:LABEL={OLD_LABEL} quiet\n"
        ),
    )
    .unwrap();
    let grub = format!(
        "set timeout=5\nsearch --no-floppy --set=root -l '{OLD_LABEL}'\nmenuentry 'Install' {{\n  linuxefi /images/pxeboot/vmlinuz inst.stage2=hd:LABEL={OLD_LABEL} quiet\n  initrdefi /images/pxeboot/initrd.img\n}}\n"
    );
    std::fs::write(tree.join("EFI/BOOT/grub.cfg"), &grub).unwrap();
    for (f, bytes) in [
        ("images/pxeboot/vmlinuz", b"a kernel".as_slice()),
        ("images/pxeboot/initrd.img", b"an initrd"),
        ("images/install.img", b"a stage2 image"),
        ("isolinux/vmlinuz", b"a kernel"),
        ("isolinux/initrd.img", b"an initrd"),
    ] {
        std::fs::write(tree.join(f), bytes).unwrap();
    }
    // The ESP image, with the same grub.cfg inside.
    crate::common::esp_image(
        &tree.join("images/efiboot.img"),
        &[("grub.cfg", grub.as_bytes())],
    );
    // lorax's boot.iso: its own label, BIOS-bootable and hybrid, its own implanted MD5.
    std::fs::create_dir_all(tree.join("bootiso/isolinux")).unwrap();
    std::fs::copy(
        "/usr/lib/ISOLINUX/isolinux.bin",
        tree.join("bootiso/isolinux/isolinux.bin"),
    )
    .unwrap();
    let boot = tree.join("images/boot.iso");
    run(Command::new("xorriso")
        .args(["-as", "mkisofs", "-volid", OLD_LABEL])
        .args(["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat"])
        .args(["-no-emul-boot", "-boot-load-size", "4", "-boot-info-table"])
        .args(["-isohybrid-mbr", "/usr/lib/ISOLINUX/isohdpfx.bin"])
        .args(["--modification-date=2026112100000000", "-o"])
        .arg(&boot)
        .arg(tree.join("bootiso")));
    std::fs::remove_dir_all(tree.join("bootiso")).unwrap();
    run(Command::new("implantisomd5").arg(&boot));
    std::fs::write(
        tree.join(".treeinfo"),
        "[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n[release]\nname = Mini Linux\nshort = Mini\nversion = 36\n\n\
         [tree]\narch = x86_64\nbuild_timestamp = 1795219200\nplatforms = x86_64\nvariants = BaseOS\n\n\
         [images-x86_64]\nboot.iso = images/boot.iso\nefiboot.img = images/efiboot.img\ninitrd = images/pxeboot/initrd.img\nkernel = images/pxeboot/vmlinuz\n\n\
         [stage2]\nmainimage = images/install.img\n",
    )
    .unwrap();
    tree
}

fn import_config(dir: &Path, source: &Path) -> PathBuf {
    mini_config(
        dir,
        &format!(
            "buildinstall_method: import\nbuildinstall_import:\n  - [\"^BaseOS$\", {{x86_64: \"{}\"}}]\n",
            source.display()
        ),
    )
}

const DVD: &str = "compose/BaseOS/x86_64/iso/Mini-36-20261121.0-BaseOS-x86_64-dvd1.iso";
const BOOT: &str = "compose/BaseOS/x86_64/iso/Mini-36-20261121.0-BaseOS-x86_64-boot.iso";

#[test]
fn an_imported_lorax_tree_makes_the_dvd_bootable_and_boot_iso_a_boot_image() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tree = lorax_tree(dir.path());
    let cfg = import_config(dir.path(), &tree);
    let out = kiln(&compose_args(&cfg, &[]), dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.path().join("t"));
    let os = top.join("compose/BaseOS/x86_64/os");

    // Every label now names the DVD: kernel arguments escape the space, grub quotes it.
    let isolinux = std::fs::read_to_string(os.join("isolinux/isolinux.cfg")).unwrap();
    assert!(
        isolinux.contains("inst.stage2=hd:LABEL=Mini-36\\x20BaseOS.x86_64 quiet"),
        "{isolinux}"
    );
    let grub = std::fs::read_to_string(os.join("EFI/BOOT/grub.cfg")).unwrap();
    assert!(grub.contains(&format!("-l '{DVD_LABEL}'")), "{grub}");
    let esp = run(Command::new("mtype")
        .arg("-i")
        .arg(os.join("images/efiboot.img"))
        .arg("::/EFI/BOOT/grub.cfg"));
    assert!(esp.contains(&format!("-l '{DVD_LABEL}'")), "{esp}");
    assert!(
        esp.contains("inst.stage2=hd:LABEL=Mini-36\\x20BaseOS.x86_64"),
        "{esp}"
    );
    for text in [&isolinux, &grub, &esp] {
        assert!(!text.contains(OLD_LABEL), "{text}");
    }
    // The imported tree itself is left as it was.
    let original = std::fs::read_to_string(tree.join("isolinux/isolinux.cfg")).unwrap();
    assert!(original.contains(OLD_LABEL));

    // The tree's .treeinfo lists lorax's boot images and stage2, with checksums.
    let ti = std::fs::read_to_string(os.join(".treeinfo")).unwrap();
    for line in [
        "[images-x86_64]",
        "efiboot.img = images/efiboot.img",
        "kernel = images/pxeboot/vmlinuz",
        "[stage2]",
        "mainimage = images/install.img",
        "images/efiboot.img = sha256:",
    ] {
        assert!(ti.contains(line), "{line} missing in\n{ti}");
    }

    // productmd reads the same back.
    let check = Command::new("python3")
        .args([
            "-c",
            "import sys, productmd.treeinfo as t; ti = t.TreeInfo(); ti.load(sys.argv[1]); \
             print(ti.images.images['x86_64']['kernel'], ti.stage2.mainimage)",
        ])
        .arg(os.join(".treeinfo"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        "images/pxeboot/vmlinuz images/install.img"
    );

    // The DVD boots by BIOS and by UEFI, carries the DVD label, and not boot.iso.
    let dvd = top.join(DVD);
    let report = run(Command::new("xorriso").arg("-indev").arg(&dvd).args([
        "-report_el_torito",
        "plain",
        "-pvd_info",
    ]));
    assert!(
        report.contains("El Torito boot img :   1  BIOS"),
        "{report}"
    );
    assert!(
        report.contains("El Torito boot img :   2  UEFI"),
        "{report}"
    );
    assert!(
        report.contains(&format!("Volume Id    : {DVD_LABEL}")),
        "{report}"
    );
    run(Command::new("checkisomd5").arg(&dvd));
    let manifest = std::fs::read_to_string(format!("{}.manifest", dvd.display())).unwrap();
    assert!(manifest.contains("/isolinux/isolinux.cfg\n"), "{manifest}");
    assert!(!manifest.contains("/images/boot.iso"), "{manifest}");

    // boot.iso is the variant's boot image, with lorax's label and implanted MD5.
    let boot = top.join(BOOT);
    let sum = run(Command::new("checkisomd5").arg("--md5sumonly").arg(&boot));
    let md5 = kiln_iso::md5::parse_md5sumonly(&sum).unwrap();
    let images: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("compose/metadata/images.json")).unwrap())
            .unwrap();
    let list = images["payload"]["images"]["BaseOS"]["x86_64"]
        .as_array()
        .unwrap();
    let b = list
        .iter()
        .find(|i| i["type"] == "boot")
        .unwrap_or_else(|| panic!("no boot image in {list:?}"));
    assert_eq!(
        b["path"],
        "BaseOS/x86_64/iso/Mini-36-20261121.0-BaseOS-x86_64-boot.iso"
    );
    assert_eq!(b["volume_id"], OLD_LABEL);
    assert_eq!(b["implant_md5"], md5.as_str());
    assert_eq!(b["bootable"], true);
    assert_eq!(
        b["size"].as_u64(),
        Some(std::fs::metadata(&boot).unwrap().len())
    );
    // productmd, which no one here wrote, reads the boot image back.
    let check = Command::new("python3")
        .args([
            "-c",
            "import sys, productmd.images as i; m = i.Images(); m.load(sys.argv[1]); \
             print(sorted(x.type for x in m.images['BaseOS']['x86_64']))",
        ])
        .arg(top.join("compose/metadata/images.json"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        "['boot', 'dvd', 'dvd']"
    );
    // CHECKSUM covers it, and sha256sum agrees.
    let sums = std::fs::read_to_string(boot.with_file_name("CHECKSUM")).unwrap();
    let line = sums
        .lines()
        .find(|l| l.starts_with("SHA256 (") && l.contains("-boot.iso"))
        .unwrap_or_else(|| panic!("{sums}"));
    let list = dir.path().join("boot.sha256");
    std::fs::write(&list, format!("{line}\n")).unwrap();
    run(Command::new("sha256sum")
        .arg("-c")
        .arg(&list)
        .current_dir(boot.parent().unwrap()));
}

#[test]
fn a_tarball_with_a_top_folder_imports_to_the_same_dvd() {
    if !tools() || !have("tar") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tree = lorax_tree(dir.path());
    let from_dir = {
        let d = dir.path().join("a");
        std::fs::create_dir(&d).unwrap();
        let cfg = import_config(&d, &tree);
        let out = kiln(&compose_args(&cfg, &[]), &d);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        std::fs::read(compose_dir(&d.join("t")).join(DVD)).unwrap()
    };
    let tarball = dir.path().join("lorax-x86_64.tar.gz");
    run(Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir.path())
        .arg("lorax-tree"));
    let d = dir.path().join("b");
    std::fs::create_dir(&d).unwrap();
    let cfg = import_config(&d, &tarball);
    let out = kiln(&compose_args(&cfg, &[]), &d);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let from_tarball = std::fs::read(compose_dir(&d.join("t")).join(DVD)).unwrap();
    assert!(
        from_dir == from_tarball,
        "the DVD from the tarball differs from the DVD from the folder"
    );
}

#[test]
fn import_without_a_tree_or_with_a_missing_one_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "buildinstall_method: import\n");
    let out = kiln(&compose_args(&cfg, &[]), dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("`buildinstall_method: import` needs `buildinstall_import`"),
        "{}",
        text(&out)
    );
    let missing = dir.path().join("no-such-tree");
    let cfg = import_config(dir.path(), &missing);
    let out = kiln(&compose_args(&cfg, &[]), dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "buildinstall_import {:?} does not exist",
            missing.display().to_string()
        )),
        "{}",
        text(&out)
    );
}

#[test]
fn a_tarball_behind_a_url_is_downloaded_verified_and_imported() {
    if !tools() || !have("tar") || !have("sha256sum") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    lorax_tree(dir.path());
    let served = dir.path().join("served");
    std::fs::create_dir(&served).unwrap();
    let tarball = served.join("lorax-x86_64.tar.gz");
    run(Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir.path())
        .arg("lorax-tree"));
    let sum = run(Command::new("sha256sum").arg(&tarball));
    let hex = sum.split_whitespace().next().unwrap().to_owned();
    let server = crate::pkgset::Server::start(&served);
    let url = format!("{}/lorax-x86_64.tar.gz", server.url());

    let work = dir.path().join("c");
    std::fs::create_dir(&work).unwrap();
    let cfg = import_config(&work, Path::new(&format!("{url}#sha256={hex}")));
    let out = kiln(&compose_args(&cfg, &[]), &work);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&work.join("t"));
    let isolinux =
        std::fs::read_to_string(top.join("compose/BaseOS/x86_64/os/isolinux/isolinux.cfg"))
            .unwrap();
    assert!(
        isolinux.contains("LABEL=Mini-36\\x20BaseOS.x86_64"),
        "{isolinux}"
    );
    assert!(top.join(BOOT).is_file());

    // A wrong digest: the download is refused, naming the URL.
    let wrong = dir.path().join("w");
    std::fs::create_dir(&wrong).unwrap();
    let bad = format!("{url}#sha256={}", "0".repeat(64));
    let cfg = import_config(&wrong, Path::new(&bad));
    let out = kiln(
        &[
            "compose",
            cfg.to_str().unwrap(),
            "--target-dir",
            "t2",
            "--no-label",
        ],
        &wrong,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("lorax-x86_64.tar.gz"), "{}", text(&out));
    assert!(text(&out).contains(&hex), "{}", text(&out));

    // No digest: a config error, before anything runs.
    let cfg = import_config(&wrong, Path::new(&url));
    let out = kiln(&compose_args(&cfg, &[]), &wrong);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("a URL needs the tarball's digest"),
        "{}",
        text(&out)
    );
}

/// A stand-in for lorax, which cannot be installed here (it is not packaged for Debian): it
/// answers `-V`, puts `tree` where lorax writes its output, lists mini-bash and mini-docs as
/// installed in `pkglists/` beside its log file, as lorax does, and counts its runs in `runs`.
fn stand_in_lorax(dir: &Path, tree: &Path) -> (PathBuf, PathBuf) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let runs = dir.join("lorax-runs");
    let script = format!(
        "#!/bin/sh\nset -e\nif [ \"$1\" = -V ]; then echo lorax-40.5; exit 0; fi\n\
         log=\nfor a; do case $a in --logfile=*) log=${{a#--logfile=}};; esac; out=$a; done\n\
         [ -n \"$log\" ] || {{ echo \"usage: lorax -p PRODUCT -v VERSION ...\" >&2; exit 2; }}\n\
         echo run >> '{runs}'\nlogdir=$(dirname \"$log\")\nmkdir -p \"$logdir/pkglists\"\n\
         for p in mini-bash mini-docs; do echo /usr/share/$p > \"$logdir/pkglists/$p\"; done\n\
         echo 'lorax stand-in' > \"$log\"\ncp -a '{tree}' \"$out\"\n",
        runs = runs.display(),
        tree = tree.display()
    );
    let lorax = bin.join("lorax");
    std::fs::write(&lorax, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&lorax, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, runs)
}

#[test]
fn a_lorax_tree_is_reused_until_a_package_lorax_installed_changes() {
    if !tools() {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let tree = lorax_tree(dir.path());
    let (bin, runs) = stand_in_lorax(dir.path(), &tree);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let reuse = "buildinstall_method: lorax\nbuildinstall_allow_reuse: true\n";
    let with = |cfg: PathBuf| {
        let text = std::fs::read_to_string(&cfg).unwrap();
        std::fs::write(&cfg, format!("{text}\n{reuse}")).unwrap();
        cfg
    };
    let compose = |cfg: &Path| {
        let out = crate::common::kiln_command(&compose_args(cfg, &[]), dir.path())
            .env("PATH", &path)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        compose_dir(&dir.path().join("t"))
    };
    let lorax_runs = || std::fs::read_to_string(&runs).unwrap().lines().count();
    let cfg = with(crate::incremental::config(dir.path(), None));

    let first = compose(&cfg);
    // One run per top-level variant and arch.
    let trees = lorax_runs();
    assert!(trees >= 2, "{trees}");
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(first.join("work/x86_64/buildinstall/BaseOS-reuse.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["lorax"], "lorax-40.5");
    assert_eq!(
        meta["installed"],
        serde_json::json!(["mini-bash", "mini-docs"])
    );
    let builds = meta["builds"].to_string();
    assert!(
        builds.contains("mini-docs-1.0-1.mini36.noarch.rpm"),
        "{builds}"
    );

    // Nothing lorax installed changed: the old tree serves, and the DVD is made from it.
    let second = compose(&cfg);
    assert_ne!(second, first);
    let said = |top: &Path| -> Vec<String> {
        logs(top)
            .lines()
            .filter(|l| l.contains("lorax tree"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(lorax_runs(), trees, "lorax ran again: {:#?}", said(&second));
    assert!(
        logs(&second).contains("reusing the lorax tree of the old compose"),
        "{}",
        logs(&second)
    );
    let stage2 = "work/x86_64/buildinstall/BaseOS/images/install.img";
    let ino = |p: PathBuf| std::fs::metadata(p).unwrap().ino();
    assert_eq!(ino(first.join(stage2)), ino(second.join(stage2)));
    // The compose ID is in the images' names, not in their bytes.
    let image = |top: &Path, suffix: &str| -> Vec<u8> {
        let dir = top.join("compose/BaseOS/x86_64/iso");
        let found = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(suffix))
            .unwrap_or_else(|| panic!("no *{suffix} in {}", dir.display()));
        std::fs::read(found).unwrap()
    };
    for suffix in ["-boot.iso", "-dvd1.iso"] {
        assert!(
            image(&first, suffix) == image(&second, suffix),
            "{suffix} differs"
        );
    }
    // So the bootable DVD is the old compose's too, not made again.
    let recipe: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            second.join("work/x86_64/iso/Mini-36-20261121.1-BaseOS-x86_64-dvd1.iso-recipe.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(
        recipe["reused_from"]
            .as_str()
            .is_some_and(|p| p.starts_with(&*first.to_string_lossy())),
        "{recipe}"
    );
    let esp = "compose/BaseOS/x86_64/os/images/efiboot.img";
    assert!(std::fs::read(first.join(esp)).unwrap() == std::fs::read(second.join(esp)).unwrap());
    assert!(
        second
            .join("logs/x86_64/buildinstall-BaseOS-logs/pkglists/mini-docs")
            .is_file(),
        "the old lorax logs are not in the new compose"
    );

    // mini-docs has a newer build: lorax runs again, and the log says why.
    let updates = crate::incremental::newer_docs(dir.path());
    let cfg = with(crate::incremental::config(dir.path(), Some(&updates)));
    let third = compose(&cfg);
    assert_eq!(lorax_runs(), 2 * trees);
    assert!(
        logs(&third).contains("packages lorax installed changed: mini-docs"),
        "{}",
        logs(&third)
    );

    // Without the option lorax always runs (pungi's default).
    let cfg = crate::incremental::config(dir.path(), Some(&updates));
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{text}\nbuildinstall_method: lorax\n")).unwrap();
    let fourth = compose(&cfg);
    assert_eq!(lorax_runs(), 3 * trees);
    assert!(
        !fourth
            .join("work/x86_64/buildinstall/BaseOS-reuse.json")
            .exists(),
        "no reuse metadata (nor lorax -V) without the option"
    );
}
