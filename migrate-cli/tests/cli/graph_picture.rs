//! `history --graph` and `history --format dot|mermaid`: the revision graph
//! of a project with two bases and three merges, with a database's position.

use crate::support::{fails, migrate, ok};
use std::collections::HashSet;
use std::path::Path;

/// The project: accounts (a base, a branch point, a merge), billing (a second
/// base, an `expand` revision) joined by a merge, then two revisions side by
/// side merged again, and a `contract` revision on top. `c2` fails part-way.
const REVISIONS: &[(&str, &str, &str, &str)] = &[
    // id, down_revision, header lines, upgrade
    ("a1", "", "", "CREATE TABLE account (id INTEGER PRIMARY KEY);"),
    ("a2", "a1", "", "ALTER TABLE account ADD COLUMN email TEXT;"),
    ("a3", "a1", "", "CREATE TABLE session (id INTEGER PRIMARY KEY);"),
    ("m1", "a2, a3", "", ""),
    ("b1", "", "", "CREATE TABLE invoice (id INTEGER PRIMARY KEY);"),
    (
        "b2",
        "b1",
        "-- migrate:phase: expand\n",
        "ALTER TABLE invoice ADD COLUMN total INTEGER;",
    ),
    ("m2", "m1, b2", "", ""),
    ("c1", "m2", "", "UPDATE invoice SET total = 0;"),
    (
        "c2",
        "m2",
        "-- migrate:no-transaction\n",
        "CREATE INDEX invoice_total ON invoice (total);\nSELECT * FROM missing_table;",
    ),
    ("m3", "c1, c2", "", ""),
    ("c3", "m3", "-- migrate:phase: contract\n", "DROP TABLE session;"),
];

const MESSAGES: &[(&str, &str)] = &[
    ("a1", "create accounts"),
    ("a2", "add account email"),
    ("a3", "create sessions"),
    ("m1", "merge email and sessions"),
    ("b1", "create invoices"),
    ("b2", "add invoice totals"),
    ("m2", "join billing"),
    ("c1", "backfill totals"),
    ("c2", "index invoice totals"),
    ("m3", "merge backfill and index"),
    ("c3", "drop sessions"),
];

fn project(root: &Path) {
    let dir = root.join("migrations");
    std::fs::create_dir(&dir).unwrap();
    for (&(id, down, header, upgrade), &(_, message)) in REVISIONS.iter().zip(MESSAGES) {
        let slug = message.replace(' ', "_");
        std::fs::write(
            dir.join(format!("{id}_{slug}.sql")),
            format!(
                "-- {message}\n-- revision: {id}\n-- down_revision: {down}\n{header}\n-- migrate:upgrade\n{upgrade}\n"
            ),
        )
        .unwrap();
    }
}

#[test]
fn history_graph_draws_two_bases_three_merges_and_the_database() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    project(root);
    let url = format!("sqlite:{}", root.join("app.db").display());
    let db = ["--database-url", url.as_str()];

    let without = ok(&mut migrate(root), &["history", "--graph"]);
    assert_eq!(without, PICTURE.replace(" (current)", "").replace(" (failed)", ""));

    ok(&mut migrate(root), &["upgrade", "c1", db[0], db[1]]);
    let e = fails(&mut migrate(root), &["upgrade", "c2", db[0], db[1]], 1);
    assert!(e.contains("missing_table"), "{e}");
    let with = ok(&mut migrate(root), &["history", "--graph", db[0], db[1]]);
    assert_eq!(with, PICTURE, "got:\n{with}");
}

/// The picture: newest first (the order of application reversed), each
/// merge's first parent straight below it.
const PICTURE: &str = "\
* c3 (head) [contract] drop sessions
*   m3 merge backfill and index
|\\
* | c1 (current) backfill totals
| * c2 (failed) index invoice totals
|/
*   m2 join billing
|\\
* |   m1 merge email and sessions
|\\ \\
* | | a2 add account email
| * | a3 create sessions
|/ /
| * b2 [expand] add invoice totals
| * b1 (base) create invoices
* a1 (base) create accounts
";

#[test]
fn history_format_mermaid_parses_and_dot_names_every_edge() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    project(root);
    let url = format!("sqlite:{}", root.join("app.db").display());
    ok(&mut migrate(root), &["upgrade", "c1", "--database-url", &url]);

    let text = ok(
        &mut migrate(root),
        &["history", "--format", "mermaid", "--database-url", &url],
    );
    let chart = parse_mermaid(&text);
    assert_eq!(chart.nodes.len(), REVISIONS.len(), "{text}");
    let edges: usize = REVISIONS
        .iter()
        .map(|r| r.1.split(',').filter(|p| !p.trim().is_empty()).count())
        .sum();
    assert_eq!(chart.edges.len(), edges, "{text}");
    let label = |class: &str| -> Vec<&str> {
        let mut ids: Vec<&str> = chart.classes[class].iter().map(|n| chart.nodes[n].as_str()).collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(label("head"), ["c3<br/>[contract] drop sessions"]);
    assert_eq!(label("base"), ["a1<br/>create accounts", "b1<br/>create invoices"]);
    assert_eq!(label("current"), ["c1<br/>backfill totals"]);

    let dot = ok(&mut migrate(root), &["history", "--format", "dot"]);
    assert!(
        dot.starts_with("digraph migrations {\n") && dot.ends_with("}\n"),
        "{dot}"
    );
    let declared: HashSet<&str> = dot
        .lines()
        .filter(|l| l.contains("[label="))
        .map(|l| l.trim().split(' ').next().unwrap())
        .collect();
    assert_eq!(declared.len(), REVISIONS.len(), "{dot}");
    let arrows: Vec<&str> = dot.lines().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(arrows.len(), edges, "{dot}");
    for arrow in arrows {
        let (from, to) = arrow.trim().trim_end_matches(';').split_once(" -> ").unwrap();
        assert!(declared.contains(from) && declared.contains(to), "{arrow}");
    }
    fails(&mut migrate(root), &["history", "--format", "mermaid", "--json"], 2);
}

