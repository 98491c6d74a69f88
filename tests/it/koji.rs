//! `runroot_method: koji` with the real PyPI `koji` client against a stand-in hub
//! (tests/it/doubles/koji_hub.py: Koji's hub cannot be installed here) that runs each runroot
//! task's command on this machine, as a builder with the compose mounted at its own path would.
//! The calls must be pungi's, the ISO made through Koji must be the local one byte for byte, a
//! failing task fails its phase, and a stopped compose cancels its task.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{compose_args, compose_dir, have, kiln, kiln_command, logs, mini_config, text};

/// A running stand-in hub and a HOME whose koji config has a `kiln-test` profile for it.
struct Hub {
    child: Child,
    home: tempfile::TempDir,
    calls: PathBuf,
}

impl Hub {
    /// Starts the hub; `path` is the PATH its tasks' commands see.
    fn start(path: &str) -> Hub {
        Hub::start_with(path, &[])
    }

    /// Starts the hub with more environment (`KOJI_HUB_TAGS`: the tags it serves).
    fn start_with(path: &str, env: &[(&str, &std::ffi::OsStr)]) -> Hub {
        let home = tempfile::tempdir().unwrap();
        let port_file = home.path().join("port");
        let calls = home.path().join("calls.jsonl");
        let child = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/doubles/koji_hub.py"))
            .arg(&port_file)
            .arg(&calls)
            .env("PATH", path)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the stand-in hub");
        let start = Instant::now();
        while !port_file.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the hub never started"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let port = std::fs::read_to_string(&port_file).unwrap();
        std::fs::create_dir_all(home.path().join(".koji")).unwrap();
        std::fs::write(
            home.path().join(".koji/config"),
            format!(
                "[kiln-test]\nserver = http://127.0.0.1:{port}/kojihub\nauthtype = noauth\n\
                 poll_interval = 1\n"
            ),
        )
        .unwrap();
        Hub { child, home, calls }
    }

    /// A hub whose tasks put their files on the Koji volume `volume`, which the profile names
    /// as its `topdir`.
    fn with_volume(volume: &Path, env: &[(&str, &std::ffi::OsStr)]) -> Hub {
        let mut env = env.to_vec();
        env.push(("KOJI_HUB_TOPDIR", volume.as_os_str()));
        let hub = Hub::start_with(&std::env::var("PATH").unwrap(), &env);
        let cfg = hub.home.path().join(".koji/config");
        let profile = std::fs::read_to_string(&cfg).unwrap();
        std::fs::write(&cfg, format!("{profile}topdir = {}\n", volume.display())).unwrap();
        hub
    }

    fn calls(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.calls)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn runroots(&self) -> Vec<serde_json::Value> {
        self.calls()
            .into_iter()
            .filter(|c| c["method"] == "runroot")
            .collect()
    }

