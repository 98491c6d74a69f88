//! kiln's end-to-end tests: one test binary (link time dominates on small machines).

mod common;
mod compose;
mod media;
mod repoclosure;
