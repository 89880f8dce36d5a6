//! Whether figures shown together give away a few groups' sums by arithmetic.
//!
//! A hub shows, for one period, the sum of some value over each of several sets of groups (the
//! network, each region, size band and focus). Anyone can add and subtract those figures, with
//! any weights: the network minus the North West, or a focus minus two regions plus a size
//! band. A combination whose result depends on 1 to m − 1 groups alone gives those groups' sums
//! away. This module finds such a combination if one exists, over every weighting, not only
//! pairs.
//!
//! **How.** Groups that belong to exactly the same shown sets (an *atom*) always appear
//! together, so a combination is a vector over atoms. A combination that isolates fewer than m
//! groups is zero on every atom of m or more groups, so it lies in the space `V` of
//! combinations that vanish on those large atoms. If `V` is empty, nothing can be isolated. If
//! not, the smallest thing it can isolate is a vector of `V` with minimal support; every such
//! vector is fixed (up to scale) by choosing `dim V − 1` small atoms on which it is zero, so
//! enumerating those choices finds the minimum exactly. The sets are tiny (tens of rows and
//! atoms), so plain Gaussian elimination in `f64` on 0/1 matrices is exact enough; when the
//! enumeration would be too large the answer errs on the side of "it leaks".

use std::collections::{BTreeMap, BTreeSet};

const EPS: f64 = 1e-9;
/// Beyond this many sets tried the search stops and reports a leak.
const MAX_CHOICES: usize = 200_000;

/// A combination of shown figures that isolates fewer than `m` groups: the rows it uses (with a
/// non-zero weight) and the groups its result depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Isolation {
    pub rows: Vec<usize>,
    pub groups: BTreeSet<i64>,
}

/// The first combination of `rows` (each the set of groups behind one shown figure) whose
/// result depends on 1 to `m` − 1 groups, if any.
pub fn isolating_combination(rows: &[&BTreeSet<i64>], m: usize) -> Option<Isolation> {
    // Atoms: groups by the set of rows they are in.
    let mut atoms: BTreeMap<Vec<bool>, Vec<i64>> = BTreeMap::new();
    let all: BTreeSet<i64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    for g in all {
        let sig: Vec<bool> = rows.iter().map(|r| r.contains(&g)).collect();
        atoms.entry(sig).or_default().push(g);
    }
    let (large, small): (Vec<_>, Vec<_>) = atoms.into_iter().partition(|(_, g)| g.len() >= m);
    if small.is_empty() {
        return None;
    }
    let r = rows.len();
    let column = |sig: &Vec<bool>, i: usize| if sig[i] { 1.0 } else { 0.0 };
    // Row weights `a` with a·(large atom columns) = 0: reduce [A_large | I] on its left part.
    let mut aug: Vec<Vec<f64>> = (0..r)
        .map(|i| {
            let mut row: Vec<f64> = large.iter().map(|(s, _)| column(s, i)).collect();
            row.extend((0..r).map(|j| if i == j { 1.0 } else { 0.0 }));
            row
        })
        .collect();
    let rank = reduce(&mut aug, large.len());
    let weights: Vec<Vec<f64>> = aug[rank..]
        .iter()
        .map(|row| row[large.len()..].to_vec())
        .collect();
    // V: those weights applied to the small atoms, with the weights carried alongside.
    let ns = small.len();
    let mut v: Vec<Vec<f64>> = weights
        .iter()
        .map(|a| {
            let mut row: Vec<f64> = small
                .iter()
                .map(|(s, _)| (0..r).map(|i| a[i] * column(s, i)).sum())
                .collect();
            row.extend_from_slice(a);
            row
        })
        .collect();
    let d = reduce(&mut v, ns);
    if d == 0 {
        return None;
    }
    let basis = &v[..d];
    let size = |j: usize| small[j].1.len();
    let isolation = |c: &[f64]| -> Option<Isolation> {
        let vec: Vec<f64> = (0..ns + r)
            .map(|j| (0..d).map(|i| c[i] * basis[i][j]).sum())
            .collect();
        let support: Vec<usize> = (0..ns).filter(|&j| vec[j].abs() > EPS).collect();
        let weight: usize = support.iter().map(|&j| size(j)).sum();
        (weight > 0 && weight < m).then(|| Isolation {
            rows: (0..r).filter(|&i| vec[ns + i].abs() > EPS).collect(),
            groups: support
                .iter()
                .flat_map(|&j| small[j].1.iter().copied())
                .collect(),
        })
    };
    let by_zeros = choose(ns, d - 1);
    let by_supports: usize =
        (1..=(m - 1).min(ns)).fold(0usize, |acc, k| acc.saturating_add(choose(ns, k)));
    if by_zeros > MAX_CHOICES || by_supports < by_zeros {
        return match by_support(basis, ns, &size, m) {
            Ok(c) => c.and_then(|c| isolation(&c)),
            // Too many to search: treat the first basis vector as the leak, whatever its size.
            Err(Exhausted) => Some(Isolation {
                rows: (0..r).filter(|&i| basis[0][ns + i].abs() > EPS).collect(),
                groups: small.iter().flat_map(|(_, g)| g.iter().copied()).collect(),
            }),
        };
    }
    let mut zeros: Vec<usize> = (0..d - 1).collect();
    loop {
        // The combination of the basis that is zero on `zeros`, when that fixes one.
        let mut t: Vec<Vec<f64>> = zeros
            .iter()
            .map(|&j| (0..d).map(|i| basis[i][j]).collect())
            .collect();
        if reduce(&mut t, d) == d - 1 {
            let c = kernel_vector(&t, d);
            if let Some(found) = isolation(&c) {
                return Some(found);
            }
        }
        if !next_combination(&mut zeros, ns) {
            return None;
        }
    }
}

