// SPDX-License-Identifier: GPL-2.0

//! File blocks: mapping, allocation (the 2 MiB policy), hole punching, freeing inodes.
//!
//! Allocation policy (see docs/FORMAT.md). A large file (the request starts at file block 512
//! or later, or asks for 512 blocks or more) whose whole 512-block-aligned logical chunk around
//! the request is a hole gets a whole free 2 MiB-aligned physical chunk mapped at the chunk
//! start, so that the kernel can map it with one PMD. Anything else is a small allocation of up
//! to 512 blocks: it first continues the extent before it in place when that extent ends inside
//! a chunk already in use and the next blocks are free (so files written in order stay
//! contiguous), and otherwise searches from that extent's end, or from a goal derived from the
//! inode number, in partially used chunks first ([`AllocPolicy::Small`]), so that small files do
//! not break up free 2 MiB chunks while other space exists.
//!
//! Freeing goes piece by piece: each piece lies inside one extent and its physical blocks inside
//! one bitmap block, so a call with a budget of `n` pieces writes at most `n` bitmap blocks
//! besides the extent tree nodes it changes.

use super::super::format::{
    bitmap_get, extent_insert, extent_iter, extent_lookup, extent_remove_one, AllocPolicy, Bitmap,
    BlockIo, Corrupt, DiskInode, Error, Extent, ExtentLookup, ExtentRoot, InodeData,
    BITS_PER_BITMAP_BLOCK, HUGE_BLOCKS, MAX_FILE_BLOCKS,
};
use super::{Counting, Ctx};

/// The extent root of a regular file or long symlink (`Invalid` for other inodes).
pub(super) fn ext_root<E>(inode: &DiskInode) -> Result<ExtentRoot, Error<E>> {
    match inode.data {
        InodeData::Extents(r) => Ok(r),
        _ => Err(Error::Invalid),
    }
}

