//! kiln's end-to-end tests: one test binary (link time dominates on small machines).

mod common;
mod compose;
mod init;
mod gather;
mod createrepo;
mod media;
mod repoclosure;
