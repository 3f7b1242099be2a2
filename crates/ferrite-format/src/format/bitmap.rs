// SPDX-License-Identifier: GPL-2.0

//! Allocation bitmaps (inodes and blocks) and the free-run search.
//!
//! A bitmap block holds [`BITS_PER_BITMAP_BLOCK`] bits (4032 bytes, bit `i` is bit `i % 8` of byte
//! `i / 8`; 1 = in use) and a 64-byte trailer with magic, kind, index and crc. 32256 is a multiple
//! of 512, so an aligned 2 MiB run never straddles two bitmap blocks.
//!
//! Allocation policy (see docs/FORMAT.md): [`AllocPolicy::Huge`] finds a free 512-block run that
//! starts on a 512-block boundary (a PMD-mappable 2 MiB extent). [`AllocPolicy::Small`] is first
//! fit, but first only inside "partial" 2 MiB chunks (chunks with at least one block in use), so
//! small files do not break up free aligned 2 MiB runs while other free space exists; only when no
//! partial chunk has room does it take the start of a free chunk.

use super::bytes::{get_u32, get_u64};
use super::{block_crc_ok, block_seal, Block, BlockIo, Corrupt, Error, HUGE_BLOCKS};

/// Bytes of bits in a bitmap block.
pub const BITMAP_BYTES: usize = 4032;
/// Bits in a bitmap block (63 × 512).
pub const BITS_PER_BITMAP_BLOCK: u64 = (BITMAP_BYTES * 8) as u64;

const BITMAP_MAGIC: u32 = u32::from_le_bytes(*b"FBMP");
const O_MAGIC: usize = BITMAP_BYTES;
const O_KIND: usize = BITMAP_BYTES + 4;
const O_INDEX: usize = BITMAP_BYTES + 8;

/// Which bitmap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitmapKind {
    /// The inode allocation bitmap (bit = inode number).
    Inode,
    /// The block allocation bitmap (bit = block number).
    Block,
}

impl BitmapKind {
    fn code(self) -> u32 {
        match self {
            BitmapKind::Inode => 1,
            BitmapKind::Block => 2,
        }
    }
}

/// Initializes `buf` as bitmap block number `index` of `kind`, all bits clear, unsealed.
#[cfg(feature = "mkfs")]
pub fn bitmap_block_init(buf: &mut Block, kind: BitmapKind, index: u64) {
    use super::bytes::{put_u32, put_u64};
    buf.fill(0);
    put_u32(buf, O_MAGIC, BITMAP_MAGIC);
    put_u32(buf, O_KIND, kind.code());
    put_u64(buf, O_INDEX, index);
}

/// Checks a bitmap block read from block `blk`, expected to be block `index` of `kind`.
pub fn bitmap_block_check(
    buf: &Block,
    blk: u64,
    kind: BitmapKind,
    index: u64,
) -> Result<(), Corrupt> {
    if get_u32(buf, O_MAGIC) != BITMAP_MAGIC
        || get_u32(buf, O_KIND) != kind.code()
        || get_u64(buf, O_INDEX) != index
    {
        return Err(Corrupt::BadBitmapHeader(blk));
    }
    if !block_crc_ok(buf) {
        return Err(Corrupt::BadBitmapCrc(blk));
    }
    Ok(())
}

/// Stores the crc of a bitmap block.
pub fn bitmap_seal(buf: &mut Block) {
    block_seal(buf);
}

/// Bit `bit` (below [`BITS_PER_BITMAP_BLOCK`]) of a bitmap block; out of range reads as set.
pub fn bitmap_get(buf: &Block, bit: u64) -> bool {
    let Ok(i) = usize::try_from(bit / 8) else {
        return true;
    };
    if i >= BITMAP_BYTES {
        return true;
    }
    buf.get(i).map_or(true, |b| b & (1 << (bit % 8)) != 0)
}

/// Sets or clears bit `bit` of a bitmap block; returns whether it changed.
pub fn bitmap_set(buf: &mut Block, bit: u64, value: bool) -> bool {
    let Ok(i) = usize::try_from(bit / 8) else {
        return false;
    };
    if i >= BITMAP_BYTES {
        return false;
    }
    let Some(b) = buf.get_mut(i) else {
        return false;
    };
    let m = 1u8 << (bit % 8);
    let old = *b & m != 0;
    if value {
        *b |= m;
    } else {
        *b &= !m;
    }
    old != value
}

/// How to search for free blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocPolicy {
    /// A whole free 2 MiB chunk, 512-block aligned.
    Huge,
    /// First fit from the goal, inside partially used 2 MiB chunks first; the run stays inside
    /// one 2 MiB chunk.
    Small,
}

/// A bitmap on the media: `blocks` bitmap blocks from `start`, covering `nbits` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bitmap {
    /// First bitmap block.
    pub start: u64,
    /// Bitmap blocks.
    pub blocks: u64,
    /// Bits covered (inode count or block count).
    pub nbits: u64,
    /// Which bitmap.
    pub kind: BitmapKind,
}

