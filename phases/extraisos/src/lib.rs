//! The extraisos phase
