//! Database URLs: the one masker of the credentials in them, and the URL
//! of another database on the same server.
//!
//! A password is found wherever a driver would read one: the userinfo
//! (`scheme://user:password@host`, also with unencoded `/`, `?`, `#` or `@`
//! in it, and with the scheme forgotten) and the values of `password=`,
//! `sslpassword=` and other secret query parameters, in any spelling.

use std::ops::Range;

/// The URL after its `scheme://`, or all of it when it has no `://`.
pub fn after_scheme(url: &str) -> &str {
    url.split_once("://").map_or(url, |(_, rest)| rest)
}

/// Where a URL's userinfo ends: the `@` before the host. A password may hold
/// unencoded `/`, `?`, `#` or `@`, so this takes the last `@` before the query,
/// or else the last `@` at all when a `:` before it can start a password
/// (an `@` in a query value alone ends no userinfo). `rest` is the URL after
/// `scheme://` (or the whole text when the scheme was forgotten).
pub fn userinfo_end(rest: &str) -> Option<usize> {
    let head = rest.split(['?', '#']).next().unwrap_or("");
    head.rfind('@')
        .or_else(|| rest.rfind('@').filter(|&at| rest[..at].contains(':')))
}

/// Query parameters whose values are credentials, in any driver's spelling.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "passwd", "secret", "token"]
        .iter()
        .any(|k| key.contains(k))
        || key == "pass"
        || key == "pwd"
}

/// Where each credential of `url` is, as byte ranges of it: the userinfo
/// password, then the values of secret query parameters. Empty ones are left out.
fn secret_spans(url: &str) -> Vec<Range<usize>> {
    let rest = after_scheme(url);
    let offset = url.len() - rest.len();
    let mut spans = Vec::new();
    let at = userinfo_end(rest);
    if let Some(at) = at
        && let Some(colon) = rest[..at].find(':')
    {
        spans.push(offset + colon + 1..offset + at);
    }
    let query_from = at.map_or(0, |at| at + 1);
    if let Some(q) = rest[query_from..].find('?') {
        let mut start = offset + query_from + q + 1;
        let query = url[start..].split('#').next().unwrap_or("");
        for pair in query.split(['&', ';']) {
            if let Some((key, value)) = pair.split_once('=')
                && is_secret_key(&percent_decode(key))
            {
                let value_start = start + key.len() + 1;
                spans.push(value_start..value_start + value.len());
            }
            start += pair.len() + 1;
        }
    }
    spans.retain(|s| !s.is_empty());
    spans
}

/// Every credential in `url`, as written and percent-decoded.
pub fn passwords(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    for span in secret_spans(url) {
        let secret = &url[span];
        let decoded = percent_decode(secret);
        if decoded != secret && !decoded.is_empty() {
            out.push(decoded);
        }
        out.push(secret.to_owned());
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `url` with every credential in it replaced by `***`: the userinfo
/// password (`postgres://u:***@host/db`) and the values of `password=`,
/// `sslpassword=` and the other secret parameters. What every message that
/// names a URL prints.
pub fn masked(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut from = 0;
    for span in secret_spans(url) {
        out.push_str(&url[from..span.start]);
        out.push_str("***");
        from = span.end;
    }
    out.push_str(&url[from..]);
    out
}

/// `text` with every credential of each of `urls` replaced by `***`,
/// wherever it appears (a driver's message may quote it, decoded or not).
pub fn redact(text: &str, urls: &[&str]) -> String {
    let mut secrets: Vec<String> = urls.iter().flat_map(|u| passwords(u)).collect();
    // Longest first, so a password containing another is hidden whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_owned();
    for s in secrets {
        out = out.replace(&s, "***");
    }
    out
}

/// The scheme and host of a URL, and nothing else: what an error shows of a
/// URL that does not parse, so no part of a credential can be in it.
pub fn scheme_and_host(url: &str) -> String {
    let rest = after_scheme(url);
    let host_start = userinfo_end(rest).map_or(0, |at| at + 1);
    let host = rest[host_start..].split(['/', '?', '#', ':']).next().unwrap_or("");
    match url.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://{host}/…"),
        None => format!("{host}/…"),
    }
}

/// `url` with its path (the database) replaced by `name`, its query kept.
pub fn with_database(url: &str, name: &str) -> String {
    let rest = after_scheme(url);
    let offset = url.len() - rest.len();
    let host_start = offset + userinfo_end(rest).map_or(0, |at| at + 1);
    let tail = &url[host_start..];
    let host_end = host_start + tail.find(['/', '?', '#']).unwrap_or(tail.len());
    let query = url[host_end..].find('?').map(|q| &url[host_end + q..]);
    format!("{}/{name}{}", &url[..host_end], query.unwrap_or(""))
}

/// Which database `url` reaches, written one way for every way of writing
/// it: the scheme (`postgresql` is `postgres`, `mariadb` is `mysql`), the
/// user, the host (lower case), the port (the default when none is given),
/// the database (PostgreSQL's default: the user's name), the password and
/// other options left out; for SQLite, the file's canonical path. `None`
/// for a database in memory, which no other URL reaches.
pub fn identity(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once(':')?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "postgresql" | "postgres" => "postgres",
        "mysql" | "mariadb" => "mysql",
        "sqlite" => return sqlite_identity(rest),
        _ => return Some(url.to_owned()),
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (head, query) = rest.split_once('?').unwrap_or((rest, ""));
    let at = userinfo_end(head);
    let user = at.map_or("", |at| head[..at].split(':').next().unwrap_or(""));
    let location = at.map_or(head, |at| &head[at + 1..]);
    let (host_port, database) = location.split_once('/').unwrap_or((location, ""));
    let (mut host, mut port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h.to_owned(), p.to_owned()),
        _ => (host_port.to_owned(), String::new()),
    };
    let (mut user, mut database) = (percent_decode(user), percent_decode(database.trim_end_matches('/')));
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match key {
            "user" => user = value,
            "host" => host = value,
            "port" => port = value,
            "dbname" | "database" => database = value,
            _ => {}
        }
    }
    if port.is_empty() {
        port = if scheme == "postgres" { "5432" } else { "3306" }.to_owned();
    }
    if database.is_empty() && scheme == "postgres" {
        database = user.clone();
    }
    Some(format!("{scheme}://{user}@{}:{port}/{database}", host.to_lowercase()))
}

