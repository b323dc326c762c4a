//! `migrate lint`, and the lint `check` runs: `migrate_core::lint` over the
//! folder, with the project's `lint_from` and `[lint]` levels, limited to
//! the revisions new since `--base GIT-REF`; each finding printed as rustc
//! prints (or as JSON), exit 1 on an error-level one.

use crate::config::Settings;
use crate::error::CliError;
use crate::output::Output;
use migrate_core::lint::{self, Config, Report, Severity};
use migrate_core::load::load_dir;
use migrate_core::{Dialect, Migration};
use serde_json::json;

/// The dialect the lint reads the folder in: `--dialect`, else the database
/// URL's scheme (flag, config file, `DATABASE_URL`).
fn dialect(s: &Settings) -> Option<Dialect> {
    s.dialect
        .or_else(|| s.database_url.as_deref().and_then(Dialect::from_url))
}

/// The usage error of a lint with no dialect.
fn no_dialect() -> CliError {
    CliError::Usage(
        "lint needs to know the database: pass --dialect postgres|mysql|sqlite, or a database URL (--database-url, `database_url` in migrate.toml, DATABASE_URL) whose scheme names it".into(),
    )
}

/// `migrate lint [--base GIT-REF] [--json]`.
pub(crate) fn run(s: &Settings, base: Option<&str>, json: bool, out: &Output) -> Result<(), CliError> {
    let dialect = dialect(s).ok_or_else(no_dialect)?;
    let list = load_dir(&s.dir, &s.dir_shown)?;
    let report = lint_list(s, &list, dialect, base)?;
    if json {
        let findings: Vec<_> = report
            .findings
            .iter()
            .map(|f| {
                json!({
                    "rule": f.rule, "severity": f.severity.as_str(), "file": f.file, "line": f.line,
                    "revision": f.revision, "message": f.message, "help": f.help,
                })
            })
            .collect();
        out.result(&serde_json::Value::Array(findings).to_string());
    } else {
        print(s, &list, base, &report, out);
    }
    verdict(&report)
}

/// The lint `check` runs: when the dialect is known, as `lint` prints it.
pub(crate) fn in_check(s: &Settings, base: Option<&str>, out: &Output) -> Result<(), CliError> {
    let Some(dialect) = dialect(s) else {
        out.note(&format!(
            "note: {}: not linted: no dialect known (pass --dialect postgres|mysql|sqlite, or a database URL)",
            s.dir_shown
        ));
        return Ok(());
    };
    let list = load_dir(&s.dir, &s.dir_shown)?;
    let report = lint_list(s, &list, dialect, base)?;
    print(s, &list, base, &report, out);
    verdict(&report)
}

/// The findings over `list`, with the project's settings and the base's revisions left out.
fn lint_list(s: &Settings, list: &[Migration], dialect: Dialect, base: Option<&str>) -> Result<Report, CliError> {
    let shipped = match base {
        Some(reference) => {
            let base = crate::base::folder_at(&s.dir, &s.dir_shown, reference)?;
            let (before, _) = migrate_core::load::parse_each(base.sources);
            before.iter().map(|m| m.revision().to_owned()).collect()
        }
        None => Default::default(),
    };
    let config = Config {
        levels: s.lint.levels.clone(),
        from: s.lint.from.clone(),
        shipped,
        run_lock_timeout: s.ddl_lock_timeout.is_some(),
    };
    lint::lint(list, dialect, &config).map_err(|e| CliError::Usage(format!("{e} (in the config file)")))
}

/// Each finding as rustc prints, then a summary; with findings and nothing
/// that limits the lint, the line that accepts the history as it is.
fn print(s: &Settings, list: &[Migration], base: Option<&str>, report: &Report, out: &Output) {
    for f in &report.findings {
        out.error(&format!("{f}\n"), true);
    }
    let errors = report.findings.iter().filter(|f| f.severity == Severity::Error).count();
    let warnings = report.findings.len() - errors;
    let waived = match report.waived {
        0 => String::new(),
        n => format!(", {n} waived"),
    };
    out.info(&format!(
        "{}: lint of {} revision(s): {errors} error(s), {warnings} warning(s){waived}",
        s.dir_shown, report.linted
    ));
    if !report.findings.is_empty()
        && s.lint.from.is_none()
        && base.is_none()
        && let Some(head) = list.last()
    {
        out.note(&format!(
            "note: to accept the history as it is and lint only the revisions written after it, add `lint_from = \"{}\"` to migrate.toml",
            head.revision()
        ));
    }
}

/// Exit 1 on an error-level finding.
fn verdict(report: &Report) -> Result<(), CliError> {
    let errors: Vec<&migrate_core::lint::Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    // A few are named where they are; many, counted by rule (each is printed above).
    let which = if errors.len() <= 3 {
        errors
            .iter()
            .map(|f| format!("{} at {}:{}", f.rule, f.file, f.line))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for f in &errors {
            match counts.iter_mut().find(|(rule, _)| *rule == f.rule) {
                Some((_, n)) => *n += 1,
                None => counts.push((f.rule, 1)),
            }
        }
        let counted: Vec<String> = counts.iter().map(|(rule, n)| format!("{rule} {n}")).collect();
        format!("{}, each printed above", counted.join(", "))
    };
    Err(CliError::Refused(format!(
        "lint: {} error(s): {which}; a waiver is `-- migrate:allow RULE: reason` in the revision's header",
        errors.len()
    )))
}
