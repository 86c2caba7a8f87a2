//! A small HNSW graph (Malkov & Yashunin) over a collection's rows.
//!
//! The graph stores only links: node `n` is row `n` of the collection, and
//! vectors are read from the collection's buffer, so the index costs
//! `~(2m + 1) × 4` bytes per row instead of a second copy of the vectors.
//! Building inserts in batches whose searches run in parallel against the
//! graph as it was before the batch (the approach of parallel HNSW
//! builders: batches are kept small relative to the graph so a node
//! rarely misses a batch mate); the reverse links of a batch are then
//! grouped per neighbour and each neighbour's list is rebuilt and pruned
//! once, also in parallel. Every distance runs in the SIMD-dispatched
//! kernels.

use std::collections::BinaryHeap;
use std::fmt;

use rayon::prelude::*;

use crate::types::Metric;

use super::kernels::{Vectorizable, prefetch, vectorized};
use super::scan::rank_key;

#[path = "hnsw_scratch.rs"]
mod scratch;

use scratch::{Far, Near, Visited, give_back_visited, take_visited};

/// The vectors a graph is built over.
#[derive(Clone, Copy)]
pub(crate) struct Space<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) dims: usize,
    pub(crate) metric: Metric,
}

impl Space<'_> {
    fn row(&self, n: u32) -> &[f32] {
        let n = n as usize;
        &self.data[n * self.dims..(n + 1) * self.dims]
    }

    /// Higher is closer.
    #[inline(always)]
    fn key(&self, q: &[f32], n: u32) -> f32 {
        rank_key(self.metric, q, self.row(n))
    }
}

/// An HNSW graph over rows `0..len()`.
pub(crate) struct Hnsw {
    m: usize,
    m0: usize,
    ef_construction: usize,
    level_mult: f64,
    levels: Vec<u8>,
    /// Layer-0 links, `m0` slots per node; `layer0_len[n]` are used.
    layer0: Vec<u32>,
    layer0_len: Vec<u8>,
    /// Links on layers 1.. (`upper[n][l - 1]`), empty for layer-0 nodes.
    upper: Vec<Vec<Vec<u32>>>,
    entry: Option<u32>,
    max_level: usize,
    rng: u64,
}

impl fmt::Debug for Hnsw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hnsw")
            .field("nodes", &self.len())
            .field("m", &self.m)
            .field("max_level", &self.max_level)
            .finish()
    }
}

