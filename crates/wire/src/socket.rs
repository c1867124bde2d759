//! Drives one client socket: TLS negotiation, then messages one at a time until the client
//! leaves, breaks the protocol, idles past a timeout, or the server shuts down.
//!
//! This is our own loop around pgwire's `negotiate_tls`, `process_message` and `process_error`
//! (instead of `process_socket`) so that it can stop on our inputs and say why with a FATAL
//! error: the startup deadline, `idle_in_transaction_session_timeout` (25P03),
//! `idle_session_timeout` (57P05), an undecodable message (08P01) and shutdown (57P01).

use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, SinkExt, StreamExt};
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::messages::PgWireFrontendMessage;
use pgwire::messages::response::TransactionStatus;
use pgwire::tokio::server::{
    MaybeTls, PgWireMessageServerCodec, negotiate_tls, process_error, process_message,
};
use tokio::net::TcpStream;
use tokio_util::codec::{Framed, FramedParts};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use stagesql_engine::sleep_until;

use crate::backend::{Backend, BackendSession};
use crate::error::{WireError, first_error_of, to_pg_error};
use crate::extended::StatementOf;
use crate::flush::DeferredFlush;
use crate::handler::Connection;
use crate::inbound::{Inbound, Verdict};
use crate::quick;
use crate::shared::CancelHandler;
use crate::transaction;

/// What stops a connection from outside.
#[derive(Debug, Clone)]
pub struct Stops {
    /// Shutdown has begun: finish the running statement (if any), then end with 57P01.
    pub shutdown: CancellationToken,
    /// The drain deadline passed: end now, even mid-statement.
    pub force: CancellationToken,
}

/// The client's socket once TLS is settled: input watched as it is read (see `inbound`),
/// responses held until the loop has no input left (see `flush`).
/// `S` is the statement type pgwire keeps for Parse.
type ClientSocket<S> = Framed<DeferredFlush<Inbound<MaybeTls>>, PgWireMessageServerCodec<S>>;

/// The connection's waits on its [`Stops`].
struct Waits {
    shutdown: std::pin::Pin<Box<WaitForCancellationFutureOwned>>,
    force: std::pin::Pin<Box<WaitForCancellationFutureOwned>>,
    /// Messages taken in a row from input already read, without looking at the stops.
    taken_at_once: u32,
}

/// At most this many messages in a row are taken from input already read without looking at
/// the stops (see [`next_message`]): a client that never lets its input run dry still sees
/// a shutdown.
const TAKEN_AT_ONCE_MAX: u32 = 64;

/// What the loop does after a step.
enum Step {
    /// Go on with this message.
    Run(PgWireFrontendMessage),
    /// Done with this message; read the next.
    Next,
    /// End the connection.
    End,
}

