//! Editing an installer tree's boot configs, in the tree and inside `images/efiboot.img`
//! (through mtools: no loop mount, the FAT image is edited as a file).
//!
//! Pointing a tree at the volume it ships on: lorax writes its `--volid` into the boot configs
//! (`inst.stage2=hd:LABEL=...`, grub's `search ... -l '...'`); the DVD has another label, so every
//! config that names one is rewritten, as pungi's `tweak_configs` does (buildinstall). Adding a
//! kernel argument to every installer entry (the ostree installer's `inst.ks=`).

use std::path::Path;
use std::process::Command;
use std::sync::LazyLock;

use kiln_engine::{PhaseContext, PhaseError};
use regex::Regex;

/// The boot configs lorax writes, relative to the tree (pungi's list, and grub2's config of
/// lorax ≥ 38 trees, which boot from `images/eltorito.img` instead of isolinux).
pub const BOOT_CONFIGS: &[&str] = &[
    "isolinux/isolinux.cfg",
    "etc/yaboot.conf",
    "ppc/ppc64/yaboot.conf",
    "EFI/BOOT/BOOTX64.conf",
    "EFI/BOOT/grub.cfg",
    "boot/grub2/grub.cfg",
];

/// The configs inside the EFI system partition image.
const ESP_CONFIGS: &[&str] = &["EFI/BOOT/grub.cfg", "EFI/BOOT/BOOTX64.conf"];

static CDLABEL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r":CDLABEL=[^ \n]*").expect("regex"));
static LABEL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r":LABEL=[^ \n]*").expect("regex"));
static SEARCH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(search .* -l) '[^'\n]*'").expect("regex"));

/// A volume label as a kernel argument spells it (`hd:LABEL=Mini-36\x20BaseOS`).
pub fn escape_label(volid: &str) -> String {
    volid.replace('\\', "\\\\").replace(' ', "\\x20")
}

/// A config's text with every volume label replaced by `volid`. Kernel arguments spell spaces
/// `\x20` (yaboot reads one more level of escapes); grub's `search -l` takes the label quoted.
pub fn relabel(text: &str, volid: &str, yaboot: bool) -> String {
    let mut escaped = escape_label(volid);
    if yaboot {
        escaped = escaped.replace('\\', "\\\\");
    }
    let text = CDLABEL.replace_all(text, regex::NoExpand(&format!(":CDLABEL={escaped}")));
    let text = LABEL.replace_all(&text, regex::NoExpand(&format!(":LABEL={escaped}")));
    SEARCH
        .replace_all(&text, |c: &regex::Captures| format!("{} '{volid}'", &c[1]))
        .into_owned()
}

/// A config's text with `arg` appended to every kernel command line that starts the installer
/// (the lines naming `inst.stage2=`), once.
pub fn add_kernel_arg(text: &str, arg: &str) -> String {
    let mut out = String::with_capacity(text.len() + arg.len());
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        let already = body.split_whitespace().any(|w| w == arg);
        if body.contains("inst.stage2=") && !already {
            // yaboot's `append= "..."` keeps its arguments in quotes.
            match body.strip_suffix('"') {
                Some(inner) if body.trim_start().starts_with("append") => {
                    out.push_str(&format!("{inner} {arg}\"{end}"))
                }
                _ => out.push_str(&format!("{} {arg}{end}", body.trim_end())),
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Rewrites the boot configs of the tree at `root` in place; returns the ones it found.
pub fn relabel_tree(root: &Path, volid: &str) -> Result<Vec<&'static str>, PhaseError> {
    edit_tree(root, &|text, yaboot| relabel(text, volid, yaboot))
}

/// Rewrites the boot configs inside the FAT image `img`; returns the ones it found.
pub fn relabel_esp(
    ctx: &PhaseContext,
    img: &Path,
    volid: &str,
    scratch: &Path,
    log: &Path,
    timestamp: i64,
) -> Result<Vec<&'static str>, PhaseError> {
    edit_esp(
        ctx,
        img,
        &|text| relabel(text, volid, false),
        scratch,
        log,
        timestamp,
    )
}

/// Applies `edit` (given a config's text and whether it is yaboot's) to every boot config of
/// the tree at `root`; returns the ones it found.
pub fn edit_tree(
    root: &Path,
    edit: &dyn Fn(&str, bool) -> String,
) -> Result<Vec<&'static str>, PhaseError> {
    let mut found = Vec::new();
    for config in BOOT_CONFIGS {
        let path = root.join(config);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let new = edit(&text, config.contains("yaboot"));
        // A new file, not a write through: an imported tree's files may be hard links.
        kiln_fs::write_atomic(&path, new.as_bytes())?;
        found.push(*config);
    }
    Ok(found)
}

