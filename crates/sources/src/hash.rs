//! Deterministic document ids: MurmurHash3 x64 128-bit of the raw record, base64url (no
//! padding, 22 characters). Stable across runs and platforms; no random seed.

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

fn fmix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// MurmurHash3_x64_128 with seed 0.
pub(crate) fn murmur3_128(data: &[u8]) -> [u8; 16] {
    let len = data.len();
    let (mut h1, mut h2) = (0u64, 0u64);
    let mut blocks = data.chunks_exact(16);
    for block in &mut blocks {
        let k1 = u64::from_le_bytes(block[..8].try_into().unwrap_or([0; 8]));
        let k2 = u64::from_le_bytes(block[8..].try_into().unwrap_or([0; 8]));
        h1 ^= k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    let (mut k1, mut k2) = (0u64, 0u64);
    for (i, &b) in tail.iter().enumerate() {
        if i < 8 {
            k1 |= (b as u64) << (8 * i);
        } else {
            k2 |= (b as u64) << (8 * (i - 8));
        }
    }
    if tail.len() > 8 {
        h2 ^= k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
    }
    if !tail.is_empty() {
        h1 ^= k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
    }
    h1 ^= len as u64;
    h2 ^= len as u64;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&h1.to_le_bytes());
    out[8..].copy_from_slice(&h2.to_le_bytes());
    out
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(B64URL[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// The `_id` of a record: its raw bytes hashed.
pub(crate) fn record_id(raw: &[u8]) -> String {
    base64url(&murmur3_128(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_reference_vectors() {
        // Reference values of MurmurHash3_x64_128 (seed 0), as printed by the C++ reference
        // implementation: h1 then h2 as little-endian bytes.
        assert_eq!(murmur3_128(b""), [0; 16]);
        let h = murmur3_128(b"hello");
        assert_eq!(u64::from_le_bytes(h[..8].try_into().unwrap()), 0xcbd8a7b341bd9b02);
        assert_eq!(u64::from_le_bytes(h[8..].try_into().unwrap()), 0x5b1e906a48ae1d19);
        let h = murmur3_128(b"The quick brown fox jumps over the lazy dog");
        assert_eq!(u64::from_le_bytes(h[..8].try_into().unwrap()), 0xe34bbc7bbc071b6c);
        assert_eq!(u64::from_le_bytes(h[8..].try_into().unwrap()), 0x7a433ca9c49a9347);
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(record_id(b"{\"a\":1}"), record_id(b"{\"a\":1}"));
        assert_ne!(record_id(b"{\"a\":1}"), record_id(b"{\"a\":2}"));
        assert_eq!(record_id(b"x").len(), 22);
        assert_eq!(base64url(b"\xfb\xff"), "-_8");
    }
}
