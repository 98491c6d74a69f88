//! kiln's repodata against createrepo_c (same input, same XML), read by
//! libsolv's repo2solv, updated by `createrepo_c --update`, read back by
//! kiln's own streaming reader.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use kiln_repodata::createrepo::{Request, createrepo};
use kiln_repodata::{RepoMd, RepoOptions, RepoReader, write_repo};

use crate::common::have;

const REALDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/realdata");

/// Copy packages keeping their mtimes (createrepo records them).
fn copy_rpms(from: &Path, to: &Path) -> usize {
    fs::create_dir_all(to).expect("mkdir");
    let mut n = 0;
    for e in fs::read_dir(from).into_iter().flatten().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "rpm") {
            let dst = to.join(e.file_name());
            fs::copy(&p, &dst).expect("copy");
            let mtime = fs::metadata(&p).and_then(|m| m.modified()).expect("mtime");
            fs::File::options()
                .write(true)
                .open(&dst)
                .and_then(|f| f.set_modified(mtime))
                .expect("set mtime");
            n += 1;
        }
    }
    n
}

fn createrepo_c(dir: &Path, out: &Path, extra: &[&str]) {
    fs::create_dir_all(out).expect("mkdir");
    let st = Command::new("createrepo_c")
        .args([
            "--quiet",
            "--no-database",
            "--simple-md-filenames",
            "--outputdir",
        ])
        .arg(out)
        .args(extra)
        .arg(dir)
        .status()
        .expect("createrepo_c runs");
    assert!(st.success(), "createrepo_c failed on {}", dir.display());
}

fn kiln(dir: &Path, out: &Path, update: bool) -> kiln_repodata::createrepo::Report {
    let req = Request {
        dir: dir.to_owned(),
        outputdir: Some(out.to_owned()),
        update,
        workers: 2,
        options: RepoOptions {
            unique_names: false,
            ..RepoOptions::default()
        },
        ..Request::default()
    };
    createrepo(&req, &|_| {}).expect("kiln createrepo")
}

fn unpacked(repo: &Path, kind: &str) -> String {
    let md = RepoMd::parse(
        std::io::BufReader::new(fs::File::open(repo.join("repodata/repomd.xml")).expect("repomd")),
        "repomd.xml",
    )
    .expect("parse repomd");
    let rec = md.record(kind).expect("record");
    let mut r = kiln_repodata::compress::open_read(&repo.join(&rec.href)).expect("open");
    let mut s = String::new();
    std::io::Read::read_to_string(&mut r, &mut s).expect("read");
    s
}

/// Same bytes for primary, filelists and other, with the first differing line on failure.
fn assert_same_xml(ours: &Path, theirs: &Path) {
    for kind in ["primary", "filelists", "other"] {
        let (a, b) = (unpacked(ours, kind), unpacked(theirs, kind));
        if a != b {
            let first = a
                .lines()
                .zip(b.lines())
                .enumerate()
                .find(|(_, (x, y))| x != y);
            panic!(
                "{kind}.xml differs from createrepo_c's; first difference (line, (kiln, createrepo_c)): {first:?}"
            );
        }
    }
}

fn realdata_dir(tmp: &Path) -> Option<PathBuf> {
    let src = Path::new(REALDATA);
    if !src.exists() {
        return None;
    }
    let dir = tmp.join("pkgs");
    copy_rpms(&src.join("createrepo_c/packages"), &dir);
    copy_rpms(&src.join("rpm/RPMS"), &dir);
    copy_rpms(&src.join("libdnf/hawkey-yum"), &dir);
    Some(dir)
}

