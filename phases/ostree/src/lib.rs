//! The ostree phase
