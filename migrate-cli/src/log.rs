//! The library's `tracing` events on the command line's stderr, through the
//! printer: its warnings always (a lock wait retried, a stored downgrade
//! run, a setting SQLite ignores), as `warning: …` lines like the command
//! line's own, and more with `MIGRATE_LOG` (`info`: each step; `debug`:
//! every statement sent). Only migrate's own events: sqlx's (its slow-query
//! warnings, say) are left out.

use crate::output::Output;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use tracing::field::{Field, Visit};
use tracing::instrument::WithSubscriber;
use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The environment variable naming how much of migrate's log the command
/// line prints: `off`, `error`, `warn` (the default), `info`, `debug` or `trace`.
pub const LOG_ENV: &str = "MIGRATE_LOG";

/// Runs `command` with migrate's events printed through `out`, at the level
/// `MIGRATE_LOG` names (an unreadable value is said, and warnings printed).
/// `embedded`: the `db` subcommand of an application, whose own subscriber,
/// when it installed one, keeps receiving them instead.
pub(crate) async fn printed<T>(out: &Arc<Output>, embedded: bool, command: impl Future<Output = T>) -> T {
    if embedded && tracing::dispatcher::has_been_set() {
        return command.await;
    }
    let level = match std::env::var(LOG_ENV) {
        Err(_) => LevelFilter::WARN,
        Ok(v) => v.trim().parse().unwrap_or_else(|_| {
            out.warn(&format!(
                "{LOG_ENV}={v:?} is not a level (off, error, warn, info, debug, trace); printing warnings"
            ));
            LevelFilter::WARN
        }),
    };
    let printer = Printer {
        out: Arc::clone(out),
        level,
    };
    command
        .with_subscriber(tracing_subscriber::registry().with(printer))
        .await
}

/// The layer printing migrate's events at `level` and above.
struct Printer {
    out: Arc<Output>,
    level: LevelFilter,
}

impl Printer {
    fn wants(&self, m: &Metadata<'_>) -> bool {
        let target = m.target();
        let ours = target == "migrate" || target.starts_with("migrate_") || target.starts_with("migrate::");
        ours && m.is_event() && *m.level() <= self.level
    }
}

impl<S: Subscriber> Layer<S> for Printer {
    fn register_callsite(&self, m: &'static Metadata<'static>) -> tracing::subscriber::Interest {
        match self.wants(m) {
            true => tracing::subscriber::Interest::always(),
            false => tracing::subscriber::Interest::never(),
        }
    }

    fn enabled(&self, m: &Metadata<'_>, _: Context<'_, S>) -> bool {
        self.wants(m)
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut line = Line::default();
        event.record(&mut line);
        let text = match line.fields.is_empty() {
            true => line.message,
            false => format!("{} ({})", line.message, line.fields),
        };
        match *event.metadata().level() {
            Level::ERROR => self.out.log("error", &text),
            Level::WARN => self.out.warn(&text),
            Level::INFO => self.out.log("info", &text),
            Level::DEBUG => self.out.log("debug", &text),
            Level::TRACE => self.out.log("trace", &text),
        }
    }
}

/// An event's message, and its other fields as `name: value, …`.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Line {
    fn field(&mut self, field: &Field, value: std::fmt::Arguments<'_>) {
        if field.name() == "message" {
            let _ = self.message.write_fmt(value);
            return;
        }
        if !self.fields.is_empty() {
            self.fields.push_str(", ");
        }
        let _ = write!(self.fields, "{}: {value}", field.name());
    }
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field, format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.field(field, format_args!("{value:?}"));
    }
}
