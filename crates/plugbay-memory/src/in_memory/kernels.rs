//! Distance kernels for the exact scan.
//!
//! Written as fixed-width chunks with independent accumulators so LLVM
//! turns them into SIMD code without `unsafe` or intrinsics: a single
//! running sum would serialise every addition on the previous one (float
//! addition is not associative, so the compiler may not reorder it).
//!
//! The hot loops are units of work run through [`vectorized`], which
//! dispatches at runtime (see [`simd`]): on x86-64 CPUs with AVX2 + FMA
//! the work is compiled a second time with those features enabled, and
//! since the kernels are `#[inline(always)]` they are vectorised 8 lanes
//! wide there instead of the baseline's 4. The int8 dot product has its
//! own AVX2 kernel (`vpmaddwd`), which LLVM does not derive from the
//! portable loop. Elsewhere the portable code runs as compiled.

#[path = "simd.rs"]
mod simd;

/// Width of the unrolled `f32` chunk: four AVX registers or eight
/// SSE/NEON ones, enough independent sums to hide the add latency.
const LANES: usize = 32;

/// Width of the unrolled int8 chunk of the portable kernel.
const I8_LANES: usize = 16;

/// A hot loop, as a value, so it can be run under a SIMD dispatcher.
pub(crate) trait Vectorizable {
    /// What the loop returns.
    type Output;
    /// Run the loop (implementations are `#[inline(always)]`).
    fn run(self) -> Self::Output;
}

/// Run `work` with the best SIMD code generation this CPU supports (see
/// the module docs).
#[inline]
pub(crate) fn vectorized<W: Vectorizable>(work: W) -> W::Output {
    simd::run(work)
}

/// Start loading `row` into the cache ahead of its use: a graph search
/// knows a node's neighbours before it scores them, and their vectors
/// are scattered in memory, so overlapping their cache misses is most of
/// what makes the walk fast.
#[inline(always)]
pub(crate) fn prefetch(row: &[f32]) {
    simd::prefetch(row);
}

/// Dot product of two equally long slices.
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; LANES];
    let (chunks_a, chunks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for ((sum, x), y) in acc.iter_mut().zip(ca).zip(cb) {
            *sum += x * y;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Squared Euclidean distance of two equally long slices.
#[inline(always)]
pub(crate) fn squared_l2(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; LANES];
    let (chunks_a, chunks_b) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for ((sum, x), y) in acc.iter_mut().zip(ca).zip(cb) {
            let d = x - y;
            *sum += d * d;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Dot product of two equally long int8 code slices, exact in `i32`.
///
/// Each product goes through `i16` (|x·y| ≤ 128² fits) before widening,
/// which LLVM maps to `pmaddwd`-style multiply-adds; sixteen `i32`
/// accumulators keep the lanes independent. Overflow is impossible for
/// fewer than 2¹⁷ dimensions (each product is at most 2¹⁴). Uses the
/// AVX2 kernel when the CPU has it.
#[inline(always)]
pub(crate) fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    simd::dot_i8(a, b, dot_i8_portable)
}

/// [`dot_i8`] in portable code.
#[inline(always)]
fn dot_i8_portable(a: &[i8], b: &[i8]) -> i32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0i32; I8_LANES];
    let (chunks_a, chunks_b) = (a.chunks_exact(I8_LANES), b.chunks_exact(I8_LANES));
    let tail: i32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(&x, &y)| i32::from(i16::from(x) * i16::from(y)))
        .sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for ((sum, &x), &y) in acc.iter_mut().zip(ca).zip(cb) {
            *sum += i32::from(i16::from(x) * i16::from(y));
        }
    }
    acc.iter().sum::<i32>() + tail
}

/// Queries scored together by [`dot_i8_rows`]: four, so that with two
/// rows at a time the AVX2 kernel's accumulators and operands fill the
/// sixteen vector registers without spilling.
pub(crate) const QUERY_BLOCK: usize = 4;

/// Up to [`QUERY_BLOCK`] int8-coded queries, widened to `i16` once so the
/// multi-query kernel multiplies them without re-extending per row.
/// Missing queries of a short block are zeros (their dots are 0).
#[derive(Debug, Clone)]
pub(crate) struct I8QueryBlock {
    dims: usize,
    /// `QUERY_BLOCK × dims` values, query `j` at `j * dims..`.
    wide: Vec<i16>,
}

impl I8QueryBlock {
    /// A block of the given code rows (each `dims` long; at most
    /// [`QUERY_BLOCK`] are used).
    pub(crate) fn new<'a>(dims: usize, codes: impl IntoIterator<Item = &'a [i8]>) -> I8QueryBlock {
        let mut wide = vec![0i16; QUERY_BLOCK * dims];
        for (slot, q) in wide.chunks_exact_mut(dims.max(1)).zip(codes) {
            for (w, &c) in slot.iter_mut().zip(q) {
                *w = i16::from(c);
            }
        }
        I8QueryBlock { dims, wide }
    }

    pub(crate) fn dims(&self) -> usize {
        self.dims
    }

    pub(crate) fn wide(&self) -> &[i16] {
        &self.wide
    }
}

