//! PostgreSQL-compatible functions the engine adds to DataFusion.

pub mod hstore;
pub mod json;
pub mod operators;
pub mod session;
