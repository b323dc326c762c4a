//! A graceful stop for the `migrate` binary's runs: the first SIGTERM or
//! Ctrl-C (SIGINT) asks the run to stop at its next clean point (the step
//! under way finishes and is recorded, the lock is given back), which exits
//! with [`EXIT_STOPPED`](crate::EXIT_STOPPED); a second one (or the first,
//! before the run took its lock) ends the process at once, with the status
//! a shell gives a process the signal ended (143, 130).
//!
//! Only the `migrate` binary listens: an application that embeds the `db`
//! subcommand keeps its own signal handling (a listener cannot be taken
//! back, and would swallow the signals meant for the rest of its life).

use crate::output::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the first signal.
static ASKED: AtomicBool = AtomicBool::new(false);

/// Set when a run first asks whether to stop (while it waits for the lock,
/// or as it takes it): before that, it has taken and changed nothing (it
/// connects and reads the server's settings), so a signal ends the process
/// at once, as without this module.
static CONSULTED: AtomicBool = AtomicBool::new(false);

/// Whether a signal asked the run to stop (what the runtime's
/// `stop_when` asks).
pub(crate) fn asked() -> bool {
    CONSULTED.store(true, Ordering::Relaxed);
    ASKED.load(Ordering::Relaxed)
}

/// Listens for SIGTERM and SIGINT until the process ends (on Unix;
/// elsewhere a signal ends the process as usual).
pub(crate) fn listen(out: Arc<Output>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            return;
        };
        tokio::spawn(async move {
            let mut first = true;
            loop {
                // The name, and the status a shell gives a process the signal ended.
                let (name, ended) = std::future::poll_fn(|cx| {
                    if term.poll_recv(cx).is_ready() {
                        std::task::Poll::Ready(("SIGTERM", 128 + 15))
                    } else if int.poll_recv(cx).is_ready() {
                        std::task::Poll::Ready(("SIGINT", 128 + 2))
                    } else {
                        std::task::Poll::Pending
                    }
                })
                .await;
                if !CONSULTED.load(Ordering::Relaxed) {
                    // The runtime and this task share one thread: a run that asked is
                    // past this point (it asks as it takes the lock), one that did not
                    // has taken nothing and run nothing yet.
                    out.note(&format!("{name}: nothing was run yet; stopping at once"));
                    std::process::exit(ended);
                }
                if !first {
                    out.note(&format!("{name}, a second signal: stopping at once; what is under way is left to the database (a transaction is rolled back, a revision run statement by statement stays marked for `resolve`)"));
                    std::process::exit(ended);
                }
                first = false;
                ASKED.store(true, Ordering::Relaxed);
                out.note(&format!(
                    "{name}: the run stops at its next clean point: what is under way finishes and is recorded (a step, or the steps sent together in one request), a wait for the lock or between a backfill's batches ends now; send it again to stop at once"
                ));
            }
        });
    }
    #[cfg(not(unix))]
    let _ = out;
}
