//! Value shapes pungi configs use: per-variant/per-arch lists, sizes with suffixes, one-or-many.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// pungi's per-variant/per-arch form: a list of `[variant_regex, {arch or "*": value}]`.
/// `*` matches every arch except `src`, as in pungi.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct VariantArchMap<T>(pub Vec<(String, BTreeMap<String, T>)>);

impl<T> Default for VariantArchMap<T> {
    fn default() -> Self {
        VariantArchMap(Vec::new())
    }
}

/// Whether an arch key of a per-arch map applies to `arch`.
pub fn matches_arch(key: &str, arch: &str) -> bool {
    key == arch || (key == "*" && arch != "src")
}

impl<T> VariantArchMap<T> {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every value whose variant regex matches `variant` (anchored at both ends) and whose arch key
    /// applies to `arch`, in config order.
    pub fn all_for<'a>(&'a self, variant: &str, arch: &str) -> Vec<&'a T> {
        let mut out = Vec::new();
        for (pattern, by_arch) in &self.0 {
            if !variant_matches(pattern, variant) {
                continue;
            }
            for (key, value) in by_arch {
                if matches_arch(key, arch) {
                    out.push(value);
                }
            }
        }
        out
    }

    /// The last matching value: pungi's rule for scalar options ("last match wins").
    pub fn last_for(&self, variant: &str, arch: &str) -> Option<&T> {
        self.all_for(variant, arch).pop()
    }

    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(p, _)| p.as_str())
    }
}

impl<T: Clone> VariantArchMap<Vec<T>> {
    /// All matching lists concatenated: pungi's rule for list options.
    pub fn list_for(&self, variant: &str, arch: &str) -> Vec<T> {
        self.all_for(variant, arch)
            .into_iter()
            .flat_map(|v| v.iter().cloned())
            .collect()
    }
}

/// pungi matches variant regexes with `re.match` and a `$` it adds, i.e. anchored at both ends.
pub fn variant_matches(pattern: &str, variant: &str) -> bool {
    match regex::Regex::new(&format!("^(?:{pattern})$")) {
        Ok(re) => re.is_match(variant),
        Err(_) => false,
    }
}

/// A byte size: an integer, or a string with a `k`, `M`, `G` suffix (multiples of 1024), as
/// pungi's `iso_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Size(#[schemars(with = "SizeForm")] pub u64);

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum SizeForm {
    Bytes(u64),
    WithSuffix(String),
}

impl Size {
    pub fn parse(s: &str) -> Option<u64> {
        let s = s.trim();
        let (num, mult) = match s.chars().last()? {
            'k' | 'K' => (&s[..s.len() - 1], 1024u64),
            'm' | 'M' => (&s[..s.len() - 1], 1024 * 1024),
            'g' | 'G' => (&s[..s.len() - 1], 1024 * 1024 * 1024),
            _ => (s, 1),
        };
        let n: u64 = num.trim().parse().ok()?;
        n.checked_mul(mult)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Size(n)),
            Raw::S(s) => Size::parse(&s).map(Size).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "invalid size {s:?}: expected bytes or a number with a k, M or G suffix"
                ))
            }),
        }
    }
}

/// A string or a list of strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_never_matches_src_and_regexes_are_anchored() {
        let mut by_arch = BTreeMap::new();
        by_arch.insert("*".to_owned(), vec!["a".to_owned()]);
        by_arch.insert("src".to_owned(), vec!["s".to_owned()]);
        let map = VariantArchMap(vec![("Server".to_owned(), by_arch)]);
        assert_eq!(map.list_for("Server", "x86_64"), vec!["a"]);
        assert_eq!(map.list_for("Server", "src"), vec!["s"]);
        assert!(map.list_for("Server-optional", "x86_64").is_empty());
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(Size::parse("4700000000"), Some(4_700_000_000));
        assert_eq!(Size::parse("10M"), Some(10 * 1024 * 1024));
        assert_eq!(Size::parse("4G"), Some(4 * 1024 * 1024 * 1024));
        assert_eq!(Size::parse("lots"), None);
    }
}
