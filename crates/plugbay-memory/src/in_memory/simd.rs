//! Runtime CPU-feature dispatch for the scan kernels.
//!
//! The crate is built for the baseline target (SSE2 on x86-64), where the
//! scans are compute-bound; AVX2 doubles the vector width and has an
//! 8-lane int8 multiply-add. Which code runs is decided once per process
//! with `is_x86_feature_detected!` and cached, so one binary runs
//! everywhere and uses AVX2 where the CPU has it.
//!
//! This is the only module allowed `unsafe` (see DESIGN.md): calling a
//! `#[target_feature]` function is unsafe because running AVX2
//! instructions on a CPU without them is undefined behaviour. Every such
//! call below is guarded by the cached detection result, and the int8
//! kernels' loads stay inside their slices (see the SAFETY comments).
#![allow(unsafe_code)]

use super::{I8QueryBlock, QUERY_BLOCK, Vectorizable};

/// Run `work` with AVX2 + FMA code generation when the CPU supports it:
/// the kernels are `#[inline(always)]`, so they are compiled into the
/// `#[target_feature]` function below and vectorised 8 lanes wide.
#[inline]
pub(super) fn run<W: Vectorizable>(work: W) -> W::Output {
    #[cfg(target_arch = "x86_64")]
    if x86::avx2_fma() {
        // SAFETY: `avx2_fma()` confirmed at runtime that this CPU supports
        // every feature `run_avx2_fma` is compiled with.
        return unsafe { x86::run_avx2_fma(work) };
    }
    work.run()
}

/// Exact int8 dot product: the AVX2 kernel when available, else `portable`.
#[inline(always)]
pub(super) fn dot_i8(a: &[i8], b: &[i8], portable: fn(&[i8], &[i8]) -> i32) -> i32 {
    #[cfg(target_arch = "x86_64")]
    if x86::avx2_fma() {
        // SAFETY: AVX2 support was detected at runtime.
        return unsafe { x86::dot_i8_avx2(a, b) };
    }
    portable(a, b)
}

/// Int8 rows against a block of queries (see
/// [`dot_i8_rows`](super::dot_i8_rows)): the AVX2 kernel when available,
/// else `portable`.
#[inline(always)]
pub(super) fn dot_i8_rows(
    rows: &[i8],
    block: &I8QueryBlock,
    out: &mut [[i32; QUERY_BLOCK]],
    portable: fn(&[i8], &I8QueryBlock, &mut [[i32; QUERY_BLOCK]]),
) {
    #[cfg(target_arch = "x86_64")]
    if x86::avx2_fma() {
        // SAFETY: AVX2 support was detected at runtime.
        unsafe { x86::dot_i8_rows_avx2(rows, block, out) };
        return;
    }
    portable(rows, block, out)
}