/// Applies `edit` to the configs inside the FAT image `img` with mtools. Dates inside the image
/// come from `timestamp`, so the same tree gives the same bytes.
pub fn edit_esp(
    ctx: &PhaseContext,
    img: &Path,
    edit: &dyn Fn(&str) -> String,
    scratch: &Path,
    log: &Path,
    timestamp: i64,
) -> Result<Vec<&'static str>, PhaseError> {
    let mut found = Vec::new();
    for config in ESP_CONFIGS {
        let mut read = Command::new("mtype");
        read.arg("-i").arg(img).arg(format!("::/{config}"));
        let out = ctx.run_status(&read, log)?;
        if !out.success() {
            continue; // not in this image
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let new = edit(&text);
        if new == text {
            found.push(*config);
            continue;
        }
        let edited = scratch.join(config.replace('/', "_"));
        std::fs::create_dir_all(scratch)?;
        std::fs::write(&edited, new.as_bytes())?;
        let mut write = Command::new("mcopy");
        write
            .arg("-o")
            .arg("-i")
            .arg(img)
            .arg(&edited)
            .arg(format!("::/{config}"))
            .env("SOURCE_DATE_EPOCH", timestamp.to_string());
        ctx.run(&write, log)?;
        let _ = std::fs::remove_file(&edited);
        found.push(*config);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::{add_kernel_arg, relabel};

    #[test]
    fn a_kernel_argument_goes_on_every_installer_line_once() {
        let isolinux = "label linux\n  kernel vmlinuz\n  append initrd=initrd.img inst.stage2=hd:LABEL=X quiet\n";
        let once = add_kernel_arg(isolinux, "inst.ks=hd:LABEL=X:/ostree.ks");
        assert_eq!(
            once,
            "label linux\n  kernel vmlinuz\n  append initrd=initrd.img inst.stage2=hd:LABEL=X quiet inst.ks=hd:LABEL=X:/ostree.ks\n"
        );
        assert_eq!(add_kernel_arg(&once, "inst.ks=hd:LABEL=X:/ostree.ks"), once);
        assert_eq!(
            add_kernel_arg("append= \"inst.stage2=hd:LABEL=X ro\"", "a=b"),
            "append= \"inst.stage2=hd:LABEL=X ro a=b\""
        );
        let grub = "menuentry 'x' {\n\tlinux /images/pxeboot/vmlinuz inst.stage2=hd:LABEL=X\n}\n";
        assert_eq!(
            add_kernel_arg(grub, "a=b"),
            "menuentry 'x' {\n\tlinux /images/pxeboot/vmlinuz inst.stage2=hd:LABEL=X a=b\n}\n"
        );
    }

    #[test]
    fn labels_are_rewritten_as_pungi_does() {
        let isolinux =
            "  append initrd=initrd.img inst.stage2=hd:LABEL=Fedora-S-dvd-x86_64 quiet\n";
        assert_eq!(
            relabel(isolinux, "Mini-36 BaseOS.x86_64", false),
            "  append initrd=initrd.img inst.stage2=hd:LABEL=Mini-36\\x20BaseOS.x86_64 quiet\n"
        );
        let grub = "search --no-floppy --set=root -l 'Fedora-S-dvd-x86_64'\n\
                    linuxefi /images/pxeboot/vmlinuz inst.stage2=hd:LABEL=Fedora-S-dvd-x86_64 ro\n";
        assert_eq!(
            relabel(grub, "Mini-36 BaseOS.x86_64", false),
            "search --no-floppy --set=root -l 'Mini-36 BaseOS.x86_64'\n\
             linuxefi /images/pxeboot/vmlinuz inst.stage2=hd:LABEL=Mini-36\\x20BaseOS.x86_64 ro\n"
        );
        assert_eq!(
            relabel(
                "append root=live:CDLABEL=Old rd.live.image\n",
                "New Label",
                false
            ),
            "append root=live:CDLABEL=New\\x20Label rd.live.image\n"
        );
        assert_eq!(
            relabel("append= \"inst.stage2=hd:LABEL=Old quiet\"\n", "A B", true),
            "append= \"inst.stage2=hd:LABEL=A\\\\x20B quiet\"\n"
        );
    }
}
