// SPDX-License-Identifier: GPL-2.0

//! A safe abstraction of the kernel's iomap (`struct iomap_ops`, `struct iomap`).
//!
//! C header: [`include/linux/iomap.h`](srctree/include/linux/iomap.h).
//!
//! ferrite answers `iomap_begin` with a typed [`Mapping`]; the trampoline fills in the C
//! `struct iomap` (the block device and DAX device of the mount included). The kernel's DAX read
//! and write path, SEEK_HOLE/SEEK_DATA and FIEMAP all walk a file through these operations.

use crate::bindings;
use crate::vfs::Inode;
use kernel::ffi;
use kernel::prelude::*;

/// What the file holds at an offset, as `iomap_begin` reports it. Offsets and lengths are bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mapping {
    /// No blocks: reads see zeros.
    Hole {
        /// File offset of the hole.
        offset: u64,
        /// Its length.
        length: u64,
    },
    /// Blocks at device byte `addr`.
    Mapped {
        /// File offset of the mapping.
        offset: u64,
        /// Its length.
        length: u64,
        /// Device byte address.
        addr: u64,
        /// Allocated by this call (and already zeroed).
        new: bool,
    },
}

/// The `IOMAP_*` operation flags of a request.
#[derive(Clone, Copy)]
pub(crate) struct Request(u32);

impl Request {
    /// A write: holes must be allocated.
    pub(crate) fn write(self) -> bool {
        self.0 & bindings::IOMAP_WRITE != 0
    }

    /// Zeroing (`IOMAP_ZERO`): holes may stay holes.
    pub(crate) fn zero(self) -> bool {
        self.0 & bindings::IOMAP_ZERO != 0
    }

    /// A page fault (`IOMAP_FAULT`): the DAX core maps the range's pages into user space.
    pub(crate) fn fault(self) -> bool {
        self.0 & bindings::IOMAP_FAULT != 0
    }

    /// Must not block (`IOMAP_NOWAIT`).
    pub(crate) fn nowait(self) -> bool {
        self.0 & bindings::IOMAP_NOWAIT != 0
    }
}

/// The iomap operations of ferrite's files.
pub(crate) static IOMAP_OPS: bindings::iomap_ops = bindings::iomap_ops {
    iomap_begin: Some(iomap_begin),
    iomap_end: None,
};

/// `iomap_ops::iomap_begin`.
///
/// # Safety
///
/// Called by the iomap core with a valid ferrite inode and writable `iomap`.
unsafe extern "C" fn iomap_begin(
    inode: *mut bindings::inode,
    pos: bindings::loff_t,
    length: bindings::loff_t,
    flags: ffi::c_uint,
    iomap: *mut bindings::iomap,
    _srcmap: *mut bindings::iomap,
) -> ffi::c_int {
    // SAFETY: the iomap core passes a valid, referenced inode.
    let inode = unsafe { Inode::from_raw(inode) };
    let (Ok(pos), Ok(length)) = (u64::try_from(pos), u64::try_from(length)) else {
        return EINVAL.to_errno();
    };
    let Some(mount) = inode.super_block().mount() else {
        return EIO.to_errno();
    };
    let m = match crate::fs::file::iomap_begin(inode, pos, length, Request(flags)) {
        Ok(m) => m,
        Err(e) => return e.to_errno(),
    };
    let (ty, fl, offset, len, addr) = match m {
        Mapping::Hole { offset, length } => (bindings::IOMAP_HOLE, 0, offset, length, u64::MAX),
        Mapping::Mapped {
            offset,
            length,
            addr,
            new,
        } => (
            bindings::IOMAP_MAPPED,
            if new { bindings::IOMAP_F_NEW } else { 0u32 },
            offset,
            length,
            addr,
        ),
    };
    // SAFETY: `iomap` is writable for this call; the block device and DAX device stay valid for
    // as long as the super block, which outlives the inode.
    unsafe {
        (*iomap).type_ = ty as u16;
        (*iomap).flags = fl as u16;
        (*iomap).offset = offset as bindings::loff_t;
        (*iomap).length = len;
        (*iomap).addr = addr;
        (*iomap).bdev = (*(*inode.as_ptr()).i_sb).s_bdev;
        (*iomap).dax_dev = mount.dax_ptr();
    }
    0
}
