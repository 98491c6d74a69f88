//! The repoclosure phase
