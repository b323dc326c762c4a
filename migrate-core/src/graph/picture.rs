//! The revision graph as a picture: lanes as `git log --graph` draws them
//! (newest first, one revision a line), and the graph as Graphviz `dot` or
//! Mermaid text for documentation.
//!
//! Pure text over a [`Graph`]; what a database says of a revision (its
//! current heads, its failed rows) comes in as [`Seen`], read by the caller.

use super::Graph;
use crate::migration::Phase;

/// What a database's history says of one revision, for the marks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    /// One of the database's current heads (`(current)`).
    pub current: bool,
    /// Its row is in a failed state (`(failed)`).
    pub failed: bool,
}

/// One line of the picture: the lanes, and the revision drawn on it (a `*`
/// in its lane), or `None` on a line that only moves lanes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The lanes, right-trimmed on a line without a revision; on a revision's
    /// line padded to the width of the lanes around it.
    pub lanes: String,
    /// The position (in the graph's order) of the revision on this line.
    pub revision: Option<usize>,
}

/// An edge on its way from one line's lanes to the next's.
struct Edge {
    /// The revision the lane waits for.
    node: usize,
    /// Its lane now.
    at: usize,
    /// Its lane on the next revision's line.
    to: usize,
}

/// The graph's lanes, newest revision first (the reverse of the order of
/// application): a `*` for the revision in its lane, `|` for lanes passing,
/// `\` where a merge opens a lane for its next parent, `/` where lanes that
/// wait for the same revision join (a branch point) or close up, `_` where
/// joining crosses a lane, and `-.` after a merge of three or more.
pub fn lanes(graph: &Graph<'_>) -> Vec<Line> {
    let mut lines = Vec::new();
    // The revisions each lane waits for, left to right, each once.
    let mut waiting: Vec<usize> = Vec::new();
    for n in (0..graph.len()).rev() {
        let c = match waiting.iter().position(|&w| w == n) {
            Some(c) => c,
            None => {
                waiting.push(n);
                waiting.len() - 1
            }
        };
        let parents = graph.parents(n);
        let mut next: Vec<usize> = waiting[..c].to_vec();
        next.extend(parents);
        next.extend(&waiting[c + 1..]);
        let mut seen = vec![false; graph.len()];
        next.retain(|&w| !std::mem::replace(&mut seen[w], true));
        let lane_of = |w: usize| next.iter().position(|&x| x == w).unwrap_or(0);
        // A merge of three or more draws `-.` after its `*`: the lanes to its
        // right start that much further.
        let extra = parents.len().saturating_sub(2);
        let mut edges: Vec<Edge> = Vec::new();
        for (k, &w) in waiting.iter().enumerate().filter(|&(k, _)| k != c) {
            let at = if k > c { k + extra } else { k };
            edges.push(Edge {
                node: w,
                at,
                to: lane_of(w),
            });
        }
        for (j, &p) in parents.iter().enumerate() {
            edges.push(Edge {
                node: p,
                at: c + j.saturating_sub(1),
                to: lane_of(p),
            });
        }
        let mut cells = vec![' '; 2 * (waiting.len() + extra)];
        for k in 0..waiting.len() {
            let at = if k > c { k + extra } else { k };
            cells[2 * at] = if k == c { '*' } else { '|' };
        }
        for j in 1..=extra {
            cells[2 * (c + j) - 1] = '-';
            cells[2 * (c + j)] = '.';
        }
        let width = 2 * (waiting.len() + extra).max(next.len()) - 1;
        let mut lanes: String = cells.into_iter().collect::<String>().trim_end().to_owned();
        while lanes.chars().count() < width {
            lanes.push(' ');
        }
        lines.push(Line {
            lanes,
            revision: Some(n),
        });
        moves(&mut edges, &mut lines);
        waiting = next;
    }
    lines
}

/// The lines that take the edges from their lanes to their next ones, one
/// step a line (none when no lane moves).
fn moves(edges: &mut [Edge], lines: &mut Vec<Line>) {
    while edges.iter().any(|e| e.at != e.to) {
        let width = edges.iter().map(|e| e.at.max(e.to)).max().unwrap_or(0);
        let mut cells = vec![' '; 2 * width + 2];
        let start: Vec<(usize, usize, usize)> = edges.iter().map(|e| (e.node, e.at, e.to)).collect();
        for e in edges.iter_mut() {
            if e.at == e.to {
                cells[2 * e.at] = '|';
            } else if e.to > e.at {
                cells[2 * e.at + 1] = '\\';
                e.at += 1;
            } else {
                // Joining across a lane that stays: `_` under it, in one line.
                let crosses = start
                    .iter()
                    .any(|&(node, at, to)| node != e.node && at > e.to && at < e.at && to >= at);
                cells[2 * e.at - 1] = '/';
                if crosses {
                    for x in (2 * e.to + 1..2 * e.at - 1).step_by(2) {
                        cells[x] = '_';
                    }
                    e.at = e.to;
                } else {
                    e.at -= 1;
                }
            }
        }
        let row: String = cells.into_iter().collect();
        lines.push(Line {
            lanes: row.trim_end().to_owned(),
            revision: None,
        });
    }
}

