//! Logging setup: tracing to stderr, text for terminals or JSON for machines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber. `RUST_LOG`, when set, overrides `log.level` from the file
/// or the `STAGESQL__LOG__LEVEL` variable, but not a level given as a flag
/// (`level_from_flag`): flags are the last layer.
pub fn init(config: &LogConfig, level_from_flag: bool) {
    let from_env = if level_from_flag {
        Err(())
    } else {
        EnvFilter::try_from_default_env().map_err(|_| ())
    };
    let filter = from_env
        .or_else(|()| EnvFilter::try_new(&config.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match config.format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    // A subscriber may already be installed (e.g. by a test harness); keep it.
    let _ = result;
}

/// Routes panics through the log. A panic contained while decoding a client's bytes (see
/// `stagesql_wire::socket::decoding_client_bytes`) is that client's malformed message, logged
/// at debug; any other panic is a server bug, logged at error with its location (and its
/// backtrace when `RUST_BACKTRACE` asks for one).
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if stagesql_wire::socket::decoding_client_bytes() {
            tracing::debug!(%location, cause = %payload, "malformed client message (decoder panic contained)");
        } else {
            // With RUST_BACKTRACE=1 the stack comes too (capture is free when it is off).
            let backtrace = std::backtrace::Backtrace::capture();
            if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
                tracing::error!(%location, cause = %payload, %backtrace, "panic");
            } else {
                tracing::error!(%location, cause = %payload, "panic");
            }
        }
    }));
}
