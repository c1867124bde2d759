//! The runtime queries execute on, apart from the one that serves connections.
//!
//! A query that computes for long (a full scan feeding an aggregate, a recursive CTE that never
//! ends) must neither hold a connection worker nor outlive its cancel. Each such query runs as
//! a task on this dedicated multi-threaded tokio runtime. Being a tokio task, it is under
//! tokio's cooperative budget, which DataFusion's operators honour (`CooperativeExec`): it
//! yields every few batches, so aborting its task (on cancel, `statement_timeout`, the client
//! leaving, or shutdown) stops the work at the next yield, not only the wait for it. (The
//! blocking pool used before could not: a blocking task cannot be aborted, and the runtime
//! waited for it at exit, so a runaway query kept the process alive after SIGTERM.)
//!
//! [`QueryExecutor::shutdown`] drops every task still running and lets the threads go without
//! waiting for them; a thread stuck inside one long poll dies with the process.

use std::sync::Mutex;

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::JoinHandle;

/// A dedicated runtime for query execution (see the module docs).
#[derive(Debug)]
pub struct QueryExecutor {
    handle: Handle,
    /// Taken by [`QueryExecutor::shutdown`] (a std Mutex: held only to take it).
    runtime: Mutex<Option<Runtime>>,
}

impl QueryExecutor {
    /// A runtime with `threads` workers (at least one).
    pub fn new(threads: usize) -> std::io::Result<QueryExecutor> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("stagesql-query")
            .enable_time()
            .build()?;
        Ok(QueryExecutor {
            handle: runtime.handle().clone(),
            runtime: Mutex::new(Some(runtime)),
        })
    }

    /// One worker per core.
    pub fn per_core() -> std::io::Result<QueryExecutor> {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        QueryExecutor::new(cores)
    }

    /// Runs `future` on the query runtime. After [`shutdown`](Self::shutdown) the task never
    /// runs and its handle reports it cancelled.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Drops every query task at its next yield and releases the threads without waiting.
    /// Safe to call more than once, and from async code.
    pub fn shutdown(&self) {
        let runtime = self.runtime.lock().ok().and_then(|mut r| r.take());
        if let Some(runtime) = runtime {
            runtime.shutdown_background();
        }
    }
}

impl Drop for QueryExecutor {
    fn drop(&mut self) {
        // Dropping a runtime blocks until its tasks end, which is not allowed from async code
        // (where engines are dropped) and would wait on runaway queries.
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn an_aborted_busy_task_stops_working() {
        let executor = QueryExecutor::new(1).expect("runtime");
        let work = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&work);
        // Busy work that only yields through tokio's cooperative budget.
        let task = executor.spawn(async move {
            loop {
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::task::consume_budget().await;
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        task.abort();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let after_abort = work.load(Ordering::Relaxed);
        assert!(after_abort > 0, "the task ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(work.load(Ordering::Relaxed), after_abort, "work went on");
    }

    #[tokio::test]
    async fn shutdown_ends_running_tasks_and_refuses_new_ones() {
        let executor = QueryExecutor::new(1).expect("runtime");
        let running = executor.spawn(async {
            loop {
                tokio::task::consume_budget().await;
            }
        });
        executor.shutdown();
        assert!(running.await.expect_err("ended").is_cancelled());
        let late = executor.spawn(async { 1 });
        assert!(late.await.is_err(), "a task after shutdown never runs");
        executor.shutdown();
    }
}