/// The other search, cheaper when m is small and `V` is large: for each set `T` of small atoms
/// weighing less than m, whether some vector of `V` is zero off `T` (and so depends on `T`
/// alone). A vector is in `V` when it is orthogonal to `V`'s complement `K`, so the test is
/// whether the columns of `K` at `T` are dependent: a rank of at most m − 1 columns. `basis`
/// is in reduced echelon form on its first `ns` columns. Returns the coefficients over `basis`.
fn by_support(
    basis: &[Vec<f64>],
    ns: usize,
    size: &impl Fn(usize) -> usize,
    m: usize,
) -> Result<Option<Vec<f64>>, Exhausted> {
    let pivots: Vec<usize> = basis
        .iter()
        .filter_map(|row| row[..ns].iter().position(|x| x.abs() > EPS))
        .collect();
    // K: one vector per free column f, 1 at f and −basis[i][f] at each pivot.
    let k: Vec<Vec<f64>> = (0..ns)
        .filter(|f| !pivots.contains(f))
        .map(|f| {
            let mut v = vec![0.0; ns];
            v[f] = 1.0;
            for (row, &p) in basis.iter().zip(&pivots) {
                v[p] = -row[f];
            }
            v
        })
        .collect();
    // Depth-first over sets of small atoms (lightest first), keeping the chosen atoms' columns
    // of K reduced: an atom whose column reduces to zero closes a dependency.
    let mut order: Vec<usize> = (0..ns).collect();
    order.sort_by_key(|&j| size(j));
    let mut search = Search {
        order,
        k,
        size,
        m,
        budget: MAX_CHOICES,
        stack: Vec::new(),
    };
    let found = search.from(0, 0);
    let Some(found) = found else {
        return if search.budget == 0 {
            Err(Exhausted)
        } else {
            Ok(None)
        };
    };
    let mut v = vec![0.0; ns];
    for (j, w) in found {
        v[j] = w;
    }
    Ok(Some(pivots.iter().map(|&p| v[p]).collect()))
}

/// The search stopped at its budget without an answer.
struct Exhausted;

/// One chosen atom in [`Search`]: its column of K reduced against those chosen before it.
struct Level {
    atom: usize,
    reduced: Vec<f64>,
    pivot: usize,
    /// `reduced` as a combination of the chosen atoms' columns, by depth.
    combo: Vec<f64>,
}

