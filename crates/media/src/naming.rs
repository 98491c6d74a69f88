//! The variables pungi's name, volume-ID and checksum formats see, and the names it makes.

use std::collections::BTreeMap;

use kiln_compose::Compose;
use kiln_config::Config;
use kiln_config::NameFormat;
use kiln_engine::PhaseError;

/// pungi's default `image_name_format`.
pub const DEFAULT_NAME_FORMAT: &str = "{compose_id}-{variant}-{arch}-{disc_type}{disc_num}{suffix}";

/// pungi's format substitutions for one variant/arch (`get_format_substs`). `arch` is the real
/// arch (`src` for source media); names spell it `source` as pungi does.
pub fn format_vars(
    config: &Config,
    compose: &Compose,
    variant_uid: &str,
    arch: &str,
) -> BTreeMap<String, String> {
    let info = &compose.info;
    let label = info.label.clone().unwrap_or_default();
    let label_major = label
        .split_once('-')
        .map(|(_, v)| v.split('.').next().unwrap_or("").to_owned())
        .unwrap_or_default();
    let mut v: BTreeMap<String, String> = [
        ("compose_id", info.id.clone()),
        ("release_short", config.release_short.clone()),
        ("version", config.release_version.clone()),
        ("date", info.date.clone()),
        ("respin", info.respin.to_string()),
        ("type", info.compose_type.as_str().to_owned()),
        ("type_suffix", info.compose_type.suffix().to_owned()),
        ("label", label),
        ("label_major_version", label_major),
        ("variant", variant_uid.to_owned()),
        ("arch", arch.to_owned()),
        (
            "base_product_short",
            config.base_product_short.clone().unwrap_or_default(),
        ),
        (
            "base_product_version",
            config.base_product_version.clone().unwrap_or_default(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    v.insert("suffix".into(), ".iso".into());
    v
}

/// What `disc_types` calls a kind of disc (`dvd`, `boot`, ...) in names and volume IDs; the
/// kind itself when it does not say.
pub fn disc_type(config: &Config, kind: &str) -> String {
    config
        .disc_types
        .get(kind)
        .cloned()
        .unwrap_or_else(|| kind.to_owned())
}

/// The ISO file name for disc `disc_num` of a variant/arch; `None` for an image that is not one
/// of a set (the boot ISO), whose `{disc_num}` is empty as in pungi.
pub fn image_name(
    config: &Config,
    compose: &Compose,
    variant_uid: &str,
    arch: &str,
    disc_type: &str,
    disc_num: Option<u32>,
) -> Result<String, PhaseError> {
    let fmt = match &config.image_name_format {
        None => DEFAULT_NAME_FORMAT.to_owned(),
        Some(NameFormat::One(f)) => f.clone(),
        Some(NameFormat::PerVariant(map)) => map
            .iter()
            .filter(|(re, _)| kiln_config::variant_matches(re, variant_uid))
            .map(|(_, f)| f.clone())
            .next_back()
            .unwrap_or_else(|| DEFAULT_NAME_FORMAT.to_owned()),
    };
    let mut vars = format_vars(config, compose, variant_uid, name_arch(arch));
    vars.insert("disc_type".into(), disc_type.to_owned());
    vars.insert(
        "disc_num".into(),
        disc_num.map(|n| n.to_string()).unwrap_or_default(),
    );
    kiln_iso::format::expand(&fmt, &vars)
        .map_err(|e| PhaseError::with(format!("image_name_format for {variant_uid}.{arch}"), e))
}

/// pungi names source media `source`, not `src`.
pub fn name_arch(arch: &str) -> &str {
    if arch == "src" { "source" } else { arch }
}

/// The volume ID for a variant/arch from `formats` (the configured candidates when `None`).
pub fn volume_id(
    config: &Config,
    compose: &Compose,
    variant_uid: &str,
    arch: &str,
    disc_type: &str,
    formats: Option<&[String]>,
) -> Result<String, PhaseError> {
    let mut vars = format_vars(config, compose, variant_uid, arch);
    vars.insert("disc_type".into(), disc_type.to_owned());
    let default = if config.is_layered() {
        &config.image_volid_layered_product_formats
    } else {
        &config.image_volid_formats
    };
    let req = kiln_iso::volid::VolidRequest {
        formats: formats.unwrap_or(default),
        vars: &vars,
        substitutions: &config.volume_id_substitutions,
        restricted: config.restricted_volid,
        variant: variant_uid,
    };
    kiln_iso::volid::volume_id(&req).map_err(|e| PhaseError::msg(e.to_string()))
}

/// pungi's `compose.image_version`: the label's version when the compose has a label, else the
/// release version.
pub fn image_version(compose: &kiln_engine::Compose) -> String {
    let info = &compose.info;
    info.label
        .as_deref()
        .and_then(|l| l.split_once('-').map(|(_, v)| v.to_owned()))
        .unwrap_or_else(|| info.release.version.clone())
}

/// pungi's `version_generator`: a `version` or `release` value with its `!GENERATOR`s expanded
/// from the compose's label, date, type and respin; an unknown `!GENERATOR` is an error.
pub fn version_generator(
    compose: &kiln_engine::Compose,
    v: Option<&str>,
) -> Result<Option<String>, String> {
    let info = &compose.info;
    let image_version = image_version(compose);
    let image_release = format!(
        "{}{}.{}",
        info.date,
        info.compose_type.suffix(),
        info.respin
    );
    Ok(match v {
        None => None,
        Some("!OSTREE_VERSION_FROM_LABEL_DATE_TYPE_RESPIN") => {
            Some(format!("{image_version}.{image_release}"))
        }
        Some("!RELEASE_FROM_LABEL_DATE_TYPE_RESPIN") => Some(image_release),
        Some("!RELEASE_FROM_DATE_RESPIN") => Some(format!("{}.{}", info.date, info.respin)),
        Some("!VERSION_FROM_VERSION_DATE_RESPIN") => Some(format!(
            "{}.{}.{}",
            info.release.version, info.date, info.respin
        )),
        Some("!VERSION_FROM_VERSION") => Some(info.release.version.clone()),
        Some(g) if g.starts_with('!') => return Err(format!("unknown version generator {g}")),
        Some(v) => Some(v.to_owned()),
    })
}

pub const GENERATORS: &[&str] = &[
    "!OSTREE_VERSION_FROM_LABEL_DATE_TYPE_RESPIN",
    "!RELEASE_FROM_LABEL_DATE_TYPE_RESPIN",
    "!RELEASE_FROM_DATE_RESPIN",
    "!VERSION_FROM_VERSION_DATE_RESPIN",
    "!VERSION_FROM_VERSION",
];

/// A config error for an image block's `arches` entry that none of the variants its regex
/// matches has (a typo, or an arch the compose does not make); None when every arch fits.
pub fn foreign_arches(
    option: &str,
    regex: &str,
    arches: &[String],
    compose: &kiln_engine::Compose,
) -> Option<String> {
    let variants: Vec<&kiln_variants::Variant> = compose
        .variants
        .all
        .iter()
        .filter(|v| kiln_config::variant_matches(regex, &v.uid))
        .collect();
    if variants.is_empty() {
        return Some(format!(
            "{option} block for {regex}: no variant matches {regex}"
        ));
    }
    let have: std::collections::BTreeSet<&str> = variants
        .iter()
        .flat_map(|v| v.arches.iter().map(String::as_str))
        .collect();
    arches.iter().find(|a| !have.contains(a.as_str())).map(|a| {
        format!(
            "{option} block for {regex}: arch {a} is not an arch of {} ({})",
            variants
                .iter()
                .map(|v| v.uid.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            have.iter().copied().collect::<Vec<_>>().join(", ")
        )
    })
}