#[test]
fn same_xml_as_createrepo_c_on_real_packages() {
    if !have("createrepo_c") {
        eprintln!("skipping: createrepo_c not installed");
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let Some(dir) = realdata_dir(tmp.path()) else {
        eprintln!("skipping: {REALDATA} absent");
        return;
    };
    createrepo_c(&dir, &tmp.path().join("c"), &[]);
    let report = kiln(&dir, &tmp.path().join("k"), false);
    assert!(report.packages >= 20, "{} packages", report.packages);
    assert_same_xml(&tmp.path().join("k"), &tmp.path().join("c"));
}

#[test]
fn same_xml_as_createrepo_c_on_the_mini_distro() {
    if !have("createrepo_c") {
        eprintln!("skipping: createrepo_c not installed");
        return;
    }
    let mini = xtask::fixtures::mini_distro_cached().expect("fixtures");
    let tmp = tempfile::tempdir().expect("tmp");
    createrepo_c(&mini.repo, &tmp.path().join("c"), &[]);
    let report = kiln(&mini.repo, &tmp.path().join("k"), false);
    assert_eq!(report.packages, mini.files.len());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_same_xml(&tmp.path().join("k"), &tmp.path().join("c"));
}

#[test]
fn repo2solv_loads_it_and_createrepo_c_updates_it() {
    if !have("createrepo_c") || !have("repo2solv") {
        eprintln!("skipping: createrepo_c or repo2solv missing");
        return;
    }
    let mini = xtask::fixtures::mini_distro_cached().expect("fixtures");
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("repo");
    copy_rpms(&mini.packages, &dir);
    let n = kiln(&dir, &dir, false).packages;

    let solv = tmp.path().join("k.solv");
    let out = Command::new("repo2solv")
        .arg("-o")
        .arg(&solv)
        .arg(&dir)
        .output()
        .expect("repo2solv");
    assert!(
        out.status.success(),
        "repo2solv: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = Command::new("dumpsolv")
        .arg(&solv)
        .output()
        .expect("dumpsolv");
    let text = String::from_utf8_lossy(&dump.stdout);
    let solvables = text.lines().filter(|l| l.starts_with("solvable ")).count();
    assert_eq!(solvables, n, "repo2solv saw {solvables} packages of {n}");

    // createrepo_c --update over kiln's repodata reuses it and writes the same documents.
    let before = unpacked(&dir, "primary");
    let out = Command::new("createrepo_c")
        .args(["--update", "--no-database", "--simple-md-filenames"])
        .arg(&dir)
        .output()
        .expect("createrepo_c --update");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!log.to_lowercase().contains("error"), "{log}");
    assert_eq!(unpacked(&dir, "primary"), before);
}

#[test]
fn update_reuses_unchanged_packages_and_gives_the_same_bytes() {
    let mini = xtask::fixtures::mini_distro_cached().expect("fixtures");
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("repo");
    let n = copy_rpms(&mini.packages, &dir);
    kiln(&dir, &dir, false);
    let cold: Vec<String> = ["primary", "filelists", "other"]
        .iter()
        .map(|k| unpacked(&dir, k))
        .collect();

    // touch one package: it is read again, the others are reused
    let victim = fs::read_dir(&dir)
        .expect("ls")
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "rpm"))
        .expect("an rpm");
    let f = fs::File::options()
        .write(true)
        .open(victim.path())
        .expect("open");
    f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000))
        .expect("touch");
    let r = kiln(&dir, &dir, true);
    assert_eq!((r.reused, r.read), (n - 1, 1));

    // and back: read again (its recorded mtime changed), bytes identical to the cold run
    let orig = fs::metadata(mini.packages.join(victim.file_name()))
        .and_then(|m| m.modified())
        .expect("mtime");
    f.set_modified(orig).expect("touch");
    let r = kiln(&dir, &dir, true);
    assert_eq!((r.reused, r.read), (n - 1, 1));
    let r = kiln(&dir, &dir, true);
    assert_eq!((r.reused, r.read), (n, 0));
    let warm: Vec<String> = ["primary", "filelists", "other"]
        .iter()
        .map(|k| unpacked(&dir, k))
        .collect();
    assert_eq!(cold, warm);
}

#[test]
fn read_back_and_rewrite_is_identical_and_deterministic() {
    let mini = xtask::fixtures::mini_distro_cached().expect("fixtures");
    let tmp = tempfile::tempdir().expect("tmp");
    let a = tmp.path().join("a");
    kiln(&mini.repo, &a, false);
    let pkgs: Vec<_> = RepoReader::open(&a)
        .expect("open")
        .collect::<Result<_, _>>()
        .expect("read back");
    assert_eq!(pkgs.len(), mini.files.len());
    let b = tmp.path().join("b");
    fs::create_dir_all(&b).expect("mkdir");
    let opts = RepoOptions {
        unique_names: false,
        ..RepoOptions::default()
    };
    write_repo(&b, &pkgs, &[], &opts).expect("rewrite");
    for f in [
        "repomd.xml",
        "primary.xml.gz",
        "filelists.xml.gz",
        "other.xml.gz",
    ] {
        assert_eq!(
            fs::read(a.join("repodata").join(f)).expect("a"),
            fs::read(b.join("repodata").join(f)).expect("b"),
            "{f} differs after a read-back round trip"
        );
    }
}

#[test]
fn pungi_shaped_repomd_with_comps() {
    let mini = xtask::fixtures::mini_distro_cached().expect("fixtures");
    let tmp = tempfile::tempdir().expect("tmp");
    let comps = tmp.path().join("comps-BaseOS.x86_64.xml");
    fs::copy(&mini.comps, &comps).expect("comps");
    let req = Request {
        dir: mini.repo.clone(),
        outputdir: Some(tmp.path().join("o")),
        groupfile: Some(comps.clone()),
        workers: 2,
        options: RepoOptions {
            timestamp: Some(1_795_251_170),
            ..RepoOptions::default()
        },
        ..Request::default()
    };
    let r = createrepo(&req, &|_| {}).expect("createrepo");
    let kinds: Vec<&str> = r.repomd.records.iter().map(|x| x.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["primary", "filelists", "other", "group", "group_gz"]
    );
    let g = r.repomd.record("group").expect("group");
    assert!(g.href.ends_with("-comps-BaseOS.x86_64.xml") && g.open_checksum.is_none());
    let gz = r.repomd.record("group_gz").expect("group_gz");
    assert_eq!(
        gz.open_checksum.as_ref().map(|c| &c.hex),
        Some(&g.checksum.hex)
    );
    assert_eq!(r.repomd.revision, "1795251170");
    // pungi's reference repomd.xml has exactly this element structure
    let reference = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/reference/pungi-compose/compose/BaseOS/x86_64/os/repodata/repomd.xml"
    ));
    if let Ok(text) = fs::read_to_string(reference) {
        let shape = |s: &str| -> Vec<String> {
            s.lines()
                .map(|l| {
                    l.split(['>', ' '])
                        .find(|x| !x.is_empty())
                        .unwrap_or("")
                        .to_owned()
                })
                .collect()
        };
        let ours = fs::read_to_string(tmp.path().join("o/repodata/repomd.xml")).expect("repomd");
        assert_eq!(shape(&ours), shape(&text));
    }
}
