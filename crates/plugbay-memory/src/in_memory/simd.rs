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
//! kernel's loads stay inside its slices (checked by `chunks_exact`).
#![allow(unsafe_code)]

use super::Vectorizable;

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
        __m256i, _mm_add_epi32, _mm_cvtsi128_si32, _mm_loadu_si128, _mm_shuffle_epi32,
        _mm256_add_epi32, _mm256_castsi256_si128, _mm256_cvtepi8_epi16, _mm256_extracti128_si256,
        _mm256_madd_epi16, _mm256_setzero_si256,
    };
    use std::sync::OnceLock;

    use super::super::Vectorizable;

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
}
