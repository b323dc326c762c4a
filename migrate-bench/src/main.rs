//! `migrate-bench`: measures migrate beside sqlx's own migrator and the
//! raw-SQL floor, in the same run, and prints Markdown tables.
//!
//! ```text
//! cargo run --release -p migrate-bench            # everything (see BENCHMARKS.md)
//! cargo run --release -p migrate-bench -- --smoke # a small N, seconds
//! cargo run --release -p migrate-bench -- --only-rebuild # the application rebuild and its stripped size, N = 1, 1,000, 10,000 (--n N)
//! cargo run --release -p migrate-bench -- --only-size    # the stripped binaries alone, N = 1 and 1,000 (--n N), nothing timed
//! cargo run --release -p migrate-bench -- --only-backfill # 1,000,000 rows backfilled 50,000 a batch on PostgreSQL and MariaDB, as a SQL and as a Rust revision, beside psql/mysql (--rows N, --batch N, --reps N rounds)
//! cargo run --release -p migrate-bench -- --only-noop    # the no-op start-up alone
//! cargo run --release -p migrate-bench -- --only-bases   # several bases, N = 330 and 10,000
//! cargo run --release -p migrate-bench -- --only-deploy  # lease vs advisory start-up; fleets of databases and schemas
//! cargo run --release -p migrate-bench -- --only-latency # PostgreSQL and MariaDB fresh apply and start-up, loopback and through a 5 ms proxy (--n N, --delay-ms D, --engine postgres|mariadb)
//! cargo run --release -p migrate-bench -- --only-apply   # a chain of N applied by an application, beside sqlite3/psql (--n N: one size)
//! cargo run --release -p migrate-bench -- --only-autogenerate # revision --autogenerate on 160 revisions, 60 tables
//! cargo run --release -p migrate-bench -- --only-test-db # a database ready for one test: #[migrate::test] beside #[sqlx::test]'s way
//! ```

mod autogen;
mod backfill;
mod count;
mod deploy;
mod generate;
mod latency;
mod measure;
mod rebuild;
mod testdb;

use measure::{Kind, Workload};
use std::time::Duration;

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn ratio(a: Duration, b: Duration) -> String {
    let r = a.as_secs_f64() / b.as_secs_f64();
    if r < 0.1 {
        format!("{r:.3}×")
    } else {
        format!("{r:.2}×")
    }
}

async fn postgres_reachable() -> bool {
    use sqlx::Connection;
    sqlx::PgConnection::connect(&measure::postgres_server()).await.is_ok()
}

/// `--child apply-ours|apply-sqlx DIR URL`: applies everything and prints the peak memory.
/// `--child exec-sqlite PATH SCRIPT`: SCRIPT through the SQLite library's `sqlite3_exec`.
/// `--child start-up advisory|lease TARGET DIR URL [SCRIPT]`: an application's
/// start-up, `upgrade TARGET` in that lock mode; with SCRIPT, the statements it
/// sent are written there (for the engine's client to send the same).
async fn child(args: &[String]) {
    if args[0] == "start-up" {
        return deploy::start_up_child(&args[1..]).await;
    }
    if args[0] == "exec-sqlite" {
        return measure::exec_sqlite(&args[1], std::path::Path::new(&args[2]));
    }
    let (what, dir, url) = (&args[0], std::path::Path::new(&args[1]), &args[2]);
    if args.len() > 3 {
        count::record();
    }
    let pool = measure::pool(url).await;
    match what.as_str() {
        "apply-ours" => {
            pool.ours_upgrade(&migrate::load(dir).unwrap()).await;
            if let Some(script) = args.get(3) {
                std::fs::write(script, count::script()).unwrap();
                return;
            }
        }
        _ => pool.sqlx_run(&sqlx::migrate::Migrator::new(dir).await.unwrap()).await,
    }
    println!("{}", measure::peak_rss_kb());
}

