//! Waiting, read only, until another process has migrated the database.

use super::*;

impl<'m> Run<'m> {
    /// Polls the history, read only, until every migration is applied.
    pub(crate) fn wait<'a, 'c: 'a>(
        &'a self,
        connect: BoxFuture<'c, Result<Box<dyn Handle + 'c>>>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let started = Instant::now();
            let mut handle = connect.await?;
            let conn = handle.backend();
            let s = conn.prepare(&self.settings).await?;
            let graph = self.graph()?;
            let mut pause = Duration::from_millis(50);
            loop {
                // One row when the history is exactly this build's.
                if conn.read_digest(&s).await.as_deref() == Some(self.migrations.applied_digest()) {
                    return Ok(());
                }
                let rows = driver::read_if_present(conn, &s).await?;
                let status = self.live_status(conn, &s, &graph, &rows).await?;
                // Stopped inside revisions a squash replaced: only the release that
                // has them can move it, so no run of this build ever will.
                if status
                    .problems
                    .iter()
                    .any(|p| matches!(p, migrate_core::history::HistoryProblem::InsideSquash { .. }))
                {
                    return Err(Error::History(status.problems));
                }
                let missing = status.pending;
                if missing.is_empty() {
                    // What a start-up of this build would accept: checksums, and
                    // unknown revisions only when marked `expand` (or opted in).
                    if !status.problems.is_empty() {
                        return Err(Error::History(status.problems));
                    }
                    return Ok(());
                }
                let waited = started.elapsed();
                if waited >= timeout {
                    let in_progress = status.in_progress.into_iter().next().map(|(revision, _)| revision);
                    return Err(Error::NotCurrent {
                        missing,
                        waited,
                        in_progress,
                    });
                }
                tracing::debug!(
                    missing = missing.len(),
                    "waiting for another process to migrate the database"
                );
                tokio::time::sleep(pause.min(timeout - waited)).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        })
    }
}
