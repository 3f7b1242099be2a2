// SPDX-License-Identifier: GPL-2.0

//! Hashes and the random numbers of the explorer. None is cryptographic: they name states and
//! snapshots (a collision would merge two states, with a probability of about 2^-64 per pair)
//! and pick reproducible random subsets.

/// The splitmix64 finaliser: a bijective mix of 64 bits.
pub fn mix64(mut z: u64) -> u64 {
    z ^= z >> 30;
    z = z.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z ^= z >> 27;
    z = z.wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The hash of the 8-byte unit at byte offset `off` holding `val`. The identity of an image is
/// the XOR of the hashes of all its units; it changes by `unit_hash(off, old) ^ unit_hash(off,
/// new)` when one unit changes, so states are named incrementally. Images are only ever compared
/// with images that started from the same bytes, so the XOR is kept relative to that start.
pub fn unit_hash(off: u64, val: u64) -> u64 {
    mix64(mix64(off ^ 0x9e37_79b9_7f4a_7c15) ^ val)
}

/// A streaming 64-bit digest of words and byte strings (snapshots, file contents).
#[derive(Clone, Debug)]
pub struct Digest {
    a: u64,
    b: u64,
}

impl Default for Digest {
    fn default() -> Self {
        Self::new()
    }
}

impl Digest {
    /// An empty digest.
    pub fn new() -> Digest {
        Digest {
            a: 0x243f_6a88_85a3_08d3,
            b: 0x1319_8a2e_0370_7344,
        }
    }

    /// Adds one word.
    pub fn u64(&mut self, w: u64) {
        self.a = mix64(self.a ^ w);
        self.b = self.b.rotate_left(23).wrapping_add(self.a) ^ w;
    }

    /// Adds a byte string, its length first (so that concatenations differ).
    pub fn bytes(&mut self, s: &[u8]) {
        self.u64(s.len() as u64);
        let mut chunks = s.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.u64(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.u64(u64::from_le_bytes(w));
        }
    }

    /// The digest of everything added.
    pub fn finish(&self) -> u64 {
        mix64(self.a ^ mix64(self.b))
    }
}

/// A seeded pseudo-random sequence (splitmix64): the same seed gives the same subsets.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A sequence from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }

    /// A fair coin.
    pub fn coin(&mut self) -> bool {
        self.next_u64() >> 63 == 1
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}
