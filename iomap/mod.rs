// SPDX-License-Identifier: GPL-2.0

//! The iomap layer: a safe abstraction of the kernel's iomap (`struct iomap_ops`,
//! `struct iomap`), over which the DAX core reads, writes and faults files, and FIEMAP and
//! `SEEK_HOLE`/`SEEK_DATA` walk them.
//!
//! C header: [`include/linux/iomap.h`](srctree/include/linux/iomap.h); the contract is
//! `Documentation/filesystems/iomap/` (design.rst, operations.rst).
//!
//! This layer never knows the filesystem: a filesystem implements [`Operations`] and gets its
//! `iomap_ops` table from [`ops`]; the walks here take that table from the trait. Nothing here
//! names a type or function of `fs/`.

use crate::bindings;
use crate::dax::device::DaxDevice;
use crate::vfs::inode::ops::FiemapInfo;
use crate::vfs::{errno, FileSystem, Inode};
use core::marker::PhantomData;
use kernel::error::VTABLE_DEFAULT_ERROR;
use kernel::ffi;
use kernel::prelude::*;

/// The `IOMAP_*` operation flags of a request: what the iomap core is about to do with the
/// mapping.
#[derive(Clone, Copy)]
pub(crate) struct Flags(u32);

impl Flags {
    /// A write (`IOMAP_WRITE`): holes must be allocated.
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

    /// Must not block (`IOMAP_NOWAIT`): return `EAGAIN` rather than sleep.
    pub(crate) fn nowait(self) -> bool {
        self.0 & bindings::IOMAP_NOWAIT != 0
    }

    /// A walk of the DAX core (`IOMAP_DAX`), which addresses the DAX device.
    pub(crate) fn dax(self) -> bool {
        self.0 & bindings::IOMAP_DAX != 0
    }
}

/// What the file holds at an offset, as [`Operations::begin`] reports it. Offsets and lengths
/// are bytes; the mapping starts at or before the requested position and covers it.
#[derive(Clone, Copy)]
pub(crate) enum Mapping<'a> {
    /// No blocks (`IOMAP_HOLE`): reads see zeros.
    Hole {
        /// File offset of the hole.
        offset: u64,
        /// Its length.
        length: u64,
    },
    /// Blocks at device byte `addr` (`IOMAP_MAPPED`).
    Mapped {
        /// File offset of the mapping.
        offset: u64,
        /// Its length.
        length: u64,
        /// Byte address on the filesystem's block device. The DAX core's walks (`IOMAP_DAX`)
        /// get it as an address on the DAX device (the partition's start added, as ext4 does);
        /// FIEMAP and `FIBMAP` get the block device address.
        addr: u64,
        /// The blocks were allocated by this call and zeroed (`IOMAP_F_NEW`).
        new: bool,
        /// The DAX device the blocks are on, for DAX access to them.
        dax: &'a DaxDevice,
    },
}

/// The iomap operations of a filesystem's files.
///
/// The contract, from `Documentation/filesystems/iomap/operations.rst`:
/// - [`begin`](Self::begin) is called with the locks the caller of the iomap walk holds: for
///   reads and writes the inode lock (shared or exclusive, by the filesystem's own rules), for
///   page faults the mapping's `invalidate_lock` shared (and `mmap_lock`), for FIEMAP and SEEK
///   whatever the filesystem's callback took. It must not take locks that order before those.
/// - `flags` say what the core will do (see [`Flags`]); a write or fault that needs blocks must
///   get a mapping (allocating) or fail; with `IOMAP_NOWAIT` it must not sleep.
/// - The mapping may be shorter than asked but must cover `pos`; the core calls again for the
///   rest.
/// - [`end`](Self::end), if implemented, is called after the core used the mapping, with the
///   bytes it actually processed (`written`, which may be short or 0 on error): it must undo what
///   `begin` reserved for the part not processed (delayed allocations, reservations, locks taken
///   in `begin`). A filesystem whose `begin` leaves nothing to undo does not implement it.
/// - `IOMAP_F_DIRTY` ("the mapping needs a metadata commit before the data is durable") is not
///   offered: a filesystem using this layer makes its mapping metadata durable inside `begin`, so
///   a `MAP_SYNC` fault never has to wait for it.
#[vtable]
pub(crate) trait Operations {
    /// The filesystem whose files these are.
    type FileSystem: FileSystem;

    /// Returns the existing mapping at `pos`, or reserves space starting at `pos` for up to
    /// `length` bytes (allocating for writes and faults), as long as it can be done as a single
    /// mapping.
    fn begin<'a>(
        inode: &'a Inode<Self::FileSystem>,
        pos: u64,
        length: u64,
        flags: Flags,
    ) -> Result<Mapping<'a>>;

    /// Ends the use of a mapping from [`begin`](Self::begin) at `pos`, of which `written` of
    /// `length` bytes were processed.
    fn end(
        _inode: &Inode<Self::FileSystem>,
        _pos: u64,
        _length: u64,
        _written: u64,
        _flags: Flags,
    ) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The `iomap_ops` table of `M`.
struct IomapTable<M>(PhantomData<M>);