async fn peak_memory(kind: Kind, w: &Workload) -> (u64, u64) {
    let mut out = [0u64; 2];
    for (k, (what, dir)) in [("apply-ours", &w.ours_dir), ("apply-sqlx", &w.sqlx_dir)]
        .into_iter()
        .enumerate()
    {
        let db = measure::Fresh::new(kind).await;
        let run = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--child", what, &dir.display().to_string(), &db.url])
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        out[k] = String::from_utf8_lossy(&run.stdout).trim().parse().unwrap();
        db.drop_now().await;
    }
    (out[0], out[1])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if args.first().map(String::as_str) == Some("--child") {
        return rt.block_on(child(&args[1..]));
    }
    if args.iter().any(|a| a == "--only-rebuild") {
        // `--n 1000`: that size alone.
        let sizes: Vec<usize> = match args.iter().position(|a| a == "--n").and_then(|i| args.get(i + 1)) {
            Some(n) => vec![n.parse().expect("--n takes a number")],
            None => vec![1, 1_000, 10_000],
        };
        return print_app_rebuild(&sizes);
    }
    if args.iter().any(|a| a == "--only-size") {
        let sizes: Vec<usize> = match args.iter().position(|a| a == "--n").and_then(|i| args.get(i + 1)) {
            Some(n) => vec![n.parse().expect("--n takes a number")],
            None => vec![1, 1_000],
        };
        return print_sizes(&sizes);
    }
    if args.iter().any(|a| a == "--only-backfill") {
        // `--rows N`, `--batch N`: another size.
        let number = |flag: &str, default: usize| {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .map_or(default, |n| n.parse().expect("a number"))
        };
        return rt.block_on(backfill::print(
            number("--rows", 1_000_000),
            number("--batch", 50_000),
            number("--reps", 3),
        ));
    }
    if args.iter().any(|a| a == "--only-deploy") {
        return rt.block_on(deploy::print());
    }
    if args.iter().any(|a| a == "--only-test-db") {
        return rt.block_on(testdb::print(1_000));
    }
    if args.iter().any(|a| a == "--only-autogenerate") {
        return autogen::print();
    }
    if args.iter().any(|a| a == "--only-apply") {
        // `--n 1000`: that size alone.
        let sizes: Vec<usize> = match args.iter().position(|a| a == "--n").and_then(|i| args.get(i + 1)) {
            Some(n) => vec![n.parse().expect("--n takes a number")],
            None => vec![100, 1_000, 10_000],
        };
        return rt.block_on(print_apply(&sizes));
    }
    if args.iter().any(|a| a == "--only-latency") {
        // `--n 1000 --delay-ms 5` by default.
        let value = |flag: &str, default: u64| -> u64 {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .map_or(default, |v| v.parse().expect("a number"))
        };
        let only = args.iter().position(|a| a == "--engine").and_then(|i| args.get(i + 1));
        return rt.block_on(latency::print(
            value("--n", 1_000) as usize,
            value("--delay-ms", 5),
            only.map(String::as_str),
        ));
    }
    if args.iter().any(|a| a == "--only-bases") {
        return rt.block_on(print_bases(&[330, 10_000]));
    }
    count::install();
    let smoke = args.iter().any(|a| a == "--smoke");
    // `--only-noop`: the first section alone.
    let only_noop = args.iter().any(|a| a == "--only-noop");
    let skip_build = smoke || args.iter().any(|a| a == "--no-build");
    let sizes: Vec<usize> = if smoke { vec![20] } else { vec![100, 1_000, 10_000] };
    rt.block_on(async {
        let mut kinds = vec![Kind::Sqlite];
        if postgres_reachable().await {
            kinds.push(Kind::Postgres);
        } else {
            eprintln!("PostgreSQL is not reachable at {}: measuring SQLite only", measure::postgres_server());
        }
        println!("## No-op start-up (`upgrade head` on an up-to-date database; median, in-process)\n");
        println!("| database | N | migrate (ms) | statements | sqlx (ms) | statements | migrate / sqlx | floor: one query (ms) |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|");
        let mut workloads = Vec::new();
        for &n in &sizes {
            workloads.push(Workload::new(n).await);
        }
        for &kind in &kinds {
            for w in &workloads {
                let r = measure::noop(kind, w, if smoke { 3 } else { 101 }).await;
                println!(
                    "| {kind:?} | {} | {} | {} | {} | {} | {} | {} |",
                    w.n,
                    ms(r.ours),
                    r.ours_statements,
                    ms(r.sqlx),
                    r.sqlx_statements,
                    ratio(r.ours, r.sqlx),
                    ms(r.floor)
                );
            }
        }
        if only_noop {
            return;
        }
        println!("\n## Apply all N, then downgrade all N, on a fresh database (median)\n");
        println!("| database | N | apply: migrate (ms) | sqlx | floor | migrate / floor | sqlx / floor | downgrade: migrate (ms) | sqlx | floor | migrate / floor |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for &kind in &kinds {
            for w in &workloads {
                let reps = if smoke || w.n >= 10_000 { 1 } else { 3 };
                let r = measure::full(kind, w, reps).await;
                println!(
                    "| {kind:?} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    w.n,
                    ms(r.apply[0]),
                    ms(r.apply[1]),
                    ms(r.apply[2]),
                    ratio(r.apply[0], r.apply[2]),
                    ratio(r.apply[1], r.apply[2]),
                    ms(r.downgrade[0]),
                    ms(r.downgrade[1]),
                    ms(r.downgrade[2]),
                    ratio(r.downgrade[0], r.downgrade[2]),
                );
            }
        }
        let largest = workloads.last().unwrap();
        println!("\n## Pure load, validate and hash (`migrate_core::load::from_sources`, median)\n");
        println!("| N | time (ms) |\n|---:|---:|");
        for &n in &sizes {
            println!("| {n} | {} |", ms(measure::core_load(n, if smoke { 1 } else { 5 })));
        }
        println!("\n## Peak memory applying all {} migrations (SQLite, whole process)\n", largest.n);
        let (ours, sqlx) = peak_memory(Kind::Sqlite, largest).await;
        println!("| migrate (MiB) | sqlx (MiB) | migrate / sqlx |\n|---:|---:|---:|");
        println!("| {:.1} | {:.1} | {:.2}× |", ours as f64 / 1024.0, sqlx as f64 / 1024.0, ours as f64 / sqlx as f64);
        if !skip_build {
            let n = 1_000;
            let r = rebuild::measure(n, 3);
            println!("\n## Release rebuild after touching one of {n} embedded files (median of 3)\n");
            println!("| migrate (s) | sqlx (s) | migrate / sqlx | embedded list, migrate (KiB) | sqlx (KiB) |");
            println!("|---:|---:|---:|---:|---:|");
            println!(
                "| {:.2} | {:.2} | {} | {:.0} | {:.0} |",
                r.ours.as_secs_f64(),
                r.sqlx.as_secs_f64(),
                ratio(r.ours, r.sqlx),
                r.ours_bytes as f64 / 1024.0,
                r.sqlx_bytes as f64 / 1024.0
            );
            print_app_rebuild(&[1, 1_000, 10_000]);
        }
    });
}

