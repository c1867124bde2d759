//! `stagesql`: parses arguments and calls the library's `run`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use stagesql_server::{Config, telemetry};

/// Serve AWS API Gateway v2 stages as the PostgreSQL table aws.apigatewayv2_stage.
#[derive(Debug, Parser)]
#[command(name = "stagesql", version)]
struct Args {
    /// TOML config file (see config/stagesql.example.toml). Without it, every key has its default
    /// and the bundled demo data is served.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// HOST:PORT to listen on; overrides server.listen.
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
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