impl Hnsw {
    pub(crate) fn new(m: usize, ef_construction: usize) -> Hnsw {
        // Link counts are stored in a u8.
        let m = m.clamp(2, 100);
        Hnsw {
            m,
            m0: 2 * m,
            ef_construction: ef_construction.max(m),
            level_mult: 1.0 / (m as f64).ln(),
            levels: Vec::new(),
            layer0: Vec::new(),
            layer0_len: Vec::new(),
            upper: Vec::new(),
            entry: None,
            max_level: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.levels.len()
    }

    fn random_level(&mut self) -> usize {
        // splitmix64: deterministic, so builds are reproducible.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let uniform = ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        ((-uniform.ln() * self.level_mult) as usize).min(16)
    }

    fn links(&self, n: u32, level: usize) -> &[u32] {
        let n = n as usize;
        if level == 0 {
            let len = usize::from(self.layer0_len[n]);
            &self.layer0[n * self.m0..n * self.m0 + len]
        } else {
            self.upper[n].get(level - 1).map_or(&[], Vec::as_slice)
        }
    }

    fn set_links(&mut self, n: u32, level: usize, links: &[u32]) {
        let n = n as usize;
        if level == 0 {
            let len = links.len().min(self.m0);
            self.layer0[n * self.m0..n * self.m0 + len].copy_from_slice(&links[..len]);
            // len <= m0 <= 200 by construction.
            self.layer0_len[n] = u8::try_from(len).unwrap_or(u8::MAX);
        } else if let Some(slot) = self.upper[n].get_mut(level - 1) {
            slot.clear();
            slot.extend_from_slice(links);
        }
    }

    /// Index rows `len()..rows` of `space`, using up to `threads` threads.
    pub(crate) fn extend(&mut self, space: Space<'_>, rows: usize, threads: usize) {
        while self.len() < rows {
            let first = self.len();
            // Small graphs are built one node at a time; later batches stay
            // a small fraction of the graph.
            let batch = if threads <= 1 || first < 2048 {
                1
            } else {
                (first / 32).clamp(1, 4096).min(rows - first)
            };
            let levels: Vec<usize> = (0..batch).map(|_| self.random_level()).collect();
            for &level in &levels {
                self.levels.push(u8::try_from(level).unwrap_or(u8::MAX));
                self.layer0.extend(std::iter::repeat_n(0, self.m0));
                self.layer0_len.push(0);
                self.upper.push(vec![Vec::new(); level]);
            }
            let graph = &*self;
            let plans: Vec<Vec<Vec<u32>>> = if batch == 1 {
                vec![graph.plan(space, first as u32, levels[0])]
            } else {
                (0..batch)
                    .into_par_iter()
                    .map(|i| graph.plan(space, (first + i) as u32, levels[i]))
                    .collect()
            };
            self.link_batch(space, first, &levels, plans, threads);
        }
    }

    /// Give the nodes `first..first + levels.len()` their planned links
    /// and add the reverse links. Reverse links are grouped by
    /// (neighbour, layer) and each neighbour's list is rebuilt once for
    /// the whole batch, pruned with the heuristic when it overflows;
    /// those rebuilds read only the graph and run in parallel, as the
    /// pruning is most of an insertion's distance computations.
    fn link_batch(
        &mut self,
        space: Space<'_>,
        first: usize,
        levels: &[usize],
        plans: Vec<Vec<Vec<u32>>>,
        threads: usize,
    ) {
        let mut reverse: Vec<(u32, usize, u32)> = Vec::new();
        for (i, plan) in plans.iter().enumerate() {
            let node = (first + i) as u32;
            for (lev, links) in plan.iter().enumerate() {
                self.set_links(node, lev, links);
                reverse.extend(links.iter().map(|&nb| (nb, lev, node)));
            }
        }
        reverse.sort_unstable();
        let groups: Vec<&[(u32, usize, u32)]> =
            reverse.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)).collect();
        let graph = &*self;
        let relink = |group: &&[(u32, usize, u32)]| {
            vectorized(Relink {
                graph,
                space,
                group,
            })
        };
        let updates: Vec<Option<Vec<u32>>> = if threads > 1 && groups.len() > 1 {
            groups.par_iter().map(relink).collect()
        } else {
            groups.iter().map(relink).collect()
        };
        for (group, update) in groups.iter().zip(updates) {
            if let (Some(&(nb, lev, _)), Some(links)) = (group.first(), update) {
                self.set_links(nb, lev, &links);
            }
        }
        for (i, &level) in levels.iter().enumerate() {
            if self.entry.is_none() || level > self.max_level {
                self.entry = Some((first + i) as u32);
                self.max_level = level;
            }
        }
    }

    /// The new link list of one neighbour on one layer after adding the
    /// new nodes of `group` (all for that neighbour and layer), or `None`
    /// when nothing changes.
    #[inline(always)]
    fn relink_inner(&self, space: Space<'_>, group: &[(u32, usize, u32)]) -> Option<Vec<u32>> {
        let &(nb, lev, _) = group.first()?;
        let mut current: Vec<u32> = self.links(nb, lev).to_vec();
        let before = current.len();
        for &(_, _, node) in group {
            if !current.contains(&node) {
                current.push(node);
            }
        }
        if current.len() == before {
            return None;
        }
        let max = if lev == 0 { self.m0 } else { self.m };
        if current.len() > max {
            let base = space.row(nb);
            // A plain loop keeps the distances in this (dispatched) body.
            let mut scored: Vec<(f32, u32)> = Vec::with_capacity(current.len());
            for &n in &current {
                scored.push((space.key(base, n), n));
            }
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            current = select(space, &scored, max);
        }
        Some(current)
    }

    /// Neighbours of a new node on each layer it shares with the graph.
    fn plan(&self, space: Space<'_>, node: u32, level: usize) -> Vec<Vec<u32>> {
        vectorized(Plan {
            graph: self,
            space,
            node,
            level,
        })
    }

    #[inline(always)]
    fn plan_inner(&self, space: Space<'_>, node: u32, level: usize) -> Vec<Vec<u32>> {
        let Some(entry) = self.entry else {
            return Vec::new();
        };
        let q = space.row(node);
        let mut visited = take_visited();
        let mut eps = vec![(space.key(q, entry), entry)];
        for lev in (level + 1..=self.max_level).rev() {
            eps = self.search_layer(space, &mut visited, q, &eps, 1, lev);
        }
        let top = level.min(self.max_level);
        let mut plan = vec![Vec::new(); top + 1];
        for lev in (0..=top).rev() {
            let found = self.search_layer(space, &mut visited, q, &eps, self.ef_construction, lev);
            let max = if lev == 0 { self.m0 } else { self.m };
            plan[lev] = select(space, &found, max);
            eps = found;
        }
        give_back_visited(visited);
        plan
    }

    /// The `ef` nodes closest to `q` reachable from `entry` on `level`,
    /// best first, as `(key, node)`.
    ///
    /// The visited marks are passed in rather than borrowed inside
    /// `VISITED.with`: a closure there is a separate function that LLVM
    /// does not inline, so the distance loop would be compiled for the
    /// baseline target instead of the dispatcher's AVX2 + FMA.
    #[inline(always)]
    fn search_layer(
        &self,
        space: Space<'_>,
        visited: &mut Visited,
        q: &[f32],
        entry: &[(f32, u32)],
        ef: usize,
        level: usize,
    ) -> Vec<(f32, u32)> {
        visited.reset(self.len());
        let mut frontier: BinaryHeap<Near> = BinaryHeap::new();
        let mut found: BinaryHeap<Far> = BinaryHeap::new();
        for &(key, n) in entry {
            if visited.insert(n) {
                frontier.push(Near(key, n));
                found.push(Far(key, n));
            }
        }
        // Unvisited neighbours of the node being expanded: their vectors
        // are prefetched together before any is scored.
        let mut fresh: Vec<u32> = Vec::with_capacity(self.m0);
        while let Some(Near(key, n)) = frontier.pop() {
            let worst = found.peek().map_or(f32::NEG_INFINITY, |f| f.0);
            if found.len() >= ef && key < worst {
                break;
            }
            fresh.clear();
            for &nb in self.links(n, level) {
                if visited.insert(nb) {
                    prefetch(space.row(nb));
                    fresh.push(nb);
                }
            }
            for &nb in &fresh {
                let k = space.key(q, nb);
                let worst = found.peek().map_or(f32::NEG_INFINITY, |f| f.0);
                if found.len() < ef || k > worst {
                    frontier.push(Near(k, nb));
                    found.push(Far(k, nb));
                    if found.len() > ef {
                        found.pop();
                    }
                }
            }
        }
        let mut out: Vec<(f32, u32)> = found.into_iter().map(|f| (f.0, f.1)).collect();
        out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        out
    }

    /// Up to `ef` nodes closest to `q`, best first, as `(key, row)`.
    pub(crate) fn search(&self, space: Space<'_>, q: &[f32], ef: usize) -> Vec<(f32, u32)> {
        vectorized(Search {
            graph: self,
            space,
            q,
            ef,
        })
    }

    #[inline(always)]
    fn search_inner(&self, space: Space<'_>, q: &[f32], ef: usize) -> Vec<(f32, u32)> {
        let Some(entry) = self.entry else {
            return Vec::new();
        };
        let mut visited = take_visited();
        let mut eps = vec![(space.key(q, entry), entry)];
        for lev in (1..=self.max_level).rev() {
            eps = self.search_layer(space, &mut visited, q, &eps, 1, lev);
        }
        let found = self.search_layer(space, &mut visited, q, &eps, ef.max(1), 0);
        give_back_visited(visited);
        found
    }
}

