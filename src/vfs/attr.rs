// SPDX-License-Identifier: GPL-2.0

//! Attributes: the id map of a mount, attribute changes (`struct iattr`), `stat` and `statfs`
//! results (`struct kstat`, `struct kstatfs`).
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/stat.h`](srctree/include/linux/stat.h),
//! [`include/linux/statfs.h`](srctree/include/linux/statfs.h).

use super::{Dentry, FileSystem, Inode};
use crate::bindings;
use kernel::prelude::*;
use kernel::types::Opaque;

/// The id mapping of the mount an operation came through.
///
/// # Invariants
///
/// The wrapped `mnt_idmap` is valid while the wrapper is borrowed.
#[repr(transparent)]
pub(crate) struct Idmap(Opaque<bindings::mnt_idmap>);

impl Idmap {
    /// Borrows the id map behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid id map for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::mnt_idmap) -> &'a Self {
        // SAFETY: transparent wrapper.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::mnt_idmap {
        self.0.get()
    }
}

/// Requested attribute changes (`struct iattr`), borrowed for a `setattr` callback.
///
/// # Invariants
///
/// The wrapped `iattr` is valid, and not changed by others, while the wrapper is borrowed.
#[repr(transparent)]
pub(crate) struct Iattr(Opaque<bindings::iattr>);

impl Iattr {
    /// The `ATTR_*` bits.
    pub(crate) fn valid(&self) -> u32 {
        // SAFETY: the iattr is valid for the callback.
        unsafe { (*self.0.get()).ia_valid }
    }

    /// The requested size (with `ATTR_SIZE`).
    pub(crate) fn size(&self) -> i64 {
        // SAFETY: as above.
        unsafe { (*self.0.get()).ia_size }
    }

    /// Checks the change is permitted (`setattr_prepare`).
    pub(crate) fn prepare<T: FileSystem>(&self, idmap: &Idmap, dentry: &Dentry<T>) -> Result {
        // SAFETY: all three are valid for the callback.
        kernel::error::to_result(unsafe {
            bindings::setattr_prepare(idmap.as_ptr(), dentry.as_ptr(), self.0.get())
        })
    }

    /// Copies the non-size changes into the inode (`setattr_copy`).
    pub(crate) fn copy_to<T: FileSystem>(&self, idmap: &Idmap, inode: &Inode<T>) {
        // SAFETY: all three are valid; the caller holds the inode lock.
        unsafe { bindings::setattr_copy(idmap.as_ptr(), inode.as_ptr(), self.0.get()) };
    }
}

/// A `stat` result being filled in, borrowed for a `getattr` callback.
///
/// # Invariants
///
/// The wrapped `kstat` is valid and written by this callback only while the wrapper is borrowed.
#[repr(transparent)]
pub(crate) struct Kstat(Opaque<bindings::kstat>);

impl Kstat {
    /// Fills in everything the inode has (`generic_fillattr`).
    pub(crate) fn fill<T: FileSystem>(&self, idmap: &Idmap, mask: u32, inode: &Inode<T>) {
        // SAFETY: all valid for the callback.
        unsafe { bindings::generic_fillattr(idmap.as_ptr(), mask, inode.as_ptr(), self.0.get()) };
    }

    /// Adds `STATX_ATTR_*` attributes `set` to those reported, and `supported` to those the
    /// filesystem says it knows (`stx_attributes_mask`).
    pub(crate) fn add_attributes(&self, set: u64, supported: u64) {
        let s = self.0.get();
        // SAFETY: the kstat is valid and being filled in by this callback only.
        unsafe {
            (*s).attributes |= set & supported;
            (*s).attributes_mask |= supported;
        }
    }

    /// Adds the birth time.
    pub(crate) fn set_btime(&self, sec: i64, nsec: u32) {
        let s = self.0.get();
        // SAFETY: the kstat is valid and being filled in by this callback only.
        unsafe {
            (*s).btime.tv_sec = sec;
            (*s).btime.tv_nsec = nsec as _;
            (*s).result_mask |= bindings::STATX_BTIME;
        }
    }
}

/// `statfs` results being filled in, borrowed for a `statfs` callback.
///
/// # Invariants
///
/// As for [`Kstat`].
#[repr(transparent)]
pub(crate) struct Kstatfs(Opaque<bindings::kstatfs>);

/// The values of `statfs`.
pub(crate) struct StatfsValues {
    pub(crate) magic: u64,
    pub(crate) bsize: u64,
    pub(crate) blocks: u64,
    pub(crate) bfree: u64,
    pub(crate) files: u64,
    pub(crate) ffree: u64,
    pub(crate) fsid: u64,
    pub(crate) namelen: u64,
}

impl Kstatfs {
    /// Stores the values.
    pub(crate) fn set(&self, v: &StatfsValues) {
        let s = self.0.get();
        // SAFETY: the kstatfs is valid and filled in by this callback only.
        unsafe {
            (*s).f_type = v.magic as _;
            (*s).f_bsize = v.bsize as _;
            (*s).f_frsize = v.bsize as _;
            (*s).f_blocks = v.blocks;
            (*s).f_bfree = v.bfree;
            (*s).f_bavail = v.bfree;
            (*s).f_files = v.files;
            (*s).f_ffree = v.ffree;
            (*s).f_fsid.val[0] = v.fsid as u32 as _;
            (*s).f_fsid.val[1] = (v.fsid >> 32) as u32 as _;
            (*s).f_namelen = v.namelen as _;
        }
    }
}
