//! `cargo xtask deps`: the tools kiln drives and the tools the tests use as judges, installed
//! when this machine can (root with apt-get), else named with the exact command to run.
//!
//! One list for both README commands: `cargo xtask example` checks the tools the example
//! compose drives; `.ci/run` installs everything the suite needs.

use std::process::{Command, Stdio};

use anyhow::{Result, bail};

/// A Debian package, the file that shows it is installed, and its Fedora name.
struct Package {
    deb: &'static str,
    rpm: &'static str,
    /// A program on PATH, or an absolute file path, that the package provides.
    probe: &'static str,
}

/// What the example compose (and every compose with ISOs) drives. The MD5 implant is kiln's
/// own; isomd5sum is one of the judges.
const DRIVEN: &[Package] = &[
    Package {
        deb: "xorriso",
        rpm: "xorriso",
        probe: "xorriso",
    },
    Package {
        deb: "git",
        rpm: "git",
        probe: "git",
    },
];

/// The peers the tests judge kiln's output with, and boot files the media tests put on ISOs.
const JUDGES: &[Package] = &[
    Package {
        deb: "isomd5sum",
        rpm: "isomd5sum",
        probe: "checkisomd5",
    },
    Package {
        deb: "createrepo-c",
        rpm: "createrepo_c",
        probe: "createrepo_c",
    },
    Package {
        deb: "dnf",
        rpm: "dnf",
        probe: "dnf",
    },
    Package {
        deb: "dnf-plugins-core",
        rpm: "dnf-plugins-core",
        probe: "/usr/lib/python3/dist-packages/dnf-plugins/repoclosure.py",
    },
    Package {
        deb: "libsolv-tools",
        rpm: "libsolv-tools",
        probe: "testsolv",
    },
    Package {
        deb: "python3-solv",
        rpm: "python3-solv",
        probe: "/usr/lib/python3/dist-packages/solv.py",
    },
    Package {
        deb: "syslinux-utils",
        rpm: "syslinux",
        probe: "isohybrid",
    },
    Package {
        deb: "syslinux-common",
        rpm: "syslinux",
        probe: "/usr/lib/syslinux/modules/bios/ldlinux.c32",
    },
    Package {
        deb: "isolinux",
        rpm: "syslinux",
        probe: "/usr/lib/ISOLINUX/isohdpfx.bin",
    },
    Package {
        deb: "mtools",
        rpm: "mtools",
        probe: "mcopy",
    },
    Package {
        deb: "zstd",
        rpm: "zstd",
        probe: "zstd",
    },
    Package {
        deb: "xz-utils",
        rpm: "xz",
        probe: "xz",
    },
    Package {
        deb: "rpm",
        rpm: "rpm",
        probe: "rpm",
    },
    // The boot tests: qemu and OVMF run the media; the rest builds the bootable lorax-shaped
    // tree (xtask/src/fixtures/boot.rs) from Debian's kernel.
    Package {
        deb: "qemu-system-x86",
        rpm: "qemu-system-x86",
        probe: "qemu-system-x86_64",
    },
    Package {
        deb: "ovmf",
        rpm: "edk2-ovmf",
        probe: "/usr/share/OVMF/OVMF_CODE_4M.fd",
    },
    Package {
        deb: "grub-efi-amd64-bin",
        rpm: "grub2-efi-x64-modules",
        probe: "/usr/lib/grub/x86_64-efi/linux.mod",
    },
    Package {
        deb: "grub-pc-bin",
        rpm: "grub2-pc-modules",
        probe: "/usr/lib/grub/i386-pc/boot_hybrid.img",
    },
    Package {
        deb: "grub-common",
        rpm: "grub2-tools",
        probe: "grub-mkstandalone",
    },
    Package {
        deb: "dosfstools",
        rpm: "dosfstools",
        probe: "mkfs.vfat",
    },
    Package {
        deb: "busybox-static",
        rpm: "busybox",
        probe: "busybox",
    },
    Package {
        deb: "cpio",
        rpm: "cpio",
        probe: "cpio",
    },
    Package {
        deb: "kmod",
        rpm: "kmod",
        probe: "/sbin/modprobe",
    },
    Package {
        deb: "squashfs-tools",
        rpm: "squashfs-tools",
        probe: "mksquashfs",
    },
    // The ostree phase commits with the real ostree (and installs with dnf, above).
    Package {
        deb: "ostree",
        rpm: "ostree",
        probe: "ostree",
    },
    // ostree_container's OCI archives are read by skopeo and loaded by podman.
    Package {
        deb: "skopeo",
        rpm: "skopeo",
        probe: "skopeo",
    },
    Package {
        deb: "podman",
        rpm: "podman",
        probe: "podman",
    },
    // The podman runner's tests: runc (this machine's crun refuses its cgroups) and debootstrap
    // for the tools image.
    Package {
        deb: "runc",
        rpm: "runc",
        probe: "runc",
    },
    // The Kubernetes runner drives kubectl (the test cluster itself is built by
    // `cargo xtask cluster build`, which installs what it needs).
    Package {
        deb: "kubernetes-client",
        rpm: "kubernetes-client",
        probe: "kubectl",
    },
    Package {
        deb: "debootstrap",
        rpm: "debootstrap",
        probe: "debootstrap",
    },
    // The kiwi phase drives the real KIWI (Debian's `kiwi`), which syncs roots with rsync.
    Package {
        deb: "kiwi",
        rpm: "kiwi-cli",
        probe: "kiwi-ng",
    },
    Package {
        deb: "rsync",
        rpm: "rsync",
        probe: "rsync",
    },
    // KIWI partitions its disk types with sfdisk, sgdisk and parted and converts them with qemu-img; its EFI live
    // ISO formats the ESP as FAT.
    Package {
        deb: "fdisk",
        rpm: "util-linux",
        probe: "sfdisk",
    },
    Package {
        deb: "gdisk",
        rpm: "gdisk",
        probe: "sgdisk",
    },
    Package {
        deb: "parted",
        rpm: "parted",
        probe: "parted",
    },
    Package {
        deb: "qemu-utils",
        rpm: "qemu-img",
        probe: "qemu-img",
    },
    Package {
        deb: "dosfstools",
        rpm: "dosfstools",
        probe: "mkfs.vfat",
    },
    // PyPI's koji builds gssapi, which needs Kerberos' headers.
    Package {
        deb: "libkrb5-dev",
        rpm: "krb5-devel",
        probe: "/usr/include/krb5.h",
    },
    // The compose report is checked in a real browser.
    Package {
        deb: "chromium",
        rpm: "chromium",
        probe: "chromium",
    },
    Package {
        deb: "ca-certificates",
        rpm: "ca-certificates",
        probe: "/etc/ssl/certs/ca-certificates.crt",
    },
];