/// The marks of revision `i`: `(head)`, `(base)`, `(current)`, `(failed)`,
/// `[expand]` or `[contract]`.
pub fn marks(graph: &Graph<'_>, i: usize, seen: Seen) -> Vec<&'static str> {
    let mut marks = Vec::new();
    if graph.head() == Some(i) {
        marks.push("(head)");
    }
    if graph.parents(i).is_empty() {
        marks.push("(base)");
    }
    if seen.current {
        marks.push("(current)");
    }
    if seen.failed {
        marks.push("(failed)");
    }
    match graph.get(i).phase() {
        Some(Phase::Expand) => marks.push("[expand]"),
        Some(Phase::Backfill) => marks.push("[backfill]"),
        Some(Phase::Contract) => marks.push("[contract]"),
        None => {}
    }
    marks
}

/// The picture as `history --graph` prints it: the lanes, then on a
/// revision's line its id, its marks and its message. `seen` is by position
/// (empty, or shorter than the graph, when no database was read).
pub fn text(graph: &Graph<'_>, seen: &[Seen]) -> Vec<String> {
    lanes(graph)
        .into_iter()
        .map(|line| match line.revision {
            None => line.lanes,
            Some(i) => {
                let m = graph.get(i);
                let mut text = format!("{} {}", line.lanes, m.revision());
                for mark in marks(graph, i, seen.get(i).copied().unwrap_or_default()) {
                    text.push(' ');
                    text.push_str(mark);
                }
                if !m.message().is_empty() {
                    text.push(' ');
                    text.push_str(m.message());
                }
                text
            }
        })
        .collect()
}

/// The graph in Graphviz's `dot` language: a box per revision labelled with
/// its id and message, an edge from each parent to its child, bases at the
/// bottom; heads bold, bases double-bordered, current heads filled, failed
/// rows red.
pub fn dot(graph: &Graph<'_>, seen: &[Seen]) -> String {
    let quote = |text: &str| {
        let mut q = String::from("\"");
        for ch in text.chars() {
            match ch {
                '"' | '\\' => {
                    q.push('\\');
                    q.push(ch);
                }
                '\n' | '\r' => q.push(' '),
                _ => q.push(ch),
            }
        }
        q.push('"');
        q
    };
    let mut out = String::from("digraph migrations {\n    rankdir=BT;\n    node [shape=box];\n");
    for (i, m) in graph.iter().enumerate() {
        let (id, tail) = (quote(m.revision()), quote(&label_tail(graph, i)));
        let label = format!("{}\\n{}", &id[..id.len() - 1], &tail[1..]);
        let mut style: Vec<&str> = Vec::new();
        let see = seen.get(i).copied().unwrap_or_default();
        if graph.head() == Some(i) {
            style.push("bold");
        }
        if see.current {
            style.push("filled");
        }
        let mut attrs = format!("label={label}");
        if !style.is_empty() {
            attrs.push_str(&format!(", style=\"{}\"", style.join(",")));
        }
        if see.current {
            attrs.push_str(", fillcolor=\"lightblue\"");
        }
        if graph.parents(i).is_empty() {
            attrs.push_str(", peripheries=2");
        }
        if see.failed {
            attrs.push_str(", color=\"red\"");
        }
        out.push_str(&format!("    {} [{attrs}];\n", quote(m.revision())));
    }
    for (i, m) in graph.iter().enumerate() {
        for &p in graph.parents(i) {
            out.push_str(&format!(
                "    {} -> {};\n",
                quote(graph.get(p).revision()),
                quote(m.revision())
            ));
        }
    }
    out.push_str("}\n");
    out
}

/// The graph as a Mermaid flowchart (`flowchart BT`: bases at the bottom):
/// node `r<position>` labelled with the id and the message, an edge from
/// each parent to its child, and classes `head`, `base`, `current` and
/// `failed` styled by `classDef` lines.
pub fn mermaid(graph: &Graph<'_>, seen: &[Seen]) -> String {
    let mut out = String::from("flowchart BT\n");
    let mut classes: [(&str, &str, Vec<String>); 4] = [
        ("head", "stroke-width:3px", Vec::new()),
        ("base", "stroke-dasharray:4 2", Vec::new()),
        ("current", "fill:#cfe3ff,stroke:#2f6fd0", Vec::new()),
        ("failed", "fill:#ffd6d6,stroke:#c00000", Vec::new()),
    ];
    for (i, m) in graph.iter().enumerate() {
        let label = format!(
            "{}<br/>{}",
            escape_mermaid(m.revision()),
            escape_mermaid(&label_tail(graph, i))
        );
        out.push_str(&format!("    r{i}[\"{label}\"]\n"));
        let see = seen.get(i).copied().unwrap_or_default();
        let member = [
            graph.head() == Some(i),
            graph.parents(i).is_empty(),
            see.current,
            see.failed,
        ];
        for (class, is) in classes.iter_mut().zip(member) {
            if is {
                class.2.push(format!("r{i}"));
            }
        }
    }
    for i in 0..graph.len() {
        for &p in graph.parents(i) {
            out.push_str(&format!("    r{p} --> r{i}\n"));
        }
    }
    for (name, style, members) in &classes {
        if !members.is_empty() {
            out.push_str(&format!(
                "    classDef {name} {style}\n    class {} {name}\n",
                members.join(",")
            ));
        }
    }
    out
}

/// A label's second part: the phase, if any, and the message.
fn label_tail(graph: &Graph<'_>, i: usize) -> String {
    let m = graph.get(i);
    match m.phase() {
        Some(phase) => format!("[{}] {}", phase.as_str(), m.message()),
        None => m.message().to_owned(),
    }
}

/// Text safe inside a Mermaid `"…"` label: its own entity codes for the
/// characters that would end the label or read as markup.
fn escape_mermaid(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests;
