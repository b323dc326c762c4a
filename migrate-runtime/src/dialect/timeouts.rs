//! The session settings that bound a step's lock waits and statements, on
//! each database: what the drivers' guards set and offline scripts write.

use super::Dialect;
use std::time::Duration;

/// The largest `lock_timeout`/`statement_timeout` PostgreSQL takes, in ms.
const POSTGRES_MAX_MS: u128 = i32::MAX as u128;

/// The largest lock wait MySQL and MariaDB take, in seconds (a year).
const MYSQL_MAX_SECS: u128 = 31_536_000;

/// The session settings that bound a step's lock waits (`lock`) and its
/// statements (`statement`) on `d`, each as `(setting, value)`: PostgreSQL's
/// `lock_timeout` and `statement_timeout` in milliseconds; MySQL's
/// `lock_wait_timeout` and `innodb_lock_wait_timeout` in whole seconds (at
/// least one: metadata locks and row locks) and MariaDB's
/// `max_statement_time` (`mariadb`) or MySQL's `max_execution_time`; none on
/// SQLite, whose run holds its database's one write lock.
pub(crate) fn timeout_settings(
    d: Dialect,
    lock: Option<Duration>,
    statement: Option<Duration>,
    mariadb: bool,
) -> Vec<(&'static str, String)> {
    let mut set = Vec::new();
    match d {
        Dialect::Sqlite => {}
        Dialect::Postgres => {
            let ms = |t: Duration| format!("'{}ms'", t.as_millis().min(POSTGRES_MAX_MS));
            set.extend(lock.map(|t| ("lock_timeout", ms(t))));
            set.extend(statement.map(|t| ("statement_timeout", ms(t))));
        }
        Dialect::Mysql => {
            if let Some(t) = lock {
                let secs = t.as_millis().div_ceil(1000).clamp(1, MYSQL_MAX_SECS).to_string();
                set.push(("lock_wait_timeout", secs.clone()));
                set.push(("innodb_lock_wait_timeout", secs));
            }
            set.extend(statement.map(|t| match mariadb {
                true => (
                    "max_statement_time",
                    format!("{:.3}", t.as_secs_f64().clamp(0.001, MYSQL_MAX_SECS as f64)),
                ),
                false => (
                    "max_execution_time",
                    t.as_millis().clamp(1, u32::MAX as u128).to_string(),
                ),
            }));
        }
    }
    set
}
