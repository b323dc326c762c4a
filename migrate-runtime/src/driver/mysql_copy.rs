//! MySQL and MariaDB rehearsals, whose DDL commits: a scratch database on the
//! same server, `<database>_rehearse_<random>`, holding a copy of the
//! connection's database's schema (its tables as `SHOW CREATE TABLE` writes
//! them, made with `foreign_key_checks = 0` so any order works; its stored
//! procedures and functions, views and triggers, each made under the
//! `sql_mode` it was made with, without its `DEFINER`; not its events, which
//! would run on their schedule; the history table with its rows, so the plan
//! is the same), used by the
//! session until it is dropped; and the metadata locks a session holds, from
//! MariaDB's `information_schema.METADATA_LOCK_INFO` (the `metadata_lock_info`
//! plugin).
//!
//! While a copy exists its session holds a named lock on it ([`in_use`]), so a
//! rehearsal killed before it could drop its copy leaves one that no session
//! holds: the next rehearsal of the database drops it ([`sweep`]). A copy is
//! told from a database a person named the same way by its [`MARKER`] table,
//! made first, which names the database it copies.

use super::{Backend, HeldLocks, Settings, run};
use crate::dialect::HistorySql;
use crate::error::{Error, Result, db};
use crate::rehearsal::LeftBehind;
use sqlx::MySqlConnection;

/// MySQL's longest database name.
const MAX_NAME: usize = 64;

/// The table a rehearsal makes first in its copy, holding the copied
/// database's name: only a database that has it is ever swept.
const MARKER: &str = "migrate_rehearsal_copy";

/// Makes the scratch copy of the connection's database and switches the
/// session to it: `(copy, original)`.
pub(super) async fn enter(conn: &mut MySqlConnection, s: &Settings) -> Result<(String, String, LeftBehind)> {
    let original = database_name(conn).await.ok_or_else(no_database)?;
    if s.table.schema().is_some_and(|schema| schema != original) {
        return Err(Error::Database {
            context: "copying the schema for a rehearsal".into(),
            source: sqlx::Error::Protocol(format!(
                "the history table is in another database than the connection's ({original}): a rehearsal copies one database"
            )),
        });
    }
    let left_behind = sweep(conn, s, &original).await?;
    let copy = scratch_name(&original);
    let d = Backend::dialect(conn);
    // Held from before the copy exists until the session ends: what tells a copy in use from one left behind.
    let take = format!("SELECT CAST(GET_LOCK({}, 0) AS CHAR)", in_use(conn, &copy));
    let held = super::read_one(conn, take, "marking the rehearsal's scratch database as in use").await?;
    if held != "1" {
        return Err(Error::Database {
            context: "marking the rehearsal's scratch database as in use".into(),
            source: sqlx::Error::Protocol(format!("another session holds the lock on {copy}: rehearse again")),
        });
    }
    if let Err(e) = create(conn, &copy).await {
        // No copy: nothing to mark as in use.
        let _ = let_go(conn, &copy).await;
        return Err(e);
    }
    tracing::info!(database = %copy, "rehearsing on a copy of the schema, without its data");
    let marker = format!("{}.{}", d.ident(&copy), d.ident(MARKER));
    let made = async {
        let mark = format!("CREATE TABLE {marker} (original VARCHAR({MAX_NAME}) NOT NULL)");
        run(conn, mark, "marking the rehearsal's scratch database").await?;
        let name = format!("INSERT INTO {marker} VALUES ({})", d.quote_text(&original));
        run(conn, name, "marking the rehearsal's scratch database").await?;
        fill(conn, s, &original, &copy).await
    }
    .await;
    if let Err(e) = made {
        if let Err(dropped) = leave(conn, &copy, &original).await {
            tracing::error!(error = %dropped, database = %copy, "dropping the rehearsal's scratch database failed");
        }
        return Err(e);
    }
    Ok((copy, original, left_behind))
}

