//! `kiln diff` between two real composes: a package upgrade, the image it changed, a config
//! option; nothing between a compose and itself; the exit code says which.

use std::path::Path;

use crate::common::{compose_args, compose_dir, kiln, mini, mini_config, text};

#[test]
fn kiln_diff_names_the_upgrade_the_changed_image_and_the_option() {
    let a = tempfile::tempdir().unwrap();
    let out = kiln(&compose_args(&mini_config(a.path(), ""), &[]), a.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let old = compose_dir(&a.path().join("t"));

    let b = tempfile::tempdir().unwrap();
    let updates = crate::incremental::newer_docs(b.path());
    let cfg = mini_config(b.path(), "");
    let repo = mini().repo.display().to_string();
    let edited = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(
            &format!("x86_64: [{repo}]"),
            &format!("x86_64: [{repo}, {}]", updates.display()),
        )
        .replace("check_deps: true", "check_deps: false");
    std::fs::write(&cfg, edited).unwrap();
    let out = kiln(&compose_args(&cfg, &["--no-old-composes"]), b.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let new = compose_dir(&b.path().join("t"));

    let arg = |p: &Path| p.to_str().unwrap().to_owned();
    let out = kiln(&["diff", &arg(&old), &arg(&new)], a.path());
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("upgraded   mini-docs.noarch 1.0-1.mini36 -> 1.1-1.mini36"),
        "{shown}"
    );
    assert!(
        shown.contains("changed    AppStream.x86_64 dvd iso disc 1"),
        "{shown}"
    );
    assert!(
        !shown.contains("BaseOS.x86_64 dvd"),
        "BaseOS's DVD did not change: {shown}"
    );
    assert!(shown.contains("check_deps: true -> false"), "{shown}");

    let out = kiln(&["diff", "--json", &arg(&old), &arg(&new)], a.path());
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Exactly the differences the inputs have: mini-docs (binary and source) upgraded in
    // AppStream and nothing else; AppStream's two DVDs (binary and source) changed; and the
    // options that differ.
    let trees: Vec<&String> = json["packages"].as_object().unwrap().keys().collect();
    assert_eq!(trees, ["AppStream.x86_64"], "{json:#}");
    let ch = &json["packages"]["AppStream.x86_64"];
    let ups: Vec<String> = ch["upgraded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{}.{} {} -> {}",
                u["name"].as_str().unwrap(),
                u["arch"].as_str().unwrap(),
                u["old"].as_str().unwrap(),
                u["new"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        ups,
        [
            "mini-docs.noarch 1.0-1.mini36 -> 1.1-1.mini36",
            "mini-docs.src 1.0-1.mini36 -> 1.1-1.mini36"
        ]
    );
    for k in ["added", "removed", "downgraded"] {
        assert_eq!(ch[k].as_array().unwrap().len(), 0, "{k}: {json:#}");
    }
    let images: Vec<String> = json["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{} {}",
                i["change"].as_str().unwrap(),
                i["new_path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        images,
        [
            format!(
                "changed AppStream/source/iso/{}-AppStream-source-dvd1.iso",
                new.file_name().unwrap().to_string_lossy()
            ),
            format!(
                "changed AppStream/x86_64/iso/{}-AppStream-x86_64-dvd1.iso",
                new.file_name().unwrap().to_string_lossy()
            ),
        ],
        "{json:#}"
    );
    let options: Vec<&str> = json["config"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["option"].as_str().unwrap())
        .collect();
    // extra_files too: each compose's config names the extra files of its own folder.
    assert_eq!(options, ["check_deps", "extra_files", "pkgset_repos"]);

    let out = kiln(&["diff", &arg(&old), &arg(&old)], a.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("no differences"));

    let out = kiln(&["diff", &arg(&old), "/nonexistent"], a.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("/nonexistent"), "{}", text(&out));
}
