//! The fixture generator: determinism, and that real rpm tools accept what
//! it makes (rpm's own digest check, createrepo_c's view of sources).

use std::fs;
use std::path::Path;
use std::process::Command;
use xtask::fixtures;

fn all_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    for sub in ["repo/Packages", "repo/SRPMS"] {
        for e in fs::read_dir(dir.join(sub)).expect("fixture dir") {
            let p = e.expect("entry").path();
            out.push((
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            ));
        }
    }
    for f in ["comps.xml", "variants.xml"] {
        out.push((f.into(), fs::read(dir.join(f)).unwrap()));
    }
    out.sort();
    out
}

#[test]
fn two_builds_are_byte_identical() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    fixtures::mini_distro(&a.path().join("m")).unwrap();
    fixtures::mini_distro(&b.path().join("m")).unwrap();
    let fa = all_files(&a.path().join("m"));
    let fb = all_files(&b.path().join("m"));
    assert_eq!(fa.len(), fb.len());
    for ((na, ca), (nb, cb)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(ca == cb, "{na} differs between two builds");
    }
    // The corpus too.
    fixtures::corpus(&a.path().join("c"), 7, 300).unwrap();
    fixtures::corpus(&b.path().join("c"), 7, 300).unwrap();
    assert!(all_files(&a.path().join("c")) == all_files(&b.path().join("c")));
}

#[test]
fn mini_distro_mirrors_pungi_run_input() {
    let m = fixtures::mini_distro_cached().unwrap();
    // pungi-run.md §2: 28 SRPMs, 63 binary RPMs (37 + 26 debug); ours adds
    // 5 i686 multilib RPMs and an aarch64-only noarch package (+ its SRPM).
    let srpms = m.files.iter().filter(|f| f.ends_with(".src.rpm")).count();
    let bins = m.files.len() - srpms;
    assert_eq!(srpms, 29);
    assert_eq!(bins, 63 + 4 + 1);
    let debug = m
        .files
        .iter()
        .filter(|f| f.contains("-debuginfo-") || f.contains("-debugsource-"))
        .count();
    assert_eq!(debug, 26);
    // Every package real pungi shipped is here under the same file name.
    let listing = Path::new("/work/shared/reference/pungi-compose/tree-listing.txt");
    let Ok(text) = fs::read_to_string(listing) else {
        eprintln!(
            "skipping reference comparison: {} absent",
            listing.display()
        );
        return;
    };
    let shipped: Vec<&str> = text
        .lines()
        .filter(|l| l.ends_with(".rpm"))
        .filter_map(|l| l.rsplit('/').next())
        .collect();
    assert!(shipped.len() > 50);
    for f in shipped {
        assert!(
            m.files.iter().any(|x| x == f),
            "{f} shipped by pungi is not in the mini distro"
        );
    }
}

#[test]
fn rpm_checks_digests_and_sees_sources() {
    if !crate::common::have("rpm") {
        eprintln!("skipping: rpm not installed");
        return;
    }
    let m = fixtures::mini_distro_cached().unwrap();
    let bash = m.packages.join("mini-bash-5.1.16-2.mini36.x86_64.rpm");
    let src = m.srpms.join("mini-bash-5.1.16-2.mini36.src.rpm");
    let out = Command::new("rpm")
        .arg("-Kv")
        .arg(&bash)
        .arg(&src)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("Header SHA256 digest: OK").count(),
        2,
        "{text}"
    );
    assert_eq!(
        text.matches("Payload SHA256 digest: OK").count(),
        2,
        "{text}"
    );
    // The signature is attributed to the fixture key (NOKEY: not imported).
    assert_eq!(text.matches("key ID c0ffee36: NOKEY").count(), 2, "{text}");
    let q = Command::new("rpm")
        .args([
            "-qp",
            "--nosignature",
            "--qf",
            "%{SOURCERPM}|%{SOURCEPACKAGE}\n",
        ])
        .arg(&bash)
        .arg(&src)
        .output()
        .unwrap();
    let q = String::from_utf8_lossy(&q.stdout);
    assert_eq!(q, "mini-bash-5.1.16-2.mini36.src.rpm|(none)\n(none)|1\n");
}

#[test]
fn createrepo_c_reads_sources_as_src() {
    let m = fixtures::mini_distro_cached().unwrap();
    if !m.has_repodata {
        eprintln!("skipping: createrepo_c not installed");
        return;
    }
    let repomd = fs::read_to_string(m.repo.join("repodata/repomd.xml")).unwrap();
    let href = repomd
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.ends_with("primary.xml.gz"))
        .unwrap();
    let gz = fs::read(m.repo.join(href)).unwrap();
    let out = Command::new("gzip")
        .arg("-dc")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut child = out.unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&gz).unwrap();
    let xml = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    assert_eq!(xml.matches("<arch>src</arch>").count(), 29);
    assert_eq!(xml.matches("<arch>i686</arch>").count(), 4);
    assert!(xml.contains("<rpm:sourcerpm>mini-kernel-5.19.9-200.mini36.src.rpm</rpm:sourcerpm>"));
    // The kernel's payload is incompressible: its package is over 1 MiB.
    let k = fs::metadata(m.packages.join("mini-kernel-5.19.9-200.mini36.x86_64.rpm")).unwrap();
    assert!(k.len() > 1_200_000, "{}", k.len());
}