/// Creates the scratch database `copy` with the session's database's
/// character set and collation.
async fn create(conn: &mut MySqlConnection, copy: &str) -> Result<()> {
    let charset = Backend::read_table(
        conn,
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()".into(),
    )
    .await
    .map_err(db("reading the database's character set"))?;
    let mut create = format!("CREATE DATABASE {}", Backend::dialect(conn).ident(copy));
    if let Some([Some(set), Some(collation)]) = charset.first().map(Vec::as_slice) {
        create.push_str(&format!(" CHARACTER SET {set} COLLATE {collation}"));
    }
    run(conn, create, "creating the rehearsal's scratch database").await
}

/// The session's database, `None` when it has none.
pub(super) async fn database_name(conn: &mut MySqlConnection) -> Option<String> {
    super::read_one(
        conn,
        "SELECT CAST(DATABASE() AS CHAR)".into(),
        "reading the database's name",
    )
    .await
    .ok()
}

fn no_database() -> Error {
    Error::Database {
        context: "copying the schema for a rehearsal".into(),
        source: sqlx::Error::Protocol("the connection has no database selected".into()),
    }
}

/// What a scratch copy's name adds to its database's: `_rehearse_` and 8 hex digits.
const SUFFIX_LEN: usize = "_rehearse_".len() + 8;

/// `<original>_rehearse_<8 hex digits>`, within MySQL's 64 characters.
fn scratch_name(original: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let random = nanos ^ std::process::id().rotate_left(16);
    format!("{}_rehearse_{random:08x}", kept(original))
}

/// The part of `original` a scratch copy's name keeps.
fn kept(original: &str) -> String {
    original.chars().take(MAX_NAME - SUFFIX_LEN).collect()
}

