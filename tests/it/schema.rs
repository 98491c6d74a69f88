//! Editor support: every example config names kiln's JSON Schema in a yaml-language-server
//! modeline, and a validator no one here wrote (check-jsonschema) accepts it against that schema,
//! and the pungi example once converted; a typo'd option is refused by it too.

use std::path::Path;
use std::process::Command;

use crate::common::{have, kiln};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn validate(file: &Path) -> std::process::Output {
    Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(Path::new(ROOT).join("schemas/config.schema.json"))
        .arg(file)
        .output()
        .expect("running check-jsonschema")
}

#[test]
fn the_schema_validates_every_example_config() {
    let mut yamls = Vec::new();
    for e in std::fs::read_dir(Path::new(ROOT).join("examples"))
        .unwrap()
        .flatten()
    {
        for f in std::fs::read_dir(e.path()).unwrap().flatten() {
            if f.path().extension().is_some_and(|x| x == "yaml") {
                yamls.push(f.path());
            }
        }
    }
    assert!(!yamls.is_empty());
    for y in &yamls {
        let text = std::fs::read_to_string(y).unwrap();
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            "# yaml-language-server: $schema=../../schemas/config.schema.json",
            "{} has no schema modeline",
            y.display()
        );
    }
    if !have("check-jsonschema") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = kiln(
        &[
            "config",
            "convert",
            &format!("{ROOT}/examples/mini/mini.conf"),
        ],
        dir.path(),
    );
    let converted = dir.path().join("mini-converted.yaml");
    std::fs::write(&converted, &out.stdout).unwrap();
    for f in yamls.iter().chain([&converted]) {
        let out = validate(f);
        assert!(
            out.status.success(),
            "{}: {}{}",
            f.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let typo = dir.path().join("typo.yaml");
    let text = std::fs::read_to_string(&yamls[0])
        .unwrap()
        .replace("gather_method:", "gather_metod:");
    std::fs::write(&typo, text).unwrap();
    let out = validate(&typo);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("gather_metod"));
}
