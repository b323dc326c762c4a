//! Property tests over random revision graphs: the order is topological and
//! deterministic, every plan runs exactly its revisions in an order the links
//! allow, and every kind of breakage is detected.

use migrate_core::{DiagnosticKind, Direction, Graph, Migration, MigrationParts, Target, plan};
use proptest::prelude::*;

fn migration(id: &str, parents: &[String]) -> Migration {
    Migration::new(MigrationParts {
        revision: id.to_owned(),
        down_revisions: parents.to_vec(),
        message: String::new(),
        upgrade: format!("SELECT '{id}';"),
        downgrade: Some(String::new()),
        no_transaction: false,
        directives: Default::default(),
        depends_on: Vec::new(),
        runs_after: Vec::new(),
        file: format!("migrations/{id}_x.sql"),
    })
}

/// A random valid graph: node `i` takes 1 or 2 parents among `0..i`, and a
/// final merge joins whatever heads are left. Ids are random so that ties in
/// the order are broken by id, not by construction order.
fn valid_graph() -> impl Strategy<Value = Vec<(String, Vec<String>)>> {
    (1usize..40)
        .prop_flat_map(|n| {
            let parents = (1..n)
                .map(|i| proptest::collection::btree_set(0..i, 1..=2.min(i)))
                .collect::<Vec<_>>();
            let ids = proptest::collection::btree_set("[a-f0-9]{8}", n);
            (ids, parents)
        })
        .prop_map(|(ids, parents)| {
            let mut ids: Vec<String> = ids.into_iter().collect();
            // Shuffle ids deterministically relative to construction order.
            ids.reverse();
            let mut nodes: Vec<(String, Vec<String>)> = vec![(ids[0].clone(), vec![])];
            for (k, ps) in parents.iter().enumerate() {
                nodes.push((ids[k + 1].clone(), ps.iter().map(|&p| ids[p].clone()).collect()));
            }
            let has_child: std::collections::HashSet<&String> = nodes.iter().flat_map(|(_, ps)| ps).collect();
            let heads: Vec<String> = nodes
                .iter()
                .map(|(id, _)| id)
                .filter(|id| !has_child.contains(id))
                .cloned()
                .collect();
            if heads.len() > 1 {
                nodes.push(("merge_all".to_owned(), heads));
            }
            nodes
        })
}

fn build(nodes: &[(String, Vec<String>)]) -> Vec<Migration> {
    nodes.iter().map(|(id, ps)| migration(id, ps)).collect()
}

fn kinds(ms: &[Migration]) -> Vec<DiagnosticKind> {
    match Graph::new(ms) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(|d| d.kind).collect(),
    }
}

