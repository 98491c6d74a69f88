//! ISO 9660 images through xorriso: volume IDs, graft points, El Torito, implanted MD5, manifests