/// Whether `name` is the name [`scratch_name`] gives a copy of `original`.
fn is_scratch_of(name: &str, original: &str) -> bool {
    name.strip_prefix(kept(original).as_str())
        .and_then(|rest| rest.strip_prefix("_rehearse_"))
        .is_some_and(|hex| hex.len() == 8 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// The named lock a rehearsal's session holds while its copy `copy` exists
/// (named by a hash: a lock's name is at most 64 characters).
fn in_use(conn: &MySqlConnection, copy: &str) -> String {
    lock_of(&Backend::dialect(conn).quote_text(copy))
}

/// The name of [`in_use`]'s lock for the database name `name`, a SQL expression.
fn lock_of(name: &str) -> String {
    format!("CONCAT('migrate:rehearse:', SHA1({name}))")
}

/// Drops the scratch copies of `original` that rehearsals killed before they
/// could drop them left behind: databases named as [`scratch_name`] names
/// them whose lock ([`in_use`]) no session holds and whose [`MARKER`] names
/// `original` (a database a person named that way has none, and is not
/// touched). On a Galera cluster a session's named lock holds on its node
/// only, so there the leftovers are kept, named for a person to drop.
async fn sweep(conn: &mut MySqlConnection, s: &Settings, original: &str) -> Result<LeftBehind> {
    let listed = Backend::read_strings(
        conn,
        format!(
            "SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA WHERE LOCATE('_rehearse_', SCHEMA_NAME) > 0 AND IS_USED_LOCK({}) IS NULL",
            lock_of("SCHEMA_NAME")
        ),
    )
    .await
    .map_err(db("listing the scratch databases of earlier rehearsals"))?;
    let d = Backend::dialect(conn);
    let mut left = Vec::new();
    for name in listed.into_iter().filter(|n| is_scratch_of(n, original)) {
        let of = format!(
            "SELECT CAST(original AS CHAR) FROM {}.{}",
            d.ident(&name),
            d.ident(MARKER)
        );
        // No marker (or none readable): not a rehearsal's copy of this database.
        if Backend::read_strings(conn, of)
            .await
            .is_ok_and(|o| o.iter().any(|o| o == original))
        {
            left.push(name);
        }
    }
    let mut out = LeftBehind::default();
    if s.galera {
        let why = "on a Galera cluster a rehearsal's lock holds on its node only, so one running on another node cannot be told apart";
        out.kept = left.into_iter().map(|name| (name, why.to_owned())).collect();
        return Ok(out);
    }
    for name in left {
        // Reported in `LeftBehind`, which the caller prints.
        tracing::info!(database = %name, "dropping the scratch database an earlier rehearsal of this database left behind");
        let dropped = run(
            conn,
            format!("DROP DATABASE IF EXISTS {}", d.ident(&name)),
            "dropping the scratch database an earlier rehearsal left behind",
        )
        .await;
        // Another user's copy, say: this rehearsal goes on, and the person is told.
        match dropped {
            Ok(()) => out.dropped.push(name),
            Err(e) => out.kept.push((name, format!("dropping it failed: {e}"))),
        }
    }
    Ok(out)
}

/// Copies the tables, routines, views, triggers and history rows of `original` into `copy`, and uses `copy`.
async fn fill(conn: &mut MySqlConnection, s: &Settings, original: &str, copy: &str) -> Result<()> {
    let d = Backend::dialect(conn);
    let listed = Backend::read_table(
        conn,
        "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME"
            .into(),
    )
    .await
    .map_err(db("listing the database's tables"))?;
    let (mut tables, mut views) = (Vec::new(), Vec::new());
    for row in listed {
        if let [Some(name), Some(kind)] = row.as_slice() {
            match kind.as_str() {
                "VIEW" => views.push(name.clone()),
                "BASE TABLE" => tables.push(name.clone()),
                _ => tracing::warn!(table = %name, kind = %kind, "not copied for the rehearsal"),
            }
        }
    }
    let mut created = Vec::new();
    for table in &tables {
        let shown = Backend::read_table(conn, format!("SHOW CREATE TABLE {}", d.ident(table)))
            .await
            .map_err(db("reading a table's definition"))?;
        let text = shown.into_iter().next().and_then(|r| r.into_iter().nth(1).flatten());
        created.extend(text);
    }
    run(
        conn,
        format!("USE {}", d.ident(copy)),
        "using the rehearsal's scratch database",
    )
    .await?;
    run(
        conn,
        "SET SESSION foreign_key_checks = 0".into(),
        "turning foreign key checks off",
    )
    .await?;
    let mut copied = Ok(());
    for sql in created {
        copied = run(conn, sql, "copying a table's definition").await;
        if copied.is_err() {
            break;
        }
    }
    let checks = run(
        conn,
        "SET SESSION foreign_key_checks = 1".into(),
        "turning foreign key checks on",
    )
    .await;
    copied?;
    checks?;
    if tables.iter().any(|t| t == s.table.name()) {
        let from = format!("{}.{}", d.ident(original), d.ident(s.table.name()));
        let sql = format!("INSERT INTO {} SELECT * FROM {from}", d.ident(s.table.name()));
        run(conn, sql, "copying the history rows").await?;
    }
    // Routines before the views that may call them, triggers once their tables are there.
    let mode = super::read_one(
        conn,
        "SELECT @@SESSION.sql_mode".into(),
        "reading the session's sql_mode",
    )
    .await?;
    let session = format!("SET SESSION sql_mode = {}", d.quote_text(&mode));
    let copied = async {
        let made = routines(conn, original).await?;
        make_in_copy(conn, (original, copy), made, "stored routine").await?;
        // Views as before: under the session's own sql_mode.
        run(conn, session.clone(), "setting the session's sql_mode back").await?;
        copy_views(conn, original, copy, views).await?;
        let made = triggers(conn, original).await?;
        make_in_copy(conn, (original, copy), made, "trigger").await
    }
    .await;
    let restored = run(conn, session, "setting the session's sql_mode back").await;
    copied.and(restored)
}

/// The stored procedures and functions of `original`: each row a kind for
/// `SHOW CREATE` and a name.
const ROUTINES: &str = "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = {db} ORDER BY ROUTINE_NAME, ROUTINE_TYPE";

/// The triggers of `original`, in the order they fire on each table and
/// event: each row a name, the `sql_mode` it was made with and the statement
/// making it (`SHOW CREATE TRIGGER` has a column that is not text).
const TRIGGERS: &str = "SELECT TRIGGER_NAME, SQL_MODE, CONCAT('CREATE TRIGGER `', REPLACE(TRIGGER_NAME, '`', '``'), '` ', \
     ACTION_TIMING, ' ', EVENT_MANIPULATION, ' ON `', REPLACE(EVENT_OBJECT_TABLE, '`', '``'), '` FOR EACH ROW ', ACTION_STATEMENT) \
     FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = {db} ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER";

/// Reads the stored procedures and functions of `original` as `SHOW CREATE`
/// writes them: each its name, the `sql_mode` it was made with and its text.
async fn routines(conn: &mut MySqlConnection, original: &str) -> Result<Vec<[String; 3]>> {
    let d = Backend::dialect(conn);
    let listed = Backend::read_table(conn, ROUTINES.replace("{db}", &d.quote_text(original)))
        .await
        .map_err(db("listing the database's stored routines"))?;
    let mut out = Vec::new();
    for row in listed {
        let [Some(kind), Some(name)] = row.as_slice() else {
            continue;
        };
        let read = Backend::read_table(
            conn,
            format!("SHOW CREATE {kind} {}.{}", d.ident(original), d.ident(name)),
        )
        .await
        .map_err(db("reading a stored routine's definition"))?;
        let shown = read.into_iter().next().unwrap_or_default();
        let (Some(Some(mode)), Some(Some(text))) = (shown.get(1), shown.get(2)) else {
            // Listed without its text: the user may see its name but not its body.
            tracing::warn!(
                routine = %name,
                "not copied for the rehearsal: the server shows this user no definition of it (the SHOW_ROUTINE privilege, or SELECT on mysql.proc, would); a step calling it fails in the rehearsal"
            );
            continue;
        };
        out.push([name.clone(), mode.clone(), without_definer(text)]);
    }
    Ok(out)
}

/// The triggers of `original`, as [`routines`] gives its routines.
async fn triggers(conn: &mut MySqlConnection, original: &str) -> Result<Vec<[String; 3]>> {
    let d = Backend::dialect(conn);
    let listed = Backend::read_table(conn, TRIGGERS.replace("{db}", &d.quote_text(original)))
        .await
        .map_err(db("listing the database's triggers"))?;
    Ok(listed
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [Some(name), Some(mode), Some(text)] => Some([name.clone(), mode.clone(), text.clone()]),
            _ => None,
        })
        .collect())
}

