//! CPU work the serving side does for a refresh (building a snapshot's derived form,
//! decoding or encoding a snapshot file), run where it cannot slow queries down.
//!
//! Each job gets a thread of its own at a lower scheduling priority ([`NICE`]). On a busy
//! machine the kernel then runs a connection's lookup as soon as it wakes instead of letting
//! it wait out a build's time slice: with equal priorities, a 2-core machine building a
//! 20k-stage snapshot multiplied the p99 of point lookups by six. When the machine is idle
//! the job still gets whole cores. A thread per job, not tokio's blocking pool: a thread's
//! priority cannot be raised back without privileges, and the pool's threads serve other work
//! afterwards.

/// The `nice` value of a background job's thread (0 is the default; 19 the lowest).
pub const NICE: i32 = 10;

/// Why a background job gave no result.
#[derive(Debug, thiserror::Error)]
pub enum BackgroundError {
    /// The thread could not be started.
    #[error("cannot start a background thread: {0}")]
    Spawn(std::io::Error),
    /// The job panicked.
    #[error("the background job {0} stopped (it panicked)")]
    Panicked(&'static str),
}

/// Runs `job` on a new thread named `stagesql-{name}` at priority [`NICE`], and waits for
/// its result without holding an async worker. If the waiter goes away, the job still
/// finishes (its work is bounded) and its result is dropped.
pub async fn run<T, F>(name: &'static str, job: F) -> Result<T, BackgroundError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(format!("stagesql-{name}"))
        .spawn(move || {
            lower_priority();
            let _ = tx.send(job());
        })
        .map_err(BackgroundError::Spawn)?;
    rx.await.map_err(|_| BackgroundError::Panicked(name))
}

/// Lowers the calling thread's priority to [`NICE`]. On Linux a nice value belongs to one
/// thread (`setpriority(PRIO_PROCESS, 0)` changes the caller's only). Where that fails, the
/// job runs at normal priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: setpriority reads its three integer arguments and touches no memory of ours.
        #[expect(unsafe_code, reason = "the libc call that sets a thread's nice value")]
        let failed = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) } != 0;
        if failed {
            let cause = std::io::Error::last_os_error();
            tracing::debug!(%cause, "background job left at normal priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_runs_at_the_lower_priority_and_gives_its_result() {
        let before = current_nice();
        let (value, nice) = run("test", || (21 * 2, current_nice())).await.expect("ran");
        assert_eq!(value, 42);
        if cfg!(target_os = "linux") {
            assert_eq!(nice, NICE, "the job's thread is niced");
        }
        assert_eq!(current_nice(), before, "the caller's priority is unchanged");
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_hang() {
        let result: Result<(), _> = run("test", || panic!("boom")).await;
        assert!(matches!(result, Err(BackgroundError::Panicked("test"))));
    }

    /// The calling thread's nice value (Linux; 0 elsewhere).
    fn current_nice() -> i32 {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: getpriority reads its integer arguments and touches no memory of ours.
            #[expect(unsafe_code, reason = "the libc call that reads a thread's nice value")]
            unsafe {
                libc::getpriority(libc::PRIO_PROCESS, 0)
            }
        }
        #[cfg(not(target_os = "linux"))]
        0
    }
}
