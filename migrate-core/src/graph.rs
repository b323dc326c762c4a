//! The revision graph: one head, any number of roots (bases) joined into it
//! by merges, in Alembic's order of application.
//!
//! Validation collects every problem (duplicates, dangling parents,
//! cycles, unmerged heads, a stray root among them) instead of stopping at the
//! first. The order of application is Alembic 1.x's (module `order`): it depends
//! on the links, the order each `down_revision` lists its parents, and the
//! sorted file names, never on the order files were read in.

mod order;
pub mod picture;
mod unordered;

pub use unordered::Unordered;

use crate::diagnostic::{Diagnostic, DiagnosticKind, Diagnostics};
use crate::format::ParsedFile;
use crate::migration::Migration;
use crate::target::TargetError;
use std::collections::{BTreeSet, HashMap};

/// What validation needs of a revision: its id, parents and where it was written.
struct Node<'a> {
    id: &'a str,
    parents: Vec<&'a str>,
    /// Its `-- depends_on: REV` revisions of the same folder.
    after: Vec<&'a str>,
    /// A squash baseline's `-- migrate:replaces:` ids.
    replaces: Vec<&'a str>,
    file: &'a str,
    revision_line: Option<usize>,
    down_revision_line: Option<usize>,
    depends_on_line: Option<usize>,
}

impl<'a> Node<'a> {
    fn of(m: &'a Migration) -> Self {
        Node {
            id: m.revision(),
            parents: m.down_revisions().collect(),
            after: m.runs_after().collect(),
            replaces: m.replaces().collect(),
            file: m.file(),
            revision_line: None,
            down_revision_line: None,
            depends_on_line: None,
        }
    }

    fn diagnostic(&self, kind: DiagnosticKind, line: Option<usize>, message: String, help: String) -> Diagnostic {
        Diagnostic::new(kind, message)
            .in_file(self.file)
            .at_line(line)
            .with_help(help)
    }
}

fn list(ids: &[&str]) -> String {
    ids.iter().map(|id| format!("`{id}`")).collect::<Vec<_>>().join(", ")
}

/// Checks the graph formed by `nodes` and returns its order of application
/// (indices into `nodes`), or every problem found.
fn analyse(nodes: &[Node<'_>]) -> Result<Vec<usize>, Vec<Diagnostic>> {
    let mut problems = Vec::new();
    let (index, alive) = duplicates(nodes, &mut problems);
    problems.extend(crate::squash::replaced_problems(
        nodes.iter().map(|n| (n.id, n.file, n.replaces.as_slice())),
    ));
    let edges = edges(nodes, &index, &alive, &mut problems);
    let (order, indegree) = topological_order(nodes, &alive, &edges);
    let live = alive.iter().filter(|&&a| a).count();
    if order.len() < live {
        cycles(nodes, &alive, &edges, &indegree, &mut problems);
    } else if live > 0 && !has_root(nodes, &alive) && !edges.dangling {
        problems.push(Diagnostic::new(
            DiagnosticKind::NoRoot,
            "no revision has an empty down_revision",
        ));
    }
    // Heads: only meaningful on an acyclic graph whose links all resolve
    // (a dropped link would make its parent look like a head).
    if order.len() == live && live > 0 && !edges.dangling {
        unmerged_heads(nodes, &edges, &order, &mut problems);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let rank = order::load_ranks(nodes.iter().map(|n| (n.file, n.id)));
    let mut applied = order::walk(&edges.needs, &edges.needed_by, &rank, &alive);
    applied.reverse();
    Ok(applied)
}

/// Duplicate ids: the first file (by name) keeps the id; every other is
/// reported and left out. Returns the id index and which nodes are kept.
fn duplicates<'a>(nodes: &[Node<'a>], problems: &mut Vec<Diagnostic>) -> (HashMap<&'a str, usize>, Vec<bool>) {
    let n = nodes.len();
    let mut by_file: Vec<usize> = (0..n).collect();
    crate::sorting::sort_by(&mut by_file, |i| (nodes[i].file, 0, 0, nodes[i].id));
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(n);
    let mut alive = vec![true; n];
    for &i in &by_file {
        let node = &nodes[i];
        if let Some(&first) = index.get(node.id) {
            alive[i] = false;
            problems.push(node.diagnostic(
                DiagnosticKind::DuplicateRevision,
                node.revision_line,
                format!("duplicate revision `{}`: also defined in {}", node.id, nodes[first].file),
                "give one of the two files a fresh revision id (and update the down_revision that should point at it)".into(),
            ));
        } else {
            index.insert(node.id, i);
        }
    }
    (index, alive)
}