/// Makes each of `objects` (a name, the `sql_mode` it was made with, its
/// text) in `copy`, the session's database, under its `sql_mode`, names
/// qualified by `original` qualified by `copy` instead; `what` they are, in
/// messages. A body that still names `original` (a bare `app.audit`, which
/// only the server's own quoting would have let [`requalify`] move) would
/// reach the real database from the copy: the rehearsal is refused. One the
/// server will not make here (binary logging refusing a function another
/// user made) is left out, with a warning.
async fn make_in_copy(
    conn: &mut MySqlConnection,
    (original, copy): (&str, &str),
    objects: Vec<[String; 3]>,
    what: &str,
) -> Result<()> {
    let d = Backend::dialect(conn);
    for [name, mode, text] in objects {
        let mut text = text;
        for q in ['`', '"'] {
            text = requalify(&text, original, copy, q);
        }
        if let Some(named) = migrate_core::sql::naming::naming_database(&text, d, original)
            .into_iter()
            .next()
        {
            return Err(Error::Database {
                context: format!("copying the {what} `{name}` for the rehearsal"),
                source: sqlx::Error::Protocol(format!(
                    "its body {} (line {} of its definition): made in the copy it would change the real database, so this database cannot be rehearsed on a copy; nothing was changed",
                    named.reason, named.line
                )),
            });
        }
        let set = format!("SET SESSION sql_mode = {}", d.quote_text(&mode));
        run(conn, set, "setting the sql_mode a routine or trigger was made with").await?;
        if let Err(e) = Backend::execute(conn, text).await {
            tracing::warn!(
                object = %name,
                error = %crate::error::db_message(&e),
                "the {what} was not copied for the rehearsal: a step using it fails there"
            );
        }
    }
    Ok(())
}

