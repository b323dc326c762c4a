//! The README is the user's path, and every command it shows must work.
//!
//! `README.md`'s `sh` and `console` blocks are run in order, as a user
//! following them would: each `migrate …` line by the real binary in one
//! temporary folder on SQLite, `export` lines as the environment of the lines
//! after them, and the few other commands by what they stand for. What a
//! `console` block shows under a command is what the command must print (`…`
//! stands for anything). A command this test does not know how to run fails
//! it, naming the line. Beside that: the README's command table lists every
//! subcommand, every `migrate …` the README and `docs/` show parses with the
//! real grammar, and the examples the docs copy are the files they copy.
//!
//! Run it alone with `cargo test -p migrate-cli --test readme`; the Rust
//! blocks of the same files are the facade's doctests (`cargo test --doc -p
//! migrate`).

#[path = "cli/support.rs"]
#[allow(unused_imports)]
mod support;

use clap::{CommandFactory, Parser};
use std::path::PathBuf;
use support::{repo, run};

/// The README may not grow back into the reference: that lives in `docs/`.
const README_MAX_BYTES: usize = 25 * 1024;

/// A fenced block of a Markdown file.
struct Block {
    /// The info string's first word: `sh`, `console`, `rust`, `sql`, …
    lang: String,
    /// The file's line number of each line of the block, and its text.
    lines: Vec<(usize, String)>,
}

impl Block {
    fn text(&self) -> String {
        self.lines.iter().map(|(_, l)| format!("{l}\n")).collect()
    }
}

/// A command a block shows, with the output a `console` block shows under it.
struct Shown {
    file: String,
    line: usize,
    text: String,
    /// `None` for an `sh` line (nothing shown), else the lines under the command.
    output: Option<Vec<String>>,
    /// Which block of the file it is in, to find the blocks that follow it.
    block: usize,
}

impl Shown {
    fn place(&self) -> String {
        format!("{}:{}: `{}`", self.file, self.line, self.text)
    }
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo().join(relative)).unwrap_or_else(|e| panic!("reading {relative}: {e}"))
}

/// The fenced blocks of a Markdown text, indented ones (in list items) included.
fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Block)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.take() {
            None if trimmed.starts_with("```") => {
                let lang = trimmed[3..].split([',', ' ']).next().unwrap_or("").to_owned();
                open = Some((
                    indent,
                    Block {
                        lang,
                        lines: Vec::new(),
                    },
                ));
            }
            None => {}
            Some((_, block)) if trimmed.starts_with("```") => out.push(block),
            Some((indent, mut block)) => {
                let body = if line.len() >= indent { &line[indent..] } else { trimmed };
                block.lines.push((i + 1, body.to_owned()));
                open = Some((indent, block));
            }
        }
    }
    assert!(open.is_none(), "a code block is not closed");
    out
}

