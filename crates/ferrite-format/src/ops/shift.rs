// SPDX-License-Identifier: GPL-2.0

//! Moving a file's extents along the file: the steps of `fallocate`'s collapse range and insert
//! range.
//!
//! A step moves at most a budget of extents in one call (one transaction in the kernel), in the
//! order that keeps the map valid after every step, and says where the next step goes on: down
//! (collapse) from the lowest extent up, up (insert) from the highest down. An extent's blocks
//! stay where they are; only its file offset changes.

use super::super::format::{
    extent_insert, extent_iter, extent_remove_one, BlockIo, Corrupt, DiskInode, Error, Extent,
    InodeData, MAX_FILE_BLOCKS,
};
use super::file::ext_root;
use super::{Counting, Ctx};

/// The most extents one insert step moves (the budget is clamped to it).
const SHIFT_MAX: usize = 32;

impl<I: BlockIo> Ctx<'_, I> {
    /// Collapse step: moves the extents of `inode` that start at or after file block `cursor`
    /// down by `len` blocks, lowest first, at most `budget` of them. File blocks
    /// `cursor - len..cursor` must be a hole (the caller punched it; an extent crossing `cursor`
    /// is `Invalid`). Returns where the next step starts (in the file's blocks before the
    /// collapse), or `None` when no extent is left to move. Writes the inode when anything
    /// moved.
    pub fn shift_down(
        &mut self,
        inode: &mut DiskInode,
        cursor: u64,
        len: u64,
        budget: u32,
    ) -> Result<Option<u64>, Error<I::Error>> {
        let mut root = ext_root(inode)?;
        let ino = inode.ino;
        let mut cur = cursor;
        let mut left = budget.max(1);
        let mut changed = false;
        let next = loop {
            let mut found = None;
            extent_iter(&*self.io, ino, &root, cur, &mut self.scratch.a, &mut |e| {
                found = Some(*e);
                false
            })?;
            let Some(e) = found else {
                break None;
            };
            if e.logical < cur {
                return Err(Error::Invalid);
            }
            if left == 0 {
                break Some(cur);
            }
            left = left.saturating_sub(1);
            let to = e.logical.checked_sub(len).ok_or(Error::Invalid)?;
            self.move_extent(inode, &mut root, e, to)?;
            cur = e.end();
            changed = true;
        };
        if changed {
            inode.data = InodeData::Extents(root);
            self.write_inode(inode)?;
        }
        Ok(next)
    }

    /// Insert step: moves the extents of `inode` (or their parts) in file blocks `from..hi` up
    /// by `len` blocks, highest first, at most `budget` of them (at most 32); an
    /// extent crossing `from` is split there and its upper part moved. The first step passes
    /// `hi` = `MAX_FILE_BLOCKS`. Returns the `hi` of the next step, or `None` when everything in
    /// `from..` has moved. `FileTooBig` if an extent would end past the largest file. Writes the
    /// inode when anything moved.
    pub fn shift_up(
        &mut self,
        inode: &mut DiskInode,
        from: u64,
        hi: u64,
        len: u64,
        budget: u32,
    ) -> Result<Option<u64>, Error<I::Error>> {
        let mut root = ext_root(inode)?;
        let ino = inode.ino;
        let want = usize::try_from(budget)
            .unwrap_or(SHIFT_MAX)
            .clamp(1, SHIFT_MAX);
        // The highest `want` extents starting below `hi` (and ending after `from`), and whether
        // more lie below them.
        let mut last = [Extent {
            logical: 0,
            len: 0,
            physical: 0,
        }; SHIFT_MAX];
        let mut n = 0usize;
        let mut more = false;
        extent_iter(&*self.io, ino, &root, from, &mut self.scratch.a, &mut |e| {
            if e.logical >= hi {
                return false;
            }
            if n == want {
                if let Some(kept) = last.get_mut(..want) {
                    kept.rotate_left(1);
                    if let Some(slot) = kept.last_mut() {
                        *slot = *e;
                    }
                }
                more = true;
            } else if let Some(slot) = last.get_mut(n) {
                *slot = *e;
                n = n.saturating_add(1);
            }
            true
        })?;
        let mut next_hi = hi;
        for e in last.iter().take(n).rev() {
            // The part at or after `from` moves (the whole extent but for one crossing `from`).
            let start = e.logical.max(from);
            let piece = Extent {
                logical: start,
                len: e.end().saturating_sub(start),
                physical: e.physical.saturating_add(start.saturating_sub(e.logical)),
            };
            let to = start.checked_add(len).ok_or(Error::FileTooBig)?;
            if to
                .checked_add(piece.len)
                .map_or(true, |end| end > MAX_FILE_BLOCKS)
            {
                return Err(Error::FileTooBig);
            }
            self.move_extent(inode, &mut root, piece, to)?;
            next_hi = start;
        }
        if n > 0 {
            inode.data = InodeData::Extents(root);
            self.write_inode(inode)?;
        }
        Ok(more.then_some(next_hi))
    }

    /// Moves extent (or extent piece) `e` of `inode` to file block `to`, keeping its blocks and
    /// `inode.blocks` exact (tree nodes may come and go).
    fn move_extent(
        &mut self,
        inode: &mut DiskInode,
        root: &mut super::super::format::ExtentRoot,
        e: Extent,
        to: u64,
    ) -> Result<(), Error<I::Error>> {
        let ino = inode.ino;
        let mut c = Counting::new(&mut *self.io);
        let x = extent_remove_one(&mut c, ino, root, e.logical, e.end(), self.scratch)?
            .ok_or(Corrupt::BadExtent(e.physical))?;
        if x != e {
            return Err(Corrupt::BadExtent(e.physical).into());
        }
        extent_insert(&mut c, ino, root, Extent { logical: to, ..x }, self.scratch)?;
        inode.blocks = c.adjust(inode.blocks);
        Ok(())
    }
}
