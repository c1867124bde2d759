//! `stagesql`: parses arguments and calls the library's `run` (or prints a SCRAM verifier).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stagesql_server::{Config, telemetry};

/// Serve AWS API Gateway v2 stages as the PostgreSQL table aws.apigatewayv2_stage.
#[derive(Debug, Parser)]
#[command(name = "stagesql", version)]
struct Args {
    /// TOML config file (see config/stagesql.example.toml; config/demo.toml serves the bundled
    /// demo data without a password).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// HOST:PORT to listen on; overrides server.listen.
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
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
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Commands::HashPassword) = args.command {
        return hash_password();
    }
    // Defaults < file < environment < flags.
    let mut config = match Config::load(args.config.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("stagesql: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(listen) = &args.listen {
        config.server.listen = listen.clone();
    }
    if let Err(e) = config.validate() {
        eprintln!("stagesql: {e}{}", source_of(&e, &args));
        return ExitCode::from(2);
    }
    if let Some(Commands::CheckConfig) = args.command {
        print!("{}", config.to_masked_toml());
        return ExitCode::SUCCESS;
    }
    telemetry::init(&config.log);
    telemetry::install_panic_hook();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stagesql: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(stagesql_server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(cause = %e, "server failed");
            eprintln!("stagesql: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where the key an error names was set: the flag, an environment variable or the file.
fn source_of(err: &stagesql_server::ConfigError, args: &Args) -> String {
    let stagesql_server::ConfigError::Invalid { key, .. } = err else {
        return String::new();
    };
    if *key == "server.listen" && args.listen.is_some() {
        return " (set by --listen)".to_owned();
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