    /// `kiln` with this hub's koji config (in its own HOME; a pyenv-installed `koji` keeps
    /// finding its interpreter under the real HOME).
    fn kiln(&self, args: &[&str], cwd: &Path) -> Command {
        let mut cmd = kiln_command(args, cwd);
        if std::env::var_os("PYENV_ROOT").is_none()
            && let Some(home) = std::env::var_os("HOME")
        {
            let pyenv = Path::new(&home).join(".pyenv");
            if pyenv.is_dir() {
                cmd.env("PYENV_ROOT", pyenv);
            }
        }
        cmd.env("HOME", self.home.path());
        cmd
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn koji_config(dir: &Path, phases: &str) -> PathBuf {
    mini_config(
        dir,
        &format!(
            "runroot_method: {{{phases}}}\nkoji_profile: kiln-test\nrunroot_tag: f41-build\n\
             runroot_channel: compose\nrunroot_weights: {{createiso: 3}}\n"
        ),
    )
}

const ISO: &str = "compose/BaseOS/x86_64/iso/Mini-36-20261121.0-BaseOS-x86_64-dvd1.iso";

#[test]
fn createiso_through_koji_runroot_makes_the_local_iso_with_pungis_calls() {
    if !have("koji") || !have("xorriso") {
        return;
    }
    let hub = Hub::start(&std::env::var("PATH").unwrap());
    let a = tempfile::tempdir().unwrap();
    let out = hub
        .kiln(
            &compose_args(&koji_config(a.path(), "createiso: koji"), &[]),
            a.path(),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let through_koji = compose_dir(&a.path().join("t"));
    let b = tempfile::tempdir().unwrap();
    let out = kiln(&compose_args(&mini_config(b.path(), ""), &[]), b.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let local = compose_dir(&b.path().join("t"));
    assert!(
        std::fs::read(through_koji.join(ISO)).unwrap() == std::fs::read(local.join(ISO)).unwrap(),
        "the ISO made through Koji differs from the local one"
    );

    // pungi's runroot call: the tag, the arch, the compose mounted, the channel and weight, a
    // new chroot, and the command as one shell string (`--use-shell`).
    let runroots = hub.runroots();
    let mkisofs = runroots
        .iter()
        .find(|c| {
            c["args"][2]
                .as_str()
                .unwrap_or("")
                .contains("xorriso -as mkisofs")
        })
        .unwrap_or_else(|| panic!("no xorriso task: {runroots:#?}"));
    assert_eq!(mkisofs["args"][0], "f41-build");
    assert_eq!(mkisofs["args"][1], "x86_64");
    let kw = &mkisofs["kwargs"];
    assert_eq!(kw["channel"], "compose");
    assert_eq!(kw["weight"], 3);
    assert_eq!(kw["new_chroot"], true);
    // The buildroot is asked for the packages of createiso's tools, as pungi's phases ask.
    assert_eq!(kw["packages"], serde_json::json!(["xorriso"]), "{mkisofs}");
    assert!(mkisofs["args"][2].is_string(), "{mkisofs}");
    assert_eq!(
        kw["mounts"],
        serde_json::json!([through_koji.display().to_string()])
    );
    // Only createiso went to Koji, and its log names the task.
    assert!(
        runroots
            .iter()
            .all(|c| !c["args"][2].as_str().unwrap_or("").contains("createrepo")),
        "{runroots:#?}"
    );
    let log = std::fs::read_to_string(
        through_koji
            .join("logs/x86_64/createiso-Mini-36-20261121.0-BaseOS-x86_64-dvd1.iso.x86_64.log"),
    )
    .unwrap();
    assert!(log.contains("koji runroot task "), "{log}");
    assert!(
        !through_koji.join("work/global/koji-io").exists()
            || std::fs::read_dir(through_koji.join("work/global/koji-io"))
                .unwrap()
                .count()
                == 0,
        "task output files are left behind"
    );
}

#[test]
fn a_failing_koji_task_fails_its_phase_with_the_tasks_output() {
    if !have("koji") || !have("xorriso") {
        return;
    }
    // The builder's xorriso fails once it is asked to make an image.
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("xorriso");
    std::fs::write(
        &fake,
        "#!/bin/sh\ncase \"$*\" in *mkisofs*) echo 'builder: no space left on device' >&2; exit 5;; esac\nexec /usr/bin/xorriso \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let hub = Hub::start(&format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    ));
    let dir = tempfile::tempdir().unwrap();
    let out = hub
        .kiln(
            &compose_args(&koji_config(dir.path(), "createiso: koji"), &[]),
            dir.path(),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("builder: no space left on device"), "{t}");
    let top = compose_dir(&dir.path().join("t"));
    assert_eq!(
        std::fs::read_to_string(top.join("STATUS")).unwrap().trim(),
        "DOOMED"
    );
}

/// SIGTERM while a Koji task runs: kiln cancels the task (`koji cancel`), stops, and resumes.
#[test]
fn a_stopped_compose_cancels_its_koji_task() {
    if !have("koji") {
        return;
    }
    let hub = Hub::start(&std::env::var("PATH").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let cfg = koji_config(dir.path(), "createrepo: koji");
    // The failpoint makes createrepo wait on `sleep 600`, run through createrepo's runner.
    let mut child = hub
        .kiln(&compose_args(&cfg, &[]), dir.path())
        .env("KILN_FAILPOINT", "hang:createrepo")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !hub
        .runroots()
        .iter()
        .any(|c| c["args"][2].as_str().unwrap_or("").contains("sleep"))
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the task never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(4), "TERMINATED");
    let cancelled = hub.calls().iter().any(|c| {
        c["method"] == "cancelTask"
            || (c["method"] == "multiCall" && c["args"][0].to_string().contains("cancelTask"))
    });
    assert!(
        cancelled,
        "the Koji task was not cancelled: {:#?}",
        hub.calls()
    );
    let top = compose_dir(&dir.path().join("t"));
    let resumed = hub
        .kiln(&["compose", "--resume", top.to_str().unwrap()], dir.path())
        .output()
        .unwrap();
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
}

/// A koji runroot without its tag, or without the koji client: refused before the compose starts.
#[test]
fn koji_runroot_needs_its_tag_and_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "runroot_method: koji\n");
    let out = kiln(&compose_args(&cfg, &[]), dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("`runroot_tag`"), "{}", text(&out));
    assert!(!dir.path().join("t").exists());

    // A PATH without the client (where it is not in the system folders).
    if ["/usr/bin/koji", "/bin/koji"]
        .iter()
        .any(|p| Path::new(p).exists())
    {
        return;
    }
    let cfg = koji_config(dir.path(), "createiso: koji");
    let out = kiln_command(&compose_args(&cfg, &[]), dir.path())
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("the `koji` client is not installed"),
        "{}",
        text(&out)
    );
    assert!(!dir.path().join("t").exists());
}

/// The mini distro as Koji holds it: a volume under `top` (signed copies under
/// `data/signed/c0ffee36/`, except mini-docs, which only has its unsigned path), and two tags,
/// `mini-36` inheriting `mini-36-base`, that together tag every build. Returns the tags file.
fn koji_volume(top: &Path) -> PathBuf {
    let m = crate::common::mini();
    let mut rpms = Vec::new();
    for dir in [&m.packages, &m.srpms] {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rpm") {
                rpms.push(p);
            }
        }
    }
    rpms.sort();
    let out = Command::new("rpm")
        .args(["-qp", "--nosignature", "--qf"])
        .arg("%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t%{SOURCEPACKAGE}\\n")
        .args(&rpms)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut builds: std::collections::BTreeMap<(String, String, String), u64> = Default::default();
    let mut rpm_list = Vec::new();
    for (line, file) in String::from_utf8(out.stdout).unwrap().lines().zip(&rpms) {
        let f: Vec<&str> = line.split('\t').collect();
        let (name, epoch, version, release) = (f[0], f[1], f[2], f[3]);
        let source = f[6] == "1";
        let arch = if source { "src" } else { f[4] };
        let build = if source {
            (name.to_owned(), version.to_owned(), release.to_owned())
        } else {
            let nvr = f[5].trim_end_matches(".src.rpm");
            let (nv, r) = nvr.rsplit_once('-').unwrap();
            let (n, v) = nv.rsplit_once('-').unwrap();
            (n.to_owned(), v.to_owned(), r.to_owned())
        };
        let next = builds.len() as u64 + 1;
        let id = *builds.entry(build.clone()).or_insert(next);
        let nvra = format!("{name}-{version}-{release}.{arch}");
        let base = top
            .join("packages")
            .join(&build.0)
            .join(&build.1)
            .join(&build.2);
        let dest = if build.0 == "mini-docs" {
            base.join(arch)
        } else {
            base.join("data/signed/c0ffee36").join(arch)
        };
        std::fs::create_dir_all(&dest).unwrap();
        std::fs::copy(file, dest.join(format!("{nvra}.rpm"))).unwrap();
        rpm_list.push(serde_json::json!({
            "name": name, "version": version, "release": release,
            "epoch": if epoch == "0" { serde_json::Value::Null } else { epoch.parse::<u64>().unwrap().into() },
            "arch": arch, "build_id": id,
        }));
    }
    // Every other build in the parent tag; of a package with several builds, the newest in the
    // child, where it hides the older ones of the parent (as a tag's latest builds do).
    let mut tags = serde_json::json!({
        "mini-36": {"parent": "mini-36-base", "builds": [], "rpms": []},
        "mini-36-base": {"parent": null, "builds": [], "rpms": []},
    });
    let newest: std::collections::BTreeMap<&str, &(String, String, String)> =
        builds.keys().map(|b| (b.0.as_str(), b)).collect();
    for (i, (b, id)) in builds.iter().enumerate() {
        let (n, v, r) = b;
        let several = builds.keys().filter(|o| o.0 == *n).count() > 1;
        let child = if several {
            newest[n.as_str()] == b
        } else {
            i % 2 == 0
        };
        let tag = if child { "mini-36" } else { "mini-36-base" };
        tags[tag]["builds"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "id": id, "build_id": id, "name": n, "package_name": n, "version": v, "release": r,
            }));
        for rpm in rpm_list.iter().filter(|x| x["build_id"] == *id) {
            tags[tag]["rpms"].as_array_mut().unwrap().push(rpm.clone());
        }
    }
    let file = top.join("tags.json");
    std::fs::write(
        &file,
        serde_json::to_vec(
            &serde_json::json!({"event": {"id": 4242, "ts": 1795219200.0}, "tags": tags}),
        )
        .unwrap(),
    )
    .unwrap();
    file
}

