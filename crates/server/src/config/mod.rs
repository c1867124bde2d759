//! Configuration: typed, with defaults, read from TOML and overridden from the command line,
//! validated once at startup. A bad value stops startup with a message naming the key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything the server reads from its config file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[server]`: where and as what the server listens.
    pub server: ServerConfig,
    /// `[source]`: where the stage data comes from.
    pub source: SourceConfig,
    /// `[log]`: logging.
    pub log: LogConfig,
    /// `[limits]`: bounds on connections, statement time and query memory.
    pub limits: LimitsConfig,
    /// `[auth]`: who may connect and how they prove it.
    pub auth: AuthConfig,
    /// `[tls]`: encryption of client connections.
    pub tls: TlsConfig,
    /// `[http]`: the operator endpoints (/healthz, /readyz, /metrics).
    pub http: HttpConfig,
    /// `[publish]`: the snapshot store a crawler writes every snapshot to (for replicas).
    pub publish: PublishConfig,
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// `listen`: `HOST:PORT` for `/healthz`, `/readyz` and `/metrics`; empty to turn the
    /// listener off. Default `127.0.0.1:9187` (loopback: metrics are not for the world).
    pub listen: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:9187".to_owned(),
        }
    }
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `method`: `scram-sha-256` (passwords, checked against SCRAM verifiers) or `trust` (no
    /// password; allowed only when `server.listen` is a loopback address). Default
    /// `scram-sha-256`.
    pub method: AuthMethodConfig,
    /// `failure_delay_ms`: how long a failed login waits before its error. Default 500.
    pub failure_delay_ms: u64,
    /// `[[auth.users]]`: who may connect. Default: none; under `trust`, the user `stagesql`.
    pub users: Vec<UserConfig>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            method: AuthMethodConfig::ScramSha256,
            failure_delay_ms: 500,
            users: Vec::new(),
        }
    }
}

/// `auth.method`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
pub enum AuthMethodConfig {
    /// SCRAM-SHA-256.
    #[serde(rename = "scram-sha-256")]
    ScramSha256,
    /// No password (loopback only).
    #[serde(rename = "trust")]
    Trust,
}

/// One `[[auth.users]]` entry.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UserConfig {
    /// `name`: the user name clients connect as.
    pub name: String,
    /// `verifier`: the SCRAM-SHA-256 verifier (`stagesql hash-password` prints one; PostgreSQL's
    /// `pg_authid.rolpassword` has the same form).
    pub verifier: Option<String>,
    /// `password_env`: the name of an environment variable holding the password, read at
    /// startup (the password itself never appears in the config or the logs).
    pub password_env: Option<String>,
}

impl std::fmt::Debug for UserConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserConfig")
            .field("name", &self.name)
            .field("verifier", &self.verifier.as_ref().map(|_| "<redacted>"))
            .field("password_env", &self.password_env)
            .finish()
    }
}

/// `[tls]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// `mode`: `disabled`, `optional` (clients choose) or `required` (plaintext clients get
    /// FATAL 28000). Default `disabled`.
    pub mode: TlsModeConfig,
    /// `cert_file`: PEM certificate chain, leaf first (relative to the config file).
    pub cert_file: Option<PathBuf>,
    /// `key_file`: PEM private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub key_file: Option<PathBuf>,
}