/// The links between the kept nodes, both ways.
struct Edges {
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
    /// The parents, then the `depends_on` revisions ([`requirements`]).
    needs: Vec<Vec<usize>>,
    needed_by: Vec<Vec<usize>>,
    /// Whether a parent named nothing (its link is dropped).
    dangling: bool,
}

/// The edges; a parent that names nothing is reported and dropped.
fn edges(nodes: &[Node<'_>], index: &HashMap<&str, usize>, alive: &[bool], problems: &mut Vec<Diagnostic>) -> Edges {
    let n = nodes.len();
    let mut edges = Edges {
        parents: vec![Vec::new(); n],
        children: vec![Vec::new(); n],
        needs: Vec::new(),
        needed_by: Vec::new(),
        dangling: false,
    };
    let mut after = vec![Vec::new(); n];
    for i in (0..n).filter(|&i| alive[i]) {
        let node = &nodes[i];
        for &p in &node.parents {
            match index.get(p) {
                Some(&j) => {
                    edges.parents[i].push(j);
                    edges.children[j].push(i);
                }
                None => {
                    edges.dangling = true;
                    problems.push(dangling_parent(node, p, index));
                }
            }
        }
        for &d in &node.after {
            match index.get(d) {
                Some(&j) => after[i].push(j),
                None => {
                    edges.dangling = true;
                    problems.push(dangling_dependency(node, d, index));
                }
            }
        }
    }
    (edges.needs, edges.needed_by) = requirements(&edges.parents, &after);
    edges
}

/// What each revision needs applied first: its parents, then its
/// `depends_on` revisions less those a revision it descends from already
/// depends on (Alembic's normalisation; a dependency is never a parent:
/// heads and merges are the parents' alone). Both ways.
fn requirements(parents: &[Vec<usize>], after: &[Vec<usize>]) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let n = parents.len();
    let mut needs = parents.to_vec();
    for i in (0..n).filter(|&i| !after[i].is_empty()) {
        let above = ancestors_of(parents, n, i);
        for &d in &after[i] {
            let inherited = (0..n).any(|a| a != i && above[a] && after[a].contains(&d));
            if !inherited && !needs[i].contains(&d) {
                needs[i].push(d);
            }
        }
    }
    let mut needed_by = vec![Vec::new(); n];
    for (i, ns) in needs.iter().enumerate() {
        for &p in ns {
            needed_by[p].push(i);
        }
    }
    (needs, needed_by)
}

/// The ids that `id` is a prefix of, or that are a prefix of it, sorted: what a
/// mistyped id most likely meant.
fn nearest<'a>(index: &HashMap<&'a str, usize>, id: &str) -> Vec<&'a str> {
    let mut near: Vec<&str> = index
        .keys()
        .copied()
        .filter(|k| k.starts_with(id) || id.starts_with(k))
        .collect();
    near.sort_unstable();
    near
}

/// `node`'s `depends_on` revision `d` names no revision of the folder.
fn dangling_dependency(node: &Node<'_>, d: &str, index: &HashMap<&str, usize>) -> Diagnostic {
    let near = nearest(index, d);
    let guess = match near.as_slice() {
        [] => String::new(),
        _ => format!(" (did you mean {}?)", list(&near)),
    };
    node.diagnostic(
        DiagnosticKind::Dependency,
        node.depends_on_line,
        format!(
            "depends_on `{d}` of revision `{}` names no revision of this folder",
            node.id
        ),
        format!("correct the id{guess}; a revision of another migration set is written `<set>@<revision>`"),
    )
}

