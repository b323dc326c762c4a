//! Comment lines that look like a directive but are not one, and the
//! spelling they meant: `-- phase: contract`, `-- MIGRATE:phase: contract`,
//! `-- migrate phase: contract` all meant `-- migrate:phase: contract`.
//!
//! A directive read as a comment is silently wrong (an `expand` run applies
//! the contract revision's `DROP`), so a comment that starts like one is an
//! error. Prose stays prose: a line is a lookalike only when it starts with
//! the word `migrate` followed by `:` (in any case or spacing), with
//! `migrate` and a known key followed by `:` or nothing, or (in a migration's
//! header) with a known key followed by `:`, or a key written with its `-`
//! or `_` (`no-transaction`, `renamed_from`). `-- This migration drops the
//! phase column` is none of these.
//!
//! Migration files ([`super::parse`]) and schema files
//! ([`crate::schema::renames`]) read their comments through [`lookalike`],
//! each with its own list of keys.

/// How a directive is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `-- key: value`: the header's fields (`revision`, `down_revision`, ...).
    Field,
    /// `-- migrate:key: value`.
    Valued,
    /// `-- migrate:key`, a flag that also reads as an ordinary word would
    /// not (`no-transaction`).
    Flag,
    /// `-- migrate:key`, a section marker (`upgrade`): an ordinary word
    /// too, so never a lookalike on its own.
    Marker,
    /// `-- migrate:key VALUE` (`renamed-from`).
    Argument,
}

/// A directive a file may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    /// Its name, as written.
    pub name: &'static str,
    /// How it is written.
    pub form: Form,
}

const fn key(name: &'static str, form: Form) -> Key {
    Key { name, form }
}

/// Every directive and field of a migration file.
pub(crate) const MIGRATION_KEYS: &[Key] = &[
    key("revision", Form::Field),
    key("down_revision", Form::Field),
    key("depends_on", Form::Field),
    key("phase", Form::Valued),
    key("lock-timeout", Form::Valued),
    key("statement-timeout", Form::Valued),
    key("max-lock", Form::Valued),
    key("no-transaction", Form::Flag),
    key("foreign-keys-off", Form::Flag),
    key("no-variables", Form::Flag),
    key("var", Form::Argument),
    key("upgrade", Form::Marker),
    key("downgrade", Form::Marker),
];

/// The one directive of a schema file.
pub(crate) const SCHEMA_KEYS: &[Key] = &[key("renamed-from", Form::Argument)];

impl Key {
    /// The directive written exactly, with `value`.
    pub(crate) fn spelled(self, value: &str) -> String {
        let name = self.name;
        let text = match self.form {
            Form::Field => format!("-- {name}: {value}"),
            Form::Valued => format!("-- migrate:{name}: {value}"),
            Form::Flag | Form::Marker => format!("-- migrate:{name}"),
            Form::Argument => format!("-- migrate:{name} {value}"),
        };
        text.trim_end().to_owned()
    }
}

/// Where a comment line stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// Where directives and fields are read: a migration's header, anywhere
    /// in a schema file. A known key followed by `:` counts.
    Header,
    /// Among SQL (a migration's sections): only the `migrate` forms count.
    Sql,
}

/// What a lookalike comment meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Meant {
    /// This directive, written exactly.
    Directive(String),
    /// `migrate` and `:` with no known directive after them.
    Unknown,
}

/// `k` compared the way a misspelling is forgiven: case, `-`, `_` and
/// white space ignored.
fn folded(k: &str) -> String {
    k.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The key of `keys` that `k` spells, loosely.
fn find(k: &str, keys: &[Key]) -> Option<Key> {
    let k = folded(k);
    if k.is_empty() {
        return None;
    }
    keys.iter().copied().find(|key| folded(key.name) == k)
}

/// Where each word of `s` ends, as byte offsets.
fn word_ends(s: &str) -> impl Iterator<Item = usize> + '_ {
    let ends = s
        .char_indices()
        .filter(|&(_, c)| c.is_whitespace())
        .map(|(i, _)| i)
        .filter(|&i| s[..i].chars().next_back().is_some_and(|c| !c.is_whitespace()));
    ends.chain((!s.ends_with(char::is_whitespace) && !s.is_empty()).then_some(s.len()))
}

/// `s` read as a directive of `keys`: the key, its value, and whether a `:`
/// followed the key. The key is what comes before the first `:`, else its
/// first one to three words (`down revision`, `foreign keys off`).
pub(crate) fn split_key<'s>(s: &'s str, keys: &[Key]) -> Option<(Key, &'s str, bool)> {
    let s = s.trim();
    if let Some((k, v)) = s.split_once(':') {
        if let Some(key) = find(k, keys) {
            return Some((key, v.trim(), true));
        }
    }
    for end in word_ends(s).take(3) {
        if let Some(key) = find(&s[..end], keys) {
            return Some((key, s[end..].trim(), false));
        }
    }
    None
}

