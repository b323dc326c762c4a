//! Alembic's order, checked against Alembic itself: random revision graphs
//! (forks, merges of two or three parents listed in any order, `depends_on`
//! on a revision of another line, several
//! bases joined by merges, file names whose order is not the ids' order),
//! each written as an Alembic project and as a `migrate` folder, run by
//! Alembic in offline mode (`--sql`) and planned by `migrate`; the applied
//! order is compared step by step.
//!
//! Two Python processes run every project (the driver below calls Alembic's
//! `command.upgrade`/`command.downgrade` with `sql=True`, and for a database
//! with several heads, which the command line cannot start from offline,
//! the same `EnvironmentContext` those commands build, with the heads as
//! `starting_rev`). Alembic is the oracle; nothing here reimplements it.
//! Without Alembic (`python3 -m pip install alembic`, as `.ci/run` does) the
//! test prints `SKIPPED: alembic not installed`, and fails under `CI=true`.

use migrate::offline::ScriptRange;
use migrate::{Dialect, Direction, HistoryTable, Migrations, Target};
use migrate_core::{Graph, Migration, plan};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// How many random graphs, and the seed they all come from.
const GRAPHS: usize = 240;
const SEED: u64 = 0x5eed_a1e3_b1c0_0021;

/// The Python side: reads the manifest, runs each query through Alembic in
/// offline mode, and prints `query<TAB>ok<TAB>up a,up b,…` (the markers the
/// migrations printed, in order) or `query<TAB>err<TAB>message`.
const DRIVER: &str = r#"
import io, re, sys, traceback
from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory

MARK = re.compile(r"SELECT '(up|down) ([A-Za-z0-9_]+)'")

def from_heads(cfg, heads, dest, up):
    # What command.upgrade / command.downgrade build, started from several heads.
    script = ScriptDirectory.from_config(cfg)
    def steps(rev, context):
        return script._upgrade_revs(dest, rev) if up else script._downgrade_revs(dest, rev)
    with EnvironmentContext(cfg, script, fn=steps, as_sql=True,
                            starting_rev=tuple(heads.split(",")), destination_rev=dest):
        script.run_env()

for line in open(sys.argv[1]):
    project, query, verb, *args = line.rstrip("\n").split("\t")
    out = io.StringIO()
    cfg = Config(project + "/alembic.ini", output_buffer=out)
    try:
        if verb == "upgrade":
            command.upgrade(cfg, args[0], sql=True)
        elif verb == "downgrade":
            command.downgrade(cfg, args[0], sql=True)
        else:
            from_heads(cfg, args[0], args[1], verb == "upgrade_from")
        marks = ",".join(" ".join(m.groups()) for m in MARK.finditer(out.getvalue()))
        print(query, "ok", marks, sep="\t")
    except Exception as e:
        print(query, "err", repr(e).replace("\n", " "), sep="\t")
"#;

const ALEMBIC_INI: &str = "[alembic]\nscript_location = %(here)s\nsqlalchemy.url = sqlite://\n";

const ENV_PY: &str = r#"from alembic import context

config = context.config


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    raise SystemExit("this project runs in offline mode only (--sql)")
"#;

/// SplitMix64: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// One revision: its id, its file's stem (`<id>` or `<id>_<slug>`, the same
/// for the `.py` and the `.sql` file, so both folders list in one order),
/// and its parents as its `down_revision` lists them.
#[derive(Debug, Clone)]
struct Rev {
    id: String,
    stem: String,
    parents: Vec<usize>,
    /// An earlier revision it names in `depends_on` (not a parent).
    after: Option<usize>,
}

/// Short ids from a few characters, so ids are often prefixes of one
/// another, and file names then sort otherwise than ids (`bA_x` < `b_y`).
fn fresh_id(rng: &mut Rng, taken: &[Rev]) -> String {
    const CHARS: &[u8] = b"abAB0_";
    loop {
        let len = 1 + rng.below(3);
        let id: String = (0..len).map(|_| CHARS[rng.below(CHARS.len())] as char).collect();
        if !taken.iter().any(|r| r.id == id) {
            return id;
        }
    }
}

