// SPDX-License-Identifier: GPL-2.0

//! The blocks of regular files: truncate, fallocate (allocation, hole punching, zeroing), and
//! the zeroing of partial blocks they need.
//!
//! Locking: each runs under the inode lock, exclusive; what frees or changes blocks also takes
//! the mapping's `invalidate_lock` exclusive and breaks the DAX layouts of the range first, so
//! no fault maps a block while it is freed and no pinned page keeps one.

use super::file::zero_extent;
use super::format::{self, ExtentLookup, BLOCK_SHIFT, BLOCK_SIZE, MAX_FILE_BLOCKS};
use super::inode::{mount_of, refresh, set_blocks, ts, FREE_BUDGET};
use super::{File, Inode, Mount};
use crate::bindings;
use crate::dax;
use crate::pmem;
use kernel::prelude::*;

const BS: u64 = BLOCK_SIZE as u64;

/// Calls `f(device offset, length)` for each mapped piece of bytes `from..to` of file `ino`.
pub(super) fn for_each_mapped(
    mount: &Mount,
    ino: u64,
    from: u64,
    to: u64,
    mut f: impl FnMut(u64, usize) -> Result,
) -> Result {
    let mut pos = from;
    while pos < to {
        let lblk = pos >> BLOCK_SHIFT;
        let m = mount.tx(|ctx| {
            let rec = ctx.read_inode(ino)?;
            ctx.map(&rec, lblk)
        })?;
        pos = match m {
            ExtentLookup::Mapped(e) => {
                let end = to.min(e.end() << BLOCK_SHIFT);
                let phys = e.physical.saturating_add(lblk.saturating_sub(e.logical)) << BLOCK_SHIFT;
                let len = usize::try_from(end.saturating_sub(pos)).map_err(|_| ERANGE)?;
                f(phys.saturating_add(pos % BS), len)?;
                end
            }
            ExtentLookup::Hole { end } => to.min(end << BLOCK_SHIFT),
        };
    }
    Ok(())
}

/// Zeroes bytes `from..to` of the file where blocks are mapped (partial blocks at the edges of a
/// truncate or hole punch, and zero-range).
///
/// The zeroes are durable before the transaction that follows (a new size, freed blocks) can
/// commit: no crash state shows the old bytes where the file must read zeroes.
fn zero_bytes(mount: &Mount, ino: u64, from: u64, to: u64) -> Result {
    for_each_mapped(mount, ino, from, to, |phys, len| {
        mount.pmem.zero_nt(phys, len as u64)
    })?;
    pmem::fence();
    Ok(())
}

/// The attributes the first transaction of [`punch_blocks`] writes besides the size.
#[derive(Clone, Copy)]
pub(crate) enum Times {
    /// Modification and change time: now.
    Now,
    /// Every attribute of the VFS inode (a `setattr` that changes the size as well), so that the
    /// whole `setattr` is one transaction.
    All,
}

/// Frees the blocks of file blocks `start..end`, a bounded number of extents per transaction;
/// the first transaction also records `size` (if any) and `times`.
fn punch_blocks(
    mount: &Mount,
    inode: &Inode,
    start: u64,
    end: u64,
    size: Option<u64>,
    times: Times,
) -> Result {
    let ino = inode.ino();
    let now = ts(inode.now());
    let attrs = inode.attrs();
    let mut first = true;
    for _ in 0..super::inode::max_free_steps(mount) {
        let (done, rec) = mount.tx_then(
            |ctx| {
                let mut r = ctx.read_inode(ino)?;
                if first {
                    if let Some(s) = size {
                        r.size = s;
                    }
                    match times {
                        Times::Now => {
                            r.mtime = now;
                            r.ctime = now;
                        }
                        Times::All => super::inode::apply_attrs(&mut r, &attrs),
                    }
                    ctx.write_inode(&r)?;
                }
                let done = if start < end {
                    ctx.punch(&mut r, start, end, FREE_BUDGET)?
                } else {
                    true
                };
                Ok((done, r))
            },
            // In transaction order: faults may allocate meanwhile (a truncate that grows the
            // file does not take the `invalidate_lock`).
            |(_, rec)| set_blocks(inode, rec),
        )?;
        first = false;
        if done {
            refresh(inode, &rec);
            return Ok(());
        }
    }
    Err(super::inode::free_steps_exceeded(inode.super_block(), ino))
}

/// Zeroes the rest of the block holding byte `old`, the end of the file, up to `to`: after a
/// shrink to `old`, and before an extension from `old` makes those bytes part of the file (a
/// crash between a shrink's new size and its zeroing can leave old bytes there).
pub(super) fn zero_eof(mount: &Mount, ino: u64, old: u64, to: u64) -> Result {
    let tail_end = old.div_ceil(BS).saturating_mul(BS).min(to);
    if tail_end > old {
        zero_bytes(mount, ino, old, tail_end)?;
    }
    Ok(())
}