/// `pkgset_source: koji`: the tag (with its parent's builds) at the hub's last event, files
/// from the Koji volume by sigkeys, gives the compose the repo source gives.
#[test]
fn a_koji_tag_gives_the_package_set_of_the_same_repo() {
    if !have("koji") || !have("rpm") {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let volume = base.path().join("mnt-koji");
    let tags = koji_volume(&volume);
    let hub = {
        let h = Hub::start_with(
            &std::env::var("PATH").unwrap(),
            &[("KOJI_HUB_TAGS", tags.as_os_str())],
        );
        let cfg = h.home.path().join(".koji/config");
        let text = std::fs::read_to_string(&cfg).unwrap();
        std::fs::write(&cfg, format!("{text}topdir = {}\n", volume.display())).unwrap();
        h
    };
    let koji_dir = base.path().join("koji");
    std::fs::create_dir_all(&koji_dir).unwrap();
    let cfg = mini_config(
        &koji_dir,
        "pkgset_koji_tag: mini-36\nkoji_profile: kiln-test\n",
    );
    let edited = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("sigkeys: [null]", "sigkeys: [c0ffee36, null]")
        .replace("pkgset_source: repos", "pkgset_source: koji");
    std::fs::write(&cfg, edited).unwrap();
    let out = hub
        .kiln(
            &compose_args(&cfg, &["--skip-phase", "createiso"]),
            &koji_dir,
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let from_koji = compose_dir(&koji_dir.join("t"));

    let repo_dir = base.path().join("repo");
    std::fs::create_dir_all(&repo_dir).unwrap();
    let out = kiln(
        &compose_args(&mini_config(&repo_dir, ""), &["--skip-phase", "createiso"]),
        &repo_dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let from_repo = compose_dir(&repo_dir.join("t"));
    let rpms = "compose/metadata/rpms.json";
    let diff = Command::new("diff")
        .arg(from_repo.join(rpms))
        .arg(from_koji.join(rpms))
        .output()
        .unwrap();
    assert!(
        diff.status.success(),
        "rpms.json differs between the repository (<) and the Koji tag (>):\n{}",
        String::from_utf8_lossy(&diff.stdout)
    );

    // pungi's call: the tag at the recorded event, inherited, latest builds.
    let listed = hub
        .calls()
        .into_iter()
        .find(|c| c["method"] == "listTaggedRPMS")
        .expect("no listTaggedRPMS call");
    assert_eq!(listed["args"], serde_json::json!(["mini-36"]));
    assert_eq!(listed["kwargs"]["event"], 4242);
    assert_eq!(listed["kwargs"]["inherit"], true);
    assert_eq!(listed["kwargs"]["latest"], true);
    let event: serde_json::Value =
        serde_json::from_slice(&std::fs::read(from_koji.join("work/global/koji-event")).unwrap())
            .unwrap();
    assert_eq!(event["id"], 4242);
    // Signed copies where there are, the unsigned path where not.
    let set = std::fs::read_to_string(from_koji.join("work/global/pkgset/x86_64.json")).unwrap();
    assert!(
        set.contains("/data/signed/c0ffee36/x86_64/mini-bash-5.1.16-2.mini36.x86_64.rpm"),
        "{set}"
    );
    assert!(set.contains("/packages/mini-docs/"), "{set}");
    assert!(
        !set.contains("/data/signed/c0ffee36/noarch/mini-docs"),
        "{set}"
    );

    // pungi's per-arch repo of the tag, what lorax installs from: dnf fetches its packages
    // from where they are on the volume (`dnf repoquery --location` ignores xml:base; the
    // download does not).
    if have("dnf") {
        let tag_repo = from_koji.join("work/x86_64/repo/mini-36");
        let cache = base.path().join("dnf");
        let fetched = cache.join("fetched");
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
            .arg(format!("--repofrompath=tag,file://{}", tag_repo.display()))
            .args(["--enablerepo=tag", "download", "--arch=x86_64", "mini-bash"])
            .arg(format!("--destdir={}", fetched.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let name = "mini-bash-5.1.16-2.mini36.x86_64.rpm";
        assert_eq!(
            std::fs::read(fetched.join(name)).unwrap(),
            std::fs::read(
                volume
                    .join("packages/mini-bash/5.1.16/2.mini36/data/signed/c0ffee36/x86_64")
                    .join(name)
            )
            .unwrap()
        );
    }

    // Without `null`, mini-docs has no copy the keys allow: the compose names it.
    let strict = base.path().join("strict");
    std::fs::create_dir_all(&strict).unwrap();
    let cfg = mini_config(
        &strict,
        "pkgset_koji_tag: mini-36\nkoji_profile: kiln-test\n",
    );
    let edited = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("sigkeys: [null]", "sigkeys: [c0ffee36]")
        .replace("pkgset_source: repos", "pkgset_source: koji");
    std::fs::write(&cfg, edited).unwrap();
    let out = hub
        .kiln(&compose_args(&cfg, &["--skip-phase", "createiso"]), &strict)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("have no copy under") && text(&out).contains("mini-docs-"),
        "{}",
        text(&out)
    );
}

/// A compose in `base/<name>` against a stand-in hub on `volume` (its image tasks failing for
/// x86_64 when `fail`), with `extra` config; the hub (for its calls), the folder and the output.
fn image_compose(
    base: &Path,
    volume: &Path,
    name: &str,
    fail: bool,
    env: &[(&str, &std::ffi::OsStr)],
    extra: &str,
) -> (Hub, PathBuf, std::process::Output) {
    let mut env = env.to_vec();
    env.push((
        "KOJI_HUB_FAIL_ARCHES",
        std::ffi::OsStr::new(if fail { "x86_64" } else { "" }),
    ));
    let hub = Hub::with_volume(volume, &env);
    let dir = base.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = mini_config(&dir, extra);
    let out = hub
        .kiln(&compose_args(&cfg, &["--skip-phase", "createiso"]), &dir)
        .output()
        .unwrap();
    (hub, dir, out)
}

/// kiwibuild blocks with a Koji target build as pungi builds them: one kiwiBuild task with
/// pungi's arguments, its images linked from the Koji volume into the variant's images; a
/// failed task fails the deliverable, or leaves the compose incomplete when its arches may fail.
#[test]
fn kiwibuild_in_koji_is_one_task_with_pungis_arguments() {
    if !have("koji") {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let volume = base.path().join("mnt-koji");
    std::fs::create_dir_all(&volume).unwrap();
    let compose = |name: &str, fail: bool, failable: &str| {
        image_compose(
            base.path(),
            &volume,
            name,
            fail,
            &[],
            &format!(
                "koji_profile: kiln-test\nkiwibuild_target: f41-kiwi\nkiwibuild:\n  \"^BaseOS$\":\n    \
                 description_scm: \"git+https://pagure.io/fedora-kiwi-descriptions.git#main\"\n    \
                 description_path: teams/cloud/cloud.kiwi\n    kiwi_profile: Cloud-Base-Generic\n    \
                 type: oem\n    type_attr: [format=qcow2]\n    subvariant: Cloud_Base\n{failable}"
            ),
        )
    };

    let (hub, dir, out) = compose("ok", false, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.join("t"));
    let call = hub
        .calls()
        .into_iter()
        .find(|c| c["method"] == "kiwiBuild")
        .expect("no kiwiBuild call");
    assert_eq!(
        call["args"],
        serde_json::json!([
            "f41-kiwi",
            ["x86_64"],
            "git+https://pagure.io/fedora-kiwi-descriptions.git#main",
            "teams/cloud/cloud.kiwi"
        ])
    );
    assert_eq!(
        call["kwargs"],
        serde_json::json!({
            "profile": "Cloud-Base-Generic",
            "release": null,
            "repos": [top.join("compose/BaseOS/$arch/os").display().to_string()],
            "type": "oem",
            "type_attr": ["format=qcow2"],
            "result_bundle_name_format": null,
            "optional_arches": [],
            "version": null,
            "repo_releasever": null,
            "use_buildroot_repo": null,
        })
    );
    let images: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("compose/metadata/images.json")).unwrap())
            .unwrap();
    let listed = images["payload"]["images"]["BaseOS"]["x86_64"]
        .as_array()
        .unwrap();
    let image = listed
        .iter()
        .find(|i| i["type"] == "qcow2")
        .unwrap_or_else(|| panic!("no qcow2 image: {images}"));
    assert_eq!(
        image["path"],
        "BaseOS/x86_64/images/mini-kiwi.x86_64-36.qcow2"
    );
    assert_eq!(image["format"], "qcow2");
    assert_eq!(image["subvariant"], "Cloud_Base");
    assert_eq!(listed.len(), 1, "the .packages file is no image: {images}");
    if let Some(loaded) = crate::common::productmd_images(&top.join("compose/metadata/images.json"))
    {
        assert_eq!(
            loaded,
            ["BaseOS x86_64 qcow2 qcow2 BaseOS/x86_64/images/mini-kiwi.x86_64-36.qcow2"]
        );
    }
    let sums = std::fs::read_to_string(top.join("compose/BaseOS/x86_64/images/CHECKSUM")).unwrap();
    assert!(sums.contains("mini-kiwi.x86_64-36.qcow2"), "{sums}");
    assert!(
        std::fs::read_to_string(top.join("logs/global/kiwibuild/BaseOS-1-watch-task.log")).is_ok()
    );
    drop(hub);

    // The task fails: the deliverable fails the compose.
    let (_hub, dir, out) = compose("fails", true, "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("kiwiBuild: task 1 failed"),
        "{}",
        text(&out)
    );
    let _ = dir;

    // Its only arch may fail: Koji is told so, and the compose finishes incomplete.
    let (hub, dir, out) = compose("failable", true, "    failable: [\"*\"]\n");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let call = hub
        .calls()
        .into_iter()
        .find(|c| c["method"] == "kiwiBuild")
        .unwrap();
    assert_eq!(
        call["kwargs"]["optional_arches"],
        serde_json::json!(["x86_64"])
    );
    let top = compose_dir(&dir.join("t"));
    let deliverables: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("logs/global/deliverables.json")).unwrap())
            .unwrap();
    assert_eq!(
        deliverables["failed"]["kiwibuild"],
        serde_json::json!([["BaseOS", "*", "Cloud_Base"]]),
        "{deliverables}"
    );
}

/// osbuild blocks are Koji osbuildImage tasks with pungi's arguments; the build's image
/// archives land in the variant's images (ISOs in iso/) with pungi's types; a failed task fails
/// the compose; a block without a Koji target is refused before the compose starts.
#[test]
fn osbuild_is_a_koji_task_with_pungis_arguments() {
    if !have("koji") || !have("xorriso") {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let volume = base.path().join("mnt-koji");
    std::fs::create_dir_all(&volume).unwrap();
    let block = "osbuild:\n  \"^BaseOS$\":\n    name: mini-cloud\n    distro: fedora-41\n    \
                 image_types: [qcow2, image-installer]\n    \
                 release: \"!RELEASE_FROM_LABEL_DATE_TYPE_RESPIN\"\n    subvariant: Cloud\n";
    let compose = |name: &str, fail: bool| {
        image_compose(
            base.path(),
            &volume,
            name,
            fail,
            &[],
            &format!("koji_profile: kiln-test\nosbuild_target: f41-osbuild\n{block}"),
        )
    };

    let (hub, dir, out) = compose("ok", false);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.join("t"));
    let call = hub
        .calls()
        .into_iter()
        .find(|c| c["method"] == "osbuildImage")
        .expect("no osbuildImage call");
    assert_eq!(
        call["args"],
        serde_json::json!([
            "mini-cloud",
            "36",
            "fedora-41",
            ["qcow2", "image-installer"],
            "f41-osbuild",
            ["x86_64"]
        ])
    );
    assert_eq!(
        call["kwargs"],
        serde_json::json!({"opts": {
            "repo": [top.join("compose/BaseOS/$arch/os").display().to_string()],
            "release": "20261121.0",
        }})
    );
    let images: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("compose/metadata/images.json")).unwrap())
            .unwrap();
    let listed = images["payload"]["images"]["BaseOS"]["x86_64"]
        .as_array()
        .unwrap();
    let find = |t: &str| {
        listed
            .iter()
            .find(|i| i["type"] == t)
            .unwrap_or_else(|| panic!("no {t} image: {images}"))
    };
    assert_eq!(
        find("qcow2")["path"],
        "BaseOS/x86_64/images/mini-cloud-36-20261121.0.x86_64.qcow2"
    );
    let iso = find("dvd");
    assert_eq!(
        iso["path"],
        "BaseOS/x86_64/iso/mini-cloud-36-20261121.0.x86_64-installer.iso"
    );
    assert_eq!(iso["format"], "iso");
    assert_eq!(iso["subvariant"], "Cloud");
    assert_eq!(listed.len(), 2, "the log is no image: {images}");
    if let Some(loaded) = crate::common::productmd_images(&top.join("compose/metadata/images.json"))
    {
        assert_eq!(
            loaded,
            [
                "BaseOS x86_64 dvd iso BaseOS/x86_64/iso/mini-cloud-36-20261121.0.x86_64-installer.iso",
                "BaseOS x86_64 qcow2 qcow2 BaseOS/x86_64/images/mini-cloud-36-20261121.0.x86_64.qcow2",
            ]
        );
    }
    drop(hub);

    let (_hub, _dir, out) = compose("fails", true);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("OSBuild task failed: 1"),
        "{}",
        text(&out)
    );

    // No Koji target: osbuild cannot run here, so the compose does not start.
    let dir = base.path().join("no-target");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = mini_config(&dir, block);
    let out = kiln(&compose_args(&cfg, &[]), &dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("has no Koji target"), "{}", text(&out));
    assert!(!dir.join("t").exists());
}

