//! Problems found in a migrations folder, printed the way rustc prints errors.
//!
//! The macro and the command line report through this one type, so a failed
//! build and `migrate check` say the same thing.

use std::fmt;

/// What kind of mistake a [`Diagnostic`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DiagnosticKind {
    /// The migrations folder does not exist or cannot be read.
    MissingFolder,
    /// A file could not be read.
    Unreadable,
    /// A file is not valid UTF-8.
    NotUtf8,
    /// The comment header is malformed or incomplete.
    BadHeader,
    /// The file has no `-- migrate:upgrade` marker.
    MissingUpgrade,
    /// The revision id does not match the file name.
    NameMismatch,
    /// Two files declare the same revision id.
    DuplicateRevision,
    /// A `down_revision` names a revision that does not exist.
    DanglingParent,
    /// The down_revision links form a cycle.
    Cycle,
    /// No revision has an empty `down_revision`.
    NoRoot,
    /// The graph has more than one head: a fork that no merge revision joins.
    UnmergedHeads,
    /// A migration that runs in a transaction begins, commits or rolls back
    /// one itself, so a later failure could no longer be rolled back.
    TransactionControl,
    /// The file holds a control character (NUL, ESC, ...): invisible in an
    /// editor, and a NUL hangs or truncates what a database client reads.
    ControlCharacter,
    /// A `-- depends_on:` line names a migration set nobody declared, a
    /// revision its set does not have, its own set, or closes a cycle between sets.
    Dependency,
    /// A statement of a schema file would act beyond the scratch database it
    /// runs in: another database, the server's roles, settings or files.
    BeyondScratch,
    /// A client's command in a schema file (a psql meta-command, a sqlite3
    /// dot-command) that is neither understood nor sent.
    ClientCommand,
    /// A revision that shipped (it was in the folder at the base a check
    /// compares with) was edited, deleted or renamed since.
    Shipped,
    /// A statement that cannot run where the migration puts it: `CREATE
    /// INDEX CONCURRENTLY` in a transaction, an enum value used in the
    /// transaction that added it (the lint rules that fail at run time).
    CannotRun,
}

/// One problem, where it is, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// What kind of problem this is.
    pub kind: DiagnosticKind,
    /// One sentence saying what is wrong.
    pub message: String,
    /// The file, relative to the crate (or to where the command ran).
    pub file: Option<String>,
    /// The 1-based line in `file`, where one applies.
    pub line: Option<usize>,
    /// A sentence naming the fix.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with a message and nothing else.
    pub fn new(kind: DiagnosticKind, message: impl Into<String>) -> Self {
        Diagnostic {
            kind,
            message: message.into(),
            file: None,
            line: None,
            help: None,
        }
    }

    /// Places the diagnostic in `file`.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// Places the diagnostic at `line` (1-based) of its file.
    pub fn at_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    /// Adds the sentence that names the fix.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// File, line, kind, message: no file first, then no line.
    fn sort_key(&self) -> crate::sorting::Key<'_> {
        let line = self.line.map_or(0, |l| l + 1);
        (
            self.file.as_deref().unwrap_or(""),
            line,
            self.kind as usize,
            &self.message,
        )
    }
}

/// `{}` prints `error: <message>` and the location and help lines; `{:#}`
/// leaves out the `error: ` prefix, for hosts (rustc) that print their own.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate() {
            f.write_str("error: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(file) = &self.file {
            match self.line {
                Some(line) => write!(f, "\n  --> {file}:{line}")?,
                None => write!(f, "\n  --> {file}")?,
            }
        }
        if let Some(help) = &self.help {
            write!(f, "\n   = help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in a migrations folder, sorted by file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// Collects diagnostics, sorted by file, line and kind so output is
    /// the same on every machine.
    pub fn new(list: Vec<Diagnostic>) -> Self {
        let mut order: Vec<usize> = (0..list.len()).collect();
        crate::sorting::sort_by(&mut order, |i| list[i].sort_key());
        let mut sorted: Vec<Option<Diagnostic>> = (0..list.len()).map(|_| None).collect();
        for (position, &i) in order.iter().enumerate() {
            sorted[position] = Some(list[i].clone());
        }
        let mut list: Vec<Diagnostic> = sorted.into_iter().flatten().collect();
        list.dedup();
        Diagnostics(list)
    }

    /// The diagnostics, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether any diagnostic is of `kind`.
    pub fn has(&self, kind: DiagnosticKind) -> bool {
        self.0.iter().any(|d| d.kind == kind)
    }

    /// Takes the list out.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() > 1 {
            // One file (a schema file, or one migration) is named; several are the folder's.
            let file = self.0[0]
                .file
                .as_deref()
                .filter(|f| self.0.iter().all(|d| d.file.as_deref() == Some(f)));
            match file {
                Some(file) => write!(f, "\n\nerror: {} problems in {file}", self.0.len())?,
                None => write!(f, "\n\nerror: {} problems in the migration folder", self.0.len())?,
            }
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_rustc() {
        let d = Diagnostic::new(DiagnosticKind::DanglingParent, "down_revision `ab12` names no revision")
            .in_file("migrations/cd34_x.sql")
            .at_line(Some(4))
            .with_help("fix the id or add the missing migration");
        assert_eq!(
            d.to_string(),
            "error: down_revision `ab12` names no revision\n  --> migrations/cd34_x.sql:4\n   = help: fix the id or add the missing migration"
        );
    }

    #[test]
    fn sorted_by_file_then_line() {
        let a = Diagnostic::new(DiagnosticKind::BadHeader, "a")
            .in_file("b.sql")
            .at_line(Some(1));
        let b = Diagnostic::new(DiagnosticKind::BadHeader, "b")
            .in_file("a.sql")
            .at_line(Some(9));
        let c = Diagnostic::new(DiagnosticKind::BadHeader, "c")
            .in_file("a.sql")
            .at_line(Some(2));
        let all = Diagnostics::new(vec![a, b, c]);
        let order: Vec<_> = all.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(order, ["c", "b", "a"]);
    }
}
