//! The squash range and how a history holding replaced revisions reads.

use super::*;
use crate::history::{Row, State, Unknown, status};
use crate::migration::Migration;
use crate::target::Target;
use crate::testing::fixture;

/// `spec`'s migrations, with `baseline` a squash baseline replacing `replaces`.
fn with_baseline(spec: &str, baseline: &str, replaces: &[&str]) -> Vec<Migration> {
    fixture(spec)
        .into_iter()
        .map(|m| match m.revision() == baseline {
            true => m.with_squash(replaces.iter().map(|r| (*r).to_owned()).collect(), "v1.4.0".into()),
            false => m,
        })
        .collect()
}

/// The squashed revisions of `range(spec, point)`, or its error.
fn range_of(spec: &str, point: &str) -> String {
    let ms = fixture(spec);
    let g = Graph::new(&ms).expect("valid fixture");
    match range(&g, g.position(point).expect("point in fixture")) {
        Ok(r) => {
            let ids: Vec<&str> = r.squashed.iter().map(|&i| g.get(i).revision()).collect();
            format!("{} | {}", ids.join(" "), replaced_ids(&g, &r).join(" "))
        }
        Err(e) => e.to_string(),
    }
}

const MERGE_INSIDE: &str = "a <-\nb1 <- a\nc1 <- a\nm <- b1, c1\nn <- m\no <- n";

#[test]
fn the_range_is_the_point_and_its_ancestors() {
    assert_eq!(range_of("a <-\nb <- a\nc <- b\nd <- c", "c"), "a b c | a b c");
    // Alembic's order of the branches.
    assert_eq!(range_of(MERGE_INSIDE, "m"), "a c1 b1 m | a c1 b1 m");
    assert_eq!(range_of(MERGE_INSIDE, "n"), "a c1 b1 m n | a c1 b1 m n");
    // Two bases joined below the point.
    assert_eq!(range_of("a <-\nx <-\nm <- a, x\nn <- m", "m"), "x a m | x a m");
}

#[test]
fn a_point_that_later_revisions_bypass_is_refused() {
    // c1 stays above b1's range but needs a, which b1's range squashes.
    let got = range_of(MERGE_INSIDE, "b1");
    assert!(
        got.starts_with("revision `c1` (migrations/c1_m.sql) needs `a`"),
        "{got}"
    );
    // A depends_on into the range that does not go through the point.
    let got = range_of("a <-\nb <- a\nc <- b\nd <- c; after a", "b");
    assert!(got.starts_with("revision `d` (migrations/d_m.sql) needs `a`"), "{got}");
}

#[test]
fn a_second_squash_carries_the_first_ones_ids() {
    let ms = with_baseline("x <-\nd <- x\ne <- d\nf <- e", "x", &["a", "b", "c"]);
    let g = Graph::new(&ms).expect("valid");
    let r = range(&g, g.position("e").expect("e")).expect("a range");
    assert_eq!(replaced_ids(&g, &r), ["a", "b", "c", "x", "d", "e"]);
}

/// How `rows` (finished ids) read against the graph: pending, then problems.
fn read(ms: &[Migration], rows: &[&str]) -> (Vec<String>, Vec<String>) {
    let g = Graph::new(ms).expect("valid");
    let checksums: Vec<String> = rows
        .iter()
        .map(|id| {
            g.position(id)
                .map_or("sha256:old".into(), |i| g.get(i).checksum().to_string())
        })
        .collect();
    let rows: Vec<Row<'_>> = rows
        .iter()
        .zip(&checksums)
        .map(|(id, sum)| Row {
            revision: id,
            checksum: sum,
            state: State::Applied,
            phase: None,
        })
        .collect();
    let s = status(&g, &rows, Unknown::ExpandOnly).expect("no failed row");
    let plan = crate::plan::upgrade(&g, &s.applied, &Target::Head).expect("a plan");
    let steps: Vec<String> = plan.steps.iter().map(|&i| g.get(i).revision().to_owned()).collect();
    assert_eq!(steps, s.pending, "the upgrade runs what is pending");
    (s.pending, s.problems.iter().map(ToString::to_string).collect())
}

