//! The createrepo phase
