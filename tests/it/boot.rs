//! Booting what kiln makes, under qemu (TCG; this machine's KVM is nested and unusable): the DVD
//! of a compose whose installer tree was imported, and its boot.iso, in the four ways install
//! media boot (BIOS and UEFI, as a CD and as a disk). Each boot must reach the initrd's
//! marker and find its stage2 on the volume the kernel arguments name. Negative controls (a tree
//! whose labels were not rewritten, a DVD without the UEFI El Torito entry, a disk image without
//! isohybrid) must fail the same check, so the check can fail.
//!
//! The tree (Debian's kernel, a busybox initrd, isolinux, a standalone GRUB) is built once by
//! xtask into /var/tmp/kiln-boot and reused.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use xtask::fixtures::boot::{
    BOOT_MARKER, OSTREE_FAILED, OSTREE_MARKER, STAGE2_FAILED, STAGE2_MARKER, TREE_LABEL,
};

use crate::common::{compose_args, compose_dir, have, kiln, mini_config, text};

const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
/// GRUB cannot pass a label with a space to the kernel (see buildinstall's warning), so the
/// composes here turn pungi's default `Mini-36 BaseOS.x86_64` into this.
const DVD_LABEL: &str = "Mini-36-BaseOS.x86_64";
const DVD: &str = "compose/BaseOS/x86_64/iso/Mini-36-20261121.0-BaseOS-x86_64-dvd1.iso";
const BOOT_ISO: &str = "compose/BaseOS/x86_64/iso/Mini-36-20261121.0-BaseOS-x86_64-boot.iso";

/// What firmware, bootloaders and the initrd print when a boot has failed: the harness stops
/// there instead of waiting out its timeout.
const FAILURES: &[&str] = &[
    STAGE2_FAILED,
    OSTREE_FAILED,
    "Boot failed",
    "No bootable device",
    "not a bootable disk",
    "no such device",
    "Kernel panic",
    "Shell>",
    "grub>",
    "UEFI Interactive Shell",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    BiosCd,
    BiosDisk,
    UefiCd,
    UefiDisk,
}

const MODES: [Mode; 4] = [Mode::BiosCd, Mode::BiosDisk, Mode::UefiCd, Mode::UefiDisk];

pub(crate) fn tools() -> bool {
    let all = [
        "qemu-system-x86_64",
        "xorriso",
        "mcopy",
        "mksquashfs",
        "grub-mkstandalone",
    ]
    .iter()
    .all(|t| have(t));
    let ovmf = Path::new(OVMF_CODE).is_file();
    assert!(
        ovmf || std::env::var_os("CI").is_none(),
        "OVMF is missing, but CI must run the boot tests: install it in .ci/run"
    );
    all && ovmf
}

/// Where a boot is to get and the guest that gets there.
pub(crate) struct Until<'a> {
    /// Printed on the console when the guest got there: the boot ends once its line is whole.
    pub marker: &'a str,
    pub memory_mib: u32,
    pub cpus: u32,
    pub timeout: Duration,
}

/// The install media's stage2, found on the volume the kernel arguments name.
const STAGE2: Until = Until {
    marker: STAGE2_MARKER,
    memory_mib: 512,
    cpus: 1,
    timeout: Duration::from_secs(120),
};

/// Boots `image` in `mode` and returns the console output once the stage2 marker shows, or the
/// output so far when a failure string shows, qemu ends, or 120 s pass.
fn boot(image: &Path, mode: Mode, scratch: &Path) -> Result<String, String> {
    boot_until(image, mode, scratch, &STAGE2)
}

