//! The order of application, as Alembic 1.x's revision map walks its graph.
//!
//! Alembic computes every upgrade and downgrade the same way: it walks from
//! the revisions no other revision of the set to run descends from (its
//! "heads"), down through `down_revision`, emitting a revision as soon as no
//! other line being walked still has it as an ancestor. A downgrade runs in
//! the order of the walk, an upgrade in its reverse. The starting revisions
//! are taken in the order Alembic loads its versions folder (file names,
//! sorted); a merge's parents start new lines in the order its
//! `down_revision` lists them, the first one continuing the merge's own line.
//! This module is written from that description; it shares no code with
//! Alembic, and `tests/alembic_order.rs` checks it against Alembic itself.

/// A line being walked: the revision at its tip, and every revision the tip
/// descends from (the tip included), over the whole graph.
struct Line {
    tip: usize,
    reach: Vec<bool>,
}

/// The rank of each revision in the order Alembic loads a versions folder:
/// by file name (Alembic sorts the names it lists), then by id. `names`
/// gives each revision's file path and id.
pub(crate) fn load_ranks<'a>(names: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<usize> {
    let keys: Vec<(&str, &str)> = names.map(|(file, id)| (file_name(file), id)).collect();
    let mut by_name: Vec<usize> = (0..keys.len()).collect();
    crate::sorting::sort_by(&mut by_name, |i| (keys[i].0, 0, 0, keys[i].1));
    let mut rank = vec![0; keys.len()];
    for (r, &i) in by_name.iter().enumerate() {
        rank[i] = r;
    }
    rank
}

/// The last component of a path as `load` and the macro write it.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The revisions of `todo` in the order Alembic unapplies them (each before
/// the revisions it descends from); reversed, the order it applies them.
///
/// `parents` lists each revision's down_revisions as written, `children`
/// their inverse, `rank` the load order ([`load_ranks`]). Every revision of
/// `todo` is in the result once, whatever the set (Alembic expects a set
/// closed the way its plans are, and so do our plans).
pub(crate) fn walk(parents: &[Vec<usize>], children: &[Vec<usize>], rank: &[usize], todo: &[bool]) -> Vec<usize> {
    let n = parents.len();
    let line = |tip: usize| Line {
        tip,
        reach: super::ancestors_of(parents, n, tip),
    };
    let mut left = todo.to_vec();
    let mut starts: Vec<usize> = (0..n)
        .filter(|&i| todo[i] && !children[i].iter().any(|&c| todo[c]))
        .collect();
    crate::sorting::sort_by(&mut starts, |i| ("", rank[i], 0, ""));
    let mut lines: Vec<Line> = starts.into_iter().map(line).collect();
    let mut out = Vec::with_capacity(todo.iter().filter(|&&t| t).count());
    let mut at = 0;
    while at < lines.len() {
        let tip = lines[at].tip;
        // Another line still reaches this revision: walk that line first.
        if let Some(other) = (0..lines.len()).find(|&j| j != at && lines[j].reach[tip]) {
            at = other;
            continue;
        }
        if std::mem::replace(&mut left[tip], false) {
            out.push(tip);
        }
        let fresh: Vec<usize> = parents[tip]
            .iter()
            .copied()
            .filter(|&p| left[p] && !lines.iter().any(|l| l.tip == p))
            .collect();
        match fresh.split_first() {
            None => {
                lines.remove(at);
                at = at.saturating_sub(1);
            }
            Some((&first, rest)) => {
                if parents[tip].len() == 1 {
                    // Straight down a line: the tip's reach less the tip itself.
                    lines[at].tip = first;
                    lines[at].reach[tip] = false;
                } else {
                    lines[at] = line(first);
                }
                lines.extend(rest.iter().map(|&p| line(p)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The downgrade walk over every revision of `spec` (`child <- parents`
    /// lines, files named by id unless `id=file` is given), as ids.
    fn check(spec: &str, todo: Option<&str>, expect: &str) {
        let rows: Vec<(&str, &str, Vec<&str>)> = spec
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (id, ps) = l.split_once("<-").unwrap_or((l, ""));
                let (id, file) = id.trim().split_once('=').unwrap_or((id.trim(), id.trim()));
                (
                    id,
                    file,
                    ps.split(',').map(str::trim).filter(|p| !p.is_empty()).collect(),
                )
            })
            .collect();
        let at = |id: &str| rows.iter().position(|r| r.0 == id).unwrap();
        let parents: Vec<Vec<usize>> = rows.iter().map(|r| r.2.iter().map(|p| at(p)).collect()).collect();
        let mut children = vec![Vec::new(); rows.len()];
        for (i, ps) in parents.iter().enumerate() {
            for &p in ps {
                children[p].push(i);
            }
        }
        let rank = load_ranks(rows.iter().map(|r| (r.1, r.0)));
        let mut set = vec![todo.is_none(); rows.len()];
        for id in todo.unwrap_or("").split_whitespace() {
            set[at(id)] = true;
        }
        let got: Vec<&str> = walk(&parents, &children, &rank, &set)
            .into_iter()
            .map(|i| rows[i].0)
            .collect();
        assert_eq!(got.join(" "), expect, "{spec}");
    }

    #[test]
    fn a_merge_walks_its_first_parent_first() {
        check("a <-\nb <- a\nc <- a\nm <- b, c", None, "m b c a");
        check("a <-\nb <- a\nc <- a\nm <- c, b", None, "m c b a");
    }

    #[test]
    fn a_line_waits_for_the_others_that_reach_its_tip() {
        // `a` is reached by c's line too, so it waits until `c` is walked.
        check("a <-\nb1 <- a\nb2 <- b1\nc <- a\nm <- b2, c", None, "m b2 b1 c a");
        check("a <-\nb1 <- a\nb2 <- b1\nc <- a\nm <- c, b2", None, "m c b2 b1 a");
    }

    #[test]
    fn several_starts_go_in_file_name_order() {
        // Files `b_x` and `bA_y`: `bA_y` sorts first ('A' < '_'), though `b` < `bA`.
        check("a <-\nb=b_x <- a\nbA=bA_y <- a", Some("a b bA"), "bA b a");
        check("a <-\nb=b.sql <- a\nbA=bA_y <- a", Some("a b bA"), "b bA a");
    }

    #[test]
    fn a_set_with_holes_is_still_walked_whole() {
        check("a <-\nb <- a\nc <- b", Some("a c"), "c a");
    }

    #[test]
    fn file_names_rank_before_ids() {
        assert_eq!(
            load_ranks([("m/z_1.sql", "z"), ("m/a_2.sql", "a"), ("x", "b")].into_iter()),
            [2, 0, 1]
        );
    }
}
