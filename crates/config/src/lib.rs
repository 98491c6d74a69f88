//! The compose configuration.
//!
//! One YAML file whose option names and meanings are pungi's wherever pungi has the option, so a
//! release engineer's knowledge carries over. Loading does everything up front: unknown keys get a
//! "did you mean", wrong types and values point at `file:line:column`, and rules that span several
//! options are checked before any phase runs. Relative paths are resolved against the config
//! file's folder, never the working directory.

mod error;
mod load;
mod options;
pub mod phases;
mod prepopulate;
mod pungi;
mod values;

pub use error::{ConfigError, Origin, Problem};
pub use load::{load, load_str};
pub use options::*;
pub use prepopulate::{Prepopulate, SourceMapping, read_prepopulate, read_source_mapping};
pub use pungi::{Converted, convert_pungi};
pub use values::{OneOrMany, Size, VariantArchMap, matches_arch, variant_matches};

/// The JSON Schema of the config, generated from the Rust types (checked in as
/// `schemas/config.schema.json`).
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Config);
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests;