/// The commands of a file's `sh` and `console` blocks, in order.
fn shown_commands(file: &str, text: &str) -> Vec<Shown> {
    let mut out: Vec<Shown> = Vec::new();
    for (b, block) in blocks(text).iter().enumerate() {
        match block.lang.as_str() {
            "sh" => {
                for (line, l) in &block.lines {
                    let l = l.trim();
                    if !l.is_empty() && !l.starts_with('#') {
                        out.push(Shown {
                            file: file.into(),
                            line: *line,
                            text: l.into(),
                            output: None,
                            block: b,
                        });
                    }
                }
            }
            "console" => {
                for (line, l) in &block.lines {
                    if let Some(command) = l.strip_prefix("$ ") {
                        out.push(Shown {
                            file: file.into(),
                            line: *line,
                            text: command.trim().into(),
                            output: Some(Vec::new()),
                            block: b,
                        });
                    } else {
                        match out.last_mut() {
                            Some(Shown {
                                output: Some(lines),
                                block,
                                ..
                            }) if *block == b => lines.push(l.clone()),
                            _ => panic!("{file}:{line}: a console block must start with a `$ ` command"),
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A command line's words as a shell splits them, up to an unquoted comment,
/// redirection or pipe; leading `NAME=value` assignments are left out.
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in command.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '#' | '>' | '|') if !in_word => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(quote.is_none(), "an unclosed quote in `{command}`");
    if in_word {
        out.push(word);
    }
    let assignments = out.iter().take_while(|w| is_assignment(w)).count();
    out.drain(..assignments);
    out
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
}

/// Whether `actual` (a line) matches `expected`, in which `…` stands for any text.
fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split('…').collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() || !actual.ends_with(last) {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Whether the lines printed match the lines shown, where a line that is
/// only `…` stands for any number of lines.
fn output_matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e.trim() == "…" => (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..])),
        Some((e, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| line_matches(e, a) && output_matches(rest, more)),
    }
}

/// The value of a `-- name:` header line of a migration file.
fn header<'t>(file: &'t str, name: &str) -> Option<&'t str> {
    let prefix = format!("-- {name}:");
    file.lines().find_map(|l| l.strip_prefix(&prefix)).map(str::trim)
}

/// A user following the README: one folder, the environment its `export`s set.
struct User {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl User {
    fn migrate(&self, shown: &Shown, args: &[String]) -> String {
        let mut cmd = support::migrate(self.dir.path());
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&mut cmd, &args);
        assert_eq!(
            r.code,
            0,
            "{} failed (exit {}):\n{}{}",
            shown.place(),
            r.code,
            r.stdout,
            r.stderr
        );
        let printed = format!("{}{}", r.stdout, r.stderr);
        if let Some(expected) = &shown.output {
            let mut actual: Vec<&str> = printed.lines().collect();
            while actual.last().is_some_and(|l| l.trim().is_empty()) {
                actual.pop();
            }
            assert!(
                output_matches(expected, &actual),
                "{} printed what the README does not show.\nREADME shows:\n{}\nit printed:\n{}",
                shown.place(),
                expected.join("\n"),
                actual.join("\n")
            );
        }
        r.stdout
    }

    /// `migrate revision`: the README then shows the file as the user fills it in.
    /// The new file must be that file but for its id, date and SQL; it is replaced
    /// by it, so the commands after it print what the README shows.
    fn revision(&self, shown: &Shown, args: &[String], blocks: &[Block]) {
        let filled = blocks[shown.block + 1..]
            .iter()
            .find(|b| b.lang == "sql" && header(&b.text(), "revision").is_some())
            .unwrap_or_else(|| panic!("{}: no ```sql block after it shows the file to fill in", shown.place()))
            .text();
        let shown_id = header(&filled, "revision").unwrap().to_owned();
        // Run without comparing (the id is new each time), then compare with the README's id.
        let quiet = Shown {
            output: None,
            ..clone_shown(shown)
        };
        let path = self.migrate(&quiet, args).trim().to_owned();
        let written = std::fs::read_to_string(self.dir.path().join(&path))
            .unwrap_or_else(|e| panic!("{}: it printed {path}, which cannot be read: {e}", shown.place()));
        let new_id = header(&written, "revision").unwrap().to_owned();
        let printed = path.replace(&new_id, &shown_id);
        let expected = shown.output.clone().unwrap_or_default();
        assert!(
            expected.is_empty() || output_matches(&expected, &[printed.as_str()]),
            "{} printed {path}, which the README does not show ({expected:?})",
            shown.place()
        );

        // The README's file is the one `revision` writes, with the user's SQL in its sections.
        let (head, _) = written.split_once("-- migrate:upgrade").expect("a revision file");
        let (_, sections) = filled
            .split_once("-- migrate:upgrade")
            .expect("the README's file has sections");
        let created = header(&written, "created").unwrap();
        let expected_file = format!("{head}-- migrate:upgrade{sections}")
            .replace(&new_id, &shown_id)
            .replace(created, header(&filled, "created").unwrap());
        let trimmed = |s: &str| s.lines().map(str::trim_end).collect::<Vec<_>>().join("\n");
        assert_eq!(
            trimmed(&expected_file).trim_end(),
            trimmed(&filled).trim_end(),
            "{}: the file the README shows is not the one `migrate revision` writes, filled in",
            shown.place()
        );
        std::fs::remove_file(self.dir.path().join(&path)).unwrap();
        std::fs::write(self.dir.path().join(printed), filled).unwrap();
    }
}

fn clone_shown(s: &Shown) -> Shown {
    Shown {
        file: s.file.clone(),
        line: s.line,
        text: s.text.clone(),
        output: s.output.clone(),
        block: s.block,
    }
}

/// Commands other than `migrate` the README may show, and what checks them.
fn run_other(shown: &Shown, words: &[String]) {
    match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        // "Run it twice: the second run has nothing to do."
        ["cargo", "run", "--example", "self_migrate"] => {
            let tmp = tempfile::tempdir().unwrap();
            let first = support::ok(&mut support::example("self_migrate", tmp.path()), &[]);
            assert!(first.contains("applied "), "{}: {first}", shown.place());
            let second = support::ok(&mut support::example("self_migrate", tmp.path()), &[]);
            assert!(second.contains("already up to date"), "{}: {second}", shown.place());
        }
        // .ci/run installs the binary this way and runs it on every database.
        ["cargo", "install", "--path", "migrate-cli"] => {
            let ci = read(".ci/run");
            assert!(
                ci.lines()
                    .any(|l| l.trim_start().starts_with("cargo install") && l.contains("--path migrate-cli")),
                "{}: .ci/run no longer installs the binary this way",
                shown.place()
            );
        }
        // The test command: .ci/run runs exactly it, on a fresh machine.
        ["cargo", "test", "--workspace"] => {
            let ci = read(".ci/run");
            assert!(
                ci.lines().any(|l| l.trim() == "cargo test --workspace"),
                "{}: .ci/run no longer runs the README's test command as it is",
                shown.place()
            );
        }
        _ => panic!(
            "{} is a command this test does not run: run it in migrate-cli/tests/readme.rs (or .ci/run, and check that here), or take it out of the README",
            shown.place()
        ),
    }
}

