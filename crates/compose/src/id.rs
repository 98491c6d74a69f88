use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum IdError {
    #[error(
        "invalid label {0:?}: expected <Milestone>-<X>.<Y> with a milestone of EA, DevelPhaseExit, InternalAlpha, Alpha, InternalSnapshot, Beta, Snapshot, RC, Update or SecurityFix"
    )]
    Label(String),
    #[error("a production compose needs --label or --no-label")]
    LabelRequired,
    #[error("SOURCE_DATE_EPOCH {0:?} is not a number of seconds")]
    SourceDateEpoch(String),
}

/// The kinds of compose productmd knows, with the suffix each adds to the compose ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ComposeType {
    #[default]
    Production,
    Test,
    Nightly,
    Ci,
    Development,
}

impl ComposeType {
    pub fn suffix(self) -> &'static str {
        match self {
            ComposeType::Production => "",
            ComposeType::Test => ".t",
            ComposeType::Nightly => ".n",
            ComposeType::Ci => ".ci",
            ComposeType::Development => ".d",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ComposeType::Production => "production",
            ComposeType::Test => "test",
            ComposeType::Nightly => "nightly",
            ComposeType::Ci => "ci",
            ComposeType::Development => "development",
        }
    }
}

/// The release a compose is of (the product, or a layered product with its base).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub name: String,
    pub short: String,
    pub version: String,
    #[serde(rename = "type")]
    pub release_type: String,
    pub internal: bool,
    pub base_product: Option<BaseProduct>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseProduct {
    pub name: String,
    pub short: String,
    pub version: String,
    #[serde(rename = "type")]
    pub release_type: String,
}

/// A compose's identity; saved in `work/global/composeinfo-base.json` so that a resumed run keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposeInfo {
    pub id: String,
    /// YYYYMMDD
    pub date: String,
    #[serde(rename = "type")]
    pub compose_type: ComposeType,
    pub respin: u32,
    pub label: Option<String>,
    pub release: Release,
}

fn type_suffix(release_type: &str) -> String {
    if release_type == "ga" {
        String::new()
    } else {
        format!("-{release_type}")
    }
}

impl ComposeInfo {
    /// `<short>-<version>[-<type>][-<bp_short>-<bp_version>[-<bp_type>]]-<date><type suffix>.<respin>`
    pub fn make_id(
        release: &Release,
        date: &str,
        compose_type: ComposeType,
        respin: u32,
    ) -> String {
        format!(
            "{}{}{}.{}",
            Self::prefix(release),
            date,
            compose_type.suffix(),
            respin
        )
    }

    /// The ID without date, type and respin, ending in '-': what names `latest-*` links and what
    /// respins are counted for.
    pub fn prefix(release: &Release) -> String {
        let mut s = format!(
            "{}-{}{}",
            release.short,
            release.version,
            type_suffix(&release.release_type)
        );
        if let Some(bp) = &release.base_product {
            s.push_str(&format!(
                "-{}-{}{}",
                bp.short,
                bp.version,
                type_suffix(&bp.release_type)
            ));
        }
        s.push('-');
        s
    }

    /// Name of the `latest-*` symlink pungi keeps next to composes of this release.
    pub fn latest_link_name(&self) -> String {
        let r = &self.release;
        let mut s = format!("latest-{}-{}", r.short, r.version);
        if let Some(bp) = &r.base_product {
            s.push_str(&format!("-{}-{}", bp.short, bp.version));
        }
        s
    }

    /// Whether the label marks a supported compose (implantisomd5 --supported-iso).
    pub fn supported(&self) -> bool {
        self.label.as_deref().is_some_and(|l| {
            l.starts_with("RC-") || l.starts_with("Update-") || l.starts_with("SecurityFix-")
        })
    }
}

const MILESTONES: &[&str] = &[
    "EA",
    "DevelPhaseExit",
    "InternalAlpha",
    "Alpha",
    "InternalSnapshot",
    "Beta",
    "Snapshot",
    "RC",
    "Update",
    "SecurityFix",
];

/// Checks a label as productmd's `verify_label` does.
pub fn verify_label(label: &str) -> Result<(), IdError> {
    let ok = label.split_once('-').is_some_and(|(milestone, version)| {
        MILESTONES.contains(&milestone)
            && version.split_once('.').is_some_and(|(x, y)| {
                !x.is_empty()
                    && !y.is_empty()
                    && x.bytes().all(|b| b.is_ascii_digit())
                    && y.bytes().all(|b| b.is_ascii_digit())
            })
    });
    if ok {
        Ok(())
    } else {
        Err(IdError::Label(label.to_owned()))
    }
}

/// The compose date (YYYYMMDD) and the timestamp outputs use: both from `SOURCE_DATE_EPOCH`
/// when it is set, else today (UTC) and its midnight.
pub fn compose_date(source_date_epoch: Option<&str>, now: i64) -> Result<(String, i64), IdError> {
    let epoch = match source_date_epoch {
        Some(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| IdError::SourceDateEpoch(s.to_owned()))?,
        None => now - now.rem_euclid(86_400),
    };
    let date = time::OffsetDateTime::from_unix_timestamp(epoch)
        .map_err(|_| IdError::SourceDateEpoch(epoch.to_string()))?;
    let fmt = time::macros::format_description!("[year][month][day]");
    let day = date
        .format(&fmt)
        .map_err(|_| IdError::SourceDateEpoch(epoch.to_string()))?;
    Ok((day, epoch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(bp: bool, rtype: &str) -> Release {
        Release {
            name: "Mini".into(),
            short: "Mini".into(),
            version: "36".into(),
            release_type: rtype.into(),
            internal: false,
            base_product: bp.then(|| BaseProduct {
                name: "Base".into(),
                short: "BP".into(),
                version: "1".into(),
                release_type: "ga".into(),
            }),
        }
    }

    #[test]
    fn ids_follow_productmd_grammar() {
        let r = release(false, "ga");
        assert_eq!(
            ComposeInfo::make_id(&r, "20261121", ComposeType::Production, 0),
            "Mini-36-20261121.0"
        );
        assert_eq!(
            ComposeInfo::make_id(&r, "20161013", ComposeType::Test, 4),
            "Mini-36-20161013.t.4"
        );
        let r = release(true, "updates");
        assert_eq!(
            ComposeInfo::make_id(&r, "20181001", ComposeType::Nightly, 0),
            "Mini-36-updates-BP-1-20181001.n.0"
        );
    }

    #[test]
    fn labels_are_checked_like_productmd() {
        assert!(verify_label("RC-1.0").is_ok());
        assert!(verify_label("Beta-36.2").is_ok());
        assert!(verify_label("Gamma-1.0").is_err());
        assert!(verify_label("RC-1").is_err());
        assert!(verify_label("RC-a.b").is_err());
    }

    #[test]
    fn dates_come_from_source_date_epoch() {
        assert_eq!(
            compose_date(Some("1700000000"), 0).unwrap(),
            ("20231114".to_owned(), 1_700_000_000)
        );
        let (day, ts) = compose_date(None, 1_700_000_123).unwrap();
        assert_eq!((day.as_str(), ts), ("20231114", 1_699_920_000));
        assert!(compose_date(Some("soon"), 0).is_err());
    }
}
