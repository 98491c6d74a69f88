//! kiln's end-to-end tests: one test binary (link time dominates on small machines).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod compose;
mod createrepo;
mod gather;
mod init;
mod media;
mod repoclosure;
