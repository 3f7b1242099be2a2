// SPDX-License-Identifier: GPL-2.0

//! Regular files: DAX read and write, block mapping for the iomap core, truncate, fallocate,
//! fsync.
//!
//! Locking: `read_iter` takes the inode lock shared, `write_iter`, truncate and fallocate take it
//! exclusive (so blocks are never freed under a read or write copying to them); `iomap_begin`
//! runs under it and takes the mount's metadata lock for each mapping.

use super::format::{
    self, Error as FmtError, Extent, ExtentLookup, BLOCK_SHIFT, BLOCK_SIZE, MAX_FILE_BLOCKS,
};
use super::inode::{mount_of, refresh, set_blocks, ts, FREE_BUDGET};
use super::{Dentry, Ferrite, File, Inode, Kiocb, Mount};
use crate::bindings;
use crate::dax;
use crate::iomap::{self, Flags, Mapping};
use crate::pmem;
use crate::vfs::inode::ops::FiemapInfo;
use crate::vfs::{FileOperations, Iattr, Idmap, InodeOperations, IovIter, Kstat, VmArea};
use kernel::prelude::*;

/// The inode operations of regular files.
pub(crate) struct FileInode;

#[vtable]
impl InodeOperations for FileInode {
    type FileSystem = Ferrite;

    fn setattr(idmap: &Idmap, dentry: &Dentry, attr: &Iattr) -> Result {
        super::inode::setattr(idmap, dentry, attr)
    }

    fn getattr(idmap: &Idmap, inode: &Inode, stat: &Kstat, mask: u32) -> Result {
        super::inode::getattr(idmap, inode, stat, mask)
    }

    fn fiemap(inode: &Inode, info: &FiemapInfo, start: u64, len: u64) -> Result {
        iomap::fiemap::<FileMap>(inode, info, start, len)
    }

    fn fileattr_get(inode: &Inode) -> Result<u32> {
        Ok(super::inode::xflags(inode))
    }
}

/// The file operations of regular files: DAX reads, writes and mappings.
pub(crate) struct RegularFile;

#[vtable]
impl FileOperations for RegularFile {
    type FileSystem = Ferrite;

    // O_DIRECT is the same DAX path as any read or write.
    const DIRECT_IO: bool = true;
    // Metadata is durable when `iomap_begin` returns, so MAP_SYNC write faults need nothing more.
    const MMAP_SYNC: bool = true;
    // PMD mappings need 2 MiB aligned addresses.
    const HUGE_ALIGNED: bool = true;

    fn llseek(file: &File, off: i64, whence: u32) -> Result<i64> {
        llseek(file, off, whence)
    }

    fn read_iter(iocb: &Kiocb, to: &IovIter) -> Result<usize> {
        read_iter(iocb, to)
    }

    fn write_iter(iocb: &Kiocb, from: &IovIter) -> Result<usize> {
        write_iter(iocb, from)
    }

    fn fsync(file: &File, start: i64, end: i64, datasync: bool) -> Result {
        fsync(file, start, end, datasync)
    }

    fn fallocate(file: &File, mode: u32, off: i64, len: i64) -> Result {
        fallocate(file, mode, off, len)
    }

    fn mmap(file: &File, vma: &VmArea) -> Result {
        dax::fault::mmap(file, vma)
    }
}

/// The iomap of regular files: extents, and holes allocated for writes and faults.
pub(crate) struct FileMap;

#[vtable]
impl iomap::Operations for FileMap {
    type FileSystem = Ferrite;

    fn begin<'a>(inode: &'a Inode, pos: u64, length: u64, flags: Flags) -> Result<Mapping<'a>> {
        iomap_begin(inode, pos, length, flags)
    }
}

/// `llseek`: `SEEK_HOLE` and `SEEK_DATA` from the extent map (under the inode lock, shared), the
/// rest as any file, within the maximum file size.
fn llseek(file: &File, off: i64, whence: u32) -> Result<i64> {
    let inode = file.inode();
    let max = i64::try_from(format::MAX_FILE_SIZE).unwrap_or(i64::MAX);
    match whence {
        bindings::SEEK_HOLE | bindings::SEEK_DATA => {
            let pos = {
                let _g = inode.lock_shared();
                iomap::seek::<FileMap>(inode, off, whence == bindings::SEEK_HOLE)?
            };
            file.set_pos(pos, max)
        }
        _ => {
            let eof = i64::try_from(inode.size()).unwrap_or(max);
            file.llseek_size(off, whence, max, eof)
        }
    }
}