/// A SQLite URL's file, canonical (its folder's when the file is not there yet).
fn sqlite_identity(rest: &str) -> Option<String> {
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = path.strip_prefix("//").unwrap_or(path);
    let memory = query.split('&').any(|p| p == "mode=memory");
    if path.is_empty() || path == ":memory:" || memory {
        return None;
    }
    let path = std::path::Path::new(path);
    let canonical = std::fs::canonicalize(path).ok().or_else(|| {
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(".".as_ref());
        Some(std::fs::canonicalize(parent).ok()?.join(path.file_name()?))
    });
    let shown = canonical.unwrap_or_else(|| path.to_path_buf());
    Some(format!("sqlite:{}", shown.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_credential_is_masked() {
        assert_eq!(masked("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(masked("mysql://root@h"), "mysql://root@h");
        assert_eq!(
            masked("postgres://u@h/db?password=secret&sslmode=disable"),
            "postgres://u@h/db?password=***&sslmode=disable"
        );
        assert_eq!(
            masked("postgres://u:pw@h/db?sslpassword=key%2Fpw&Password=x"),
            "postgres://u:***@h/db?sslpassword=***&Password=***"
        );
        assert_eq!(masked("postgres://u:S3/cret@h:5999/x"), "postgres://u:***@h:5999/x");
        assert_eq!(
            masked("postgres://u:a?b@h/x?password=c"),
            "postgres://u:***@h/x?password=***"
        );
        assert_eq!(masked("u:S3cret@h/x"), "u:***@h/x");
        assert_eq!(masked("sqlite:app.db?mode=rwc"), "sqlite:app.db?mode=rwc");
        assert_eq!(masked("postgres://h/db?password=a@b"), "postgres://h/db?password=***");
    }

    #[test]
    fn passwords_are_found_decoded_too() {
        assert_eq!(passwords("postgres://u:p%40ss@h/x"), ["p@ss", "p%40ss"]);
        assert_eq!(
            redact("at postgres://u:pw@h: bad pw", &["postgres://u:pw@h"]),
            "at postgres://u:***@h: bad ***"
        );
    }

    #[test]
    fn one_database_however_its_url_is_written() {
        let same = |a: &str, b: &str| identity(a).is_some() && identity(a) == identity(b);
        assert!(same(
            "postgres://u:x@Host/db",
            "postgresql://u:y@host:5432/db?sslmode=disable"
        ));
        assert!(same("postgres://u@h", "postgres://u@h:5432/u"));
        assert!(same("postgres://h/db?user=u", "postgres://u@h/db"));
        assert!(same("mysql://root@h/db", "mariadb://root:pw@h:3306/db"));
        assert!(!same("postgres://u@h/db", "postgres://v@h/db"));
        assert!(!same("postgres://u@h/db", "postgres://u@h:5433/db"));
        assert!(!same("postgres://u@h/db", "postgres://u@h/other"));
        assert!(!same("sqlite::memory:", "sqlite::memory:"));
        let dir = std::env::temp_dir();
        let file = dir.join("migrate_identity_test.db");
        let a = format!("sqlite:{}", file.display());
        let b = format!("sqlite://{}/./migrate_identity_test.db?mode=rwc", dir.display());
        assert!(same(&a, &b), "{a} {b}");
    }

    #[test]
    fn another_database_on_the_same_server() {
        assert_eq!(
            with_database("postgres://u@h:5432/test?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("mysql://root@h:3306", "x"), "mysql://root@h:3306/x");
        assert_eq!(with_database("postgres://u:a/b@h/db", "x"), "postgres://u:a/b@h/x");
        assert_eq!(scheme_and_host("postgres://u:S3/cret@h:5999/x"), "postgres://h/…");
        assert_eq!(scheme_and_host("u:S3cret@h/x"), "h/…");
    }
}