/// The revisions nothing names as a parent.
fn heads(revs: &[Rev]) -> Vec<usize> {
    (0..revs.len())
        .filter(|&i| !revs.iter().any(|r| r.parents.contains(&i)))
        .collect()
}

/// A random valid graph: one to three bases, forks, merges of two or three
/// heads in any order, and merges joining whatever heads are left.
fn random_graph(rng: &mut Rng) -> Vec<Rev> {
    let size = 2 + rng.below(17);
    let bases = [1, 1, 1, 2, 2, 3][rng.below(6)].min(size);
    let mut revs: Vec<Rev> = Vec::new();
    for i in 0..size {
        let open = heads(&revs);
        let parents = if i < bases {
            Vec::new()
        } else if open.len() >= 2 && rng.chance(30) {
            let mut ps = open.clone();
            rng.shuffle(&mut ps);
            ps.truncate(2 + rng.below(2));
            ps
        } else if rng.chance(65) {
            vec![open[rng.below(open.len())]]
        } else {
            vec![rng.below(revs.len())]
        };
        push(rng, &mut revs, parents);
        // Sometimes a dependency on an earlier revision of another line.
        if i > 0 && rng.chance(35) {
            let d = rng.below(i);
            let line = ancestry(&revs, i);
            if !line[d] {
                revs[i].after = Some(d);
            }
        }
    }
    loop {
        let mut open = heads(&revs);
        if open.len() < 2 {
            drop_crashing_dependencies(&mut revs);
            return revs;
        }
        rng.shuffle(&mut open);
        open.truncate(2 + rng.below(2));
        push(rng, &mut revs, open);
    }
}

/// `i` and every revision it descends from through its parents.
fn ancestry(revs: &[Rev], i: usize) -> Vec<bool> {
    let mut seen = vec![false; revs.len()];
    let mut stack = vec![i];
    while let Some(x) = stack.pop() {
        if !std::mem::replace(&mut seen[x], true) {
            stack.extend(&revs[x].parents);
        }
    }
    seen
}

/// Alembic 1.20 raises `KeyError` while keeping its heads when a revision
/// depends on `d` and a revision that needs it (through parents or
/// `depends_on`) also names `d` as a parent (it removes `d` from its heads
/// twice); with no oracle for that shape, such a `depends_on` is left out.
fn drop_crashing_dependencies(revs: &mut [Rev]) {
    let needs = |revs: &[Rev], i: usize| {
        let mut seen = vec![false; revs.len()];
        let mut stack = vec![i];
        while let Some(x) = stack.pop() {
            if !std::mem::replace(&mut seen[x], true) {
                stack.extend(revs[x].parents.iter().chain(&revs[x].after));
            }
        }
        seen
    };
    for r in 0..revs.len() {
        let Some(d) = revs[r].after else { continue };
        let crashes = (0..revs.len()).any(|c| c != r && needs(revs, c)[r] && revs[c].parents.contains(&d));
        if crashes {
            revs[r].after = None;
        }
    }
}

fn push(rng: &mut Rng, revs: &mut Vec<Rev>, parents: Vec<usize>) {
    let id = fresh_id(rng, revs);
    let stem = match rng.below(3) {
        0 => id.clone(),
        _ => format!("{id}_{}", ["x", "Y", "a0", "_z"][rng.below(4)]),
    };
    revs.push(Rev {
        id,
        stem,
        parents,
        after: None,
    });
}

