//! The `migrate` command line: everything lives in [`migrate::cli`].

fn main() -> std::process::ExitCode {
    migrate::cli::main()
}