/// A history of several bases with merges every 30 revisions: load (what the
/// macro runs at build time), and an application embedding it, built in
/// release, that migrates a fresh database, beside the engine's own client
/// running the same SQL in the same transaction shape, in one run.
async fn print_bases(sizes: &[usize]) {
    let mut kinds = vec![Kind::Sqlite];
    if postgres_reachable().await {
        kinds.push(Kind::Postgres);
    }
    println!("\n## Several bases: three histories, a merge every 30 revisions (median, whole processes)\n");
    println!(
        "| database | N | load + validate (ms) | per revision (µs) | migrate: application embedding them, calling `upgrade` (ms) | floor: its statements replayed by sqlite3 / psql (ms) | migrate / floor | per revision (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let w = Workload::bases(n).await;
        let load = measure::core_load_bases(n, 5);
        // Built before anything is timed.
        let app = rebuild::apply_app(n, true);
        for &kind in &kinds {
            let reps = if n >= 10_000 { 1 } else { 5 };
            let (mut ours, mut floor) = (Vec::new(), Vec::new());
            // The floor sends exactly what migrate sent (recorded once), so it has the same
            // shape at every N (at 10,000 PostgreSQL's lock table fills, and migrate commits part-way).
            let script = measure::record_statements(kind, &w.ours_dir).await;
            for _ in 0..reps {
                // In turn, so that the machine's other work weighs on both alike.
                ours.push(measure::app_process(kind, &app, n).await);
                floor.push(measure::replay(kind, &script, n).await);
            }
            let (ours, floor) = (measure::median(ours), measure::median(floor));
            println!(
                "| {kind:?} | {n} | {} | {:.1} | {} | {} | {} | {:.3} |",
                ms(load),
                load.as_secs_f64() * 1e6 / n as f64,
                ms(ours),
                ms(floor),
                ratio(ours, floor),
                ours.as_secs_f64() * 1e3 / n as f64
            );
        }
    }
}

