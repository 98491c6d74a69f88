//! The init phase
