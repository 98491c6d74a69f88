//! The kiwi phase