/// N migrations in a chain applied to a fresh database by a release binary
/// that calls `upgrade` (as a self-migrating application does), whole
/// process, beside the engine's own client running the same SQL in the same
/// transaction shape, in turn, in one run.
async fn print_apply(sizes: &[usize]) {
    use measure::Shape;
    let mut kinds = vec![Kind::Sqlite];
    if postgres_reachable().await {
        kinds.push(Kind::Postgres);
    }
    println!(
        "\n## Apply all N on a fresh database: an application calling `upgrade`, beside the engine's client (median, whole processes)\n"
    );
    println!(
        "| database | N | migrate: application embedding them, calling `upgrade` (ms) | floor: its statements replayed by sqlite3 / psql (ms) | migrate / it | floor: migrations + small history rows, migrate's shape (ms) | migrate / it | floor: the same in one plain transaction, sqlite3 / psql -1 (ms) | migrate / it | floor: the same through the SQLite library migrate links (ms) | migrate / it | per revision (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let w = Workload::new(n).await;
        // Built before anything is timed.
        let app = rebuild::apply_app(n, false);
        for &kind in &kinds {
            // SQLite's runs are short and this machine's timings wander: more samples.
            let reps = match (n >= 10_000, kind) {
                (true, _) => 1,
                (false, Kind::Sqlite) => 21,
                (false, Kind::Postgres) => 5,
            };
            let mut ours = Vec::new();
            let mut floors = [(Vec::new(), None), (Vec::new(), None)];
            // What migrate sends, recorded once, for its client to send the same.
            let script = measure::record_statements(kind, &w.ours_dir).await;
            let mut replayed = Vec::new();
            let mut library = Vec::new();
            for _ in 0..reps {
                ours.push(measure::app_process(kind, &app, n).await);
                replayed.push(measure::replay(kind, &script, n).await);
                if kind == Kind::Sqlite {
                    library.push(measure::library_floor(n).await);
                }
                for (k, shape) in [Shape::Migrate, Shape::OneTransaction].into_iter().enumerate() {
                    match measure::try_client_floor(kind, n, shape).await {
                        Ok(d) => floors[k].0.push(d),
                        Err(e) => floors[k].1 = Some(e),
                    }
                }
            }
            let ours = measure::median(ours);
            // A floor the engine's client cannot run in that shape (PostgreSQL's lock
            // table is full at N = 10,000 in one transaction) says so instead.
            let [(shaped_ms, shaped_ratio), (one_ms, one_ratio)] = floors.map(|(samples, failed)| match failed {
                Some(e) => (
                    format!("fails: {}", e.lines().last().unwrap_or_default()),
                    "—".to_owned(),
                ),
                None => {
                    let floor = measure::median(samples);
                    (ms(floor), ratio(ours, floor))
                }
            });
            let replayed = measure::median(replayed);
            // PostgreSQL has no library floor apart from its client: a dash.
            let (library_ms, library_ratio) = if library.is_empty() {
                ("—".to_owned(), "—".to_owned())
            } else {
                let floor = measure::median(library);
                (ms(floor), ratio(ours, floor))
            };
            println!(
                "| {kind:?} | {n} | {} | {} | {} | {shaped_ms} | {shaped_ratio} | {one_ms} | {one_ratio} | {library_ms} | {library_ratio} | {:.3} |",
                ms(ours),
                ms(replayed),
                ratio(ours, replayed),
                ours.as_secs_f64() * 1e3 / n as f64
            );
        }
    }
}