const BS: u64 = BLOCK_SIZE as u64;

/// Zeroes the device blocks of extent `e` (new blocks are zeroed before any file can see them),
/// durably: the transaction that maps them commits after the fence, so no crash state has the
/// blocks in the file and their old contents on the device.
fn zero_extent(mount: &Mount, e: &Extent) -> Result<(), FmtError<Error>> {
    let off = e.physical.checked_mul(BS).ok_or(FmtError::Invalid)?;
    let len = e.len.checked_mul(BS).ok_or(FmtError::Invalid)?;
    mount.pmem.zero_nt(off, len).map_err(FmtError::Io)?;
    pmem::fence();
    Ok(())
}

/// For a fault at file block `lblk` (of `want` blocks) mapped by `e`: whether none of the pages
/// the fault maps belongs to another file or another offset of this one (see
/// [`pages_free_for`](dax::fault::pages_free_for)). Such a block is corruption (two extents
/// share it, or the bitmap gave out a block a file holds).
fn fault_pages_free(mount: &Mount, inode: &Inode, e: &Extent, lblk: u64, want: u64) -> bool {
    let skip = lblk.saturating_sub(e.logical);
    let nr = want.min(e.len.saturating_sub(skip));
    let block = e.physical.saturating_add(skip);
    mount
        .pfn_of(block)
        .is_some_and(|pfn| dax::fault::pages_free_for(inode, pfn, nr, lblk))
}

/// `iomap_begin`: the mapping at byte `pos` (up to `length` bytes), allocating zeroed blocks for
/// writes into holes.
///
/// Runs under the inode lock (reads and writes) or the `invalidate_lock` shared (faults): two
/// faults may allocate into one file at once, so the VFS block count is set in the order of
/// their transactions, under the metadata lock.
fn iomap_begin(inode: &Inode, pos: u64, length: u64, req: Flags) -> Result<Mapping<'_>> {
    let mount = mount_of(inode.super_block())?;
    let ino = inode.ino();
    let lblk = pos >> BLOCK_SHIFT;
    if lblk >= MAX_FILE_BLOCKS {
        return Err(EFBIG);
    }
    let last = pos.saturating_add(length.max(1)).saturating_sub(1) >> BLOCK_SHIFT;
    let want = last.saturating_sub(lblk).saturating_add(1);
    let alloc = req.write() && !req.zero();
    if alloc && req.nowait() {
        // Allocation may sleep; a mapped range would not, but keep it simple: retry blocking.
        return Err(EAGAIN);
    }
    let base = mount.dax_base();
    let (e, new) = mount.tx_then(
        |ctx| {
            let mut rec = ctx.read_inode(ino)?;
            let r = match ctx.map(&rec, lblk)? {
                ExtentLookup::Mapped(e) => (Ok(e), None),
                ExtentLookup::Hole { end } if alloc => {
                    let e = ctx.alloc(&mut rec, lblk, want, end)?;
                    zero_extent(mount, &e)?;
                    (Ok(e), Some(rec))
                }
                ExtentLookup::Hole { end } => (Err(end), None),
            };
            Ok(r)
        },
        |(_, new)| {
            if let Some(rec) = new {
                set_blocks(inode, rec);
            }
        },
    )?;
    // Outside the metadata lock: the fault path is hot, and only a corrupt image fails this.
    if let (Ok(e), true) = (&e, req.fault()) {
        if !fault_pages_free(mount, inode, e, lblk, want) {
            return Err(mount.report_corrupt(format::Corrupt::BlockOfAnotherFile(ino)));
        }
    }
    let new = new.is_some();
    Ok(match e {
        Ok(e) => Mapping::Mapped {
            offset: e.logical << BLOCK_SHIFT,
            length: e.len << BLOCK_SHIFT,
            addr: (e.physical << BLOCK_SHIFT).saturating_add(base),
            new,
            dax: mount.dax(),
        },
        Err(end) => Mapping::Hole {
            offset: lblk << BLOCK_SHIFT,
            length: end.saturating_sub(lblk) << BLOCK_SHIFT,
        },
    })
}

