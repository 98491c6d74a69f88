//! What gather takes from comps: each group's package requests, read with kiln-comps.

use std::collections::BTreeMap;
use std::path::Path;

use kiln_comps::{Comps, CompsError, Group, PackageType, fnmatch, tree::Document};

use crate::GatherError;

/// Reads a comps file as `variant` on `arch` sees it (pungi's `arch=`/`variant=` applied).
pub fn read_groups(path: &Path, variant: &str, arch: &str) -> Result<Comps, GatherError> {
    let text = std::fs::read_to_string(path).map_err(|source| GatherError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(parse_groups(&text, path, variant, arch)?)
}

/// [`read_groups`] on text; `origin` names the file in errors.
pub fn parse_groups(
    text: &str,
    origin: &Path,
    variant: &str,
    arch: &str,
) -> Result<Comps, CompsError> {
    kiln_comps::variant_packages(&Document::parse(text, origin)?, arch, variant)
}

/// The inputs a variant takes from its groups: every non-conditional package (pungi writes
/// `@group --optional`, so optional ones too), the conditional pairs, and the wanted groups
/// that match nothing.
pub fn group_inputs(
    comps: &Comps,
    wanted: &[kiln_variants::GroupRef],
) -> (Vec<String>, Vec<(String, String)>, Vec<String>) {
    // By id, in id order; a later group of the same id replaces an earlier one.
    let groups: BTreeMap<&str, &Group> = comps.groups.iter().map(|g| (g.id.trim(), g)).collect();
    let mut names = Vec::new();
    let mut conditional = Vec::new();
    let mut missing = Vec::new();
    for g in wanted {
        let matched: Vec<&Group> = if g.glob {
            groups
                .iter()
                .filter(|(id, _)| fnmatch(id, &g.name))
                .map(|(_, group)| *group)
                .collect()
        } else {
            groups.get(g.name.as_str()).copied().into_iter().collect()
        };
        if matched.is_empty() {
            missing.push(g.name.clone());
        }
        for req in matched.iter().flat_map(|group| &group.packages) {
            let name = req.name.trim().to_owned();
            match (&req.kind, &req.requires) {
                (PackageType::Conditional, Some(when)) => conditional.push((when.clone(), name)),
                _ => names.push(name),
            }
        }
    }
    names.sort();
    names.dedup();
    (names, conditional, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_groups() {
        let parse = |text| parse_groups(text, Path::new("comps.xml"), "Server", "x86_64");
        let c = parse(
            r#"<?xml version="1.0"?><comps><group><id>core</id><name>Core</name>
            <packagelist><packagereq type="mandatory">a</packagereq>
            <packagereq type="conditional" requires="x">b-x</packagereq>
            <packagereq>c</packagereq></packagelist></group>
            <category><id>cat</id></category></comps>"#,
        )
        .unwrap();
        let core = c.group("core").unwrap();
        assert_eq!(core.packages.len(), 3);
        assert_eq!(core.packages[1].requires.as_deref(), Some("x"));
        assert_eq!(core.packages[2].kind, PackageType::Mandatory);
        assert!(parse("<comps><group></comps>").is_err());
    }
}