/// `text`, a `CREATE DEFINER=user@host …` as `SHOW CREATE` writes it,
/// without its `DEFINER=…` clause; any other text as it is.
fn without_definer(text: &str) -> String {
    let Some(rest) = text.strip_prefix("CREATE DEFINER=") else {
        return text.to_owned();
    };
    // A name: quoted (its quote doubled inside), or bare up to `@` or a space.
    let name_end = |s: &str| -> usize {
        let mut chars = s.char_indices().peekable();
        match chars.peek() {
            Some(&(_, q @ ('`' | '\'' | '"'))) => {
                chars.next();
                while let Some((i, c)) = chars.next() {
                    if c == q {
                        if chars.peek().map(|&(_, n)| n) == Some(q) {
                            chars.next();
                        } else {
                            return i + c.len_utf8();
                        }
                    }
                }
                s.len()
            }
            _ => s.find(|c: char| c == '@' || c.is_whitespace()).unwrap_or(s.len()),
        }
    };
    let mut at = name_end(rest);
    if rest[at..].starts_with('@') {
        at += 1 + name_end(&rest[at + 1..]);
    }
    format!("CREATE {}", rest[at..].trim_start())
}

/// `text` with each name qualified by database `from` (`` `from`.`t` ``,
/// names quoted with `q`) qualified by `to` instead: only where the name
/// starts a qualified name, never a table or column that shares the
/// database's name (`` `from`.`from`.`id` `` is the table `from`'s column).
fn requalify(text: &str, from: &str, to: &str, q: char) -> String {
    let quoted = |name: &str| format!("{q}{}{q}.", name.replace(q, &format!("{q}{q}")));
    let (from, to) = (quoted(from), quoted(to));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&from) {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        let starts = !out.ends_with('.');
        out.push_str(if starts { &to } else { &from });
        rest = &after[from.len()..];
    }
    out.push_str(rest);
    out
}

/// Creates `views` (read in `original`) in `copy`, the session's database,
/// each once the views it reads are there.
async fn copy_views(conn: &mut MySqlConnection, original: &str, copy: &str, mut views: Vec<String>) -> Result<()> {
    let d = Backend::dialect(conn);
    let mut texts = Vec::new();
    for view in &views {
        let shown = Backend::read_table(
            conn,
            format!("SHOW CREATE VIEW {}.{}", d.ident(original), d.ident(view)),
        )
        .await
        .map_err(db("reading a view's definition"))?;
        let text = shown.into_iter().next().and_then(|r| r.into_iter().nth(1).flatten());
        // The view itself and its tables, named in the original database (the
        // server quotes every name it shows: `db`.`t`, or "db"."t" under
        // ANSI_QUOTES), are the copy's.
        let mut text = text.unwrap_or_default();
        for q in ['`', '"'] {
            text = requalify(&text, original, copy, q);
        }
        texts.push(text);
    }
    let mut last_error = None;
    while !views.is_empty() {
        let before = views.len();
        let mut left = (Vec::new(), Vec::new());
        for (view, text) in views.into_iter().zip(texts) {
            if let Err(e) = Backend::execute(conn, text.clone()).await {
                last_error = Some(e);
                left.0.push(view);
                left.1.push(text);
            }
        }
        (views, texts) = left;
        if views.len() == before {
            return Err(db("copying a view's definition")(
                last_error.unwrap_or(sqlx::Error::RowNotFound),
            ));
        }
    }
    Ok(())
}

/// Goes back to `original`, drops `copy` and lets go of its lock.
pub(super) async fn leave(conn: &mut MySqlConnection, copy: &str, original: &str) -> Result<()> {
    let d = Backend::dialect(conn);
    let back = run(conn, format!("USE {}", d.ident(original)), "going back to the database").await;
    let dropped = run(
        conn,
        format!("DROP DATABASE IF EXISTS {}", d.ident(copy)),
        "dropping the rehearsal's scratch database",
    )
    .await;
    // Only once the copy is gone: a copy whose lock is free is one to sweep.
    let released = match &dropped {
        Ok(()) => let_go(conn, copy).await,
        Err(_) => Ok(()),
    };
    back.and(dropped).and(released)
}

/// Lets go of the lock ([`in_use`]) the session holds on `copy`.
async fn let_go(conn: &mut MySqlConnection, copy: &str) -> Result<()> {
    let release = format!("DO RELEASE_LOCK({})", in_use(conn, copy));
    run(conn, release, "releasing the rehearsal's scratch database").await
}

