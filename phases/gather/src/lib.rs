//! The gather phase