/// What the comment `body` (its text after `--`, trimmed) meant, if it
/// looks like a directive of `keys` without being written as one. Exact
/// directives (`migrate:` in lower case right at the start) and exact
/// fields are the caller's to read first: this is never asked about them.
pub(crate) fn lookalike(body: &str, keys: &[Key], place: Place) -> Option<Meant> {
    if let Some(meant) = migrate_form(body, keys) {
        return Some(meant);
    }
    if place == Place::Sql {
        return None;
    }
    let (key, value, colon) = split_key(body, keys)?;
    if key.form == Form::Marker {
        return None; // `upgrade: …` is prose; only `migrate` makes it a marker
    }
    let first = body.split_whitespace().next().unwrap_or("").trim_end_matches(':');
    let hyphenated = first.contains(['-', '_']) && folded(first) == folded(key.name);
    (colon || hyphenated).then(|| Meant::Directive(key.spelled(value)))
}

/// The word `migrate` in any case, then `:` or a known key.
fn migrate_form(body: &str, keys: &[Key]) -> Option<Meant> {
    let head = body.get(..7)?;
    let rest = &body[7..];
    if !head.eq_ignore_ascii_case("migrate") || rest.starts_with(|c: char| c.is_alphanumeric()) {
        return None; // `migrated`, `migrates`: other words
    }
    let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '_'));
    if let Some(tail) = rest.strip_prefix(':') {
        return Some(match split_key(tail, keys) {
            Some((key, value, _)) => Meant::Directive(key.spelled(value)),
            None => Meant::Unknown,
        });
    }
    let (key, value, colon) = split_key(rest, keys)?;
    (colon || value.is_empty() || key.form == Form::Argument).then(|| Meant::Directive(key.spelled(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(place: Place, keys: &[Key], body: &str, expect: Option<&str>) {
        let got = lookalike(body, keys, place).map(|m| match m {
            Meant::Directive(d) => d,
            Meant::Unknown => "?".to_owned(),
        });
        assert_eq!(got.as_deref(), expect, "{body:?}");
    }

    #[test]
    fn misspelt_migration_directives_say_what_they_meant() {
        let h = |body, expect| check(Place::Header, MIGRATION_KEYS, body, Some(expect));
        h("phase: contract", "-- migrate:phase: contract");
        h("MIGRATE:phase: contract", "-- migrate:phase: contract");
        h("Migrate :phase: contract", "-- migrate:phase: contract");
        h("migrate phase: contract", "-- migrate:phase: contract");
        h("migrate: phase contract", "-- migrate:phase: contract");
        h("migrate-no-transaction", "-- migrate:no-transaction");
        h("no-transaction", "-- migrate:no-transaction");
        h("no_transaction:", "-- migrate:no-transaction");
        h("Lock Timeout: 5s", "-- migrate:lock-timeout: 5s");
        h("Revision: abc", "-- revision: abc");
        h("down-revision: a, b", "-- down_revision: a, b");
        h("down revision: a", "-- down_revision: a");
        h("down-revision a", "-- down_revision: a");
        h("depends-on: jobq@1", "-- depends_on: jobq@1");
        h("MIGRATE:upgrade", "-- migrate:upgrade");
        h("migrate upgrade", "-- migrate:upgrade");
        h("migrate: frobnicate", "?");
    }

    #[test]
    fn prose_stays_prose() {
        for body in [
            "This migration drops the phase column",
            "phase out the old column",
            "Migrated from the old tool",
            "migrates users: all of them",
            "migrate the users table",
            "migrate upgrade scripts to v2",
            "migration phase: later",
            "upgrade: adds the index",
            "downgrade",
            "Note: the phase column goes",
            "no transaction here",
            "",
        ] {
            check(Place::Header, MIGRATION_KEYS, body, None);
        }
        // Among SQL only the `migrate` forms count.
        check(Place::Sql, MIGRATION_KEYS, "phase: contract", None);
        check(
            Place::Sql,
            MIGRATION_KEYS,
            "MIGRATE:downgrade",
            Some("-- migrate:downgrade"),
        );
    }

    #[test]
    fn schema_files_know_renamed_from() {
        let s = |body, expect| check(Place::Header, SCHEMA_KEYS, body, expect);
        s("renamed-from: customer", Some("-- migrate:renamed-from customer"));
        s("renamed_from customer", Some("-- migrate:renamed-from customer"));
        s(
            "MIGRATE:renamed-from customer",
            Some("-- migrate:renamed-from customer"),
        );
        s(
            "migrate renamed from customer",
            Some("-- migrate:renamed-from customer"),
        );
        s("renamed from customer in 2024", None);
        s("phase: contract", None);
    }
}
