//! The osbuild phase