/// image_build blocks are `koji image-build --config=F --wait` as pungi runs it: the config
/// file pungi writes, the real client's buildImageOz call, the images linked and typed by the
/// formats asked for; a failed task fails the compose, a failable one leaves it incomplete.
#[test]
fn image_build_runs_koji_image_build_with_pungis_config() {
    if !have("koji") {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let volume = base.path().join("mnt-koji");
    std::fs::create_dir_all(&volume).unwrap();
    let compose = |name: &str, fail: bool, failable: &str| {
        image_compose(
            base.path(),
            &volume,
            name,
            fail,
            &[],
            &format!(
                "koji_profile: kiln-test\nimage_build_target: f41-image\nimage_build:\n  \
                 \"^BaseOS$\":\n    image-build:\n      name: mini-cloud\n      \
                 format: [qcow2, raw-xz]\n      kickstart: mini-cloud.ks\n      \
                 ksurl: \"git+https://pagure.io/fedora-kickstarts.git#main\"\n      \
                 distro: Fedora-41\n      disk_size: 4\n      subvariant: Cloud\n{failable}    \
                 factory-parameters:\n      generate_icicle: \"False\"\n"
            ),
        )
    };

    let (hub, dir, out) = compose("ok", false, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.join("t"));
    let tree = top.join("compose/BaseOS/$arch/os").display().to_string();
    let conf = std::fs::read_to_string(
        top.join("work/image-build/BaseOS/qcow2-raw-xz_mini-cloud-x86_64.cfg"),
    )
    .unwrap();
    assert_eq!(
        conf,
        format!(
            "[image-build]\nname = mini-cloud\nversion = 36\ntarget = f41-image\n\
             install_tree = {tree}\narches = x86_64\nformat = qcow2,raw-xz\n\
             kickstart = mini-cloud.ks\nksurl = git+https://pagure.io/fedora-kickstarts.git#main\n\
             distro = Fedora-41\nrepo = {tree}\nvariant = BaseOS\ndisk_size = 4\n\n\
             [factory-parameters]\ngenerate_icicle = False\n"
        )
    );
    let call = hub
        .calls()
        .into_iter()
        .find(|c| c["method"] == "buildImageOz")
        .expect("no buildImageOz call");
    assert_eq!(
        call["args"],
        serde_json::json!(["mini-cloud", "36", ["x86_64"], "f41-image", tree])
    );
    assert_eq!(
        call["kwargs"]["opts"]["format"],
        serde_json::json!(["qcow2", "raw-xz"])
    );
    assert_eq!(call["kwargs"]["opts"]["repo"], serde_json::json!([tree]));
    let images: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("compose/metadata/images.json")).unwrap())
            .unwrap();
    let listed = images["payload"]["images"]["BaseOS"]["x86_64"]
        .as_array()
        .unwrap();
    let kinds: Vec<(String, String, String)> = listed
        .iter()
        .map(|i| {
            (
                i["type"].as_str().unwrap().to_owned(),
                i["format"].as_str().unwrap().to_owned(),
                i["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (
                "qcow2".to_owned(),
                "qcow2".to_owned(),
                "BaseOS/x86_64/images/mini-cloud-36-1.x86_64.qcow2".to_owned()
            ),
            (
                "raw-xz".to_owned(),
                "raw.xz".to_owned(),
                "BaseOS/x86_64/images/mini-cloud-36-1.x86_64.raw.xz".to_owned()
            ),
        ]
    );
    assert!(listed.iter().all(|i| i["subvariant"] == "Cloud"));
    if let Some(loaded) = crate::common::productmd_images(&top.join("compose/metadata/images.json"))
    {
        assert_eq!(loaded.len(), 2, "{loaded:?}");
        assert!(
            loaded[1].starts_with("BaseOS x86_64 raw-xz raw.xz "),
            "{loaded:?}"
        );
    }
    drop(hub);

    let (_hub, _dir, out) = compose("fails", true, "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("ImageBuild task failed: 1"),
        "{}",
        text(&out)
    );

    let (_hub, dir, out) = compose("failable", true, "      failable: [\"*\"]\n");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let conf = std::fs::read_to_string(
        compose_dir(&dir.join("t"))
            .join("work/image-build/BaseOS/qcow2-raw-xz_mini-cloud-x86_64.cfg"),
    )
    .unwrap();
    assert!(conf.contains("\ncan_fail = x86_64\n"), "{conf}");
}

