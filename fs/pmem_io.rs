// SPDX-License-Identifier: GPL-2.0

//! Block access to the device's pmem for the format code, at mount time.

use super::format::{Block, BlockIo, BLOCK_SIZE};
use crate::pmem::Pmem;
use kernel::prelude::*;

/// Reads and non-temporal writes of whole blocks, for journal replay and mount-time reads.
///
/// Writes are durable only after [`crate::pmem::fence`]; the caller fences once after replay.
/// Replay never allocates, so allocation is refused.
pub(crate) struct MountIo<'a> {
    pmem: &'a Pmem,
    blocks: u64,
    /// Writes are allowed; otherwise every write fails with `EROFS` (a read-only device, or a
    /// mount without recovery).
    writable: bool,
}

impl<'a> MountIo<'a> {
    /// Block access to the first `blocks` blocks of `pmem`.
    pub(crate) fn new(pmem: &'a Pmem, blocks: u64) -> Self {
        Self::with_writes(pmem, blocks, true)
    }

    /// As [`new`](Self::new), but refusing every write (`EROFS`) unless `writable`.
    pub(crate) fn with_writes(pmem: &'a Pmem, blocks: u64, writable: bool) -> Self {
        Self {
            pmem,
            blocks,
            writable,
        }
    }

    fn writable(&self) -> Result {
        if !self.writable {
            return Err(EROFS);
        }
        Ok(())
    }

    fn offset(&self, blk: u64) -> Result<u64> {
        if blk >= self.blocks {
            return Err(ERANGE);
        }
        blk.checked_mul(BLOCK_SIZE as u64).ok_or(ERANGE)
    }
}

impl BlockIo for MountIo<'_> {
    type Error = Error;

    fn block_count(&self) -> u64 {
        self.blocks
    }

    fn read(&self, blk: u64, buf: &mut Block) -> Result {
        self.pmem.read(self.offset(blk)?, buf)
    }

    fn write(&mut self, blk: u64, buf: &Block) -> Result {
        self.writable()?;
        self.pmem.write_nt(self.offset(blk)?, buf)
    }

    fn write_part(&mut self, blk: u64, off: usize, data: &[u8], _buf: &mut Block) -> Result {
        self.writable()?;
        if off.saturating_add(data.len()) > BLOCK_SIZE {
            return Err(ERANGE);
        }
        self.pmem
            .write_nt(self.offset(blk)?.saturating_add(off as u64), data)
    }

    fn alloc_meta_block(&mut self, _hint: u64) -> Result<Option<u64>> {
        Err(EINVAL)
    }

    fn free_meta_block(&mut self, _blk: u64) -> Result {
        Err(EINVAL)
    }
}