/// `node`'s parent `p` names no revision: the nearest ids are suggested.
fn dangling_parent(node: &Node<'_>, p: &str, index: &HashMap<&str, usize>) -> Diagnostic {
    let near = nearest(index, p);
    let help = if near.is_empty() {
        format!("correct the id, or add the migration file for revision `{p}`")
    } else {
        format!(
            "correct the id (did you mean {}?), or add the migration file for revision `{p}`",
            list(&near)
        )
    };
    node.diagnostic(
        DiagnosticKind::DanglingParent,
        node.down_revision_line,
        format!("down_revision `{p}` of revision `{}` names no revision", node.id),
        help,
    )
}

/// Whether a kept revision declares no parent at all. Any number of roots
/// is valid (a project that grew from several histories, joined by a
/// merge); what protects users is "exactly one head", which also catches a
/// root that nothing joins.
fn has_root(nodes: &[Node<'_>], alive: &[bool]) -> bool {
    (0..nodes.len()).any(|i| alive[i] && nodes[i].parents.is_empty())
}

/// Kahn's algorithm, ties broken by revision id: the order it reaches,
/// and the indegree it leaves (above 0 on the nodes it never reached).
/// Validation's own order (cycles, the fork point of unmerged heads), not
/// the order of application.
fn topological_order(nodes: &[Node<'_>], alive: &[bool], edges: &Edges) -> (Vec<usize>, Vec<usize>) {
    let n = nodes.len();
    let mut indegree: Vec<usize> = edges.needs.iter().map(Vec::len).collect();
    let mut ready: BTreeSet<(&str, usize)> = (0..n)
        .filter(|&i| alive[i] && indegree[i] == 0)
        .map(|i| (nodes[i].id, i))
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some((_, i)) = ready.pop_first() {
        order.push(i);
        for &c in &edges.needed_by[i] {
            indegree[c] -= 1;
            if indegree[c] == 0 {
                ready.insert((nodes[c].id, c));
            }
        }
    }
    (order, indegree)
}

/// Every node Kahn's algorithm leaves has a parent that is left too, so
/// walking parents from any of them must come back on itself: that loop
/// is a cycle. Each cycle is reported once.
fn cycles(nodes: &[Node<'_>], alive: &[bool], edges: &Edges, indegree: &[usize], problems: &mut Vec<Diagnostic>) {
    let n = nodes.len();
    let mut remaining: Vec<usize> = (0..n).filter(|&i| alive[i] && indegree[i] > 0).collect();
    crate::sorting::sort_by(&mut remaining, |i| (nodes[i].id, 0, 0, ""));
    let mut explained = vec![false; n];
    for &start in &remaining {
        if explained[start] {
            continue;
        }
        let (path, cycle_from) = walk_parents(nodes, edges, indegree, &explained, start);
        for &p in &path {
            explained[p] = true;
        }
        if let Some(k) = cycle_from {
            problems.push(cycle(nodes, path[k..].to_vec()));
        }
    }
}

/// The walk from `start` through its smallest left parent, until it comes
/// back on itself (`Some` of where the loop starts in the path) or reaches
/// a node an earlier walk explained (`None`).
fn walk_parents(
    nodes: &[Node<'_>],
    edges: &Edges,
    indegree: &[usize],
    explained: &[bool],
    start: usize,
) -> (Vec<usize>, Option<usize>) {
    let mut path = vec![start];
    let mut at: HashMap<usize, usize> = HashMap::from([(start, 0)]);
    loop {
        #[allow(clippy::expect_used, reason = "`path` starts with `start` and only grows")]
        let cur = *path.last().expect("path starts non-empty");
        #[allow(
            clippy::expect_used,
            reason = "every node Kahn's algorithm leaves has a parent it also leaves, or its indegree would be 0"
        )]
        let next = edges.needs[cur]
            .iter()
            .copied()
            .filter(|&p| indegree[p] > 0)
            .min_by_key(|&p| nodes[p].id)
            .expect("a node left by Kahn's algorithm has a parent left too");
        if explained[next] {
            return (path, None);
        }
        if let Some(&k) = at.get(&next) {
            return (path, Some(k));
        }
        at.insert(next, path.len());
        path.push(next);
    }
}

/// The diagnostic of one cycle, given child-to-parent.
fn cycle(nodes: &[Node<'_>], mut cycle: Vec<usize>) -> Diagnostic {
    // Start the printed cycle at its smallest id, walking upgrade-wards (parent -> child).
    cycle.reverse();
    let min = (0..cycle.len()).min_by_key(|&j| nodes[cycle[j]].id).unwrap_or(0);
    cycle.rotate_left(min);
    let mut shown: Vec<&str> = cycle.iter().map(|&i| nodes[i].id).collect();
    shown.push(shown[0]);
    let first = &nodes[cycle[0]];
    let (message, help) = if cycle.len() == 1 {
        (
            format!("revision `{}` lists itself as its down_revision", first.id),
            format!("remove `{}` from its own down_revision", first.id),
        )
    } else {
        let files: Vec<String> = cycle
            .iter()
            .map(|&i| format!("`{}` ({})", nodes[i].id, nodes[i].file))
            .collect();
        let (links, each, fix) = if cycle.iter().any(|&i| !nodes[i].after.is_empty()) {
            (
                "down_revision and depends_on",
                "each revision is a down_revision or a depends_on of the next",
                "name an earlier revision, or drop the depends_on that closes the loop",
            )
        } else {
            (
                "down_revision",
                "each revision is the down_revision of the next",
                "name an earlier revision as its down_revision",
            )
        };
        (
            format!("the {links} links form a cycle: {} ({each})", shown.join(" -> ")),
            format!("make one of {} {fix}", files.join(", ")),
        )
    };
    first.diagnostic(DiagnosticKind::Cycle, first.down_revision_line, message, help)
}

/// More than one head: reported with where the heads fork and the merge that joins them.
fn unmerged_heads(nodes: &[Node<'_>], edges: &Edges, order: &[usize], problems: &mut Vec<Diagnostic>) {
    let mut heads: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| edges.children[i].is_empty())
        .collect();
    crate::sorting::sort_by(&mut heads, |i| (nodes[i].id, 0, 0, ""));
    if heads.len() <= 1 {
        return;
    }
    let fork = fork_point(nodes, edges, order, &heads);
    let ids: Vec<&str> = heads.iter().map(|&i| nodes[i].id).collect();
    let named: Vec<String> = heads
        .iter()
        .map(|&i| format!("`{}` ({})", nodes[i].id, nodes[i].file))
        .collect();
    let from = match fork {
        Some(f) => format!(", forking from `{f}`"),
        None => String::from(", with no common ancestor"),
    };
    let merge = format!(
        "add a merge revision whose down_revision lists {} (`migrate merge -m \"merge heads\"` writes it)",
        ids.join(", ")
    );
    let (at, line, help) = heads_help(nodes, edges, &heads, fork, merge);
    problems.push(nodes[at].diagnostic(
        DiagnosticKind::UnmergedHeads,
        line,
        format!(
            "the revision graph has {} heads: {}{from}",
            heads.len(),
            named.join(", ")
        ),
        help,
    ));
}

/// The latest revision (in `order`) that every head descends from.
fn fork_point<'a>(nodes: &[Node<'a>], edges: &Edges, order: &[usize], heads: &[usize]) -> Option<&'a str> {
    let n = nodes.len();
    let mut position = vec![usize::MAX; n];
    for (p, &i) in order.iter().enumerate() {
        position[i] = p;
    }
    let mut common: Option<Vec<bool>> = None;
    for &h in heads {
        let anc = ancestors_of(&edges.parents, n, h);
        common = Some(match common {
            None => anc,
            Some(c) => c.iter().zip(&anc).map(|(a, b)| *a && *b).collect(),
        });
    }
    common
        .and_then(|c| (0..n).filter(|&i| c[i]).max_by_key(|&i| position[i]))
        .map(|i| nodes[i].id)
}

