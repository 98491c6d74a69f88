//! kiln's writers against the files real pungi wrote, and Python productmd as the reader.

use std::path::Path;
use std::process::Command;

use kiln_productmd::{
    ComposeRef, ExtraFile, ExtraFiles, Images, Product, TreeInfo, TreeVariant, extra_files,
};

const REF: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/reference/pungi-compose/compose"
);

fn reference(rel: &str) -> Option<String> {
    let r = std::fs::read_to_string(Path::new(REF).join(rel)).ok();
    if r.is_none() {
        eprintln!("reference compose absent at {REF}, skipping");
    }
    r
}

fn compose() -> ComposeRef {
    ComposeRef {
        id: "Mini-36-20261121.0".into(),
        date: "20261121".into(),
        kind: "production".into(),
        respin: 0,
        label: None,
    }
}

#[test]
fn images_json_round_trips_byte_for_byte() {
    let Some(want) = reference("metadata/images.json") else {
        return;
    };
    let (c, images) = Images::load(&Path::new(REF).join("metadata/images.json")).unwrap();
    assert_eq!(c, compose());
    assert_eq!(images.render(&c), want);
}

#[test]
fn extra_files_json_both_levels_byte_for_byte() {
    let Some(want_tree) = reference("BaseOS/x86_64/os/extra_files.json") else {
        return;
    };
    let want_compose = reference("metadata/extra_files.json").unwrap();
    let files = [
        (
            "README.mini",
            63,
            "7c98da1fb071e8efb9a4b6402ee7876035413cc42277e3d271aa0c0e78eda7a3",
        ),
        (
            "GPL",
            16,
            "a2695f96ce267bf4d9098fc3272590fb24db5ccdbee98d2ad57162e4052052ec",
        ),
        (
            "release/mini-release",
            22,
            "b07b86504b57bdfe4c1e48d8dfe12bb9e2d45e494ebb42d00d32836cf9a08c35",
        ),
    ];
    let mk = |prefix: &str, (f, s, h): (&str, u64, &str)| ExtraFile {
        file: format!("{prefix}{f}"),
        size: s,
        checksums: [("sha256".to_owned(), h.to_owned())].into(),
    };
    let tree: Vec<ExtraFile> = files.iter().map(|f| mk("", *f)).collect();
    assert_eq!(extra_files::render_tree(&tree), want_tree);
    let mut all = ExtraFiles::default();
    for f in files {
        all.add("BaseOS", "x86_64", mk("BaseOS/x86_64/os/", f))
            .unwrap();
    }
    assert_eq!(all.render(&compose()), want_compose);
}

#[test]
fn images_identity_rule_and_src_key_refused() {
    let Some(_) = reference("metadata/images.json") else {
        return;
    };
    let (_, images) = Images::load(&Path::new(REF).join("metadata/images.json")).unwrap();
    let (v, a, img) = images
        .iter()
        .next()
        .map(|(v, a, i)| (v.to_owned(), a.to_owned(), i.clone()))
        .unwrap();
    let mut again = images.clone();
    let mut clash = img.clone();
    clash.path = "elsewhere.iso".into();
    clash.checksums.insert("sha256".into(), "0".repeat(64));
    let e = again.add(&v, &a, clash).unwrap_err().to_string();
    assert!(e.contains("elsewhere.iso"), "{e}");
    let e = again.add(&v, "src", img).unwrap_err().to_string();
    assert!(e.contains("binary arch"), "{e}");
}

fn python_productmd() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import productmd"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("python3 productmd not installed (pip install productmd), skipping");
    }
    ok
}

#[test]
fn python_productmd_loads_what_kiln_writes() {
    if !python_productmd() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("images/pxeboot")).unwrap();
    std::fs::write(tree.join("images/pxeboot/vmlinuz"), b"kernel").unwrap();
    // A lorax-style treeinfo already in the tree: its images must survive and be checksummed.
    std::fs::write(
        tree.join(".treeinfo"),
        "[images-x86_64]\nkernel = images/pxeboot/vmlinuz\n\n[stage2]\nmainimage = images/install.img\n",
    )
    .unwrap();
    let mut ti = TreeInfo::new(
        Product {
            name: "Mini Linux".into(),
            short: "Mini".into(),
            version: "36".into(),
        },
        "x86_64",
        1795251170,
        TreeVariant::at_root("Server", "Server", "Server", "variant"),
    );
    let mut addon = TreeVariant::at_root("HA", "Server-HA", "High Availability", "addon");
    addon.repository = Some("addons/HA".into());
    addon.packages = Some("addons/HA/Packages".into());
    addon.parent = Some("Server".into());
    ti.variants.push(addon);
    kiln_productmd::treeinfo::write_tree_metadata(&tree, &ti, "Mini Linux 36").unwrap();
    let text = std::fs::read_to_string(tree.join(".treeinfo")).unwrap();
    assert!(text.contains("images/pxeboot/vmlinuz = sha256:"), "{text}");
    let script = format!(
        r#"
import productmd.treeinfo, productmd.discinfo
t = productmd.treeinfo.TreeInfo(); t.load("{d}/.treeinfo")
assert t.tree.arch == "x86_64" and t.tree.build_timestamp == 1795251170
assert sorted(t.variants.variants) == ["Server"], t.variants.variants
assert [v.uid for v in t.variants["Server"].variants.values()] == ["Server-HA"]
assert t.images.images["x86_64"]["kernel"] == "images/pxeboot/vmlinuz"
assert t.stage2.mainimage == "images/install.img"
d = productmd.discinfo.DiscInfo(); d.load("{d}/.discinfo")
assert d.arch == "x86_64" and d.description == "Mini Linux 36"
"#,
        d = tree.display()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
