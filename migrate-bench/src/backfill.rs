//! A backfill where users run it: 1,000,000 rows on PostgreSQL and MariaDB,
//! an application calling `upgrade` on a `-- migrate:phase: backfill`
//! revision (each batch a transaction of its own with its progress recorded),
//! SQL, and the same as a Rust revision whose closure (`migrate::backfill`)
//! sends the same `UPDATE` with the range bound,
//! beside the engine's floor: its client sending the same `UPDATE` over the
//! same ranges in one session, each range a transaction of its own. Each run
//! is a whole process on a fresh database filled the same way (untimed); the
//! two alternate, round after round.

use crate::latency::Engine;
use std::process::Command;
use std::time::{Duration, Instant};

/// The backfill's statement, its digest expression written for the engine.
pub fn statement(digest: &str) -> String {
    format!("UPDATE t SET n = n + 1, v = {digest} WHERE id >= :start AND id < :end;")
}

/// The engine's digest expression.
fn digest(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "md5(id::text)",
        Engine::Mariadb => "md5(id)",
    }
}

/// The floor's script: the backfill's ranges (from the key's minimum, 1, to
/// its maximum, `rows`, `batch` a range), each `UPDATE` between `BEGIN` and `COMMIT`.
fn floor_script(engine: Engine, rows: usize, batch: usize) -> String {
    let mut script = String::new();
    let mut start = 1;
    while start <= rows {
        let end = start + batch;
        let update = statement(digest(engine))
            .replace(":start", &start.to_string())
            .replace(":end", &end.to_string());
        script.push_str(&format!("BEGIN;\n{update}\nCOMMIT;\n"));
        start = end;
    }
    script
}

/// Runs `app URL TARGET [rust]`, asserting it applied `steps`.
fn app(binary: &std::path::Path, url: &str, target: &str, steps: usize, rust: bool) -> Duration {
    let t = Instant::now();
    let which = if rust { "rust" } else { "sql" };
    let out = Command::new(binary).args([url, target, which]).output().unwrap();
    let took = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), steps.to_string());
    took
}

/// The application's backfill (the SQL revision, or the Rust one) on a
/// fresh database whose table the application filled (`upgrade a1`, untimed).
async fn ours(engine: Engine, binary: &std::path::Path, rows: usize, rust: bool) -> Duration {
    let db = engine.fresh().await;
    app(binary, &db.url, "a1", 1, rust);
    let took = app(binary, &db.url, "head", 1, rust);
    assert_eq!(
        engine.count(&db.url, "SELECT count(*) FROM t WHERE n = 1 AND v IS NOT NULL"),
        rows as i64,
        "every row updated exactly once"
    );
    db.drop_now().await;
    took
}

/// One round: the application's backfill (SQL, then Rust), and the floor,
/// each on a fresh database whose table the application filled (`upgrade
/// a1`, untimed).
async fn round(engine: Engine, binary: &std::path::Path, rows: usize, batch: usize) -> (Duration, Duration, Duration) {
    let check = |url: &str| {
        assert_eq!(
            engine.count(url, "SELECT count(*) FROM t WHERE n = 1 AND v IS NOT NULL"),
            rows as i64,
            "every row updated exactly once"
        );
    };
    let sql = ours(engine, binary, rows, false).await;
    let rust = ours(engine, binary, rows, true).await;

    let db = engine.fresh().await;
    app(binary, &db.url, "a1", 1, false);
    let script = floor_script(engine, rows, batch);
    let mut client = engine.client(&db.url);
    client.stdin(std::process::Stdio::piped());
    let t = Instant::now();
    let mut child = client.spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let floor = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    check(&db.url);
    db.drop_now().await;
    (sql, rust, floor)
}

/// Prints the backfill's table: each engine, `reps` rounds, medians; a row
/// for the SQL revision and one for the Rust revision, beside the same floor.
pub async fn print(rows: usize, batch: usize, reps: usize) {
    let binary = crate::rebuild::backfill_app(rows, batch);
    println!(
        "\n## A backfill of {rows} rows, {batch} a batch: an application calling `upgrade`, beside the engine's client sending the same `UPDATE` over the same ranges (median of {reps})\n"
    );
    println!(
        "| engine | revision | migrate (ms) | floor: its client, one session (ms) | migrate / floor | rows/s, migrate |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    for engine in [Engine::Postgres, Engine::Mariadb] {
        let (mut sql, mut rust, mut floor) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            let (s, r, f) = round(engine, &binary, rows, batch).await;
            sql.push(s);
            rust.push(r);
            floor.push(f);
        }
        let floor = crate::measure::median(floor);
        let name = match engine {
            Engine::Postgres => "PostgreSQL",
            Engine::Mariadb => "MariaDB",
        };
        for (revision, runs) in [("SQL", sql), ("Rust (`migrate::backfill`)", rust)] {
            let ours = crate::measure::median(runs);
            println!(
                "| {name} | {revision} | {} | {} | {} | {:.0} |",
                crate::ms(ours),
                crate::ms(floor),
                crate::ratio(ours, floor),
                rows as f64 / ours.as_secs_f64()
            );
        }
    }
}
