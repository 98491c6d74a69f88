//! RPM package headers read once (never the payload), their checksums, and RPM version comparison
