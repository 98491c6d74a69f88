//! The pkgset phase through the real binary: sigkeys, http(s) repositories (served from a
//! loopback server started here: resume, corruption, unreachable), the header cache, and
//! pkgset_exclusive_arch_considers_noarch. A failed pkgset leaves no package set behind.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use xtask::fixtures::spec::{BinSpec, BuildOpts, FileKind, FileSpec, SrcSpec};

use crate::common::{compose_dir, files, kiln, mini, mini_config, text};

/// The mini config with `pkgset_repos` and top-level options replaced.
fn config(dir: &Path, repos: &[&str], options: &[&str]) -> PathBuf {
    let path = mini_config(dir, "");
    let mut lines: Vec<String> = Vec::new();
    let mut skip_repos = false;
    for l in std::fs::read_to_string(&path).unwrap().lines() {
        if skip_repos && l.starts_with(' ') {
            continue;
        }
        skip_repos = false;
        if l.starts_with("pkgset_repos:") {
            skip_repos = true;
            lines.push("pkgset_repos:".into());
            lines.push(format!("  \"*\": [{}]", repos.join(", ")));
            continue;
        }
        if options.iter().any(|o| {
            o.split_once(':')
                .is_some_and(|(k, _)| l.starts_with(&format!("{k}:")))
        }) {
            continue;
        }
        lines.push(l.to_owned());
    }
    lines.extend(options.iter().map(|o| o.to_string()));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn run(dir: &Path, cfg: &Path, phases: &[&str]) -> (Output, PathBuf) {
    let mut args = vec![
        "compose",
        cfg.to_str().unwrap(),
        "--target-dir",
        "t",
        "--no-label",
    ];
    for p in phases {
        args.push("--just-phase");
        args.push(p);
    }
    let out = kiln(&args, dir);
    let top = compose_dir(&dir.join("t"));
    (out, top)
}

fn pkgset(dir: &Path, cfg: &Path) -> (Output, PathBuf) {
    run(dir, cfg, &["init", "pkgset"])
}

fn set_json(top: &Path, arch: &str) -> PathBuf {
    top.join(format!("work/global/pkgset/{arch}.json"))
}

/// `name.arch` of every package in the set.
fn names(top: &Path, arch: &str) -> BTreeSet<String> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(set_json(top, arch)).unwrap()).unwrap();
    v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}.{}",
                e["package"]["name"].as_str().unwrap(),
                e["package"]["arch"].as_str().unwrap()
            )
        })
        .collect()
}

fn failed_without_set(out: &Output, top: &Path) {
    assert_eq!(out.status.code(), Some(1), "{}", text(out));
    assert_eq!(
        std::fs::read_to_string(top.join("STATUS")).unwrap(),
        "DOOMED\n"
    );
    assert!(
        !top.join("work/global/pkgset").exists()
            || std::fs::read_dir(top.join("work/global/pkgset"))
                .unwrap()
                .next()
                .is_none(),
        "a failed pkgset left files in work/global/pkgset"
    );
}

fn repo_entry(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

/// A folder (no repodata) with one unsigned noarch package, `kiln-unsigned`.
fn unsigned_folder(dir: &Path) -> PathBuf {
    let src = SrcSpec {
        name: "kiln-unsigned".into(),
        version: "1.0".into(),
        release: "1".into(),
        license: "MIT".into(),
        summary: "An unsigned package".into(),
        description: "An unsigned package.".into(),
        binaries: vec![BinSpec {
            name: "kiln-unsigned".into(),
            arch: "noarch".into(),
            summary: "An unsigned package".into(),
            description: "An unsigned package.".into(),
            files: vec![FileSpec::text(
                "/usr/share/kiln-unsigned/README",
                FileKind::Regular,
                "unsigned\n",
            )],
            ..BinSpec::default()
        }],
        ..SrcSpec::default()
    };
    let out = dir.join("unsigned");
    xtask::fixtures::write_set(&out, &[src], &BuildOpts::default()).unwrap();
    out.join("repo")
}

#[test]
fn sigkeys_name_the_package_and_its_key() {
    let m = mini();
    let repo = repo_entry(&m.repo);

    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[&repo], &["sigkeys: [deadbeef]"]);
    let (out, top) = pkgset(dir.path(), &cfg);
    failed_without_set(&out, &top);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mini-bash-0:5.1.16-2.mini36.x86_64") && err.contains("key c0ffee36"),
        "{}",
        text(&out)
    );
    assert!(err.contains("deadbeef"), "{}", text(&out));

    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[&repo], &["sigkeys: [C0FFEE36]"]);
    let (out, top) = pkgset(dir.path(), &cfg);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(names(&top, "x86_64").contains("mini-bash.x86_64"));

    // An unsigned package next to signed ones: refused unless null is listed.
    let dir = tempfile::tempdir().unwrap();
    let folder = repo_entry(&unsigned_folder(dir.path()));
    let cfg = config(dir.path(), &[&repo, &folder], &["sigkeys: [c0ffee36]"]);
    let (out, top) = pkgset(dir.path(), &cfg);
    failed_without_set(&out, &top);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kiln-unsigned-0:1.0-1.noarch") && err.contains("unsigned"),
        "{}",
        text(&out)
    );
    assert!(!err.contains("mini-bash"), "{}", text(&out));

    let dir2 = tempfile::tempdir().unwrap();
    let folder = repo_entry(&unsigned_folder(dir2.path()));
    let cfg = config(
        dir2.path(),
        &[&repo, &folder],
        &["sigkeys: [c0ffee36, null]"],
    );
    let (out, top) = pkgset(dir2.path(), &cfg);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let set = names(&top, "x86_64");
    assert!(set.contains("kiln-unsigned.noarch") && set.contains("mini-bash.x86_64"));
}

