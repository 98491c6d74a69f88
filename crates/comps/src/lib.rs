//! comps.xml: parse, filter per arch and variant, write.
//!
//! Two layers, as in pungi:
//! - [`CompsFilter`] works on the XML tree ([`tree::Document`]) and applies
//!   pungi's `arch=`/`variant=` extensions and cleanup; its output is the
//!   per-arch file `work/<arch>/comps/comps-<arch>.xml`, byte-for-byte as
//!   pungi's `comps_filter` (lxml) writes it.
//! - [`Comps`] is the comps data model (what libcomps reads); it keeps the
//!   groups and environments a variant lists and writes the per-variant file
//!   `comps-<V>.<arch>.xml` as pungi's `CompsWrapper` (minidom) writes it.
//!
//! [`variant_comps`] and [`arch_comps`] chain them exactly as pungi's init
//! phase does.

mod filter;
mod glob;
mod model;
pub mod tree;

pub use filter::CompsFilter;
pub use glob::{fnmatch, is_glob};
pub use model::{
    Category, Comps, CompsError, EnvSpec, Environment, Group, GroupId, GroupSpec, PackageReq,
    PackageType,
};

/// pungi's per-arch comps: arch filter only, no cleanup.
pub fn arch_comps(global: &tree::Document, arch: &str) -> String {
    let mut f = CompsFilter::new(global.clone());
    f.filter_packages(arch, None, false);
    f.filter_groups(arch, None, false);
    f.filter_environments(arch, None, false);
    f.document().to_lxml_string()
}

/// The groups as pungi's gather reads them for one variant and arch: `packagereq`s that
/// pungi's `arch=`/`variant=` extensions exclude are dropped; groups, environments and
/// categories are kept as they are.
pub fn variant_packages(
    doc: &tree::Document,
    arch: &str,
    variant: &str,
) -> Result<Comps, CompsError> {
    let mut f = CompsFilter::new(doc.clone());
    f.filter_packages(arch, Some(variant), false);
    Comps::from_document(f.document())
}

/// What a variant asks of comps (from variants.xml or inline config).
#[derive(Clone, Debug, Default)]
pub struct VariantComps<'a> {
    pub uid: &'a str,
    pub groups: Vec<GroupSpec>,
    pub environments: Vec<EnvSpec>,
    /// Groups of the parent and of `variant_as_lookaside` variants, which
    /// environments may keep referring to.
    pub lookaside_groups: Vec<String>,
    /// pungi filters groups when the variant lists some, is modular, or is
    /// not a top-level variant.
    pub filter_groups: bool,
    /// `comps_filter_environments` and the variant lists groups or environments.
    pub filter_environments: bool,
}

/// pungi's per-variant comps: filter by arch and variant, clean up, keep the
/// variant's groups and environments. Returns the file text and the group
/// names that matched nothing (pungi warns about them).
pub fn variant_comps(
    global: &tree::Document,
    arch: &str,
    v: &VariantComps<'_>,
) -> Result<(String, Vec<String>), CompsError> {
    let mut f = CompsFilter::new(global.clone());
    f.filter_packages(arch, Some(v.uid), false);
    f.filter_groups(arch, Some(v.uid), false);
    f.filter_environments(arch, Some(v.uid), false);
    let keep = [
        "conflicts".to_owned(),
        format!("conflicts-{}", v.uid.to_lowercase()),
    ];
    f.cleanup(arch, &keep, &v.lookaside_groups);
    let mut comps = Comps::from_document(f.document())?;
    let mut unmatched = vec![];
    if v.filter_groups {
        unmatched = comps.filter_groups(&v.groups);
    }
    if v.filter_environments {
        comps.filter_environments(&v.environments);
    }
    Ok((comps.to_xml()?, unmatched))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn variant_packages_applies_arch_and_variant_lists() {
        let doc = tree::Document::parse(
            r#"<comps><group><id>core</id><packagelist>
            <packagereq>all</packagereq>
            <packagereq arch="x86_64, s390x">some-arches</packagereq>
            <packagereq arch="ppc64le">power</packagereq>
            <packagereq variant="Server Client">two-variants</packagereq>
            <packagereq variant="Workstation">other-variant</packagereq>
            </packagelist></group></comps>"#,
            Path::new("comps.xml"),
        )
        .unwrap();
        let names = |c: &Comps| -> Vec<String> {
            c.groups[0]
                .packages
                .iter()
                .map(|p| p.name.clone())
                .collect()
        };
        let c = variant_packages(&doc, "s390x", "Client").unwrap();
        assert_eq!(names(&c), ["all", "some-arches", "two-variants"]);
        let c = variant_packages(&doc, "ppc64le", "Workstation").unwrap();
        assert_eq!(names(&c), ["all", "power", "other-variant"]);
    }
}