/// A Mermaid flowchart of the subset `history --format mermaid` writes.
struct Chart {
    /// Node id to label.
    nodes: std::collections::HashMap<String, String>,
    edges: Vec<(String, String)>,
    /// Class name to its nodes.
    classes: std::collections::HashMap<String, Vec<String>>,
}

/// Parses `text` strictly: the header `flowchart BT`, then node declarations
/// `id["label"]` (no `"` inside; `#` only in an entity code such as `#quot;`;
/// `<` only in `<br/>`), edges `a --> b` between declared nodes, `classDef
/// name prop:value,…` and `class a,b name` of declared nodes and classes.
/// Any other line fails the test.
fn parse_mermaid(text: &str) -> Chart {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("flowchart BT"), "{text}");
    let mut chart = Chart {
        nodes: Default::default(),
        edges: Vec::new(),
        classes: Default::default(),
    };
    let is_id = |id: &str| id.len() > 1 && id.starts_with('r') && id[1..].bytes().all(|b| b.is_ascii_digit());
    for line in lines {
        let l = line.trim();
        if let Some((id, rest)) = l.split_once("[\"") {
            let label = rest
                .strip_suffix("\"]")
                .unwrap_or_else(|| panic!("unclosed label: {line}"));
            assert!(is_id(id) && !label.contains('"'), "bad node: {line}");
            for (at, _) in label.match_indices('#') {
                let code = &label[at + 1..];
                let end = code.find(';').unwrap_or_else(|| panic!("bare `#`: {line}"));
                assert!(
                    end > 0 && code[..end].bytes().all(|b| b.is_ascii_alphanumeric()),
                    "{line}"
                );
            }
            assert!(label.replace("<br/>", "").find(['<', '>']).is_none(), "markup: {line}");
            assert!(
                chart.nodes.insert(id.into(), label.into()).is_none(),
                "declared twice: {line}"
            );
        } else if let Some((a, b)) = l.split_once(" --> ") {
            for id in [a, b] {
                assert!(chart.nodes.contains_key(id), "edge to an undeclared node: {line}");
            }
            chart.edges.push((a.into(), b.into()));
        } else if let Some(rest) = l.strip_prefix("classDef ") {
            let (name, styles) = rest.split_once(' ').unwrap_or_else(|| panic!("{line}"));
            for style in styles.split(',') {
                let (prop, value) = style.split_once(':').unwrap_or_else(|| panic!("bad style: {line}"));
                assert!(!prop.is_empty() && !value.is_empty(), "{line}");
            }
            chart.classes.insert(name.into(), Vec::new());
        } else if let Some(rest) = l.strip_prefix("class ") {
            let (ids, name) = rest.split_once(' ').unwrap_or_else(|| panic!("{line}"));
            let members = chart
                .classes
                .get_mut(name)
                .unwrap_or_else(|| panic!("class before its classDef: {line}"));
            for id in ids.split(',') {
                assert!(chart.nodes.contains_key(id), "class of an undeclared node: {line}");
                members.push(id.into());
            }
        } else {
            panic!("not a line of the flowchart subset: {line:?}");
        }
    }
    chart
}

/// After `migrate squash`, a database that ran the squashed revisions (and
/// none above) is drawn at the baseline that stands for them, and its rows
/// are not called a newer build's revisions.
#[test]
fn a_squashed_database_is_drawn_at_its_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let dir = cwd.join("migrations");
    std::fs::create_dir_all(&dir).unwrap();
    for (id, parent, table) in [("s1", "", "one"), ("s2", "s1", "two"), ("s3", "s2", "three")] {
        std::fs::write(
            dir.join(format!("{id}_{table}.sql")),
            format!("-- {table}\n-- revision: {id}\n-- down_revision: {parent}\n\n-- migrate:upgrade\nCREATE TABLE {table} (id INTEGER PRIMARY KEY);\n\n-- migrate:downgrade\nDROP TABLE {table};\n"),
        )
        .unwrap();
    }
    let url = format!("sqlite:{}?mode=rwc", cwd.join("app.db").display());
    ok(&mut migrate(cwd), &["upgrade", "s2", "--database-url", &url]);
    ok(
        &mut migrate(cwd),
        &["squash", "--to", "s2", "--release", "v1", "--dialect", "sqlite"],
    );
    let out = migrate(cwd)
        .args(["history", "--graph", "--database-url", &url])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].starts_with("* s3 (head) three"), "{stdout}");
    assert!(
        lines[1].contains("(base) (current) baseline: 2 revisions squashed up to s2"),
        "{stdout}"
    );
    assert!(!stderr.contains("does not know"), "{stderr}");
}