struct Search<'a, S: Fn(usize) -> usize> {
    order: Vec<usize>,
    /// The complement of `V`, one vector per row, over the small atoms.
    k: Vec<Vec<f64>>,
    size: &'a S,
    m: usize,
    budget: usize,
    stack: Vec<Level>,
}

impl<S: Fn(usize) -> usize> Search<'_, S> {
    /// Extends the chosen atoms by one from `order[start..]`; returns a dependency found, as
    /// (atom, weight) pairs.
    fn from(&mut self, start: usize, weight: usize) -> Option<Vec<(usize, f64)>> {
        for pos in start..self.order.len() {
            let j = self.order[pos];
            if weight + (self.size)(j) >= self.m {
                break; // lightest first: every later atom is at least as heavy
            }
            if self.budget == 0 {
                return None;
            }
            self.budget -= 1;
            let mut r: Vec<f64> = self.k.iter().map(|kv| kv[j]).collect();
            let depth = self.stack.len();
            let mut combo = vec![0.0; depth + 1];
            combo[depth] = 1.0;
            for lvl in &self.stack {
                let f = r[lvl.pivot];
                if f.abs() > EPS {
                    for (x, y) in r.iter_mut().zip(&lvl.reduced) {
                        *x -= f * y;
                    }
                    for (x, y) in combo.iter_mut().zip(&lvl.combo) {
                        *x -= f * y;
                    }
                }
            }
            match (0..r.len()).max_by(|&a, &b| r[a].abs().total_cmp(&r[b].abs())) {
                Some(p) if r[p].abs() > EPS => {
                    let scale = r[p];
                    r.iter_mut().for_each(|x| *x /= scale);
                    combo.iter_mut().for_each(|x| *x /= scale);
                    self.stack.push(Level {
                        atom: j,
                        reduced: r,
                        pivot: p,
                        combo,
                    });
                    let found = self.from(pos + 1, weight + (self.size)(j));
                    self.stack.pop();
                    if found.is_some() {
                        return found;
                    }
                }
                _ => {
                    // Dependent: `combo` over the chosen atoms and j gives a vector of V.
                    let atoms = self.stack.iter().map(|l| l.atom).chain(std::iter::once(j));
                    return Some(atoms.zip(combo).collect());
                }
            }
        }
        None
    }
}

/// Gauss–Jordan elimination on the first `cols` columns, in place; returns the rank. Rows
/// with a pivot come first.
fn reduce(m: &mut [Vec<f64>], cols: usize) -> usize {
    let mut rank = 0;
    for col in 0..cols {
        let Some(p) = (rank..m.len()).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))
        else {
            break;
        };
        if m[p][col].abs() <= EPS {
            continue;
        }
        m.swap(rank, p);
        let pivot = m[rank][col];
        for x in m[rank].iter_mut() {
            *x /= pivot;
        }
        let prow = m[rank].clone();
        for (i, row) in m.iter_mut().enumerate() {
            if i != rank && row[col].abs() > EPS {
                let f = row[col];
                for (x, p) in row.iter_mut().zip(&prow) {
                    *x -= f * p;
                }
            }
        }
        rank += 1;
    }
    for row in m.iter_mut() {
        for x in row.iter_mut() {
            if x.abs() <= EPS {
                *x = 0.0;
            }
        }
    }
    rank
}

/// For a reduced matrix of rank `cols` − 1, the one vector (up to scale) it sends to zero.
fn kernel_vector(reduced: &[Vec<f64>], cols: usize) -> Vec<f64> {
    null_vector(reduced, cols)
}

/// One non-zero vector a reduced matrix of rank below `cols` sends to zero: the first free
/// column set to 1.
fn null_vector(reduced: &[Vec<f64>], cols: usize) -> Vec<f64> {
    let pivots: Vec<usize> = reduced
        .iter()
        .filter_map(|row| row[..cols].iter().position(|x| x.abs() > EPS))
        .collect();
    let free = (0..cols).find(|c| !pivots.contains(c)).unwrap_or(0);
    let mut c = vec![0.0; cols];
    c[free] = 1.0;
    for (row, &p) in reduced.iter().zip(&pivots) {
        c[p] = -row[free];
    }
    c
}

