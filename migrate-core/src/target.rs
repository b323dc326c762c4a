//! The target grammar shared by the runtime and the command line.
//!
//! | text        | meaning                                                        |
//! |-------------|----------------------------------------------------------------|
//! | `head`      | the single head revision                                       |
//! | `base`      | before the first revision (downgrade: unapply everything)      |
//! | `ae1027a6`  | a full revision id, or any prefix that names one revision      |
//! | `+2`, `-1`  | the next 2 pending revisions, the last 1 applied revision      |
//! | `ae10+2`    | the revision 2 steps after `ae10` (walking to children)        |
//! | `ae10-1`    | the revision 1 step before `ae10` (walking to down_revisions)  |
//! | `head-1`    | the revision 1 step before the head                            |

use crate::format::is_valid_revision;
use std::fmt;
use std::str::FromStr;

/// Where to upgrade, downgrade or stamp to. Parse one with [`str::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// `head`: the newest revision.
    Head,
    /// `base`: before the first revision.
    Base,
    /// A revision id or a unique prefix of one.
    Revision(String),
    /// `+N` (positive) or `-N` (negative), relative to what is applied.
    Relative(i64),
    /// `<id>+N` or `<id>-N`: N steps from a revision along the graph.
    RelativeTo {
        /// The revision id or prefix to start from.
        revision: String,
        /// Steps to walk: positive towards children, negative towards down_revisions.
        steps: i64,
    },
}

/// A target that cannot be parsed or does not name a revision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The target text is empty.
    #[error("the target is empty; use `head`, `base`, a revision id, `+N` or `-N`")]
    Empty,
    /// The target text is not in the grammar.
    #[error("`{text}` is not a target; use `head`, `base`, a revision id or prefix, `+N`, `-N`, `<id>+N` or `<id>-N`")]
    Invalid {
        /// The text given.
        text: String,
    },
    /// A relative target whose number of steps does not fit in 64 bits.
    #[error("`{text}` asks for more steps than any history has; use `base` (or `head`) to go all the way")]
    TooManySteps {
        /// The text given.
        text: String,
    },
    /// No revision has this id or starts with it.
    #[error("no revision matches `{id}`; the `history` command lists the revisions")]
    UnknownRevision {
        /// The id or prefix given.
        id: String,
    },
    /// The id of a revision a squash baseline replaced, other than its
    /// squash point: this list has no revision to stop at there.
    #[error(
        "`{id}` was squashed into the baseline `{baseline}`, which stands for the revisions up to `{point}`: this list cannot stop at `{id}`; name `{baseline}` (or `{point}`, which means it), or use {release} (the last release that has `{id}`)"
    )]
    Squashed {
        /// The id given.
        id: String,
        /// The baseline that replaced it.
        baseline: String,
        /// The squash point of the squash that replaced it.
        point: String,
        /// The last release that has it.
        release: String,
    },
    /// Several revisions start with this prefix.
    #[error("`{prefix}` is ambiguous: it starts {}; give more characters", candidates.join(", "))]
    AmbiguousPrefix {
        /// The prefix given.
        prefix: String,
        /// Every revision it starts, sorted.
        candidates: Vec<String>,
    },
    /// `head` names the single head, and the list has several (a folder with an unmerged fork).
    #[error("`head` is ambiguous: the folder has {} heads ({}); name one", heads.len(), heads.join(", "))]
    AmbiguousHead {
        /// The heads, by id.
        heads: Vec<String>,
    },
    /// Walking from a revision reached a branch point or a merge.
    #[error("cannot walk {steps:+} from `{from}`: `{at}` has several {} ({}); name the revision instead", if *steps > 0 { "children" } else { "down_revisions" }, candidates.join(", "))]
    AmbiguousWalk {
        /// The revision the walk started from.
        from: String,
        /// The steps asked for.
        steps: i64,
        /// Where the walk could not choose.
        at: String,
        /// The revisions it could go to.
        candidates: Vec<String>,
    },
    /// Walking from a revision went past the head or the root.
    #[error("cannot walk {steps:+} from `{from}`: the graph ends at `{at}`")]
    WalkOffEnd {
        /// The revision the walk started from.
        from: String,
        /// The steps asked for.
        steps: i64,
        /// The last revision reached.
        at: String,
    },
}

