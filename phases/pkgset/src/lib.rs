//! The pkgset phase