impl<M: Operations> IomapTable<M> {
    const OPS: bindings::iomap_ops = bindings::iomap_ops {
        iomap_begin: Some(iomap_begin::<M>),
        iomap_end: if M::HAS_END {
            Some(iomap_end::<M>)
        } else {
            None
        },
    };
}

/// The `iomap_ops` table of `M`, for the iomap and DAX calls that walk a file.
pub(crate) fn ops<M: Operations>() -> &'static bindings::iomap_ops {
    &IomapTable::<M>::OPS
}

/// `iomap_ops::iomap_begin`.
///
/// # Safety
///
/// Called by the iomap core with a valid, referenced inode of `M::FileSystem` (one whose walks
/// were given `M`'s table) and a writable `iomap`.
unsafe extern "C" fn iomap_begin<M: Operations>(
    inode: *mut bindings::inode,
    pos: bindings::loff_t,
    length: bindings::loff_t,
    flags: ffi::c_uint,
    iomap: *mut bindings::iomap,
    _srcmap: *mut bindings::iomap,
) -> ffi::c_int {
    // SAFETY: as the function's contract.
    let inode = unsafe { Inode::<M::FileSystem>::from_raw(inode) };
    let (Ok(pos), Ok(length)) = (u64::try_from(pos), u64::try_from(length)) else {
        return EINVAL.to_errno();
    };
    let flags = Flags(flags);
    let m = match M::begin(inode, pos, length, flags) {
        Ok(m) => m,
        Err(e) => return e.to_errno(),
    };
    let (ty, fl, offset, len, addr, dax) = match m {
        Mapping::Hole { offset, length } => (
            bindings::IOMAP_HOLE,
            0,
            offset,
            length,
            u64::MAX,
            core::ptr::null_mut(),
        ),
        Mapping::Mapped {
            offset,
            length,
            addr,
            new,
            dax,
        } => (
            bindings::IOMAP_MAPPED,
            if new { bindings::IOMAP_F_NEW } else { 0u32 },
            offset,
            length,
            if flags.dax() {
                let Some(a) = addr.checked_add(dax.start_off()) else {
                    return EINVAL.to_errno();
                };
                a
            } else {
                addr
            },
            dax.as_ptr(),
        ),
    };
    let Ok(offset) = bindings::loff_t::try_from(offset) else {
        return EINVAL.to_errno();
    };
    // SAFETY: `iomap` is writable for this call (the contract); the block device and the DAX
    // device stay valid for as long as the super block, which outlives the inode.
    unsafe {
        (*iomap).type_ = ty as u16;
        (*iomap).flags = fl as u16;
        (*iomap).offset = offset;
        (*iomap).length = len;
        (*iomap).addr = addr;
        (*iomap).bdev = inode.super_block().bdev();
        (*iomap).dax_dev = dax;
    }
    0
}

/// `iomap_ops::iomap_end`.
///
/// # Safety
///
/// As for [`iomap_begin`], with the `iomap` that call filled in.
unsafe extern "C" fn iomap_end<M: Operations>(
    inode: *mut bindings::inode,
    pos: bindings::loff_t,
    length: bindings::loff_t,
    written: isize,
    flags: ffi::c_uint,
    _iomap: *mut bindings::iomap,
) -> ffi::c_int {
    // SAFETY: as the function's contract.
    let inode = unsafe { Inode::<M::FileSystem>::from_raw(inode) };
    let (Ok(pos), Ok(length)) = (u64::try_from(pos), u64::try_from(length)) else {
        return EINVAL.to_errno();
    };
    let written = u64::try_from(written).unwrap_or(0);
    errno(M::end(inode, pos, length, written, Flags(flags)))
}

/// FIEMAP over `M`'s mappings (`iomap_fiemap`): bytes `start..start + len` of `inode`.
pub(crate) fn fiemap<M: Operations>(
    inode: &Inode<M::FileSystem>,
    info: &FiemapInfo,
    start: u64,
    len: u64,
) -> Result {
    // SAFETY: the inode and request are valid (their type invariants); `M`'s table is `'static`
    // and its `iomap_begin` is for `M::FileSystem`, the inode's filesystem.
    kernel::error::to_result(unsafe {
        bindings::iomap_fiemap(inode.as_ptr(), info.as_ptr(), start, len, ops::<M>())
    })
}

/// `SEEK_HOLE` (`hole`) or `SEEK_DATA` from `off` over `M`'s mappings (`iomap_seek_hole`,
/// `iomap_seek_data`): the offset found, `ENXIO` past the end. The caller holds the inode lock.
pub(crate) fn seek<M: Operations>(
    inode: &Inode<M::FileSystem>,
    off: i64,
    hole: bool,
) -> Result<i64> {
    // SAFETY: as in `fiemap`; the caller holds the inode lock, which these walks need.
    let pos = unsafe {
        if hole {
            bindings::iomap_seek_hole(inode.as_ptr(), off, ops::<M>())
        } else {
            bindings::iomap_seek_data(inode.as_ptr(), off, ops::<M>())
        }
    };
    if pos < 0 {
        return Err(i32::try_from(pos).map_or(EIO, Error::from_errno));
    }
    Ok(pos)
}
