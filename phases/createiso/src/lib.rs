//! The createiso phase