/// Serves one TCP connection to the end.
pub async fn serve_socket<B: Backend>(
    tcp: std::net::TcpStream,
    connection: Arc<Connection<B>>,
    stops: Stops,
) {
    let (tcp, watcher) = match split_watcher(tcp) {
        Ok(pair) => pair,
        Err(e) => {
            tracing::warn!(cause = %e, "closing connection: cannot register its socket");
            return;
        }
    };
    let startup_deadline = tokio::time::Instant::now() + connection.shared.config.startup_timeout;
    let Some(mut socket) = open(tcp, &connection, &stops, startup_deadline).await else {
        return;
    };
    metrics::counter!("stagesql_connections_total").increment(1);
    metrics::gauge!("stagesql_connections_open").increment(1.0);
    let _open = OpenConnection;
    let copy = Arc::new(pgwire::api::NoopHandler);
    let cancel = Arc::new(CancelHandler(Arc::clone(&connection.shared)));
    // Messages after the startup packet, numbered as the scanner numbers them.
    let mut typed_messages: u64 = 0;
    let mut logged_in = false;
    let statement_metrics = StatementMetrics::new();
    // Made once: waiting on a token registers with it, and that is kept across messages.
    let mut waits = Waits {
        shutdown: Box::pin(stops.shutdown.clone().cancelled_owned()),
        force: Box::pin(stops.force.clone().cancelled_owned()),
        taken_at_once: 0,
    };

    loop {
        if !logged_in && connection.started() {
            logged_in = true;
            socket.get_mut().get_mut().scanner().logged_in();
        }
        let waiting_for_startup = matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        );
        let message = match next_message(
            &mut socket,
            &connection,
            &mut waits,
            waiting_for_startup.then_some(startup_deadline),
        )
        .await
        {
            Some(m) => m,
            None => break,
        };
        let message = match screen(
            &mut socket,
            message,
            waiting_for_startup,
            &mut typed_messages,
        )
        .await
        {
            Step::Run(m) => m,
            Step::Next => continue,
            Step::End => break,
        };
        // In a failed transaction block, a Bind or a Describe of rows is refused with 25P02
        // before it reaches pgwire, and only Sync is answered in place.
        let session = connection.session_if_started().cloned();
        let failed_block = session.as_deref().is_some_and(transaction::failed);
        if failed_block
            && matches!(socket.state(), PgWireConnectionState::ReadyForQuery)
            && let Some(session) = &session
            && let Some(err) = transaction::refused(session.as_ref(), &socket, &message)
        {
            if process_error(&mut socket, err, true).await.is_err() {
                break;
            }
            continue;
        }
        // The messages of a prepared statement's run, answered in place when they can be
        // (see `quick`); anything else goes through pgwire.
        let started = std::time::Instant::now();
        let answered = match &message {
            _ if failed_block && !matches!(message, PgWireFrontendMessage::Sync(_)) => false,
            PgWireFrontendMessage::Bind(m) => {
                quick::bind::<B, _>(&mut socket, Framed::write_buffer_mut, m)
            }
            PgWireFrontendMessage::Describe(m) => {
                quick::describe_portal(&connection, &mut socket, Framed::write_buffer_mut, m)
            }
            PgWireFrontendMessage::Execute(m) => {
                quick::execute(&connection, &mut socket, Framed::write_buffer_mut, m)
            }
            PgWireFrontendMessage::Sync(_) => {
                quick::sync(&connection, &mut socket, Framed::write_buffer_mut)
            }
            _ => false,
        };
        if answered {
            if matches!(message, PgWireFrontendMessage::Execute(_)) {
                statement_metrics.count("extended", None, started.elapsed());
            }
            // As pgwire's `send` does: the answer goes on to the deferred output.
            if let Err(e) = socket.flush().await {
                tracing::debug!(cause = %e, "connection ended with an I/O error");
                break;
            }
            continue;
        }
        let wait_for_sync = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        let is_cancel = matches!(message, PgWireFrontendMessage::CancelRequest(_));
        // A statement is a Query or an Execute; a Parse, Bind or Describe that fails counts
        // as a failed extended statement too (the Execute after it is skipped until Sync).
        let statement = match &message {
            PgWireFrontendMessage::Query(_) => Some(("simple", true)),
            PgWireFrontendMessage::Execute(_) => Some(("extended", true)),
            PgWireFrontendMessage::Parse(_)
            | PgWireFrontendMessage::Bind(_)
            | PgWireFrontendMessage::Describe(_) => Some(("extended", false)),
            _ => None,
        };
        let is_query = matches!(message, PgWireFrontendMessage::Query(_));
        let watched = matches!(
            message,
            PgWireFrontendMessage::Query(_)
                | PgWireFrontendMessage::Execute(_)
                | PgWireFrontendMessage::Parse(_)
        );
        let (result, first_error) = tokio::select! {
            // The statement first: the stops are looked at when it waits.
            biased;
            r = first_error_of(process_message(
                message,
                &mut socket,
                Arc::clone(&connection),
                Arc::clone(&connection),
                Arc::clone(&connection),
                Arc::clone(&copy),
                Arc::clone(&cancel),
            )) => r,
            () = waits.force.as_mut() => {
                let _ = process_error(&mut socket, to_pg_error(WireError::AdminShutdown), false).await;
                break;
            }
            // Only a statement is stopped when its client leaves: a CancelRequest's sender
            // closes its socket right after sending it, and the request must still land.
            // Bind and Describe run nothing, so only what runs or plans is watched.
            () = client_gone(watcher.as_ref()), if watched => {
                // Dropping the statement stops its query (see `stagesql_engine::executor`).
                tracing::info!("client closed the connection during a statement; stopping it");
                break;
            }
        };
        if let Some((protocol, runs)) = statement
            && (runs || first_error.is_some())
        {
            statement_metrics.count(protocol, first_error, started.elapsed());
        }
        // A simple Query settles its transaction itself (`handler::on_query`).
        if let Some(session) = &session
            && !is_query
        {
            let errored = result.is_err() || first_error.is_some();
            transaction::after_message(session.as_ref(), &mut socket, errored).await;
        }
        if let Err(e) = result {
            let is_fatal = e.is_fatal();
            if process_error(&mut socket, e, wait_for_sync).await.is_err() || is_fatal {
                break;
            }
        }
        if is_cancel {
            break;
        }
    }
    let _ = socket.close().await;
}

