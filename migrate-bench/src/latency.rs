//! Where users wait: a fresh PostgreSQL's and MariaDB's `upgrade head` of N
//! migrations, and an up-to-date start-up, over loopback and through a TCP proxy on loopback
//! that delays each direction by a fixed time, as a CI runner or an
//! application meets a managed database a few milliseconds away. Beside
//! them in the same run: the engine's own floor (`psql` or `mysql` sending the
//! same SQL as one request) and sqlx's migrator, each a whole
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

/// The engine a row is measured on, and how its own client is run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engine {
    Postgres,
    Mariadb,
}

impl Engine {
    fn server(self) -> String {
        match self {
            Engine::Postgres => measure::postgres_server(),
            Engine::Mariadb => {
                std::env::var("MIGRATE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
            }
        }
    }

    fn upstream(self, url: &str) -> SocketAddr {
        let rest = url.split_once("://").unwrap().1;
        let authority = rest.split('/').next().unwrap();
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let port = match self {
            Engine::Postgres => 5432,
            Engine::Mariadb => 3306,
        };
        let host = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:{port}")
        };
        host.replace("localhost", "127.0.0.1").parse().unwrap()
    }

    /// The engine's client connected to `url`, quiet, stopping at the first error.
    pub(crate) fn client(self, url: &str) -> Command {
        match self {
            Engine::Postgres => {
                let mut c = Command::new("psql");
                c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]);
                c
            }
            Engine::Mariadb => {
                let rest = url.split_once("://").unwrap().1;
                let (authority, database) = rest.split_once('/').unwrap();
                let (user, host) = authority.rsplit_once('@').unwrap_or(("root", authority));
                let (host, port) = host.split_once(':').unwrap_or((host, "3306"));
                let mut c = Command::new("mysql");
                c.args(["-h", host, "-P", port, "-u", user, "--batch", "--skip-column-names"]);
                c.arg(database.split('?').next().unwrap());
                c
            }
        }
    }

    /// The first value `sql` reads, as a number.
    pub(crate) fn count(self, url: &str, sql: &str) -> i64 {
        let mut client = self.client(url);
        match self {
            Engine::Postgres => client.args(["-At", "-c", sql]),
            Engine::Mariadb => client.args(["-e", sql]),
        };
        let out = client.output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(-1)
    }

    /// A fresh database on the engine's server.
    pub(crate) async fn fresh(self) -> Database {
        match self {
            Engine::Postgres => {
                let db = Fresh::new(Kind::Postgres).await;
                Database {
                    url: db.url.clone(),
                    engine: self,
                    postgres: Some(db),
                }
            }
            Engine::Mariadb => {
                let server = self.server();
                let name = measure::fresh_name();
                let out = self
                    .client(&server)
                    .args(["-e", &format!("CREATE DATABASE {name}")])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                let (base, _) = server.rsplit_once('/').unwrap();
                Database {
                    url: format!("{base}/{name}"),
                    engine: self,
                    postgres: None,
                }
            }
        }
    }
}

/// A fresh database of a row; [`drop_now`](Database::drop_now) drops it.
pub(crate) struct Database {
    pub(crate) url: String,
    engine: Engine,
    postgres: Option<Fresh>,
}

impl Database {
    pub(crate) async fn drop_now(self) {
        match self.postgres {
            Some(db) => db.drop_now().await,
            None => {
                let name = self.url.rsplit_once('/').unwrap().1.to_owned();
                let server = self.engine.server();
                let _ = self
                    .engine
                    .client(&server)
                    .args(["-e", &format!("DROP DATABASE IF EXISTS {name}")])
                    .output();
            }
        }
    }
}

/// One whole process `app mode url` on a fresh database; its time, and then
/// a check of what it applied.
async fn app_run(engine: Engine, app: &Path, mode: &str, n: usize, link: Option<u16>) -> Duration {
    let db = engine.fresh().await;
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
    assert_eq!(
        engine.count(&db.url, &format!("SELECT count(*) FROM {table}")),
        n as i64
    );
    db.drop_now().await;
    took
}

