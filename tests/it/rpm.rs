//! The reader against rpm's own answers on real packages from
//! ../shared/realdata (skipped when that folder is absent), and against
//! malformed input.

use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_rpm::{ChecksumKind, RpmError, read_package, read_package_from};

const REALDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/realdata");

fn real_rpms() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in [
        "rpm/RPMS",
        "rpm/SRPMS",
        "createrepo_c/packages",
        "libdnf/hawkey-yum",
    ] {
        let Ok(rd) = std::fs::read_dir(Path::new(REALDATA).join(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            if e.path().extension().is_some_and(|x| x == "rpm") {
                v.push(e.path());
            }
        }
    }
    v.sort();
    v
}

fn rpmq(path: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("rpm")
        .args(["-qp", "--nosignature", "--nodigest"])
        .args(args)
        .arg(path)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn same_answers_as_rpm() {
    let rpms = real_rpms();
    if rpms.is_empty() || rpmq(Path::new("/nonexistent"), &[]).is_some() {
        eprintln!("skipping: {REALDATA} or rpm missing");
        return;
    }
    let mut checked = 0;
    for path in rpms {
        let Some(nevra) = rpmq(
            &path,
            &[
                "--qf",
                "%{NAME}|%{EPOCHNUM}|%{VERSION}|%{RELEASE}|%{BUILDTIME}|%{LONGSIZE}",
            ],
        ) else {
            continue;
        };
        let pkg = read_package(&path, ChecksumKind::Sha256)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let ours = format!(
            "{}|{}|{}|{}|{}|{}",
            pkg.name, pkg.epoch, pkg.version, pkg.release, pkg.build_time, pkg.size_installed
        );
        assert_eq!(ours, nevra, "{}", path.display());

        let provides = rpmq(&path, &["--provides"]).unwrap_or_default();
        let requires = rpmq(&path, &["--requires"]).unwrap_or_default();
        // Non-UTF-8 headers: rpm -q prints raw bytes, kiln reads them as
        // Latin-1 like createrepo_c (checked in the repodata tests).
        if (provides.clone() + &requires).contains('\u{fffd}') {
            checked += 1;
            continue;
        }
        let ours: Vec<String> = pkg.provides.iter().map(|d| d.to_string()).collect();
        let theirs: Vec<&str> = provides.lines().collect();
        assert_eq!(ours, theirs, "provides of {}", path.display());

        let ours: Vec<String> = pkg.requires.iter().map(|d| d.to_string()).collect();
        let theirs: Vec<&str> = requires.lines().collect();
        assert_eq!(ours, theirs, "requires of {}", path.display());

        let files = rpmq(&path, &["--qf", "[%{FILENAMES}\n]"]).unwrap_or_default();
        let ours: Vec<&str> = pkg.files.iter().map(|f| f.path.as_str()).collect();
        let theirs: Vec<&str> = files.lines().collect();
        assert_eq!(ours, theirs, "files of {}", path.display());

        let logs = rpmq(&path, &["--qf", "[%{CHANGELOGTIME}\n]"]).unwrap_or_default();
        assert_eq!(
            pkg.changelogs.len(),
            logs.lines().count(),
            "{}",
            path.display()
        );

        let sha = Command::new("sha256sum").arg(&path).output().ok();
        if let Some(sha) = sha {
            let hex = String::from_utf8_lossy(&sha.stdout);
            assert_eq!(
                Some(pkg.checksum.hex.as_str()),
                hex.split_whitespace().next()
            );
        }
        assert_eq!(
            pkg.size_package,
            std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        );
        if pkg.is_source {
            assert_eq!(pkg.arch, "src");
            assert_eq!(pkg.sourcerpm, None);
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} packages checked");
}

#[test]
fn sigkeys_like_koji() {
    let cases = [
        ("rpm/RPMS/hello-2.0-1.x86_64-signed.rpm", Some("1964c5fc")),
        (
            "rpm/RPMS/hello-2.0-1.x86_64-v3-signed.rpm",
            Some("1964c5fc"),
        ),
        ("rpm/RPMS/hello-2.0-1.x86_64.rpm", None),
        (
            "createrepo_c/packages/empty-signed-rsa-0-0.x86_64.rpm",
            Some("719ce7a5"),
        ),
        (
            "createrepo_c/packages/empty-signed-eddsa-0-0.x86_64.rpm",
            Some("1f1d8f8a"),
        ),
        (
            "createrepo_c/packages/empty-signed-v6-multiple-0-0.x86_64.rpm",
            Some("719ce7a5"),
        ),
    ];
    for (rel, want) in cases {
        let path = Path::new(REALDATA).join(rel);
        if !path.exists() {
            eprintln!("skipping {rel}: absent");
            continue;
        }
        let pkg = read_package(&path, ChecksumKind::Sha256).expect("reads");
        assert_eq!(pkg.sigkey.as_deref(), want, "{rel}");
    }
}

fn sample() -> Option<Vec<u8>> {
    std::fs::read(Path::new(REALDATA).join("createrepo_c/packages/Archer-3.4.5-6.x86_64.rpm")).ok()
}

fn read_bytes(b: &[u8]) -> Result<kiln_rpm::Package, RpmError> {
    read_package_from(b, Path::new("bad.rpm"), ChecksumKind::Sha256, 0)
}

#[test]
fn malformed_packages_are_named_errors() {
    let Some(good) = sample() else {
        eprintln!("skipping: no realdata");
        return;
    };
    let msg = |r: Result<kiln_rpm::Package, RpmError>| match r {
        Ok(_) => panic!("accepted a bad package"),
        Err(e) => e.to_string(),
    };
    let m = msg(read_bytes(
        b"#!/bin/sh\necho not an rpm\n".repeat(20).as_slice(),
    ));
    assert!(m.contains("bad.rpm") && m.contains("not an RPM"), "{m}");
    let m = msg(read_bytes(b""));
    assert!(m.contains("not an RPM"), "{m}");
    let m = msg(read_bytes(&good[..300]));
    assert!(m.contains("truncated"), "{m}");
    let mut wrong = good.clone();
    wrong[96] = 0;
    let m = msg(read_bytes(&wrong));
    assert!(m.contains("bad signature header magic"), "{m}");
    // a huge tag count in the signature header
    let mut huge = good.clone();
    huge[96 + 8..96 + 12].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
    let m = msg(read_bytes(&huge));
    assert!(m.contains("tags"), "{m}");
    // a huge data size
    let mut huge = good.clone();
    huge[96 + 12..96 + 16].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
    let m = msg(read_bytes(&huge));
    assert!(m.contains("data bytes"), "{m}");
}

#[test]
fn truncated_payload_still_reads_header_and_hashes_what_is_there() {
    let Some(good) = sample() else {
        return;
    };
    let pkg = read_bytes(&good).expect("good package");
    assert_eq!(pkg.name, "Archer");
    assert_eq!(pkg.epoch, 2);
    assert_eq!(pkg.size_package, good.len() as u64);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn flipped_bytes_never_panic(edits in proptest::collection::vec((0usize..8192, any::<u8>()), 1..8)) {
            let Some(mut b) = sample() else { return Ok(()) };
            let len = b.len();
            for (i, v) in edits {
                b[i % len] = v;
            }
            let _ = read_bytes(&b);
        }

        #[test]
        fn header_region_edits_never_panic(edits in proptest::collection::vec((96usize..2048, any::<u8>()), 1..4)) {
            let Some(mut b) = sample() else { return Ok(()) };
            for (i, v) in edits {
                if i < b.len() { b[i] = v; }
            }
            let _ = read_bytes(&b);
        }
    }
}
