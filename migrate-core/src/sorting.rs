//! One sort for the lists core orders on the way of a run (graph nodes,
//! heads, load ranks, diagnostics): each `sort_by_key` call site makes
//! rustc compile its own copy of the standard sort, 10 to 20 KiB of machine
//! code apiece in every application that links the runtime; this one key
//! type is compiled once.

/// What a list is ordered by: text, then two numbers, then text. Fields a
/// list does not need are left empty or zero.
pub(crate) type Key<'k> = (&'k str, usize, usize, &'k str);

/// Sorts `items` by `key`, stably (equal keys keep their order).
pub(crate) fn sort_by<'k, T: Copy>(items: &mut [T], mut key: impl FnMut(T) -> Key<'k>) {
    let mut keyed: Vec<(Key<'k>, usize)> = items.iter().enumerate().map(|(i, &t)| (key(t), i)).collect();
    // The position as the last field makes the unstable sort stable.
    keyed.sort_unstable();
    let sorted: Vec<T> = keyed.iter().map(|&(_, i)| items[i]).collect();
    items.copy_from_slice(&sorted);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_by_each_field_in_turn_and_keeps_equal_keys_in_order() {
        let v = [("b", 1), ("a", 2), ("b", 0), ("a", 1), ("a", 2)];
        let mut order: Vec<usize> = (0..v.len()).collect();
        sort_by(&mut order, |i| (v[i].0, v[i].1, 0, ""));
        assert_eq!(order, [3, 1, 4, 2, 0]);
        let mut v = [("b", 1), ("a", 2), ("b", 0), ("a", 1), ("c", 2)];
        sort_by(&mut v, |(_, n)| ("", n, 0, ""));
        assert_eq!(v, [("b", 0), ("b", 1), ("a", 1), ("a", 2), ("c", 2)]);
    }
}