/// A compose stopped while its Koji image task runs picks the task up on `--resume` (the task
/// ID is recorded when it is submitted): the image is built once.
#[test]
fn a_resumed_compose_waits_for_its_running_koji_task_instead_of_submitting_again() {
    if !have("koji") {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let volume = base.path().join("mnt-koji");
    std::fs::create_dir_all(&volume).unwrap();
    let hub = Hub::start_with(
        &std::env::var("PATH").unwrap(),
        &[
            ("KOJI_HUB_TOPDIR", volume.as_os_str()),
            ("KOJI_HUB_TASK_SECONDS", std::ffi::OsStr::new("4")),
        ],
    );
    let cfg = hub.home.path().join(".koji/config");
    let profile = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{profile}topdir = {}\n", volume.display())).unwrap();
    let dir = base.path().join("c");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = mini_config(
        &dir,
        "koji_profile: kiln-test\nkiwibuild_target: f41-kiwi\nkiwibuild:\n  \"^BaseOS$\":\n    \
         description_scm: \"git+https://example.org/kiwi.git#main\"\n    \
         description_path: cloud.kiwi\n",
    );
    let mut child = hub
        .kiln(&compose_args(&cfg, &["--skip-phase", "createiso"]), &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let submitted = |hub: &Hub| {
        hub.calls()
            .iter()
            .filter(|c| c["method"] == "kiwiBuild")
            .count()
    };
    let start = Instant::now();
    while submitted(&hub) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "kiwiBuild never came"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(700));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert_eq!(child.wait().unwrap().code(), Some(4), "TERMINATED");
    let top = compose_dir(&dir.join("t"));
    let record = top.join("work/global/koji-tasks/kiwibuild-BaseOS-1.json");
    assert_eq!(
        std::fs::read_to_string(&record).unwrap_or_default(),
        "{\"task\": 1}\n",
        "the task was not recorded when it was submitted"
    );
    let resumed = hub
        .kiln(&["compose", "--resume", top.to_str().unwrap()], &dir)
        .output()
        .unwrap();
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed));
    assert_eq!(
        submitted(&hub),
        1,
        "the image task was submitted again: {}",
        text(&resumed)
    );
    let images = std::fs::read_to_string(top.join("compose/metadata/images.json")).unwrap();
    assert!(
        images.contains("BaseOS/x86_64/images/mini-kiwi.x86_64-36.qcow2"),
        "{images}"
    );
}

