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

/// The statements `migrate` sent, in order, when [`record`] is installed.
static SENT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

struct Recorder;

/// Takes the SQL text out of a `migrate::sql` event (its message).
struct Message<'a>(&'a mut String);

impl tracing::field::Visit for Message<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "migrate::sql"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut text = String::new();
        event.record(&mut Message(&mut text));
        SENT.lock().unwrap().push(text);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Records, for the whole process, every statement `migrate` sends.
pub fn record() {
    let _ = tracing::subscriber::set_global_default(Recorder);
}

/// What [`record`] recorded, as a script: each text the runtime sent,
/// terminated, in order.
pub fn script() -> String {
    SENT.lock()
        .unwrap()
        .iter()
        .map(|s| format!("{};\n", s.trim_end().trim_end_matches(';')))
        .collect()
}
