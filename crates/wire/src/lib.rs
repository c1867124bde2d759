//! The PostgreSQL wire-protocol front end.
//!
//! Map of the crate:
//! - [`server`]: the accept loop; connection tasks are tracked and stop on shutdown;
//!   `threads`: each connection on a thread of its own, up to `max_connections`.
//! - [`socket`]: one connection's message loop: TLS negotiation, timeouts, shutdown;
//!   [`flush`]: its output buffering (one send per round trip); [`inbound`]: what its input
//!   may hold (message lengths, the server-wide input budget, UTF-8, the startup layout).
//! - [`tls`]: certificate and key loading for the TLS acceptor.
//! - [`auth`]: users, SCRAM-SHA-256 verifiers; [`startup`]: the startup and login exchange.
//! - [`backend`]: what the protocol needs of a query engine ([`Backend`], [`BackendSession`]),
//!   and the engine's implementation; the protocol tests run against a canned one.
//! - [`shared`]: what every connection shares, including the [`Credentials`] (users,
//!   certificate) a reload swaps for new connections.
//! - [`handler`]: one connection and its simple-query handler; [`extended`]: Parse, Bind,
//!   Describe and Execute; [`respond`]: a session's output as pgwire responses.
//! - [`encode`]: Arrow values to DataRow bytes, text and binary ([`numeric`] for `numeric`);
//!   `row_memo`: whole rows of the table sent from bytes kept with the snapshot.
//! - `transaction`: the transaction status ReadyForQuery reports, kept by the session, and
//!   what a failed block refuses.
//! - [`copy`]: `COPY ... TO STDOUT` in text, CSV and binary.
//! - [`params`]: Bind parameters to typed values.
//! - [`types`]: Arrow fields to PostgreSQL types (json and hstore included).
//! - [`error`]: the one mapping from errors to SQLSTATE codes (and each statement's outcome for
//!   the metrics).

pub mod auth;
pub mod backend;
pub mod copy;
pub mod encode;
pub mod error;
pub mod extended;
pub mod flush;
pub mod handler;
pub mod inbound;
pub mod numeric;
pub mod params;
mod quick;
pub mod respond;
mod row_memo;
pub mod server;
pub mod shared;
pub mod socket;
pub mod startup;
mod threads;
pub mod tls;
mod transaction;
pub mod types;

pub use auth::{AuthMethod, ScramVerifier, Users};
pub use backend::{Backend, BackendSession, PreparedStatement};
pub use handler::Connection;
pub use inbound::{InboundLimits, InputBudget};
pub use server::serve;
pub use shared::{Credentials, Shared, WireConfig};
pub use tls::{Tls, TlsError, TlsMode};
