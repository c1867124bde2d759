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

/// `[source]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SourceConfig {
    /// `kind`: `demo` (a fixture of recorded AWS answers) or `aws` (crawl live). Default `demo`.
    pub kind: SourceKind,
    /// `fixture` (demo): path of a demo fixture, relative to the config file. Default: the
    /// fixture compiled into the binary (the same as `config/demo/stages.json`).
    pub fixture: Option<PathBuf>,
    /// `regions` (aws): regions to crawl in every account. Default: the region of the standard
    /// AWS environment (`AWS_REGION`, the profile), else `us-east-1`.
    pub regions: Vec<String>,
    /// `accounts` (aws): accounts to crawl; an entry without `role_arn` is the default
    /// credential chain's own account. Default: just that one.
    pub accounts: Vec<AccountConfig>,
    /// `refresh_interval_seconds` (aws): time between refreshes (plus up to 10% jitter).
    /// Default 300.
    pub refresh_interval_seconds: u64,
    /// `concurrency` (aws): (account, region) partitions crawled at once. Default 16; keep it
    /// at least the number of accounts, since each account's rate limit is the real bound.
    pub concurrency: usize,
    /// `endpoint_url` (aws): endpoint for every AWS service, e.g. a local moto. Default: none
    /// (`AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_APIGATEWAYV2` also work).
    pub endpoint_url: Option<String>,
    /// `attempt_timeout_seconds` (aws): per-request attempt timeout. Default 5.
    pub attempt_timeout_seconds: u64,
    /// `max_attempts` (aws): attempts per AWS request, retrying throttling, 5xx and timeouts
    /// with backoff. Default 6.
    pub max_attempts: u32,
    /// `requests_per_second` (aws): client-side rate limit per account. Default 5 (AWS allows
    /// about 10 per account, shared with everything else in it).
    pub requests_per_second: f64,
    /// `burst` (aws): requests an account may make at once before the rate applies. Default 10.
    pub burst: u32,
    /// `snapshot_path` (aws): where the last good snapshot is kept (Arrow IPC), relative to the
    /// config file; loaded at startup so queries are answered before the first crawl ends.
    /// Default: none (not persisted).
    pub snapshot_path: Option<PathBuf>,
    /// `emulator_credentials` (aws): `[access_key_id, secret]` for a local AWS emulator such as
    /// moto. Never real keys; real deployments use the default credential chain.
    pub emulator_credentials: Option<[String; 2]>,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            kind: SourceKind::Demo,
            fixture: None,
            regions: Vec::new(),
            accounts: Vec::new(),
            refresh_interval_seconds: 300,
            concurrency: 16,
            endpoint_url: None,
            attempt_timeout_seconds: 5,
            max_attempts: 6,
            requests_per_second: 5.0,
            burst: 10,
            snapshot_path: None,
            emulator_credentials: None,
        }
    }
}

/// One `[[source.accounts]]` entry.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AccountConfig {
    /// `role_arn`: role to assume; absent means the default credentials' own account.
    pub role_arn: Option<String>,
    /// `external_id`: the role's external id, if it requires one.
    pub external_id: Option<String>,
    /// `session_name`: the assumed-role session name. Default `stagesql`.
    pub session_name: Option<String>,
}

/// The kinds of stage source.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Recorded GetApis/GetStages answers from a fixture file.
    Demo,
    /// The live API Gateway v2 control plane.
    Aws,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `level`: a tracing filter such as `info` or `stagesql=debug,info`; `RUST_LOG` wins.
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
}

/// The user of a `trust` config that lists none.
pub const DEFAULT_USER: &str = "stagesql";

impl SourceConfig {
    /// The crawler's view of this section.
    pub fn aws(&self) -> stagesql_catalog::aws::AwsSourceConfig {
        use stagesql_catalog::aws::AccountSpec;
        let accounts = if self.accounts.is_empty() {
            vec![AccountSpec::Default]
        } else {
            self.accounts
                .iter()
                .map(|a| match &a.role_arn {
                    None => AccountSpec::Default,
                    Some(role) => AccountSpec::AssumeRole {
                        role_arn: role.clone(),
                        external_id: a.external_id.clone(),
                        session_name: a
                            .session_name
                            .clone()
                            .unwrap_or_else(|| "stagesql".to_owned()),
                    },
                })
                .collect()
        };
        stagesql_catalog::aws::AwsSourceConfig {
            regions: self.regions.clone(),
            accounts,
            endpoint_url: self.endpoint_url.clone(),
            attempt_timeout: std::time::Duration::from_secs(self.attempt_timeout_seconds),
            max_attempts: self.max_attempts,
            requests_per_second: self.requests_per_second,
            burst: self.burst,
            static_credentials: self
                .emulator_credentials
                .clone()
                .map(|[id, secret]| (id, secret)),
        }
    }
}