#[test]
fn header_cache_spares_the_second_compose_every_read() {
    let m = mini();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[&repo_entry(&m.repo)], &[]);
    let log =
        |top: &Path| std::fs::read_to_string(top.join("logs/global/pkgset.global.log")).unwrap();
    let (out, first) = pkgset(dir.path(), &cfg);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let total = m.files.len();
    assert!(
        log(&first).contains(&format!("{total} headers read, 0 from cache")),
        "{}",
        log(&first)
    );
    let cache = first.parent().unwrap().join(".kiln-cache/headers.json");
    let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let written = inode(&cache);
    let (out, second) = pkgset(dir.path(), &cfg);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_ne!(first, second);
    // Every header a hit: the cache is left as it was, not written again.
    assert_eq!(
        inode(&cache),
        written,
        "the unchanged header cache was rewritten"
    );
    assert!(
        log(&second).contains(&format!("0 headers read, {total} from cache")),
        "{}",
        log(&second)
    );
    assert_eq!(
        std::fs::read(set_json(&first, "x86_64")).unwrap(),
        std::fs::read(set_json(&second, "x86_64")).unwrap()
    );
}

#[test]
fn exclusive_arch_noarch_stays_on_its_arches() {
    let m = mini();
    let with = |dir: &Path, option: &str| {
        // The mini variants, built for aarch64 too.
        let variants = std::fs::read_to_string(&m.variants).unwrap().replace(
            "<arch>x86_64</arch>",
            "<arch>x86_64</arch><arch>aarch64</arch>",
        );
        let vpath = dir.join("variants.xml");
        std::fs::write(&vpath, variants).unwrap();
        let mut options = vec![format!("variants_file: {}", vpath.display())];
        options.push(option.to_owned());
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let cfg = config(dir, &[&repo_entry(&m.repo)], &options);
        let (out, top) = pkgset(dir, &cfg);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        (names(&top, "x86_64"), names(&top, "aarch64"))
    };
    let dir = tempfile::tempdir().unwrap();
    let (x86, arm) = with(dir.path(), "pkgset_exclusive_arch_considers_noarch: true");
    assert!(!x86.contains("mini-aarch64-firmware.noarch"), "{x86:?}");
    assert!(arm.contains("mini-aarch64-firmware.noarch"), "{arm:?}");
    // Its source follows its only binary out of the x86_64 set.
    assert!(!x86.contains("mini-aarch64-firmware.src"));
    assert!(x86.contains("mini-docs.noarch") && arm.contains("mini-docs.noarch"));
    assert!(!arm.contains("mini-bash.x86_64"));

    let dir = tempfile::tempdir().unwrap();
    let (x86, _) = with(dir.path(), "pkgset_exclusive_arch_considers_noarch: false");
    assert!(x86.contains("mini-aarch64-firmware.noarch"), "{x86:?}");
}

// ---- http ----

#[derive(Default)]
struct State {
    /// `path range-start` of every request, in arrival order.
    requests: Vec<String>,
    /// Paths served half, then the connection closed (once each).
    interrupt_once: BTreeSet<String>,
    /// Paths whose bytes are served altered (always).
    corrupt: BTreeSet<String>,
}