#[test]
fn replaced_rows_stand_for_the_baseline_from_the_point_on() {
    let ms = with_baseline("x <-\nd <- x\ne <- d", "x", &["a", "b1", "c1", "m"]);
    let none: Vec<String> = Vec::new();
    // An empty database runs the baseline.
    assert_eq!(read(&ms, &[]), (vec!["x".into(), "d".into(), "e".into()], none.clone()));
    // At the point: nothing squashed runs again.
    assert_eq!(
        read(&ms, &["a", "c1", "b1", "m"]),
        (vec!["d".into(), "e".into()], none.clone())
    );
    // Past it.
    assert_eq!(
        read(&ms, &["a", "b1", "c1", "m", "d"]),
        (vec!["e".into()], none.clone())
    );
    // Ran through the baseline.
    assert_eq!(read(&ms, &["x", "d", "e"]), (Vec::new(), none));
}

#[test]
fn a_history_inside_the_range_is_refused_with_the_release() {
    let ms = with_baseline("x <-\nd <- x", "x", &["a", "b1", "c1", "m"]);
    let (_, problems) = read(&ms, &["a", "b1"]);
    assert_eq!(
        problems,
        [
            "this database is at `b1`, inside the revisions squashed into `x` (it holds `a`, `b1` but not `m`); upgrade it to `m` with v1.4.0 (the last release that has those revisions), then run this one"
        ]
    );
}

#[test]
fn replaced_ids_left_in_the_folder_or_replaced_twice_are_errors() {
    let ms = with_baseline("x <-\nb <- x", "x", &["a", "b"]);
    let e = Graph::new(&ms).expect_err("b is still a file").to_string();
    assert!(
        e.contains("the baseline `x` replaces `b`, which is still a revision of the folder"),
        "{e}"
    );
    let ms: Vec<Migration> = with_baseline("x <-\ny <-\nm <- x, y", "x", &["a", "b"])
        .into_iter()
        .map(|m| match m.revision() == "y" {
            true => m.with_squash(vec!["b".into()], "v2".into()),
            false => m,
        })
        .collect();
    let e = Graph::new(&ms).expect_err("b replaced twice").to_string();
    assert!(e.contains("`b` is replaced by two baselines, `x` and `y`"), "{e}");
}

/// A baseline's file with these header lines.
fn parsed(header: &str) -> Result<Vec<String>, Vec<String>> {
    let text = format!("-- baseline\n-- revision: x\n{header}\n-- migrate:upgrade\nCREATE TABLE t (id int);\n");
    match crate::format::parse("migrations/x_baseline.sql", &text) {
        Ok(p) => Ok(p
            .migration
            .replaces()
            .chain(p.migration.squashed())
            .map(str::to_owned)
            .collect()),
        Err(problems) => Err(problems.into_iter().map(|d| d.message).collect()),
    }
}

#[test]
fn the_header_is_read_and_checked() {
    let ok = parsed("-- down_revision:\n-- migrate:replaces: a, b , m\n-- migrate:squashed: v1.4.0");
    assert_eq!(ok, Ok(vec!["a".into(), "b".into(), "m".into(), "v1.4.0".into()]));
    let e = parsed("-- down_revision: w\n-- migrate:replaces: a\n-- migrate:squashed: v1");
    assert!(
        e.as_ref()
            .is_err_and(|p| p[0].contains("has no down_revision, but this one names w")),
        "{e:?}"
    );
    let e = parsed("-- down_revision:\n-- migrate:replaces: a");
    assert!(e.as_ref().is_err_and(|p| p[0].contains("needs both")), "{e:?}");
    let e = parsed("-- down_revision:\n-- migrate:replaces: a, a b\n-- migrate:squashed: v1");
    assert!(
        e.as_ref().is_err_and(|p| p[0].contains("`a b` is not a revision id")),
        "{e:?}"
    );
    let e = parsed("-- down_revision:\n-- migrate:replaces: a, x\n-- migrate:squashed: v1");
    assert!(e.as_ref().is_err_and(|p| p[0].contains("lists itself")), "{e:?}");
}

#[test]
fn a_rust_revision_cannot_be_a_baseline() {
    let text = crate::format::rust::render("baseline", "x", &[], "2026-01-01T00:00:00Z").replacen(
        "//! created:",
        "//! migrate:replaces: a\n//! created:",
        1,
    );
    let e = crate::format::parse("migrations/x_baseline.rs", &text).expect_err("refused");
    assert!(
        e[0].message
            .contains("`//! migrate:replaces` has no meaning in a Rust revision"),
        "{e:?}"
    );
}