#[test]
fn the_readme_commands_run_as_shown() {
    let text = read("README.md");
    let blocks = blocks(&text);
    let mut user = User {
        dir: tempfile::tempdir().unwrap(),
        env: Vec::new(),
    };
    let mut ran = 0;
    for shown in shown_commands("README.md", &text) {
        let words = words(&shown.text);
        match words.first().map(String::as_str) {
            Some("migrate") if words.get(1).map(String::as_str) == Some("revision") => {
                user.revision(&shown, &words[1..], &blocks)
            }
            Some("migrate") => drop(user.migrate(&shown, &words[1..])),
            Some("export") => {
                for w in &words[1..] {
                    let (name, value) = w
                        .split_once('=')
                        .unwrap_or_else(|| panic!("{}: export NAME=value", shown.place()));
                    user.env.push((name.into(), value.into()));
                }
            }
            _ => run_other(&shown, &words),
        }
        ran += 1;
    }
    assert!(
        ran >= 5,
        "the README's quick start shows its commands in ```console blocks"
    );
}

#[test]
fn the_readme_stays_the_users_path() {
    let size = read("README.md").len();
    assert!(
        size <= README_MAX_BYTES,
        "README.md is {size} bytes, over {README_MAX_BYTES}: move reference material to docs/"
    );
}

