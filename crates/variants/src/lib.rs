//! Variants: the products a compose ships (BaseOS, AppStream, Server-optional, ...).
//!
//! They come from pungi's `variants.xml` ([`Variants::from_xml_file`]) or from inline YAML in the
//! compose config ([`VariantDef`]). Both end as one [`Variants`] list ordered so that every parent
//! comes before its children, which is the order phases process them in.

mod model;
mod xml;

pub use model::{
    EnvironmentRef, GroupRef, LayeredRelease, ModuleRef, Variant, VariantDef, VariantKind,
    Variants, VariantsError,
};
