//! Scratch state of the HNSW graph walk: the heap entries and the
//! per-thread visited marks.

use std::cell::RefCell;
use std::cmp::Ordering;

/// Frontier entry: the closest (highest key) is popped first.
pub(super) struct Near(pub(super) f32, pub(super) u32);
/// Result entry: the farthest (lowest key) is on top, to be evicted.
pub(super) struct Far(pub(super) f32, pub(super) u32);

impl PartialEq for Near {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Near {}
impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Near {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
    }
}
impl PartialEq for Far {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Far {}
impl PartialOrd for Far {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Far {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

/// Visited marks stamped with a generation, so resetting is O(1) and one
/// buffer per thread serves every search.
#[derive(Default)]
pub(super) struct Visited {
    marks: Vec<u32>,
    generation: u32,
}

impl Visited {
    pub(super) fn reset(&mut self, nodes: usize) {
        if self.marks.len() < nodes {
            self.marks.resize(nodes, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.marks.fill(0);
            self.generation = 1;
        }
    }

    #[inline]
    pub(super) fn insert(&mut self, n: u32) -> bool {
        let slot = &mut self.marks[n as usize];
        if *slot == self.generation {
            false
        } else {
            *slot = self.generation;
            true
        }
    }
}

thread_local! {
    static VISITED: RefCell<Visited> = RefCell::new(Visited::default());
}

/// This thread's visited marks (a fresh buffer if they are in use).
pub(super) fn take_visited() -> Visited {
    VISITED.with(RefCell::take)
}

/// Return the marks taken by [`take_visited`] for the next search.
pub(super) fn give_back_visited(visited: Visited) {
    VISITED.with(|cell| *cell.borrow_mut() = visited);
}
