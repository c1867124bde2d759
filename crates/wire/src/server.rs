//! The accept loop: one task per connection, all owned by a tracker, stopped by a token.
//! Each connection runs on a thread of its own, up to `max_connections` of them (see
//! `threads.rs`).
//!
//! Each connection runs [`serve_socket`], which watches the server's tokens. On shutdown the
//! loop stops accepting; idle sessions end at once with 57P01, running statements get `drain`
//! to finish, then what is left is closed.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::backend::Backend;
use crate::handler::Connection;
use crate::shared::Shared;
use crate::socket::{Stops, serve_socket};
use crate::threads::ConnectionThreads;

/// Serves connections from `listener` until `shutdown` is cancelled, then drains for up to
/// `drain` before closing what is left.
pub async fn serve<B: Backend>(
    listener: TcpListener,
    shared: Arc<Shared<B>>,
    shutdown: CancellationToken,
    drain: Duration,
) -> std::io::Result<()> {
    let tracker = TaskTracker::new();
    let force_close = CancellationToken::new();
    let mut next_id: u64 = 0;
    // As many threads as connections can be logged in at once (see `threads`).
    let threads = ConnectionThreads::new(shared.config.max_connections);
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
        let stops = Stops {
            shutdown: shutdown.clone(),
            force: force_close.child_token(),
        };
        // `user` and `application_name` are filled in from the startup message.
        let span = tracing::info_span!(
            "connection",
            id = next_id,
            peer = %peer,
            user = tracing::field::Empty,
            application_name = tracing::field::Empty,
        );
        // Off this runtime's reactor: the connection registers it with the runtime it runs on.
        let socket = match socket.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(cause = %e, "cannot take the accepted socket");
                continue;
            }
        };
        let work = async move {
            tracing::debug!("connected");
            serve_socket(socket, connection, stops).await;
            tracing::debug!("disconnected");
        }
        .instrument(span);
        threads.start(&tracker, work);
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
