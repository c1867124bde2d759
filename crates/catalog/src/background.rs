//! CPU work the serving side does for a refresh (building a snapshot's derived form,
//! decoding or encoding a snapshot file), run where it cannot slow queries down.
//!
//! Each job gets a thread of its own under the kernel's idle scheduling class (`SCHED_IDLE`
//! on Linux): it runs on whatever CPU time queries leave, and a connection thread that wakes
//! takes the core at once instead of waiting out the job's time slice. A lower `nice` value
//! was not enough: Linux's EEVDF scheduler (6.6 and later) lets the running task finish its
//! slice (about 3 ms) before a woken one of any weight runs, so each swap of a 20k-stage
//! snapshot put 2–3 ms of queueing into the lookups that arrived during its build (the p99 of
//! point lookups 1.8–3.4× idle). An idle-class task is preempted by any other on wakeup, in
//! EEVDF as in CFS before it. When the machine is idle the job still gets whole cores; on a
//! machine kept saturated by queries a refresh waits for them (its result is only later, never
//! different). Where the class cannot be set, the job runs at [`NICE`]. A thread per job, not
//! tokio's blocking pool: a thread's priority cannot be raised back without privileges, and the
//! pool's threads serve other work afterwards.

/// The `nice` value of a background job's thread where the idle class cannot be set (0 is the
/// default; 19 the lowest).
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

/// Runs `job` on a new thread named `stagesql-{name}` at the idle priority, and waits for
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

/// Puts the calling thread in the idle scheduling class, or where that fails lowers its nice
/// value to [`NICE`]. On Linux both belong to one thread (`pid` 0 is the caller only), and
/// threads it starts afterwards inherit them. Where both fail, the thread keeps its priority.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: sched_setscheduler reads `param` (a live local) and its integer arguments.
        #[expect(
            unsafe_code,
            reason = "the libc call that sets a thread's scheduling class"
        )]
        let idle = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } == 0;
        if idle {
            return;
        }
        let cause = std::io::Error::last_os_error();
        tracing::debug!(%cause, "background job not in the idle class; lowering its nice value");
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
        let before = current_policy();
        let (value, policy) = run("test", || (21 * 2, current_policy()))
            .await
            .expect("ran");
        assert_eq!(value, 42);
        if cfg!(target_os = "linux") {
            #[cfg(target_os = "linux")]
            {
                assert_eq!(
                    before,
                    libc::SCHED_OTHER,
                    "the caller runs in the normal class"
                );
                assert_eq!(
                    policy,
                    libc::SCHED_IDLE,
                    "the job's thread is in the idle class"
                );
            }
        }
        assert_eq!(current_policy(), before, "the caller's class is unchanged");
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_hang() {
        let result: Result<(), _> = run("test", || panic!("boom")).await;
        assert!(matches!(result, Err(BackgroundError::Panicked("test"))));
    }

    /// The calling thread's scheduling class (Linux; 0 elsewhere).
    fn current_policy() -> i32 {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: sched_getscheduler reads its integer argument and touches no memory of ours.
            #[expect(unsafe_code, reason = "the libc call that reads a thread's class")]
            unsafe {
                libc::sched_getscheduler(0)
            }
        }
        #[cfg(not(target_os = "linux"))]
        0
    }
}