/// The first word of each row of the README's command table.
fn table_commands(readme: &str) -> Vec<String> {
    let start = readme.find("\n## Commands").expect("a `## Commands` section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .map(|l| l.split(['`', ' ']).next().unwrap().to_owned())
        .collect()
}

#[test]
fn the_readme_command_table_lists_every_subcommand() {
    let mut listed = table_commands(&read("README.md"));
    let mut real: Vec<String> = migrate_cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .filter(|name| name != "help")
        .collect();
    listed.sort();
    real.sort();
    assert_eq!(
        listed, real,
        "the README's command table and `migrate --help` list different commands"
    );
}

/// What `embedded_cli -- …` parses, as `examples/embedded_cli.rs` declares it.
#[derive(Parser)]
#[command(name = "embedded_cli")]
struct EmbeddedApp {
    #[command(subcommand)]
    command: EmbeddedCommand,
}

#[derive(clap::Subcommand)]
enum EmbeddedCommand {
    Serve,
    #[command(subcommand)]
    Db(Box<migrate_cli::DbCommand>),
}

/// Code spans of the prose (outside code blocks) that start with `migrate `:
/// commands the text mentions, perhaps without their required arguments.
fn inline_commands(file: &str, text: &str) -> Vec<Shown> {
    let mut out = Vec::new();
    let mut in_block = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        for (n, span) in line.split('`').enumerate() {
            // (`migrate = { … }` is a Cargo.toml line, not a command.)
            let command = span
                .strip_prefix("migrate ")
                .is_some_and(|rest| !rest.trim_start().starts_with('='));
            if n % 2 == 1 && command {
                out.push(Shown {
                    file: file.into(),
                    line: i + 1,
                    text: span.into(),
                    output: None,
                    block: 0,
                });
            }
        }
    }
    out
}

