//! The live phase