/// The steps of a relative target: `None` when `digits` is not a positive
/// number, `Some(None)` when it is one too large to count.
fn parse_steps(sign: char, digits: &str) -> Option<Option<i64>> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.bytes().all(|b| b == b'0') {
        return None;
    }
    let Ok(n) = digits.parse::<i64>() else {
        return Some(None);
    };
    Some(Some(if sign == '-' { -n } else { n }))
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let invalid = || TargetError::Invalid { text: text.to_owned() };
        match text {
            "" => return Err(TargetError::Empty),
            // Alembic's `heads`, every head: a valid graph has exactly one.
            "head" | "heads" => return Ok(Target::Head),
            "base" => return Ok(Target::Base),
            _ => {}
        }
        if let Some(at) = text.rfind(['+', '-']) {
            let sign = if text[at..].starts_with('+') { '+' } else { '-' };
            let steps = parse_steps(sign, &text[at + 1..])
                .ok_or_else(invalid)?
                .ok_or_else(|| TargetError::TooManySteps { text: text.to_owned() })?;
            let revision = &text[..at];
            return if revision.is_empty() {
                Ok(Target::Relative(steps))
            } else if is_valid_revision(revision) || revision == "head" {
                Ok(Target::RelativeTo {
                    revision: revision.to_owned(),
                    steps,
                })
            } else {
                Err(invalid())
            };
        }
        if is_valid_revision(text) {
            Ok(Target::Revision(text.to_owned()))
        } else {
            Err(invalid())
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Head => f.write_str("head"),
            Target::Base => f.write_str("base"),
            Target::Revision(id) => f.write_str(id),
            Target::Relative(n) => write!(f, "{n:+}"),
            Target::RelativeTo { revision, steps } => write!(f, "{revision}{steps:+}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_count_too_large_to_count_says_so() {
        for text in [
            "-99999999999999999999999",
            "+99999999999999999999999",
            "ae10-99999999999999999999999",
        ] {
            assert_eq!(
                text.parse::<Target>(),
                Err(TargetError::TooManySteps { text: text.to_owned() }),
                "{text}"
            );
        }
        assert!(matches!("-0".parse::<Target>(), Err(TargetError::Invalid { .. })));
        assert_eq!(
            "-9223372036854775807".parse::<Target>(),
            Ok(Target::Relative(-i64::MAX))
        );
    }

    #[test]
    fn grammar() {
        let cases = [
            ("head", Target::Head),
            ("heads", Target::Head),
            (" base ", Target::Base),
            ("ae1027a6", Target::Revision("ae1027a6".into())),
            ("+2", Target::Relative(2)),
            ("-1", Target::Relative(-1)),
            (
                "ae10+2",
                Target::RelativeTo {
                    revision: "ae10".into(),
                    steps: 2,
                },
            ),
            (
                "a_b-3",
                Target::RelativeTo {
                    revision: "a_b".into(),
                    steps: -3,
                },
            ),
            (
                "head-2",
                Target::RelativeTo {
                    revision: "head".into(),
                    steps: -2,
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<Target>(), Ok(want.clone()), "{text}");
            assert_eq!(
                want.to_string().parse::<Target>(),
                Ok(want),
                "display round trip of {text}"
            );
        }
    }

    #[test]
    fn rejects() {
        assert_eq!("".parse::<Target>(), Err(TargetError::Empty));
        for bad in ["+", "-0", "+x", "a+", "a b", "base+1", "++1", "a+-1", "é", "1.5"] {
            assert!(
                matches!(bad.parse::<Target>(), Err(TargetError::Invalid { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn error_messages_name_the_fix() {
        let e = TargetError::AmbiguousPrefix {
            prefix: "ab".into(),
            candidates: vec!["abc1".into(), "abc2".into()],
        };
        assert_eq!(
            e.to_string(),
            "`ab` is ambiguous: it starts abc1, abc2; give more characters"
        );
        let e = TargetError::AmbiguousWalk {
            from: "a".into(),
            steps: 2,
            at: "b".into(),
            candidates: vec!["c".into(), "d".into()],
        };
        assert_eq!(
            e.to_string(),
            "cannot walk +2 from `a`: `b` has several children (c, d); name the revision instead"
        );
    }
}
