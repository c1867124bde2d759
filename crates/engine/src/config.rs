//! Server-wide engine settings.

/// Server-wide engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The database name clients connect to; also DataFusion's catalog name.
    pub database: String,
    /// The owner role (oid 10): the first configured user, shown as the owner of every object.
    pub user: String,
    /// The other users who may log in; each is a role in pg_roles, owning nothing.
    pub other_users: Vec<String>,
    /// Memory each query, and all queries together, may use.
    pub memory: crate::limits::MemoryLimits,
    /// Server defaults for session settings (e.g. `statement_timeout`,
    /// `idle_in_transaction_session_timeout`), applied before the client's startup options.
    pub session_defaults: Vec<(String, String)>,
}

impl EngineConfig {
    /// A config with default limits.
    pub fn new(database: impl Into<String>, user: impl Into<String>) -> EngineConfig {
        EngineConfig {
            database: database.into(),
            user: user.into(),
            other_users: Vec::new(),
            memory: crate::limits::MemoryLimits::default(),
            session_defaults: Vec::new(),
        }
    }
}