/// Exact int8 dot products of every row of `rows` (row-major, `dims`
/// codes each) with each query of `block`: `out[r][j]` is row `r` ·
/// query `j`. `out` must have one entry per row.
///
/// Each row is loaded once per block of queries instead of once per
/// query, which is what makes a batch cheaper per query than single
/// searches. The AVX2 kernel and the portable one compute the same exact
/// integer sums, so their results are identical.
#[inline(always)]
pub(crate) fn dot_i8_rows(rows: &[i8], block: &I8QueryBlock, out: &mut [[i32; QUERY_BLOCK]]) {
    debug_assert_eq!(
        rows.len() / block.dims.max(1),
        out.len(),
        "one output per row"
    );
    simd::dot_i8_rows(rows, block, out, dot_i8_rows_portable);
}

/// [`dot_i8_rows`] in portable code.
#[inline(always)]
fn dot_i8_rows_portable(rows: &[i8], block: &I8QueryBlock, out: &mut [[i32; QUERY_BLOCK]]) {
    let dims = block.dims;
    if dims == 0 {
        out.fill([0; QUERY_BLOCK]);
        return;
    }
    for (row, sums) in rows.chunks_exact(dims).zip(out.iter_mut()) {
        for (sum, q) in sums.iter_mut().zip(block.wide.chunks_exact(dims)) {
            *sum = dot_i8_i16(row, q);
        }
    }
}

/// Dot product of int8 codes with widened (`i16`, in int8 range) ones.
#[inline(always)]
fn dot_i8_i16(a: &[i8], b: &[i16]) -> i32 {
    let mut acc = [0i32; I8_LANES];
    let (chunks_a, chunks_b) = (a.chunks_exact(I8_LANES), b.chunks_exact(I8_LANES));
    let tail: i32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for ((sum, &x), &y) in acc.iter_mut().zip(ca).zip(cb) {
            *sum += i32::from(x) * i32::from(y);
        }
    }
    acc.iter().sum::<i32>() + tail
}

/// Quantise `v` symmetrically to int8 codes in `out` (same length) and
/// return the scale: `v[i] ≈ scale * out[i]`. One scale per vector keeps
/// upserts independent of the rest of the collection.
pub(crate) fn quantize_i8(v: &[f32], out: &mut [i8]) -> f32 {
    debug_assert_eq!(v.len(), out.len());
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        out.fill(0);
        return 0.0;
    }
    let inv = 127.0 / max;
    for (code, x) in out.iter_mut().zip(v) {
        // In range by construction: |x * inv| <= 127.
        *code = (x * inv).round().clamp(-127.0, 127.0) as i8;
    }
    max / 127.0
}