/// [`boot`] to another marker. A qcow2 disk boots with its writes thrown away (`snapshot=on`).
pub(crate) fn boot_until(
    image: &Path,
    mode: Mode,
    scratch: &Path,
    until: &Until,
) -> Result<String, String> {
    let mut qemu = Command::new("qemu-system-x86_64");
    qemu.args([
        "-machine",
        "q35",
        "-accel",
        "tcg",
        "-nographic",
        "-no-reboot",
    ])
    .arg("-m")
    .arg(until.memory_mib.to_string())
    .arg("-smp")
    .arg(until.cpus.to_string())
    .args(["-serial", "mon:stdio", "-net", "none"]);
    if matches!(mode, Mode::UefiCd | Mode::UefiDisk) {
        let vars = scratch.join(format!("vars-{mode:?}.fd"));
        std::fs::copy(OVMF_VARS, &vars).unwrap();
        qemu.arg("-drive")
            .arg(format!(
                "if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}"
            ))
            .arg("-drive")
            .arg(format!(
                "if=pflash,format=raw,unit=1,file={}",
                vars.display()
            ));
    }
    match mode {
        Mode::BiosCd | Mode::UefiCd => {
            qemu.arg("-drive")
                .arg(format!(
                    "file={},media=cdrom,readonly=on,if=ide,index=2",
                    image.display()
                ))
                .args(["-boot", "d"]);
        }
        Mode::BiosDisk | Mode::UefiDisk => {
            let drive = if image.extension().is_some_and(|e| e == "qcow2") {
                "format=qcow2,if=virtio,snapshot=on"
            } else {
                "format=raw,if=virtio,readonly=on"
            };
            qemu.arg("-drive")
                .arg(format!("file={},{drive}", image.display()));
        }
    }
    let mut child = qemu
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting qemu");
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + until.timeout;
    let mut console = Vec::new();
    let outcome = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(Duration::from_millis(500))) {
            Ok(bytes) => console.extend(bytes),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break Err("qemu ended"),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if left.is_zero() => {
                break Err("timed out");
            }
            Err(_) => {}
        }
        let seen = String::from_utf8_lossy(&console);
        // The whole marker line: it names the volume stage2 came from.
        if seen
            .split_once(until.marker)
            .is_some_and(|(_, rest)| rest.contains('\n'))
        {
            break Ok(());
        }
        if FAILURES.iter().any(|f| seen.contains(f)) {
            break Err("a failure was printed");
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    let seen = String::from_utf8_lossy(&console).into_owned();
    match outcome {
        Ok(()) => Ok(seen),
        Err(why) => Err(format!(
            "{why}; console tail:\n{}",
            seen.chars()
                .rev()
                .take(2000)
                .collect::<String>()
                .chars()
                .rev()
                .collect::<String>()
        )),
    }
}