/// The current heads of old rows with the baseline standing on them (as
/// `history` lists them): the baseline at its point, the row above past it.
#[test]
fn a_baseline_standing_on_its_point_is_the_head_there() {
    let ms = with_baseline("x <-\nd <- x", "x", &["a", "b", "c"]);
    let g = Graph::new(&ms).expect("valid");
    let at_point: Vec<(&str, Vec<&str>)> = vec![("a", vec![]), ("b", vec!["a"]), ("c", vec!["b"]), ("x", vec![])];
    assert_eq!(crate::history::current_heads(&g, &at_point), ["x"]);
    let mut past = at_point.clone();
    past.push(("d", vec!["c"]));
    assert_eq!(crate::history::current_heads(&g, &past), ["d"]);
    // Without the baseline listed, the old rows read as before.
    assert_eq!(crate::history::current_heads(&g, &at_point[..3]), ["c"]);
}

/// A target naming a squashed id: the point names the baseline, another is
/// refused with the release that has it; an id no baseline replaced is not one.
#[test]
fn a_squash_point_names_its_baseline_as_a_target() {
    let ms = with_baseline("x <-\nd <- x", "x", &["a", "b", "c"]);
    let g = Graph::new(&ms).expect("valid");
    assert_eq!(target(&g, "c"), Some(Ok(0)));
    match target(&g, "b") {
        Some(Err(e)) => assert!(
            e.to_string()
                .starts_with("`b` was squashed into the baseline `x`, which stands for the revisions up to `c`")
                && e.to_string().contains("use v1.4.0"),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(target(&g, "d"), None);
    let plan = crate::plan::upgrade(&g, &[false, false], &Target::Revision("c".into())).expect("a plan");
    assert_eq!(plan.steps, [0]);
}

/// A second baseline's header: the first squash's line, then its own.
const SECOND: &str = "-- base\n-- revision: y\n-- down_revision:\n-- migrate:replaces: a, b, c, x, d\n-- migrate:squashed: v1 (up to c)\n-- migrate:squashed: v2\n\n-- migrate:upgrade\nCREATE TABLE t (id int);\n";

#[test]
fn a_second_baseline_keeps_each_squash_with_its_release() {
    let parsed = crate::format::parse("migrations/y_base.sql", SECOND).expect("valid");
    let m = parsed.migration;
    assert_eq!(m.squashed(), Some("v2"));
    assert_eq!(m.squash_groups().collect::<Vec<_>>(), [("v1", "c")]);
    // A baseline of one squash reads as before.
    let ms = with_baseline("x <-", "x", &["a", "b"]);
    assert_eq!((ms[0].squashed(), ms[0].squash_groups().count()), (Some("v1.4.0"), 0));
    // A point that is not a replaced id, or an own line naming one, is refused.
    for bad in [
        SECOND.replace("(up to c)", "(up to q)"),
        SECOND.replace("squashed: v2\n", "squashed: v2 (up to d)\n"),
        SECOND.replace("-- migrate:squashed: v1 (up to c)\n", "-- migrate:squashed: v1\n"),
    ] {
        assert!(crate::format::parse("migrations/y_base.sql", &bad).is_err(), "{bad}");
    }
}

#[test]
fn a_history_inside_a_carried_squash_is_sent_to_its_point_with_its_release() {
    let base = crate::format::parse("migrations/y_base.sql", SECOND)
        .expect("valid")
        .migration;
    let ms = vec![base];
    let g = Graph::new(&ms).expect("valid");
    let inside = |applied: &[&str]| -> Vec<(String, String)> {
        stand_ins(&g, applied)
            .inside
            .into_iter()
            .map(|p| match p {
                HistoryProblem::InsideSquash { point, release, .. } => (point, release),
                other => (other.to_string(), String::new()),
            })
            .collect()
    };
    assert_eq!(inside(&["a", "b"]), [("c".to_owned(), "v1".to_owned())]);
    assert_eq!(inside(&["a", "b", "c"]), [("d".to_owned(), "v2".to_owned())]);
    assert_eq!(inside(&["x"]), [("d".to_owned(), "v2".to_owned())]);
    assert_eq!(stand_ins(&g, &["a", "b", "c", "x", "d"]).applied, [0]);
    // As targets: inside the first squash, the first release; its point, the second.
    let release = |id: &str| match target(&g, id) {
        Some(Err(TargetError::Squashed { release, .. })) => release,
        other => format!("{other:?}"),
    };
    assert_eq!(
        (release("b"), release("c"), release("x")),
        ("v1".into(), "v2".into(), "v2".into())
    );
}
