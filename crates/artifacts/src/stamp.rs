//! The `artifact` field every handed-over file starts with.

use std::fmt;
use std::marker::PhantomData;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Artifact;

/// Serialises as `{"kind": T::KIND, "version": T::VERSION}`; reading anything else fails, naming
/// what was found, what this kiln reads, and which phase writes it again.
pub struct Stamp<T>(PhantomData<fn() -> T>);

impl<T> Default for Stamp<T> {
    fn default() -> Self {
        Stamp(PhantomData)
    }
}

impl<T> Clone for Stamp<T> {
    fn clone(&self) -> Self {
        Stamp(PhantomData)
    }
}

impl<T> PartialEq for Stamp<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T: Artifact> fmt::Debug for Stamp<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", T::KIND, T::VERSION)
    }
}

#[derive(Serialize, Deserialize)]
struct Raw<'a> {
    #[serde(borrow)]
    kind: std::borrow::Cow<'a, str>,
    version: u32,
}

impl<T: Artifact> Serialize for Stamp<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Raw {
            kind: T::KIND.into(),
            version: T::VERSION,
        }
        .serialize(s)
    }
}

impl<'de, T: Artifact> Deserialize<'de> for Stamp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Raw::deserialize(d)?;
        if raw.kind != T::KIND {
            return Err(D::Error::custom(format!(
                "it holds a {}, not a {}",
                raw.kind,
                T::KIND
            )));
        }
        if raw.version != T::VERSION {
            return Err(D::Error::custom(format!(
                "it is {} version {}, this kiln reads version {}; run the {} phase again with \
                 this kiln",
                T::KIND,
                raw.version,
                T::VERSION,
                T::WRITER
            )));
        }
        Ok(Stamp(PhantomData))
    }
}
