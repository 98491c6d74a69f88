//! The compose report (`logs/report.html`) as a browser shows it: real headless Chromium loads the
//! page, and the numbers in the DOM it rendered are those of the compose's own metadata.

use std::path::Path;
use std::process::Command;

use crate::common::{compose_args, compose_dir, have, kiln, mini_config, text};

/// The text of the cell with `class` in the row `data-tree="tree"` of the rendered DOM.
fn cell<'a>(dom: &'a str, tree: &str, class: &str) -> Option<&'a str> {
    let row = dom.split(&format!("data-tree=\"{tree}\"")).nth(1)?;
    let row = row.split("</tr>").next()?;
    let after = row.split(&format!("class=\"n {class}\">")).nth(1)?;
    after.split('<').next()
}

#[test]
fn the_report_renders_in_chromium_with_the_composes_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let out = kiln(&compose_args(&mini_config(dir.path(), ""), &[]), dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let top = compose_dir(&dir.path().join("t"));
    let report = top.join("logs/report.html");
    let html = std::fs::read_to_string(&report).expect("the compose wrote its report");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "it fetches nothing"
    );

    // The numbers the page must show, from the metadata.
    let rpms: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("compose/metadata/rpms.json")).unwrap())
            .unwrap();
    let count = |variant: &str, category: &str| {
        rpms["payload"]["rpms"][variant]["x86_64"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|p| p.as_object().unwrap().values())
            .filter(|e| e["category"] == category)
            .count()
    };
    let images: serde_json::Value =
        serde_json::from_slice(&std::fs::read(top.join("compose/metadata/images.json")).unwrap())
            .unwrap();
    let image_count: usize = images["payload"]["images"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|a| a.as_object().unwrap().values())
        .map(|l| l.as_array().unwrap().len())
        .sum();

    // `kiln report` writes it again.
    std::fs::remove_file(&report).unwrap();
    let out = kiln(&["report", top.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(report.is_file());

    if !have("chromium") {
        return;
    }
    let out = crate::common::run_ok(
        Command::new("chromium")
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
            .arg(format!("file://{}", report.display())),
    );
    let dom = String::from_utf8_lossy(&out);
    assert!(
        dom.contains("<svg id=\"timeline\""),
        "no timeline in the DOM: {dom}"
    );
    assert!(dom.contains("class=\"status FINISHED\""), "{dom}");
    for v in ["BaseOS", "AppStream"] {
        let tree = format!("{v}.x86_64");
        for (class, category) in [
            ("binary", "binary"),
            ("debug", "debug"),
            ("source", "source"),
        ] {
            assert_eq!(
                cell(&dom, &tree, class),
                Some(count(v, category).to_string().as_str()),
                "{tree} {class}"
            );
        }
    }
    let rows = dom
        .split("<table id=\"images\">")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    assert_eq!(rows.matches("<tr data-tree=").count(), image_count);
    // Every phase of the run is on the timeline, and the critical path ends in the last one.
    for phase in [
        "init",
        "pkgset",
        "gather",
        "createrepo",
        "createiso",
        "imagechecksum",
        "test",
    ] {
        assert!(
            dom.contains("<rect class=\"bar") && dom.contains(&format!("data-phase=\"{phase}\"")),
            "{phase}"
        );
    }
    let path = dom
        .split("id=\"critical-path\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("a critical path");
    assert!(path.ends_with("imagechecksum → test"), "{path}");
    assert!(
        dom.contains("<rect class=\"bar critical\" data-phase=\"test\""),
        "{dom}"
    );
    // Kept where a person can look at it after the run.
    let shot_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-output");
    std::fs::create_dir_all(&shot_dir).unwrap();
    let shot = shot_dir.join("report.png");
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1000,1400",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", report.display()))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "an empty page"
    );
}