/// live_media blocks are `koji spin-livemedia ... --wait` with pungi's arguments; the live ISOs
/// (here the boot tests' real boot.iso, so the test phase's El Torito and MBR checks hold) land
/// in the variant's iso folder as bootable `live` images; a failable arch that fails leaves the
/// compose incomplete.
#[test]
fn live_media_is_koji_spin_livemedia_with_pungis_arguments() {
    if !have("koji") || !have("mksquashfs") || !have("grub-mkstandalone") {
        return;
    }
    let live_iso = xtask::fixtures::boot::boot_tree_cached()
        .expect("building the boot tree")
        .tree
        .join("images/boot.iso");
    let base = tempfile::tempdir().unwrap();
    let volume = base.path().join("mnt-koji");
    std::fs::create_dir_all(&volume).unwrap();
    let compose = |name: &str, fail: bool, failable: &str| {
        image_compose(
            base.path(),
            &volume,
            name,
            fail,
            &[("KOJI_HUB_LIVE_ISO", live_iso.as_os_str())],
            &format!(
                "koji_profile: kiln-test\nlive_media_target: f41-live\n\
                 live_media_ksurl: \"git+https://pagure.io/fedora-kickstarts.git#main\"\n\
                 live_media:\n  \"^BaseOS$\":\n    kickstart: mini-live.ks\n    subvariant: Workstation\n    \
                 release: \"!RELEASE_FROM_LABEL_DATE_TYPE_RESPIN\"\n{failable}"
            ),
        )
    };

    let (hub, dir, out) = compose("ok", false, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.join("t"));
    let tree = top
        .join("compose/BaseOS/$basearch/os")
        .display()
        .to_string();
    let log =
        std::fs::read_to_string(top.join("logs/x86_64/livemedia-BaseOS-Workstation.x86_64.log"))
            .unwrap();
    assert!(
        log.contains(&format!(
            "$ koji --profile=kiln-test spin-livemedia Mini-Workstation-Live 36 f41-live x86_64 \
             mini-live.ks '--install-tree={tree}' '--repo={tree}' \
             '--ksurl=git+https://pagure.io/fedora-kickstarts.git#main' --release=20261121.0 --wait"
        )),
        "{log}"
    );
    let call = hub
        .calls()
        .into_iter()
        .find(|c| c["method"] == "buildImage")
        .expect("no buildImage call");
    assert_eq!(call["args"][5], "livemedia");
    assert_eq!(call["kwargs"]["opts"]["install_tree_url"], tree.as_str());
    let images: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("compose/metadata/images.json")).unwrap())
            .unwrap();
    let live = images["payload"]["images"]["BaseOS"]["x86_64"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "live")
        .unwrap_or_else(|| panic!("no live image: {images}"))
        .clone();
    assert_eq!(
        live["path"],
        "BaseOS/x86_64/iso/Mini-Workstation-Live-36-20261121.0.x86_64.iso"
    );
    assert_eq!(live["bootable"], true);
    assert_eq!(live["subvariant"], "Workstation");
    assert_eq!(live["volume_id"], xtask::fixtures::boot::TREE_LABEL);
    if let Some(loaded) = crate::common::productmd_images(&top.join("compose/metadata/images.json"))
    {
        assert!(
            loaded
                .iter()
                .any(|l| l.starts_with("BaseOS x86_64 live iso ")),
            "{loaded:?}"
        );
    }
    drop(hub);

    let (_hub, _dir, out) = compose("fails", true, "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("Live media task failed: 1"),
        "{}",
        text(&out)
    );

    let (_hub, dir, out) = compose("failable", true, "    failable: [\"*\"]\n");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let deliverables: serde_json::Value = serde_json::from_slice(
        &std::fs::read(compose_dir(&dir.join("t")).join("logs/global/deliverables.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        deliverables["failed"]["live-media"],
        serde_json::json!([["BaseOS", "x86_64", "Workstation"]]),
        "{deliverables}"
    );
}

/// A phase's Koji image tasks run side by side, as pungi's thread pool runs them: the second
/// block's task is submitted before the first one's has ended (each stays open 3 s); and the
/// image phase runs beside createiso.
#[test]
fn a_phases_koji_tasks_run_side_by_side() {
    if !have("koji") {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let volume = base.path().join("mnt-koji");
    std::fs::create_dir_all(&volume).unwrap();
    let hub = Hub::with_volume(
        &volume,
        &[("KOJI_HUB_TASK_SECONDS", std::ffi::OsStr::new("3"))],
    );
    let dir = base.path().join("c");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = mini_config(
        &dir,
        "koji_profile: kiln-test\nkiwibuild_target: f41-kiwi\nkiwibuild:\n  \"^BaseOS$\":\n    \
         - {description_scm: \"git+https://example.org/k.git#main\", description_path: cloud.kiwi, subvariant: Cloud}\n    \
         - {description_scm: \"git+https://example.org/k.git#main\", description_path: container.kiwi, \
         subvariant: Container}\n",
    );
    let out = hub.kiln(&compose_args(&cfg, &[]), &dir).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let methods: Vec<String> = hub
        .calls()
        .iter()
        .map(|c| c["method"].as_str().unwrap().to_owned())
        .collect();
    let submitted: Vec<usize> = methods
        .iter()
        .enumerate()
        .filter(|(_, m)| *m == "kiwiBuild")
        .map(|(i, _)| i)
        .collect();
    let first_result = methods
        .iter()
        .position(|m| m == "getTaskChildren")
        .expect("no task was collected");
    assert_eq!(submitted.len(), 2, "{methods:?}");
    assert!(
        submitted[1] < first_result,
        "the second task waited for the first: {methods:?}"
    );
    let images =
        std::fs::read_to_string(compose_dir(&dir.join("t")).join("compose/metadata/images.json"))
            .unwrap();
    assert!(
        images.contains("mini-kiwi.x86_64-36.qcow2") && images.contains("mini-kiwi-"),
        "{images}"
    );
}

/// `pkgset_koji_builds` adds builds the tag does not have: the child tag alone (no
/// inheritance) plus its parent's builds by NVR gives the repository's package set; an NVR Koji
/// does not know stops the compose, named.
#[test]
fn pkgset_koji_builds_add_untagged_builds() {
    if !have("koji") || !have("rpm") {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let volume = base.path().join("mnt-koji");
    let tags_file = koji_volume(&volume);
    let tags: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&tags_file).unwrap()).unwrap();
    let parent_nvrs: Vec<String> = tags["tags"]["mini-36-base"]["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            format!(
                "{}-{}-{}",
                b["name"].as_str().unwrap(),
                b["version"].as_str().unwrap(),
                b["release"].as_str().unwrap()
            )
        })
        .collect();
    let hub = Hub::with_volume(&volume, &[("KOJI_HUB_TAGS", tags_file.as_os_str())]);
    let compose = |name: &str, builds: &[String]| {
        let dir = base.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let quoted: Vec<String> = builds.iter().map(|b| format!("\"{b}\"")).collect();
        let cfg = mini_config(
            &dir,
            &format!(
                "pkgset_koji_tag: mini-36\npkgset_koji_inherit: false\nkoji_profile: kiln-test\n\
                 pkgset_koji_builds: [{}]\n",
                quoted.join(", ")
            ),
        );
        let edited = std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("sigkeys: [null]", "sigkeys: [c0ffee36, null]")
            .replace("pkgset_source: repos", "pkgset_source: koji");
        std::fs::write(&cfg, edited).unwrap();
        let out = hub
            .kiln(&compose_args(&cfg, &["--skip-phase", "createiso"]), &dir)
            .output()
            .unwrap();
        (dir, out)
    };
    let (dir, out) = compose("koji", &parent_nvrs);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let repo_dir = base.path().join("repo");
    std::fs::create_dir_all(&repo_dir).unwrap();
    let out = kiln(
        &compose_args(&mini_config(&repo_dir, ""), &["--skip-phase", "createiso"]),
        &repo_dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rpms = "compose/metadata/rpms.json";
    assert!(
        std::fs::read(compose_dir(&dir.join("t")).join(rpms)).unwrap()
            == std::fs::read(compose_dir(&repo_dir.join("t")).join(rpms)).unwrap(),
        "rpms.json of the tag plus builds differs from the repository's"
    );
    let listed = hub
        .calls()
        .into_iter()
        .find(|c| c["method"] == "listTaggedRPMS")
        .unwrap();
    assert_eq!(listed["kwargs"]["inherit"], false);

    let (_dir, out) = compose("unknown", &["mini-nothing-1-1".to_owned()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("pkgset_koji_builds: Koji has no build mini-nothing-1-1"),
        "{}",
        text(&out)
    );
}

/// A scratch image (`scratch: true`) has no Koji build: its files are taken from the task's
/// work folder on the volume, as pungi takes them.
#[test]
fn a_scratch_image_comes_from_the_tasks_work_folder() {
    if !have("koji") {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let volume = base.path().join("mnt-koji");
    std::fs::create_dir_all(&volume).unwrap();
    let hub = Hub::with_volume(&volume, &[]);
    let dir = base.path().join("c");
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = mini_config(
        &dir,
        "koji_profile: kiln-test\nimage_build_target: f41-image\nimage_build:\n  \"^BaseOS$\":\n    \
         image-build:\n      name: mini-cloud\n      format: qcow2\n      kickstart: mini-cloud.ks\n      \
         ksurl: \"git+https://pagure.io/fedora-kickstarts.git#main\"\n      distro: Fedora-41\n      \
         scratch: true\n",
    );
    let out = hub
        .kiln(&compose_args(&cfg, &["--skip-phase", "createiso"]), &dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let call = hub
        .calls()
        .into_iter()
        .find(|c| c["method"] == "buildImageOz")
        .unwrap();
    assert_eq!(call["kwargs"]["opts"]["scratch"], true, "{call}");
    let top = compose_dir(&dir.join("t"));
    let image = top.join("compose/BaseOS/x86_64/images/mini-cloud-36-1.x86_64.qcow2");
    let scratch = volume.join("work/tasks/2/2/mini-cloud-36-1.x86_64.qcow2");
    assert!(scratch.is_file(), "the stand-in hub left no scratch image");
    assert_eq!(
        std::fs::read(&image).unwrap(),
        std::fs::read(&scratch).unwrap()
    );
    assert!(
        !volume.join("packages/mini-cloud").exists(),
        "a scratch build has no build folder"
    );
}

/// `image_build_allow_reuse`: a compose of the same input takes the old compose's images
/// instead of a new Koji task; a newer build of a package of the variant makes a new task, and
/// the log says why.
#[test]
fn image_build_reuses_the_old_composes_images_until_its_packages_change() {
    if !have("koji") {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let base = tempfile::tempdir().unwrap();
    let volume = base.path().join("mnt-koji");
    std::fs::create_dir_all(&volume).unwrap();
    let hub = Hub::with_volume(
        &volume,
        &[("KOJI_HUB_FAIL_ARCHES", std::ffi::OsStr::new(""))],
    );
    let dir = base.path().join("c");
    std::fs::create_dir_all(&dir).unwrap();
    let block = "koji_profile: kiln-test\nimage_build_target: f41-image\n\
                 image_build_allow_reuse: true\nimage_build:\n  \"^AppStream$\":\n    \
                 image-build:\n      name: mini-cloud\n      format: [qcow2]\n      \
                 kickstart: mini-cloud.ks\n      \
                 ksurl: \"git+https://pagure.io/fedora-kickstarts.git#main\"\n      \
                 distro: Fedora-41\n";
    let compose = |cfg: &Path| -> PathBuf {
        let out = hub
            .kiln(&compose_args(cfg, &["--skip-phase", "createiso"]), &dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        compose_dir(&dir.join("t"))
    };
    let tasks = || {
        hub.calls()
            .iter()
            .filter(|c| c["method"] == "buildImageOz")
            .count()
    };
    let image = |top: &Path| -> PathBuf {
        let images: serde_json::Value = serde_json::from_slice(
            &std::fs::read(top.join("compose/metadata/images.json")).unwrap(),
        )
        .unwrap();
        let path = images["payload"]["images"]["AppStream"]["x86_64"][0]["path"]
            .as_str()
            .unwrap_or_else(|| panic!("no AppStream image: {images}"))
            .to_owned();
        top.join("compose").join(path)
    };

    let cfg = mini_config(&dir, block);
    let first = compose(&cfg);
    assert_eq!(tasks(), 1);

    let second = compose(&cfg);
    assert_ne!(second, first);
    assert_eq!(
        tasks(),
        1,
        "a second task for the same image: {}",
        logs(&second)
    );
    assert!(
        logs(&second).contains("image_build AppStream: the images of Koji task"),
        "{}",
        logs(&second)
    );
    let ino = |p: PathBuf| std::fs::metadata(p).unwrap().ino();
    assert_eq!(ino(image(&second)), ino(image(&first)));

    // mini-docs, an AppStream package, has a newer build: a new task.
    let updates = crate::incremental::newer_docs(&dir);
    let cfg = crate::incremental::config(&dir, Some(&updates));
    let yaml = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{yaml}\n{block}")).unwrap();
    let third = compose(&cfg);
    assert_eq!(tasks(), 2);
    assert!(
        logs(&third).contains("the packages of AppStream.x86_64 changed"),
        "{}",
        logs(&third)
    );
}
