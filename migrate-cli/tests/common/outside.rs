//! An application outside the workspace, as a user's: a crate depending on
//! the facade by path (with `features`) and on tokio, whose `src/main.rs` is
//! `main`, built with the workspace's lock file (no network) into
//! `target/tmp/<target>`, a folder of its own that outlives the test so
//! reruns are incremental. Shared by `alembic_histories.rs` and
//! `cli/import_tools.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes the crate in `app`, builds it, and returns its executable.
pub fn application(app: &Path, features: &str, main: &str, target: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::write(
        app.join("Cargo.toml"),
        format!(
            "[package]\nname = \"imported\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nmigrate = {{ path = {:?}, default-features = false, features = [{features}] }}\ntokio = {{ version = \"1\", features = [\"rt\", \"macros\"] }}\n\n[workspace]\n",
            root.display().to_string()
        ),
    )
    .unwrap();
    std::fs::copy(root.join("Cargo.lock"), app.join("Cargo.lock")).unwrap();
    std::fs::write(app.join("src/main.rs"), main).unwrap();
    built(&app.join("Cargo.toml"), "--offline", target, "imported")
}

/// Builds the package of `manifest` (`lock`: `--offline` or `--locked`) into
/// `target/tmp/<target>`, and returns its executable `binary`.
pub fn built(manifest: &Path, lock: &str, target: &str, binary: &str) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join(target);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--quiet", lock, "--manifest-path"])
        .arg(manifest)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "`{}` failed to build: {}",
        manifest.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    target
        .join("debug")
        .join(format!("{binary}{}", std::env::consts::EXE_SUFFIX))
}
