// SPDX-License-Identifier: GPL-2.0

//! Writeback of a DAX file's dirty entries: the address space operations of DAX files.
//!
//! A store through a shared DAX mapping dirties the entry of its page (or PMD) in the mapping;
//! `fsync`, `msync` and `sync` reach [`writepages`], which flushes the CPU cache lines of the
//! dirty entries (`dax_writeback_mapping_range`). What was written back is visible in the
//! kernel's own `dax_writeback_range` and `dax_writeback_one` tracepoints, without a second walk
//! of the dirty tags here.

use super::DaxFileSystem;
use crate::bindings;
use crate::vfs::{empty_table, Inode};
use core::marker::PhantomData;
use kernel::ffi;
use kernel::prelude::*;

/// The address space operations of `T`'s DAX files.
struct AopsTable<T>(PhantomData<T>);

impl<T: DaxFileSystem> AopsTable<T> {
    const AOPS: bindings::address_space_operations = bindings::address_space_operations {
        // No page cache: dirty tracking is the DAX core's, in the mapping's entries.
        dirty_folio: Some(bindings::noop_dirty_folio),
        writepages: Some(writepages::<T>),
        bmap: Some(bmap::<T>),
        ..empty_table()
    };
}

/// The address space operations of `T`'s DAX files.
pub(crate) const fn aops<T: DaxFileSystem>() -> &'static bindings::address_space_operations {
    &AopsTable::<T>::AOPS
}

/// `writepages`: flushes the cache lines of the dirty DAX entries of the range `wbc` asks for.
///
/// # Safety
///
/// Called by the writeback code with a valid mapping of an inode of `T` (the table is installed
/// only on `T`'s DAX files).
unsafe extern "C" fn writepages<T: DaxFileSystem>(
    mapping: *mut bindings::address_space,
    wbc: *mut bindings::writeback_control,
) -> ffi::c_int {
    // SAFETY: the mapping's host is a live inode of `T` while its pages are written back.
    let inode = unsafe { Inode::<T>::from_raw((*mapping).host) };
    let Some(dax) = T::dax_device(inode.super_block()) else {
        return EIO.to_errno();
    };
    // SAFETY: all three valid; the DAX device lives as long as the mount.
    unsafe { bindings::dax_writeback_mapping_range(mapping, dax.as_ptr(), wbc) }
}

/// `bmap` (the `FIBMAP` ioctl): the device block that file block `block` is in, or 0 for a hole,
/// from the filesystem's iomap (`iomap_bmap`, as ext4 and XFS answer it).
///
/// # Safety
///
/// Called by the VFS with a valid mapping of an inode of `T`.
unsafe extern "C" fn bmap<T: DaxFileSystem>(
    mapping: *mut bindings::address_space,
    block: bindings::sector_t,
) -> bindings::sector_t {
    // SAFETY: a valid mapping; the iomap operations table is `'static`.
    unsafe { bindings::iomap_bmap(mapping, block, crate::iomap::ops::<T::Iomap>()) }
}
