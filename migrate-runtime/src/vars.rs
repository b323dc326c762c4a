//! Declared variables at run time: the values a run resolves (a command
//! line's `--var`, the environment's `MIGRATE_VAR_NAME`, the builder's
//! [`Migrator::var`](crate::Migrator::var), a declaration's default, highest
//! first), every step of a plan bound before its first statement is sent,
//! and the secret values kept out of log lines and error messages.
//!
//! The substitution itself is core's ([`migrate_core::sql::vars`]); a
//! migration keeps its text as written for its checksum and for the
//! downgrade its history row stores ([`Migration::bound`]).

use crate::Migrations;
use crate::error::{Error, Result};
use migrate_core::{Dialect, Direction, Graph, Migration, Plan, Variable};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The values a run was given, by source.
#[derive(Debug, Clone, Default)]
pub(crate) struct Values {
    /// Above the environment: a command line's `--var NAME=VALUE`.
    pub(crate) overriding: Vec<(String, String)>,
    /// Below the environment: the builder's and a config file's.
    pub(crate) given: Vec<(String, String)>,
}

/// Whether `var` is secret: declared so, or by any revision of `list`
/// ([`Migrations::secret_names`], looked at only for a variable declared plainly).
fn is_secret(var: &Variable, list: &Migrations) -> bool {
    var.secret() || list.secret_names().iter().any(|n| n == var.name())
}

/// The environment variable that gives variable `name` a value.
pub fn env_name(name: &str) -> String {
    format!("MIGRATE_VAR_{name}")
}

impl Values {
    /// `name`'s value from every source but its declaration's default.
    fn value(&self, var: &Variable) -> Option<String> {
        let find = |list: &[(String, String)]| list.iter().rev().find(|(n, _)| n == var.name()).map(|(_, v)| v.clone());
        find(&self.overriding)
            .or_else(|| std::env::var(env_name(var.name())).ok())
            .or_else(|| find(&self.given))
    }

    /// `m`, a migration of `list`, as `dialect` runs it, its variables bound.
    pub(crate) fn bind(
        &self,
        list: &Migrations,
        m: &Migration,
        dialect: Dialect,
        direction: Direction,
    ) -> Result<Migration> {
        m.bound_as(dialect, direction, &|var| self.value(var), &|var| is_secret(var, list))
            .map_err(Error::UnsetVariable)
    }

    /// Every step of `plan` that declares variables, bound, by its position in
    /// `graph`: checked whole before the run sends anything, so that a
    /// variable with no value stops the run before its first statement.
    pub(crate) fn bind_plan(
        &self,
        list: &Migrations,
        graph: &Graph<'_>,
        plan: &Plan,
        dialect: Dialect,
    ) -> Result<Vec<(usize, Migration)>> {
        declaring_steps(graph, plan, |m| self.bind(list, m, dialect, plan.direction))
    }
}

/// Every step of `plan` that declares variables, `bind` bound, by its position in `graph`.
fn declaring_steps(
    graph: &Graph<'_>,
    plan: &Plan,
    bind: impl Fn(&Migration) -> Result<Migration>,
) -> Result<Vec<(usize, Migration)>> {
    plan.steps
        .iter()
        .filter(|&&i| graph.get(i).vars().next().is_some())
        .map(|&i| Ok((i, bind(graph.get(i))?)))
        .collect()
}

impl Values {
    /// [`bind_plan`](Self::bind_plan) for an offline script: a secret
    /// variable keeps its `${NAME}`, which whoever runs the script replaces
    /// ([`script_note`] says so), so the script never holds its value.
    pub(crate) fn bind_script(
        &self,
        list: &Migrations,
        graph: &Graph<'_>,
        plan: &Plan,
        dialect: Dialect,
    ) -> Result<Vec<(usize, Migration)>> {
        declaring_steps(graph, plan, |m| self.bind_script_one(list, m, dialect, plan.direction))
    }

    /// One migration as [`bind_script`](Self::bind_script) binds a step.
    pub(crate) fn bind_script_one(
        &self,
        list: &Migrations,
        m: &Migration,
        dialect: Dialect,
        direction: Direction,
    ) -> Result<Migration> {
        let value = |var: &Variable| match is_secret(var, list) {
            true => Some(format!("${{{}}}", var.name())),
            false => self.value(var),
        };
        m.bound(dialect, direction, &value).map_err(Error::UnsetVariable)
    }
}

/// The lines an offline script writes above a step of `list` whose secret
/// variables it leaves as `${NAME}` in `sql`, the section it prints (one its
/// other section alone uses gets no line).
pub(crate) fn script_note(list: &Migrations, m: &Migration, sql: &str, dialect: Dialect) -> String {
    let used = migrate_core::sql::vars::uses(sql, dialect);
    m.vars()
        .filter(|v| is_secret(v, list) && used.iter().any(|u| u.name == v.name()))
        .map(|v| {
            format!(
                "-- `${{{0}}}` is the secret variable {0}: its value is never printed; replace it before running this script.\n",
                v.name()
            )
        })
        .collect()
}

/// How many secret values are registered: the log's fast path when none is.
static REGISTERED: AtomicUsize = AtomicUsize::new(0);
/// The secret values of the runs under way, as `(name, value)`.
static SECRETS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// The secret values of a run's bound steps, kept out of every log line
/// ([`redacted`]) while it lives.
pub(crate) struct Redacting(Vec<(String, String)>);

impl Redacting {
    /// Registers the secrets of `bound`.
    pub(crate) fn new<'a>(bound: impl IntoIterator<Item = &'a Migration>) -> Redacting {
        let secrets: Vec<(String, String)> = bound.into_iter().flat_map(|m| m.secrets().iter().cloned()).collect();
        if !secrets.is_empty() {
            let mut all = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
            all.extend(secrets.iter().cloned());
            REGISTERED.store(all.len(), Ordering::SeqCst);
        }
        Redacting(secrets)
    }
}

impl Drop for Redacting {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let mut all = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
        for secret in &self.0 {
            if let Some(at) = all.iter().position(|s| s == secret) {
                all.remove(at);
            }
        }
        REGISTERED.store(all.len(), Ordering::SeqCst);
    }
}

/// `text` with every registered secret value replaced by its `${NAME}`.
pub(crate) fn redacted(text: &str) -> std::borrow::Cow<'_, str> {
    if REGISTERED.load(Ordering::SeqCst) == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    let all = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    std::borrow::Cow::Owned(migrate_core::sql::vars::redact(text, &all))
}

/// `text` with `m`'s secret values replaced by their `${NAME}`: what a
/// history row's `error` holds of a database's message about `m`.
pub(crate) fn redacted_for<'t>(m: &Migration, text: &'t str) -> std::borrow::Cow<'t, str> {
    if m.secrets().is_empty() {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(migrate_core::sql::vars::redact(text, m.secrets()))
}

/// `source`, the database's error for a step of `m`, with `m`'s secret
/// values taken out of its text (then only its text is kept).
pub(crate) fn redact_error(m: &Migration, source: sqlx::Error) -> sqlx::Error {
    if m.secrets().is_empty() {
        return source;
    }
    let text = crate::error::db_message(&source);
    let clean = redacted_for(m, &text);
    if clean == text {
        source
    } else {
        sqlx::Error::Protocol(clean.into_owned())
    }
}
