//! Plans: which revisions to apply or unapply, in which order, for a target.
//!
//! Semantics follow Alembic's on a DAG, and so does the order: each plan
//! is ordered by Alembic's walk over its own set of revisions
//! ([`Graph::apply_order`], [`Graph::unapply_order`]), so a revision
//! independent of another runs when Alembic would run it. Upgrading to X
//! applies every not-yet-applied ancestor of X and X itself. Downgrading
//! to X unapplies every applied descendant of X, walking down from the
//! applied heads, leaving other branches applied. `+N` applies the next N
//! pending revisions of the graph's application order (what `upgrade head`
//! runs on an empty database) and `-N` unapplies the last N applied ones
//! in that order, so both are defined across merges.

use crate::graph::Graph;
use crate::migration::Phase;
use crate::target::{Target, TargetError};
use std::fmt;

/// Which way a plan moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Applying revisions.
    Upgrade,
    /// Unapplying revisions.
    Downgrade,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
        })
    }
}

/// The steps to reach a target: positions in the graph's application order,
/// in the order they are to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Which way the steps go.
    pub direction: Direction,
    /// Graph positions, in execution order.
    pub steps: Vec<usize>,
}

impl Plan {
    fn up(steps: Vec<usize>) -> Self {
        Plan {
            direction: Direction::Upgrade,
            steps,
        }
    }
    fn down(steps: Vec<usize>) -> Self {
        Plan {
            direction: Direction::Downgrade,
            steps,
        }
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Why no plan reaches a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The target names no revision, or several.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// `-N` given to upgrade, or `+N` to downgrade.
    #[error("`{target}` is {} target; use {} instead", if *direction == Direction::Upgrade { "a downgrade" } else { "an upgrade" }, if *direction == Direction::Upgrade { "downgrade" } else { "upgrade" })]
    WrongDirection {
        /// The target given.
        target: String,
        /// The direction asked for.
        direction: Direction,
    },
    /// Downgrading to a revision that is not applied.
    #[error("cannot downgrade to `{revision}`: it is not applied (to apply it, upgrade to it)")]
    NotApplied {
        /// The revision.
        revision: String,
    },
    /// `+N`/`-N` asked for more revisions than there are.
    #[error("cannot {direction} {requested}: only {available} revision(s) {}", if *direction == Direction::Upgrade { "are pending" } else { "are applied" })]
    NotEnough {
        /// Which way.
        direction: Direction,
        /// How many were asked for.
        requested: u64,
        /// How many there are.
        available: usize,
    },
    /// The downgrade passes a revision with no downgrade section.
    #[error(
        "cannot downgrade past `{revision}` ({file}): it has no `-- migrate:downgrade` section, so it is irreversible; nothing was changed"
    )]
    Irreversible {
        /// The irreversible revision.
        revision: String,
        /// Its file.
        file: String,
    },
}

/// Resolves a target that names one revision (`head`, an id, `<id>±N`).
fn revision_of(graph: &Graph<'_>, target: &Target) -> Result<Option<usize>, TargetError> {
    let start = |id: &str| -> Result<usize, TargetError> {
        if id == "head" {
            graph
                .head()
                .ok_or_else(|| TargetError::UnknownRevision { id: id.to_owned() })
        } else {
            // A revision a squash replaced (its whole id, before any prefix):
            // its point names the baseline.
            match graph.position(id) {
                Some(i) => Ok(i),
                None => crate::squash::target(graph, id).unwrap_or_else(|| graph.resolve(id)),
            }
        }
    };
    match target {
        Target::Head => Ok(graph.head()),
        Target::Revision(id) => start(id).map(Some),
        Target::RelativeTo { revision, steps } => {
            let from = start(revision)?;
            let mut at = from;
            for _ in 0..steps.unsigned_abs() {
                let next = if *steps > 0 {
                    graph.children(at)
                } else {
                    graph.parents(at)
                };
                let id = |i: usize| graph.get(i).revision().to_owned();
                match next {
                    [one] => at = *one,
                    [] => {
                        return Err(TargetError::WalkOffEnd {
                            from: id(from),
                            steps: *steps,
                            at: id(at),
                        });
                    }
                    many => {
                        let mut candidates: Vec<&str> = many.iter().map(|&i| graph.get(i).revision()).collect();
                        crate::sorting::sort_by(&mut candidates, |c| (c, 0, 0, ""));
                        let candidates = candidates.into_iter().map(str::to_owned).collect();
                        return Err(TargetError::AmbiguousWalk {
                            from: id(from),
                            steps: *steps,
                            at: id(at),
                            candidates,
                        });
                    }
                }
            }
            Ok(Some(at))
        }
        Target::Base | Target::Relative(_) => Ok(None),
    }
}

