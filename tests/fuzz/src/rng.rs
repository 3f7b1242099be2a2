// SPDX-License-Identifier: GPL-2.0

//! A small deterministic random number generator (SplitMix64): a case number is its seed, so a
//! case is the same mutation on every machine and every build.

/// SplitMix64.
pub struct Rng(u64);

impl Rng {
    /// The generator of case `case` of a stream `stream` (the mutator and the fuzz target use
    /// different streams).
    pub fn new(stream: u64, case: u64) -> Rng {
        let mut r = Rng(stream ^ case.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        r.bits();
        r
    }

    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.bits() % n
        }
    }

    /// An index into a collection of `n` elements (0 when `n` is 0).
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// One element of `v`, or `None` when it is empty.
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        if v.is_empty() {
            None
        } else {
            v.get(self.index(v.len()))
        }
    }
}
