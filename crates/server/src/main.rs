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
    /// Read a password (prompted on a terminal, else the first line of stdin) and print its
    /// SCRAM-SHA-256 verifier for `[[auth.users]] verifier = "..."`.
    HashPassword,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Commands::HashPassword) = args.command {
        return hash_password();
    }
    let mut config = match &args.config {
        Some(path) => match Config::from_file(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("stagesql: {e}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Err(e) = config.validate() {
        eprintln!("stagesql: {e}");
        return ExitCode::from(2);
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
