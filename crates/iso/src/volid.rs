//! Volume IDs as pungi makes them: candidate formats tried in order after substitutions until
//! one fits the 32 bytes ISO 9660 allows.

use std::collections::BTreeMap;

use crate::IsoError;

/// The ISO 9660 limit on a volume identifier.
pub const MAX_VOLID: usize = 32;

/// What the volume ID of one image is made from.
pub struct VolidRequest<'a> {
    /// Candidate formats, in order (`image_volid_formats`, or the layered-product ones).
    pub formats: &'a [String],
    /// `variant`, `arch`, `release_short`, `version`, `disc_type`, ... for the formats.
    pub vars: &'a BTreeMap<String, String>,
    /// `volume_id_substitutions`: applied longest key first.
    pub substitutions: &'a BTreeMap<String, String>,
    /// `restricted_volid`: every non-word character becomes `-`.
    pub restricted: bool,
    /// Named in the error when nothing fits.
    pub variant: &'a str,
}

fn substitute(volid: &str, subs: &BTreeMap<String, String>) -> String {
    let mut keys: Vec<&String> = subs.keys().collect();
    // Longest first so "Supplementary" wins over "Supp" when both are keys.
    keys.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    let mut v = volid.to_owned();
    for k in keys {
        v = v.replace(k.as_str(), &subs[k]);
    }
    v
}

/// pungi's ISO wrapper shortening: drop dashes, then spaces, then abbreviate "Supplementary".
fn shorten(volid: &str) -> String {
    let mut v = volid.to_owned();
    for step in 0..3 {
        if v.len() <= MAX_VOLID {
            break;
        }
        v = match step {
            0 => v.replace('-', ""),
            1 => v.replace(' ', ""),
            _ => v.replace("Supplementary", "Supp"),
        };
    }
    v
}

/// The first candidate that fits in 32 bytes, else the first one shortened; an error naming
/// the variant and every candidate tried when none can be made to fit.
pub fn volume_id(req: &VolidRequest<'_>) -> Result<String, IsoError> {
    let mut tried = Vec::new();
    for fmt in req.formats {
        let v = substitute(&crate::format::expand(fmt, req.vars)?, req.substitutions);
        if v.len() <= MAX_VOLID {
            return Ok(restrict(v, req.restricted));
        }
        tried.push(v);
    }
    if let Some(first) = tried.first() {
        let v = shorten(first);
        if v.len() <= MAX_VOLID {
            return Ok(restrict(v, req.restricted));
        }
    }
    Err(IsoError::VolidTooLong {
        variant: req.variant.to_owned(),
        tried,
    })
}

fn restrict(v: String, restricted: bool) -> String {
    if !restricted {
        return v;
    }
    v.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(variant: &str) -> BTreeMap<String, String> {
        [
            ("release_short", "Mini"),
            ("version", "36"),
            ("variant", variant),
            ("arch", "x86_64"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn formats() -> Vec<String> {
        vec![
            "{release_short}-{version} {variant}.{arch}".into(),
            "{release_short}-{version} {arch}".into(),
        ]
    }

    #[test]
    fn pungi_default_and_fallback() {
        let subs = BTreeMap::new();
        let v = vars("BaseOS");
        let req = VolidRequest {
            formats: &formats(),
            vars: &v,
            substitutions: &subs,
            restricted: false,
            variant: "BaseOS",
        };
        assert_eq!(volume_id(&req).unwrap(), "Mini-36 BaseOS.x86_64");
        let v = vars("AVeryLongVariantNameIndeedYes");
        let req = VolidRequest {
            formats: &formats(),
            vars: &v,
            substitutions: &subs,
            restricted: true,
            variant: "X",
        };
        assert_eq!(volume_id(&req).unwrap(), "Mini-36-x86_64");
    }

    #[test]
    fn substitutions_longest_first() {
        let subs: BTreeMap<String, String> = [
            ("Supplementary".into(), "Supp".into()),
            ("Supp".into(), "S".into()),
        ]
        .into();
        let v = vars("Supplementary");
        let f = vec!["{variant}".to_owned()];
        let req = VolidRequest {
            formats: &f,
            vars: &v,
            substitutions: &subs,
            restricted: false,
            variant: "Supplementary",
        };
        assert_eq!(volume_id(&req).unwrap(), "S");
    }

    #[test]
    fn too_long_names_the_variant() {
        let subs = BTreeMap::new();
        let v = vars("ThisVariantNameIsFarTooLongForAnyVolumeIdentifier");
        let f = vec!["{variant} {arch}".to_owned()];
        let req = VolidRequest {
            formats: &f,
            vars: &v,
            substitutions: &subs,
            restricted: false,
            variant: "ThisVariantNameIsFarTooLongForAnyVolumeIdentifier",
        };
        let e = volume_id(&req).unwrap_err().to_string();
        assert!(
            e.contains("ThisVariantNameIsFarTooLongForAnyVolumeIdentifier") && e.contains("32"),
            "{e}"
        );
    }
}
