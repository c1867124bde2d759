//! `stagesql`: parses arguments and calls the library's `run` (or prints a SCRAM verifier).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stagesql_server::{Config, telemetry};

/// Serve AWS API Gateway v2 stages as the PostgreSQL table aws.apigatewayv2_stage.
///
/// Settings come in layers, each beating the one before: built-in defaults, the --config
/// file, STAGESQL__SECTION__KEY environment variables (STAGESQL__LIMITS__MAX_CONNECTIONS=50),
/// then flags (--set section.key=value and the named flags below). Every key, with its
/// default, is in config/stagesql.example.toml; `stagesql check-config` prints the result.
/// SIGHUP reloads the users and the TLS certificate; SIGTERM or SIGINT stop the server.
#[derive(Debug, Parser)]
#[command(name = "stagesql", version)]
struct Args {
    /// TOML config file (see config/stagesql.example.toml; config/demo.toml serves the bundled
    /// demo data without a password).
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// HOST:PORT to accept PostgreSQL connections on (server.listen).
    #[arg(long, value_name = "HOST:PORT", global = true)]
    listen: Option<String>,
    /// HOST:PORT for /healthz, /readyz and /metrics, or "" for none (http.listen).
    #[arg(long, value_name = "HOST:PORT", global = true)]
    http_listen: Option<String>,
    /// Log filter such as info or stagesql_wire=debug,info (log.level; beats RUST_LOG, which
    /// beats the file and STAGESQL__LOG__LEVEL).
    #[arg(long, value_name = "FILTER", global = true)]
    log_level: Option<String>,
    /// Log lines as text or json (log.format).
    #[arg(long, value_name = "text|json", global = true)]
    log_format: Option<String>,
    /// Set any config key, e.g. --set limits.max_connections=50 (repeatable; values are read
    /// as TOML, else as text).
    #[arg(short = 'c', long = "set", value_name = "KEY=VALUE", global = true)]
    set: Vec<String>,
    #[command(subcommand)]
    command: Option<Commands>,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Load the config (file, then STAGESQL__SECTION__KEY variables, then flags), validate it,
    /// and print the effective config with secrets masked; exit 2 if it is invalid.
    CheckConfig,
    /// Read a password (prompted on a terminal, else the first line of stdin) and print its
    /// SCRAM-SHA-256 verifier for `[[auth.users]] verifier = "..."`.
    HashPassword,
    /// Ask a running server's /readyz (at http.listen of the same config) whether it is
    /// serving a snapshot; exit 0 if so, 1 if not (a container HEALTHCHECK).
    Healthcheck {
        /// The URL to ask instead, e.g. http://127.0.0.1:9187/readyz.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

impl Args {
    /// The named flags: (the key each sets, the flag, its value if given).
    fn named_flags(&self) -> [(&'static str, &'static str, Option<&String>); 4] {
        [
            ("server.listen", "--listen", self.listen.as_ref()),
            ("http.listen", "--http-listen", self.http_listen.as_ref()),
            ("log.level", "--log-level", self.log_level.as_ref()),
            ("log.format", "--log-format", self.log_format.as_ref()),
        ]
    }

    /// The --set flags, then the named flags as the keys they set: the last layer.
    fn flag_layer(&self) -> Vec<String> {
        let named = self
            .named_flags()
            .into_iter()
            .filter_map(|(key, _, value)| value.map(|v| format!("{key}={}", quoted(v))));
        self.set.iter().cloned().chain(named).collect()
    }

    /// The flag that sets `key`, if one does (the named flag wins, as in [`Args::flag_layer`]).
    fn flag_setting(&self, key: &str) -> Option<String> {
        if let Some((_, flag, _)) = self
            .named_flags()
            .into_iter()
            .find(|(k, _, value)| *k == key && value.is_some())
        {
            return Some(flag.to_owned());
        }
        self.set
            .iter()
            .any(|s| s.split_once('=').is_some_and(|(k, _)| k.trim() == key))
            .then(|| format!("--set {key}"))
    }

    /// The config from every layer, not yet validated.
    fn layered_config(&self) -> Result<Config, String> {
        // vars_os: a non-UTF-8 variable anywhere in the environment must not panic.
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Config::load_layers(self.config.as_deref(), env, &self.flag_layer())
            .map_err(|e| e.to_string())
    }

    /// The config from every layer, validated; the error is the message to print.
    fn load_config(&self) -> Result<Config, String> {
        let config = self.layered_config()?;
        config
            .validate()
            .map_err(|e| format!("{e}{}", source_of(&e, self)))?;
        Ok(config)
    }
}

/// `value` as a TOML string, so a named flag is never read as a number or a table.
fn quoted(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

fn main() -> ExitCode {
    let args = Args::parse();
    match &args.command {
        Some(Commands::HashPassword) => return hash_password(),
        Some(Commands::Healthcheck { url }) => return healthcheck(&args, url.as_deref()),
        _ => {}
    }
    let config = match args.load_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("stagesql: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Commands::CheckConfig) = args.command {
        print!("{}", config.to_masked_toml());
        return ExitCode::SUCCESS;
    }
    telemetry::init(&config.log, args.flag_setting("log.level").is_some());
    telemetry::install_panic_hook();
    let runtime = match runtime(tokio::runtime::Builder::new_multi_thread()) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let reread: stagesql_server::Reread = Box::new(move || args.load_config());
    let result = runtime.block_on(stagesql_server::run(config, reread));
    // Whatever is still running (a stuck file write) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let said = said_once(&e);
            tracing::error!(cause = %said, "server failed");
            eprintln!("stagesql: {said}");
            ExitCode::FAILURE
        }
    }
}

/// `e` and its causes, each said once: most messages here already end with their cause
/// (`cannot listen on … : Address already in use`), so a cause the text holds is not repeated.
fn said_once(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

/// Builds the async runtime from `builder`; on failure, says why and gives the exit code.
fn runtime(mut builder: tokio::runtime::Builder) -> Result<tokio::runtime::Runtime, ExitCode> {
    builder.enable_all().build().map_err(|e| {
        eprintln!("stagesql: cannot start the async runtime: {e}");
        ExitCode::FAILURE
    })
}

/// Where the key an error names was set: a flag, an environment variable or the file.
fn source_of(err: &stagesql_server::ConfigError, args: &Args) -> String {
    let stagesql_server::ConfigError::Invalid { key, .. } = err else {
        return String::new();
    };
    if let Some(flag) = args.flag_setting(key) {
        return format!(" (set by {flag})");
    }
    let var = stagesql_server::config::env_name(key);
    if std::env::var_os(&var).is_some() {
        return format!(" (set by environment variable {var})");
    }
    match &args.config {
        Some(path) => format!(" (in {})", path.display()),
        None => " (default)".to_owned(),
    }
}

/// `stagesql healthcheck`: exit 0 when the server's /readyz answers 200. Only `http.listen`
/// is read from the config (a probe must not fail because, say, a password variable is unset
/// in the probe's environment).
fn healthcheck(args: &Args, url: Option<&str>) -> ExitCode {
    let url = match url {
        Some(u) => u.to_owned(),
        None => {
            let listen = match args.layered_config() {
                Ok(config) => config.http.listen,
                Err(e) => {
                    eprintln!("stagesql: {e}");
                    return ExitCode::from(2);
                }
            };
            match stagesql_server::http::readyz_url(&listen) {
                Some(u) => u,
                None => {
                    eprintln!("stagesql: http.listen is off; there is no /readyz to ask");
                    return ExitCode::from(2);
                }
            }
        }
    };
    let runtime = match runtime(tokio::runtime::Builder::new_current_thread()) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match runtime.block_on(stagesql_server::http::get(&url)) {
        Ok((200, body)) => {
            print!("{body}");
            ExitCode::SUCCESS
        }
        Ok((status, body)) => {
            eprint!("stagesql: {url} answered {status}: {body}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("stagesql: {url}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn hash_password() -> ExitCode {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Password: ")
    } else {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    };
    let password = match password {
        Ok(p) => p.trim_end_matches(['\r', '\n']).to_owned(),
        Err(e) => {
            eprintln!("stagesql: cannot read the password: {e}");
            return ExitCode::FAILURE;
        }
    };
    if password.is_empty() {
        eprintln!("stagesql: the password is empty");
        return ExitCode::from(2);
    }
    println!(
        "{}",
        stagesql_wire::ScramVerifier::from_password(&password).to_text()
    );
    ExitCode::SUCCESS
}