/// A graph search compiled for the CPU's best instruction set.
struct Search<'a> {
    graph: &'a Hnsw,
    space: Space<'a>,
    q: &'a [f32],
    ef: usize,
}

impl Vectorizable for Search<'_> {
    type Output = Vec<(f32, u32)>;

    #[inline(always)]
    fn run(self) -> Self::Output {
        self.graph.search_inner(self.space, self.q, self.ef)
    }
}

/// An insertion search compiled for the CPU's best instruction set.
struct Plan<'a> {
    graph: &'a Hnsw,
    space: Space<'a>,
    node: u32,
    level: usize,
}

impl Vectorizable for Plan<'_> {
    type Output = Vec<Vec<u32>>;

    #[inline(always)]
    fn run(self) -> Self::Output {
        self.graph.plan_inner(self.space, self.node, self.level)
    }
}

/// A neighbour's link rebuild compiled for the CPU's best instruction set.
struct Relink<'a> {
    graph: &'a Hnsw,
    space: Space<'a>,
    group: &'a [(u32, usize, u32)],
}

impl Vectorizable for Relink<'_> {
    type Output = Option<Vec<u32>>;

    #[inline(always)]
    fn run(self) -> Self::Output {
        self.graph.relink_inner(self.space, self.group)
    }
}

/// The neighbour-selection heuristic: walk candidates best first and keep
/// one only if it is closer to the base than to every kept neighbour, so
/// links spread in different directions (this keeps clustered data
/// navigable).
#[inline(always)]
fn select(space: Space<'_>, sorted: &[(f32, u32)], max: usize) -> Vec<u32> {
    let mut kept: Vec<u32> = Vec::with_capacity(max);
    for &(key, c) in sorted {
        if kept.len() >= max {
            break;
        }
        let row = space.row(c);
        // A plain loop, not `Iterator::all`: that closure would be a
        // separate, baseline-compiled function (see `search_layer`).
        let mut spread = true;
        for &s in &kept {
            if space.key(row, s) >= key {
                spread = false;
                break;
            }
        }
        if spread {
            kept.push(c);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exact_neighbours_on_a_line() {
        let data: Vec<f32> = (0..500).map(|i| i as f32).collect();
        let space = Space {
            data: &data,
            dims: 1,
            metric: Metric::Euclidean,
        };
        let mut h = Hnsw::new(8, 32);
        h.extend(space, 300, 1);
        h.extend(space, 500, 2);
        assert_eq!(h.len(), 500);
        let found = h.search(space, &[123.2], 3);
        let rows: Vec<u32> = found.iter().map(|f| f.1).collect();
        assert_eq!(rows, vec![123, 124, 122]);
        assert!(Hnsw::new(4, 8).search(space, &[1.0], 5).is_empty());
    }
}
