//! A whole filesystem in memory, for the operation tests: tree nodes come from the on-media
//! block bitmap, as in the kernel.

use ferrite_format::{AllocPolicy, Bitmap, Block, BlockIo, Layout, BLOCK_SIZE};
use std::collections::{BTreeSet, HashMap};

/// Blocks in a HashMap (unwritten blocks read as zeros); metadata allocation from the block
/// bitmap once `layout` is set. Records the distinct blocks written since `written` was last
/// cleared.
pub struct FsIo {
    pub blocks: HashMap<u64, Box<Block>>,
    pub count: u64,
    pub layout: Option<Layout>,
    pub written: BTreeSet<u64>,
}

impl FsIo {
    pub fn new(count: u64) -> FsIo {
        FsIo {
            blocks: HashMap::new(),
            count,
            layout: None,
            written: BTreeSet::new(),
        }
    }
}

impl BlockIo for FsIo {
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
        self.written.insert(blk);
        self.blocks.insert(blk, Box::new(*buf));
        Ok(())
    }

    fn alloc_meta_block(&mut self, hint: u64) -> Result<Option<u64>, String> {
        let l = self.layout.ok_or("no layout")?;
        let bm = Bitmap::blocks(&l);
        let mut buf = Box::new([0u8; BLOCK_SIZE]);
        let found = bm
            .find_run(&*self, hint, AllocPolicy::Small, 1, 1, &mut buf)
            .map_err(|e| format!("{e:?}"))?;
        let Some((b, _)) = found else {
            return Ok(None);
        };
        let changed = bm
            .set_range(self, b, 1, true, &mut buf)
            .map_err(|e| format!("{e:?}"))?;
        if !l.in_data_area(b) || changed != 1 {
            return Err(format!("metadata allocation of bad block {b}"));
        }
        Ok(Some(b))
    }

    fn free_meta_block(&mut self, blk: u64) -> Result<(), String> {
        let l = self.layout.ok_or("no layout")?;
        let mut buf = Box::new([0u8; BLOCK_SIZE]);
        let changed = Bitmap::blocks(&l)
            .set_range(self, blk, 1, false, &mut buf)
            .map_err(|e| format!("{e:?}"))?;
        if !l.in_data_area(blk) || changed != 1 {
            return Err(format!("free of unallocated metadata block {blk}"));
        }
        Ok(())
    }
}