impl<I: BlockIo> Ctx<'_, I> {
    /// The mapping of file block `lblk` of `inode`: the extent that maps it, or the hole around
    /// it. A mapped extent must lie in the data area (`Corrupt` otherwise), so the caller can map
    /// its blocks.
    pub fn map(&mut self, inode: &DiskInode, lblk: u64) -> Result<ExtentLookup, Error<I::Error>> {
        let root = ext_root(inode)?;
        let r = extent_lookup(&*self.io, inode.ino, &root, lblk, &mut self.scratch.a)?;
        if let ExtentLookup::Mapped(e) = r {
            if !self.sb.layout.range_in_data_area(e.physical, e.len) {
                return Err(Corrupt::BlockOutOfRange(e.physical).into());
            }
        }
        Ok(r)
    }

    /// A block to allocate near when nothing better is known: the data area divided among the
    /// inode numbers, so that unrelated files start apart.
    pub(super) fn inode_goal(&self, ino: u64) -> u64 {
        let l = &self.sb.layout;
        // No 128-bit arithmetic: the kernel has no 128-bit division.
        let span = l.backup_sb.saturating_sub(l.data_start);
        let off = span
            .checked_div(l.inode_count)
            .unwrap_or(0)
            .saturating_mul(ino)
            .min(span.saturating_sub(1));
        l.data_start.saturating_add(off)
    }

    /// A free run of 1 to `want` (≤ 512) blocks for a small allocation near `goal`: `goal`
    /// itself and the blocks after it when `goal` is inside a chunk already in use (it then
    /// continues an extent), else the search of [`AllocPolicy::Small`]. Nothing is marked.
    pub(super) fn find_small(
        &mut self,
        goal: u64,
        want: u64,
    ) -> Result<Option<(u64, u64)>, Error<I::Error>> {
        let layout = self.sb.layout;
        let bm = Bitmap::blocks(&layout);
        let want = want.clamp(1, HUGE_BLOCKS);
        if goal % HUGE_BLOCKS != 0 && layout.in_data_area(goal) {
            // A 2 MiB chunk never straddles two bitmap blocks.
            bm.load(&*self.io, goal / BITS_PER_BITMAP_BLOCK, &mut self.scratch.a)?;
            let room = HUGE_BLOCKS.saturating_sub(goal % HUGE_BLOCKS);
            let limit = want.min(room);
            let mut n = 0u64;
            while n < limit
                && !bitmap_get(
                    &self.scratch.a,
                    goal.saturating_add(n) % BITS_PER_BITMAP_BLOCK,
                )
            {
                n = n.saturating_add(1);
            }
            if n > 0 {
                return Ok(Some((goal, n)));
            }
        }
        bm.find_run(
            &*self.io,
            goal,
            AllocPolicy::Small,
            1,
            want,
            &mut self.scratch.a,
        )
    }

    /// Marks data blocks `blk..blk+len` in use (`Corrupt` if any is outside the data area or
    /// already in use).
    pub(super) fn take_blocks(&mut self, blk: u64, len: u64) -> Result<(), Error<I::Error>> {
        self.mark_blocks(blk, len, true)
    }

    /// Marks data blocks `blk..blk+len` free (`Corrupt` if any is outside the data area or
    /// already free).
    fn release_blocks(&mut self, blk: u64, len: u64) -> Result<(), Error<I::Error>> {
        self.mark_blocks(blk, len, false)
    }

    fn mark_blocks(&mut self, blk: u64, len: u64, used: bool) -> Result<(), Error<I::Error>> {
        let layout = self.sb.layout;
        if !layout.range_in_data_area(blk, len)
            || Bitmap::blocks(&layout).set_range(self.io, blk, len, used, &mut self.scratch.a)?
                != len
        {
            return Err(Corrupt::BlockOutOfRange(blk).into());
        }
        Ok(())
    }

    /// The last extent of `root` that starts before `lblk`, if it ends less than 512 blocks
    /// before it (the search stays bounded).
    fn extent_before(
        &mut self,
        ino: u64,
        root: &ExtentRoot,
        lblk: u64,
    ) -> Result<Option<Extent>, Error<I::Error>> {
        if lblk == 0 {
            return Ok(None);
        }
        let mut last = None;
        let from = lblk.saturating_sub(HUGE_BLOCKS);
        extent_iter(&*self.io, ino, root, from, &mut self.scratch.a, &mut |e| {
            if e.logical >= lblk {
                return false;
            }
            last = Some(*e);
            true
        })?;
        Ok(last)
    }

    /// The first extent of `root` that ends after file block `from`.
    fn extent_from(
        &mut self,
        ino: u64,
        root: &ExtentRoot,
        from: u64,
    ) -> Result<Option<Extent>, Error<I::Error>> {
        let mut found = None;
        extent_iter(&*self.io, ino, root, from, &mut self.scratch.a, &mut |e| {
            found = Some(*e);
            false
        })?;
        Ok(found)
    }

    /// Allocates data blocks for the hole at file block `lblk` of `inode` (the caller found it
    /// with [`map`](Self::map); `hole_end` is its end, or less to bound the allocation), `len`
    /// blocks (≥ 1) wanted, and maps them (`Exists` if `lblk` is mapped; a `hole_end` past the
    /// next extent is clipped to it). Updates `inode.blocks` (data and new tree nodes) and
    /// writes the inode. Returns the new extent, which starts at or before `lblk` and contains
    /// it; its blocks are not zeroed. `NoSpace` when no block is free. See the module
    /// documentation for the policy.
    pub fn alloc(
        &mut self,
        inode: &mut DiskInode,
        lblk: u64,
        len: u64,
        hole_end: u64,
    ) -> Result<Extent, Error<I::Error>> {
        let mut root = ext_root(inode)?;
        if lblk >= MAX_FILE_BLOCKS {
            return Err(Error::FileTooBig);
        }
        let hole_end = hole_end.min(MAX_FILE_BLOCKS);
        if len == 0 || hole_end <= lblk {
            return Err(Error::Invalid);
        }
        let ino = inode.ino;
        // The hole must be there: checked before anything is marked.
        let hole_end = match extent_lookup(&*self.io, ino, &root, lblk, &mut self.scratch.a)? {
            ExtentLookup::Hole { end } => hole_end.min(end),
            ExtentLookup::Mapped(_) => return Err(Error::Exists),
        };
        let goal = match self.extent_before(ino, &root, lblk)? {
            Some(p) => p.physical.saturating_add(p.len),
            None => self.inode_goal(ino),
        };
        let mut e = None;
        let mut tried_huge = false;
        if lblk >= HUGE_BLOCKS || len >= HUGE_BLOCKS {
            let start = lblk.saturating_sub(lblk % HUGE_BLOCKS);
            let end = start.saturating_add(HUGE_BLOCKS);
            let hole = end <= hole_end
                && (start == lblk
                    || matches!(
                        extent_lookup(&*self.io, ino, &root, start, &mut self.scratch.a)?,
                        ExtentLookup::Hole { end: h } if h >= end
                    ));
            if hole {
                tried_huge = true;
                let bm = Bitmap::blocks(&self.sb.layout);
                let run = bm.find_run(
                    &*self.io,
                    goal,
                    AllocPolicy::Huge,
                    HUGE_BLOCKS,
                    HUGE_BLOCKS,
                    &mut self.scratch.a,
                )?;
                e = run.map(|(physical, _)| Extent {
                    logical: start,
                    physical,
                    len: HUGE_BLOCKS,
                });
            }
        }
        let e = match e {
            Some(e) => e,
            None => {
                let want = len.min(hole_end.saturating_sub(lblk));
                let (physical, n) = self.find_small(goal, want)?.ok_or(Error::NoSpace)?;
                Extent {
                    logical: lblk,
                    physical,
                    len: n,
                }
            }
        };
        // Marked before the insert, which may allocate tree nodes from the same bitmap.
        self.take_blocks(e.physical, e.len)?;
        let mut c = Counting::new(&mut *self.io);
        extent_insert(&mut c, ino, &mut root, e, self.scratch)?;
        inode.blocks = c.adjust(inode.blocks).saturating_add(e.len);
        inode.data = InodeData::Extents(root);
        self.write_inode(inode)?;
        let a = &mut self.allocs;
        a.extents = a.extents.saturating_add(1);
        let aligned = e.physical % HUGE_BLOCKS == 0 && e.logical % HUGE_BLOCKS == 0;
        if e.len == HUGE_BLOCKS && aligned {
            a.huge = a.huge.saturating_add(1);
        } else if tried_huge {
            a.huge_fallbacks = a.huge_fallbacks.saturating_add(1);
        }
        Ok(e)
    }

    /// Unmaps and frees the blocks of file blocks `start..end` of `inode`, splitting extents
    /// that cross the edges, at most `budget` pieces per call (0 counts as 1; see the module
    /// documentation). Updates `inode.blocks` (data and tree nodes) and writes the inode when
    /// anything changed; the size is the caller's. Returns `true` when nothing in the range is
    /// mapped any more, `false` when the budget ran out first (call again).
    pub fn punch(
        &mut self,
        inode: &mut DiskInode,
        start: u64,
        end: u64,
        budget: u32,
    ) -> Result<bool, Error<I::Error>> {
        let mut root = ext_root(inode)?;
        let ino = inode.ino;
        let end = end.min(MAX_FILE_BLOCKS);
        let mut left = budget.max(1);
        let mut from = start;
        let mut blocks = inode.blocks;
        let mut changed = false;
        let done = loop {
            if from >= end {
                break true;
            }
            let Some(e) = self.extent_from(ino, &root, from)? else {
                break true;
            };
            if e.logical >= end {
                break true;
            }
            if left == 0 {
                break false;
            }
            left = left.saturating_sub(1);
            let s = from.max(e.logical);
            let phys = e.physical.saturating_add(s.saturating_sub(e.logical));
            let room = BITS_PER_BITMAP_BLOCK.saturating_sub(phys % BITS_PER_BITMAP_BLOCK);
            let piece_end = end.min(e.end()).min(s.saturating_add(room));
            let mut c = Counting::new(&mut *self.io);
            let x = extent_remove_one(&mut c, ino, &mut root, s, piece_end, self.scratch)?;
            blocks = c.adjust(blocks);
            let x = x.ok_or(Corrupt::BadExtent(e.physical))?;
            self.release_blocks(x.physical, x.len)?;
            blocks = blocks.saturating_sub(x.len);
            from = x.end();
            changed = true;
        };
        if changed {
            inode.blocks = blocks;
            inode.data = InodeData::Extents(root);
            self.write_inode(inode)?;
        }
        Ok(done)
    }

    /// Frees inode `ino`, which has no links (`Invalid` otherwise, and for the root): its data
    /// blocks and tree nodes, `budget` pieces per call as [`punch`](Self::punch) (returns
    /// `false`: call again), then, in the call that finishes, its inode bitmap bit; its record is
    /// zeroed. A directory must be empty (`NotEmpty`): it has no tree nodes then.
    pub fn free_inode(&mut self, ino: u64, budget: u32) -> Result<bool, Error<I::Error>> {
        if ino == self.sb.root_ino {
            return Err(Error::Invalid);
        }
        let mut i = self.read_inode(ino)?;
        if i.nlink != 0 {
            return Err(Error::Invalid);
        }
        match i.data {
            InodeData::Extents(_) => {
                if !self.punch(&mut i, 0, MAX_FILE_BLOCKS, budget)? {
                    return Ok(false);
                }
            }
            InodeData::Dir(d) => {
                if d.entries != 0 || d.tree.blk != 0 {
                    return Err(Error::NotEmpty);
                }
            }
            InodeData::Inline(_) | InodeData::Special => {}
        }
        self.xattr_free(&mut i)?;
        let bm = Bitmap::inodes(&self.sb.layout);
        if bm.set_range(self.io, ino, 1, false, &mut self.scratch.a)? != 1 {
            return Err(Corrupt::InodeOutOfRange(ino).into());
        }
        self.clear_inode(ino)?;
        Ok(true)
    }
}