impl Bitmap {
    /// The inode bitmap of a layout.
    pub fn inodes(l: &super::Layout) -> Bitmap {
        Bitmap {
            start: l.inode_bitmap_start,
            blocks: l.inode_bitmap_blocks,
            nbits: l.inode_count,
            kind: BitmapKind::Inode,
        }
    }

    /// The block bitmap of a layout.
    pub fn blocks(l: &super::Layout) -> Bitmap {
        Bitmap {
            start: l.block_bitmap_start,
            blocks: l.block_bitmap_blocks,
            nbits: l.block_count,
            kind: BitmapKind::Block,
        }
    }

    /// Reads and checks bitmap block `index` into `buf`; returns its block number.
    pub fn load<I: BlockIo>(
        &self,
        io: &I,
        index: u64,
        buf: &mut Block,
    ) -> Result<u64, Error<I::Error>> {
        if index >= self.blocks {
            return Err(Error::Invalid);
        }
        let blk = self.start.checked_add(index).ok_or(Error::Invalid)?;
        io.read(blk, buf).map_err(Error::Io)?;
        bitmap_block_check(buf, blk, self.kind, index)?;
        Ok(blk)
    }

    /// Whether bit `n` is set.
    pub fn get<I: BlockIo>(
        &self,
        io: &I,
        n: u64,
        buf: &mut Block,
    ) -> Result<bool, Error<I::Error>> {
        if n >= self.nbits {
            return Err(Error::Invalid);
        }
        self.load(io, n / BITS_PER_BITMAP_BLOCK, buf)?;
        Ok(bitmap_get(buf, n % BITS_PER_BITMAP_BLOCK))
    }

    /// Sets (`value` true) or clears bits `first..first+len`, writing every bitmap block it
    /// touches. Returns how many bits changed: less than `len` means some were already so (a
    /// double allocation or double free, which the caller may treat as corruption).
    pub fn set_range<I: BlockIo>(
        &self,
        io: &mut I,
        first: u64,
        len: u64,
        value: bool,
        buf: &mut Block,
    ) -> Result<u64, Error<I::Error>> {
        let end = first.checked_add(len).ok_or(Error::Invalid)?;
        if end > self.nbits {
            return Err(Error::Invalid);
        }
        let mut changed = 0u64;
        let mut n = first;
        while n < end {
            let index = n / BITS_PER_BITMAP_BLOCK;
            let blk = self.load(io, index, buf)?;
            let block_end = index
                .saturating_add(1)
                .saturating_mul(BITS_PER_BITMAP_BLOCK)
                .min(end);
            while n < block_end {
                if bitmap_set(buf, n % BITS_PER_BITMAP_BLOCK, value) {
                    changed = changed.saturating_add(1);
                }
                n = n.saturating_add(1);
            }
            bitmap_seal(buf);
            io.write(blk, buf).map_err(Error::Io)?;
        }
        Ok(changed)
    }

    /// Counts the clear bits below `nbits`.
    pub fn count_free<I: BlockIo>(&self, io: &I, buf: &mut Block) -> Result<u64, Error<I::Error>> {
        let mut free = 0u64;
        for index in 0..self.blocks {
            self.load(io, index, buf)?;
            let base = index.saturating_mul(BITS_PER_BITMAP_BLOCK);
            let here = self.nbits.saturating_sub(base).min(BITS_PER_BITMAP_BLOCK);
            let full_bytes = (here / 8) as usize;
            for b in buf.iter().take(full_bytes) {
                free = free.saturating_add(u64::from(b.count_zeros()));
            }
            for bit in (full_bytes as u64).saturating_mul(8)..here {
                if !bitmap_get(buf, bit) {
                    free = free.saturating_add(1);
                }
            }
        }
        Ok(free)
    }

    /// The first clear bit at or after `goal` (wrapping around), for inode allocation.
    pub fn find_zero<I: BlockIo>(
        &self,
        io: &I,
        goal: u64,
        buf: &mut Block,
    ) -> Result<Option<u64>, Error<I::Error>> {
        let goal = if goal >= self.nbits { 0 } else { goal };
        let gi = goal / BITS_PER_BITMAP_BLOCK;
        // Visit the goal's block from the goal, the others whole, then the goal's block again.
        for step in 0..=self.blocks {
            let index = gi
                .saturating_add(step)
                .checked_rem(self.blocks)
                .unwrap_or(0);
            self.load(io, index, buf)?;
            let base = index.saturating_mul(BITS_PER_BITMAP_BLOCK);
            let here = self.nbits.saturating_sub(base).min(BITS_PER_BITMAP_BLOCK);
            let from = if step == 0 {
                goal % BITS_PER_BITMAP_BLOCK
            } else {
                0
            };
            let mut bit = from;
            while bit < here {
                let byte = buf.get((bit / 8) as usize).copied().unwrap_or(0xff);
                if byte == 0xff && bit % 8 == 0 {
                    bit = bit.saturating_add(8);
                    continue;
                }
                if !bitmap_get(buf, bit) {
                    return Ok(Some(base.saturating_add(bit)));
                }
                bit = bit.saturating_add(1);
            }
        }
        Ok(None)
    }

