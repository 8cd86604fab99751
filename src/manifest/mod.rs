//! Manifest reading and validation: YAML and CSV into one typed [`Manifest`], with diagnostics.

pub mod model;

pub use model::*;
