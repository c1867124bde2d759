//! PostgreSQL-compatible functions the engine adds to DataFusion.

pub mod aggregates;
pub mod builtins;
pub mod capped;
pub mod datetime;
pub mod hstore;
pub mod json;
pub mod json_elements;
pub mod math;
pub mod operators;
pub mod ordered_set;
pub mod reg;
pub mod regexp;
pub mod session_info;
pub mod sleep;
pub mod system_info;
pub mod table_functions;
pub mod to_char;
pub mod to_json;
pub mod to_timestamp;
