#![allow(clippy::unwrap_used, clippy::expect_used)]
//! variants.xml as pungi reads it.

use kiln_variants::{VariantKind, Variants};
use std::path::Path;

const MINI: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE variants PUBLIC "-//Red Hat, Inc.//DTD Variants info//EN" "variants.dtd">
<variants>
  <variant id="HA" name="High Availability" type="addon">
    <arches><arch>x86_64</arch><arch>ppc64le</arch></arches>
    <groups><group>ha</group></groups>
  </variant>
  <variant id="Gluster" name="Gluster" type="layered-product">
    <release name="Gluster" version="2.3" short="Gluster"/>
    <arches><arch>x86_64</arch></arches>
  </variant>
  <variant id="BaseOS" name="BaseOS" type="variant" has_optional="true">
    <arches><arch>x86_64</arch><arch>aarch64</arch></arches>
    <groups>
      <group default="true">standard</group>
      <group default="true" uservisible="false">core</group>
      <group glob="true">base-*</group>
    </groups>
    <environments>
      <environment display_order="20">minimal-environment</environment>
    </environments>
    <buildinstallpackages><package>zz</package><package>aa</package></buildinstallpackages>
    <variants>
      <ref id="HA"/>
      <ref id="Gluster"/>
    </variants>
  </variant>
  <variant id="AppStream" name="AppStream" type="variant">
    <arches><arch>x86_64</arch></arches>
    <modules><module>nginx:1.22</module><module glob="true">perl*</module></modules>
  </variant>
  <variant id="Live" name="Live" type="variant" is_empty="true">
    <arches><arch>x86_64</arch></arches>
  </variant>
</variants>
"#;

#[test]
fn parses_variants_children_refs_and_optional() {
    let v = Variants::from_xml_str(MINI, Path::new("variants.xml")).unwrap();
    let uids: Vec<&str> = v.all.iter().map(|v| v.uid.as_str()).collect();
    assert_eq!(
        uids,
        [
            "BaseOS",
            "BaseOS-optional",
            "BaseOS-HA",
            "BaseOS-Gluster",
            "AppStream",
            "Live"
        ]
    );
    let base = v.get("BaseOS").unwrap();
    assert_eq!(base.arches, ["aarch64", "x86_64"]);
    let names: Vec<&str> = base.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["base-*", "core", "standard"]);
    assert_eq!(base.groups[0].default, None);
    assert!(base.groups[0].glob);
    assert_eq!(base.groups[1].uservisible, Some(false));
    assert_eq!(base.environments[0].display_order, Some(20));
    assert_eq!(base.buildinstall_packages, ["aa", "zz"]);
    assert!(base.has_optional);
    let opt = v.get("BaseOS-optional").unwrap();
    assert_eq!(opt.kind, VariantKind::Optional);
    assert_eq!(opt.arches, base.arches);
    // An addon's arches are intersected with its parent's.
    let ha = v.get("BaseOS-HA").unwrap();
    assert_eq!(ha.arches, ["x86_64"]);
    assert_eq!(ha.parent.as_deref(), Some("BaseOS"));
    let gl = v.get("BaseOS-Gluster").unwrap();
    assert_eq!(gl.kind, VariantKind::LayeredProduct);
    assert_eq!(gl.release.as_ref().unwrap().version, "2.3");
    let app = v.get("AppStream").unwrap();
    assert_eq!(app.modules.len(), 2);
    assert!(app.modules[1].glob);
    assert!(v.get("Live").unwrap().is_empty);
}

fn err(text: &str) -> String {
    Variants::from_xml_str(text, Path::new("v.xml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn errors_name_file_line_and_column() {
    let e = err(
        "<variants>\n  <variant id=\"A\" name=\"A\" type=\"variant\">\n    <arches><arch> x86_64</arch></arches>\n  </variant>\n</variants>\n",
    );
    assert!(e.starts_with("v.xml:3:13:"), "{e}");
    assert!(e.contains("whitespace"), "{e}");
    let e = err("<variants>\n  <variant id=\"A\" name=\"A\" type=\"bogus\">\n");
    assert!(e.starts_with("v.xml:2:3:"), "{e}");
    let e = err(
        "<variants>\n<variant id=\"A\" name=\"A\" type=\"variant\"><arches><arch>x86_64</arch></arches>\n<variants><ref id=\"Nope\"/></variants></variant></variants>",
    );
    assert!(
        e.contains("v.xml:3:11:") && e.contains("non-existing variant Nope"),
        "{e}"
    );
    let e = err(
        "<variants><variant id=\"A\" name=\"A\" type=\"variant\"><arches><arch>x86_64</arch></arches>\n<groups><group default=\"yes\">core</group></groups></variant></variants>",
    );
    assert!(e.starts_with("v.xml:2:9:") && e.contains("default"), "{e}");
    let e = err("<variants><variant id=\"A\" name=\"A\" type=\"variant\"></variant></variants>");
    assert!(e.contains("no <arches>"), "{e}");
    let e = err(
        "<variants><variant id=\"A\" name=\"A\" type=\"variant\"><arches><arch>x86_64</arch>\n</variants>",
    );
    assert!(e.starts_with("v.xml:2:"), "{e}");
    let e = err(
        "<variants><variant id=\"A\" name=\"A\" type=\"variant\"><arches><arch>x86_64</arch></arches><variants><variant id=\"B\" name=\"B\" type=\"addon\"><arches><arch>s390x</arch></arches></variant></variants></variant></variants>",
    );
    assert!(e.contains("does not intersect"), "{e}");
}

#[test]
fn pungi_test_variants_parse() {
    for f in ["dummy-variants.xml", "multi-compose-variants.xml"] {
        let p = Path::new("/work/shared/realdata/pungi/data").join(f);
        if !p.exists() {
            eprintln!("skipping: {} absent", p.display());
            continue;
        }
        let v = Variants::from_xml_file(&p).unwrap();
        assert!(!v.all.is_empty(), "{f}");
        if f == "dummy-variants.xml" {
            assert!(v.get("Server-ResilientStorage").is_some());
            assert!(v.get("Server-Gluster").is_some());
            assert!(v.get("Client-optional").is_some());
            // Addons defined at top level exist only where referenced.
            assert!(v.get("ResilientStorage").is_none());
            let client = v.get("Client").unwrap();
            assert_eq!(
                client
                    .environments
                    .iter()
                    .find(|e| e.name == "desktop")
                    .unwrap()
                    .display_order,
                Some(1000)
            );
        }
    }
}