/// Which head the unmerged-heads diagnostic sits on, its line, and the fix:
/// a head that is also a root is a file whose down_revision was left empty.
fn heads_help(
    nodes: &[Node<'_>],
    edges: &Edges,
    heads: &[usize],
    fork: Option<&str>,
    merge: String,
) -> (usize, Option<usize>, String) {
    let strays: Vec<usize> = heads.iter().copied().filter(|&h| edges.parents[h].is_empty()).collect();
    match (fork, strays.as_slice(), heads) {
        (None, [stray], [a, b]) => {
            let other = if a == stray { *b } else { *a };
            (
                *stray,
                nodes[*stray].down_revision_line,
                format!(
                    "if `{}` should follow the history, set its down_revision to `{}`; if it starts an independent history, {merge}",
                    nodes[*stray].id, nodes[other].id
                ),
            )
        }
        (None, _, _) => (
            heads[0],
            nodes[heads[0]].revision_line,
            format!(
                "{merge}; or, if one of these lines should follow another, set the down_revision of its first revision to that line's head"
            ),
        ),
        (Some(_), _, _) => (heads[0], nodes[heads[0]].revision_line, merge),
    }
}

/// `i` and every revision it descends from.
fn ancestors_of(parents: &[Vec<usize>], n: usize, i: usize) -> Vec<bool> {
    let mut seen = vec![false; n];
    let mut stack = vec![i];
    while let Some(x) = stack.pop() {
        if !std::mem::replace(&mut seen[x], true) {
            stack.extend(&parents[x]);
        }
    }
    seen
}

/// Validates parsed files and returns their migrations in application order.
pub fn validate(files: Vec<ParsedFile>) -> Result<Vec<Migration>, Vec<Diagnostic>> {
    let nodes: Vec<Node<'_>> = files
        .iter()
        .map(|f| Node {
            revision_line: Some(f.revision_line),
            down_revision_line: Some(f.down_revision_line),
            depends_on_line: f.depends_on_line,
            ..Node::of(&f.migration)
        })
        .collect();
    let order = analyse(&nodes)?;
    let mut slots: Vec<Option<Migration>> = files.into_iter().map(|f| Some(f.migration)).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// A valid revision graph over a list of migrations, in application order
/// (what `upgrade head` runs on an empty database).
///
/// Revisions are addressed by their position in that order: `0` is the
/// first revision applied, `len() - 1` the head.
#[derive(Debug, Clone)]
pub struct Graph<'m> {
    migrations: Vec<&'m Migration>,
    index: HashMap<&'m str, usize>,
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
    /// The parents, then the `depends_on` revisions of the folder
    /// (normalised as Alembic does), both ways.
    needs: Vec<Vec<usize>>,
    needed_by: Vec<Vec<usize>>,
    /// Each position's rank in the order Alembic loads a versions folder.
    rank: Vec<usize>,
}

impl<'m> Graph<'m> {
    /// Builds and checks the graph of `migrations` (in any order).
    pub fn new(migrations: &'m [Migration]) -> Result<Self, Diagnostics> {
        let nodes: Vec<Node<'_>> = migrations.iter().map(Node::of).collect();
        let order = analyse(&nodes).map_err(Diagnostics::new)?;
        let migrations: Vec<&Migration> = order.iter().map(|&i| &migrations[i]).collect();
        let index: HashMap<&str, usize> = migrations.iter().enumerate().map(|(i, m)| (m.revision(), i)).collect();
        let parents: Vec<Vec<usize>> = migrations
            .iter()
            .map(|m| m.down_revisions().map(|p| index[p]).collect())
            .collect();
        let mut children = vec![Vec::new(); migrations.len()];
        for (i, ps) in parents.iter().enumerate() {
            for &p in ps {
                children[p].push(i);
            }
        }
        let rank = order::load_ranks(migrations.iter().map(|m| (m.file(), m.revision())));
        let after: Vec<Vec<usize>> = migrations
            .iter()
            .map(|m| m.runs_after().map(|d| index[d]).collect())
            .collect();
        let (needs, needed_by) = requirements(&parents, &after);
        Ok(Graph {
            migrations,
            index,
            parents,
            children,
            needs,
            needed_by,
            rank,
        })
    }

    /// The graph of a list that is already validated and in application
    /// order (what `embed_migrations!` embeds and [`crate::load`] returns):
    /// it is indexed and its order checked, not analysed again. A list that
    /// turns out not to be (an id twice, a parent missing or after its
    /// child, not one head, another order) gets the full analysis of
    /// [`Graph::new`], problems and all.
    pub fn of_ordered(migrations: &'m [Migration]) -> Result<Self, Diagnostics> {
        let n = migrations.len();
        let mut index: HashMap<&'m str, usize> = HashMap::with_capacity(n);
        let mut parents: Vec<Vec<usize>> = Vec::with_capacity(n);
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut after: Vec<Vec<usize>> = Vec::with_capacity(n);
        for (i, m) in migrations.iter().enumerate() {
            let mut ps = Vec::new();
            for p in m.down_revisions() {
                match index.get(p) {
                    Some(&j) => {
                        ps.push(j);
                        children[j].push(i);
                    }
                    None => return Graph::new(migrations),
                }
            }
            let Some(ds) = m
                .runs_after()
                .map(|d| index.get(d).copied())
                .collect::<Option<Vec<usize>>>()
            else {
                return Graph::new(migrations);
            };
            if index.insert(m.revision(), i).is_some() {
                return Graph::new(migrations);
            }
            parents.push(ps);
            after.push(ds);
        }
        let heads = children.iter().filter(|c| c.is_empty()).count();
        if n > 0 && (heads != 1 || !children[n - 1].is_empty()) {
            return Graph::new(migrations);
        }
        let (needs, needed_by) = requirements(&parents, &after);
        let graph = Graph {
            migrations: migrations.iter().collect(),
            index,
            parents,
            children,
            needs,
            needed_by,
            rank: order::load_ranks(migrations.iter().map(|m| (m.file(), m.revision()))),
        };
        let mut down = graph.unapply_order(&vec![true; n]);
        down.reverse();
        if down.iter().enumerate().any(|(k, &i)| k != i) {
            return Graph::new(migrations);
        }
        Ok(graph)
    }

    /// How many revisions there are.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// The revision at position `i` of the application order.
    pub fn get(&self, i: usize) -> &'m Migration {
        self.migrations[i]
    }

    /// The revisions in application order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &'m Migration> + '_ {
        self.migrations.iter().copied()
    }

    /// The position of the revision with exactly this id.
    pub fn position(&self, revision: &str) -> Option<usize> {
        self.index.get(revision).copied()
    }

    /// Positions of the revisions `i` names as down_revision.
    pub fn parents(&self, i: usize) -> &[usize] {
        &self.parents[i]
    }

    /// Positions of the revisions that name `i` as down_revision.
    pub fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    /// The head: the last revision of the order, which every other precedes.
    pub fn head(&self) -> Option<usize> {
        self.len().checked_sub(1)
    }

    /// Positions of what `i` needs applied first: its parents, then the
    /// revisions of its `-- depends_on: REV` lines that no revision it
    /// descends from already depends on.
    pub fn needs(&self, i: usize) -> &[usize] {
        &self.needs[i]
    }

    /// `i` and everything it needs applied first (its ancestors and their
    /// `depends_on` revisions, transitively), as a membership vector: what
    /// an upgrade to `i` applies.
    pub fn ancestors(&self, i: usize) -> Vec<bool> {
        ancestors_of(&self.needs, self.len(), i)
    }

    /// `i` and everything that needs it (its descendants and the revisions
    /// depending on them), as a membership vector: what a downgrade of `i`
    /// unapplies.
    pub fn descendants(&self, i: usize) -> Vec<bool> {
        ancestors_of(&self.needed_by, self.len(), i)
    }

    /// What a downgrade to `i` unapplies, as a membership vector: the
    /// revisions descending from `i` through `down_revision` (not `i`), and
    /// everything that needs one of them. A revision that only depends on
    /// `i` (`depends_on`) stays, as in Alembic: `i` stays applied.
    pub fn above(&self, i: usize) -> Vec<bool> {
        let mut seeds: Vec<usize> = self.children[i].clone();
        let mut set = vec![false; self.len()];
        while let Some(x) = seeds.pop() {
            if !std::mem::replace(&mut set[x], true) {
                seeds.extend(&self.needed_by[x]);
            }
        }
        set
    }

    /// The revisions of `todo` (a membership vector by position) in the
    /// order Alembic applies them: the reverse of [`Graph::unapply_order`].
    pub fn apply_order(&self, todo: &[bool]) -> Vec<usize> {
        let mut order = self.unapply_order(todo);
        order.reverse();
        order
    }

    /// The revisions of `todo` in the order Alembic unapplies them: its
    /// revision map's walk from the revisions of `todo` no other one
    /// descends from, taken in file-name order, down each `down_revision`
    /// in the order it lists its parents (see the `order` module). Every
    /// revision of `todo` is in it once; `todo` shorter than the graph
    /// counts as `false` beyond its end.
    pub fn unapply_order(&self, todo: &[bool]) -> Vec<usize> {
        let mut set = todo.to_vec();
        set.resize(self.len(), false);
        order::walk(&self.needs, &self.needed_by, &self.rank, &set)
    }

    /// The applied revisions that no other applied revision needs (as a
    /// parent or through `depends_on`): what Alembic's `alembic_version`
    /// holds for that state.
    pub fn heads_of(&self, applied: &[bool]) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| applied[i] && !self.needed_by[i].iter().any(|&c| applied[c]))
            .collect()
    }

    /// Finds the revision whose id is `id` or starts with it.
    pub fn resolve(&self, id: &str) -> Result<usize, TargetError> {
        if let Some(i) = self.position(id) {
            return Ok(i);
        }
        let found = by_prefix(&self.migrations, id)?;
        Ok(self.index[found.revision()])
    }
}

