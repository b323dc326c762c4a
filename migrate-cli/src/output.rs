//! Everything the command line prints: results on stdout, notes, progress
//! and errors on stderr, colour only on a terminal, passwords never.

use migrate_core::Direction;
use migrate_runtime::Progress;
use migrate_runtime::server::url::redact;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

/// ANSI styles used on a terminal.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Style {
    /// Revision ids.
    Id,
    /// `(head)`, `(current)` and other marks.
    Mark,
    /// `error:`.
    Error,
    /// Dimmed notes.
    Note,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Id => "\x1b[33m",
            Style::Mark => "\x1b[1;32m",
            Style::Error => "\x1b[1;31m",
            Style::Note => "\x1b[2m",
        }
    }
}

/// The printer a command writes through.
#[derive(Debug)]
pub(crate) struct Output {
    quiet: bool,
    colour_out: bool,
    colour_err: bool,
    bar_enabled: bool,
    secrets: Vec<String>,
    /// The progress bar on stderr (indicatif), while one is drawn.
    bar: Mutex<Option<indicatif::ProgressBar>>,
    write_error: Mutex<Option<std::io::Error>>,
}

impl Output {
    /// A printer for this process: colour on a terminal unless `NO_COLOR` is set.
    pub fn new(quiet: bool) -> Self {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let stderr_tty = std::io::stderr().is_terminal();
        Output {
            quiet,
            colour_out: !no_colour && std::io::stdout().is_terminal(),
            colour_err: !no_colour && stderr_tty,
            bar_enabled: stderr_tty && !quiet,
            secrets: Vec::new(),
            bar: Mutex::new(None),
            write_error: Mutex::new(None),
        }
    }

    /// Hides the password of `url` in everything printed from now on.
    pub fn hide_password_of(&mut self, url: &str) {
        self.secrets.push(url.to_owned());
    }

    /// `text` with every password of the URLs it was told of replaced by
    /// `***`: the runtime's masker, over every URL of this command.
    pub fn redacted(&self, text: &str) -> String {
        let urls: Vec<&str> = self.secrets.iter().map(String::as_str).collect();
        redact(text, &urls)
    }

    /// `text` styled for stdout.
    pub fn paint(&self, text: &str, style: Style) -> String {
        if self.colour_out {
            format!("{}{text}\x1b[0m", style.code())
        } else {
            text.to_owned()
        }
    }

    /// A result line on stdout (printed even with `--quiet`).
    pub fn result(&self, line: &str) {
        self.clear_bar();
        let mut out = std::io::stdout().lock();
        let written = writeln!(out, "{}", self.redacted(line)).and_then(|()| out.flush());
        self.keep_write_error(written);
    }

    /// Text on stdout as is (an offline script, a file's SQL).
    pub fn raw(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
        self.keep_write_error(written);
    }

    /// Remembers the first failed write of results (a full disk, a closed file),
    /// so the command fails instead of exiting 0 with nothing written. A reader
    /// that went away (`| head`) is not an error.
    fn keep_write_error(&self, written: std::io::Result<()>) {
        if let Err(e) = written
            && e.kind() != std::io::ErrorKind::BrokenPipe
            && let Ok(mut first) = self.write_error.lock()
        {
            first.get_or_insert(e);
        }
    }

    /// The first failed write of results, if any.
    pub(crate) fn take_write_error(&self) -> Option<std::io::Error> {
        self.write_error.lock().ok().and_then(|mut e| e.take())
    }

    /// An informational line on stdout, left out with `--quiet`.
    pub fn info(&self, line: &str) {
        if !self.quiet {
            self.result(line);
        }
    }

