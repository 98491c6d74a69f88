//! The test phase
