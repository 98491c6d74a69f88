//! The Phase trait, the DAG executor, phase records for resume, command runners