    /// A note on stderr, left out with `--quiet`.
    pub fn note(&self, line: &str) {
        if self.quiet {
            return;
        }
        self.clear_bar();
        let line = self.redacted(line);
        let line = if self.colour_err {
            format!("{}{line}\x1b[0m", Style::Note.code())
        } else {
            line
        };
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    /// A warning on stderr, `warning: message`, printed also with `--quiet`.
    pub fn warn(&self, message: &str) {
        self.log("warning", message);
    }

    /// A line of the library's log on stderr, `level: message` (`info`,
    /// `debug`, …: what `MIGRATE_LOG` asked for), printed also with `--quiet`.
    pub fn log(&self, level: &str, message: &str) {
        self.clear_bar();
        let message = self.redacted(message);
        let prefix = if self.colour_err {
            format!("{}{level}\x1b[0m: ", Style::Note.code())
        } else {
            format!("{level}: ")
        };
        let _ = writeln!(std::io::stderr().lock(), "{prefix}{message}");
    }

    /// An error on stderr: `error: message`, unless the message has its own prefix.
    pub fn error(&self, message: &str, has_prefix: bool) {
        self.clear_bar();
        let message = self.redacted(message);
        let prefix = match (has_prefix, self.colour_err) {
            (true, _) => String::new(),
            (false, true) => format!("{}error\x1b[0m: ", Style::Error.code()),
            (false, false) => "error: ".to_owned(),
        };
        let _ = writeln!(std::io::stderr().lock(), "{prefix}{message}");
    }

    /// Called as each step of a run starts and finishes: prints the
    /// Alembic-style `Running upgrade a -> b, message` line as it starts,
    /// and keeps a one-line bar on a terminal when the plan has several steps.
    pub fn progress(&self, p: &Progress<'_>) {
        if let Some(b) = &p.backfill {
            return self.backfill_progress(p.migration.revision(), b);
        }
        if p.finished.is_none() {
            let verb = if p.runs_sql {
                migrate_runtime::offline::step_line(p.direction, p.migration)
            } else {
                let m = p.migration;
                let parents = migrate_runtime::offline::parents(m);
                match p.direction {
                    Direction::Upgrade => format!("stamp_revision {parents} -> {}, {}", m.revision(), m.message()),
                    Direction::Downgrade => format!("stamp_revision {} -> {parents}, {}", m.revision(), m.message()),
                }
            };
            self.info(&format!("Running {verb}"));
        }
        if self.bar_enabled && p.total > 1 {
            let done = p.index + usize::from(p.finished.is_some());
            self.draw_bar(done, p.total, p.migration.revision());
        }
    }

    /// A backfill's committed batch: the bar (batches, rows, time left) on a
    /// terminal, else a line.
    fn backfill_progress(&self, revision: &str, b: &migrate_runtime::BackfillProgress) {
        let left = b
            .remaining
            .map(|d| {
                format!(
                    ", about {} left",
                    migrate_core::duration::display(std::time::Duration::from_secs(d.as_secs().max(1)))
                )
            })
            .unwrap_or_default();
        let label = format!("{revision}: {} rows{left}", b.rows);
        if self.bar_enabled {
            let (done, total) = (b.batches_done as usize, b.batches as usize);
            self.draw_bar(done, total, &label);
        } else {
            self.info(&format!(
                "Backfilled {} of {} batches of {label}",
                b.batches_done, b.batches
            ));
        }
    }

    /// Keeps a one-line bar of a fleet's databases on a terminal.
    pub fn fleet_progress(&self, done: usize, total: usize) {
        if self.bar_enabled && total > 1 {
            self.draw_bar(done, total, "databases");
        }
    }

    fn draw_bar(&self, done: usize, total: usize, label: &str) {
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bar.get_or_insert_with(|| {
            let style = indicatif::ProgressStyle::with_template("[{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("#>-");
            indicatif::ProgressBar::with_draw_target(Some(total as u64), indicatif::ProgressDrawTarget::stderr())
                .with_style(style)
        });
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(label.to_owned());
    }

    /// Erases the progress bar, if one is drawn.
    pub fn clear_bar(&self) {
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(bar) = bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// A backfill's progress as `history --verbose` and `current` print it.
pub(crate) fn backfill_text(b: &migrate_runtime::BackfillProgress) -> String {
    format!(
        "{} of {} batches, {} rows; next key {} of {}",
        b.batches_done, b.batches, b.rows, b.next, b.last
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let url = "postgres://user:s%40cret@127.0.0.1:1/x";
        let text = format!("cannot connect to {url} (password s@cret)");
        assert_eq!(
            redact(&text, &[url]),
            "cannot connect to postgres://user:***@127.0.0.1:1/x (password ***)"
        );
        assert_eq!(redact("sqlite:app.db", &["sqlite:app.db"]), "sqlite:app.db");
        assert_eq!(redact("mysql://root@h/db", &["mysql://root@h/db"]), "mysql://root@h/db");
        assert_eq!(
            redact("mysql://a:b:c@h/x?p=1", &["mysql://a:b:c@h/x?p=1"]),
            "mysql://a:***@h/x?p=1"
        );
    }

    #[test]
    fn every_credential_a_driver_accepts_is_redacted() {
        for (url, shown) in [
            ("postgres://u@h:1/x?password=S3cret", "postgres://u@h:1/x?password=***"),
            (
                "postgres://u@h/x?sslmode=require&sslpassword=S3cret",
                "postgres://u@h/x?sslmode=require&sslpassword=***",
            ),
            ("postgres://u:S3/cr?et@h:1/x", "postgres://u:***@h:1/x"),
            ("postgres://u:S3#cret@h:1/x", "postgres://u:***@h:1/x"),
            ("postgres://u:S3@cret@h:1/x", "postgres://u:***@h:1/x"),
            ("u:S3cret@h/x", "u:***@h/x"),
            ("mysql://root:S3cret@h/x", "mysql://root:***@h/x"),
            ("mysql://root@h/x?Password=S3%20cret", "mysql://root@h/x?Password=***"),
        ] {
            assert_eq!(redact(url, &[url]), shown, "{url}");
        }
        // The decoded form is hidden too, wherever it shows.
        assert_eq!(redact("pw S3 cret", &["mysql://root@h/x?password=S3%20cret"]), "pw ***");
        // Not every `@` in a query is a credential.
        let url = "postgres://h/x?options=a@b";
        assert_eq!(redact(url, &[url]), url);
    }
}
