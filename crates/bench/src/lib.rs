//! crowsnest-bench: how fast crowsnest normalizes and hunts over raw Kubernetes audit logs, how
//! that compares with the parse-only limit of the fastest JSON parser in the build and with
//! DuckDB, and whether time per GB and memory stay flat as the corpus grows.
//!
//! In-process passes (parse-only, normalize) live here; hunt is measured by spawning the release
//! `crowsnest` binary; `bench/duckdb_compare` (top level) runs the DuckDB side.

pub mod corpus;
pub mod hunt;
pub mod lines;
pub mod machine;
pub mod measure;
pub mod normalize;
pub mod parse;
pub mod report;
pub mod size;