/// A file server on 127.0.0.1 for the duration of a test: GET with `Range: bytes=N-`.
pub(crate) struct Server {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves `root` under `/repo/`.
    pub(crate) fn start(root: &Path) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (root, st, sp) = (root.to_owned(), state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (root, st) = (root.clone(), st.clone());
                std::thread::spawn(move || {
                    let _ = serve(conn, &root, &st);
                });
            }
        });
        Server {
            port,
            state,
            stop,
            thread: Some(thread),
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/repo", self.port)
    }

    fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut conn: TcpStream, root: &Path, state: &Mutex<State>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut range: Option<u64> = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim_end().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':')
            && k.eq_ignore_ascii_case("range")
        {
            range = v
                .trim()
                .strip_prefix("bytes=")
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|n| n.parse().ok());
        }
    }
    let (interrupt, corrupt) = {
        let mut s = state.lock().unwrap();
        s.requests.push(format!(
            "{path} {}",
            range.map_or("-".into(), |r| r.to_string())
        ));
        (s.interrupt_once.remove(&path), s.corrupt.contains(&path))
    };
    let file = path
        .strip_prefix("/repo/")
        .filter(|p| !p.contains(".."))
        .map(|p| root.join(p));
    let Some(Ok(mut body)) = file.map(std::fs::read) else {
        conn.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    };
    if corrupt && let Some(b) = body.last_mut() {
        *b ^= 0xff;
    }
    let len = body.len() as u64;
    let start = range.unwrap_or(0).min(len);
    let part = &body[start as usize..];
    let head = match range {
        Some(_) => format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{len}\r\n",
            len.saturating_sub(1)
        ),
        None => "HTTP/1.1 200 OK\r\n".to_owned(),
    };
    conn.write_all(
        format!(
            "{head}Content-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
            part.len()
        )
        .as_bytes(),
    )?;
    if interrupt {
        conn.write_all(&part[..part.len() / 2])?;
        conn.flush()?;
        return conn.shutdown(Shutdown::Both);
    }
    conn.write_all(part)?;
    conn.flush()
}