/// Changes the size of a regular file, in the transaction that also records every attribute of
/// the VFS inode (`setattr` copied them there first); the caller holds the inode lock.
///
/// Shrinking: the new size commits first (with the first blocks freed), then the rest of the
/// last block is zeroed, now past the end of the file; so no crash state shows the file at its
/// old size with zeroes in it. The same size frees the blocks past the end of the file, as a
/// shrink does. Growing: the old last block's tail is zeroed first ([`zero_eof`]).
pub(crate) fn truncate(mount: &Mount, inode: &Inode, size: u64) -> Result {
    if size > format::MAX_FILE_SIZE {
        return Err(EFBIG);
    }
    let old = inode.size();
    if size <= old {
        // No fault maps a block while they are freed.
        let inval = inode.invalidate_lock();
        // Wait for pinned pages, then unmap, then free.
        dax::layout::break_layouts(&inval, size, None)?;
        inval.truncate_setsize(size);
        let first_free = size.div_ceil(BS);
        punch_blocks(
            mount,
            inode,
            first_free,
            MAX_FILE_BLOCKS,
            Some(size),
            Times::All,
        )?;
        // The rest of the last block reads as zeroes after a later extension (and through a
        // mapping of the last page).
        zero_eof(mount, inode.ino(), size, old)
    } else {
        zero_eof(mount, inode.ino(), old, size)?;
        punch_blocks(mount, inode, 0, 0, Some(size), Times::All)?;
        inode.set_size(size);
        Ok(())
    }
}

/// Allocates zeroed blocks for every hole in file blocks `start..end`.
fn allocate(mount: &Mount, inode: &Inode, start: u64, end: u64) -> Result {
    let ino = inode.ino();
    let mut lblk = start;
    while lblk < end {
        let (next, _) = mount.tx_then(
            |ctx| {
                let mut rec = ctx.read_inode(ino)?;
                match ctx.map(&rec, lblk)? {
                    ExtentLookup::Mapped(e) => Ok((e.end(), rec)),
                    ExtentLookup::Hole { end: hole_end } => {
                        let want = end.min(hole_end).saturating_sub(lblk);
                        let e = ctx.alloc(&mut rec, lblk, want, hole_end)?;
                        zero_extent(mount, &e)?;
                        Ok((e.end(), rec))
                    }
                }
            },
            |(_, rec)| set_blocks(inode, rec),
        )?;
        lblk = next.max(lblk.saturating_add(1));
    }
    Ok(())
}

/// The mount of a regular file's inode; `ENODEV` for other kinds of file, as `fallocate` answers.
fn regular_mount(inode: &Inode) -> Result<&Mount> {
    if inode.mode() & format::S_IFMT != format::S_IFREG {
        return Err(ENODEV);
    }
    mount_of(inode.super_block())
}

/// `FALLOC_FL_COLLAPSE_RANGE` (`insert` false: bytes `off..off + len` leave the file and what
/// follows moves down) and `FALLOC_FL_INSERT_RANGE` (a hole of `len` bytes appears at `off`, what
/// follows moves up), with ext4's rules: both block-aligned (`EINVAL`), a collapse ending before
/// the end of the file and an insert starting inside it (`EINVAL`), an insert not past the
/// largest file (`EFBIG`). The layouts of the whole moving part are broken first.
///
/// Steps, each a transaction whose state is consistent (see `docs/PERSISTENCE.md`): collapse
/// punches the range, moves the extents after it down a few at a time from the lowest, then
/// sets the new size; insert sets the new size, then moves the extents up a few at a time from
/// the highest (splitting one that crosses `off`).
fn shift_range(file: &File, insert: bool, off: i64, len: i64) -> Result {
    let (Ok(off), Ok(len)) = (u64::try_from(off), u64::try_from(len)) else {
        return Err(EINVAL);
    };
    let inode = file.inode();
    let mount = regular_mount(inode)?;
    let _g = inode.lock();
    // As ext4, before the range's checks: the times, and set-user-ID and set-group-ID dropped.
    file.modified()?;
    if len == 0 || off % BS != 0 || len % BS != 0 {
        return Err(EINVAL);
    }
    let inval = inode.invalidate_lock();
    let size = inode.size();
    let end = off.checked_add(len).ok_or(EFBIG)?;
    let new_size = if insert {
        if off >= size {
            return Err(EINVAL);
        }
        size.checked_add(len)
            .filter(|&s| s <= format::MAX_FILE_SIZE)
            .ok_or(EFBIG)?
    } else {
        if end >= size {
            return Err(EINVAL);
        }
        size.saturating_sub(len)
    };
    // Everything from `off` on moves: no fault keeps a page of it.
    dax::layout::break_layouts(&inval, off, None)?;
    inval.truncate_pagecache_range(off, i64::MAX as u64);
    let (ino, first, nblocks) = (inode.ino(), off >> BLOCK_SHIFT, len >> BLOCK_SHIFT);
    let steps = super::inode::max_free_steps(mount);
    if insert {
        punch_blocks(mount, inode, 0, 0, Some(new_size), Times::Now)?;
        inode.set_size(new_size);
        let mut hi = Some(MAX_FILE_BLOCKS);
        for _ in 0..steps {
            let Some(h) = hi else { break };
            hi = mount
                .tx_then(
                    |ctx| {
                        let mut r = ctx.read_inode(ino)?;
                        Ok((ctx.shift_up(&mut r, first, h, nblocks, FREE_BUDGET)?, r))
                    },
                    |(_, r)| set_blocks(inode, r),
                )?
                .0;
        }
        if hi.is_some() {
            return Err(super::inode::free_steps_exceeded(inode.super_block(), ino));
        }
    } else {
        punch_blocks(
            mount,
            inode,
            first,
            first.saturating_add(nblocks),
            None,
            Times::Now,
        )?;
        let mut cursor = Some(first.saturating_add(nblocks));
        for _ in 0..steps {
            let Some(c) = cursor else { break };
            cursor = mount
                .tx_then(
                    |ctx| {
                        let mut r = ctx.read_inode(ino)?;
                        Ok((ctx.shift_down(&mut r, c, nblocks, FREE_BUDGET)?, r))
                    },
                    |(_, r)| set_blocks(inode, r),
                )?
                .0;
        }
        if cursor.is_some() {
            return Err(super::inode::free_steps_exceeded(inode.super_block(), ino));
        }
        punch_blocks(mount, inode, 0, 0, Some(new_size), Times::Now)?;
        inode.set_size(new_size);
    }
    Ok(())
}

