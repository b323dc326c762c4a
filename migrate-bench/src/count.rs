//! Counts the statements each migrator sends, from their log events:
//! `migrate::sql` for ours, `sqlx::query` for sqlx's migrator.

use std::sync::atomic::{AtomicUsize, Ordering};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata};

static OURS: AtomicUsize = AtomicUsize::new(0);
static SQLX: AtomicUsize = AtomicUsize::new(0);

struct Counter;

impl tracing::Subscriber for Counter {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        matches!(metadata.target(), "migrate::sql" | "sqlx::query")
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        match event.metadata().target() {
            "migrate::sql" => OURS.fetch_add(1, Ordering::Relaxed),
            _ => SQLX.fetch_add(1, Ordering::Relaxed),
        };
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Installs the counter for the whole process.
pub fn install() {
    let _ = tracing::subscriber::set_global_default(Counter);
}

/// Statements sent by ours and by sqlx's migrator while `f` ran.
pub async fn during<T>(f: impl std::future::Future<Output = T>) -> (T, usize, usize) {
    let (o, s) = (OURS.load(Ordering::Relaxed), SQLX.load(Ordering::Relaxed));
    let out = f.await;
    (out, OURS.load(Ordering::Relaxed) - o, SQLX.load(Ordering::Relaxed) - s)
}
