//! The config's layers: defaults < the TOML file < `STAGESQL__SECTION__KEY` environment
//! variables < `--set section.key=value` flags (the binary's named flags such as `--listen`
//! are applied after these), and the masked printout of `check-config`.

use std::path::Path;

use super::{Config, ConfigError};

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
        Config::load_layers(file, env, &[])
    }

    /// [`Config::load`] with a last layer of `--set KEY=VALUE` flags (`flags` holds the
    /// `KEY=VALUE` texts), read like environment values and beating them.
    pub fn load_layers(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &[String],
    ) -> Result<Config, ConfigError> {
        let mut overrides = Vec::new();
        for (name, raw) in env {
            if name.starts_with(ENV_PREFIX) {
                overrides.push((name, raw));
            }
        }
        for flag in flags {
            let Some((key, raw)) = flag.split_once('=') else {
                return Err(ConfigError::Flag {
                    flag: format!("--set {flag}"),
                    message: "expected KEY=VALUE, e.g. --set limits.max_connections=50".to_owned(),
                });
            };
            overrides.push((format!("--set {}", key.trim()), raw.to_owned()));
        }
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
        for (name, raw) in overrides {
            let path: Vec<String> = match name.strip_prefix(ENV_PREFIX) {
                Some(rest) => rest.split("__").map(str::to_ascii_lowercase).collect(),
                None => name
                    .trim_start_matches("--set ")
                    .split('.')
                    .map(str::to_owned)
                    .collect(),
            };
            if path.len() < 2 || path.iter().any(String::is_empty) {
                return Err(override_error(
                    name,
                    "expected STAGESQL__SECTION__KEY (or --set section.key=value)".to_owned(),
                ));
            }
            let value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or_else(|| toml::Value::String(raw.clone()));
            set_path(&mut table, &path, value)
                .map_err(|message| override_error(name.clone(), message))?;
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
                    let env_entry = from_env.iter().rev().find(|(p, _, _)| p.join(".") == key);
                    match env_entry {
                        Some((p, _, raw)) if retried.insert(key.clone()) => {
                            let _ = set_path(&mut table, p, toml::Value::String(raw.clone()));
                        }
                        Some((_, var, _)) => {
                            return Err(override_error(
                                var.clone(),
                                format!("{key}: {}", e.inner()),
                            ));
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
}

/// The error for an override named `name`: an environment variable or a `--set` flag.
fn override_error(name: String, message: String) -> ConfigError {
    if name.starts_with(ENV_PREFIX) {
        ConfigError::Env { var: name, message }
    } else {
        ConfigError::Flag {
            flag: name,
            message,
        }
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
