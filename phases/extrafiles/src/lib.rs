//! The extrafiles phase