/// The plan that upgrades from `applied` (a membership vector by graph
/// position, closed under ancestors) to `target`.
pub fn upgrade(graph: &Graph<'_>, applied: &[bool], target: &Target) -> Result<Plan, PlanError> {
    let pending = (0..graph.len()).filter(|&i| !applied[i]);
    match target {
        Target::Base => Ok(Plan::up(Vec::new())),
        Target::Relative(n) if *n < 0 => Err(PlanError::WrongDirection {
            target: target.to_string(),
            direction: Direction::Upgrade,
        }),
        Target::Relative(n) => {
            let steps: Vec<usize> = pending.take(*n as usize).collect();
            if (steps.len() as u64) < *n as u64 {
                return Err(PlanError::NotEnough {
                    direction: Direction::Upgrade,
                    requested: *n as u64,
                    available: steps.len(),
                });
            }
            Ok(Plan::up(steps))
        }
        _ => {
            let Some(x) = revision_of(graph, target)? else {
                return Ok(Plan::up(Vec::new()));
            };
            let wanted = graph.ancestors(x);
            let todo: Vec<bool> = (0..graph.len()).map(|i| wanted[i] && !applied[i]).collect();
            Ok(Plan::up(graph.apply_order(&todo)))
        }
    }
}

/// The plan that downgrades from `applied` to `target`; refuses when a step
/// is irreversible.
pub fn downgrade(graph: &Graph<'_>, applied: &[bool], target: &Target) -> Result<Plan, PlanError> {
    let plan = unapply(graph, applied, target)?;
    if let Some(&i) = plan.steps.iter().find(|&&i| graph.get(i).downgrade_sql().is_none()) {
        let m = graph.get(i);
        return Err(PlanError::Irreversible {
            revision: m.revision().to_owned(),
            file: m.file().to_owned(),
        });
    }
    Ok(plan)
}

/// The downgrade plan without the reversibility check (stamping runs no SQL).
fn unapply(graph: &Graph<'_>, applied: &[bool], target: &Target) -> Result<Plan, PlanError> {
    let applied_rev = (0..graph.len()).rev().filter(|&i| applied[i]);
    match target {
        Target::Base => Ok(Plan::down(graph.unapply_order(applied))),
        Target::Relative(n) if *n > 0 => Err(PlanError::WrongDirection {
            target: target.to_string(),
            direction: Direction::Downgrade,
        }),
        Target::Relative(n) => {
            let want = n.unsigned_abs();
            let steps: Vec<usize> = applied_rev.take(want as usize).collect();
            if (steps.len() as u64) < want {
                return Err(PlanError::NotEnough {
                    direction: Direction::Downgrade,
                    requested: want,
                    available: steps.len(),
                });
            }
            Ok(Plan::down(steps))
        }
        _ => {
            let Some(x) = revision_of(graph, target)? else {
                return Ok(Plan::down(Vec::new()));
            };
            if !applied[x] {
                return Err(PlanError::NotApplied {
                    revision: graph.get(x).revision().to_owned(),
                });
            }
            let above = graph.above(x);
            let todo: Vec<bool> = (0..graph.len()).map(|i| applied[i] && above[i]).collect();
            Ok(Plan::down(graph.unapply_order(&todo)))
        }
    }
}

/// The records to add (upgrade) or remove (downgrade) so that the history
/// says `target` is where the database stands, running no SQL.
pub fn stamp(graph: &Graph<'_>, applied: &[bool], target: &Target) -> Result<Plan, PlanError> {
    match target {
        Target::Base => unapply(graph, applied, target),
        Target::Relative(n) if *n < 0 => unapply(graph, applied, target),
        Target::Relative(_) => upgrade(graph, applied, target),
        _ => match revision_of(graph, target)? {
            Some(x) if applied[x] => unapply(graph, applied, target),
            _ => upgrade(graph, applied, target),
        },
    }
}