/// Which set to bring in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    /// What `cargo xtask example` needs.
    Example,
    /// What `cargo test --workspace` needs (the example's tools too).
    Tests,
}

fn present(probe: &str) -> bool {
    if probe.starts_with('/') {
        return std::path::Path::new(probe).exists();
    }
    kiln_engine::find_on_path(probe).is_some()
}

/// What the tests judge with from PyPI: productmd loads kiln's manifests, check-jsonschema
/// validates the example configs against kiln's schema. (package, a Python module it installs or a
/// command it puts on PATH.)
const PYPI: &[(&str, &str)] = &[
    ("productmd", "import:productmd"),
    ("check-jsonschema", "check-jsonschema"),
    // The Koji runner's tests drive the real client against a stand-in hub.
    ("koji", "koji"),
];

fn pypi_present(probe: &str) -> bool {
    match probe.strip_prefix("import:") {
        Some(module) => Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success()),
        None => present(probe),
    }
}

fn pypi_missing() -> Vec<&'static str> {
    PYPI.iter()
        .filter(|(_, probe)| !pypi_present(probe))
        .map(|(name, _)| *name)
        .collect()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs what is missing from `set`, or fails with the commands that would.
pub fn ensure(set: Set, install: bool) -> Result<()> {
    let packages: Vec<&Package> = match set {
        Set::Example => DRIVEN.iter().collect(),
        Set::Tests => DRIVEN.iter().chain(JUDGES).collect(),
    };
    let mut missing: Vec<&Package> = packages.into_iter().filter(|p| !present(p.probe)).collect();
    let mut pypi = if set == Set::Tests {
        pypi_missing()
    } else {
        Vec::new()
    };
    if missing.is_empty() && pypi.is_empty() {
        println!("deps: every tool is installed");
        return Ok(());
    }
    if install && !missing.is_empty() && is_root() && present("apt-get") {
        let debs: Vec<&str> = missing.iter().map(|p| p.deb).collect();
        println!("deps: apt-get install {}", debs.join(" "));
        let update = Command::new("apt-get").args(["update", "-qq"]).status()?;
        let installed = update.success()
            && Command::new("apt-get")
                .args(["install", "-y", "-qq", "--no-install-recommends"])
                .args(&debs)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()?
                .success();
        if !installed {
            bail!("apt-get could not install {}", debs.join(" "));
        }
        missing.retain(|p| !present(p.probe));
    }
    if !pypi.is_empty() && install {
        println!("deps: pip install {}", pypi.join(" "));
        let _ = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(&pypi)
            .status();
        pypi = pypi_missing();
    }
    if missing.is_empty() && pypi.is_empty() {
        println!("deps: every tool is installed");
        return Ok(());
    }
    let mut how = Vec::new();
    if !missing.is_empty() {
        let debs: Vec<&str> = missing.iter().map(|p| p.deb).collect();
        let mut rpms: Vec<&str> = missing.iter().map(|p| p.rpm).collect();
        rpms.dedup();
        how.push(format!(
            "sudo apt-get install -y {}   # Debian/Ubuntu",
            debs.join(" ")
        ));
        how.push(format!(
            "sudo dnf install -y {}   # Fedora/RHEL",
            rpms.join(" ")
        ));
    }
    if !pypi.is_empty() {
        how.push(format!("python3 -m pip install {}", pypi.join(" ")));
    }
    bail!(
        "tools are missing; install them with:\n  {}",
        how.join("\n  ")
    )
}
