//! One revision as the runtime applies it: id, parents, SQL and checksum.
//!
//! The same type serves a list embedded at build time (borrowed `'static`
//! text, built through `const fn`) and a list loaded from disk at run time
//! (owned text), so the macro and the command line share every algorithm.

use crate::checksum::Checksum;
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Where a revision stands in an expand/contract deploy
/// (`-- migrate:phase: expand` or `contract` in its header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Only additive changes the previous release's code tolerates (new
    /// tables, nullable columns, indexes): an older build may run beside it.
    Expand,
    /// A data change run in batches (`-- migrate:backfill: TABLE.KEY
    /// batch=N`), each committed with its progress, while the new release
    /// serves: after the expand revisions, before the contract ones.
    Backfill,
    /// Removals that must wait until no old code runs.
    Contract,
}

impl Phase {
    /// The name as written in headers and stored in the history table.
    pub const fn as_str(self) -> &'static str {
        match self {
            Phase::Expand => "expand",
            Phase::Backfill => "backfill",
            Phase::Contract => "contract",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A phase name that is not `expand`, `backfill` or `contract`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown phase `{0}`: use expand, backfill or contract")]
pub struct UnknownPhase(pub String);

impl FromStr for Phase {
    type Err = UnknownPhase;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "expand" => Ok(Phase::Expand),
            "backfill" => Ok(Phase::Backfill),
            "contract" => Ok(Phase::Contract),
            other => Err(UnknownPhase(other.to_owned())),
        }
    }
}

/// A backfill's range, from `-- migrate:backfill: TABLE.KEY batch=N`: its
/// one upgrade statement runs once for each range `[:start, :end)` of
/// `batch` consecutive values of the integer column `key` of `table`,
/// from the key's minimum to its maximum as they stood when the backfill
/// began, each range in a transaction of its own with its progress.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Backfill {
    table: Cow<'static, str>,
    key: Cow<'static, str>,
    batch: u64,
}

impl Backfill {
    /// A backfill of `table` (possibly `schema.table`) by its column `key`,
    /// `batch` key values at a time.
    pub fn new(table: impl Into<String>, key: impl Into<String>, batch: u64) -> Backfill {
        Backfill {
            table: Cow::Owned(table.into()),
            key: Cow::Owned(key.into()),
            batch,
        }
    }

    /// Used by `embed_migrations!`; not public API.
    #[doc(hidden)]
    pub const fn __embedded(table: &'static str, key: &'static str, batch: u64) -> Backfill {
        Backfill {
            table: Cow::Borrowed(table),
            key: Cow::Borrowed(key),
            batch,
        }
    }

    /// The table, as written (`schema.table` or `table`).
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The integer column whose ranges the batches cover.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// How many key values one batch covers (at least 1).
    pub fn batch(&self) -> u64 {
        self.batch
    }
}

/// What a revision's header says about how to run it, beside its SQL: its
/// phase, its timeouts and whether foreign keys are enforced. None of it is part of the checksum, since none of
/// it changes what the migration does to the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Directives {
    /// `-- migrate:phase: expand|contract`.
    pub phase: Option<Phase>,
    /// `-- migrate:lock-timeout: 5s`: how long one of its statements may wait
    /// for a lock on a table (PostgreSQL `lock_timeout`, MySQL `lock_wait_timeout`).
    pub lock_timeout: Option<Duration>,
    /// `-- migrate:statement-timeout: 10min`: how long one of its statements may run.
    pub statement_timeout: Option<Duration>,
    /// `-- migrate:foreign-keys-off`: it runs with foreign key enforcement off,
    /// as SQLite's table rebuild (create, copy, drop, rename) needs. SQLite:
    /// in a transaction of its own with `PRAGMA foreign_keys = OFF`, checked
    /// with `PRAGMA foreign_key_check` before it commits; MySQL: with the
    /// session's `foreign_key_checks = 0`; PostgreSQL: no effect.
    pub foreign_keys_off: bool,
    /// `-- migrate:max-lock: share-update-exclusive`: the strongest lock any
    /// of its statements may take on a table that existed before it, as a
    /// rehearsal measures it ([`TableLock`](crate::lock::TableLock) names,
    /// PostgreSQL's or MySQL's metadata locks).
    pub max_lock: Option<crate::lock::TableLock>,
}

