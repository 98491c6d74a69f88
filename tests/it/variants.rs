//! variants.xml files from pungi's own test data parse as pungi reads them.

use kiln_variants::Variants;
use std::path::Path;

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
