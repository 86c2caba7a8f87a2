//! Distance kernels for the exact scan.
//!
//! Written as fixed-width chunks with independent accumulators so LLVM
//! turns them into SIMD code without `unsafe` or intrinsics: a single
//! running sum would serialise every addition on the previous one (float
//! addition is not associative, so the compiler may not reorder it).

/// Width of the unrolled chunk: two AVX registers or four SSE/NEON ones.
const LANES: usize = 16;

/// Dot product of two equally long slices.
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
    fn normalize_gives_unit_length_and_refuses_zero() {
        let mut v = vec![3.0, 4.0];
        assert!(normalize(&mut v));
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        let mut zero = vec![0.0; 5];
        assert!(!normalize(&mut zero));
        assert_eq!(zero, vec![0.0; 5]);
    }
}
