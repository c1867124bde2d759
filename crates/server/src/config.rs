//! Configuration: typed, with defaults, read from TOML and overridden from the command line,
//! validated once at startup. A bad value stops startup with a message naming the key.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything the server reads from its config file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[server]`: where and as what the server listens.
    pub server: ServerConfig,
    /// `[source]`: where the stage data comes from.
    pub source: SourceConfig,
    /// `[log]`: logging.
    pub log: LogConfig,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// `listen`: `HOST:PORT` to accept PostgreSQL connections on. Default `127.0.0.1:5433`.
    pub listen: String,
    /// `database`: the database name clients connect to. Default `stagesql`.
    pub database: String,
    /// `user`: the user name clients connect as. Default `stagesql`.
    pub user: String,
    /// `shutdown_drain_seconds`: how long running queries may finish after a shutdown signal.
    /// Default 10.
    pub shutdown_drain_seconds: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:5433".to_owned(),
            database: "stagesql".to_owned(),
            user: "stagesql".to_owned(),
            shutdown_drain_seconds: 10,
        }
    }
}

/// `[source]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SourceConfig {
    /// `kind`: `demo` (a fixture of recorded AWS answers). Default `demo`.
    pub kind: SourceKind,
    /// `fixture`: path of a demo fixture, relative to the config file. Default: the fixture
    /// compiled into the binary (the same as `config/demo/stages.json`).
    pub fixture: Option<PathBuf>,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            kind: SourceKind::Demo,
            fixture: None,
        }
    }
}

/// The kinds of stage source.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Recorded GetApis/GetStages answers from a fixture file.
    Demo,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
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
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
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
        if let Some(fixture) = &config.source.fixture
            && fixture.is_relative()
        {
            let base = path.parent().unwrap_or_else(|| Path::new("."));
            config.source.fixture = Some(base.join(fixture));
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
        for (key, value) in [
            ("server.database", &self.server.database),
            ("server.user", &self.server.user),
        ] {
            if value.is_empty() || value.len() > 63 || value.contains('\0') {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{value:?} must be 1 to 63 bytes with no NUL"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(Config::from_toml("").expect("valid"), Config::default());
        Config::default().validate().expect("defaults are valid");
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key() {
        let err = Config::from_toml("[server]\nlisten_on = \"x\"").expect_err("unknown key");
        assert!(err.contains("listen_on"), "{err}");
        let err =
            Config::from_toml("[server]\nshutdown_drain_seconds = \"ten\"").expect_err("type");
        assert!(err.contains("shutdown_drain_seconds"), "{err}");
        let mut c = Config::default();
        c.server.listen = "5433".to_owned();
        let err = c.validate().expect_err("no host").to_string();
        assert!(err.contains("server.listen"), "{err}");
        let mut c = Config::default();
        c.server.user = String::new();
        assert!(
            c.validate()
                .expect_err("empty")
                .to_string()
                .contains("server.user")
        );
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
