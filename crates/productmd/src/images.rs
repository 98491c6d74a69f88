//! `compose/metadata/images.json` (productmd 1.2 images).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::{ComposeRef, ProductmdError};

/// productmd's `IMAGE_TYPE_FORMAT_MAPPING`: the formats each image type may have.
pub const TYPE_FORMATS: &[(&str, &[&str])] = &[
    ("appx", &["appx"]),
    ("boot", &["iso"]),
    ("bootable-container", &["ociarchive"]),
    ("cd", &["iso"]),
    ("container", &["tar.xz", "oci", "ociarchive"]),
    ("docker", &["tar.gz", "tar.xz"]),
    ("dvd", &["iso"]),
    ("dvd-debuginfo", &["iso"]),
    ("dvd-ostree", &["iso"]),
    ("dvd-ostree-osbuild", &["iso"]),
    ("ec2", &[]),
    (
        "fex",
        &[
            "erofs.xz",
            "erofs.gz",
            "erofs",
            "squashfs.xz",
            "squashfs.gz",
            "squashfs",
        ],
    ),
    ("kvm", &[]),
    ("live", &[]),
    ("live-osbuild", &["iso"]),
    ("liveimg-squashfs", &["liveimg.squashfs"]),
    ("netinst", &["iso"]),
    ("ociarchive", &["ociarchive"]),
    ("p2v", &[]),
    ("qcow", &["qcow"]),
    ("qcow2", &["qcow2"]),
    ("raw", &["raw"]),
    ("raw-xz", &["raw.xz"]),
    ("rescue", &[]),
    ("rhevm-ova", &["rhevm.ova"]),
    ("tar-gz", &["tar.gz"]),
    ("vagrant-hyperv", &["vagrant-hyperv.box"]),
    ("vagrant-libvirt", &["vagrant-libvirt.box"]),
    ("vagrant-virtualbox", &["vagrant-virtualbox.box"]),
    ("vagrant-vmware-fusion", &["vagrant-vmware-fusion.box"]),
    ("vdi", &["vdi"]),
    ("vmdk", &["vmdk"]),
    ("vpc", &["vhd"]),
    ("vhd-compressed", &["vhd.gz", "vhd.xz", "vhdfixed.xz"]),
    ("vsphere-ova", &["vsphere.ova"]),
    ("wsl2", &["tar", "tar.gz", "wsl"]),
];

/// One image as images.json describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Relative to `compose/`.
    pub path: String,
    pub mtime: i64,
    pub size: u64,
    pub volume_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub format: String,
    /// The image's own arch: `src` for source ISOs even though they are filed under a binary arch.
    pub arch: String,
    pub disc_number: u32,
    pub disc_count: u32,
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
    pub implant_md5: Option<String>,
    pub bootable: bool,
    pub subvariant: String,
    #[serde(default)]
    pub unified: bool,
    #[serde(default)]
    pub additional_variants: Vec<String>,
}

impl Image {
    /// productmd's `UNIQUE_IMAGE_ATTRIBUTES`.
    pub fn identity(&self) -> (String, String, String, String, u32, bool, Vec<String>) {
        (
            self.subvariant.clone(),
            self.kind.clone(),
            self.format.clone(),
            self.arch.clone(),
            self.disc_number,
            self.unified,
            self.additional_variants.clone(),
        )
    }

    fn validate(&self) -> Result<(), ProductmdError> {
        let bad = |m: String| Err(ProductmdError::Invalid(format!("image {}: {m}", self.path)));
        if self.path.is_empty() || self.path.starts_with('/') {
            return bad("path must be relative and non-empty".into());
        }
        match TYPE_FORMATS.iter().find(|(t, _)| *t == self.kind) {
            None => return bad(format!("unknown image type {:?}", self.kind)),
            Some(_)
                if !TYPE_FORMATS
                    .iter()
                    .any(|(_, fs)| fs.contains(&self.format.as_str())) =>
            {
                return bad(format!("unknown image format {:?}", self.format));
            }
            Some(_) => {}
        }
        if let Some(md5) = &self.implant_md5
            && !(md5.len() == 32
                && md5
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        {
            return bad(format!(
                "implant_md5 {md5:?} is not 32 lowercase hex digits"
            ));
        }
        if !self.additional_variants.is_empty() && !self.unified {
            return bad("only unified images can list additional variants".into());
        }
        Ok(())
    }

    fn to_json(&self) -> Value {
        let mut v = json!({
            "arch": self.arch,
            "bootable": self.bootable,
            "checksums": self.checksums,
            "disc_count": self.disc_count,
            "disc_number": self.disc_number,
            "format": self.format,
            "implant_md5": self.implant_md5,
            "mtime": self.mtime,
            "path": self.path,
            "size": self.size,
            "subvariant": self.subvariant,
            "type": self.kind,
            "volume_id": self.volume_id,
        });
        // productmd writes these two only for unified images.
        if self.unified
            && let Value::Object(map) = &mut v
        {
            map.insert("unified".into(), Value::Bool(true));
            map.insert(
                "additional_variants".into(),
                json!(self.additional_variants),
            );
        }
        v
    }
}

/// images.json: variant uid → binary arch → images.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Images {
    pub images: BTreeMap<String, BTreeMap<String, Vec<Image>>>,
}