/// Negotiates TLS (before `startup_deadline`) and wraps the socket for the message loop;
/// `None` when the connection ends here (the reason is logged).
async fn open<B: Backend>(
    tcp: TcpStream,
    connection: &Connection<B>,
    stops: &Stops,
    startup_deadline: tokio::time::Instant,
) -> Option<ClientSocket<StatementOf<B>>> {
    let tls = connection
        .credentials
        .tls
        .as_ref()
        .map(|t| t.acceptor.clone());
    let negotiated = tokio::select! {
        n = negotiate_tls::<StatementOf<B>>(tcp, tls) => n,
        () = tokio::time::sleep_until(startup_deadline) => {
            tracing::info!("closing connection: no startup within the timeout");
            return None;
        }
        () = stops.force.cancelled() => return None,
    };
    let socket = match negotiated {
        Ok(Some(socket)) => socket,
        Ok(None) => {
            tracing::info!("closing connection: direct TLS without TLS configured");
            return None;
        }
        Err(e) => {
            tracing::info!(cause = %e, "TLS negotiation failed");
            return None;
        }
    };
    let parts = socket.into_parts();
    let limits = connection.shared.config.inbound.clone();
    let inbound = Inbound::new(parts.io, limits, &parts.read_buf);
    let mut deferred = FramedParts::new(DeferredFlush::new(inbound), parts.codec);
    deferred.read_buf = parts.read_buf;
    deferred.write_buf = parts.write_buf;
    let mut framed = Framed::from_parts(deferred);
    // pgwire's buffer is written out in HIGH_WATER pieces, which DeferredFlush passes
    // straight to the socket instead of copying them once more.
    framed.set_backpressure_boundary(crate::flush::HIGH_WATER);
    Some(framed)
}

/// The next message from the client, after flushing what is owed it; `None` when the
/// connection ends: the client left or sent what cannot be read (answered with a FATAL), it
/// idled past its timeout (or, before startup, past `startup_deadline`), or the server is
/// shutting down.
async fn next_message<B: Backend>(
    socket: &mut ClientSocket<StatementOf<B>>,
    connection: &Connection<B>,
    waits: &mut Waits,
    startup_deadline: Option<tokio::time::Instant>,
) -> Option<PgWireFrontendMessage> {
    let waiting_for_startup = startup_deadline.is_some();
    // A message already read whole (libpq sends Bind, Describe, Execute and Sync together)
    // is taken at once: there is no wait to bound, so no idle timeout, timer or stop is
    // looked at for it. Every TAKEN_AT_ONCE_MAX-th message goes the long way.
    if !socket.read_buffer().is_empty()
        && waits.taken_at_once < TAKEN_AT_ONCE_MAX
        && let Some(message) = ContainedNext(&mut *socket).now_or_never()
    {
        waits.taken_at_once += 1;
        return received(socket, message).await;
    }
    waits.taken_at_once = 0;
    let idle = if waiting_for_startup {
        None
    } else {
        idle_timeout(connection, socket.transaction_status())
    };
    let (deadline, on_idle) = match idle {
        Some((d, err)) => (Some(tokio::time::Instant::now() + d), Some(err)),
        None => (startup_deadline, None),
    };
    // Input already buffered is answered before the output goes out (a pipelined
    // Parse/Bind/Execute/Sync gets one send); with nothing left to read, flush.
    if socket.read_buffer().is_empty()
        && let Err(e) = socket.get_mut().flush_now().await
    {
        tracing::debug!(cause = %e, "connection ended with an I/O error");
        return None;
    }
    let message = tokio::select! {
        m = ContainedNext(&mut *socket) => m,
        () = sleep_until(deadline) => {
            match on_idle {
                Some(err) => {
                    tracing::info!(reason = %err, "closing idle connection");
                    let _ = process_error(socket, to_pg_error(err), false).await;
                }
                None => tracing::info!("closing connection: no startup within the timeout"),
            }
            return None;
        }
        () = waits.shutdown.as_mut(), if !waiting_for_startup => {
            let _ = process_error(socket, to_pg_error(WireError::AdminShutdown), false).await;
            return None;
        }
        () = waits.force.as_mut() => return None,
    };
    received(socket, message).await
}