/// `tls.mode`.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TlsModeConfig {
    /// No TLS: clients asking for it are told no.
    #[default]
    Disabled,
    /// TLS for clients that ask.
    Optional,
    /// TLS for every client.
    Required,
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// `max_connections`: open client connections at once; the next one gets FATAL 53300.
    /// Default 100.
    pub max_connections: usize,
    /// `statement_timeout`: the default for each session's `statement_timeout` (PostgreSQL
    /// syntax: `0` for none, `30s`, `5min`, or milliseconds). Default `0`.
    pub statement_timeout: String,
    /// `query_memory_mb`: memory one query may use; past it the query fails with 53200.
    /// Default 256.
    pub query_memory_mb: usize,
    /// `total_memory_mb`: memory all running queries may use together. Default 1024.
    pub total_memory_mb: usize,
    /// `startup_timeout_seconds`: a connection that has not finished its startup by then is
    /// closed. Default 10.
    pub startup_timeout_seconds: u64,
    /// `idle_in_transaction_session_timeout`: the default for each session; a session idle
    /// inside an open transaction that long is ended with FATAL 25P03. Default `1h`.
    pub idle_in_transaction_session_timeout: String,
    /// `idle_session_timeout`: the default for each session; a session idle outside a
    /// transaction that long is ended with FATAL 57P05. Default `0` (never).
    pub idle_session_timeout: String,
    /// `max_message_mb`: the largest protocol message a logged-in client may send (a query
    /// text, a Bind with its parameters); a larger one ends the connection with FATAL 08P01
    /// before it is read. Before login the limit is PostgreSQL's 10,000 bytes. Default 64.
    pub max_message_mb: usize,
    /// `input_buffer_total_mb`: what messages larger than 64 KiB still arriving may hold on
    /// all connections together; a message that does not fit ends its connection with FATAL
    /// 53200. Default 256.
    pub input_buffer_total_mb: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections: 100,
            statement_timeout: "0".to_owned(),
            query_memory_mb: 256,
            total_memory_mb: 1024,
            startup_timeout_seconds: 10,
            idle_in_transaction_session_timeout: "1h".to_owned(),
            idle_session_timeout: "0".to_owned(),
            max_message_mb: 64,
            input_buffer_total_mb: 256,
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// `listen`: `HOST:PORT` to accept PostgreSQL connections on. Default `127.0.0.1:5433`.
    pub listen: String,
    /// `database`: the database name clients connect to. Default `stagesql`.
    pub database: String,
    /// `shutdown_drain_seconds`: how long running queries may finish after a shutdown signal.
    /// Default 10.
    pub shutdown_drain_seconds: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:5433".to_owned(),
            database: "stagesql".to_owned(),
            shutdown_drain_seconds: 10,
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `level`: a tracing filter such as `info` or `stagesql=debug,info`; `RUST_LOG` beats it unless it comes from a flag.
    /// Default `info`.
    pub level: String,
    /// `format`: `text` or `json`. Default `text`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema (the message names the key).
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// TOML's message, with the key and position.
        message: String,
    },
    /// An environment variable does not set a valid key or value.
    #[error("environment variable {var}: {message}")]
    Env {
        /// The variable.
        var: String,
        /// What is wrong (names the key).
        message: String,
    },
    /// A `--set KEY=VALUE` flag does not set a valid key or value.
    #[error("flag {flag}: {message}")]
    Flag {
        /// The flag, e.g. `--set limits.max_connections`.
        flag: String,
        /// What is wrong (names the key).
        message: String,
    },
    /// A value is out of its allowed range.
    #[error("invalid value for {key}: {reason}")]
    Invalid {
        /// The dotted key, e.g. `server.listen`.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl Config {
    /// Whether `server.listen` names a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
    pub fn listens_on_loopback_only(&self) -> bool {
        let host = self
            .server
            .listen
            .rsplit_once(':')
            .map_or("", |(host, _)| host)
            .trim_start_matches('[')
            .trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    fn validate_auth(&self) -> Result<(), ConfigError> {
        let auth = &self.auth;
        let mut seen = std::collections::HashSet::new();
        for user in &auth.users {
            if !seen.insert(&user.name) {
                return Err(ConfigError::Invalid {
                    key: "auth.users.name",
                    reason: format!("user {:?} is listed twice", user.name),
                });
            }
        }
        match auth.method {
            AuthMethodConfig::Trust => {
                if !self.listens_on_loopback_only() {
                    return Err(ConfigError::Invalid {
                        key: "auth.method",
                        reason: format!(
                            "\"trust\" lets anyone connect without a password; it is allowed only when server.listen is a loopback address, not {:?}",
                            self.server.listen
                        ),
                    });
                }
            }
            AuthMethodConfig::ScramSha256 => {
                if auth.users.is_empty() {
                    return Err(ConfigError::Invalid {
                        key: "auth.users",
                        reason: "auth.method is scram-sha-256 (the default) and no user is listed: add [[auth.users]] with a verifier (stagesql hash-password prints one) or password_env, or set auth.method = \"trust\" on a loopback address".to_owned(),
                    });
                }
                for user in &auth.users {
                    match (&user.verifier, &user.password_env) {
                        (Some(v), None) => {
                            stagesql_wire::ScramVerifier::parse(v).map_err(|reason| {
                                ConfigError::Invalid {
                                    key: "auth.users.verifier",
                                    reason: format!("user {:?}: {reason}", user.name),
                                }
                            })?;
                        }
                        (None, Some(var)) if !var.is_empty() => {}
                        _ => {
                            return Err(ConfigError::Invalid {
                                key: "auth.users",
                                reason: format!(
                                    "user {:?} needs exactly one of verifier and password_env",
                                    user.name
                                ),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn validate_tls(&self) -> Result<(), ConfigError> {
        let tls = &self.tls;
        if tls.mode != TlsModeConfig::Disabled
            && (tls.cert_file.is_none() || tls.key_file.is_none())
        {
            return Err(ConfigError::Invalid {
                key: "tls.cert_file",
                reason: "tls.mode is optional or required: set both tls.cert_file and tls.key_file"
                    .to_owned(),
            });
        }
        Ok(())
    }

    /// The user list the wire checks logins against. Passwords named by `password_env` are
    /// read here and turned into verifiers at once.
    pub fn users(&self) -> Result<stagesql_wire::Users, ConfigError> {
        use stagesql_wire::{AuthMethod, ScramVerifier, Users};
        let method = match self.auth.method {
            AuthMethodConfig::Trust => AuthMethod::Trust,
            AuthMethodConfig::ScramSha256 => AuthMethod::ScramSha256,
        };
        let mut users = Vec::new();
        for user in &self.auth.users {
            let verifier = match (&user.verifier, &user.password_env) {
                (Some(v), _) => {
                    Some(
                        ScramVerifier::parse(v).map_err(|reason| ConfigError::Invalid {
                            key: "auth.users.verifier",
                            reason: format!("user {:?}: {reason}", user.name),
                        })?,
                    )
                }
                (None, Some(var)) => {
                    let password = std::env::var(var).map_err(|_| ConfigError::Invalid {
                        key: "auth.users.password_env",
                        reason: format!(
                            "user {:?}: environment variable {var} is not set (or not UTF-8)",
                            user.name
                        ),
                    })?;
                    if password.is_empty() {
                        return Err(ConfigError::Invalid {
                            key: "auth.users.password_env",
                            reason: format!("user {:?}: {var} is empty", user.name),
                        });
                    }
                    Some(ScramVerifier::from_password(&password))
                }
                (None, None) => None,
            };
            users.push((user.name.clone(), verifier));
        }
        if users.is_empty() && method == AuthMethod::Trust {
            users.push((DEFAULT_USER.to_owned(), None));
        }
        Ok(Users::new(method, users))
    }

    /// The role shown as the owner of every object: the first configured user.
    pub fn owner(&self) -> String {
        self.auth
            .users
            .first()
            .map_or_else(|| DEFAULT_USER.to_owned(), |u| u.name.clone())
    }

    /// The users after the [`owner`](Config::owner): roles that own nothing.
    pub fn other_users(&self) -> Vec<String> {
        self.auth
            .users
            .iter()
            .skip(1)
            .map(|u| u.name.clone())
            .collect()
    }
}

/// The user of a `trust` config that lists none.
pub const DEFAULT_USER: &str = "stagesql";

impl Config {
    /// Reads `path` and resolves relative paths in it against the file's directory.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        Config::load(Some(path), std::iter::empty())
    }

    /// Parses TOML text (no path resolution).
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
    }

    /// Checks every value once; called before anything starts.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let listen = &self.server.listen;
        let valid_listen = listen
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !valid_listen {
            return Err(ConfigError::Invalid {
                key: "server.listen",
                reason: format!("{listen:?} is not HOST:PORT"),
            });
        }
        let names = std::iter::once(("server.database", &self.server.database))
            .chain(self.auth.users.iter().map(|u| ("auth.users.name", &u.name)));
        for (key, value) in names {
            if value.is_empty() || value.len() > 63 || value.contains('\0') {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{value:?} must be 1 to 63 bytes with no NUL"),
                });
            }
        }
        self.validate_auth()?;
        self.validate_tls()?;
        let http = &self.http.listen;
        if !http.is_empty()
            && !http
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
        {
            return Err(ConfigError::Invalid {
                key: "http.listen",
                reason: format!("{http:?} is not HOST:PORT (or empty to turn it off)"),
            });
        }
        let limits = &self.limits;
        if limits.max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "limits.max_connections",
                reason: "must be at least 1".to_owned(),
            });
        }
        if stagesql_engine::parse_timeout(&limits.statement_timeout).is_none() {
            return Err(ConfigError::Invalid {
                key: "limits.statement_timeout",
                reason: format!(
                    "{:?} is not a duration such as 0, 1500, 30s or 5min",
                    limits.statement_timeout
                ),
            });
        }
        if limits.query_memory_mb == 0 || limits.total_memory_mb < limits.query_memory_mb {
            return Err(ConfigError::Invalid {
                key: "limits.query_memory_mb",
                reason: "must be at least 1 and at most limits.total_memory_mb".to_owned(),
            });
        }
        for (key, value) in [
            (
                "limits.idle_in_transaction_session_timeout",
                &limits.idle_in_transaction_session_timeout,
            ),
            ("limits.idle_session_timeout", &limits.idle_session_timeout),
        ] {
            if stagesql_engine::parse_timeout(value).is_none() {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{value:?} is not a duration such as 0, 1500, 30s or 5min"),
                });
            }
        }
        if limits.max_message_mb == 0 || limits.input_buffer_total_mb < limits.max_message_mb {
            return Err(ConfigError::Invalid {
                key: "limits.max_message_mb",
                reason: "must be at least 1 and at most limits.input_buffer_total_mb".to_owned(),
            });
        }
        if limits.max_message_mb > 1023 {
            return Err(ConfigError::Invalid {
                key: "limits.max_message_mb",
                reason: "must be below 1024 (the protocol's limit is 1 GB)".to_owned(),
            });
        }
        if limits.startup_timeout_seconds == 0 {
            return Err(ConfigError::Invalid {
                key: "limits.startup_timeout_seconds",
                reason: "must be at least 1".to_owned(),
            });
        }
        self.source.validate()?;
        self.publish.validate(self.source.kind)?;
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError::Invalid {
                key: "log.level",
                reason: e.to_string(),
            });
        }
        Ok(())
    }
}

mod layers;
mod publish;
mod source;
#[cfg(test)]
mod tests;

pub use layers::{ENV_PREFIX, env_name};
pub use publish::PublishConfig;
pub use source::{AccountConfig, OrganizationConfig, SourceConfig, SourceKind};