impl Images {
    /// File an image under `variant`/`arch`. `arch` is the binary arch the image is listed
    /// under; source ISOs go under every binary arch with `image.arch == "src"`, as productmd
    /// forbids `src` as a key. Two images may share productmd's identity only when their
    /// checksums agree.
    pub fn add(&mut self, variant: &str, arch: &str, image: Image) -> Result<(), ProductmdError> {
        if variant.is_empty() {
            return Err(ProductmdError::Invalid(format!(
                "image {} has no variant",
                image.path
            )));
        }
        if arch == "src" || arch == "nosrc" {
            return Err(ProductmdError::Invalid(format!(
                "image {}: source images must be filed under a binary arch",
                image.path
            )));
        }
        image.validate()?;
        let id = image.identity();
        for (v, arches) in &self.images {
            for (a, list) in arches {
                for cur in list {
                    if cur.path == image.path && v == variant && a == arch {
                        if cur == &image {
                            return Ok(());
                        }
                        return Err(ProductmdError::Invalid(format!(
                            "image {} listed twice under {variant}/{arch} with different details",
                            image.path
                        )));
                    }
                    if cur.identity() == id && cur.checksums != image.checksums {
                        return Err(ProductmdError::Invalid(format!(
                            "image {} shares subvariant, type, format, arch, disc number and unified \
                             with {} but not its checksums",
                            image.path, cur.path
                        )));
                    }
                }
            }
        }
        self.images
            .entry(variant.to_owned())
            .or_default()
            .entry(arch.to_owned())
            .or_default()
            .push(image);
        Ok(())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Image)> {
        self.images.iter().flat_map(|(v, arches)| {
            arches
                .iter()
                .flat_map(move |(a, list)| list.iter().map(move |i| (v.as_str(), a.as_str(), i)))
        })
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Image> {
        self.images
            .values_mut()
            .flat_map(|a| a.values_mut().flat_map(|l| l.iter_mut()))
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The document, images sorted by path within each variant/arch as productmd does.
    pub fn render(&self, compose: &ComposeRef) -> String {
        let mut body = serde_json::Map::new();
        for (variant, arches) in &self.images {
            let mut a = serde_json::Map::new();
            for (arch, list) in arches {
                let mut list: Vec<&Image> = list.iter().collect();
                list.sort_by(|x, y| x.path.cmp(&y.path));
                a.insert(
                    arch.clone(),
                    Value::Array(list.iter().map(|i| i.to_json()).collect()),
                );
            }
            body.insert(variant.clone(), Value::Object(a));
        }
        crate::common::document("images", compose, "images", Value::Object(body))
    }

    /// Read an images.json back (the test phase's reload).
    pub fn load(path: &Path) -> Result<(ComposeRef, Images), ProductmdError> {
        #[derive(Deserialize)]
        struct Payload {
            compose: ComposeRef,
            images: BTreeMap<String, BTreeMap<String, Vec<Image>>>,
        }
        let payload: Payload = crate::common::load(path, "images")?;
        let mut images = Images::default();
        for (v, arches) in payload.images {
            for (a, list) in arches {
                for i in list {
                    images.add(&v, &a, i)?;
                }
            }
        }
        Ok((payload.compose, images))
    }
}

/// One image as an image phase records it for imagechecksum to merge (kiln-artifacts'
/// `ImageRecords`): the variant and binary arch it is filed under, and the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub variant: String,
    pub arch: String,
    pub image: Image,
}
