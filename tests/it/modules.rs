//! Modules end to end: a hybrid variant ships the module stream variants.xml names, with its
//! defaults, filtered as dnf filters modular content; dnf itself lists the module from the
//! compose's repository and installs it into an installroot.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{compose_args, compose_dir, have, kiln, mini, mini_config, text};

/// The mini compose with the modular repository added and AppStream asking for `module`.
fn modular_compose(dir: &Path, module: &str, method: &str) -> (std::process::Output, PathBuf) {
    let m = mini();
    let modular = xtask::fixtures::modular_repo_cached().expect("building the modular fixture");
    let variants = std::fs::read_to_string(&m.variants).unwrap().replace(
        "<environment>web-server-environment</environment>\n    </environments>",
        &format!(
            "<environment>web-server-environment</environment>\n    </environments>\n    \
                 <modules>\n      <module>{module}</module>\n    </modules>"
        ),
    );
    assert!(
        variants.contains("<modules>"),
        "AppStream's entry changed shape"
    );
    let variants_path = dir.join("variants.xml");
    std::fs::write(&variants_path, variants).unwrap();
    let cfg = mini_config(dir, "");
    let repo = m.repo.display().to_string();
    let text_cfg = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(
            &format!("x86_64: [{repo}]"),
            &format!("x86_64: [{repo}, {}]", modular.repo.display()),
        )
        .replace(
            &m.variants.display().to_string(),
            &variants_path.display().to_string(),
        )
        .replace(
            "gather_method: deps",
            &format!(
                "gather_method: {{\"^AppStream$\": {method}}}\nmodule_defaults_dir: {}",
                modular.defaults_dir.display()
            ),
        );
    assert!(text_cfg.contains(method) && text_cfg.contains(&*modular.repo.to_string_lossy()));
    std::fs::write(&cfg, text_cfg).unwrap();
    let out = kiln(&compose_args(&cfg, &["--skip-phase", "createiso"]), dir);
    let top = compose_dir(&dir.join("t"));
    (out, top)
}

fn dnf(root: &Path, repos: &[(&str, PathBuf)], args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new("dnf");
    cmd.args([
        "-y",
        "--releasever=36",
        "--setopt=reposdir=/dev/null",
        "--setopt=gpgcheck=0",
        "--setopt=module_platform_id=platform:mini36",
    ])
    .arg(format!("--installroot={}", root.display()))
    .arg(format!(
        "--setopt=cachedir={}",
        root.join("cache").display()
    ));
    for (id, path) in repos {
        cmd.arg(format!("--repofrompath={id},file://{}", path.display()))
            .arg(format!("--repo={id}"));
    }
    cmd.args(args).output().expect("running dnf")
}

fn all(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_hybrid_variant_ships_its_module_stream_and_dnf_installs_it() {
    if !have("modifyrepo_c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (out, top) = modular_compose(dir.path(), "nodejs:20", "hybrid");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The stream's build, not the plain package it shadows nor the other stream.
    let rpms = std::fs::read_to_string(top.join("compose/metadata/rpms.json")).unwrap();
    assert!(
        rpms.contains("mini-nodejs-0:20.1-1.module_mini36+20.x86_64"),
        "{rpms}"
    );
    assert!(
        !rpms.contains("mini-nodejs-0:16.0"),
        "the plain package is shadowed: {rpms}"
    );
    assert!(
        !rpms.contains("mini-nodejs-0:18.2"),
        "stream 18 is not enabled: {rpms}"
    );

    // The repository's modules.yaml: stream 20 and the defaults from module_defaults_dir.
    let app = top.join("compose/AppStream/x86_64/os");
    let yaml =
        std::fs::read_to_string(top.join("work/x86_64/modules/AppStream.x86_64.yaml")).unwrap();
    let index = kiln_modulemd::ModuleIndex::parse(&yaml, "AppStream modules.yaml").unwrap();
    let nsvcs: Vec<String> = index.streams.iter().map(|s| s.nsvc()).collect();
    assert_eq!(nsvcs, ["nodejs:20:3600200001:6c81f848"]);
    assert_eq!(index.default_stream("nodejs"), Some("20"));
    let repomd = std::fs::read_to_string(app.join("repodata/repomd.xml")).unwrap();
    assert!(repomd.contains("<data type=\"modules\">"), "{repomd}");
    // BaseOS (deps) has no module metadata.
    let base =
        std::fs::read_to_string(top.join("compose/BaseOS/x86_64/os/repodata/repomd.xml")).unwrap();
    assert!(!base.contains("type=\"modules\""));

    // modules.json names the build, its packages and the repository file it is described in;
    // productmd itself loads it.
    let manifest = top.join("compose/metadata/modules.json");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let entry = &json["payload"]["modules"]["AppStream"]["x86_64"]["nodejs:20:3600200001:6c81f848"];
    assert_eq!(entry["metadata"]["stream"], "20", "{json:#}");
    let rpm_list: Vec<&str> = entry["rpms"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        rpm_list.contains(&"mini-nodejs-0:20.1-1.module_mini36+20.x86_64"),
        "{rpm_list:?}"
    );
    let md_path = entry["modulemd_path"]["binary"].as_str().unwrap();
    assert!(
        md_path.starts_with("AppStream/x86_64/os/repodata/"),
        "{md_path}"
    );
    assert!(top.join("compose").join(md_path).is_file(), "{md_path}");
    if have("python3") {
        let py = Command::new("python3")
            .args([
                "-c",
                "import sys, productmd.modules as m; x = m.Modules(); x.load(sys.argv[1]); \
                 print(sorted(x.modules['AppStream']['x86_64']))",
            ])
            .arg(&manifest)
            .output()
            .unwrap();
        assert!(py.status.success(), "{}", all(&py));
        assert_eq!(
            String::from_utf8_lossy(&py.stdout).trim(),
            "['nodejs:20:3600200001:6c81f848']"
        );
    }

    if !have("dnf") {
        return;
    }
    let root = dir.path().join("root");
    let repos = [
        ("baseos", top.join("compose/BaseOS/x86_64/os")),
        ("appstream", app.clone()),
    ];
    let list = dnf(&root, &repos, &["module", "list"]);
    let listed = all(&list);
    assert!(list.status.success(), "{listed}");
    let line = listed
        .lines()
        .find(|l| l.starts_with("nodejs"))
        .unwrap_or_else(|| panic!("dnf lists no nodejs module: {listed}"));
    assert!(line.contains("20 [d]"), "stream 20 is the default: {line}");
    assert_eq!(
        listed.lines().filter(|l| l.starts_with("nodejs")).count(),
        1,
        "{listed}"
    );

    let install = dnf(&root, &repos, &["module", "install", "nodejs:20"]);
    assert!(install.status.success(), "{}", all(&install));
    let q = Command::new("rpm")
        .arg(format!("--root={}", root.display()))
        .args(["-q", "mini-nodejs"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&q.stdout).trim(),
        "mini-nodejs-20.1-1.module_mini36+20.x86_64"
    );
}

#[test]
fn a_module_no_repository_has_is_named() {
    if !have("modifyrepo_c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = modular_compose(dir.path(), "nodejs:22", "hybrid");
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out)
            .contains("AppStream.x86_64: module nodejs:22 is in no repository of the package set"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_variant_with_modules_needs_the_hybrid_method() {
    if !have("modifyrepo_c") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = modular_compose(dir.path(), "nodejs:20", "{comps: deps, module: nodeps}");
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains(
            "variant AppStream lists modules, so its gather_method must be hybrid (its module source is nodeps)"
        ),
        "{}",
        text(&out)
    );
}