/// Every mode at once, two at a time (each TCG guest keeps one core busy).
fn boot_all(image: &Path, scratch: &Path) -> Vec<(Mode, Result<String, String>)> {
    let mut results = Vec::new();
    for pair in MODES.chunks(2) {
        let got: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = pair
                .iter()
                .map(|m| s.spawn(move || (*m, boot(image, *m, scratch))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        results.extend(got);
    }
    results
}

#[derive(Clone, Copy)]
enum Layout {
    /// isolinux + efiboot.img, lorax before 38.
    Legacy,
    /// GRUB 2 for BIOS too (images/eltorito.img), the ESP appended: lorax 38 and later.
    Grub2,
}

fn compose(dir: &Path, layout: Layout, extra: &str) -> PathBuf {
    let trees = xtask::fixtures::boot::boot_tree_cached().expect("building the boot tree");
    let tree = match layout {
        Layout::Legacy => trees.tree,
        Layout::Grub2 => trees.grub2,
    };
    let cfg = mini_config(
        dir,
        &format!(
            "buildinstall_method: import\nbuildinstall_import:\n  - [\"^BaseOS$\", {{x86_64: \"{}\"}}]\n\
             volume_id_substitutions: {{\" \": \"-\"}}\n{extra}",
            tree.display()
        ),
    );
    let out = kiln(&compose_args(&cfg, &[]), dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    compose_dir(&dir.join("t"))
}

#[test]
fn the_dvd_and_boot_iso_boot_by_bios_and_uefi_from_cd_and_disk() {
    boots_everywhere(Layout::Legacy);
}

#[test]
fn the_lorax_38_layout_boots_everywhere_too() {
    boots_everywhere(Layout::Grub2);
}

/// `createiso_replay_boot_iso`: the DVD starts as boot.iso (its El Torito and system area) and
/// gets the tree's files, as empanadas makes it; it must boot from its own label all the same.
#[test]
fn a_dvd_made_by_replaying_boot_iso_boots_everywhere() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let top = compose(
        dir.path(),
        Layout::Legacy,
        "createiso_replay_boot_iso: true\n",
    );
    let log = std::fs::read_to_string(
        top.join("logs/x86_64/createiso-Mini-36-20261121.0-BaseOS-x86_64-dvd1.iso.x86_64.log"),
    )
    .unwrap();
    assert!(log.contains("-options_from_file"), "{log}");
    let mut failed = Vec::new();
    for (mode, result) in boot_all(&top.join(DVD), dir.path()) {
        match result {
            Ok(console) => assert!(
                console.contains(&format!("{STAGE2_MARKER} label={DVD_LABEL}")),
                "{mode:?}: {console}"
            ),
            Err(e) => failed.push(format!("{mode:?}: {e}")),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

fn boots_everywhere(layout: Layout) {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let top = compose(dir.path(), layout, "");
    // The catalog xorriso reports is the one each layout boots with.
    let report = Command::new("xorriso")
        .arg("-indev")
        .arg(top.join(DVD))
        .args(["-report_el_torito", "plain", "-report_system_area", "plain"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout).into_owned();
    let bios_image = match layout {
        Layout::Legacy => "/isolinux/isolinux.bin",
        Layout::Grub2 => "/images/eltorito.img",
    };
    assert!(
        report.contains("El Torito boot img :   1  BIOS"),
        "{report}"
    );
    assert!(
        report.contains("El Torito boot img :   2  UEFI"),
        "{report}"
    );
    assert!(report.contains(bios_image), "{report}");
    assert!(report.contains("GPT"), "{report}");
    let mut failed = Vec::new();
    for (image, label) in [(DVD, DVD_LABEL), (BOOT_ISO, TREE_LABEL)] {
        for (mode, result) in boot_all(&top.join(image), dir.path()) {
            match result {
                Ok(console) => {
                    assert!(console.contains(BOOT_MARKER), "{image} {mode:?}: {console}");
                    assert!(
                        console.contains(&format!("{STAGE2_MARKER} label={label}")),
                        "{image} {mode:?} found its stage2 on another volume:\n{console}"
                    );
                }
                Err(e) => failed.push(format!("{image} {mode:?}: {e}")),
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

const BIOS: &[&str] = &[
    "-b",
    "isolinux/isolinux.bin",
    "-c",
    "isolinux/boot.cat",
    "-no-emul-boot",
    "-boot-load-size",
    "4",
    "-boot-info-table",
];
const UEFI: &[&str] = &[
    "-eltorito-alt-boot",
    "-e",
    "images/efiboot.img",
    "-no-emul-boot",
];
const HYBRID_MBR: &[&str] = &["-isohybrid-mbr", "/usr/lib/ISOLINUX/isohdpfx.bin"];
const HYBRID_GPT: &[&str] = &["-isohybrid-gpt-basdat"];

/// An image of `tree` with the DVD's label and only the boot arguments given: each negative
/// control differs from kiln's DVD in one thing.
fn image_of(tree: &Path, out: &Path, boot: &[&[&str]]) {
    let st = Command::new("xorriso")
        .args([
            "-as",
            "mkisofs",
            "-volid",
            DVD_LABEL,
            "-J",
            "-joliet-long",
            "-rational-rock",
        ])
        .args(boot.iter().flat_map(|a| a.iter()))
        .args(["-m", "boot.iso", "-o"])
        .arg(out)
        .arg(tree)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", text(&st));
}

#[test]
fn negative_controls_fail_the_same_boot_check() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let top = compose(dir.path(), Layout::Legacy, "");
    let os = top.join("compose/BaseOS/x86_64/os");
    let lorax = xtask::fixtures::boot::boot_tree_cached().unwrap().tree;

    // The tree as kiln left it, with every boot argument: the helper itself makes media that
    // boot, so what the controls below lack is what makes them fail.
    let control = dir.path().join("control.iso");
    image_of(&os, &control, &[BIOS, UEFI, HYBRID_MBR, HYBRID_GPT]);
    boot(&control, Mode::BiosCd, dir.path()).expect("the positive control boots");

    // Labels not rewritten: the kernel boots but finds no volume named like its arguments.
    let stale_tree = dir.path().join("stale-tree");
    let st = Command::new("cp")
        .arg("-a")
        .arg(&os)
        .arg(&stale_tree)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", text(&st));
    for f in [
        "isolinux/isolinux.cfg",
        "EFI/BOOT/grub.cfg",
        "images/efiboot.img",
    ] {
        std::fs::copy(lorax.join(f), stale_tree.join(f)).unwrap();
    }
    let stale = dir.path().join("stale-labels.iso");
    image_of(&stale_tree, &stale, &[BIOS, UEFI, HYBRID_MBR, HYBRID_GPT]);
    let err = boot(&stale, Mode::BiosCd, dir.path())
        .expect_err("a DVD whose configs name the lorax label must not find its stage2");
    assert!(err.contains(STAGE2_FAILED), "{err}");

    // No UEFI El Torito entry: UEFI cannot boot the CD.
    let no_uefi = dir.path().join("no-uefi.iso");
    image_of(&os, &no_uefi, &[BIOS, HYBRID_MBR]);
    assert!(boot(&no_uefi, Mode::UefiCd, dir.path()).is_err());

    // No isohybrid MBR: BIOS cannot boot it as a disk.
    let no_hybrid = dir.path().join("no-hybrid.iso");
    image_of(&os, &no_hybrid, &[BIOS, UEFI]);
    assert!(boot(&no_hybrid, Mode::BiosDisk, dir.path()).is_err());
}

/// ostree_installer: the installer ISO built on the imported tree with the commit the ostree
/// phase just made. It is a `dvd-ostree` image, checkisomd5 accepts it, the repository on it
/// pulls into a fresh one with the ref's commit, and it boots by BIOS and UEFI from CD and disk
/// to its own stage2, where the kickstart named on the kernel command line points at that
/// repository on the same volume.
#[test]
fn the_ostree_installer_boots_and_carries_the_commit() {
    if !tools() || !have("ostree") || !have("dnf") || !have("checkisomd5") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("ostree-repo");
    let treefiles = dir.path().join("config");
    std::fs::create_dir_all(&treefiles).unwrap();
    std::fs::write(
        treefiles.join("mini-docs.yaml"),
        "ref: mini/${basearch}/docs\npackages: [mini-docs]\n",
    )
    .unwrap();
    let extra = format!(
        "ostree:\n  \"^AppStream$\":\n    treefile: mini-docs.yaml\n    config_url: {}\n    \
         repo: [AppStream, BaseOS]\n    ostree_repo: {}\n\
         ostree_installer:\n  - [\"^BaseOS$\", {{x86_64: {{subvariant: MiniHost, add_template_var: \
         [ostree_osname=mini, \"ostree_repo={}\", ostree_ref=mini/x86_64/docs]}}}}]\n",
        treefiles.display(),
        repo.display(),
        repo.display()
    );
    let top = compose(dir.path(), Layout::Legacy, &extra);

    let images: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("compose/metadata/images.json")).unwrap())
            .unwrap();
    let listed = images["payload"]["images"]["BaseOS"]["x86_64"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let image = listed
        .iter()
        .find(|i| i["type"] == "dvd-ostree")
        .unwrap_or_else(|| panic!("no dvd-ostree image: {images}"))
        .clone();
    assert_eq!(image["format"], "iso");
    assert_eq!(image["bootable"], true);
    assert_eq!(image["subvariant"], "MiniHost");
    assert_eq!(image["volume_id"], DVD_LABEL);
    let path = image["path"].as_str().unwrap();
    assert_eq!(
        path,
        "BaseOS/x86_64/iso/Mini-36-20261121.0-BaseOS-x86_64-ostree.iso"
    );
    if let Some(loaded) = crate::common::productmd_images(&top.join("compose/metadata/images.json"))
    {
        assert!(
            loaded.contains(&format!("BaseOS x86_64 dvd-ostree iso {path}")),
            "{loaded:?}"
        );
    }
    let iso = top.join("compose").join(path);
    let report = Command::new("xorriso")
        .arg("-indev")
        .arg(&iso)
        .args(["-report_el_torito", "plain"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout).into_owned();
    assert!(
        report.contains("El Torito boot img :   1  BIOS"),
        "{report}"
    );
    assert!(
        report.contains("El Torito boot img :   2  UEFI"),
        "{report}"
    );
    let st = Command::new("checkisomd5").arg(&iso).status().unwrap();
    assert!(st.success(), "checkisomd5 refuses {}", iso.display());
    let sums = std::fs::read_to_string(iso.with_file_name("CHECKSUM")).unwrap();
    assert!(sums.contains("-ostree.iso"), "{sums}");

    // The disc's repository, pulled the way anaconda pulls it, holds the commit of the compose.
    let out = dir.path().join("extracted");
    let st = Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(&iso)
        .args(["-extract", "/ostree", out.join("ostree").to_str().unwrap()])
        .args([
            "-extract",
            "/ostree.ks",
            out.join("ostree.ks").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let ks = std::fs::read_to_string(out.join("ostree.ks")).unwrap();
    assert!(
        ks.contains("ostreesetup --nogpg --osname=mini --remote=mini --url=file:///run/install/repo/ostree/repo --ref=mini/x86_64/docs"),
        "{ks}"
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("compose/metadata/ostree.json")).unwrap())
            .unwrap();
    let commit = meta["payload"]["ostree"]["AppStream"]["x86_64"][0]["commitid"]
        .as_str()
        .unwrap()
        .to_owned();
    let fresh = dir.path().join("fresh");
    let ostree = |args: &[&str]| {
        let o = Command::new("ostree")
            .arg(format!("--repo={}", fresh.display()))
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "ostree {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    ostree(&["init", "--mode=archive"]);
    ostree(&[
        "pull-local",
        out.join("ostree/repo").to_str().unwrap(),
        "mini/x86_64/docs",
    ]);
    assert_eq!(ostree(&["rev-parse", "mini/x86_64/docs"]).trim(), commit);
    ostree(&["fsck"]);

    let mut failed = Vec::new();
    for (mode, result) in boot_all(&iso, dir.path()) {
        match result {
            Ok(console) => {
                assert!(
                    console.contains(&format!("{STAGE2_MARKER} label={DVD_LABEL}")),
                    "{mode:?}: {console}"
                );
                assert!(
                    console.contains(&format!(
                        "{OSTREE_MARKER} ref=mini/x86_64/docs commit={commit}"
                    )),
                    "{mode:?} did not find its payload: {console}"
                );
            }
            Err(e) => failed.push(format!("{mode:?}: {e}")),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
