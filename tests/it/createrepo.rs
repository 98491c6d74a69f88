//! `kiln createrepo` as a createrepo_c user would judge it: dnf answers the same queries the
//! same way for kiln's repository as for createrepo_c's of the same folder, bad packages are
//! named and skipped as createrepo_c skips them, and the createrepo_c flags do what they say.

use std::path::Path;
use std::process::{Command, Output};

use super::common::{have, kiln, mini, text};

fn dnf(repo: &Path, cache: &Path, args: &[&str]) -> String {
    let out = Command::new("dnf")
        .args([
            "-q",
            "--releasever=36",
            "--setopt=reposdir=/dev/null",
            "--disablerepo=*",
        ])
        .arg(format!("--installroot={}", cache.join("root").display()))
        .arg(format!(
            "--setopt=cachedir={}",
            cache.join("cache").display()
        ))
        .arg(format!("--repofrompath=t,file://{}", repo.display()))
        .args(["--enablerepo=t", "repoquery"])
        .args(args)
        .output()
        .expect("running dnf");
    assert!(
        out.status.success(),
        "dnf {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).replace(&format!("file://{}", repo.display()), "BASE")
}

const QUERIES: &[&[&str]] = &[
    &[
        "--qf",
        "%{name}-%{epoch}:%{version}-%{release}.%{arch}|%{location}|%{sourcerpm}|%{size}|%{installsize}|%{buildtime}|%{license}",
    ],
    &[
        "--qf",
        "%{name}-%{epoch}:%{version}-%{release}.%{arch}\n%{provides}",
    ],
    &[
        "--qf",
        "%{name}-%{epoch}:%{version}-%{release}.%{arch}\n%{requires}",
    ],
    &[
        "--qf",
        "%{name}-%{epoch}:%{version}-%{release}.%{arch}\n%{conflicts}\n%{obsoletes}",
    ],
    &[
        "--qf",
        "%{name}-%{epoch}:%{version}-%{release}.%{arch}\n%{recommends}\n%{suggests}\n%{supplements}\n%{enhances}",
    ],
    &[
        "--qf",
        "%{name}-%{epoch}:%{version}-%{release}.%{arch}\n%{files}",
    ],
    &["--changelogs"],
    &["--location"],
    &["--whatprovides", "/usr/bin/*"],
];

#[test]
fn dnf_sees_the_same_repository_as_from_createrepo_c() {
    if !have("createrepo_c") || !have("dnf") {
        eprintln!("skipping: createrepo_c or dnf missing");
        return;
    }
    let m = mini();
    let tmp = tempfile::tempdir().expect("tmp");
    let (k, c) = (tmp.path().join("k"), tmp.path().join("c"));
    std::fs::create_dir_all(&c).expect("mkdir");
    let o = kiln(
        &[
            "createrepo",
            "--outputdir",
            &k.to_string_lossy(),
            &m.repo.to_string_lossy(),
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let st = Command::new("createrepo_c")
        .args(["--quiet", "--no-database", "--outputdir"])
        .arg(&c)
        .arg(&m.repo)
        .status()
        .expect("createrepo_c");
    assert!(st.success());
    // dnf reads repodata from the outputdir; packages are found relative to it, so link them.
    for d in [&k, &c] {
        for sub in ["Packages", "SRPMS"] {
            std::os::unix::fs::symlink(m.repo.join(sub), d.join(sub)).expect("symlink");
        }
    }
    for q in QUERIES {
        let ours = dnf(&k, &tmp.path().join("dk"), q);
        let theirs = dnf(&c, &tmp.path().join("dc"), q);
        assert!(!theirs.trim().is_empty(), "query {q:?} returned nothing");
        assert_eq!(ours, theirs, "dnf repoquery {q:?} differs");
    }
}

fn run(args: &[&str], cwd: &Path) -> Output {
    kiln(&[&["createrepo"], args].concat(), cwd)
}

#[test]
fn bad_packages_are_named_and_skipped_like_createrepo_c() {
    let m = mini();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("repo");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let good = m
        .files
        .iter()
        .find(|f| f.ends_with(".noarch.rpm"))
        .expect("a noarch rpm");
    let bytes = std::fs::read(m.packages.join(good)).expect("read");
    std::fs::write(dir.join(good), &bytes).expect("good");
    std::fs::write(
        dir.join("truncated-1-1.noarch.rpm"),
        &bytes[..bytes.len().min(200)],
    )
    .expect("bad");
    std::fs::write(dir.join("readme-1-1.noarch.rpm"), b"this is not an rpm\n").expect("bad");
    let mut huge = bytes.clone();
    huge[96 + 8..96 + 12].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
    std::fs::write(dir.join("huge-1-1.noarch.rpm"), &huge).expect("bad");

    let o = run(
        &["--simple-md-filenames", &dir.to_string_lossy()],
        tmp.path(),
    );
    let t = text(&o);
    assert!(
        o.status.success(),
        "createrepo_c goes on past bad packages, so does kiln: {t}"
    );
    for bad in [
        "truncated-1-1.noarch.rpm",
        "readme-1-1.noarch.rpm",
        "huge-1-1.noarch.rpm",
    ] {
        assert!(t.contains(bad), "{bad} not named: {t}");
    }
    assert!(
        t.contains("truncated") && t.contains("not an RPM") && t.contains("tags"),
        "{t}"
    );
    let primary = std::fs::read(dir.join("repodata/primary.xml.gz")).expect("primary written");
    assert!(!primary.is_empty());
    let o = run(&["--error-exit-val", &dir.to_string_lossy()], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    if have("createrepo_c") {
        let c = tmp.path().join("c");
        std::fs::create_dir_all(&c).expect("mkdir");
        let st = Command::new("createrepo_c")
            .args(["--quiet", "--no-database", "--outputdir"])
            .arg(&c)
            .arg(&dir)
            .output()
            .expect("createrepo_c");
        assert_eq!(
            st.status.code(),
            Some(0),
            "createrepo_c's exit status changed"
        );
    }
}

#[test]
fn createrepo_c_flags() {
    let m = mini();
    let tmp = tempfile::tempdir().expect("tmp");
    let out = tmp.path().join("o");
    let list = tmp.path().join("pkglist");
    let listed: Vec<&String> = m
        .files
        .iter()
        .filter(|f| !f.ends_with(".src.rpm"))
        .collect();
    std::fs::write(
        &list,
        listed
            .iter()
            .map(|f| format!("Packages/{f}\n"))
            .collect::<String>(),
    )
    .expect("pkglist");
    let o = run(
        &[
            "--outputdir",
            &out.to_string_lossy(),
            "--pkglist",
            &list.to_string_lossy(),
            "--excludes",
            "*-debuginfo-*",
            "--simple-md-filenames",
            "--compress-type",
            "zstd",
            "--checksum",
            "sha512",
            "--baseurl",
            "http://mirror.example/mini/",
            "--revision",
            "42",
            "--distro",
            "cpe:/o:kiln:mini:36,Mini 36",
            "--content",
            "binary-x86_64",
            "--repo",
            "mini",
            "--workers",
            "2",
            &m.repo.to_string_lossy(),
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let repomd = std::fs::read_to_string(out.join("repodata/repomd.xml")).expect("repomd");
    for want in [
        "<revision>42</revision>",
        "<distro cpeid=\"cpe:/o:kiln:mini:36\">Mini 36</distro>",
        "<content>binary-x86_64</content>",
        "<repo>mini</repo>",
        "<location href=\"repodata/primary.xml.zst\"/>",
        "<checksum type=\"sha512\">",
    ] {
        assert!(repomd.contains(want), "{want} missing from\n{repomd}");
    }
    let zst = std::fs::read(out.join("repodata/primary.xml.zst")).expect("zst");
    let primary = String::from_utf8(zstd_decode(&zst)).expect("utf-8");
    let expected = listed.iter().filter(|f| !f.contains("-debuginfo-")).count();
    assert!(
        primary.contains(&format!("packages=\"{expected}\"")),
        "package count"
    );
    assert!(!primary.contains("-debuginfo-"));
    assert!(primary.contains("xml:base=\"http://mirror.example/mini/\""));
    assert!(primary.contains("<checksum type=\"sha512\" pkgid=\"YES\">"));
}

fn zstd_decode(b: &[u8]) -> Vec<u8> {
    let mut child = Command::new("zstd")
        .args(["-d", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("zstd");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b)
        .expect("write");
    child.wait_with_output().expect("zstd output").stdout
}
