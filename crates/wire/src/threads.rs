//! Where connections run: each on a thread of its own, as PostgreSQL gives each its own
//! process, up to a limit; past it, on the server's shared runtime.
//!
//! A connection spends most of its time waiting for its client, and a round trip is a few
//! microseconds of work between two waits. On tokio's shared multi-threaded runtime each of
//! those waits costs more than the work: a socket event wakes one worker, which wakes another
//! to look for more tasks, and both park again through futexes. On a thread of its own, with a
//! current-thread runtime, a connection waits in its own `epoll_wait` and the kernel wakes
//! exactly the thread whose client wrote. Measured with pgbench (four connections, two cores
//! shared with the client), `SELECT 1` in the extended protocol went from about 70k to
//! 100–118k transactions per second, the prepared key lookup from 30k to 41k. It also isolates
//! connections from each other: a statement that computes inline, or a 1M-row fetch being
//! encoded, is scheduled by the kernel against the others instead of holding a shared worker.
//!
//! Queries that compute for long still run on the engine's `QueryExecutor` pool, not on
//! these threads. Connections past the limit (more than can log in at once, e.g. a flood of
//! connections that never send a startup message) run on the shared runtime, so a flood
//! costs tasks, not threads. Every connection, on either, is a task of the
//! server's [`TaskTracker`], which shutdown waits for.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_util::task::TaskTracker;

/// Starts connections on threads of their own, at most `limit` at once.
#[derive(Debug)]
pub(crate) struct ConnectionThreads {
    limit: usize,
    running: Arc<AtomicUsize>,
}

/// Where [`ConnectionThreads::start`] put a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placed {
    /// A thread of its own.
    Thread,
    /// The shared runtime (the limit was reached, or a thread could not be made).
    Shared,
}

/// Gives a thread's place back when its connection ends, however it ends.
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnectionThreads {
    /// At most `limit` connection threads at once.
    pub(crate) fn new(limit: usize) -> ConnectionThreads {
        ConnectionThreads {
            limit,
            running: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Connection threads running now.
    #[cfg(test)]
    fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
    }

    /// Runs `connection` to its end as a task of `tracker`: on a thread of its own while
    /// fewer than the limit are running, otherwise on the current (shared) runtime.
    pub(crate) fn start<F>(&self, tracker: &TaskTracker, connection: F) -> Placed
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let taken = self
            .running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .is_ok();
        if !taken {
            tracker.spawn(connection);
            return Placed::Shared;
        }
        let running = Running(Arc::clone(&self.running));
        // Sockets and timers. (tokio builds its signal and process drivers into every I/O
        // driver when those features are on, as `aws-config`'s `credentials-process` turns
        // them on: each park also looks at the global queue of orphaned child processes.)
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                drop(running);
                tracing::warn!(cause = %e, "cannot make a connection runtime; using the shared one");
                tracker.spawn(connection);
                return Placed::Shared;
            }
        };
        // The task is tracked from here: shutdown waits for it whichever way it runs.
        let tracked = tracker.track_future(connection);
        // A failed spawn hands the closure back inside the error only as a panic payload, so
        // the task is moved through a slot the failure path can take it back from.
        let slot = Arc::new(std::sync::Mutex::new(Some((tracked, runtime, running))));
        let thread_slot = Arc::clone(&slot);
        let spawned = std::thread::Builder::new()
            .name("stagesql-conn".to_owned())
            .spawn(move || {
                let taken = thread_slot.lock().ok().and_then(|mut s| s.take());
                if let Some((tracked, runtime, running)) = taken {
                    runtime.block_on(tracked);
                    drop(runtime);
                    drop(running);
                }
            });
        match spawned {
            Ok(_detached) => Placed::Thread,
            Err(e) => {
                tracing::warn!(cause = %e, "cannot start a connection thread; using the shared runtime");
                let taken = slot.lock().ok().and_then(|mut s| s.take());
                if let Some((tracked, runtime, running)) = taken {
                    drop(running);
                    // The runtime was made outside async code's reach; drop it off the
                    // shared runtime's workers (dropping a runtime blocks).
                    std::mem::drop(tokio::task::spawn_blocking(move || drop(runtime)));
                    tokio::spawn(tracked);
                }
                Placed::Shared
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Connections run on threads of their own up to the limit, then on the shared runtime;
    /// a thread's place is given back when its connection ends, and the tracker waits for
    /// both kinds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn threads_up_to_the_limit_then_the_shared_runtime() {
        let threads = ConnectionThreads::new(2);
        let tracker = TaskTracker::new();
        let release = tokio_util::sync::CancellationToken::new();
        let (names_tx, mut names_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut placed = Vec::new();
        for _ in 0..3 {
            let release = release.clone();
            let names_tx = names_tx.clone();
            placed.push(threads.start(&tracker, async move {
                let name = std::thread::current().name().map(str::to_owned);
                let flavor = tokio::runtime::Handle::current().runtime_flavor();
                let _ = names_tx.send((name, flavor));
                // A timer works on either runtime.
                tokio::time::sleep(Duration::from_millis(5)).await;
                release.cancelled().await;
            }));
        }
        assert_eq!(placed, [Placed::Thread, Placed::Thread, Placed::Shared]);
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(names_rx.recv().await.expect("each connection ran"));
        }
        let own = seen
            .iter()
            .filter(|(name, flavor)| {
                name.as_deref() == Some("stagesql-conn")
                    && *flavor == tokio::runtime::RuntimeFlavor::CurrentThread
            })
            .count();
        assert_eq!(own, 2, "two ran on threads of their own: {seen:?}");
        assert_eq!(threads.running(), 2);
        assert_eq!(tracker.len(), 3);

        release.cancel();
        tracker.close();
        tokio::time::timeout(Duration::from_secs(10), tracker.wait())
            .await
            .expect("the tracker waits for threads and tasks alike");
        // The thread gives its place back after its task is over.
        for _ in 0..200 {
            if threads.running() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(threads.running(), 0);
        assert_eq!(
            threads.start(&tracker, async {}),
            Placed::Thread,
            "places are free again"
        );
    }

    /// A limit of zero runs everything on the shared runtime.
    #[tokio::test]
    async fn no_threads_with_a_zero_limit() {
        let threads = ConnectionThreads::new(0);
        let tracker = TaskTracker::new();
        assert_eq!(threads.start(&tracker, async {}), Placed::Shared);
        tracker.close();
        tracker.wait().await;
    }
}