proptest! {
    #[test]
    fn order_is_topological_and_independent_of_input_order(nodes in valid_graph(), seed in any::<u64>()) {
        let ms = build(&nodes);
        let g = Graph::new(&ms).expect("valid graph");
        let order: Vec<&str> = g.iter().map(Migration::revision).collect();
        prop_assert_eq!(order.len(), ms.len());
        for (pos, m) in g.iter().enumerate() {
            for p in m.down_revisions() {
                prop_assert!(g.position(p).unwrap() < pos, "{} comes before its child {}", p, m.revision());
            }
        }
        // Same order whatever order the files come in.
        let mut shuffled = ms.clone();
        let len = shuffled.len();
        let mut s = seed;
        for i in (1..len).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let g2 = Graph::new(&shuffled).unwrap();
        prop_assert_eq!(order, g2.iter().map(Migration::revision).collect::<Vec<_>>());
        prop_assert_eq!(g.head(), Some(ms.len() - 1));
    }

    #[test]
    fn every_plan_covers_its_set_in_an_order_the_links_allow(
        nodes in valid_graph(),
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..3),
        to in any::<prop::sample::Index>(),
    ) {
        let ms = build(&nodes);
        let g = Graph::new(&ms).expect("valid graph");
        let n = ms.len();
        // A state two upgrades could leave: the picks and their ancestors.
        let mut applied = vec![false; n];
        for p in &picks {
            for (i, a) in g.ancestors(p.index(n)).into_iter().enumerate() {
                applied[i] |= a;
            }
        }
        let to = to.index(n);
        let target = Target::Revision(g.get(to).revision().to_owned());
        let wanted = g.ancestors(to);
        let below = g.descendants(to);
        let cases = [
            (plan::upgrade(&g, &applied, &Target::Head).unwrap(), (0..n).map(|i| !applied[i]).collect::<Vec<_>>()),
            (plan::upgrade(&g, &applied, &target).unwrap(), (0..n).map(|i| wanted[i] && !applied[i]).collect()),
            (plan::downgrade(&g, &applied, &Target::Base).unwrap(), applied.clone()),
        ];
        let mut cases = cases.to_vec();
        if applied[to] {
            let set = (0..n).map(|i| applied[i] && below[i] && i != to).collect();
            cases.push((plan::downgrade(&g, &applied, &target).unwrap(), set));
        }
        for (plan, set) in cases {
            let mut steps = plan.steps.clone();
            steps.sort_unstable();
            prop_assert_eq!(steps, (0..n).filter(|&i| set[i]).collect::<Vec<_>>());
            let mut done = vec![false; n];
            for &i in &plan.steps {
                // Upgrading, a revision's parents run first; downgrading, its children.
                let before = match plan.direction {
                    Direction::Upgrade => g.parents(i).to_vec(),
                    Direction::Downgrade => g.children(i).to_vec(),
                };
                for b in before {
                    prop_assert!(!set[b] || done[b], "{} before {}", g.get(i).revision(), g.get(b).revision());
                }
                done[i] = true;
            }
        }
    }

    #[test]
    fn an_extra_branch_is_an_unmerged_head(nodes in valid_graph(), pick in any::<prop::sample::Index>()) {
        prop_assume!(nodes.len() > 1);
        // Branch from anything but the head (the last position): that leaves two heads.
        let ms = build(&nodes);
        let g = Graph::new(&ms).unwrap();
        let from = pick.index(ms.len() - 1);
        let mut broken = nodes.clone();
        broken.push(("branch".into(), vec![g.get(from).revision().to_owned()]));
        prop_assert_eq!(kinds(&build(&broken)), vec![DiagnosticKind::UnmergedHeads]);
    }

    #[test]
    fn a_back_link_is_a_cycle(nodes in valid_graph(), pick in any::<prop::sample::Index>()) {
        let ms = build(&nodes);
        let g = Graph::new(&ms).unwrap();
        // Make some ancestor of a revision also list that revision as a parent.
        let i = pick.index(ms.len());
        let anc = g.ancestors(i);
        let j = (0..ms.len()).find(|&j| anc[j]).unwrap();
        let mut broken = nodes.clone();
        let (child_id, parent_id) = (g.get(j).revision().to_owned(), g.get(i).revision().to_owned());
        let entry = broken.iter_mut().find(|(id, _)| *id == child_id).unwrap();
        entry.1.push(parent_id);
        entry.1.dedup();
        prop_assert!(kinds(&build(&broken)).contains(&DiagnosticKind::Cycle));
    }

    #[test]
    fn a_missing_parent_is_dangling(nodes in valid_graph(), pick in any::<prop::sample::Index>()) {
        let mut broken = nodes.clone();
        let k = pick.index(broken.len());
        broken[k].1.push("missing".into());
        prop_assert_eq!(kinds(&build(&broken)), vec![DiagnosticKind::DanglingParent]);
    }

    #[test]
    fn a_repeated_id_is_a_duplicate(nodes in valid_graph(), pick in any::<prop::sample::Index>()) {
        let ms = build(&nodes);
        let k = pick.index(ms.len());
        let mut parts = MigrationParts { revision: nodes[k].0.clone(), down_revisions: nodes[k].1.clone(), ..Default::default() };
        parts.file = format!("migrations/{}_zz_copy.sql", nodes[k].0);
        let mut broken = ms.clone();
        broken.push(Migration::new(parts));
        prop_assert_eq!(kinds(&broken), vec![DiagnosticKind::DuplicateRevision]);
    }
}