#[test]
fn every_migrate_command_in_the_docs_parses() {
    let mut files = vec![PathBuf::from("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("a docs/ folder")
        .map(|e| PathBuf::from("docs").join(e.unwrap().file_name()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut checked = 0;
    for file in &files {
        let name = file.display().to_string();
        let text = read(&name);
        let whole = shown_commands(&name, &text).into_iter().map(|s| (s, false));
        let mentioned = inline_commands(&name, &text).into_iter().map(|s| (s, true));
        for (s, mention) in whole.chain(mentioned) {
            let words = words(&s.text);
            let parsed = if words.first().map(String::as_str) == Some("migrate") {
                migrate_cli::Cli::try_parse_from(&words).map(drop)
            } else if let Some(i) = words.iter().position(|w| w == "embedded_cli") {
                // `cargo run … --example embedded_cli -- db …`
                let rest = &words[i + 1..];
                let rest = rest.strip_prefix(&["--".to_owned()]).unwrap_or(rest);
                EmbeddedApp::try_parse_from(std::iter::once("embedded_cli").chain(rest.iter().map(String::as_str)))
                    .map(drop)
            } else {
                continue;
            };
            match parsed {
                Ok(()) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
                    ) => {}
                // Prose may name a command without its required arguments (`migrate merge`);
                // what it does write must still be real commands, flags and values.
                Err(e)
                    if mention
                        && matches!(
                            e.kind(),
                            clap::error::ErrorKind::MissingRequiredArgument
                                | clap::error::ErrorKind::MissingSubcommand
                                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                        ) => {}
                Err(e) => panic!("{} does not parse:\n{e}", s.place()),
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} commands found in the docs");
}

#[test]
fn the_docs_show_the_embedded_cli_example_as_it_is() {
    let example = read("examples/embedded_cli.rs");
    let code: String = example
        .lines()
        .filter(|l| !l.starts_with("//!"))
        .map(|l| format!("{l}\n"))
        .collect();
    let docs = read("docs/command-line.md");
    let shown = blocks(&docs)
        .into_iter()
        .find(|b| b.lang == "rust" && b.text().contains("migrate::cli::DbCommand"))
        .expect("docs/command-line.md shows the embedded command line");
    assert_eq!(
        shown.text().trim(),
        code.trim(),
        "docs/command-line.md shows examples/embedded_cli.rs: copy the file's code (without its //! lines) into it"
    );
}

#[test]
fn the_readme_shows_the_build_error_the_macro_gives() {
    let snapshot = read("tests/ui/graph/fork.stderr");
    let readme = read("README.md");
    let shown = blocks(&readme)
        .into_iter()
        .find(|b| b.lang == "text" && b.text().starts_with("error: the revision graph has 2 heads"))
        .expect("the README shows a build error");
    assert_eq!(
        shown.text().trim_end(),
        snapshot.trim_end(),
        "the README shows tests/ui/graph/fork.stderr: copy the snapshot into it"
    );
}

#[test]
fn every_migration_file_the_docs_show_parses() {
    let mut checked = 0;
    for file in [
        "README.md",
        "docs/deploying.md",
        "docs/runtime.md",
        "docs/autogenerate.md",
    ] {
        for block in blocks(&read(file)) {
            let text = block.text();
            let Some(id) = header(&text, "revision") else { continue };
            if block.lang != "sql" || !text.contains("-- migrate:upgrade") {
                continue;
            }
            let name = format!("{id}_shown.sql");
            if let Err(problems) = migrate_core::format::parse(&name, &text) {
                let line = block.lines.first().map_or(0, |(l, _)| *l);
                panic!("{file}:{line}: the migration file shown does not parse: {problems:?}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 2, "only {checked} migration files found in the docs");
}

#[test]
fn the_helpers_read_markdown_as_written() {
    assert_eq!(
        words(r#"migrate revision -m "create account table""#),
        ["migrate", "revision", "-m", "create account table"]
    );
    assert_eq!(
        words("migrate schema dump > schema.sql        # once"),
        ["migrate", "schema", "dump"]
    );
    assert_eq!(words("A=1 B=x cargo run"), ["cargo", "run"]);
    assert_eq!(
        words("migrate upgrade --schemas 'tenant_%'"),
        ["migrate", "upgrade", "--schemas", "tenant_%"]
    );
    assert!(line_matches("Created …", "Created migrations/ and migrate.toml."));
    assert!(!line_matches("Created …x", "Created migrations/"));
    let lines = ["a", "b", "c"];
    assert!(output_matches(&["a".into(), "…".into()], &lines));
    assert!(output_matches(&["…".into(), "c".into()], &lines));
    assert!(!output_matches(&["a".into(), "c".into()], &lines));
    assert!(!output_matches(&["a".into(), "b".into()], &lines));
    let md = "x\n```sh\nmigrate check\n```\n\n  ```console\n  $ migrate current\n  a (head)\n  ```\n";
    let shown = shown_commands("t.md", md);
    assert_eq!(shown.len(), 2);
    assert_eq!(
        (shown[0].line, shown[0].text.as_str(), shown[0].output.is_none()),
        (3, "migrate check", true)
    );
    assert_eq!(shown[1].output.as_deref(), Some(&["a (head)".to_owned()][..]));
}

#[test]
fn the_readme_lists_every_lint_rule_with_its_databases() {
    let readme = read("README.md");
    let section = readme
        .split("## Before it ships")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README.md has a `## Before it ships` section");
    // `| `id` | databases | safe form |` rows, in the order of the table.
    let rows: Vec<(String, String)> = section
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let id = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((id.to_owned(), cells.get(2)?.to_string()))
        })
        .collect();
    let names = |d: migrate_core::Dialect| match d {
        migrate_core::Dialect::Postgres => "PostgreSQL",
        migrate_core::Dialect::Mysql => "MySQL",
        migrate_core::Dialect::Sqlite => "SQLite",
    };
    let expected: Vec<String> = migrate_core::lint::RULES.iter().map(|r| r.id.to_owned()).collect();
    let listed: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(
        listed, expected,
        "the README's rules table lists the rules of migrate_core::lint::RULES, in order"
    );
    for ((id, databases), rule) in rows.iter().zip(migrate_core::lint::RULES) {
        let every = rule.dialects.len() == 3;
        for &d in rule.dialects {
            assert!(
                every && databases == "all" || databases.contains(names(d)),
                "README's row for `{id}` says `{databases}`, but the rule covers {}",
                names(d)
            );
        }
        assert_eq!(
            databases.split(", ").count(),
            if every {
                1
            } else {
                rule.dialects.len() + usize::from(databases.contains("MariaDB"))
            },
            "README's row for `{id}` names databases the rule does not cover: `{databases}`"
        );
    }
}
