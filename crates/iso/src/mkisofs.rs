//! Command lines for `xorriso -as mkisofs` (pungi's createiso) and for xorriso's boot replay
//! (empanadas' DVD mastering). Pure functions returning argv, so they are golden-testable and
//! run by whatever runner the caller has.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// How an ISO boots. pungi's arguments per arch (pungi.md §2, createiso row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boot {
    None,
    /// x86: BIOS through isolinux (when present), UEFI through `images/efiboot.img` (when
    /// present), made hybrid with the MBR template so the image also boots from a USB stick.
    X86 {
        bios: bool,
        uefi: bool,
        /// `isohdpfx.bin` from syslinux; `None` leaves the image non-hybrid.
        hybrid_mbr: Option<PathBuf>,
    },
    /// x86 from a lorax ≥ 38 tree (no isolinux): BIOS through GRUB 2's `images/eltorito.img`,
    /// UEFI through the ESP `esp` appended as a GPT partition, hybrid through GRUB's
    /// `boot_hybrid.img` MBR, as lorax makes its own boot.iso.
    X86Grub2 {
        /// The tree's `images/efiboot.img`, absolute: xorriso appends it from the host.
        esp: Option<PathBuf>,
        /// `boot_hybrid.img` from GRUB's i386-pc files; `None` leaves the image non-hybrid.
        grub2_mbr: Option<PathBuf>,
    },
    /// aarch64: UEFI only.
    Aarch64,
    /// ppc64le: CHRP boot.
    Ppc64le,
    /// s390x: `images/cdboot.img`.
    S390x,
}

impl Boot {
    pub fn is_bootable(&self) -> bool {
        !matches!(self, Boot::None)
    }