/// The one migration of `list` whose id starts with `prefix`, or why there is none.
fn by_prefix<'m>(list: &[&'m Migration], prefix: &str) -> Result<&'m Migration, TargetError> {
    let mut found: Vec<&'m Migration> = list
        .iter()
        .copied()
        .filter(|m| m.revision().starts_with(prefix))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(TargetError::UnknownRevision { id: prefix.to_owned() }),
        _ => {
            crate::sorting::sort_by(&mut found, |m| (m.revision(), 0, 0, ""));
            Err(TargetError::AmbiguousPrefix {
                prefix: prefix.to_owned(),
                candidates: found.iter().map(|m| m.revision().to_owned()).collect(),
            })
        }
    }
}

/// The heads of a list that need not form a valid graph (a folder whose only
/// problem is an unmerged fork, which is when `merge` is needed): the
/// revisions no other revision names as a down_revision, by id.
pub fn heads(list: &[Migration]) -> Vec<&Migration> {
    let parents: std::collections::HashSet<&str> = list.iter().flat_map(Migration::down_revisions).collect();
    let mut heads: Vec<&Migration> = list.iter().filter(|m| !parents.contains(m.revision())).collect();
    crate::sorting::sort_by(&mut heads, |m| (m.revision(), 0, 0, ""));
    heads
}

/// The revisions of `list` that name `revision` as a down_revision, by id.
pub fn children<'m>(list: &'m [Migration], revision: &str) -> Vec<&'m str> {
    let mut children: Vec<&str> = list
        .iter()
        .filter(|c| c.down_revisions().any(|p| p == revision))
        .map(Migration::revision)
        .collect();
    children.sort_unstable();
    children
}

/// The revision of `list` (which need not form a valid graph) that `id`
/// names: an exact id, a unique prefix, or `head` for the single head.
pub fn find<'m>(list: &'m [Migration], id: &str) -> Result<&'m Migration, TargetError> {
    if id == "head" {
        return match heads(list).as_slice() {
            [one] => Ok(one),
            [] => Err(TargetError::UnknownRevision { id: id.into() }),
            many => Err(TargetError::AmbiguousHead {
                heads: many.iter().map(|m| m.revision().to_owned()).collect(),
            }),
        };
    }
    if let Some(m) = list.iter().find(|m| m.revision() == id) {
        return Ok(m);
    }
    by_prefix(&list.iter().collect::<Vec<_>>(), id)
}

#[cfg(test)]
mod tests;
