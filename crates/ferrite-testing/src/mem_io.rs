//! A block device in memory for the format tests.

use ferrite_format::{Block, BlockIo, BLOCK_SIZE};
use std::collections::{BTreeSet, HashMap};

/// Blocks in a HashMap; metadata allocation from a simple free set.
pub struct MemIo {
    pub blocks: HashMap<u64, Box<Block>>,
    pub count: u64,
    pub next_meta: u64,
    pub freed: Vec<u64>,
    pub live_meta: BTreeSet<u64>,
    pub meta_limit: Option<u64>,
    pub writes: u64,
    /// Panic on double allocation or bad free (off for garbage-input tests).
    pub strict: bool,
}

impl MemIo {
    pub fn new(count: u64) -> MemIo {
        MemIo {
            blocks: HashMap::new(),
            count,
            next_meta: count / 2,
            freed: Vec::new(),
            live_meta: BTreeSet::new(),
            meta_limit: None,
            writes: 0,
            strict: true,
        }
    }
}

impl BlockIo for MemIo {
    type Error = String;
    fn block_count(&self) -> u64 {
        self.count
    }
    fn read(&self, blk: u64, buf: &mut Block) -> Result<(), String> {
        if blk >= self.count {
            return Err(format!("read past end: {blk}"));
        }
        match self.blocks.get(&blk) {
            Some(b) => buf.copy_from_slice(&b[..]),
            None => buf.fill(0),
        }
        Ok(())
    }
    fn write(&mut self, blk: u64, buf: &Block) -> Result<(), String> {
        if blk >= self.count {
            return Err(format!("write past end: {blk}"));
        }
        self.writes += 1;
        self.blocks.insert(blk, Box::new(*buf));
        Ok(())
    }
    fn alloc_meta_block(&mut self, _hint: u64) -> Result<Option<u64>, String> {
        if let Some(l) = self.meta_limit {
            if self.live_meta.len() as u64 >= l {
                return Ok(None);
            }
        }
        let b = match self.freed.pop() {
            Some(b) => b,
            None => {
                if self.next_meta >= self.count {
                    return Ok(None);
                }
                self.next_meta += 1;
                self.next_meta - 1
            }
        };
        assert!(
            self.live_meta.insert(b) || !self.strict,
            "double allocation of {b}"
        );
        Ok(Some(b))
    }
    fn free_meta_block(&mut self, blk: u64) -> Result<(), String> {
        assert!(
            self.live_meta.remove(&blk) || !self.strict,
            "free of unallocated {blk}"
        );
        self.freed.push(blk);
        Ok(())
    }
}

pub const BS: usize = BLOCK_SIZE;

/// A small deterministic PRNG (xorshift64*).
pub struct Rng(pub u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}