/// The application rebuild: what calling `upgrade` costs a user's release
/// build, with one, 1,000 and 10,000 migrations embedded (`--n N`: one size),
/// and the stripped binaries.
fn print_app_rebuild(sizes: &[usize]) {
    let reps = 5;
    println!(
        "\n## Release rebuild of an application that migrates a SqlitePool and a PgPool (one migration of N touched, only the app crate rebuilt, the three in turn, median of {reps}), and its stripped binary\n"
    );
    println!(
        "| N | calls `upgrade` (s) | same app without the call (s) | on `sqlx::migrate!` + `Migrator::run` (s) | with / without | with / sqlx | stripped: calls `upgrade` (MiB) | without (MiB) | sqlx (MiB) | with / sqlx |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let r = rebuild::app(reps, n);
        println!(
            "| {n} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {:.2}× |",
            r.with_call.as_secs_f64(),
            r.without_call.as_secs_f64(),
            r.sqlx.as_secs_f64(),
            ratio(r.with_call, r.without_call),
            ratio(r.with_call, r.sqlx),
            mib(r.stripped[0]),
            mib(r.stripped[1]),
            mib(r.stripped[2]),
            r.stripped[0] as f64 / r.stripped[2] as f64
        );
    }
    print_default_app_sizes(sizes);
}

/// The stripped binaries alone (`--only-size`): what each application
/// carries, built once each, nothing timed.
fn print_sizes(sizes: &[usize]) {
    println!("\n## Stripped release binary of an application that migrates a SqlitePool and a PgPool\n");
    println!("| N | calls `upgrade` (MiB) | without the call (MiB) | on sqlx's migrator (MiB) | with / sqlx |");
    println!("|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let [with, without, sqlx] = rebuild::app_sizes(n);
        println!(
            "| {n} | {} | {} | {} | {:.2}× |",
            mib(with),
            mib(without),
            mib(sqlx),
            with as f64 / sqlx as f64
        );
    }
    print_default_app_sizes(sizes);
}

/// Bytes in MiB, two decimals.
fn mib(bytes: u64) -> String {
    format!("{:.2}", bytes as f64 / (1024.0 * 1024.0))
}

/// [`rebuild::default_app_sizes`] as a table.
fn print_default_app_sizes(sizes: &[usize]) {
    println!(
        "\n## Stripped release binary of a default application: `migrate` with its default features (SQLite) calling `upgrade`, against the same on sqlx's migrator (runtime-tokio, sqlite, migrate, macros)\n"
    );
    println!("| N | `migrate`, default features (MiB) | sqlx (MiB) | migrate / sqlx |");
    println!("|---:|---:|---:|---:|");
    for &n in sizes {
        let [ours, sqlx] = rebuild::default_app_sizes(n);
        println!(
            "| {n} | {} | {} | {:.2}× |",
            mib(ours),
            mib(sqlx),
            ours as f64 / sqlx as f64
        );
    }
}