/// Scale `v` to unit length in place; `false` (and `v` untouched) when its
/// norm is zero or not finite.
pub(crate) fn normalize(v: &mut [f32]) -> bool {
    let norm = dot(v, v).sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return false;
    }
    let inv = 1.0 / norm;
    for x in v.iter_mut() {
        *x *= inv;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn kernels_match_naive_sums_for_every_tail_length() {
        for len in [0usize, 1, 7, 15, 16, 17, 33, 100] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            assert!(
                (dot(&a, &b) - naive_dot(&a, &b)).abs() < 1e-4,
                "dot len {len}"
            );
            let naive_l2: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((squared_l2(&a, &b) - naive_l2).abs() < 1e-4, "l2 len {len}");
        }
    }

    #[test]
    fn int8_dot_is_exact_and_quantisation_is_close() {
        for len in [0usize, 1, 15, 16, 17, 100, 768] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let (mut qa, mut qb) = (vec![0i8; len], vec![0i8; len]);
            let (sa, sb) = (quantize_i8(&a, &mut qa), quantize_i8(&b, &mut qb));
            let exact: i32 = qa
                .iter()
                .zip(&qb)
                .map(|(&x, &y)| i32::from(x) * i32::from(y))
                .sum();
            assert_eq!(dot_i8(&qa, &qb), exact, "len {len}");
            let approx = sa * sb * exact as f32;
            let tolerance = 0.02 * (len as f32).sqrt().max(1.0);
            assert!((approx - naive_dot(&a, &b)).abs() < tolerance, "len {len}");
        }
        let extremes = [-128i8, 127, -128, -128];
        assert_eq!(dot_i8(&extremes, &extremes), 3 * 16384 + 16129);
        let mut zero = [5i8; 3];
        assert_eq!(quantize_i8(&[0.0; 3], &mut zero), 0.0);
        assert_eq!(zero, [0; 3]);
    }

    /// Deterministic pseudo-random values (splitmix64).
    fn random(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed;
        move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    fn lengths() -> Vec<usize> {
        let mut next = random(7);
        let mut lens: Vec<usize> = (0..40).map(|_| (next() % 200) as usize).collect();
        lens.extend([0, 1, 31, 32, 33, 63, 64, 65, 199, 384, 768, 769]);
        lens
    }

    /// Dot and squared L2 through the dispatcher.
    struct Pair<'a>(&'a [f32], &'a [f32]);

    impl Vectorizable for Pair<'_> {
        type Output = (f32, f32);

        #[inline(always)]
        fn run(self) -> (f32, f32) {
            (dot(self.0, self.1), squared_l2(self.0, self.1))
        }
    }

    #[test]
    fn dispatched_f32_kernels_match_portable_ones() {
        // Informational: which path this machine exercises.
        println!("simd accelerated: {}", simd::accelerated());
        let mut next = random(11);
        let mut value = move || (next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
        for len in lengths() {
            let a: Vec<f32> = (0..len).map(|_| value()).collect();
            let b: Vec<f32> = (0..len).map(|_| value()).collect();
            let (fast_dot, fast_l2) = vectorized(Pair(&a, &b));
            let (slow_dot, slow_l2) = Pair(&a, &b).run();
            let naive_l2: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            let tolerance = 1e-4 * (len as f32).max(1.0);
            assert!((fast_dot - slow_dot).abs() <= tolerance, "dot len {len}");
            assert!(
                (fast_dot - naive_dot(&a, &b)).abs() <= tolerance,
                "dot len {len}"
            );
            assert!((fast_l2 - slow_l2).abs() <= tolerance, "l2 len {len}");
            assert!((fast_l2 - naive_l2).abs() <= tolerance, "l2 len {len}");
        }
    }

    #[test]
    fn dispatched_int8_kernel_matches_portable_one_exactly() {
        let mut next = random(13);
        for len in lengths() {
            let a: Vec<i8> = (0..len).map(|_| next() as u8 as i8).collect();
            let b: Vec<i8> = (0..len).map(|_| next() as u8 as i8).collect();
            let exact: i32 = a
                .iter()
                .zip(&b)
                .map(|(&x, &y)| i32::from(x) * i32::from(y))
                .sum();
            assert_eq!(dot_i8_portable(&a, &b), exact, "portable len {len}");
            assert_eq!(dot_i8(&a, &b), exact, "dispatched len {len}");
        }
        // Worst case for the pairwise i16 multiply-adds: every code -128.
        for len in [32usize, 768, 4096] {
            let worst = vec![-128i8; len];
            assert_eq!(dot_i8(&worst, &worst), 16384 * len as i32, "len {len}");
            let mixed: Vec<i8> = (0..len)
                .map(|i| if i % 2 == 0 { -128 } else { 127 })
                .collect();
            assert_eq!(dot_i8(&worst, &mixed), dot_i8_portable(&worst, &mixed));
        }
    }

    #[test]
    fn multi_query_int8_kernel_matches_portable_and_naive_sums() {
        let mut next = random(17);
        for dims in lengths().into_iter().filter(|&d| d > 0) {
            let rows_n = (next() % 9) as usize; // 0..=8: odd and even counts
            let rows: Vec<i8> = (0..rows_n * dims).map(|_| next() as u8 as i8).collect();
            let queries: Vec<Vec<i8>> = (0..1 + next() % 4)
                .map(|_| (0..dims).map(|_| next() as u8 as i8).collect())
                .collect();
            let block = I8QueryBlock::new(dims, queries.iter().map(Vec::as_slice));
            let mut fast = vec![[i32::MIN; QUERY_BLOCK]; rows_n];
            let mut slow = vec![[i32::MAX; QUERY_BLOCK]; rows_n];
            dot_i8_rows(&rows, &block, &mut fast);
            dot_i8_rows_portable(&rows, &block, &mut slow);
            assert_eq!(fast, slow, "dims {dims} rows {rows_n}");
            for (r, (row, got)) in rows.chunks_exact(dims).zip(&fast).enumerate() {
                for (j, &got) in got.iter().enumerate() {
                    let want = queries.get(j).map_or(0, |q| {
                        q.iter()
                            .zip(row)
                            .map(|(&x, &y)| i32::from(x) * i32::from(y))
                            .sum()
                    });
                    assert_eq!(got, want, "dims {dims} row {r} q {j}");
                }
            }
        }
        // Extremes: every code -128 against -128 and 127, 3 rows.
        for dims in [16usize, 31, 768, 4097] {
            let rows = vec![-128i8; 3 * dims];
            let (low, high) = (vec![-128i8; dims], vec![127i8; dims]);
            let block = I8QueryBlock::new(dims, [low.as_slice(), high.as_slice()]);
            let mut fast = vec![[0; QUERY_BLOCK]; 3];
            let mut slow = vec![[1; QUERY_BLOCK]; 3];
            dot_i8_rows(&rows, &block, &mut fast);
            dot_i8_rows_portable(&rows, &block, &mut slow);
            assert_eq!(fast, slow);
            let d = dims as i32;
            assert!(fast.iter().all(|&s| s == [16384 * d, -16256 * d, 0, 0]));
        }
    }

    #[test]
    fn normalize_gives_unit_length_and_refuses_zero() {
        let mut v = vec![3.0, 4.0];
        assert!(normalize(&mut v));
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        let mut zero = vec![0.0; 5];
        assert!(!normalize(&mut zero));
        assert_eq!(zero, vec![0.0; 5]);
    }
}
