//! Digests of files in one read pass and pungi's CHECKSUM file format