/// `fallocate`: mode 0 and `FALLOC_FL_KEEP_SIZE` (allocate zeroed blocks),
/// `FALLOC_FL_PUNCH_HOLE` (free blocks, zero partial ones), `FALLOC_FL_ZERO_RANGE` (zero mapped
/// blocks, allocate holes). Other modes are not supported.
pub(super) fn fallocate(file: &File, mode: u32, off: i64, len: i64) -> Result {
    let keep = bindings::FALLOC_FL_KEEP_SIZE;
    let punch = bindings::FALLOC_FL_PUNCH_HOLE;
    let zero = bindings::FALLOC_FL_ZERO_RANGE;
    // The VFS lets these two through only alone.
    if mode == bindings::FALLOC_FL_COLLAPSE_RANGE || mode == bindings::FALLOC_FL_INSERT_RANGE {
        return shift_range(file, mode == bindings::FALLOC_FL_INSERT_RANGE, off, len);
    }
    if mode & !(keep | punch | zero) != 0 || (mode & punch != 0 && mode & zero != 0) {
        return Err(crate::errno::eopnotsupp());
    }
    if mode & punch != 0 && mode & keep == 0 {
        return Err(crate::errno::eopnotsupp());
    }
    let (Ok(off), Ok(len)) = (u64::try_from(off), u64::try_from(len)) else {
        return Err(EINVAL);
    };
    if len == 0 {
        return Err(EINVAL);
    }
    let end = off.checked_add(len).ok_or(EFBIG)?;
    if end > format::MAX_FILE_SIZE {
        return Err(EFBIG);
    }
    // The last byte of the range (`len` is not 0).
    let last = end.saturating_sub(1);
    let inode = file.inode();
    let mount = regular_mount(inode)?;
    let _g = inode.lock();
    // Every mode updates the times and drops set-user-ID and set-group-ID, as ext4's.
    file.modified()?;
    // No fault maps a block while blocks are freed, zeroed or allocated here.
    let inval = inode.invalidate_lock();
    let size = inode.size();
    // A new size within RLIMIT_FSIZE (EFBIG and SIGXFSZ), checked before anything changes.
    if mode & keep == 0 && end > size {
        inode.newsize_ok(end)?;
    }
    let ino = inode.ino();
    let first_full = off.div_ceil(BS);
    let end_full = end >> BLOCK_SHIFT;
    if mode & punch != 0 {
        if off >= size {
            return Ok(());
        }
        // Wait for pinned pages, then unmap, then free.
        dax::layout::break_layouts(&inval, off, Some(last))?;
        inval.truncate_pagecache_range(off, last);
        if first_full > end_full {
            zero_bytes(mount, ino, off, end)?;
        } else {
            zero_bytes(mount, ino, off, first_full << BLOCK_SHIFT)?;
            zero_bytes(mount, ino, end_full << BLOCK_SHIFT, end)?;
        }
        return punch_blocks(
            mount,
            inode,
            first_full,
            end_full.max(first_full),
            None,
            Times::Now,
        );
    }
    if mode & zero != 0 {
        dax::layout::break_layouts(&inval, off, Some(last))?;
        inval.truncate_pagecache_range(off, last);
        zero_bytes(mount, ino, off, end)?;
    }
    let new_size = (mode & keep == 0 && end > size).then_some(end);
    if new_size.is_some() {
        zero_eof(mount, ino, size, off)?;
    }
    allocate(mount, inode, off >> BLOCK_SHIFT, end.div_ceil(BS))?;
    if new_size.is_some() || mode & zero != 0 {
        // Times (and the size) in one transaction.
        punch_blocks(mount, inode, 0, 0, new_size, Times::Now)?;
    }
    Ok(())
}