/// The floor: the engine's client sending the N migrations and a small
/// history row each as one request. `psql`: between `BEGIN` and `COMMIT`,
/// its statements joined by `\;`, which sends them together. `mysql`: the
/// whole text as one statement of a delimiter it does not contain, which the
/// server runs as the statements it holds (its DDL commits each at once, so
/// there is no transaction to frame it in).
async fn floor_run(engine: Engine, n: usize, link: Option<u16>) -> Duration {
    let db = engine.fresh().await;
    let url = link.map_or_else(|| db.url.clone(), |p| through(&db.url, p));
    let body = measure::floor_script(Kind::Postgres, n, Shape::OneTransaction);
    let body = body.trim_end().trim_end_matches(';');
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut client = engine.client(&url);
    match engine {
        Engine::Postgres => {
            let joined = body.replace(";\n", " \\;\n");
            std::fs::write(file.path(), format!("BEGIN \\;\n{joined} \\;\nCOMMIT;\n")).unwrap();
            client.arg("-f").arg(file.path());
        }
        Engine::Mariadb => {
            assert!(!body.contains("$$"));
            std::fs::write(file.path(), format!("{body};\n$$\n")).unwrap();
            client
                .arg("--delimiter=$$")
                .stdin(std::fs::File::open(file.path()).unwrap());
        }
    }
    let t = Instant::now();
    let out = client.output().unwrap();
    let took = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(engine.count(&db.url, "SELECT count(*) FROM floor_history"), n as i64);
    db.drop_now().await;
    took
}

/// Up to date: each way applied on a database of its own, then each process
/// started again on its database (connect, check, exit), and the engine's
/// client connecting for one query.
async fn startup(engine: Engine, app: &Path, link: Option<u16>, reps: usize) -> [Duration; 3] {
    let dbs = [engine.fresh().await, engine.fresh().await];
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
        assert_eq!(engine.count(&urls[0], "SELECT 1"), 1);
        samples[2].push(t.elapsed());
    }
    for db in dbs {
        db.drop_now().await;
    }
    samples.map(measure::median)
}

/// The section: fresh apply and start-up, over loopback and through a proxy
/// delaying each direction by `delay_ms`, for N = `n`, on PostgreSQL and, when
/// its server answers, MariaDB (`only`: that engine alone, `postgres` or `mariadb`).
pub async fn print(n: usize, delay_ms: u64, only: Option<&str>) {
    let app = crate::rebuild::latency_app(n);
    println!(
        "\n## Where users wait: over loopback and through a proxy adding {delay_ms} ms each way (N = {n}; median, whole processes)\n"
    );
    println!(
        "| engine | link | fresh apply: migrate (ms) | floor: its client, one request (ms) | migrate / floor | sqlx's migrator (ms) | migrate / sqlx | up to date: migrate (ms) | sqlx (ms) | floor: its client, one query (ms) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let engines = [(Engine::Postgres, "postgres"), (Engine::Mariadb, "mariadb")];
    for engine in engines
        .into_iter()
        .filter(|(_, name)| only.is_none_or(|o| o == *name))
        .map(|(e, _)| e)
    {
        let server = engine.server();
        if engine == Engine::Mariadb && engine.count(&server, "SELECT 1") != 1 {
            eprintln!("MariaDB is not reachable at {server}: its rows are left out");
            continue;
        }
        let port = proxy(engine.upstream(&server), Duration::from_millis(delay_ms));
        // PostgreSQL's runs are short and this machine's timings wander: more of them. sqlx's
        // migrator through the link takes a minute a run (far from the others): three runs.
        let reps = if engine == Engine::Postgres { 11 } else { 5 };
        for (name, link, reps, sqlx_reps) in [("loopback", None, reps, reps), ("proxy", Some(port), reps, 3)] {
            let (mut ours, mut floor, mut sqlx) = (Vec::new(), Vec::new(), Vec::new());
            for k in 0..reps {
                ours.push(app_run(engine, &app, "migrate", n, link).await);
                floor.push(floor_run(engine, n, link).await);
                if k < sqlx_reps {
                    sqlx.push(app_run(engine, &app, "sqlx", n, link).await);
                }
            }
            let (ours, floor, sqlx) = (measure::median(ours), measure::median(floor), measure::median(sqlx));
            let [up_ours, up_sqlx, up_floor] = startup(engine, &app, link, 11).await;
            let label = if link.is_some() {
                format!("{name}, +{delay_ms} ms each way")
            } else {
                name.to_owned()
            };
            println!(
                "| {} at {server} | {label} | {} | {} | {} | {} | {} | {} | {} | {} |",
                match engine {
                    Engine::Postgres => "PostgreSQL",
                    Engine::Mariadb => "MariaDB",
                },
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
}
