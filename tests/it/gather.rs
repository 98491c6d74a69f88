//! The gather phase through the real binary: the mini distro compose ships what pungi shipped
//! (shared/reference/pungi-compose), productmd loads rpms.json, dnf finds every variant closed,
//! and a broken choice fails naming the package and the variant.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{kiln, mini_config, text};

const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/reference/pungi-compose/compose/metadata/rpms.json"
);

/// The example config with pungi-run's own additional package, edited by `edit`.
fn config(dir: &Path, edit: impl FnOnce(String) -> String) -> PathBuf {
    let path = mini_config(dir, "");
    let text = std::fs::read_to_string(&path)
        .expect("config")
        .replace("{\"*\": [mini-release]}", "{\"*\": [mini-glibc-devel]}");
    std::fs::write(&path, edit(text)).expect("config");
    path
}

/// Runs init, pkgset, gather and createrepo; None when the pipeline cannot run yet.
fn compose(dir: &Path, cfg: &Path) -> Option<(Output, Option<PathBuf>)> {
    let mut args = vec![
        "compose",
        cfg.to_str().expect("utf-8"),
        "--target-dir",
        "t",
        "--no-label",
    ];
    for p in ["init", "pkgset", "gather", "createrepo"] {
        args.push("--just-phase");
        args.push(p);
    }
    let out = kiln(&args, dir);
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("`init`, which is not a phase") {
        eprintln!("skipping: the init phase is not registered yet");
        return None;
    }
    let top = std::fs::read_dir(dir.join("t")).ok().and_then(|d| {
        d.flatten()
            .map(|e| e.path())
            .find(|p| p.join("COMPOSE_ID").is_file())
    });
    Some((out, top))
}

/// `variant arch srpm nevra category path`, sigkeys left out (pungi's run was unsigned).
fn flat(v: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(rpms) = v["payload"]["rpms"].as_object() else {
        return out;
    };
    for (var, arches) in rpms {
        for (arch, srpms) in arches.as_object().into_iter().flatten() {
            for (srpm, pkgs) in srpms.as_object().into_iter().flatten() {
                for (nevra, e) in pkgs.as_object().into_iter().flatten() {
                    out.push(format!(
                        "{var} {arch} {srpm} {nevra} {} {}",
                        e["category"], e["path"]
                    ));
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn mini_compose_ships_what_pungi_shipped() {
    if !Path::new(REFERENCE).exists() {
        eprintln!("skipping: {REFERENCE} is absent");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), |t| t);
    let Some((out, top)) = compose(dir.path(), &cfg) else {
        return;
    };
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = top.expect("a compose folder");
    let rpms_json = top.join("compose/metadata/rpms.json");
    let ours: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&rpms_json).expect("rpms.json")).expect("json");
    let theirs: serde_json::Value =
        serde_json::from_slice(&std::fs::read(REFERENCE).expect("reference")).expect("json");
    assert_eq!(flat(&ours), flat(&theirs));
    assert!(flat(&ours).len() > 70, "{}", flat(&ours).len());
    assert_eq!(ours["header"], theirs["header"]);
    // No variant ships modules: modules.json is pungi's empty manifest, byte for byte.
    let modules_ref = Path::new(REFERENCE).with_file_name("modules.json");
    assert_eq!(
        std::fs::read_to_string(top.join("compose/metadata/modules.json")).expect("modules.json"),
        std::fs::read_to_string(modules_ref).expect("pungi's modules.json")
    );

    // Every listed file is in the tree, a hard link of the package set's file.
    let compose_dir = top.join("compose");
    for line in flat(&ours) {
        let path = line.rsplit(' ').next().expect("path").trim_matches('"');
        let meta = std::fs::metadata(compose_dir.join(path)).expect(path);
        assert!(
            std::os::unix::fs::MetadataExt::nlink(&meta) >= 2,
            "{path} is not hard-linked"
        );
    }
    // The gather result other phases read exists for each variant and round-trips.
    for v in ["BaseOS", "AppStream"] {
        let path = top.join(format!("work/x86_64/gather/{v}.x86_64.json"));
        assert!(path.is_file(), "{v}");
        let bytes = std::fs::read(&path).expect("gather result");
        let back: kiln_phase_gather::GatherResult =
            serde_json::from_slice(&bytes).expect("a gather result");
        assert_eq!(back.to_json(), bytes, "{v}: lossy round trip");
    }

    // productmd itself loads it.
    let py = Command::new("python3")
        .args([
            "-c",
            "import sys, productmd.rpms as r; m = r.Rpms(); m.load(sys.argv[1]); \
             print(sum(len(p) for a in m.rpms.values() for s in a.values() for p in s.values()))",
            rpms_json.to_str().expect("utf-8"),
        ])
        .output();
    match py {
        Ok(o) if o.status.success() => {
            assert_eq!(
                String::from_utf8_lossy(&o.stdout).trim(),
                flat(&ours).len().to_string()
            );
        }
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named") => {
            eprintln!("productmd is not installed: pip install productmd");
        }
        Ok(o) => panic!("productmd refused rpms.json: {}", text(&o)),
        Err(e) => eprintln!("python3 not runnable: {e}"),
    }

    // Healthy compose: dnf finds every variant closed (AppStream with BaseOS as lookaside).
    let cache = dir.path().join("dnf");
    std::fs::create_dir_all(&cache).expect("mkdir");
    for (v, look) in [("BaseOS", None), ("AppStream", Some("BaseOS"))] {
        let repo = compose_dir.join(v).join("x86_64/os");
        if !repo.join("repodata/repomd.xml").is_file() {
            eprintln!("no repodata for {v}: createrepo did not run");
            continue;
        }
        let mut cmd = Command::new("dnf");
        cmd.arg("repoclosure")
            .arg(format!("--setopt=cachedir={}", cache.display()))
            .arg(format!("--setopt=reposdir={}", cache.display()))
            .arg(format!("--setopt=logdir={}", cache.display()))
            .args([
                "--releasever=36",
                "--arch=x86_64",
                "--arch=noarch",
                "--forcearch=x86_64",
            ])
            .arg(format!("--repofrompath={v},file://{}", repo.display()))
            .arg(format!("--repo={v}"))
            .arg(format!("--check={v}"));
        if let Some(l) = look {
            let lrepo = compose_dir.join(l).join("x86_64/os");
            cmd.arg(format!("--repofrompath={l},file://{}", lrepo.display()))
                .arg(format!("--repo={l}"));
        }
        match cmd.output() {
            Ok(o) => assert!(o.status.success(), "dnf repoclosure {v}: {}", text(&o)),
            Err(e) => eprintln!("dnf not runnable: {e}"),
        }
    }
}

#[test]
fn an_unresolvable_dependency_names_the_package_and_the_variant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), |t| {
        t.replace("[mini-filtered]", "[mini-filtered, mini-glibc]")
    });
    let Some((out, _)) = compose(dir.path(), &cfg) else {
        return;
    };
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("BaseOS.x86_64"), "{all}");
    assert!(all.contains("mini-bash"), "{all}");
    assert!(all.contains("libc.so.6"), "{all}");
}