/// The tables of the session's database.
pub(super) async fn existing_tables(conn: &mut MySqlConnection) -> Option<Vec<String>> {
    Backend::read_strings(
        conn,
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()".into(),
    )
    .await
    .ok()
}

/// The table metadata locks this session holds in its database (MariaDB's
/// `METADATA_LOCK_INFO`); unavailable without the plugin, or on MySQL.
pub(super) async fn held_locks(conn: &mut MySqlConnection) -> HeldLocks {
    let sql = "SELECT TABLE_NAME, LOCK_MODE FROM information_schema.METADATA_LOCK_INFO WHERE THREAD_ID = CONNECTION_ID() AND TABLE_SCHEMA = DATABASE()";
    match Backend::read_table(conn, sql.into()).await {
        Ok(rows) => HeldLocks::Held(
            rows.into_iter()
                .filter_map(|r| {
                    let mut r = r.into_iter();
                    let table = r.next()??;
                    let lock = migrate_core::TableLock::from_mysql_mode(&r.next()??)?;
                    Some((table, lock))
                })
                .collect(),
        ),
        Err(e) => HeldLocks::Unavailable(format!(
            "the server does not list metadata locks ({}): on MariaDB, `INSTALL SONAME 'metadata_lock_info'` (an administrator's statement, for the whole server) lets a rehearsal read them",
            crate::error::db_message(&e)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_names_a_rehearsal_gives_its_copies_are_swept() {
        let copy = scratch_name("app");
        assert!(is_scratch_of(&copy, "app"), "{copy}");
        assert!(is_scratch_of("app_rehearse_0badcafe", "app"));
        // Another database's copy, a name a person chose, or not quite ours.
        assert!(!is_scratch_of("app2_rehearse_0badcafe", "app"));
        assert!(!is_scratch_of("app_rehearse_0badcafe", "app2"));
        assert!(!is_scratch_of("app_rehearse_backup", "app"));
        assert!(!is_scratch_of("app_rehearse_0BADCAFE", "app"));
        assert!(!is_scratch_of("app_rehearse_0badcafe1", "app"));
        assert!(!is_scratch_of("app", "app"));
        // A long name is cut to fit MySQL's 64 characters, and still recognised.
        let long = "a".repeat(60);
        let copy = scratch_name(&long);
        assert_eq!(copy.chars().count(), MAX_NAME);
        assert!(is_scratch_of(&copy, &long), "{copy}");
    }

    #[test]
    fn a_definer_is_left_out_of_a_copied_definition() {
        assert_eq!(
            without_definer(
                "CREATE DEFINER=`root`@`localhost` TRIGGER a_ins AFTER INSERT ON a FOR EACH ROW SET @x = 1"
            ),
            "CREATE TRIGGER a_ins AFTER INSERT ON a FOR EACH ROW SET @x = 1"
        );
        assert_eq!(
            without_definer("CREATE DEFINER=`a``b c`@`%` PROCEDURE `p`() SELECT 1"),
            "CREATE PROCEDURE `p`() SELECT 1"
        );
        assert_eq!(
            without_definer("CREATE DEFINER='app'@'10.0.0.%' FUNCTION f() RETURNS INT RETURN 1"),
            "CREATE FUNCTION f() RETURNS INT RETURN 1"
        );
        assert_eq!(
            without_definer("CREATE DEFINER=CURRENT_USER PROCEDURE p() SELECT 1"),
            "CREATE PROCEDURE p() SELECT 1"
        );
        assert_eq!(
            without_definer("CREATE PROCEDURE p() SELECT 1"),
            "CREATE PROCEDURE p() SELECT 1"
        );
    }

    #[test]
    fn only_the_database_that_qualifies_a_name_is_moved() {
        let shown = "CREATE VIEW `app`.`v` AS select `app`.`app`.`id` AS `id` from `app`.`app` join `app`.`t`";
        assert_eq!(
            requalify(shown, "app", "app_rehearse_1", '`'),
            "CREATE VIEW `app_rehearse_1`.`v` AS select `app_rehearse_1`.`app`.`id` AS `id` from `app_rehearse_1`.`app` join `app_rehearse_1`.`t`"
        );
        assert_eq!(requalify("`a``b`.`t`", "a`b", "c", '`'), "`c`.`t`");
    }
}
