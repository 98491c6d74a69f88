//! pungi's `extra_files`: files from a path, a git repository or a package of the package set,
//! fetched and written into a tree. The extrafiles phase puts them into os trees; extraisos puts
//! them onto its images.

mod fetch;
mod place;

pub use fetch::{Fetched, check_relative, fetch, find_package, from_rpm};
pub use place::{place, safe_destination};
