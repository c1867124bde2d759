//! The accept loop: one task per connection, all owned by a tracker, stopped by a token.
//!
//! pgwire's `process_socket` has no shutdown input, so each connection task races it against the
//! server's cancellation token. On shutdown the loop stops accepting, gives running connections
//! `drain` to finish, then drops the rest.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::handler::{Connection, ConnectionHandlers, Shared};

/// Serves connections from `listener` until `shutdown` is cancelled, then drains for up to
/// `drain` before closing what is left.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    drain: Duration,
) -> std::io::Result<()> {
    let tracker = TaskTracker::new();
    let force_close = CancellationToken::new();
    let mut next_id: u64 = 0;
    loop {
        let (socket, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Per-connection accept errors (e.g. the peer reset before accept) must not
                    // stop the server; back off briefly in case it is fd exhaustion.
                    tracing::warn!(cause = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        next_id += 1;
        let _ = socket.set_nodelay(true);
        let connection = Arc::new(Connection::new(Arc::clone(&shared)));
        let handlers = ConnectionHandlers(Arc::clone(&connection));
        let startup_timeout = shared.config().startup_timeout;
        let stop = force_close.child_token();
        let span = tracing::info_span!("connection", id = next_id, peer = %peer);
        tracker.spawn(
            async move {
                tracing::debug!("connected");
                let process = pgwire::tokio::process_socket(socket, None, handlers);
                tokio::pin!(process);
                // A client that connects and never finishes its startup is dropped.
                let startup_deadline = tokio::time::sleep(startup_timeout);
                tokio::pin!(startup_deadline);
                let mut waiting_for_startup = true;
                loop {
                    tokio::select! {
                        result = &mut process => {
                            if let Err(e) = result {
                                tracing::debug!(cause = %e, "connection ended with an I/O error");
                            }
                            break;
                        }
                        () = &mut startup_deadline, if waiting_for_startup => {
                            if connection.started() {
                                waiting_for_startup = false;
                            } else {
                                tracing::info!("closing connection: no startup within the timeout");
                                break;
                            }
                        }
                        () = stop.cancelled() => {
                            tracing::info!("closing connection for shutdown");
                            break;
                        }
                    }
                }
                tracing::debug!("disconnected");
            }
            .instrument(span),
        );
    }
    drop(listener);
    tracker.close();
    if tokio::time::timeout(drain, tracker.wait()).await.is_err() {
        tracing::info!(
            open = tracker.len(),
            "drain deadline passed; closing remaining connections"
        );
        force_close.cancel();
        tracker.wait().await;
    }
    Ok(())
}