/// The graph as a `migrate` folder (`sql/`) and an Alembic project (`alembic/`).
fn write_project(dir: &Path, revs: &[Rev]) {
    let sql = dir.join("sql");
    let versions = dir.join("alembic/versions");
    std::fs::create_dir_all(&sql).unwrap();
    std::fs::create_dir_all(&versions).unwrap();
    std::fs::write(dir.join("alembic/alembic.ini"), ALEMBIC_INI).unwrap();
    std::fs::write(dir.join("alembic/env.py"), ENV_PY).unwrap();
    for r in revs {
        let ids: Vec<&str> = r.parents.iter().map(|&p| revs[p].id.as_str()).collect();
        let (depends_sql, depends_py) = match r.after {
            Some(d) => (
                format!("-- depends_on: {}\n", revs[d].id),
                format!("depends_on = '{}'\n", revs[d].id),
            ),
            None => (String::new(), String::new()),
        };
        let file = format!(
            "-- order {id}\n-- revision: {id}\n-- down_revision: {}\n{depends_sql}-- migrate:upgrade\nSELECT 'up {id}';\n-- migrate:downgrade\nSELECT 'down {id}';\n",
            ids.join(", "),
            id = r.id
        );
        std::fs::write(sql.join(format!("{}.sql", r.stem)), file).unwrap();
        let down = match ids.as_slice() {
            [] => "None".to_owned(),
            [one] => format!("'{one}'"),
            many => format!(
                "({})",
                many.iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(", ")
            ),
        };
        let py = format!(
            "from alembic import op\n\nrevision = '{id}'\ndown_revision = {down}\n{depends_py}\n\ndef upgrade():\n    op.execute(\"SELECT 'up {id}'\")\n\n\ndef downgrade():\n    op.execute(\"SELECT 'down {id}'\")\n",
            id = r.id
        );
        std::fs::write(versions.join(format!("{}.py", r.stem)), py).unwrap();
    }
}

