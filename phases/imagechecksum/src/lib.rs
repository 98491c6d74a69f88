//! The imagechecksum phase