/// What a revision's body is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    /// A `.sql` file: its upgrade and downgrade sections are SQL.
    #[default]
    Sql,
    /// A `.rs` file whose `upgrade` (and `downgrade`) functions the
    /// application compiles in through `embed_migrations!`: it has no SQL
    /// ([`Migration::upgrade_sql`] is empty), and only the application that
    /// embeds it can run it.
    Rust,
}

/// One migration revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    revision: Cow<'static, str>,
    down_revisions: Parents,
    message: Cow<'static, str>,
    checksum: Checksum,
    upgrade: Cow<'static, str>,
    downgrade: Option<Cow<'static, str>>,
    no_transaction: bool,
    directives: Directives,
    depends_on: DependsOn,
    runs_after: Parents,
    file: Cow<'static, str>,
    /// The line of its file where `upgrade` starts (1 when not read from a file).
    upgrade_line: usize,
    /// The lint rules its `-- migrate:allow RULE: reason` lines waive.
    allowed: Parents,
    language: Language,
    /// `-- migrate:backfill: TABLE.KEY batch=N`.
    backfill: Option<Backfill>,
    /// Its `-- migrate:var` declarations, as `(name, default, secret)`.
    vars: Vars,
    /// Once its variables are bound ([`Migration::bound`]): what was written.
    bound: Option<Box<Bound>>,
    /// A squash baseline's `-- migrate:replaces:` ids (application order, the
    /// squash point last); empty for any other revision.
    replaces: Parents,
    /// A squash baseline's `-- migrate:squashed:` values, one a line: the
    /// earlier squashes it carries (`RELEASE (up to POINT)`), innermost
    /// first, then its own release.
    squashed: Option<Cow<'static, str>>,
}

/// `-- migrate:var` declarations: borrowed when embedded, owned when loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Vars {
    Embedded(&'static [(&'static str, Option<&'static str>, bool)]),
    Loaded(Vec<crate::sql::vars::Variable>),
}

/// What a migration whose variables are bound keeps of its text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bound {
    /// The downgrade with its `${NAME}`s, as the history stores it.
    downgrade: Option<Cow<'static, str>>,
    /// The secret variables' values, as `(name, value)`, to redact.
    secrets: Vec<(String, String)>,
}

/// A variable a revision to run uses, with no value from any source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "revision {revision} ({file}) uses the variable `{name}`, which has no value: give it one (`--var {name}=VALUE`, `MIGRATE_VAR_{name}`, `[vars]` in migrate.toml, `Migrator::var`) or a default in its declaration (`-- migrate:var {name} = VALUE`)"
)]
pub struct UnsetVariable {
    /// The revision declaring it.
    pub revision: String,
    /// Its file.
    pub file: String,
    /// The variable.
    pub name: String,
}

/// `-- depends_on:` entries: borrowed when embedded, owned when loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DependsOn {
    Embedded(&'static [(&'static str, &'static str)]),
    Loaded(Vec<(String, String)>),
}

/// Parent ids: borrowed when embedded (so the list stays `const`), owned when loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Parents {
    Embedded(&'static [&'static str]),
    Loaded(Vec<String>),
}

impl Parents {
    fn ids(&self) -> impl Iterator<Item = &str> + Clone {
        let (embedded, loaded): (&[&str], &[String]) = match self {
            Parents::Embedded(p) => (p, &[]),
            Parents::Loaded(p) => (&[], p),
        };
        embedded.iter().copied().chain(loaded.iter().map(String::as_str))
    }
}