/// What [`next_message`] gives for what the socket's stream gave: the message, or `None` when
/// the stream ended or could not be read (a FATAL says why).
async fn received<S>(
    socket: &mut ClientSocket<S>,
    message: Option<Result<PgWireFrontendMessage, String>>,
) -> Option<PgWireFrontendMessage> {
    match message {
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            // The bytes do not frame or decode as a message, or the scanner refused them
            // (it says why): the stream cannot be trusted past this point.
            let err = socket
                .get_mut()
                .get_mut()
                .scanner()
                .take_fatal()
                .unwrap_or(WireError::MalformedMessage(e));
            tracing::info!(cause = %err, "closing connection: refused message");
            let _ = process_error(socket, to_pg_error(err), false).await;
            None
        }
        None => None,
    }
}

/// Applies the scanner's verdict on `message`'s raw bytes: a fatal one ends the connection, a
/// refusal is answered in place of running the message, and Terminate ends it quietly.
async fn screen<S>(
    socket: &mut ClientSocket<S>,
    message: PgWireFrontendMessage,
    waiting_for_startup: bool,
    typed_messages: &mut u64,
) -> Step {
    let verdict = match &message {
        PgWireFrontendMessage::Startup(_) => {
            socket.get_mut().get_mut().scanner().take_startup_verdict()
        }
        PgWireFrontendMessage::SslNegotiation(_) | PgWireFrontendMessage::CancelRequest(_) => None,
        PgWireFrontendMessage::PasswordMessageFamily(_) if !waiting_for_startup => {
            // PostgreSQL knows no password message once logged in.
            Some(Verdict::Fatal(WireError::UnexpectedMessage(b'p')))
        }
        _ => {
            *typed_messages += 1;
            socket
                .get_mut()
                .get_mut()
                .scanner()
                .take_verdict(*typed_messages)
        }
    };
    match verdict {
        Some(Verdict::Fatal(err)) => {
            tracing::info!(cause = %err, "closing connection: refused message");
            let _ = process_error(socket, to_pg_error(err), false).await;
            return Step::End;
        }
        Some(Verdict::Refuse(err)) => {
            // Answered in place of running the message; in the extended protocol the
            // messages up to Sync are then skipped, as after any error.
            let wait_for_sync = message.is_extended_query()
                && !matches!(socket.state(), PgWireConnectionState::AwaitingSync);
            let skipped = matches!(socket.state(), PgWireConnectionState::AwaitingSync)
                && !matches!(message, PgWireFrontendMessage::Sync(_));
            if !skipped {
                let err = to_pg_error(err);
                return match process_error(socket, err, wait_for_sync).await {
                    Ok(()) => Step::Next,
                    Err(_) => Step::End,
                };
            }
        }
        None => {}
    }
    if matches!(message, PgWireFrontendMessage::Terminate(_)) {
        return Step::End;
    }
    Step::Run(message)
}

/// The socket (registered with the runtime this runs on), and a second handle on it that
/// watches for the client leaving while a statement runs (PostgreSQL's
/// `client_connection_check_interval`): without it a client that starts a query that never
/// ends and goes away leaves the query running. The watcher is
/// `None` when the socket cannot be duplicated (statements then run unwatched).
fn split_watcher(std: std::net::TcpStream) -> std::io::Result<(TcpStream, Option<TcpStream>)> {
    let watcher = std
        .try_clone()
        .and_then(TcpStream::from_std)
        .inspect_err(|e| tracing::debug!(cause = %e, "cannot watch the socket"))
        .ok();
    Ok((TcpStream::from_std(std)?, watcher))
}

