// SPDX-License-Identifier: GPL-2.0

//! The DAX device under a mounted filesystem.
//!
//! C header: [`include/linux/dax.h`](srctree/include/linux/dax.h) (`fs_dax_get_by_bdev`,
//! `dax_direct_access`).

use crate::bindings;
use crate::pmem::Pmem;
use crate::vfs::{FileSystem, SuperBlock};
use core::ptr::NonNull;
use kernel::prelude::*;

/// A reference to the DAX device of a block device, released on drop.
///
/// # Invariants
///
/// `ptr` was returned by `fs_dax_get_by_bdev` with a `NULL` holder and is released exactly once, by
/// `fs_put_dax` in `drop`.
pub(crate) struct DaxDevice {
    ptr: NonNull<bindings::dax_device>,
    start_off: u64,
    /// The page frame of the block device's first byte, once [`map`](Self::map) has mapped it.
    first_pfn: Option<u64>,
}

// SAFETY: A dax device reference may be used and released from any thread.
unsafe impl Send for DaxDevice {}
// SAFETY: The methods taking `&self` only call thread-safe dax core functions.
unsafe impl Sync for DaxDevice {}

impl DaxDevice {
    /// The DAX device behind the block device of super block `sb`, or `None` if the device
    /// cannot do DAX. The result holds its own reference to the DAX device (`igrab` of its
    /// inode in `fs_dax_get_by_bdev`), so it may outlive the block device being open.
    pub(crate) fn of<T: FileSystem>(sb: &SuperBlock<T>) -> Option<Self> {
        let mut start_off = 0u64;
        // SAFETY: the block device of a live super block is valid for the call; `start_off` is a
        // valid out-pointer; a `NULL` holder and ops claim nothing.
        let ptr = unsafe {
            bindings::fs_dax_get_by_bdev(
                sb.bdev(),
                &mut start_off,
                core::ptr::null_mut(),
                core::ptr::null(),
            )
        };
        // INVARIANT: a non-NULL result is a reference we now own.
        NonNull::new(ptr).map(|ptr| Self {
            ptr,
            start_off,
            first_pfn: None,
        })
    }

    /// The raw pointer, for `struct iomap::dax_dev`.
    pub(crate) fn as_ptr(&self) -> *mut bindings::dax_device {
        self.ptr.as_ptr()
    }

    /// Byte offset of the block device in the DAX device (a partition's start): device byte
    /// addresses in iomaps for DAX are block device addresses plus this.
    pub(crate) fn start_off(&self) -> u64 {
        self.start_off
    }

    /// The page frame number of the block device's first page (the device is mapped in one
    /// piece, so block `b` is page frame `first_pfn + b`); `None` before [`map`](Self::map).
    pub(crate) fn first_pfn(&self) -> Option<u64> {
        self.first_pfn
    }

    /// Maps the `len` bytes of the device that the block device covers into the kernel's address
    /// space. Fails with `EIO` if part of the range is unavailable (for example because of known
    /// media errors).
    pub(crate) fn map(&mut self, len: u64) -> Result<Pmem> {
        let page = kernel::page::PAGE_SIZE as u64;
        if len == 0 || len % page != 0 || self.start_off % page != 0 {
            return Err(EINVAL);
        }
        let nr_pages = ffi_long(len / page)?;
        let pgoff = self.start_off / page;
        let mut kaddr: *mut core::ffi::c_void = core::ptr::null_mut();
        let mut pfn = bindings::pfn_t { val: 0 };
        // SAFETY: `dax_read_lock` has no precondition; the id is given back below.
        let id = unsafe { bindings::ferrite_dax_read_lock() };
        // SAFETY: `self.ptr` is a live dax device by the type invariant; `kaddr` and `pfn` are
        // valid out-pointers.
        let got = unsafe {
            bindings::dax_direct_access(
                self.ptr.as_ptr(),
                pgoff as _,
                nr_pages,
                bindings::dax_access_mode_DAX_ACCESS,
                &mut kaddr,
                &mut pfn,
            )
        };
        // SAFETY: `id` came from the `dax_read_lock` above.
        unsafe { bindings::ferrite_dax_read_unlock(id) };
        if got < nr_pages {
            return Err(EIO);
        }
        let base = NonNull::new(kaddr.cast::<u8>()).ok_or(EIO)?;
        // SAFETY: converts a value, no precondition.
        self.first_pfn = Some(unsafe { bindings::ferrite_pfn_t_to_pfn(pfn) } as u64);
        let len = usize::try_from(len).map_err(|_| EINVAL)?;
        // SAFETY: `dax_direct_access` returned a kernel mapping of at least `nr_pages` pages of the
        // device. The device stays mapped while the mount holds its block device open, and the
        // filesystem's data, which owns the `Pmem`, is used only while that holds (its last
        // writes are in `put_super`, before `kill_block_super` closes the block device).
        Ok(unsafe { Pmem::new(base, len) })
    }
}

/// Converts a page count to the C `long` that `dax_direct_access` takes.
fn ffi_long(n: u64) -> Result<kernel::ffi::c_long> {
    kernel::ffi::c_long::try_from(n).map_err(|_| EINVAL)
}

impl Drop for DaxDevice {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `self.ptr` is our reference, released only here.
        unsafe { bindings::fs_put_dax(self.ptr.as_ptr(), core::ptr::null_mut()) };
    }
}
