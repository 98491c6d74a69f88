//! The images a phase made, for imagechecksum to merge into images.json.

use std::path::PathBuf;

use kiln_compose::Paths;
use kiln_productmd::ImageRecord;
use serde::{Deserialize, Serialize};

use crate::{Artifact, ArtifactError, Stamp};

/// The phases that make images, in the order imagechecksum merges their records.
pub const IMAGE_PHASES: &[&str] = &[
    "buildinstall",
    "createiso",
    "extraisos",
    "live",
    "imagebuild",
    "osbuild",
    "kiwi",
    "ostree",
];

/// One image phase's images: `work/global/images/<phase>.json`, one file per phase, each written
/// only by the phase it is named after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecords {
    pub artifact: Stamp<ImageRecords>,
    /// The phase that made them.
    pub phase: String,
    /// Sorted by variant, arch, then path, so reruns give the same bytes.
    pub images: Vec<ImageRecord>,
}

impl Artifact for ImageRecords {
    const KIND: &'static str = "image-records";
    const VERSION: u32 = 1;
    const WRITER: &'static str = "image-making";
    const PRETTY: bool = true;

    fn writer(&self) -> &str {
        &self.phase
    }

    fn encode_for(&self, phase: &str) -> Result<Vec<u8>, ArtifactError> {
        if phase != self.phase || !IMAGE_PHASES.contains(&phase) {
            return Err(ArtifactError::NotTheWriter {
                phase: phase.to_owned(),
                kind: Self::KIND,
                writer: format!("{} (one of {})", self.phase, IMAGE_PHASES.join(", ")),
            });
        }
        Ok(self.to_json())
    }
}

impl ImageRecords {
    pub fn new(phase: &str, mut images: Vec<ImageRecord>) -> ImageRecords {
        images.sort_by(|a, b| {
            (&a.variant, &a.arch, &a.image.path).cmp(&(&b.variant, &b.arch, &b.image.path))
        });
        ImageRecords {
            artifact: Stamp::default(),
            phase: phase.to_owned(),
            images,
        }
    }

    /// `work/global/images/<phase>.json`.
    pub fn path(paths: &Paths, phase: &str) -> PathBuf {
        paths
            .work_dir("global")
            .join("images")
            .join(format!("{phase}.json"))
    }
}