/// The parts of a [`Migration`], by name, for building one at run time.
#[derive(Debug, Clone, Default)]
pub struct MigrationParts {
    /// The revision id.
    pub revision: String,
    /// The parent revision ids; empty for the root, several for a merge.
    pub down_revisions: Vec<String>,
    /// The first comment line of the file.
    pub message: String,
    /// The SQL that upgrading runs (normalised).
    pub upgrade: String,
    /// The SQL that downgrading runs; `None` when the migration is irreversible.
    pub downgrade: Option<String>,
    /// Whether the migration runs outside a transaction.
    pub no_transaction: bool,
    /// Its phase, timeouts and foreign key setting.
    pub directives: Directives,
    /// Revisions of other migration sets it needs applied first, as
    /// `(set, revision)`: its `-- depends_on: set@revision` header lines.
    pub depends_on: Vec<(String, String)>,
    /// Revisions of its own folder it runs after without descending from
    /// them: its `-- depends_on: REV` header lines (Alembic's `depends_on`).
    pub runs_after: Vec<String>,
    /// The file it came from, for messages.
    pub file: String,
}

/// The parts of a [`Migration`] embedded at build time, by name: what
/// `embed_migrations!` fills in, one assignment per part, on a copy of
/// [`Migration::__EMBEDDED`], in a constant. Not public API.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedParts {
    /// The revision id.
    pub revision: &'static str,
    /// The parent revision ids.
    pub down_revisions: &'static [&'static str],
    /// The first comment line of the file.
    pub message: &'static str,
    /// The checksum the macro computed from `upgrade` and `no_transaction`.
    pub checksum: [u8; 32],
    /// The SQL that upgrading runs (normalised).
    pub upgrade: &'static str,
    /// The SQL that downgrading runs; `None` when the migration is irreversible.
    pub downgrade: Option<&'static str>,
    /// Whether the migration runs outside a transaction.
    pub no_transaction: bool,
    /// Its phase, timeouts and foreign key setting.
    pub directives: Directives,
    /// Its `-- depends_on:` entries, as `(set, revision)`.
    pub depends_on: &'static [(&'static str, &'static str)],
    /// Its `-- depends_on: REV` entries of its own folder.
    pub runs_after: &'static [&'static str],
    /// The file it came from, for messages.
    pub file: &'static str,
    /// SQL, or a Rust revision.
    pub language: Language,
    /// A backfill's table, key and batch.
    pub backfill: Option<(&'static str, &'static str, u64)>,
    /// Its `-- migrate:var` declarations, as `(name, default, secret)`.
    pub vars: &'static [(&'static str, Option<&'static str>, bool)],
    /// A squash baseline's `-- migrate:replaces:` ids.
    pub replaces: &'static [&'static str],
    /// A squash baseline's `-- migrate:squashed:` release.
    pub squashed: Option<&'static str>,
}

impl Migration {
    /// Builds a migration from owned parts, computing its checksum.
    pub fn new(parts: MigrationParts) -> Migration {
        let checksum = Checksum::of(&parts.upgrade, parts.no_transaction);
        Migration {
            revision: Cow::Owned(parts.revision),
            down_revisions: Parents::Loaded(parts.down_revisions),
            message: Cow::Owned(parts.message),
            checksum,
            upgrade: Cow::Owned(parts.upgrade),
            downgrade: parts.downgrade.map(Cow::Owned),
            no_transaction: parts.no_transaction,
            directives: parts.directives,
            depends_on: DependsOn::Loaded(parts.depends_on),
            runs_after: Parents::Loaded(parts.runs_after),
            file: Cow::Owned(parts.file),
            upgrade_line: 1,
            allowed: Parents::Embedded(&[]),
            language: Language::Sql,
            backfill: None,
            vars: Vars::Loaded(Vec::new()),
            bound: None,
            replaces: Parents::Embedded(&[]),
            squashed: None,
        }
    }

    /// This migration as a squash baseline (see [`crate::squash`]): it
    /// stands for `replaces` (application order, the squash point last),
    /// squashed after `release` (its `-- migrate:squashed:` values, one a
    /// line: the earlier squashes it carries, `RELEASE (up to POINT)`,
    /// innermost first, then its own release).
    pub fn with_squash(mut self, replaces: Vec<String>, release: String) -> Migration {
        self.replaces = Parents::Loaded(replaces);
        self.squashed = Some(Cow::Owned(release));
        self
    }

    /// The revisions this squash baseline stands for (`-- migrate:replaces:`),
    /// in application order, the squash point last; none for any other revision.
    pub fn replaces(&self) -> impl Iterator<Item = &str> + Clone {
        self.replaces.ids()
    }