/// Resolves when the peer has closed `watcher`'s connection (or it failed); never without a
/// watcher. Bytes waiting to be read are the next messages, not a close: looked at again later.
///
/// It looks first after [`CLIENT_CHECK_INTERVAL`]: most statements are over by then, and a
/// look costs a system call.
async fn client_gone(watcher: Option<&TcpStream>) {
    let Some(watcher) = watcher else {
        return std::future::pending().await;
    };
    let mut byte = [0u8; 1];
    loop {
        tokio::time::sleep(CLIENT_CHECK_INTERVAL).await;
        match watcher.peek(&mut byte).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// How often a running statement looks whether its client is still there.
const CLIENT_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// The statement metrics of one connection: the handles of the common series are looked up
/// once, not per statement.
struct StatementMetrics {
    /// `stagesql_statements_total` of successful simple and extended statements.
    ok: [metrics::Counter; 2],
    /// `stagesql_statement_duration_seconds` of simple and extended statements.
    duration: [metrics::Histogram; 2],
}

const PROTOCOLS: [&str; 2] = ["simple", "extended"];

impl StatementMetrics {
    fn new() -> StatementMetrics {
        StatementMetrics {
            ok: PROTOCOLS.map(|protocol| Self::counter(protocol, "ok", "00")),
            duration: PROTOCOLS.map(|protocol| {
                metrics::histogram!("stagesql_statement_duration_seconds", "protocol" => protocol)
            }),
        }
    }

    fn counter(protocol: &'static str, outcome: &'static str, class: &str) -> metrics::Counter {
        metrics::counter!(
            "stagesql_statements_total",
            "protocol" => protocol,
            "outcome" => outcome,
            "sqlstate_class" => class.to_owned()
        )
    }

    /// Counts one statement (a simple Query or an Execute) by protocol and outcome, with the
    /// SQLSTATE class of its first error (`00` when it succeeded), and records its duration.
    fn count(&self, protocol: &'static str, first_error: Option<&'static str>, took: Duration) {
        let p = usize::from(protocol != PROTOCOLS[0]);
        match first_error {
            None => self.ok[p].increment(1),
            Some(code) => {
                Self::counter(PROTOCOLS[p], "error", code.get(..2).unwrap_or("XX")).increment(1)
            }
        }
        self.duration[p].record(took.as_secs_f64());
    }
}

/// Keeps `stagesql_connections_open` right however the connection ends.
struct OpenConnection;

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!("stagesql_connections_open").decrement(1.0);
    }
}

thread_local! {
    /// Set while this thread decodes bytes a client sent (see [`ContainedNext`]).
    static DECODING_CLIENT_BYTES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the current thread is decoding client bytes. A panic hook uses it to log a
/// contained decoder panic as a protocol fault rather than a server bug.
pub fn decoding_client_bytes() -> bool {
    DECODING_CLIENT_BYTES.with(std::cell::Cell::get)
}

/// The next frontend message, with decoder panics contained.
///
/// pgwire 0.42's Bind and Parse decoders read counts and lengths without checking them
/// against the message (e.g. a Bind whose parameter count runs past its end), and the `bytes`
/// crate panics on the over-read. Such a message is malformed: it becomes an error that ends
/// this connection with 08P01, and the panic never leaves this poll.
struct ContainedNext<'a, S>(&'a mut S);

impl<S> std::future::Future for ContainedNext<'_, S>
where
    S: futures::Stream<Item = Result<PgWireFrontendMessage, pgwire::error::PgWireError>> + Unpin,
{
    type Output = Option<Result<PgWireFrontendMessage, String>>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        DECODING_CLIENT_BYTES.with(|d| d.set(true));
        let polled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.0.poll_next_unpin(cx)));
        DECODING_CLIENT_BYTES.with(|d| d.set(false));
        match polled {
            Ok(poll) => poll.map(|m| m.map(|r| r.map_err(|e| e.to_string()))),
            Err(_) => std::task::Poll::Ready(Some(Err(
                "a message's counts or lengths run past its end".to_owned(),
            ))),
        }
    }
}

/// The idle timeout that applies while waiting for the next message, from the session's
/// settings: `idle_in_transaction_session_timeout` inside a transaction,
/// `idle_session_timeout` outside one.
fn idle_timeout<B: Backend>(
    connection: &Connection<B>,
    status: TransactionStatus,
) -> Option<(Duration, WireError)> {
    let session = connection.session_if_started()?;
    let in_transaction = !matches!(status, TransactionStatus::Idle);
    let (setting, err) = if in_transaction {
        (
            "idle_in_transaction_session_timeout",
            WireError::IdleInTransactionTimeout,
        )
    } else {
        ("idle_session_timeout", WireError::IdleSessionTimeout)
    };
    session.timeout_setting(setting).map(|d| (d, err))
}
