//! The picture's tests: lanes by topology, marks, `dot` and Mermaid text.

use super::*;
use crate::testing::fixture;

/// Checks the picture of a topology: its lanes and ids, one line each.
fn check(spec: &str, expect: &str) {
    let ms = fixture(spec);
    let graph = Graph::new(&ms).unwrap();
    let got: Vec<String> = lanes(&graph)
        .into_iter()
        .map(|l| match l.revision {
            Some(i) => format!("{} {}", l.lanes, graph.get(i).revision()),
            None => l.lanes,
        })
        .collect();
    let want: Vec<&str> = expect
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let want: Vec<String> = want
        .iter()
        .map(|l| l.strip_prefix("    ").unwrap_or(l).to_owned())
        .collect();
    assert_eq!(
        got.join("\n"),
        want.join("\n"),
        "for graph:\n{spec}\ngot:\n{}",
        got.join("\n")
    );
}

#[test]
fn linear() {
    check(
        "a <-\nb <- a\nc <- b",
        "
    * c
    * b
    * a",
    );
}

#[test]
fn empty() {
    check("", "");
}

#[test]
fn diamond_merge() {
    // The first parent's line runs straight down, applied last.
    check(
        "a <-\nb <- a\nc <- a\nm <- b, c\nn <- m",
        "
    * n
    *   m
    |\\
    * | b
    | * c
    |/
    * a",
    );
}

#[test]
fn two_bases() {
    // `a`'s lane ends at its base; `x`'s closes up to the left.
    check(
        "a <-\nb <- a\nx <-\nm <- b, x",
        "
    *   m
    |\\
    * | b
    * | a
     /
    * x",
    );
}

#[test]
fn three_merges_over_two_bases() {
    check(
        "a <-\nb <- a\nc <- a\nm1 <- b, c\nx <-\ny <- x\nm2 <- m1, y\nd <- m2\ne <- m2\nm3 <- d, e",
        "
    *   m3
    |\\
    * | d
    | * e
    |/
    *   m2
    |\\
    * |   m1
    |\\ \\
    * | | b
    | * | c
    |/ /
    | * y
    | * x
    * a",
    );
}

#[test]
fn merge_into_an_open_lane() {
    // `m`'s first parent `a` already has a lane (`b`'s): `m` joins it.
    check(
        "a <-\nb <- a\nx <-\nm <- a, x\nn <- b, m",
        "
    *   n
    |\\
    * | b
    | * m
    |/|
    | * x
    * a",
    );
}

#[test]
fn join_across_a_lane() {
    // `c` joins `a`'s lane across `x`'s, which stays open below it.
    check(
        "a <-\nb <- a\nx <-\nc <- a\nm <- b, x\nn <- m, c",
        "
    *   n
    |\\
    * |   m
    |\\ \\
    * | | b
    | | * c
    |_|/
    * | a
     /
    * x",
    );
}

#[test]
fn octopus_merge() {
    check(
        "a <-\nb <- a\nc <- a\nd <- a\nm <- b, c, d",
        "
    *-.   m
    |\\ \\
    * | | b
    | * | c
    |/ /
    | * d
    |/
    * a",
    );
}

#[test]
fn marks_and_text() {
    let mut ms = fixture("a <-\nb <- a\nx <-\nm <- b, x");
    let n = "-- drop the old column\n-- revision: n\n-- down_revision: m\n-- migrate:phase: contract\n\n-- migrate:upgrade\nSELECT 1;\n";
    ms.push(crate::format::parse("migrations/n_drop.sql", n).unwrap().migration);
    let graph = Graph::new(&ms).unwrap();
    let mut seen = vec![Seen::default(); graph.len()];
    seen[graph.position("m").unwrap()].current = true;
    seen[graph.position("n").unwrap()].failed = true;
    assert_eq!(
        text(&graph, &seen).join("\n"),
        "* n (head) (failed) [contract] drop the old column\n\
         *   m (current) m message\n\
         |\\\n\
         * | b b message\n\
         * | a (base) a message\n \
         /\n\
         * x (base) x message"
    );
}

#[test]
fn dot_quotes_ids_and_styles_heads_and_bases() {
    let ms = fixture("a <-\nb\"q <- a");
    let graph = Graph::new(&ms).unwrap();
    let seen = [Seen {
        current: true,
        failed: false,
    }];
    assert_eq!(
        dot(&graph, &seen),
        "digraph migrations {\n    rankdir=BT;\n    node [shape=box];\n    \
         \"a\" [label=\"a\\na message\", style=\"filled\", fillcolor=\"lightblue\", peripheries=2];\n    \
         \"b\\\"q\" [label=\"b\\\"q\\nb\\\"q message\", style=\"bold\"];\n    \
         \"a\" -> \"b\\\"q\";\n}\n"
    );
}

#[test]
fn mermaid_escapes_labels_and_declares_classes() {
    let ms = fixture("a <-\nb#<x> <- a");
    let graph = Graph::new(&ms).unwrap();
    assert_eq!(
        mermaid(&graph, &[]),
        "flowchart BT\n    r0[\"a<br/>a message\"]\n    r1[\"b#35;#lt;x#gt;<br/>b#35;#lt;x#gt; message\"]\n    \
         r0 --> r1\n    classDef head stroke-width:3px\n    class r1 head\n    \
         classDef base stroke-dasharray:4 2\n    class r0 base\n"
    );
}

proptest::proptest! {
    /// On any valid graph: one line with one `*` per revision, newest first,
    /// and only the picture's characters.
    #[test]
    fn every_revision_once(links in proptest::collection::vec(proptest::collection::vec(0usize..100, 0..3), 1..14)) {
        let mut spec = String::new();
        let mut childless: Vec<bool> = Vec::new();
        for (i, parents) in links.iter().enumerate() {
            let mut ps: Vec<usize> = parents.iter().filter(|_| i > 0).map(|p| p % i.max(1)).collect();
            ps.dedup();
            ps.sort_unstable();
            ps.dedup();
            for &p in &ps {
                childless[p] = false;
            }
            let names: Vec<String> = ps.iter().map(|p| format!("r{p}")).collect();
            spec.push_str(&format!("r{i} <- {}\n", names.join(", ")));
            childless.push(true);
        }
        let heads: Vec<String> = (0..childless.len()).filter(|&i| childless[i]).map(|i| format!("r{i}")).collect();
        spec.push_str(&format!("top <- {}\n", heads.join(", ")));
        let ms = fixture(&spec);
        let graph = Graph::new(&ms).unwrap();
        let lines = lanes(&graph);
        let drawn: Vec<usize> = lines.iter().filter_map(|l| l.revision).collect();
        let newest_first: Vec<usize> = (0..graph.len()).rev().collect();
        proptest::prop_assert_eq!(drawn, newest_first);
        for l in &lines {
            proptest::prop_assert!(l.lanes.chars().all(|c| " *|/\\_-.".contains(c)), "{:?}", l.lanes);
            let stars = l.lanes.matches('*').count();
            proptest::prop_assert_eq!(stars, usize::from(l.revision.is_some()));
        }
    }
}