    /// The El Torito boot catalog xorriso adds to the image's tree: where `-c` puts it, else
    /// `boot.catalog` at the root. CHRP (ppc64le) boots without one.
    pub fn catalog(&self) -> Option<&'static str> {
        match self {
            Boot::X86 { bios: true, .. } => Some("isolinux/boot.cat"),
            Boot::X86 { uefi: true, .. } | Boot::Aarch64 | Boot::S390x => Some("boot.catalog"),
            // lorax's own command line hides it (--boot-catalog-hide).
            Boot::X86Grub2 { .. } => None,
            Boot::X86 { .. } | Boot::None | Boot::Ppc64le => None,
        }
    }

    /// The boot setup a tree's files allow on `arch` (buildinstall puts them there).
    pub fn detect(tree: &Path, arch: &str) -> Boot {
        let has = |p: &str| tree.join(p).is_file();
        match arch {
            "x86_64" | "i386" | "i686"
                if !has("isolinux/isolinux.bin") && has("images/eltorito.img") =>
            {
                Boot::X86Grub2 {
                    esp: has("images/efiboot.img").then(|| tree.join("images/efiboot.img")),
                    grub2_mbr: grub2_mbr_template(),
                }
            }
            "x86_64" | "i386" | "i686" => {
                let bios = has("isolinux/isolinux.bin");
                let uefi = has("images/efiboot.img");
                if !bios && !uefi {
                    return Boot::None;
                }
                let hybrid_mbr = if bios { isohybrid_mbr_template() } else { None };
                Boot::X86 {
                    bios,
                    uefi,
                    hybrid_mbr,
                }
            }
            "aarch64" if has("images/efiboot.img") => Boot::Aarch64,
            "ppc64le" | "ppc64" if tree.join("ppc").is_dir() => Boot::Ppc64le,
            "s390x" if has("images/cdboot.img") => Boot::S390x,
            _ => Boot::None,
        }
    }

    /// The mkisofs boot arguments.
    pub fn args(&self) -> Vec<String> {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        match self {
            Boot::None => vec![],
            Boot::X86 {
                bios,
                uefi,
                hybrid_mbr,
            } => {
                let mut a = Vec::new();
                if *bios {
                    a.extend(s(&[
                        "-b",
                        "isolinux/isolinux.bin",
                        "-c",
                        "isolinux/boot.cat",
                        "-no-emul-boot",
                        "-boot-load-size",
                        "4",
                        "-boot-info-table",
                    ]));
                }
                if *uefi {
                    if *bios {
                        a.push("-eltorito-alt-boot".into());
                    }
                    a.extend(s(&["-e", "images/efiboot.img", "-no-emul-boot"]));
                }
                if let (true, Some(mbr)) = (*bios, hybrid_mbr) {
                    a.push("-isohybrid-mbr".into());
                    a.push(mbr.display().to_string());
                    if *uefi {
                        a.push("-isohybrid-gpt-basdat".into());
                        // xorriso draws GPT GUIDs at random unless told to derive them from the
                        // volume's modification date, which is the compose's: same tree, same bytes.
                        a.push("--gpt_disk_guid".into());
                        a.push("modification-date".into());
                    }
                }
                a
            }
            Boot::X86Grub2 { esp, grub2_mbr } => {
                let mut a = Vec::new();
                if let Some(mbr) = grub2_mbr {
                    a.push("--grub2-mbr".into());
                    a.push(mbr.display().to_string());
                }
                if let Some(esp) = esp {
                    a.extend(s(&["-partition_offset", "16", "-appended_part_as_gpt"]));
                    a.extend(s(&["-append_partition", "2", ESP_GPT_TYPE]));
                    a.push(esp.display().to_string());
                    a.extend(s(&["-iso_mbr_part_type", BASIC_DATA_GPT_TYPE]));
                }
                a.extend(s(&[
                    "-c",
                    "boot.cat",
                    "--boot-catalog-hide",
                    "-b",
                    "images/eltorito.img",
                    "-no-emul-boot",
                    "-boot-load-size",
                    "4",
                    "-boot-info-table",
                    "--grub2-boot-info",
                ]));
                if esp.is_some() {
                    a.extend(s(&[
                        "-eltorito-alt-boot",
                        "-e",
                        "--interval:appended_partition_2:all::",
                        "-no-emul-boot",
                        // Same tree, same bytes: GPT GUIDs from the volume date.
                        "--gpt_disk_guid",
                        "modification-date",
                    ]));
                }
                a
            }
            Boot::Aarch64 => s(&[
                "-eltorito-alt-boot",
                "-e",
                "images/efiboot.img",
                "-no-emul-boot",
            ]),
            Boot::Ppc64le => s(&["-r", "-l", "-sysid", "PPC", "-chrp-boot"]),
            Boot::S390x => s(&["-eltorito-boot", "images/cdboot.img", "-no-emul-boot"]),
        }
    }
}

/// GPT type GUIDs of the appended ESP and of the ISO partition, as lorax gives them.
const ESP_GPT_TYPE: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
const BASIC_DATA_GPT_TYPE: &str = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7";

