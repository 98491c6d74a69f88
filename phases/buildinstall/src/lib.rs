//! The buildinstall phase