/// Ask the CPU to start loading every cache line of `data` (no effect on
/// results; a no-op off x86-64).
#[inline(always)]
pub(super) fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let bytes = std::mem::size_of_val(data);
        let start = data.as_ptr().cast::<i8>();
        for offset in (0..bytes).step_by(64) {
            // SAFETY: `offset < bytes`, so the address is inside `data`;
            // a prefetch (SSE, part of the x86-64 baseline) never faults
            // and does not read memory architecturally.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// Whether the AVX2 + FMA paths are taken on this machine.
#[cfg(test)]
pub(super) fn accelerated() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        x86::avx2_fma()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{
        __m128i, __m256i, _mm_add_epi32, _mm_cvtsi128_si32, _mm_loadu_si128, _mm_shuffle_epi32,
        _mm_storeu_si128, _mm256_add_epi32, _mm256_castsi256_si128, _mm256_cvtepi8_epi16,
        _mm256_extracti128_si256, _mm256_hadd_epi32, _mm256_loadu_si256, _mm256_madd_epi16,
        _mm256_setzero_si256,
    };
    use std::sync::OnceLock;

    use super::super::{I8QueryBlock, QUERY_BLOCK, Vectorizable};

    /// Detected once; a relaxed load of an initialised `OnceLock` after that.
    pub(super) fn avx2_fma() -> bool {
        static DETECTED: OnceLock<bool> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        })
    }

    /// `work.run()` compiled with AVX2 and FMA enabled.
    #[target_feature(enable = "avx2,fma")]
    pub(super) fn run_avx2_fma<W: Vectorizable>(work: W) -> W::Output {
        work.run()
    }

    /// Sign-extend 16 codes of each side to `i16` and multiply-add pairs
    /// into 8 `i32` lanes (`vpmaddwd`): exact, since a pair of products
    /// is at most 2·128² = 2¹⁵, so an `i32` lane (one pair per 32 codes)
    /// cannot overflow below 2²¹ dimensions.
    #[target_feature(enable = "avx2")]
    pub(super) fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
        debug_assert_eq!(a.len(), b.len());
        let len = a.len().min(b.len());
        let (a, b) = (&a[..len], &b[..len]);
        let mut acc0: __m256i = _mm256_setzero_si256();
        let mut acc1: __m256i = _mm256_setzero_si256();
        let (ca, cb) = (a.chunks_exact(32), b.chunks_exact(32));
        let tail: i32 = ca
            .remainder()
            .iter()
            .zip(cb.remainder())
            .map(|(&x, &y)| i32::from(x) * i32::from(y))
            .sum();
        for (x, y) in ca.zip(cb) {
            // SAFETY: each chunk is exactly 32 bytes, so both 16-byte
            // unaligned loads at offsets 0 and 16 stay inside it.
            let (x0, x1, y0, y1) = unsafe {
                (
                    _mm_loadu_si128(x.as_ptr().cast()),
                    _mm_loadu_si128(x.as_ptr().add(16).cast()),
                    _mm_loadu_si128(y.as_ptr().cast()),
                    _mm_loadu_si128(y.as_ptr().add(16).cast()),
                )
            };
            let p0 = _mm256_madd_epi16(_mm256_cvtepi8_epi16(x0), _mm256_cvtepi8_epi16(y0));
            let p1 = _mm256_madd_epi16(_mm256_cvtepi8_epi16(x1), _mm256_cvtepi8_epi16(y1));
            acc0 = _mm256_add_epi32(acc0, p0);
            acc1 = _mm256_add_epi32(acc1, p1);
        }
        let acc = _mm256_add_epi32(acc0, acc1);
        let half = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256::<1>(acc),
        );
        let quad = _mm_add_epi32(half, _mm_shuffle_epi32::<0b01_00_11_10>(half));
        let pair = _mm_add_epi32(quad, _mm_shuffle_epi32::<0b10_11_00_01>(quad));
        _mm_cvtsi128_si32(pair) + tail
    }

    /// The four queries of a block as slices of exactly `dims` values.
    fn query_slices(block: &I8QueryBlock) -> [&[i16]; QUERY_BLOCK] {
        let dims = block.dims();
        let mut queries: [&[i16]; QUERY_BLOCK] = [&[]; QUERY_BLOCK];
        for (slot, q) in queries
            .iter_mut()
            .zip(block.wide().chunks_exact(dims.max(1)))
        {
            *slot = q;
        }
        queries
    }

    /// `R` rows (R = 1 or 2) against the four queries of a block: each
    /// row's 16 codes are loaded and sign-extended once and multiplied
    /// with all four queries (`vpmaddwd`, exact as in [`dot_i8_avx2`]),
    /// into 4·R independent accumulators (at most 8, plus 4 query and 2
    /// row registers: within the 16 AVX2 registers, so nothing spills).
    /// Writes `out[r][j]`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn rows_block<const R: usize>(
        rows: [&[i8]; R],
        queries: &[&[i16]; QUERY_BLOCK],
        dims: usize,
        out: &mut [[i32; QUERY_BLOCK]],
    ) {
        let body = dims - dims % 16;
        let ok = rows.iter().all(|r| r.len() >= dims) && queries.iter().all(|q| q.len() >= dims);
        if !ok {
            // Unreachable from the callers, which build every slice with
            // exactly these lengths; refuse rather than read out of bounds.
            out.fill([0; QUERY_BLOCK]);
            return;
        }
        let mut acc = [[_mm256_setzero_si256(); QUERY_BLOCK]; R];
        let mut d = 0;
        while d < body {
            // SAFETY: d + 16 <= body <= dims, and every row holds at least
            // `dims` codes and every query at least `dims` values (checked
            // above), so the 16-byte row loads and the 32-byte (16 × i16)
            // query loads at offset d stay inside their slices.
            unsafe {
                let mut wide = [_mm256_setzero_si256(); R];
                for (w, row) in wide.iter_mut().zip(&rows) {
                    *w = _mm256_cvtepi8_epi16(_mm_loadu_si128(row.as_ptr().add(d).cast()));
                }
                for (j, q) in queries.iter().enumerate() {
                    let q = _mm256_loadu_si256(q.as_ptr().add(d).cast());
                    for (acc_row, w) in acc.iter_mut().zip(&wide) {
                        acc_row[j] = _mm256_add_epi32(acc_row[j], _mm256_madd_epi16(*w, q));
                    }
                }
            }
            d += 16;
        }
        for (acc_row, (row, slot)) in acc.iter().zip(rows.iter().zip(out.iter_mut())) {
            let mut sums = [0i32; QUERY_BLOCK];
            // SAFETY: `sums` holds exactly four i32 (16 bytes).
            unsafe { _mm_storeu_si128(sums.as_mut_ptr().cast(), hsum4(acc_row)) };
            for (sum, q) in sums.iter_mut().zip(queries) {
                *sum += row[body..dims]
                    .iter()
                    .zip(&q[body..dims])
                    .map(|(&x, &y)| i32::from(x) * i32::from(y))
                    .sum::<i32>();
            }
            *slot = sums;
        }
    }

    /// The lane sums of four accumulators, as one vector `[Σa, Σb, Σc, Σd]`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn hsum4(acc: &[__m256i; QUERY_BLOCK]) -> __m128i {
        let ab = _mm256_hadd_epi32(acc[0], acc[1]);
        let cd = _mm256_hadd_epi32(acc[2], acc[3]);
        let abcd = _mm256_hadd_epi32(ab, cd);
        _mm_add_epi32(
            _mm256_castsi256_si128(abcd),
            _mm256_extracti128_si256::<1>(abcd),
        )
    }

    /// Every row of `rows` against the block's queries, two rows at a
    /// time (see [`rows_block`]).
    #[target_feature(enable = "avx2")]
    pub(super) fn dot_i8_rows_avx2(
        rows: &[i8],
        block: &I8QueryBlock,
        out: &mut [[i32; QUERY_BLOCK]],
    ) {
        let dims = block.dims();
        if dims == 0 {
            out.fill([0; QUERY_BLOCK]);
            return;
        }
        let queries = query_slices(block);
        let pairs = rows.chunks_exact(2 * dims);
        let single = pairs.remainder();
        let mut outs = out.chunks_exact_mut(2);
        for (pair, o) in pairs.zip(&mut outs) {
            let (r0, r1) = pair.split_at(dims);
            rows_block([r0, r1], &queries, dims, o);
        }
        if single.len() == dims {
            rows_block([single], &queries, dims, outs.into_remainder());
        }
    }
}
