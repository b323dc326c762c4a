//! A schema file's text checked before anything runs it: what `migrate
//! check --schema` and `revision --autogenerate` refuse, each problem at its
//! line, printed like a migration file's.
//!
//! A control character is refused as in a migration file (SQLite's driver
//! stops reading a statement at a NUL and never gets past it: the run spins
//! forever), and so are comments that look like `-- migrate:renamed-from`
//! without being it, and renames that contradict the file.

use super::renames::{self, RenamesErrorKind};
use crate::checksum::normalise;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::format::control_characters;

/// Every problem of the schema file `file` (the path shown) whose text is
/// `text`, sorted by line. A `renamed-from` line that precedes no table or
/// column is [`renames`](super::renames())'s to report, where the renames are read.
pub fn check_file(file: &str, text: &str) -> Result<(), Diagnostics> {
    let text = normalise(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut problems: Vec<Diagnostic> = control_characters(file, &lines).into_iter().collect();
    let (_, found) = renames::read(&text);
    problems.extend(
        found
            .iter()
            .filter(|p| p.kind != RenamesErrorKind::Misplaced)
            .map(|p| p.diagnostic(file)),
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics::new(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::DiagnosticKind;

    #[test]
    fn a_nul_byte_is_refused_at_its_line() {
        let e = check_file(
            "s.sql",
            "CREATE TABLE a (id INTEGER);\r\n\r\nCREATE TABLE b (x TEXT DEFAULT '\0');\r\n",
        )
        .unwrap_err();
        let d: Vec<_> = e.iter().collect();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, DiagnosticKind::ControlCharacter);
        assert_eq!((d[0].file.as_deref(), d[0].line), (Some("s.sql"), Some(3)));
        assert_eq!(d[0].message, "control character U+0000 (NUL) at column 33");
        assert!(e.to_string().contains("  --> s.sql:3\n"), "{e}");
        // CRLF, tabs and form feeds are not control characters here either.
        assert!(check_file("s.sql", "CREATE TABLE a (\r\n\tid INTEGER\r\n);\x0c\n").is_ok());
    }

    #[test]
    fn every_problem_is_reported_by_line() {
        let text = "-- renamed-from: customer\nCREATE TABLE account (id int);\nCREATE TABLE log (x \x1b);\n-- migrate:renamed-from nowhere\n";
        let e = check_file("schema.sql", text).unwrap_err();
        let got: Vec<_> = e.iter().map(|d| (d.line, d.kind)).collect();
        assert_eq!(
            got,
            [
                (Some(1), DiagnosticKind::BadHeader),
                (Some(3), DiagnosticKind::ControlCharacter)
            ],
            "{e}"
        );
        assert!(e.to_string().starts_with(
            "error: `-- renamed-from: customer` is not a directive: did you mean `-- migrate:renamed-from customer`?\n  --> schema.sql:1\n   = help: "
        ));
        // The misplaced line on 4 is for `renames` to report.
        assert!(renames::renames(text).is_err());
    }
}