fn choose(n: usize, k: usize) -> usize {
    if k > n {
        return 0;
    }
    (0..k).fold(1usize, |acc, i| acc.saturating_mul(n - i) / (i + 1))
}

/// Steps `c` (increasing indices below `n`) to the next combination; false after the last.
fn next_combination(c: &mut [usize], n: usize) -> bool {
    let k = c.len();
    for i in (0..k).rev() {
        if c[i] < n - k + i {
            c[i] += 1;
            for j in i + 1..k {
                c[j] = c[j - 1] + 1;
            }
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn set(g: impl IntoIterator<Item = i64>) -> BTreeSet<i64> {
        g.into_iter().collect()
    }

    #[test]
    fn the_network_minus_a_region_of_all_but_one() {
        let network = set(1..=10);
        let region = set(1..=9);
        let found = isolating_combination(&[&network, &region], 5).unwrap();
        assert_eq!(found.groups, set([10]));
        assert_eq!(found.rows, vec![0, 1]);
        assert_eq!(isolating_combination(&[&network, &set(1..=5)], 5), None);
    }

    #[test]
    fn three_figures_that_no_pair_gives_away() {
        // Two focuses that do not overlap, each of 6, in a network of 14: every pair differs by
        // 6 or more, but the network minus both is the 2 groups in neither.
        let network = set(1..=14);
        let (a, b) = (set(1..=6), set(7..=12));
        let found = isolating_combination(&[&network, &a, &b], 5).unwrap();
        assert_eq!(found.groups, set([13, 14]));
        assert_eq!(found.rows, vec![0, 1, 2]);
    }

    #[test]
    fn crossed_partitions_alone_do_not_isolate_a_cell() {
        // Regions and size bands cross in cells of 3: no weighting of rows gives one cell.
        let cell = |r: i64, s: i64| (0..3).map(move |i| r * 100 + s * 10 + i);
        let network = set((0..2).flat_map(|r| (0..2).flat_map(move |s| cell(r, s))));
        let regions: Vec<BTreeSet<i64>> = (0..2)
            .map(|r| set((0..2).flat_map(|s| cell(r, s))))
            .collect();
        let sizes: Vec<BTreeSet<i64>> = (0..2)
            .map(|s| set((0..2).flat_map(|r| cell(r, s))))
            .collect();
        let rows = [&network, &regions[0], &regions[1], &sizes[0], &sizes[1]];
        assert_eq!(isolating_combination(&rows, 5), None);
    }

    /// Against brute force: every set of fewer than m groups whose removal lowers the rank of
    /// the rows is exactly what some combination isolates.
    #[test]
    fn agrees_with_brute_force_on_small_networks() {
        for seed in 0..300u64 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let n = rng.gen_range(5..12i64);
            let mut rows = vec![set(0..n)];
            for _ in 0..rng.gen_range(1..6) {
                let s = set((0..n).filter(|_| rng.gen_bool(0.5)));
                if !s.is_empty() {
                    rows.push(s);
                }
            }
            let refs: Vec<&BTreeSet<i64>> = rows.iter().collect();
            let m = 5;
            let found = isolating_combination(&refs, m);
            let rank_without = |out: &BTreeSet<i64>| {
                let mut mat: Vec<Vec<f64>> = rows
                    .iter()
                    .map(|r| {
                        (0..n)
                            .filter(|g| !out.contains(g))
                            .map(|g| if r.contains(&g) { 1.0 } else { 0.0 })
                            .collect()
                    })
                    .collect();
                let cols = mat[0].len();
                reduce(&mut mat, cols)
            };
            let full = rank_without(&BTreeSet::new());
            let mut brute = false;
            for mask in 1u32..(1 << n) {
                let out: BTreeSet<i64> = (0..n).filter(|g| mask & (1 << g) != 0).collect();
                if out.len() < m && rank_without(&out) < full {
                    brute = true;
                    break;
                }
            }
            assert_eq!(found.is_some(), brute, "seed {seed}: {rows:?} → {found:?}");
            if let Some(f) = found {
                assert!(!f.groups.is_empty() && f.groups.len() < m);
                assert!(rank_without(&f.groups) < full, "seed {seed}: {f:?}");
            }
        }
    }
}
