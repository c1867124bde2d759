//! The PostgreSQL wire-protocol front end.
//!
//! Map of the crate:
//! - [`server`]: the accept loop; connection tasks are tracked and stop on shutdown.
//! - [`handler`]: startup, simple and extended query handlers for one connection.
//! - [`encode`]: Arrow values to DataRow bytes, text and binary.
//! - [`copy`]: `COPY ... TO STDOUT` in text, CSV and binary.
//! - [`params`]: Bind parameters to typed values.
//! - [`types`]: Arrow fields to PostgreSQL types (json and hstore included).
//! - [`error`]: the one mapping from errors to SQLSTATE codes.

pub mod copy;
pub mod encode;
pub mod error;
pub mod handler;
pub mod params;
pub mod server;
pub mod types;

pub use handler::{Shared, WireConfig};
pub use server::serve;
