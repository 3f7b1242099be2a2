// SPDX-License-Identifier: GPL-2.0

//! Block access: the one interface between the format code and the storage.

use super::BLOCK_SIZE;

/// One 4 KiB block.
pub type Block = [u8; BLOCK_SIZE];

/// Block access for the format code.
///
/// The kernel implements it over pmem, capturing every [`write`](BlockIo::write) into the current
/// journal transaction; the tools implement it over an image file or a block device. Tree
/// operations read and write whole blocks through it and never keep references into the media.
pub trait BlockIo {
    /// The implementation's error (an errno in the kernel, `std::io::Error` in the tools).
    type Error;

    /// Number of blocks of the filesystem; block numbers read from the media are checked against
    /// it before use.
    fn block_count(&self) -> u64;

    /// Reads block `blk` into `buf`.
    fn read(&self, blk: u64, buf: &mut Block) -> Result<(), Self::Error>;

    /// Writes `buf` to block `blk`.
    fn write(&mut self, blk: u64, buf: &Block) -> Result<(), Self::Error>;

    /// Reads `out.len()` bytes at byte `off` of block `blk` (`off + out.len()` at most a block).
    /// The default reads the whole block into `buf`; an implementation that can read bytes in
    /// place (pmem) overrides it.
    fn read_part(
        &self,
        blk: u64,
        off: usize,
        out: &mut [u8],
        buf: &mut Block,
    ) -> Result<(), Self::Error> {
        self.read(blk, buf)?;
        if let Some(src) = buf.get(off..off.saturating_add(out.len())) {
            super::bytes::copy_bytes(out, src);
        }
        Ok(())
    }

    /// Writes `data` at byte `off` of block `blk` (`off + data.len()` at most a block). The
    /// default reads the block into `buf`, patches it and writes it back; an implementation that
    /// can store bytes in place (pmem) overrides it.
    fn write_part(
        &mut self,
        blk: u64,
        off: usize,
        data: &[u8],
        buf: &mut Block,
    ) -> Result<(), Self::Error> {
        if data.len() < BLOCK_SIZE {
            self.read(blk, buf)?;
        }
        if let Some(dst) = buf.get_mut(off..off.saturating_add(data.len())) {
            super::bytes::copy_bytes(dst, data);
        }
        self.write(blk, buf)
    }

    /// Allocates a block for metadata (tree nodes), near `hint` if possible. `Ok(None)` means no
    /// space. The block's contents are undefined: the caller writes all of it.
    fn alloc_meta_block(&mut self, hint: u64) -> Result<Option<u64>, Self::Error>;

    /// Frees a metadata block allocated by [`alloc_meta_block`](BlockIo::alloc_meta_block).
    fn free_meta_block(&mut self, blk: u64) -> Result<(), Self::Error>;
}

/// Two caller-provided 4 KiB buffers, the working memory of the tree and journal operations.
///
/// No operation of the format code puts a block on its own stack: the kernel allocates a
/// `Scratch` (8 KiB) on the heap, or per CPU, and passes it in.
pub struct Scratch {
    /// First buffer.
    pub a: Block,
    /// Second buffer.
    pub b: Block,
}

impl Scratch {
    /// Two zeroed buffers.
    pub const fn new() -> Self {
        Scratch {
            a: [0; BLOCK_SIZE],
            b: [0; BLOCK_SIZE],
        }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}