/// A gather that failed after linking, resumed with a package no longer asked for: its file
/// leaves the tree and rpms.json, the rest stay linked.
#[test]
fn a_resumed_gather_removes_what_it_no_longer_ships() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path(), |t| t);
    let out = crate::common::kiln_command(
        &crate::common::compose_args(&cfg, &["--just-phase", "init", "--just-phase", "pkgset"]),
        dir.path(),
    )
    .args(["--just-phase", "gather"])
    .env("KILN_FAILPOINT", "fail:gather")
    .output()
    .expect("kiln");
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let top = crate::common::compose_dir(&dir.path().join("t"));
    let packages = top.join("compose/BaseOS/x86_64/os/Packages");
    let shipped = |name: &str| {
        walk(&packages).iter().any(|p| {
            p.file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with(name))
        })
    };
    assert!(shipped("mini-glibc-devel-"), "the failed run linked it");
    let edited = std::fs::read_to_string(&cfg)
        .expect("config")
        .replace("[mini-glibc-devel]", "[]");
    std::fs::write(&cfg, edited).expect("config");
    let out = kiln(
        &[
            "compose",
            "--resume",
            top.to_str().expect("utf-8"),
            "--no-label",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        !shipped("mini-glibc-devel-"),
        "the resumed run still ships it"
    );
    assert!(
        shipped("mini-bash-"),
        "the resumed run dropped what it ships"
    );
    let rpms = flat(&crate::common::metadata(&top, "rpms.json"));
    assert!(
        !rpms.iter().any(|l| l.contains("mini-glibc-devel-")),
        "{rpms:#?}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `kiln gather` on bare repositories runs the phase's depsolver: given the inputs BaseOS had
/// in the mini compose (and its filter), it prints exactly the packages that compose shipped.
#[test]
fn kiln_gather_prints_what_the_gather_phase_ships() {
    use crate::common::{compose_args, compose_dir, kiln, mini, mini_config, text};
    let dir = tempfile::tempdir().unwrap();
    let cfg = mini_config(dir.path(), "");
    let out = kiln(
        &compose_args(&cfg, &["--skip-phase", "createiso"]),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.path().join("t"));
    let result: serde_json::Value = serde_json::from_slice(
        &std::fs::read(top.join("work/x86_64/gather/BaseOS.x86_64.json")).unwrap(),
    )
    .unwrap();
    let nvras = |tree: &str| -> Vec<String> {
        let mut v: Vec<String> = result[tree]["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                // `name-epoch:version-release.arch`, less the epoch.
                let nevra = p["nevra"].as_str().unwrap();
                let (name_epoch, vra) = nevra.split_once(':').unwrap();
                format!("{}-{vra}", name_epoch.rsplit_once('-').unwrap().0)
            })
            .collect();
        v.sort();
        v
    };
    let mut inputs: Vec<String> = result["os"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == "input"))
        })
        .map(|p| {
            let nevra = p["nevra"].as_str().unwrap();
            nevra
                .split_once(':')
                .unwrap()
                .0
                .rsplit_once('-')
                .unwrap()
                .0
                .to_owned()
        })
        .collect();
    inputs.sort();
    inputs.dedup();
    assert!(!inputs.is_empty());
    let repo = mini().repo;
    let mut args = vec![
        "gather".to_owned(),
        "--repo".to_owned(),
        repo.display().to_string(),
        "--exclude".to_owned(),
        "mini-filtered".to_owned(),
    ];
    args.extend(inputs);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = kiln(&args, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let section = |title: &str| -> Vec<String> {
        stdout
            .split(&format!("{title}:\n"))
            .nth(1)
            .unwrap_or("")
            .lines()
            .take_while(|l| l.starts_with("  "))
            .map(|l| l.trim().to_owned())
            .collect()
    };
    assert_eq!(section("binary"), nvras("os"), "{stdout}");
    assert_eq!(section("source"), nvras("source"), "{stdout}");
    assert_eq!(section("debug"), nvras("debug"), "{stdout}");

    // The same from what the config says: BaseOS's comps groups and additional_packages.
    let m = mini();
    let comps = m.comps.display().to_string();
    let repo = repo.display().to_string();
    let out = kiln(
        &[
            "gather",
            "--repo",
            &repo,
            "--comps",
            &comps,
            "--exclude",
            "mini-filtered",
            "@core",
            "@standard",
            "mini-glibc-devel",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        stdout,
        "groups and names gave another choice"
    );
    let out = kiln(
        &["gather", "--repo", &repo, "--comps", &comps, "@nope"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no comps group matches nope"),
        "{}",
        text(&out)
    );
}

/// The gather phase takes the langpacks of the variant's comps, as pungi's deps method does: a
/// match for a package BaseOS ships pulls in every package its pattern names (never -devel).
#[test]
fn comps_langpacks_pull_their_packages_into_the_variant() {
    let dir = tempfile::tempdir().unwrap();
    let m = crate::common::mini();
    let original = std::fs::read_to_string(&m.comps).unwrap();
    let comps = original.replace(
        r#"<match install="mini-editor-langpack-%s" name="mini-editor"/>"#,
        r#"<match install="mini-editor%s" name="mini-bash"/>"#,
    );
    assert_ne!(
        comps, original,
        "the mini comps has no langpacks match to change"
    );
    let comps_path = dir.path().join("langpacks-comps.xml");
    std::fs::write(&comps_path, comps).unwrap();
    let cfg = config(dir.path(), |t| {
        t.replace(
            &m.comps.display().to_string(),
            &comps_path.display().to_string(),
        )
    });
    let (out, top) = compose(dir.path(), &cfg).expect("the pipeline runs");
    assert!(out.status.success(), "{}", text(&out));
    let top = top.unwrap();
    base_os_ships(
        &top,
        &[
            "mini-editor-0:1.1-1.mini36.x86_64",
            "mini-editor-data-0:1.1-1.mini36.noarch",
        ],
    );
    // kiln why names the rule.
    why_base_os_says(
        &top,
        "mini-editor",
        &["mini-editor-1.1-1.mini36.x86_64: a comps langpack of mini-bash-"],
    );
}

/// `gather_prepopulate` puts its packages into the trees it names, dependencies and all; an
/// arch the tree cannot hold fails gather naming the entry, and a file that is not a prepopulate
/// file is refused with the config, before any compose starts.
#[test]
fn gather_prepopulate_adds_its_packages_and_names_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prepopulate.json");
    let with = |json: &str| {
        std::fs::write(&file, json).unwrap();
        config(dir.path(), |t| {
            format!("{t}\ngather_prepopulate: {}\n", file.display())
        })
    };
    let cfg = with(r#"{"BaseOS": {"x86_64": {"mini-editor": ["mini-editor.x86_64"]}}}"#);
    let (out, top) = compose(dir.path(), &cfg).expect("the pipeline runs");
    assert!(out.status.success(), "{}", text(&out));
    let top = top.unwrap();
    base_os_ships(
        &top,
        &[
            "mini-editor-0:1.1-1.mini36.x86_64",
            "mini-editor-data-0:1.1-1.mini36.noarch",
        ],
    );
    why_base_os_says(
        &top,
        "mini-editor-data",
        &[
            "required by mini-editor-1.1-1.mini36.x86_64",
            "mini-editor-1.1-1.mini36.x86_64: gather_prepopulate lists mini-editor.x86_64",
        ],
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prepopulate.json");
    std::fs::write(
        &file,
        r#"{"BaseOS": {"x86_64": {"mini-bash": ["mini-bash.ppc64le"]}}}"#,
    )
    .unwrap();
    let cfg = config(dir.path(), |t| {
        format!("{t}\ngather_prepopulate: {}\n", file.display())
    });
    let (out, _) = compose(dir.path(), &cfg).expect("the pipeline runs");
    assert!(!out.status.success());
    assert!(
        text(&out)
            .contains("gather_prepopulate: mini-bash.ppc64le (BaseOS.x86_64) has arch ppc64le"),
        "{}",
        text(&out)
    );

    std::fs::write(&file, r#"{"BaseOS": ["mini-bash.x86_64"]}"#).unwrap();
    let (out, _) = compose(dir.path(), &cfg).expect("the pipeline runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("kiln.yaml") && text(&out).contains(&*file.to_string_lossy()),
        "{}",
        text(&out)
    );
}

/// `gather_source_mapping` (pungi's json gather source): its packages are inputs of the trees it
/// names, and `kiln why` says where they came from.
#[test]
fn gather_source_mapping_packages_are_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mapping.json");
    std::fs::write(
        &file,
        r#"{"BaseOS": {"x86_64": {"mini-editor": ["x86_64"], "mini-docs": [null]}}}"#,
    )
    .unwrap();
    let cfg = config(dir.path(), |t| {
        format!("{t}\ngather_source_mapping: {}\n", file.display())
    });
    let (out, top) = compose(dir.path(), &cfg).expect("the pipeline runs");
    assert!(out.status.success(), "{}", text(&out));
    let top = top.unwrap();
    let rpms: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("compose/metadata/rpms.json")).unwrap())
            .unwrap();
    let base: Vec<String> = flat(&rpms)
        .into_iter()
        .filter(|l| l.starts_with("BaseOS x86_64 "))
        .collect();
    for want in [
        "mini-editor-0:1.1-1.mini36.x86_64",
        "mini-docs-0:1.0-1.mini36.noarch",
    ] {
        assert!(
            base.iter().any(|l| l.contains(&format!(" {want} "))),
            "BaseOS lacks {want}"
        );
    }
    let why = kiln(
        &[
            "why",
            top.to_str().unwrap(),
            "mini-editor",
            "--variant",
            "BaseOS",
        ],
        dir.path(),
    );
    assert!(
        text(&why).contains("an input (pattern mini-editor.x86_64) from gather_source_mapping"),
        "{}",
        text(&why)
    );
    // A file that is not a mapping is refused with the config.
    std::fs::write(&file, r#"["mini-editor"]"#).unwrap();
    let (out, _) = compose(dir.path(), &cfg).expect("the pipeline runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// Asserts that BaseOS.x86_64 of the compose at `top` ships every NEVRA of `wants`.
fn base_os_ships(top: &Path, wants: &[&str]) {
    let base: Vec<String> = flat(&crate::common::metadata(top, "rpms.json"))
        .into_iter()
        .filter(|l| l.starts_with("BaseOS x86_64 "))
        .collect();
    for want in wants {
        assert!(
            base.iter().any(|l| l.contains(&format!(" {want} "))),
            "BaseOS lacks {want}: {base:#?}"
        );
    }
}

/// Asserts that `kiln why` about `package` in BaseOS says every line of `says`.
fn why_base_os_says(top: &Path, package: &str, says: &[&str]) {
    let out = kiln(
        &[
            "why",
            &top.display().to_string(),
            package,
            "--variant",
            "BaseOS",
        ],
        Path::new("."),
    );
    for s in says {
        assert!(text(&out).contains(s), "{}", text(&out));
    }
}
