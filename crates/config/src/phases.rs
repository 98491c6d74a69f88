//! Phase names. The canonical names are the crate names under `phases/`; pungi's spellings are
//! accepted as aliases so that a pungi user's `skip_phases` carries over.

/// Every phase kiln knows, in a stable order (the order `kiln plan` lists them in).
pub const PHASES: &[&str] = &[
    "init",
    "pkgset",
    "buildinstall",
    "gather",
    "extrafiles",
    "createrepo",
    "ostree",
    "createiso",
    "extraisos",
    "live",
    "imagebuild",
    "kiwi",
    "osbuild",
    "repoclosure",
    "imagechecksum",
    "test",
];

const ALIASES: &[(&str, &str)] = &[
    ("extra_files", "extrafiles"),
    ("extra_isos", "extraisos"),
    ("image_checksum", "imagechecksum"),
    ("live_media", "live"),
    ("live_images", "live"),
    ("image_build", "imagebuild"),
    ("kiwibuild", "kiwi"),
];

/// The canonical name of a phase given by its kiln or pungi name.
pub fn canonical(name: &str) -> Option<&'static str> {
    if let Some(p) = PHASES.iter().find(|p| **p == name) {
        return Some(p);
    }
    ALIASES.iter().find(|(a, _)| *a == name).map(|(_, p)| *p)
}

/// The closest known phase name, for "did you mean".
pub fn suggest(name: &str) -> Option<&'static str> {
    PHASES
        .iter()
        .chain(ALIASES.iter().map(|(a, _)| a))
        .map(|p| (strsim::jaro_winkler(name, p), *p))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, p)| canonical(p).unwrap_or(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pungi_spellings_are_aliases() {
        assert_eq!(canonical("image_checksum"), Some("imagechecksum"));
        assert_eq!(canonical("gather"), Some("gather"));
        assert_eq!(canonical("productimg"), None);
        assert_eq!(suggest("creatrepo"), Some("createrepo"));
    }
}
