//! `compose/metadata/rpms.json` (productmd `Rpms`): every shipped package per variant and arch,
//! grouped under the N-E:V-R of its source package.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ComposeRef, ProductmdError};

/// Which tree a package lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RpmCategory {
    Binary,
    Debug,
    Source,
}

/// One package of rpms.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpmEntry {
    pub category: RpmCategory,
    /// Relative to `compose/`: `BaseOS/x86_64/os/Packages/m/mini-bash-5.1-1.x86_64.rpm`.
    pub path: String,
    /// Lowercase short key ID, or None for unsigned packages.
    pub sigkey: Option<String>,
}

pub type ByNevra = BTreeMap<String, RpmEntry>;

/// variant → arch → source N-E:V-R.A → package N-E:V-R.A → entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rpms {
    pub rpms: BTreeMap<String, BTreeMap<String, BTreeMap<String, ByNevra>>>,
}

impl Rpms {
    /// The packages of one variant and arch, by the N-E:V-R.A of their source package (a source
    /// package's own) then their own N-E:V-R.A; where a tree's packages are added.
    pub fn arch_mut(&mut self, variant: &str, arch: &str) -> &mut BTreeMap<String, ByNevra> {
        self.rpms
            .entry(variant.to_owned())
            .or_default()
            .entry(arch.to_owned())
            .or_default()
    }

    /// The bytes pungi writes.
    pub fn render(&self, compose: &ComposeRef) -> String {
        let body = serde_json::to_value(&self.rpms).unwrap_or(Value::Null);
        crate::common::document("rpms", compose, "rpms", body)
    }

    /// Reads rpms.json back.
    pub fn load(path: &Path) -> Result<(ComposeRef, Rpms), ProductmdError> {
        #[derive(Deserialize)]
        struct Payload {
            compose: ComposeRef,
            rpms: BTreeMap<String, BTreeMap<String, BTreeMap<String, ByNevra>>>,
        }
        let payload: Payload = crate::common::load(path, "rpms")?;
        Ok((payload.compose, Rpms { rpms: payload.rpms }))
    }
}

/// `name-epoch:version-release.src` from a source RPM file name and the build's epoch.
pub fn srpm_nevra(sourcerpm: &str, epoch: u32) -> Option<String> {
    let base = sourcerpm.strip_suffix(".rpm").unwrap_or(sourcerpm);
    let (nvr, arch) = base.rsplit_once('.')?;
    let (nv, r) = nvr.rsplit_once('-')?;
    let (n, v) = nv.rsplit_once('-')?;
    Some(format!("{n}-{epoch}:{v}-{r}.{arch}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_reference() {
        let reference = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/reference/pungi-compose/compose/metadata/rpms.json"
        );
        let Ok((compose, rpms)) = Rpms::load(Path::new(reference)) else {
            eprintln!("skipping: {reference} not readable");
            return;
        };
        let text = std::fs::read_to_string(reference).unwrap();
        assert_eq!(rpms.render(&compose), text);
    }

    #[test]
    fn srpm_key() {
        assert_eq!(
            srpm_nevra("mini-bash-5.1-1.mini36.src.rpm", 0).as_deref(),
            Some("mini-bash-0:5.1-1.mini36.src")
        );
    }
}
