// SPDX-License-Identifier: GPL-2.0

//! Regular files: their inode and file operations, DAX read and write, the block mapping for the
//! iomap core, fsync. Truncate and fallocate are in `space`.
//!
//! Locking: `read_iter` takes the inode lock shared, `write_iter`, truncate and fallocate take it
//! exclusive (so blocks are never freed under a read or write copying to them); `iomap_begin`
//! runs under it and takes the mount's metadata lock for each mapping.

use super::format::{
    self, Error as FmtError, Extent, ExtentLookup, BLOCK_SHIFT, BLOCK_SIZE, MAX_FILE_BLOCKS,
};
use super::inode::{mount_of, refresh, set_blocks, ts};
use super::{Dentry, Ferrite, File, Inode, Kiocb, Mount};
use crate::bindings;
use crate::dax;
use crate::iomap::{self, Flags, Mapping};
use crate::pmem;
use crate::vfs::file::IoctlArg;
use crate::vfs::inode::ops::FiemapInfo;
use crate::vfs::xattr::{AclRef, AclType, PosixAcl, XattrList};
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
        if info.take_xattr_flag() {
            iomap::fiemap::<XattrMap>(inode, info, start, len)
        } else {
            iomap::fiemap::<FileMap>(inode, info, start, len)
        }
    }

    fn fileattr_get(inode: &Inode) -> Result<u32> {
        super::inode::fs_flags(inode)
    }

    fn fileattr_set(
        idmap: &Idmap,
        dentry: &Dentry,
        fa: &crate::vfs::inode::ops::FileAttr,
    ) -> Result {
        super::inode::fileattr_set(idmap, dentry, fa)
    }

    fn listxattr(dentry: &Dentry, list: &mut XattrList<'_>) -> Result {
        super::xattr::list(dentry, list)
    }

    fn get_acl(inode: &Inode, kind: AclType) -> Result<Option<PosixAcl>> {
        super::xattr::get_acl(inode, kind)
    }

    fn set_acl(idmap: &Idmap, dentry: &Dentry, acl: Option<AclRef<'_>>, kind: AclType) -> Result {
        super::xattr::set_acl(idmap, dentry, acl, kind)
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
        super::space::fallocate(file, mode, off, len)
    }

    fn mmap(file: &File, vma: &VmArea) -> Result {
        dax::fault::mmap(file, vma)
    }

    fn ioctl(file: &File, cmd: u32, arg: IoctlArg) -> Result<i64> {
        super::ioctl::ioctl(file, cmd, arg)
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

/// The iomap of a file's extended attributes, for FIEMAP (`FIEMAP_FLAG_XATTR`): the attribute
/// block at offset 0, when the inode has one. Attributes kept in the inode record have no
/// extent of their own (as XFS reports none for its short-form attributes): `ENOENT`, which
/// ends the walk, past the block or without one.
pub(crate) struct XattrMap;

#[vtable]
impl iomap::Operations for XattrMap {
    type FileSystem = Ferrite;

    fn begin<'a>(inode: &'a Inode, pos: u64, _length: u64, _flags: Flags) -> Result<Mapping<'a>> {
        let mount = mount_of(inode.super_block())?;
        let ino = inode.ino();
        let block = mount.tx(|ctx| Ok(ctx.read_inode(ino)?.xattr))?;
        if block == 0 || pos >= BLOCK_SIZE as u64 {
            return Err(ENOENT);
        }
        Ok(Mapping::Mapped {
            offset: 0,
            length: BLOCK_SIZE as u64,
            addr: block.checked_mul(BLOCK_SIZE as u64).ok_or(EINVAL)?,
            new: false,
            dax: mount.dax(),
        })
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
pub(super) fn zero_extent(mount: &Mount, e: &Extent) -> Result<(), FmtError<Error>> {
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
            addr: e.physical << BLOCK_SHIFT,
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
        // As ext4: a file opened for writing before it became immutable takes no more writes.
        if inode.is_immutable() {
            return Err(EPERM);
        }
        if iocb.write_checks(from)? == 0 {
            return Ok(0);
        }
        file.modified()?;
        let start = u64::try_from(iocb.pos()).unwrap_or(0);
        let old = inode.size();
        if start > old {
            // The gap reads as zeroes, whatever a crash left past the old end.
            super::space::zero_eof(mount, inode.ino(), old, start)?;
        }
        let n = dax::rw::rw(iocb, from)?;
        let end = u64::try_from(iocb.pos()).unwrap_or(0);
        // The trace build records the data the kernel just copied into the file's blocks.
        #[cfg(ferrite_trace)]
        super::space::for_each_mapped(mount, inode.ino(), start, end, |phys, len| {
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

/// `fsync`/`fdatasync`: metadata is durable when each operation returns; data written through
/// `write` is in pmem with non-temporal stores, which a fence makes durable; data stored through
/// mappings is flushed from the CPU caches by writeback of the dirty DAX entries.
pub(crate) fn fsync(file: &File, start: i64, end: i64, _datasync: bool) -> Result {
    // After a shutdown nothing more reaches the media, so nothing can be made durable: `EIO`,
    // as ext4 and XFS answer.
    mount_of(file.inode().super_block())?.check_up()?;
    // Stores through mappings: flush the cache lines of the dirty DAX entries (writepages).
    file.write_and_wait(start, end)?;
    pmem::fence();
    Ok(())
}
