//! Where users wait: a fresh PostgreSQL's `upgrade head` of N migrations, and
//! an up-to-date start-up, over loopback and through a TCP proxy on loopback
//! that delays each direction by a fixed time, as a CI runner or an
//! application meets a managed database a few milliseconds away. Beside
//! them in the same run: the engine's own floor (`psql` sending the same SQL
//! in one transaction as one request) and sqlx's migrator, each a whole
//! process of its own on a fresh database. Run it against a server whose
//! data is on tmpfs (`.ci/engines/postgres-tmpfs`), where commits cost what a
//! fast disk makes them cost and requests are what is left.

use crate::measure::{self, Fresh, Kind, Shape};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A TCP proxy on loopback in front of `upstream`, delaying every chunk, each
/// way, by `delay` (a link's one-way latency: chunks keep their order and are
/// not slowed by one another), on a thread and runtime of its own (the
/// benchmark waits for its child processes on its own thread). Returns the
/// port it listens on.
fn proxy(upstream: SocketAddr, delay: Duration) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, delay));
                tokio::spawn(pump(sr, cw, delay));
            }
        });
    });
    rx.recv().unwrap()
}

/// Copies `from` to `to`, each chunk written `delay` after it was read.
async fn pump(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, delay: Duration) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due.into()).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.await;
}

/// `url` with its host and port replaced by the proxy's.
fn through(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let user = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    format!("{scheme}://{user}127.0.0.1:{port}/{path}")
}

fn upstream(url: &str) -> SocketAddr {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    };
    host.replace("localhost", "127.0.0.1").parse().unwrap()
}

/// How many rows the run left in `table` (its revisions).
fn rows(url: &str, sql: &str) -> i64 {
    let out = Command::new("psql")
        .args(["-X", "-Atq", "-d", url, "-c", sql])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(-1)
}

/// One whole process `app mode url` on a fresh database; its time, and then
/// a check of what it applied.
async fn app_run(app: &Path, mode: &str, n: usize, link: Option<u16>) -> Duration {
    let db = Fresh::new(Kind::Postgres).await;
    let url = link.map_or_else(|| db.url.clone(), |p| through(&db.url, p));
    let t = Instant::now();
    let out = Command::new(app).args([mode, &url]).output().unwrap();
    let took = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = if mode == "migrate" {
        "migrate_history WHERE revision <> ''"
    } else {
        "_sqlx_migrations"
    };
    assert_eq!(rows(&db.url, &format!("SELECT count(*) FROM {table}")), n as i64);
    db.drop_now().await;
    took
}

/// The floor: `psql` sending the N migrations and a small history row each,
/// between `BEGIN` and `COMMIT`, as one request (its statements joined by
/// psql's `\;`, which sends them together).
async fn floor_run(n: usize, link: Option<u16>) -> Duration {
    let db = Fresh::new(Kind::Postgres).await;
    let url = link.map_or_else(|| db.url.clone(), |p| through(&db.url, p));
    let body = measure::floor_script(Kind::Postgres, n, Shape::OneTransaction);
    let joined = body.trim_end().trim_end_matches(';').replace(";\n", " \\;\n");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("BEGIN \\;\n{joined} \\;\nCOMMIT;\n")).unwrap();
    let t = Instant::now();
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &url, "-f"])
        .arg(file.path())
        .output()
        .unwrap();
    let took = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(rows(&db.url, "SELECT count(*) FROM floor_history"), n as i64);
    db.drop_now().await;
    took
}

/// Up to date: each way applied on a database of its own, then each process
/// started again on its database (connect, check, exit), and `psql`
/// connecting for one query.
async fn startup(app: &Path, link: Option<u16>, reps: usize) -> [Duration; 3] {
    let dbs = [Fresh::new(Kind::Postgres).await, Fresh::new(Kind::Postgres).await];
    let urls: Vec<String> = dbs
        .iter()
        .map(|d| link.map_or_else(|| d.url.clone(), |p| through(&d.url, p)))
        .collect();
    for (db, mode) in dbs.iter().zip(["migrate", "sqlx"]) {
        assert!(
            Command::new(app)
                .args([mode, &db.url])
                .output()
                .unwrap()
                .status
                .success()
        );
    }
    let mut samples: [Vec<Duration>; 3] = Default::default();
    for _ in 0..reps {
        for (k, mode) in ["migrate", "sqlx"].into_iter().enumerate() {
            let t = Instant::now();
            let out = Command::new(app).args([mode, &urls[k]]).output().unwrap();
            samples[k].push(t.elapsed());
            assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "0");
        }
        let t = Instant::now();
        assert!(
            Command::new("psql")
                .args(["-X", "-Atq", "-d", &urls[0], "-c", "SELECT 1"])
                .output()
                .unwrap()
                .status
                .success()
        );
        samples[2].push(t.elapsed());
    }
    for db in dbs {
        db.drop_now().await;
    }
    samples.map(measure::median)
}

/// The section: fresh apply and start-up, over loopback and through a proxy
/// delaying each direction by `delay_ms`, for N = `n`.
pub async fn print(n: usize, delay_ms: u64) {
    let app = crate::rebuild::latency_app(n);
    let server = measure::postgres_server();
    let port = proxy(upstream(&server), Duration::from_millis(delay_ms));
    println!(
        "\n## Where users wait: PostgreSQL at {server}, over loopback and through a proxy adding {delay_ms} ms each way (N = {n}; median, whole processes)\n"
    );
    println!(
        "| link | fresh apply: migrate (ms) | floor: psql, one request (ms) | migrate / floor | sqlx's migrator (ms) | migrate / sqlx | up to date: migrate (ms) | sqlx (ms) | floor: psql, one query (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, link, reps) in [("loopback", None, 5), ("proxy", Some(port), 3)] {
        let (mut ours, mut floor, mut sqlx) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            ours.push(app_run(&app, "migrate", n, link).await);
            floor.push(floor_run(n, link).await);
            sqlx.push(app_run(&app, "sqlx", n, link).await);
        }
        let (ours, floor, sqlx) = (measure::median(ours), measure::median(floor), measure::median(sqlx));
        let [up_ours, up_sqlx, up_floor] = startup(&app, link, 11).await;
        let label = if link.is_some() {
            format!("{name}, +{delay_ms} ms each way")
        } else {
            name.to_owned()
        };
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} |",
            crate::ms(ours),
            crate::ms(floor),
            crate::ratio(ours, floor),
            crate::ms(sqlx),
            crate::ratio(ours, sqlx),
            crate::ms(up_ours),
            crate::ms(up_sqlx),
            crate::ms(up_floor)
        );
    }
}
