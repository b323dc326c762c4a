//! The `migrate` binary: everything lives in the [`migrate_cli`] library.

fn main() -> std::process::ExitCode {
    migrate_cli::main()
}