/// The prefix of environment variables that set config keys: `STAGESQL__LIMITS__MAX_CONNECTIONS`
/// sets `limits.max_connections`.
pub const ENV_PREFIX: &str = "STAGESQL__";

/// The environment variable that sets `key` (`limits.max_connections`).
pub fn env_name(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        key.to_ascii_uppercase().replace('.', "__")
    )
}

impl Config {
    /// The layered config: defaults < the TOML file (if any) < `STAGESQL__SECTION__KEY`
    /// variables from `env`. A value from the environment is read as TOML (`5`, `true`,
    /// `["a", "b"]`) and otherwise as a string. Errors name the key and where it was set.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (mut table, source) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                let table =
                    toml::from_str::<toml::Table>(&text).map_err(|e| ConfigError::Parse {
                        path: path.to_owned(),
                        message: e.to_string().trim_end().to_owned(),
                    })?;
                (table, path.display().to_string())
            }
            None => (toml::Table::new(), "defaults".to_owned()),
        };
        let mut from_env: Vec<(Vec<String>, String, String)> = Vec::new();
        for (name, raw) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if path.len() < 2 || path.iter().any(String::is_empty) {
                return Err(ConfigError::Env {
                    var: name,
                    message: "expected STAGESQL__SECTION__KEY".to_owned(),
                });
            }
            let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::String(raw.clone()));
            set_path(&mut table, &path, value).map_err(|message| ConfigError::Env {
                var: name.clone(),
                message,
            })?;
            from_env.push((path, name, raw));
        }
        // A value that reads as a number or boolean may be meant as a string
        // (`statement_timeout = 0`): retry such keys as strings before giving up.
        let mut retried = std::collections::HashSet::new();
        let mut config = loop {
            match serde_path_to_error::deserialize::<_, Config>(toml::Value::Table(table.clone())) {
                Ok(c) => break c,
                Err(e) => {
                    let key = e.path().to_string();
                    let env_entry = from_env.iter().find(|(p, _, _)| p.join(".") == key);
                    match env_entry {
                        Some((p, _, raw)) if retried.insert(key.clone()) => {
                            let _ = set_path(&mut table, p, toml::Value::String(raw.clone()));
                        }
                        Some((_, var, _)) => {
                            return Err(ConfigError::Env {
                                var: var.clone(),
                                message: format!("{key}: {}", e.inner()),
                            });
                        }
                        None => {
                            return Err(ConfigError::Parse {
                                path: source.clone().into(),
                                message: format!("{key}: {}", e.inner()),
                            });
                        }
                    }
                }
            }
        };
        if let Some(path) = file {
            let base = path.parent().unwrap_or_else(|| Path::new("."));
            let set_by_env = |key: &str| from_env.iter().any(|(p, _, _)| p.join(".") == key);
            for (key, file) in [
                ("source.fixture", &mut config.source.fixture),
                ("source.snapshot_path", &mut config.source.snapshot_path),
                ("tls.cert_file", &mut config.tls.cert_file),
                ("tls.key_file", &mut config.tls.key_file),
            ] {
                if let Some(f) = file.as_mut()
                    && f.is_relative()
                    && !set_by_env(key)
                {
                    *f = base.join(&*f);
                }
            }
        }
        Ok(config)
    }

    /// The config as TOML with every secret replaced by `<redacted>` (`check-config`).
    pub fn to_masked_toml(&self) -> String {
        let mut masked = self.clone();
        for user in &mut masked.auth.users {
            if user.verifier.is_some() {
                user.verifier = Some("<redacted>".to_owned());
            }
        }
        if let Some([_, secret]) = masked.source.emulator_credentials.as_mut() {
            *secret = "<redacted>".to_owned();
        }
        toml::to_string_pretty(&masked).unwrap_or_else(|e| format!("# cannot print: {e}\n"))
    }

    /// Reads `path` and resolves relative paths in it against the file's directory.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Config::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        for file in [
            &mut config.source.fixture,
            &mut config.source.snapshot_path,
            &mut config.tls.cert_file,
            &mut config.tls.key_file,
        ] {
            if let Some(f) = file.as_mut()
                && f.is_relative()
            {
                *f = base.join(&*f);
            }
        }
        Ok(config)
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
        if stagesql_engine::limits::parse_timeout(&limits.statement_timeout).is_none() {
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
            if stagesql_engine::limits::parse_timeout(value).is_none() {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{value:?} is not a duration such as 0, 1500, 30s or 5min"),
                });
            }
        }
        if limits.startup_timeout_seconds == 0 {
            return Err(ConfigError::Invalid {
                key: "limits.startup_timeout_seconds",
                reason: "must be at least 1".to_owned(),
            });
        }
        if self.source.kind == SourceKind::Aws {
            let src = &self.source;
            if src.regions.iter().any(|r| r.trim().is_empty()) {
                return Err(ConfigError::Invalid {
                    key: "source.regions",
                    reason: "a region name is empty".to_owned(),
                });
            }
            if src.refresh_interval_seconds == 0 {
                return Err(ConfigError::Invalid {
                    key: "source.refresh_interval_seconds",
                    reason: "must be at least 1".to_owned(),
                });
            }
            if src.concurrency == 0 {
                return Err(ConfigError::Invalid {
                    key: "source.concurrency",
                    reason: "must be at least 1".to_owned(),
                });
            }
            if !(src.requests_per_second > 0.0 && src.requests_per_second.is_finite())
                || src.burst == 0
            {
                return Err(ConfigError::Invalid {
                    key: "source.requests_per_second",
                    reason: "requests_per_second must be above 0 and burst at least 1".to_owned(),
                });
            }
            if src.max_attempts == 0 || src.attempt_timeout_seconds == 0 {
                return Err(ConfigError::Invalid {
                    key: "source.max_attempts",
                    reason: "max_attempts and attempt_timeout_seconds must be at least 1"
                        .to_owned(),
                });
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError::Invalid {
                key: "log.level",
                reason: e.to_string(),
            });
        }
        Ok(())
    }
}

