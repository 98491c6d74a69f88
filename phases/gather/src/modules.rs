//! Modules in gather (`gather_method: hybrid`): which module streams a variant ships, and what that
//! does to the packages it may use (modular filtering, as dnf applies it on the systems that
//! install from the compose).
//!
//! - A variant's `<modules>` (`name:stream`, `name:stream:version`, or with `glob="true"` glob
//!   patterns) pick module builds from the package set's `modules.yaml`: the newest version of each
//!   matching name:stream, every context of it, of the compose arch (or noarch).
//! - The run-time `requires` of an enabled build enable the modules they name (their listed stream,
//!   else the default stream); `platform` is the base system, not a module.
//! - Every package of an enabled build is an input. A package that some module of the package set
//!   ships is invisible unless an enabled build ships it, and a non-modular package whose name an
//!   enabled build ships is shadowed by it.

use std::collections::{BTreeMap, BTreeSet};

use kiln_comps::fnmatch;
use kiln_modulemd::{ModuleIndex, ModuleStream};
use kiln_variants::ModuleRef;

use crate::GatherError;
use crate::solve::PkgRecord;

fn arch_fits(stream: &ModuleStream, arch: &str) -> bool {
    stream.arch == arch || stream.arch == "noarch"
}

/// The newest builds of `name:stream` for `arch`: every context of the highest version.
fn newest<'i>(
    index: &'i ModuleIndex,
    arch: &str,
    keep: impl Fn(&ModuleStream) -> bool,
) -> Vec<usize> {
    let mut best: BTreeMap<(&'i str, &'i str), u64> = BTreeMap::new();
    for s in index
        .streams
        .iter()
        .filter(|s| arch_fits(s, arch) && keep(s))
    {
        let v = best.entry((&s.name, &s.stream)).or_default();
        *v = (*v).max(s.version);
    }
    index
        .streams
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            arch_fits(s, arch)
                && keep(s)
                && best.get(&(s.name.as_str(), s.stream.as_str())) == Some(&s.version)
        })
        .map(|(i, _)| i)
        .collect()
}

/// Whether a variants.xml module reference names `s`.
fn names(r: &ModuleRef, s: &ModuleStream) -> bool {
    let fields = [
        s.name.clone(),
        s.stream.clone(),
        s.version.to_string(),
        s.context.clone(),
    ];
    r.name.split(':').zip(&fields).all(|(want, have)| {
        if r.glob {
            fnmatch(have, want)
        } else {
            want == have
        }
    })
}

/// The module builds `variant` ships on `arch`, as indices into `index.streams`, sorted.
pub fn enable(
    index: &ModuleIndex,
    arch: &str,
    variant: &str,
    wanted: &[ModuleRef],
) -> Result<Vec<usize>, GatherError> {
    let mut enabled: BTreeSet<usize> = BTreeSet::new();
    for r in wanted {
        let found = newest(index, arch, |s| names(r, s));
        if found.is_empty() {
            return Err(GatherError::Config(format!(
                "{variant}.{arch}: module {} is in no repository of the package set",
                r.name
            )));
        }
        enabled.extend(found);
    }
    // Run-time requirements, until nothing new is enabled.
    let mut queue: Vec<usize> = enabled.iter().copied().collect();
    while let Some(i) = queue.pop() {
        let s = &index.streams[i];
        for (module, streams) in &s.requires {
            if module == "platform" {
                continue;
            }
            let streams: Vec<String> = if streams.is_empty() {
                index
                    .default_stream(module)
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            } else {
                streams.clone()
            };
            let found = newest(index, arch, |c| {
                c.name == *module && streams.contains(&c.stream)
            });
            if found.is_empty() {
                return Err(GatherError::Config(format!(
                    "{variant}.{arch}: module {} requires module {module}:{}, which is in no \
                     repository of the package set",
                    s.nsvc(),
                    if streams.is_empty() {
                        "(no default stream)".to_owned()
                    } else {
                        streams.join(",")
                    }
                )));
            }
            for f in found {
                if enabled.insert(f) {
                    queue.push(f);
                }
            }
        }
    }
    // One stream per module: dnf cannot enable two.
    let mut streams_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for &i in &enabled {
        let s = &index.streams[i];
        streams_of.entry(&s.name).or_default().insert(&s.stream);
    }
    if let Some((module, streams)) = streams_of.iter().find(|(_, s)| s.len() > 1) {
        return Err(GatherError::Config(format!(
            "{variant}.{arch}: module {module} would ship streams {} at once; a system can \
             enable only one",
            streams.iter().copied().collect::<Vec<_>>().join(" and ")
        )));
    }
    Ok(enabled.into_iter().collect())
}

/// What enabling `enabled` means for the package set: the packages the variant must not see
/// (indices into `pkgset`), and the inputs it gains (`name.arch` of every binary package the
/// enabled builds ship on `arch`).
pub fn filter(
    pkgset: &[PkgRecord],
    index: &ModuleIndex,
    enabled: &[usize],
) -> (BTreeSet<usize>, Vec<String>) {
    let modular: BTreeSet<&str> = index
        .streams
        .iter()
        .flat_map(|s| s.artifacts.iter().map(String::as_str))
        .collect();
    let shipped: BTreeSet<&str> = enabled
        .iter()
        .flat_map(|&i| index.streams[i].artifacts.iter().map(String::as_str))
        .collect();
    let mut hidden = BTreeSet::new();
    let mut shadowing: BTreeSet<&str> = BTreeSet::new();
    let mut inputs = BTreeSet::new();
    for r in pkgset {
        let nevra = r.package.nevra();
        if shipped.contains(nevra.as_str()) && !r.package.is_source {
            shadowing.insert(r.package.name.as_str());
            inputs.insert(format!("{}.{}", r.package.name, r.package.arch));
        }
    }
    for (i, r) in pkgset.iter().enumerate() {
        let nevra = r.package.nevra();
        let visible = if modular.contains(nevra.as_str()) {
            shipped.contains(nevra.as_str())
        } else {
            r.package.is_source || !shadowing.contains(r.package.name.as_str())
        };
        if !visible {
            hidden.insert(i);
        }
    }
    (hidden, inputs.into_iter().collect())
}

/// The `modules.yaml` of a variant's repository: its builds, then the defaults of their modules
/// (`module_defaults_dir`'s first, as pungi takes them from there, else the package set's).
pub fn yaml(index: &ModuleIndex, enabled: &[usize], configured_defaults: &ModuleIndex) -> String {
    let mut combined = ModuleIndex {
        streams: index.streams.clone(),
        defaults: configured_defaults.defaults.clone(),
        others: index.others.clone(),
    };
    combined.defaults.extend(index.defaults.iter().cloned());
    let streams: Vec<&ModuleStream> = enabled.iter().map(|&i| &combined.streams[i]).collect();
    combined.yaml_for(&streams)
}
