//! Everything the command line prints: results on stdout, notes, progress
//! and errors on stderr, colour only on a terminal, passwords never.

use migrate_core::Direction;
use migrate_runtime::Progress;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

/// The password part of a URL's `user:password@`, as written and decoded.
fn passwords(url: &str) -> Vec<String> {
    let Some((_, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let Some((userinfo, _)) = authority.rsplit_once('@') else {
        return Vec::new();
    };
    let Some((_, password)) = userinfo.split_once(':') else {
        return Vec::new();
    };
    if password.is_empty() {
        return Vec::new();
    }
    let mut out = vec![password.to_owned()];
    let decoded = percent_decode(password);
    if decoded != password && !decoded.is_empty() {
        out.push(decoded);
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Replaces every password of `urls` in `text` with `***`.
pub(crate) fn redact(text: &str, urls: &[&str]) -> String {
    let mut secrets: Vec<String> = urls.iter().flat_map(|u| passwords(u)).collect();
    // Longest first, so a password containing another is hidden whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for s in secrets {
        out = out.replace(&s, "***");
    }
    out
}

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

/// The progress bar's state, drawn on stderr.
#[derive(Debug, Default)]
struct Bar {
    drawn: bool,
}

/// The printer a command writes through.
#[derive(Debug)]
pub(crate) struct Output {
    quiet: bool,
    colour_out: bool,
    colour_err: bool,
    bar_enabled: bool,
    secrets: Vec<String>,
    bar: Mutex<Bar>,
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
            bar: Mutex::new(Bar::default()),
        }
    }

    /// Hides the password of `url` in everything printed from now on.
    pub fn hide_password_of(&mut self, url: &str) {
        self.secrets.push(url.to_owned());
    }

    /// `text` with every known password replaced by `***`.
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
        let _ = writeln!(out, "{}", self.redacted(line));
    }

    /// Text on stdout as is (an offline script, a file's SQL).
    pub fn raw(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
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

    fn draw_bar(&self, done: usize, total: usize, label: &str) {
        const WIDTH: usize = 30;
        let filled = WIDTH * done / total.max(1);
        let line = format!(
            "\r\x1b[2K[{}{}] {done}/{total} {label}",
            "#".repeat(filled),
            "-".repeat(WIDTH - filled)
        );
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
        bar.drawn = true;
    }

    /// Erases the progress bar, if one is drawn.
    pub fn clear_bar(&self) {
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        if bar.drawn {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(b"\r\x1b[2K");
            let _ = err.flush();
            bar.drawn = false;
        }
    }
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
}