/// Sets `path` (section, key, …) in `table` to `value`, creating sections.
fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, sections) = path.split_last().ok_or("empty key")?;
    let mut at = table;
    for section in sections {
        at = at
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("{section} is not a section"))?;
    }
    at.insert(last.clone(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusting() -> Config {
        let mut c = Config::default();
        c.auth.method = AuthMethodConfig::Trust;
        c
    }

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(Config::from_toml("").expect("valid"), Config::default());
        // SCRAM is the default, and it needs a user.
        let err = Config::default()
            .validate()
            .expect_err("no users")
            .to_string();
        assert!(err.contains("auth.users"), "{err}");
        trusting().validate().expect("trust on loopback is valid");
    }

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn environment_overrides_the_file_and_names_itself_in_errors() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "[limits]\nmax_connections = 7\nstatement_timeout = \"5s\"\n",
        )
        .expect("write");
        let c = Config::load(
            Some(&file),
            env(&[
                ("STAGESQL__LIMITS__MAX_CONNECTIONS", "9"),
                ("STAGESQL__LIMITS__STATEMENT_TIMEOUT", "0"),
                ("STAGESQL__SERVER__LISTEN", "127.0.0.1:6000"),
                ("STAGESQL__AUTH__METHOD", "trust"),
                (
                    "STAGESQL__SOURCE__REGIONS",
                    "[\"eu-west-1\", \"us-east-1\"]",
                ),
                ("UNRELATED", "x"),
            ]),
        )
        .expect("loads");
        assert_eq!(c.limits.max_connections, 9, "env beats the file");
        assert_eq!(
            c.limits.statement_timeout, "0",
            "a number read as the string it is"
        );
        assert_eq!(c.server.listen, "127.0.0.1:6000");
        assert_eq!(c.source.regions, vec!["eu-west-1", "us-east-1"]);
        assert_eq!(c.auth.method, AuthMethodConfig::Trust);
        let file_only = Config::load(Some(&file), env(&[])).expect("loads");
        assert_eq!(
            file_only.limits.max_connections, 7,
            "the file beats defaults"
        );

        let err = Config::load(None, env(&[("STAGESQL__LIMITS__MAX_CONNECTIONS", "many")]))
            .expect_err("not a number")
            .to_string();
        assert!(
            err.contains("STAGESQL__LIMITS__MAX_CONNECTIONS")
                && err.contains("limits.max_connections"),
            "{err}"
        );
        let err = Config::load(None, env(&[("STAGESQL__LIMITS__NO_SUCH_KEY", "1")]))
            .expect_err("unknown key")
            .to_string();
        assert!(
            err.contains("STAGESQL__LIMITS__NO_SUCH_KEY") || err.contains("no_such_key"),
            "{err}"
        );
        let err = Config::load(None, env(&[("STAGESQL__LISTEN", "x")]))
            .expect_err("no section")
            .to_string();
        assert!(err.contains("STAGESQL__SECTION__KEY"), "{err}");
    }

    #[test]
    fn check_config_output_masks_secrets_and_reads_back() {
        let verifier = stagesql_wire::ScramVerifier::from_password("pw").to_text();
        let mut c = Config::default();
        c.auth.users.push(UserConfig {
            name: "a".to_owned(),
            verifier: Some(verifier.clone()),
            password_env: None,
        });
        c.source.emulator_credentials = Some(["id".to_owned(), "very-secret".to_owned()]);
        let text = c.to_masked_toml();
        assert!(
            !text.contains(&verifier) && !text.contains("very-secret"),
            "{text}"
        );
        assert!(text.contains("<redacted>"), "{text}");
        let back = Config::from_toml(&text).expect("the printed config parses");
        assert_eq!(back.auth.users[0].name, "a");
    }

    #[test]
    fn trust_is_refused_off_loopback() {
        for (listen, ok) in [
            ("127.0.0.1:5433", true),
            ("127.10.0.1:5433", true),
            ("[::1]:5433", true),
            ("localhost:5433", true),
            ("0.0.0.0:5433", false),
            ("[::]:5433", false),
            ("10.0.0.5:5433", false),
            ("db.example.com:5433", false),
        ] {
            let mut c = trusting();
            c.server.listen = listen.to_owned();
            match c.validate() {
                Ok(()) => assert!(ok, "{listen} should be refused"),
                Err(e) => {
                    assert!(!ok, "{listen}: {e}");
                    assert!(e.to_string().contains("auth.method"), "{e}");
                }
            }
        }
    }

    #[test]
    fn users_need_one_secret_and_it_is_never_printed() {
        let verifier = stagesql_wire::ScramVerifier::from_password("s3cret-pw").to_text();
        let c = Config::from_toml(&format!(
            "[[auth.users]]\nname = \"alice\"\nverifier = \"{verifier}\"\n"
        ))
        .expect("parses");
        c.validate().expect("valid");
        assert!(
            !format!("{c:?}").contains(&verifier),
            "Debug shows the verifier"
        );
        for (toml, key) in [
            ("[[auth.users]]\nname = \"a\"\n", "auth.users"),
            (
                "[[auth.users]]\nname = \"a\"\nverifier = \"md5deadbeef\"\n",
                "auth.users.verifier",
            ),
            (
                "[[auth.users]]\nname = \"a\"\npassword_env = \"X\"\n[[auth.users]]\nname = \"a\"\npassword_env = \"Y\"\n",
                "auth.users.name",
            ),
            ("[tls]\nmode = \"required\"\n", "tls.cert_file"),
        ] {
            let mut c = Config::from_toml(toml).expect(toml);
            if c.auth.users.is_empty() {
                c.auth.method = AuthMethodConfig::Trust;
            }
            let err = c.validate().expect_err(toml).to_string();
            assert!(err.contains(key), "{toml}: {err}");
        }
        let c = Config::from_toml(
            "[[auth.users]]\nname = \"a\"\npassword_env = \"STAGESQL_TEST_UNSET_VARIABLE\"\n",
        )
        .expect("parses");
        c.validate().expect("the variable is read at startup");
        let err = c.users().expect_err("unset").to_string();
        assert!(
            err.contains("auth.users.password_env") && err.contains("STAGESQL_TEST_UNSET_VARIABLE"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let err = Config::from_toml("[server]\nlisten_on = \"x\"").expect_err("unknown key");
        assert!(err.contains("listen_on"), "{err}");
        let err =
            Config::from_toml("[server]\nshutdown_drain_seconds = \"ten\"").expect_err("type");
        assert!(err.contains("shutdown_drain_seconds"), "{err}");
        let mut c = trusting();
        c.server.listen = "5433".to_owned();
        let err = c.validate().expect_err("no host").to_string();
        assert!(err.contains("server.listen"), "{err}");
        let mut c = trusting();
        c.server.database = String::new();
        assert!(
            c.validate()
                .expect_err("empty")
                .to_string()
                .contains("server.database")
        );
    }

    #[test]
    fn bad_limits_name_their_key() {
        for (edit, key) in [
            (
                (|c: &mut Config| c.limits.max_connections = 0) as fn(&mut Config),
                "limits.max_connections",
            ),
            (
                |c: &mut Config| c.limits.statement_timeout = "soon".to_owned(),
                "limits.statement_timeout",
            ),
            (
                |c: &mut Config| c.limits.query_memory_mb = 2048,
                "limits.query_memory_mb",
            ),
            (
                |c: &mut Config| c.limits.startup_timeout_seconds = 0,
                "limits.startup_timeout_seconds",
            ),
        ] {
            let mut c = trusting();
            edit(&mut c);
            let err = c.validate().expect_err(key).to_string();
            assert!(err.contains(key), "{err}");
        }
        let mut c = Config::from_toml("[limits]\nstatement_timeout = \"30s\"").expect("parses");
        c.auth.method = AuthMethodConfig::Trust;
        c.validate().expect("30s is a duration");
    }

    #[test]
    fn every_file_in_config_loads_and_validates() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("config dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let config = Config::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
                config
                    .validate()
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                if let Some(f) = &config.source.fixture {
                    assert!(
                        f.exists(),
                        "{} names a missing fixture {}",
                        path.display(),
                        f.display()
                    );
                }
                seen += 1;
            }
        }
        assert!(seen >= 2, "config/ holds the demo and the example config");
    }
}
