//! Running the real binaries: `migrate`, and the facade's examples,
//! in a clean environment, plus the database programs the tests compare with.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The repository root (the workspace's, one above this package).
pub fn repo() -> PathBuf {
    let cli = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    cli.parent().expect("migrate-cli sits in the workspace").to_path_buf()
}

/// Clears the variables the command line reads, so the host's cannot leak in.
fn clean(cmd: &mut assert_cmd::Command, cwd: &Path) {
    cmd.current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATE_CONFIG")
        .env_remove("NO_COLOR")
        .env_remove("MIGRATE_LOG")
        .env("RUST_BACKTRACE", "0");
}

/// `migrate`, run in `cwd`.
pub fn migrate(cwd: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_migrate"));
    clean(&mut cmd, cwd);
    cmd
}

/// The `embedded_cli` example, run in `cwd`.
pub fn embedded(cwd: &Path) -> assert_cmd::Command {
    example("embedded_cli", cwd)
}

/// One of the facade's examples, run in `cwd`. `cargo test` builds examples,
/// but `cargo test --test cli` alone does not, and would run a stale one: ask
/// cargo to bring them up to date (a no-op when they are), once per process.
pub fn example(name: &str, cwd: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(example_bin(name));
    clean(&mut cmd, cwd);
    cmd
}

/// The executable of one of the facade's examples, brought up to date (see [`example`]).
pub fn example_bin(name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let debug = BUILT.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let debug = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
        let out = std::process::Command::new(env!("CARGO"))
            // The facade's `cli` feature is off by default; embedded_cli needs it. The
            // database features match the workspace's, so the build reuses its artifacts.
            .args([
                "build",
                "--quiet",
                "-p",
                "migrate",
                "--features",
                "cli,sqlite,postgres,mysql",
                "--examples",
            ])
            .env("CARGO_TARGET_DIR", debug.parent().unwrap())
            .current_dir(repo())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "building the examples failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        debug
    });
    debug
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// What a finished command printed.
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

fn ran(output: Output) -> Ran {
    let r = Ran {
        code: output.status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    assert!(!r.stderr.contains("panicked"), "the command panicked:\n{}", r.stderr);
    assert!(
        !r.stdout.contains('\x1b') && !r.stderr.contains('\x1b'),
        "colour on a pipe: {r:?}"
    );
    r
}

/// Runs `cmd` with `args`, expecting success; returns stdout.
pub fn ok(cmd: &mut assert_cmd::Command, args: &[&str]) -> String {
    let r = ran(cmd.args(args).output().unwrap());
    assert_eq!(r.code, 0, "{args:?} failed:\n{}{}", r.stdout, r.stderr);
    r.stdout
}

/// Runs `cmd` with `args`, expecting exit status `code`; returns stderr.
pub fn fails(cmd: &mut assert_cmd::Command, args: &[&str], code: i32) -> String {
    let r = ran(cmd.args(args).output().unwrap());
    assert_eq!(
        r.code, code,
        "{args:?}: expected exit {code}, got:\n{}{}",
        r.stdout, r.stderr
    );
    assert!(!r.stderr.trim().is_empty(), "{args:?}: no message");
    r.stderr
}

/// Runs `cmd` with `args` and returns everything.
pub fn run(cmd: &mut assert_cmd::Command, args: &[&str]) -> Ran {
    ran(cmd.args(args).output().unwrap())
}

/// Rewrites a new revision file's empty sections with `upgrade` and `downgrade` SQL.
pub fn write_sql(path: &Path, upgrade: &str, downgrade: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let (header, _) = text.split_once("-- migrate:upgrade").expect("a revision file");
    std::fs::write(
        path,
        format!("{header}-- migrate:upgrade\n{upgrade}\n\n-- migrate:downgrade\n{downgrade}\n"),
    )
    .unwrap();
}

#[path = "../common/revision_id.rs"]
mod revision_id;

pub use revision_id::id_of;

/// Runs a program (sqlite3, psql, mysql) and returns its stdout, failing on error.
pub fn program(name: &str, args: &[&str], stdin: Option<&str>) -> String {
    program_with_env(name, args, stdin, &[])
}

/// [`program`] with extra environment variables.
pub fn program_with_env(name: &str, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> String {
    let out = program_output(name, args, stdin, env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "{name} {args:?} failed: {stderr}"
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `name ARGS` with `stdin` and `env`: what it did, whatever its exit.
pub fn program_output(name: &str, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(name)
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// The scenario suite's database helpers, shared rather than copied: a
/// unique database name, and "fail in CI, skip loudly elsewhere".
#[path = "../../../tests/scenarios/support.rs"]
mod scenarios;

pub use scenarios::{unavailable, unique_name};

/// Runs `git -C root ARGS` as a committer named `t`, failing the test on error.
pub fn git(root: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
