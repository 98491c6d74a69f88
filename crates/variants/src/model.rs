use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What a variant is, with pungi's spelling of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VariantKind {
    Variant,
    Addon,
    Optional,
    LayeredProduct,
}

impl VariantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VariantKind::Variant => "variant",
            VariantKind::Addon => "addon",
            VariantKind::Optional => "optional",
            VariantKind::LayeredProduct => "layered-product",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    pub name: String,
    /// `default=` from variants.xml; `None` keeps what comps says.
    #[serde(default)]
    pub default: Option<bool>,
    /// `uservisible=` from variants.xml; `None` keeps what comps says.
    #[serde(default)]
    pub uservisible: Option<bool>,
    /// The name is a glob over the comps group ids.
    #[serde(default)]
    pub glob: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentRef {
    pub name: String,
    #[serde(default)]
    pub display_order: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleRef {
    pub name: String,
    #[serde(default)]
    pub glob: bool,
}

/// The `<release>` of a layered product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayeredRelease {
    pub name: String,
    pub short: String,
    pub version: String,
}

/// One resolved variant. `uid` is unique in a compose: a child's uid is `<parent uid>-<id>`
/// (`Server-optional`), a top-level variant's uid is its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub id: String,
    pub uid: String,
    pub name: String,
    pub kind: VariantKind,
    /// Binary arches, sorted. Children inherit their parent's when they list none.
    pub arches: Vec<String>,
    pub groups: Vec<GroupRef>,
    pub environments: Vec<EnvironmentRef>,
    pub modules: Vec<ModuleRef>,
    pub buildinstall_packages: Vec<String>,
    /// `is_empty="true"`: a variant that ships no packages of its own.
    pub is_empty: bool,
    pub has_optional: bool,
    /// uid of the parent variant, for addons, optional and layered products.
    pub parent: Option<String>,
    pub release: Option<LayeredRelease>,
}

/// Inline definition in the YAML config (`variants:`), the same facts as variants.xml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantDef {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "default_kind", rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub arches: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub environments: Vec<String>,
    #[serde(default)]
    pub modules: Vec<String>,
    #[serde(default)]
    pub buildinstall_packages: Vec<String>,
    #[serde(default)]
    pub is_empty: bool,
    #[serde(default)]
    pub has_optional: bool,
    /// Children: addons, optional, layered products.
    #[serde(default)]
    pub variants: Vec<VariantDef>,
}

fn default_kind() -> String {
    "variant".to_owned()
}

#[derive(Debug, thiserror::Error)]
pub enum VariantsError {
    #[error("cannot read variants file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Xml {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("variant {uid}: {message}")]
    Invalid { uid: String, message: String },
}

/// All variants of a compose, parents before children.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variants {
    pub all: Vec<Variant>,
}

impl Variants {
    pub fn get(&self, uid: &str) -> Option<&Variant> {
        self.all.iter().find(|v| v.uid == uid)
    }

    pub fn top_level(&self) -> impl Iterator<Item = &Variant> {
        self.all.iter().filter(|v| v.parent.is_none())
    }

    pub fn children<'a>(&'a self, uid: &'a str) -> impl Iterator<Item = &'a Variant> + 'a {
        self.all
            .iter()
            .filter(move |v| v.parent.as_deref() == Some(uid))
    }

    /// Every binary arch of any variant, sorted and unique.
    pub fn arches(&self) -> Vec<String> {
        let mut arches: Vec<String> = self.all.iter().flat_map(|v| v.arches.clone()).collect();
        arches.sort();
        arches.dedup();
        arches
    }

    /// Builds the list from inline definitions.
    pub fn from_defs(defs: &[VariantDef]) -> Result<Self, VariantsError> {
        let mut all = Vec::new();
        for def in defs {
            push_def(def, None, &mut all)?;
        }
        Ok(Variants { all })
    }

    /// Keeps only the variants and arches a compose is limited to (`tree_variants`,
    /// `tree_arches`); children of a dropped variant go with it.
    pub fn restrict(&mut self, variants: &[String], arches: &[String]) {
        if !variants.is_empty() {
            let keep: Vec<String> = self
                .all
                .iter()
                .filter(|v| {
                    let top = v.parent.as_deref().unwrap_or(&v.uid);
                    variants.iter().any(|k| k == &v.uid || k == top)
                })
                .map(|v| v.uid.clone())
                .collect();
            self.all.retain(|v| keep.contains(&v.uid));
        }
        if !arches.is_empty() {
            for v in &mut self.all {
                v.arches.retain(|a| arches.contains(a));
            }
            self.all.retain(|v| !v.arches.is_empty());
        }
    }
}

fn parse_kind(uid: &str, kind: &str) -> Result<VariantKind, VariantsError> {
    match kind {
        "variant" => Ok(VariantKind::Variant),
        "addon" => Ok(VariantKind::Addon),
        "optional" => Ok(VariantKind::Optional),
        "layered-product" => Ok(VariantKind::LayeredProduct),
        other => Err(VariantsError::Invalid {
            uid: uid.to_owned(),
            message: format!(
                "unknown type {other:?}; expected variant, addon, optional or layered-product"
            ),
        }),
    }
}

fn push_def(
    def: &VariantDef,
    parent: Option<&Variant>,
    all: &mut Vec<Variant>,
) -> Result<(), VariantsError> {
    let uid = match parent {
        Some(p) => format!("{}-{}", p.uid, def.id),
        None => def.id.clone(),
    };
    let kind = parse_kind(&uid, &def.kind)?;
    if parent.is_none() && kind != VariantKind::Variant {
        return Err(VariantsError::Invalid {
            uid,
            message: format!(
                "a top-level variant must be of type variant, not {}",
                def.kind
            ),
        });
    }
    let mut arches = if def.arches.is_empty() {
        parent.map(|p| p.arches.clone()).unwrap_or_default()
    } else {
        def.arches.clone()
    };
    arches.sort();
    arches.dedup();
    if arches.is_empty() {
        return Err(VariantsError::Invalid {
            uid,
            message: "lists no arches".to_owned(),
        });
    }
    if all.iter().any(|v: &Variant| v.uid == uid) {
        return Err(VariantsError::Invalid {
            uid,
            message: "is defined twice".to_owned(),
        });
    }
    let variant = Variant {
        id: def.id.clone(),
        uid,
        name: def.name.clone().unwrap_or_else(|| def.id.clone()),
        kind,
        arches,
        groups: def
            .groups
            .iter()
            .map(|g| GroupRef {
                name: g.clone(),
                default: None,
                uservisible: None,
                glob: false,
            })
            .collect(),
        environments: def
            .environments
            .iter()
            .map(|e| EnvironmentRef {
                name: e.clone(),
                display_order: None,
            })
            .collect(),
        modules: def
            .modules
            .iter()
            .map(|m| ModuleRef {
                name: m.clone(),
                glob: false,
            })
            .collect(),
        buildinstall_packages: def.buildinstall_packages.clone(),
        is_empty: def.is_empty,
        has_optional: def.has_optional,
        parent: parent.map(|p| p.uid.clone()),
        release: None,
    };
    all.push(variant.clone());
    for child in &def.variants {
        push_def(child, Some(&variant), all)?;
    }
    Ok(())
}