/// Cuts an upgrade `plan` where a deploy's `phase` stops: before the first
/// backfill or contract revision for [`Phase::Expand`], before the first
/// contract revision for [`Phase::Backfill`], nowhere for
/// [`Phase::Contract`]. Returns the graph position of the first revision
/// held back. A contract revision after a backfill in the graph's order
/// thus runs only once the backfill has finished.
pub fn hold_back(graph: &Graph<'_>, plan: &mut Plan, phase: Phase) -> Option<usize> {
    let stops = |p: Option<Phase>| match phase {
        Phase::Expand => matches!(p, Some(Phase::Backfill | Phase::Contract)),
        Phase::Backfill => p == Some(Phase::Contract),
        Phase::Contract => false,
    };
    let cut = plan.steps.iter().position(|&i| stops(graph.get(i).phase()))?;
    let held = plan.steps[cut];
    plan.steps.truncate(cut);
    Some(held)
}

/// Whether an upgrade to `target`, whose `plan` this is, goes to the
/// graph's head, however the target names it: `head`, the head's id (or a
/// prefix of it, or `<id>+N` landing on it), or `+N` whose steps reach it.
/// What an upgrade applies the repeatable revisions after
/// ([`crate::repeatable`]); `base` and any other revision do not.
pub fn reaches_head(graph: &Graph<'_>, target: &Target, plan: &Plan) -> bool {
    let Some(head) = graph.head() else {
        return *target == Target::Head;
    };
    match target {
        Target::Head => true,
        Target::Base => false,
        Target::Relative(_) => plan.steps.last() == Some(&head),
        _ => revision_of(graph, target).ok().flatten() == Some(head),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

    #[test]
    fn the_head_reached_however_the_target_names_it() {
        let ms = fixture("a1 <-\nb1 <- a1\nc1 <- b1");
        let g = Graph::new(&ms).unwrap();
        let reaches = |applied: &[bool], text: &str| {
            let target: Target = text.parse().unwrap();
            let plan = upgrade(&g, applied, &target).unwrap();
            reaches_head(&g, &target, &plan)
        };
        let none = [false; 3];
        for text in ["head", "c1", "c", "a1+2", "+3"] {
            assert!(reaches(&none, text), "{text}");
        }
        assert!(reaches(&[true, true, false], "+1"));
        for text in ["b1", "+2", "a1+1", "base"] {
            assert!(!reaches(&none, text), "{text}");
        }
        // At head already, only a target naming it reaches it.
        assert!(reaches(&[true; 3], "c1") && !reaches(&[true; 3], "b1"));
    }

    #[test]
    fn each_phase_stops_before_the_next() {
        use crate::migration::{Directives, Migration, MigrationParts};
        let phases = [
            ("a", None),
            ("b", Some(Phase::Expand)),
            ("c", Some(Phase::Backfill)),
            ("d", Some(Phase::Expand)),
            ("e", Some(Phase::Contract)),
        ];
        let ms: Vec<Migration> = phases
            .iter()
            .enumerate()
            .map(|(i, (id, phase))| {
                Migration::new(MigrationParts {
                    revision: (*id).into(),
                    down_revisions: i.checked_sub(1).map(|p| phases[p].0.to_owned()).into_iter().collect(),
                    directives: Directives {
                        phase: *phase,
                        ..Directives::default()
                    },
                    ..MigrationParts::default()
                })
            })
            .collect();
        let g = Graph::new(&ms).expect("valid");
        let run = |applied: &[bool], phase| {
            let mut p = upgrade(&g, applied, &Target::Head).expect("plan");
            let held = hold_back(&g, &mut p, phase).map(|i| g.get(i).revision());
            let steps: Vec<&str> = p.steps.iter().map(|&i| g.get(i).revision()).collect();
            (steps.join(" "), held)
        };
        let none = [false; 5];
        assert_eq!(run(&none, Phase::Expand), ("a b".to_owned(), Some("c")));
        assert_eq!(run(&none, Phase::Backfill), ("a b c d".to_owned(), Some("e")));
        assert_eq!(run(&none, Phase::Contract), ("a b c d e".to_owned(), None));
        let expanded = [true, true, false, false, false];
        assert_eq!(run(&expanded, Phase::Expand), (String::new(), Some("c")));
    }

    /// Runs `plan` on the graph `spec` with `applied` (ids separated by
    /// spaces) and compares the step ids, or the error text.
    fn check(
        spec: &str,
        applied: &str,
        f: fn(&Graph<'_>, &[bool], &Target) -> Result<Plan, PlanError>,
        target: &str,
        expect: &str,
    ) {
        let ms = fixture(spec);
        let g = Graph::new(&ms).expect("valid fixture");
        let mut set = vec![false; g.len()];
        for id in applied.split_whitespace() {
            set[g.position(id).expect("applied id in fixture")] = true;
        }
        let got = match target
            .parse::<Target>()
            .map_err(PlanError::from)
            .and_then(|t| f(&g, &set, &t))
        {
            Ok(p) => p
                .steps
                .iter()
                .map(|&i| g.get(i).revision())
                .collect::<Vec<_>>()
                .join(" "),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expect, "{target} from [{applied}]");
    }

    const LINEAR: &str = "a <-\nb <- a\nc <- b\nd <- c";
    const MERGE: &str = "a <-\nb1 <- a\nb2 <- b1\nc1 <- a\nm <- b2, c1\nn <- m";

    #[test]
    fn upgrade_linear() {
        check(LINEAR, "", upgrade, "head", "a b c d");
        check(LINEAR, "a", upgrade, "c", "b c");
        check(LINEAR, "a b", upgrade, "+1", "c");
        check(LINEAR, "a b", upgrade, "+2", "c d");
        check(
            LINEAR,
            "a b",
            upgrade,
            "+3",
            "cannot upgrade 3: only 2 revision(s) are pending",
        );
        check(LINEAR, "a b c d", upgrade, "head", "");
        check(LINEAR, "a b c", upgrade, "b", "");
        check(LINEAR, "", upgrade, "base", "");
        check(LINEAR, "", upgrade, "a+2", "a b c");
        check(
            LINEAR,
            "a",
            upgrade,
            "-1",
            "`-1` is a downgrade target; use downgrade instead",
        );
        check(
            LINEAR,
            "",
            upgrade,
            "zz",
            "no revision matches `zz`; the `history` command lists the revisions",
        );
    }

    #[test]
    fn downgrade_linear() {
        check(LINEAR, "a b c d", downgrade, "base", "d c b a");
        check(LINEAR, "a b c d", downgrade, "-1", "d");
        check(LINEAR, "a b c d", downgrade, "b", "d c");
        check(LINEAR, "a b c d", downgrade, "head-2", "d c");
        check(LINEAR, "a b c d", downgrade, "head", "");
        check(
            LINEAR,
            "a b",
            downgrade,
            "-3",
            "cannot downgrade 3: only 2 revision(s) are applied",
        );
        check(
            LINEAR,
            "a b",
            downgrade,
            "c",
            "cannot downgrade to `c`: it is not applied (to apply it, upgrade to it)",
        );
        check(
            LINEAR,
            "a b",
            downgrade,
            "+1",
            "`+1` is an upgrade target; use upgrade instead",
        );
        check(LINEAR, "", downgrade, "base", "");
    }

    #[test]
    fn merge_graph() {
        // Alembic's order: the merge's first parent (b2) is walked first from
        // the merge, so its line is applied last.
        check(MERGE, "", upgrade, "head", "a c1 b1 b2 m n");
        check(MERGE, "", upgrade, "m", "a c1 b1 b2 m");
        check(MERGE, "", upgrade, "c1", "a c1");
        check(MERGE, "a c1", upgrade, "+2", "b1 b2");
        // From a merge of two branches, downgrading to one leaves the other applied.
        check(MERGE, "a b1 b2 c1 m", downgrade, "b2", "m");
        check(MERGE, "a b1 b2 c1 m n", downgrade, "-3", "n m b2");
        check(MERGE, "a b1 b2 c1 m n", downgrade, "b1", "n m b2");
        check(MERGE, "a b1 b2 c1 m", downgrade, "a", "m b2 b1 c1");
        check(MERGE, "a b1 b2 c1 m n", downgrade, "n-1", "n");
        check(
            MERGE,
            "a b1 b2 c1 m n",
            downgrade,
            "m-1",
            "cannot walk -1 from `m`: `m` has several down_revisions (b2, c1); name the revision instead",
        );
        check(
            MERGE,
            "a",
            upgrade,
            "a+1",
            "cannot walk +1 from `a`: `a` has several children (b1, c1); name the revision instead",
        );
        check(
            MERGE,
            "",
            upgrade,
            "n+1",
            "cannot walk +1 from `n`: the graph ends at `n`",
        );
    }

    /// Three bases joined by two merges: a project that grew from three histories.
    const BASES: &str = "x1 <-\nx2 <- x1\ny1 <-\nm1 <- x2, y1\nz1 <-\nm2 <- m1, z1\nt <- m2";

    #[test]
    fn several_bases() {
        check(BASES, "", upgrade, "head", "y1 z1 x1 x2 m1 m2 t");
        check(BASES, "", upgrade, "m1", "y1 x1 x2 m1");
        check(BASES, "", upgrade, "z1", "z1");
        check(BASES, "", upgrade, "+2", "y1 z1");
        check(BASES, "x1 x2 y1 m1 z1 m2 t", downgrade, "base", "t m2 m1 x2 x1 z1 y1");
        check(BASES, "x1 x2 y1 m1 z1 m2 t", downgrade, "-3", "t m2 m1");
        // Down to one base leaves the other lines applied.
        check(BASES, "x1 x2 y1 m1 z1 m2 t", downgrade, "y1", "t m2 m1");
        check(BASES, "x1 x2 y1 m1", stamp, "base", "m1 x2 x1 y1");
        check(BASES, "", stamp, "head", "y1 z1 x1 x2 m1 m2 t");
        check(
            BASES,
            "x1",
            downgrade,
            "x1-1",
            "cannot walk -1 from `x1`: the graph ends at `x1`",
        );
    }

    /// A plan's order is Alembic's walk over the plan's own revisions, not
    /// the graph's order cut down: from two applied heads, the walk starts
    /// at the one whose file name sorts first.
    #[test]
    fn each_plan_walks_its_own_revisions() {
        const FORK: &str = "a <-\nb <- a\nc <- a\nd <- c\nm <- b, d";
        check(FORK, "", upgrade, "head", "a c d b m");
        check(FORK, "a b c", downgrade, "base", "b c a");
        check(FORK, "a b c d", downgrade, "a", "b d c");
        check(FORK, "a b", upgrade, "head", "c d m");
        check(FORK, "a c", upgrade, "m", "d b m");
        check(FORK, "a b c d", stamp, "a", "b d c");
    }

    #[test]
    fn ambiguous_prefix() {
        check(
            "ab1 <-\nab2 <- ab1",
            "",
            upgrade,
            "ab",
            "`ab` is ambiguous: it starts ab1, ab2; give more characters",
        );
        check("ab1 <-\nab2 <- ab1", "", upgrade, "ab2", "ab1 ab2");
    }

    #[test]
    fn irreversible_refuses_before_anything_runs() {
        let mut ms = fixture(LINEAR);
        ms[1] = crate::migration::Migration::new(crate::migration::MigrationParts {
            revision: "b".into(),
            down_revisions: vec!["a".into()],
            upgrade: "SELECT 1".into(),
            downgrade: None,
            file: "migrations/b_m.sql".into(),
            ..Default::default()
        });
        let g = Graph::new(&ms).unwrap();
        let all = vec![true; 4];
        assert!(downgrade(&g, &all, &Target::Relative(-2)).is_ok());
        let e = downgrade(&g, &all, &Target::Base).unwrap_err();
        assert_eq!(
            e,
            PlanError::Irreversible {
                revision: "b".into(),
                file: "migrations/b_m.sql".into()
            }
        );
        // Stamping runs no SQL, so it may pass it.
        assert_eq!(stamp(&g, &all, &Target::Base).unwrap().steps, [3, 2, 1, 0]);
    }

    #[test]
    fn stamp_moves_either_way() {
        check(LINEAR, "a", stamp, "c", "b c");
        check(LINEAR, "a b c d", stamp, "b", "d c");
        check(LINEAR, "a b c d", stamp, "base", "d c b a");
        check(LINEAR, "a b", stamp, "-1", "b");
    }
}
