//! The imagebuild phase
