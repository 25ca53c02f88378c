//! Deterministic randomness helpers over ChaCha8 (names, uids, exponential gaps).

use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;

/// The generator's random source.
pub type Rand = ChaCha8Rng;

const NAME_CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A Kubernetes-style random suffix (`x2k4q`).
pub fn suffix(r: &mut Rand, n: usize) -> String {
    (0..n)
        .map(|_| NAME_CHARS[r.random_range(0..NAME_CHARS.len())] as char)
        .collect()
}

/// A ReplicaSet pod-template hash (`7d9f8b6c5d`).
pub fn rs_hash(r: &mut Rand) -> String {
    const H: &[u8] = b"0123456789bcdf";
    (0..10).map(|_| H[r.random_range(0..H.len())] as char).collect()
}

/// 16 random bytes for an audit id.
pub fn id16(r: &mut Rand) -> [u8; 16] {
    let mut b = [0u8; 16];
    r.fill_bytes(&mut b);
    b
}

/// A random v4 UUID string.
pub fn uuid(r: &mut Rand) -> String {
    crate::audit::uuid_string(&id16(r))
}

/// An exponential gap with the given mean, in nanoseconds (at least 1).
pub fn exp_gap_ns(r: &mut Rand, mean_ns: f64) -> i64 {
    let u: f64 = r.random::<f64>();
    let g = -(1.0 - u).ln() * mean_ns;
    (g as i64).max(1)
}

/// Uniform integer in `[lo, hi)` (or `lo` when empty).
pub fn range(r: &mut Rand, lo: u64, hi: u64) -> u64 {
    if hi <= lo { lo } else { r.random_range(lo..hi) }
}
