//! The INI dialect of `.treeinfo`: productmd writes it with a sorted config parser, so sections
//! and keys come out in byte order, each line `key = value`, each section followed by a blank
//! line. Comment-looking keys (`; WARNING.0`) are kept as keys so a file round-trips exactly.

use std::collections::BTreeMap;

/// Sections of key/value pairs, both sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ini {
    pub sections: BTreeMap<String, BTreeMap<String, String>>,
}

impl Ini {
    pub fn set(&mut self, section: &str, key: &str, value: impl Into<String>) {
        self.sections
            .entry(section.to_owned())
            .or_default()
            .insert(key.to_owned(), value.into());
    }

    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections.get(section)?.get(key).map(String::as_str)
    }

    pub fn section(&self, section: &str) -> Option<&BTreeMap<String, String>> {
        self.sections.get(section)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, keys) in &self.sections {
            out.push('[');
            out.push_str(name);
            out.push_str("]\n");
            for (k, v) in keys {
                out.push_str(k);
                out.push_str(" = ");
                out.push_str(v);
                out.push('\n');
            }
            out.push('\n');
        }
        out
    }

    /// Parse the subset of INI productmd and lorax write. `what` names the file in errors.
    pub fn parse(text: &str, what: &str) -> Result<Ini, String> {
        let mut ini = Ini::default();
        let mut current: Option<String> = None;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim_end();
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    return Err(format!("{what}:{}: unterminated section header", n + 1));
                };
                ini.sections.entry(name.to_owned()).or_default();
                current = Some(name.to_owned());
                continue;
            }
            let Some((k, v)) = line.split_once('=').or_else(|| line.split_once(':')) else {
                if line.starts_with(';') {
                    continue;
                }
                return Err(format!("{what}:{}: expected `key = value`", n + 1));
            };
            let Some(section) = &current else {
                return Err(format!("{what}:{}: key outside any section", n + 1));
            };
            ini.set(section, k.trim(), v.trim());
        }
        Ok(ini)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_sorted() {
        let text = "[b]\nz = 1\na = 2\n\n[a]\n; WARNING.0 = hi\nk = v\n";
        let ini = Ini::parse(text, "t").unwrap();
        assert_eq!(
            ini.render(),
            "[a]\n; WARNING.0 = hi\nk = v\n\n[b]\na = 2\nz = 1\n\n"
        );
        assert!(Ini::parse("k = v\n", "t").is_err());
    }
}
