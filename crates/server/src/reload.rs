//! Reloading on SIGHUP: the user list (`[auth]` method and users) and the TLS certificate
//! (`[tls]`) are read again and apply to the connections that arrive from then on. Open
//! connections are not dropped: each keeps the credentials it logged in with.
//!
//! A reload is all or nothing. The new config is validated and its certificate loaded before
//! anything is swapped; if any of it fails, the server keeps what it has (never falling back to
//! plaintext) and the error names the key or file. Keys a reload cannot apply (listen
//! addresses, limits, the source, logging) are reported so the operator knows a restart is
//! needed for them.

use std::sync::Arc;

use stagesql_wire::Credentials;

use crate::config::Config;
use crate::{Server, StartError, load_tls};

/// What a reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Users who may log in now.
    pub users: usize,
    /// Whether TLS is on after the reload.
    pub tls: bool,
    /// Sections (or keys) that changed in the file but need a restart to take effect.
    pub needs_restart: Vec<&'static str>,
}

impl Server {
    /// Applies `config`'s users and TLS certificate to new connections. On error nothing is
    /// changed.
    pub fn reload(&self, config: Config) -> Result<ReloadReport, StartError> {
        config.validate()?;
        let users = Arc::new(
            config
                .users()?
                .keeping_unknown_user_salts_of(&self.shared.credentials().users),
        );
        let tls = load_tls(&config.tls)?.map(Arc::new);
        self.engine
            .set_roles(&config.owner(), &config.other_users())?;
        let report = ReloadReport {
            users: users.len(),
            tls: tls.is_some(),
            needs_restart: match self.running.lock() {
                Ok(running) => needs_restart(&running, &config),
                Err(_) => Vec::new(),
            },
        };
        self.shared.reload_credentials(Credentials { users, tls });
        if let Ok(mut running) = self.running.lock() {
            running.auth.method = config.auth.method;
            running.auth.users = config.auth.users;
            running.tls = config.tls;
        }
        Ok(report)
    }
}

/// The parts of `new` that differ from `running` and that only a restart applies.
fn needs_restart(running: &Config, new: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if running.server != new.server {
        changed.push("server");
    }
    if running.source != new.source {
        changed.push("source");
    }
    if running.limits != new.limits {
        changed.push("limits");
    }
    if running.log != new.log {
        changed.push("log");
    }
    if running.http != new.http {
        changed.push("http");
    }
    if running.publish != new.publish {
        changed.push("publish");
    }
    if running.auth.failure_delay_ms != new.auth.failure_delay_ms {
        changed.push("auth.failure_delay_ms");
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sections_a_reload_cannot_apply_are_reported() {
        let running = Config::default();
        let mut new = running.clone();
        new.auth.users.push(crate::config::UserConfig {
            name: "ana".to_owned(),
            ..Default::default()
        });
        new.tls.mode = crate::config::TlsModeConfig::Required;
        assert!(needs_restart(&running, &new).is_empty());
        new.limits.max_connections = 3;
        new.http.listen = String::new();
        new.auth.failure_delay_ms = 1;
        assert_eq!(
            needs_restart(&running, &new),
            vec!["limits", "http", "auth.failure_delay_ms"]
        );
    }
}
