//! kiln's end-to-end tests: one test binary (link time dominates on small machines).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod boot;
mod buildinstall;
mod common;
mod compose;
mod comps;
mod createrepo;
mod diff;
mod fixtures;
mod gather;
mod gather_pungi;
mod gather_solve;
mod incremental;
mod init;
mod kiwi;
mod koji;
mod media;
mod messages;
mod modules;
mod ostree;
mod pkgset;
mod productmd;
mod pungi_conf;
mod repoclosure;
mod repodata;
mod report;
mod rpm;
mod runners;
mod schema;
mod variants;
mod why;