fn rpms_json(top: &Path) -> Vec<u8> {
    std::fs::read(top.join("compose/metadata/rpms.json")).unwrap()
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn http_repo_composes_what_the_local_repo_composes() {
    let m = mini();
    if !m.has_repodata {
        eprintln!("skipping: createrepo_c is not installed, the mini repo has no repodata");
        return;
    }
    let phases = ["init", "pkgset", "gather", "createrepo"];
    let local = tempfile::tempdir().unwrap();
    let cfg = config(local.path(), &[&repo_entry(&m.repo)], &[]);
    let (out, local_top) = run(local.path(), &cfg, &phases);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let server = Server::start(&m.repo);
    let victim = "/repo/Packages/mini-bash-5.1.16-2.mini36.x86_64.rpm";
    server
        .state
        .lock()
        .unwrap()
        .interrupt_once
        .insert(victim.to_owned());
    let remote = tempfile::tempdir().unwrap();
    let cfg = config(remote.path(), &[&server.url()], &[]);
    let (out, remote_top) = run(remote.path(), &cfg, &phases);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(rpms_json(&local_top), rpms_json(&remote_top));
    // Downloads keep their repository mtime, so even repodata is byte-identical.
    let repodata = |top: &Path| files(&top.join("compose/BaseOS/x86_64/os/repodata"));
    assert!(!repodata(&local_top).is_empty());
    assert_eq!(repodata(&local_top), repodata(&remote_top));

    // The interrupted transfer went on from where it stopped.
    let reqs = server.requests();
    let size = std::fs::metadata(m.packages.join("mini-bash-5.1.16-2.mini36.x86_64.rpm"))
        .unwrap()
        .len();
    assert!(
        reqs.contains(&format!("{victim} {}", size / 2)),
        "no resumed request for {victim}: {reqs:?}"
    );
    let cached = remote.path().join(format!(
        "t/.kiln-cache/downloads/127.0.0.1_{}/repo/Packages/mini-bash-5.1.16-2.mini36.x86_64.rpm",
        server.port
    ));
    assert_eq!(
        sha256(&cached),
        sha256(&m.packages.join("mini-bash-5.1.16-2.mini36.x86_64.rpm"))
    );
    assert!(!cached.with_extension("rpm.part").exists());

    // A second compose downloads no package again: only repomd.xml.
    let before = server.requests().len();
    let (out, _) = run(remote.path(), &cfg, &["init", "pkgset"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again: Vec<String> = server.requests()[before..].to_vec();
    assert_eq!(again, vec!["/repo/repodata/repomd.xml -".to_owned()]);

    // A cached package damaged later fails the run naming it, and is fetched again next time.
    let mut bytes = std::fs::read(&cached).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&cached, &bytes).unwrap();
    let (out, top) = run(remote.path(), &cfg, &["init", "pkgset"]);
    failed_without_set(&out, &top);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("mini-bash-5.1.16-2.mini36.x86_64.rpm") && err.contains("corrupt"),
        "{}",
        text(&out)
    );
    assert!(!cached.exists());
    let (out, _) = run(remote.path(), &cfg, &["init", "pkgset"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        sha256(&cached),
        sha256(&m.packages.join("mini-bash-5.1.16-2.mini36.x86_64.rpm"))
    );
}

#[test]
fn corrupt_download_names_the_url_and_both_checksums() {
    let m = mini();
    if !m.has_repodata {
        eprintln!("skipping: createrepo_c is not installed, the mini repo has no repodata");
        return;
    }
    let server = Server::start(&m.repo);
    let victim = "/repo/Packages/mini-coreutils-9.0-8.mini36.x86_64.rpm";
    server
        .state
        .lock()
        .unwrap()
        .corrupt
        .insert(victim.to_owned());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[&server.url()], &[]);
    let (out, top) = pkgset(dir.path(), &cfg);
    failed_without_set(&out, &top);
    let err = String::from_utf8_lossy(&out.stderr);
    let url = format!("http://127.0.0.1:{}{victim}", server.port);
    let good = sha256(&m.packages.join("mini-coreutils-9.0-8.mini36.x86_64.rpm"));
    assert!(err.contains(&url), "{}", text(&out));
    assert!(err.contains(&good), "{}", text(&out));
    assert!(err.contains("sha256"), "{}", text(&out));
    // Fetched twice, then given up; never left under its final name.
    let tries = server
        .requests()
        .iter()
        .filter(|r| r.starts_with(victim))
        .count();
    assert_eq!(tries, 2);
    let cached = dir.path().join(format!(
        "t/.kiln-cache/downloads/127.0.0.1_{}/repo/Packages/mini-coreutils-9.0-8.mini36.x86_64.rpm",
        server.port
    ));
    assert!(!cached.exists());
}

#[test]
fn unreachable_repo_names_the_url() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/nowhere");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &[&url], &[]);
    let (out, top) = pkgset(dir.path(), &cfg);
    failed_without_set(&out, &top);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{url}/repodata/repomd.xml")),
        "{}",
        text(&out)
    );
}

#[test]
fn http_lookaside_acts_as_the_local_one() {
    let m = mini();
    if !m.has_repodata {
        eprintln!("skipping: createrepo_c is not installed, the mini repo has no repodata");
        return;
    }
    let server = Server::start(&m.repo);
    let phases = ["init", "pkgset", "gather"];
    let compose = |lookaside: Option<&str>| {
        let dir = tempfile::tempdir().unwrap();
        let option = lookaside
            .map(|l| format!("gather_lookaside_repos: [[\"^AppStream$\", {{\"*\": [\"{l}\"]}}]]"));
        let options: Vec<&str> = option.iter().map(String::as_str).collect();
        let cfg = config(dir.path(), &[&repo_entry(&m.repo)], &options);
        let (out, top) = run(dir.path(), &cfg, &phases);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        (rpms_json(&top), dir)
    };
    let (plain, _d1) = compose(None);
    let (local, _d2) = compose(Some(&repo_entry(&m.repo)));
    let (remote, d3) = compose(Some(&server.url()));
    assert_ne!(
        plain, local,
        "the lookaside changes nothing: the test proves nothing"
    );
    assert_eq!(local, remote);
    // Metadata only: no package of a lookaside is downloaded.
    assert!(
        !server.requests().iter().any(|r| r.contains(".rpm")),
        "{:?}",
        server.requests()
    );
    assert!(
        d3.path()
            .join(format!(
                "t/.kiln-cache/downloads/127.0.0.1_{}/repo/repodata/repomd.xml",
                server.port
            ))
            .is_file()
    );
}