/// What a query asks, and `migrate`'s answers to it (from the plan, and
/// where the range is one an offline script can take, from the script).
struct Query {
    graph: usize,
    verb: &'static str,
    args: Vec<String>,
    ours: Vec<(&'static str, Vec<String>)>,
}

/// The markers of a plan's steps, as the migrations print them.
fn marks(graph: &Graph<'_>, plan: &migrate_core::Plan) -> Vec<String> {
    let word = match plan.direction {
        Direction::Upgrade => "up",
        Direction::Downgrade => "down",
    };
    plan.steps
        .iter()
        .map(|&i| format!("{word} {}", graph.get(i).revision()))
        .collect()
}

/// The markers of an offline script, in the order it runs them.
fn script_marks(list: &Migrations, direction: Direction, from: Option<Target>, to: Target) -> Vec<String> {
    let range = ScriptRange { from, to };
    let text = list
        .script(Dialect::Sqlite, &HistoryTable::default(), direction, &range)
        .unwrap_or_else(|e| panic!("script {range}: {e}"));
    text.lines()
        .filter_map(|l| l.strip_prefix("SELECT '")?.strip_suffix("';"))
        .map(String::from)
        .collect()
}

/// A membership vector: `of` and every revision it descends from.
fn closure(graph: &Graph<'_>, of: &[usize]) -> Vec<bool> {
    let mut set = vec![false; graph.len()];
    for &x in of {
        for (i, a) in graph.ancestors(x).into_iter().enumerate() {
            set[i] |= a;
        }
    }
    set
}

/// Every query of one graph: upgrade from empty, from one revision, and
/// from a state with several heads, to the head and to a revision;
/// downgrade from the head and from that state, to base and to a revision.
fn queries(rng: &mut Rng, index: usize, graph: &Graph<'_>, list: &Migrations) -> Vec<Query> {
    let id = |i: usize| graph.get(i).revision().to_owned();
    let rev = |i: usize| Target::Revision(id(i));
    let n = graph.len();
    let nothing = vec![false; n];
    let all = vec![true; n];
    let up = |applied: &[bool], t: &Target| marks(graph, &plan::upgrade(graph, applied, t).unwrap());
    let down = |applied: &[bool], t: &Target| marks(graph, &plan::downgrade(graph, applied, t).unwrap());
    let query = |verb, args: Vec<String>, ours| Query {
        graph: index,
        verb,
        args,
        ours,
    };
    let x = rng.below(n);
    let from_x = closure(graph, &[x]);
    let mut out = vec![
        query(
            "upgrade",
            vec!["head".into()],
            vec![
                ("plan", up(&nothing, &Target::Head)),
                ("script", script_marks(list, Direction::Upgrade, None, Target::Head)),
            ],
        ),
        query(
            "upgrade",
            vec![format!("{}:head", id(x))],
            vec![
                ("plan", up(&from_x, &Target::Head)),
                (
                    "script",
                    script_marks(list, Direction::Upgrade, Some(rev(x)), Target::Head),
                ),
            ],
        ),
        query(
            "downgrade",
            vec!["head:base".into()],
            vec![
                ("plan", down(&all, &Target::Base)),
                (
                    "script",
                    script_marks(list, Direction::Downgrade, Some(Target::Head), Target::Base),
                ),
            ],
        ),
    ];
    // A state with several heads, as two upgrades to two revisions leave it.
    let applied = closure(graph, &[rng.below(n), rng.below(n)]);
    let mut tips: Vec<usize> = graph.heads_of(&applied);
    rng.shuffle(&mut tips);
    let tips = tips.iter().map(|&i| id(i)).collect::<Vec<_>>().join(",");
    let y = rng.below(n);
    out.push(query(
        "upgrade_from",
        vec![tips.clone(), "head".into()],
        vec![("plan", up(&applied, &Target::Head))],
    ));
    out.push(query(
        "upgrade_from",
        vec![tips.clone(), id(y)],
        vec![("plan", up(&applied, &rev(y)))],
    ));
    out.push(query(
        "downgrade_from",
        vec![tips.clone(), "base".into()],
        vec![("plan", down(&applied, &Target::Base))],
    ));
    // Down to an applied revision that has applied descendants (Alembic
    // refuses a downgrade that drops nothing).
    let below: Vec<usize> = (0..n)
        .filter(|&z| applied[z] && graph.above(z).iter().enumerate().any(|(d, &b)| b && applied[d]))
        .collect();
    if !below.is_empty() {
        let z = below[rng.below(below.len())];
        out.push(query(
            "downgrade_from",
            vec![tips, id(z)],
            vec![("plan", down(&applied, &rev(z)))],
        ));
    }
    out
}

/// The graph as `child <- parents` lines with file names, for a failure message.
fn describe(revs: &[Rev]) -> String {
    let mut s = String::new();
    for r in revs {
        let ps: Vec<&str> = r.parents.iter().map(|&p| revs[p].id.as_str()).collect();
        let after = r
            .after
            .map(|d| format!(" (depends_on {})", revs[d].id))
            .unwrap_or_default();
        let _ = writeln!(s, "  {} <- {}{after}    ({}.sql)", r.id, ps.join(", "), r.stem);
    }
    s
}

fn alembic_available() -> bool {
    Command::new("python3")
        .args(["-c", "import alembic"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the driver over the manifest, in two processes (one per half of
/// its lines): each query's answer, by query number.
fn run_alembic(dir: &Path, manifest: &str) -> HashMap<usize, Result<Vec<String>, String>> {
    let driver = dir.join("driver.py");
    std::fs::write(&driver, DRIVER).unwrap();
    let lines: Vec<&str> = manifest.lines().collect();
    let children: Vec<_> = lines
        .chunks(lines.len().div_ceil(2).max(1))
        .enumerate()
        .map(|(k, part)| {
            let list = dir.join(format!("manifest{k}.tsv"));
            std::fs::write(&list, part.join("\n") + "\n").unwrap();
            Command::new("python3")
                .arg(&driver)
                .arg(&list)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut answers = HashMap::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "the Alembic driver failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        answers.extend(String::from_utf8(out.stdout).unwrap().lines().map(answer));
    }
    answers
}

/// One line of the driver's output: the query's number and its answer.
fn answer(line: &str) -> (usize, Result<Vec<String>, String>) {
    let mut parts = line.splitn(3, '\t');
    let q: usize = parts.next().unwrap().parse().unwrap();
    let status = parts.next().unwrap();
    let rest = parts.next().unwrap_or("");
    let answer = match status {
        "ok" => Ok(rest.split(',').filter(|m| !m.is_empty()).map(String::from).collect()),
        _ => Err(rest.to_owned()),
    };
    (q, answer)
}

/// Where two orders first part, for the failure message.
fn first_difference(a: &[String], b: &[String]) -> String {
    match (0..a.len().max(b.len())).find(|&k| a.get(k) != b.get(k)) {
        Some(k) => format!(
            "step {}: Alembic {:?}, migrate {:?}",
            k + 1,
            a.get(k).map_or("(nothing)", String::as_str),
            b.get(k).map_or("(nothing)", String::as_str)
        ),
        None => "the same".into(),
    }
}

#[test]
fn every_plan_runs_in_alembics_order() {
    if !alembic_available() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "alembic is not installed, and CI=true needs this test to run: `python3 -m pip install alembic` (.ci/run installs the pinned version)"
            );
        }
        println!("SKIPPED: alembic not installed");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let mut rng = Rng(SEED);
    let mut graphs = Vec::new();
    let mut all = Vec::new();
    let mut manifest = String::new();
    for g in 0..GRAPHS {
        let revs = random_graph(&mut rng);
        let dir = root.path().join(format!("g{g}"));
        write_project(&dir, &revs);
        let list = Migrations::load(&dir.join("sql"), "sql").unwrap_or_else(|e| panic!("{e}\n{}", describe(&revs)));
        let ordered: Vec<Migration> = migrate_core::load::load_dir(&dir.join("sql"), "sql").unwrap();
        let graph = Graph::of_ordered(&ordered).unwrap();
        for q in queries(&mut rng, g, &graph, &list) {
            let _ = writeln!(
                manifest,
                "{}\t{}\t{}\t{}",
                dir.join("alembic").display(),
                all.len(),
                q.verb,
                q.args.join("\t")
            );
            all.push(q);
        }
        graphs.push(revs);
    }
    let answers = run_alembic(root.path(), &manifest);
    let mut failures = Vec::new();
    for (k, q) in all.iter().enumerate() {
        let theirs = match answers.get(&k) {
            Some(Ok(order)) => order,
            Some(Err(e)) => {
                failures.push(format!(
                    "graph {}: {} {:?}: Alembic failed: {e}\n{}",
                    q.graph,
                    q.verb,
                    q.args,
                    describe(&graphs[q.graph])
                ));
                continue;
            }
            None => {
                failures.push(format!(
                    "graph {}: {} {:?}: no answer from Alembic",
                    q.graph, q.verb, q.args
                ));
                continue;
            }
        };
        for (how, ours) in &q.ours {
            if ours != theirs {
                failures.push(format!(
                    "graph {} ({how}): {} {}: {}\n  Alembic: {}\n  migrate: {}\n{}",
                    q.graph,
                    q.verb,
                    q.args.join(" "),
                    first_difference(theirs, ours),
                    theirs.join(", "),
                    ours.join(", "),
                    describe(&graphs[q.graph])
                ));
            }
        }
    }
    let compared = all.iter().map(|q| q.ours.len()).sum::<usize>();
    assert!(
        failures.is_empty(),
        "{} of {compared} orders differ from Alembic's:\n\n{}",
        failures.len(),
        failures.iter().take(10).cloned().collect::<Vec<_>>().join("\n\n")
    );
    let depending = graphs.iter().filter(|g| g.iter().any(|r| r.after.is_some())).count();
    assert!(
        depending >= GRAPHS / 4,
        "only {depending} of {GRAPHS} graphs have a depends_on: the generator no longer tests them"
    );
    println!(
        "{GRAPHS} graphs ({depending} with depends_on), {} queries, {compared} orders: all as Alembic runs them",
        all.len()
    );
}