/// `read_iter`.
fn read_iter(iocb: &Kiocb, to: &IovIter) -> Result<usize> {
    let file = iocb.file();
    let inode = file.inode();
    let _g = if iocb.nowait() {
        inode.try_lock(true).ok_or(EAGAIN)?
    } else {
        inode.lock_shared()
    };
    let n = dax::rw::rw(iocb, to)?;
    file.accessed();
    Ok(n)
}

/// `write_iter`: O_APPEND and limits (`generic_write_checks`), times, the copy, then the new size
/// in one transaction, and O_SYNC/O_DSYNC.
fn write_iter(iocb: &Kiocb, from: &IovIter) -> Result<usize> {
    let file = iocb.file();
    let inode = file.inode();
    let mount = mount_of(inode.super_block())?;
    let n = {
        let _g = if iocb.nowait() {
            inode.try_lock(false).ok_or(EAGAIN)?
        } else {
            inode.lock()
        };
        if iocb.write_checks(from)? == 0 {
            return Ok(0);
        }
        file.modified()?;
        let start = u64::try_from(iocb.pos()).unwrap_or(0);
        let old = inode.size();
        if start > old {
            // The gap reads as zeroes, whatever a crash left past the old end.
            zero_eof(mount, inode.ino(), old, start)?;
        }
        let n = dax::rw::rw(iocb, from)?;
        let end = u64::try_from(iocb.pos()).unwrap_or(0);
        // The trace build records the data the kernel just copied into the file's blocks.
        #[cfg(ferrite_trace)]
        for_each_mapped(mount, inode.ino(), start, end, |phys, len| {
            mount.pmem.trace_data(phys, len)
        })?;
        // The data is durable when write returns, and before a new size can expose it.
        pmem::fence();
        if n > 0 && end > inode.size() {
            set_size(mount, inode, end)?;
        }
        n
    };
    iocb.write_sync(n)
}

/// Records a new size (and the VFS's times) in one transaction.
fn set_size(mount: &Mount, inode: &Inode, size: u64) -> Result {
    let a = inode.attrs();
    let rec = mount.tx(|ctx| {
        let mut r = ctx.read_inode(a.ino)?;
        r.size = size;
        r.mtime = ts((a.mtime_sec, a.mtime_nsec));
        r.ctime = ts((a.ctime_sec, a.ctime_nsec));
        ctx.write_inode(&r)?;
        Ok(r)
    })?;
    refresh(inode, &rec);
    Ok(())
}

/// Calls `f(device offset, length)` for each mapped piece of bytes `from..to` of file `ino`.
fn for_each_mapped(
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
fn zero_eof(mount: &Mount, ino: u64, old: u64, to: u64) -> Result {
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
/// old size with zeroes in it. Growing: the old last block's tail is zeroed first
/// ([`zero_eof`]).
pub(crate) fn truncate(mount: &Mount, inode: &Inode, size: u64) -> Result {
    if size > format::MAX_FILE_SIZE {
        return Err(EFBIG);
    }
    let old = inode.size();
    if size < old {
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

/// `fsync`/`fdatasync`: metadata is durable when each operation returns; data written through
/// `write` is in pmem with non-temporal stores, which a fence makes durable; data stored through
/// mappings is flushed from the CPU caches by writeback of the dirty DAX entries.
pub(crate) fn fsync(file: &File, start: i64, end: i64, _datasync: bool) -> Result {
    // Stores through mappings: flush the cache lines of the dirty DAX entries (writepages).
    file.write_and_wait(start, end)?;
    pmem::fence();
    Ok(())
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

/// `fallocate`: mode 0 and `FALLOC_FL_KEEP_SIZE` (allocate zeroed blocks),
/// `FALLOC_FL_PUNCH_HOLE` (free blocks, zero partial ones), `FALLOC_FL_ZERO_RANGE` (zero mapped
/// blocks, allocate holes). Other modes are not supported.
fn fallocate(file: &File, mode: u32, off: i64, len: i64) -> Result {
    let keep = bindings::FALLOC_FL_KEEP_SIZE;
    let punch = bindings::FALLOC_FL_PUNCH_HOLE;
    let zero = bindings::FALLOC_FL_ZERO_RANGE;
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
    if inode.mode() & format::S_IFMT != format::S_IFREG {
        return Err(ENODEV);
    }
    let mount = mount_of(inode.super_block())?;
    let _g = inode.lock();
    // No fault maps a block while blocks are freed, zeroed or allocated here.
    let inval = inode.invalidate_lock();
    let size = inode.size();
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