    /// The release after which this baseline's revisions were squashed
    /// (its own `-- migrate:squashed:` line): the last one that still has them.
    pub fn squashed(&self) -> Option<&str> {
        self.squashed.as_deref().and_then(|s| s.lines().last())
    }

    /// The earlier squashes a baseline carries (its other `-- migrate:squashed:
    /// RELEASE (up to POINT)` lines), innermost first, as `(release, point)`:
    /// each replaced its ids up to `POINT` in `-- migrate:replaces:`.
    pub fn squash_groups(&self) -> impl Iterator<Item = (&str, &str)> {
        let lines = self.squashed.as_deref().unwrap_or_default();
        let inner = lines.lines().count().saturating_sub(1);
        lines.lines().take(inner).filter_map(crate::squash::group)
    }

    /// Every `-- migrate:squashed:` value as stored, one a line (what
    /// `embed_migrations!` embeds).
    #[doc(hidden)]
    pub fn squashed_lines(&self) -> Option<&str> {
        self.squashed.as_deref()
    }

    /// This migration with the variables its header declares (`-- migrate:var`).
    pub fn with_vars(mut self, vars: Vec<crate::sql::vars::Variable>) -> Migration {
        self.vars = Vars::Loaded(vars);
        self
    }

    /// The variables its header declares, in order.
    pub fn vars(&self) -> impl Iterator<Item = crate::sql::vars::Variable> + '_ {
        let (embedded, loaded): (&[_], &[_]) = match &self.vars {
            Vars::Embedded(v) => (v, &[]),
            Vars::Loaded(v) => (&[], v),
        };
        let embedded = embedded
            .iter()
            .map(|&(name, default, secret)| crate::sql::vars::Variable::__embedded(name, default, secret));
        embedded.chain(loaded.iter().cloned())
    }

    /// This migration as `dialect` runs it in `direction`: each `${NAME}` it
    /// declares replaced by `value` of the variable, else its default (see
    /// [`crate::sql::vars`]). Its checksum and [`stored_downgrade`](Self::stored_downgrade)
    /// stay those of the text as written. A variable with no value that the
    /// section of `direction` uses is an error.
    pub fn bound(
        &self,
        dialect: crate::Dialect,
        direction: crate::Direction,
        value: &dyn Fn(&crate::sql::vars::Variable) -> Option<String>,
    ) -> Result<Migration, UnsetVariable> {
        self.bound_as(dialect, direction, value, &crate::sql::vars::Variable::secret)
    }

    /// [`bound`](Self::bound), the values of the variables `secret` says
    /// are secret kept as its [`secrets`](Self::secrets) (a list treats a
    /// name one revision declares `secret` as secret in every revision).
    pub fn bound_as(
        &self,
        dialect: crate::Dialect,
        direction: crate::Direction,
        value: &dyn Fn(&crate::sql::vars::Variable) -> Option<String>,
        secret: &dyn Fn(&crate::sql::vars::Variable) -> bool,
    ) -> Result<Migration, UnsetVariable> {
        let section = match direction {
            crate::Direction::Upgrade => self.upgrade_sql(),
            crate::Direction::Downgrade => self.downgrade_sql().unwrap_or_default(),
        };
        let used = crate::sql::vars::uses(section, dialect);
        let mut values = Vec::new();
        for var in self.vars() {
            let found = value(&var).or_else(|| var.default().map(str::to_owned));
            let Some(v) = found else {
                if !used.iter().any(|u| u.name == var.name()) {
                    continue;
                }
                return Err(UnsetVariable {
                    revision: self.revision().to_owned(),
                    file: self.file().to_owned(),
                    name: var.name().to_owned(),
                });
            };
            values.push((var, v));
        }
        if values.is_empty() {
            return Ok(self.clone());
        }
        let lookup = |name: &str| {
            values
                .iter()
                .find(|(var, _)| var.name() == name)
                .map(|(_, v)| v.clone())
        };
        let substitute = |sql: &str| crate::sql::vars::substitute(sql, dialect, &lookup);
        let secrets = values.iter().filter(|(var, _)| secret(var));
        Ok(Migration {
            upgrade: Cow::Owned(substitute(&self.upgrade)),
            downgrade: self.downgrade.as_deref().map(|d| Cow::Owned(substitute(d))),
            bound: Some(Box::new(Bound {
                downgrade: self.downgrade.clone(),
                secrets: secrets.map(|(var, v)| (var.name().to_owned(), v.clone())).collect(),
            })),
            ..self.clone()
        })
    }

    /// The downgrade as written, with its `${NAME}`s: what the history
    /// stores, even once the variables are [bound](Self::bound).
    pub fn stored_downgrade(&self) -> Option<&str> {
        match &self.bound {
            Some(b) => b.downgrade.as_deref(),
            None => self.downgrade_sql(),
        }
    }

    /// The values of its secret variables once [bound](Self::bound), as
    /// `(name, value)`: what a log line or an error must not show.
    pub fn secrets(&self) -> &[(String, String)] {
        self.bound.as_ref().map_or(&[], |b| &b.secrets)
    }

    /// This migration with the backfill range of its header: its upgrade,
    /// one statement using `:start` and `:end`, runs in batches (see [`Backfill`]).
    pub fn with_backfill(mut self, backfill: Option<Backfill>) -> Migration {
        self.backfill = backfill;
        self
    }

    /// This migration, its body written in `language`: a Rust revision's
    /// parts have no SQL (`upgrade` empty, `downgrade` `Some("")` when it
    /// defines a downgrade function), and its checksum is its file's
    /// (see [`crate::format::rust`]).
    pub fn written_in(mut self, language: Language) -> Migration {
        self.language = language;
        self
    }

    /// This migration as read from its file: its upgrade SQL starting on
    /// line `upgrade_line` of the file, and the lint rules its header waives
    /// (`-- migrate:allow RULE: reason`). What [`crate::format::parse`]
    /// records, for [`crate::lint`]; an embedded list keeps neither.
    pub fn located(mut self, upgrade_line: usize, allowed: Vec<String>) -> Migration {
        self.upgrade_line = upgrade_line;
        self.allowed = Parents::Loaded(allowed);
        self
    }

    /// Builds a migration from owned parts with a checksum recorded elsewhere
    /// (a history row of a revision this build does not have the file of).
    pub fn with_checksum(parts: MigrationParts, checksum: Checksum) -> Migration {
        Migration {
            checksum,
            ..Migration::new(parts)
        }
    }

    /// What `embed_migrations!` starts from: every part empty, to be filled
    /// in by name. Not public API.
    #[doc(hidden)]
    pub const __EMBEDDED: EmbeddedParts = EmbeddedParts {
        revision: "",
        down_revisions: &[],
        message: "",
        checksum: [0; 32],
        upgrade: "",
        downgrade: None,
        no_transaction: false,
        directives: Directives {
            phase: None,
            lock_timeout: None,
            statement_timeout: None,
            foreign_keys_off: false,
            max_lock: None,
        },
        depends_on: &[],
        runs_after: &[],
        file: "",
        language: Language::Sql,
        backfill: None,
        vars: &[],
        replaces: &[],
        squashed: None,
    };

    /// Used by `embed_migrations!`; not public API.
    #[doc(hidden)]
    pub const fn __embedded(parts: EmbeddedParts) -> Migration {
        Migration {
            revision: Cow::Borrowed(parts.revision),
            down_revisions: Parents::Embedded(parts.down_revisions),
            message: Cow::Borrowed(parts.message),
            checksum: Checksum(parts.checksum),
            upgrade: Cow::Borrowed(parts.upgrade),
            downgrade: match parts.downgrade {
                Some(d) => Some(Cow::Borrowed(d)),
                None => None,
            },
            no_transaction: parts.no_transaction,
            directives: parts.directives,
            depends_on: DependsOn::Embedded(parts.depends_on),
            runs_after: Parents::Embedded(parts.runs_after),
            file: Cow::Borrowed(parts.file),
            upgrade_line: 1,
            allowed: Parents::Embedded(&[]),
            language: parts.language,
            backfill: match parts.backfill {
                Some((table, key, batch)) => Some(Backfill::__embedded(table, key, batch)),
                None => None,
            },
            vars: Vars::Embedded(parts.vars),
            bound: None,
            replaces: Parents::Embedded(parts.replaces),
            squashed: match parts.squashed {
                Some(r) => Some(Cow::Borrowed(r)),
                None => None,
            },
        }
    }

    /// The revision id.
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// The parent revision ids: empty for the root, several for a merge.
    pub fn down_revisions(&self) -> impl Iterator<Item = &str> + Clone {
        self.down_revisions.ids()
    }

    /// The revisions of its own folder it runs after without descending
    /// from them (its `-- depends_on: REV` lines, Alembic's `depends_on`):
    /// an upgrade to it applies them first, a downgrade of one of them
    /// unapplies it first, and neither is a merge.
    pub fn runs_after(&self) -> impl Iterator<Item = &str> + Clone {
        self.runs_after.ids()
    }

    /// The message: the first comment line of the file.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The checksum of what upgrading executes.
    pub fn checksum(&self) -> Checksum {
        self.checksum
    }

    /// What its body is written in.
    pub fn language(&self) -> Language {
        self.language
    }

    /// Whether it is a Rust revision (`.rs`), which only the application
    /// embedding it can run: its SQL is empty, and running it means calling
    /// its functions, never sending [`upgrade_sql`](Self::upgrade_sql).
    pub fn is_rust(&self) -> bool {
        self.language == Language::Rust
    }

    /// The SQL that upgrading runs; may be empty (merge revisions, and a
    /// Rust revision, which has none).
    pub fn upgrade_sql(&self) -> &str {
        &self.upgrade
    }

    /// The SQL that downgrading runs, or `None` when the migration is
    /// irreversible (a Rust revision with a `downgrade` function: `Some("")`).
    pub fn downgrade_sql(&self) -> Option<&str> {
        self.downgrade.as_deref()
    }

    /// Whether the migration runs outside a transaction (`-- migrate:no-transaction`).
    pub fn no_transaction(&self) -> bool {
        self.no_transaction
    }

    /// Its phase, timeouts and the like, from its header.
    pub fn directives(&self) -> Directives {
        self.directives
    }

    /// The revisions of other migration sets it needs applied before it runs,
    /// as `(set, revision)`.
    pub fn depends_on(&self) -> impl Iterator<Item = (&str, &str)> {
        let embedded: &[(&str, &str)] = match &self.depends_on {
            DependsOn::Embedded(d) => d,
            DependsOn::Loaded(_) => &[],
        };
        let loaded: &[(String, String)] = match &self.depends_on {
            DependsOn::Embedded(_) => &[],
            DependsOn::Loaded(d) => d,
        };
        embedded
            .iter()
            .copied()
            .chain(loaded.iter().map(|(s, r)| (s.as_str(), r.as_str())))
    }

    /// Its backfill range (`-- migrate:backfill: TABLE.KEY batch=N`): its
    /// upgrade runs in batches, each committed with its progress.
    pub fn backfill(&self) -> Option<&Backfill> {
        self.backfill.as_ref()
    }

    /// Its phase, if its header declares one.
    pub fn phase(&self) -> Option<Phase> {
        self.directives.phase
    }

    /// The file the migration came from, relative to the crate or folder root.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The line of its file where [`Migration::upgrade_sql`] starts: a
    /// statement on line `n` of the upgrade SQL is on line
    /// `upgrade_line() + n - 1` of the file (1 when not read from a file).
    pub fn upgrade_line(&self) -> usize {
        self.upgrade_line
    }

    /// The lint rules its header waives (`-- migrate:allow RULE: reason`).
    pub fn allowed(&self) -> impl Iterator<Item = &str> + Clone {
        self.allowed.ids()
    }
}
/// A revision's down_revisions as a line of history shows them, Alembic's
/// way: joined by `, `, or `<base>` for a root.
pub fn parents_text<'a>(parents: impl IntoIterator<Item = &'a str>) -> String {
    let list: Vec<&str> = parents.into_iter().collect();
    if list.is_empty() {
        "<base>".to_owned()
    } else {
        list.join(", ")
    }
}
