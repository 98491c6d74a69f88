//! File-system primitives: atomic writes, package linking (hardlink, copy, reflink, symlink)