/// GRUB 2's hybrid MBR (`boot_hybrid.img`), where Debian (grub-pc-bin) and Fedora
/// (grub2-pc-modules) install it.
pub fn grub2_mbr_template() -> Option<PathBuf> {
    ["/usr/lib/grub/i386-pc/boot_hybrid.img"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// syslinux's isohybrid MBR, where Debian and Fedora install it.
pub fn isohybrid_mbr_template() -> Option<PathBuf> {
    [
        "/usr/lib/ISOLINUX/isohdpfx.bin",
        "/usr/share/syslinux/isohdpfx.bin",
        "/usr/lib/syslinux/isohdpfx.bin",
        "/usr/lib/syslinux/bios/isohdpfx.bin",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// One ISO to master.
#[derive(Debug, Clone)]
pub struct IsoSpec {
    pub output: PathBuf,
    pub volid: String,
    pub iso_level: Option<u8>,
    /// The `-path-list` file of `iso/path=source` lines ([`graft_points`]).
    pub graft_points: PathBuf,
    pub boot: Boot,
    /// The compose's deterministic timestamp: every date in the image is set to it, so the
    /// same tree gives the same bytes.
    pub timestamp: i64,
}

/// `YYYYMMDDhhmmss00` in UTC, the form xorriso's date options take.
pub fn xorriso_date(timestamp: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(timestamp)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `xorriso -as mkisofs ...` with pungi's options, in pungi's order.
pub fn mkisofs_argv(xorriso: &Path, spec: &IsoSpec) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![xorriso.into(), "-as".into(), "mkisofs".into()];
    if let Some(level) = spec.iso_level {
        a.push("-iso-level".into());
        a.push(level.to_string().into());
    }
    for s in [
        "-untranslated-filenames",
        "-volid",
        &spec.volid,
        "-J",
        "-joliet-long",
        "-rational-rock",
        "-input-charset",
        "utf-8",
        "-x",
        "./lost+found",
    ] {
        a.push(s.into());
    }
    a.extend(spec.boot.args().into_iter().map(OsString::from));
    let date = xorriso_date(spec.timestamp);
    a.push(format!("--modification-date={date}").into());
    a.push("--set_all_file_dates".into());
    a.push(date.into());
    a.push("-o".into());
    a.push(spec.output.clone().into());
    a.push("-graft-points".into());
    a.push("-path-list".into());
    a.push(spec.graft_points.clone().into());
    a
}

/// Escape a path for mkisofs graft points, where `=` and `\` are special.
fn escape_graft(s: &str) -> String {
    s.replace('\\', "\\\\").replace('=', "\\=")
}

/// The `-path-list` file: one `path/in/iso=/source/path` per line, in the given order.
pub fn graft_points(entries: &[(String, PathBuf)]) -> String {
    let mut out = String::new();
    for (iso, src) in entries {
        out.push_str(&escape_graft(iso));
        out.push('=');
        out.push_str(&escape_graft(&src.display().to_string()));
        out.push('\n');
    }
    out
}

/// Every regular file under `tree` as (path relative to it, absolute path), sorted by relative
/// path, following symlinks that stay inside the tree. pungi grafts files, not directories, so
/// the ISO holds exactly the tree's files.
pub fn tree_entries(tree: &Path) -> Result<Vec<(String, PathBuf)>, crate::IsoError> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(tree)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| crate::IsoError::Scan {
            path: tree.to_owned(),
            message: e.to_string(),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(tree)
            .map_err(|e| crate::IsoError::Scan {
                path: entry.path().to_owned(),
                message: e.to_string(),
            })?
            .to_string_lossy()
            .into_owned();
        out.push((rel, entry.path().to_owned()));
    }
    out.sort();
    Ok(out)
}

/// A DVD made by replaying `boot.iso`'s boot setup (empanadas' method): xorriso keeps
/// boot.iso's El Torito and system area and adds the tree's files. Lines for
/// `xorriso -options_from_file`; the output is given on the command line ([`replay_argv`]),
/// since xorriso writes to stdout only when told so by its first argument.
pub fn replay_script(
    boot_iso: &Path,
    volid: &str,
    files: &[(String, PathBuf)],
    timestamp: i64,
) -> String {
    let q = |s: &str| format!("'{}'", s.replace('\'', "'\"'\"'"));
    let date = xorriso_date(timestamp);
    let mut out = String::new();
    out.push_str(&format!("-indev {}\n", q(&boot_iso.display().to_string())));
    out.push_str("-boot_image any replay\n");
    out.push_str("-joliet on\n");
    out.push_str("-compliance joliet_long_names\n");
    out.push_str(&format!("-volid {}\n", q(volid)));
    out.push_str(&format!("-volume_date uuid {date}\n"));
    out.push_str(&format!("-volume_date all_file_dates {date}\n"));
    for (iso, src) in files {
        out.push_str(&format!(
            "-map {} {}\n",
            q(&src.display().to_string()),
            q(&format!("/{iso}"))
        ));
    }
    out.push_str("-end\n");
    out
}

/// `xorriso -outdev - -options_from_file <script>`: the replayed image on stdout.
pub fn replay_argv(xorriso: &Path, script: &Path) -> Vec<OsString> {
    vec![
        xorriso.into(),
        "-outdev".into(),
        "-".into(),
        "-options_from_file".into(),
        script.into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pungi_command_line_for_a_plain_dvd() {
        let spec = IsoSpec {
            output: "Mini-36-20261121.0-BaseOS-x86_64-dvd1.iso".into(),
            volid: "Mini-36 BaseOS.x86_64".into(),
            iso_level: None,
            graft_points: "/g".into(),
            boot: Boot::None,
            timestamp: 1795251170,
        };
        let argv: Vec<String> = mkisofs_argv(Path::new("xorriso"), &spec)
            .into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            argv.join(" "),
            "xorriso -as mkisofs -untranslated-filenames -volid Mini-36 BaseOS.x86_64 -J -joliet-long \
             -rational-rock -input-charset utf-8 -x ./lost+found --modification-date=2026112108525000 \
             --set_all_file_dates 2026112108525000 -o Mini-36-20261121.0-BaseOS-x86_64-dvd1.iso \
             -graft-points -path-list /g"
        );
    }

    #[test]
    fn boot_arguments_per_arch() {
        let x86 = Boot::X86 {
            bios: true,
            uefi: true,
            hybrid_mbr: Some("/m.bin".into()),
        };
        assert_eq!(
            x86.args().join(" "),
            "-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 \
             -boot-info-table -eltorito-alt-boot -e images/efiboot.img -no-emul-boot \
             -isohybrid-mbr /m.bin -isohybrid-gpt-basdat --gpt_disk_guid modification-date"
        );
        let grub2 = Boot::X86Grub2 {
            esp: Some("/t/images/efiboot.img".into()),
            grub2_mbr: Some("/g/boot_hybrid.img".into()),
        };
        assert_eq!(
            grub2.args().join(" "),
            "--grub2-mbr /g/boot_hybrid.img -partition_offset 16 -appended_part_as_gpt \
             -append_partition 2 C12A7328-F81F-11D2-BA4B-00A0C93EC93B /t/images/efiboot.img \
             -iso_mbr_part_type EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 -c boot.cat \
             --boot-catalog-hide -b images/eltorito.img -no-emul-boot -boot-load-size 4 \
             -boot-info-table --grub2-boot-info -eltorito-alt-boot -e \
             --interval:appended_partition_2:all:: -no-emul-boot --gpt_disk_guid modification-date"
        );
        assert_eq!(grub2.catalog(), None);
        assert_eq!(
            Boot::Aarch64.args().join(" "),
            "-eltorito-alt-boot -e images/efiboot.img -no-emul-boot"
        );
        assert_eq!(
            Boot::S390x.args().join(" "),
            "-eltorito-boot images/cdboot.img -no-emul-boot"
        );
        assert_eq!(
            Boot::Ppc64le.args().join(" "),
            "-r -l -sysid PPC -chrp-boot"
        );
    }

    #[test]
    fn replay_script_keeps_boot_iso_setup() {
        let s = replay_script(
            Path::new("/w/boot.iso"),
            "Rocky-9-7-x86_64-dvd",
            &[("BaseOS/Packages/a.rpm".into(), "/t/a'b.rpm".into())],
            1795251170,
        );
        assert_eq!(
            s,
            "-indev '/w/boot.iso'\n-boot_image any replay\n-joliet on\n\
             -compliance joliet_long_names\n-volid 'Rocky-9-7-x86_64-dvd'\n\
             -volume_date uuid 2026112108525000\n-volume_date all_file_dates 2026112108525000\n\
             -map '/t/a'\"'\"'b.rpm' '/BaseOS/Packages/a.rpm'\n-end\n"
        );
    }

    #[test]
    fn graft_points_escape_equals() {
        let g = graft_points(&[("a=b".into(), "/t/a=b".into())]);
        assert_eq!(g, "a\\=b=/t/a\\=b\n");
    }
}