    /// Searches the block bitmap for a free run by `policy`, starting at the 2 MiB chunk of
    /// `goal` and wrapping around. `Huge` returns `(start, 512)` with `start % 512 == 0`;
    /// `Small` returns a run of at least `min` and at most `max` blocks (`max` ≤ 512) inside one
    /// chunk. `None`: no such run.
    pub fn find_run<I: BlockIo>(
        &self,
        io: &I,
        goal: u64,
        policy: AllocPolicy,
        min: u64,
        max: u64,
        buf: &mut Block,
    ) -> Result<Option<(u64, u64)>, Error<I::Error>> {
        let chunks =
            (self.nbits / HUGE_BLOCKS).saturating_add(u64::from(self.nbits % HUGE_BLOCKS != 0));
        if chunks == 0 {
            return Ok(None);
        }
        let min = min.max(1);
        let max = max.clamp(min, HUGE_BLOCKS);
        if policy == AllocPolicy::Small && min > HUGE_BLOCKS {
            return Err(Error::Invalid);
        }
        let first = (goal / HUGE_BLOCKS).checked_rem(chunks).unwrap_or(0);
        let chunks_per_block = BITS_PER_BITMAP_BLOCK / HUGE_BLOCKS;
        let passes: &[bool] = match policy {
            AllocPolicy::Huge => &[true],
            AllocPolicy::Small => &[false, true],
        };
        for &take_free_chunks in passes {
            let mut loaded: Option<u64> = None;
            for step in 0..chunks {
                let c = first.saturating_add(step).checked_rem(chunks).unwrap_or(0);
                let index = c / chunks_per_block;
                if loaded != Some(index) {
                    self.load(io, index, buf)?;
                    loaded = Some(index);
                }
                let cbase = c.saturating_mul(HUGE_BLOCKS);
                let cend = cbase.saturating_add(HUGE_BLOCKS).min(self.nbits);
                let off = (c % chunks_per_block).saturating_mul(HUGE_BLOCKS);
                let whole = cend.saturating_sub(cbase) == HUGE_BLOCKS;
                let fully_free = whole && chunk_is_clear(buf, off);
                match policy {
                    AllocPolicy::Huge => {
                        if fully_free {
                            return Ok(Some((cbase, HUGE_BLOCKS)));
                        }
                    }
                    AllocPolicy::Small => {
                        if fully_free && !take_free_chunks {
                            continue;
                        }
                        let n = cend.saturating_sub(cbase);
                        if let Some((s, l)) = first_run(buf, off, n, min, max) {
                            return Ok(Some((cbase.saturating_add(s), l)));
                        }
                    }
                }
            }
        }
        Ok(None)
    }
}

/// Whether the 512 bits from `off` (a multiple of 512) are all clear.
fn chunk_is_clear(buf: &Block, off: u64) -> bool {
    let from = (off / 8) as usize;
    match buf.get(from..from.saturating_add((HUGE_BLOCKS / 8) as usize)) {
        Some(s) => s.iter().all(|&b| b == 0),
        None => false,
    }
}

/// First run of clear bits of length ≥ `min` among the `n` bits from `off`, clipped to `max`.
/// Returns the run's start relative to `off`.
fn first_run(buf: &Block, off: u64, n: u64, min: u64, max: u64) -> Option<(u64, u64)> {
    let mut run_start = 0u64;
    let mut run_len = 0u64;
    let mut i = 0u64;
    while i < n {
        let bit = off.saturating_add(i);
        // Skip whole used bytes quickly.
        if bit % 8 == 0
            && run_len == 0
            && i.saturating_add(8) <= n
            && buf.get((bit / 8) as usize).copied().unwrap_or(0xff) == 0xff
        {
            i = i.saturating_add(8);
            continue;
        }
        if bitmap_get(buf, bit) {
            if run_len >= min {
                return Some((run_start, run_len.min(max)));
            }
            run_len = 0;
        } else {
            if run_len == 0 {
                run_start = i;
            }
            run_len = run_len.saturating_add(1);
            if run_len >= max {
                return Some((run_start, max));
            }
        }
        i = i.saturating_add(1);
    }
    if run_len >= min {
        Some((run_start, run_len.min(max)))
    } else {
        None
    }
}

/// Whether going from bitmap block `old` to `new` clears a bit (frees a block or an inode).
pub fn bitmap_frees(old: &Block, new: &Block) -> bool {
    old.iter()
        .zip(new.iter())
        .take(BITMAP_BYTES)
        .any(|(o, n)| o & !n != 0)
}
