//! A provides index with RPM dependency semantics, pungi's gather closure and repoclosure
