// SPDX-License-Identifier: GPL-2.0

//! Export handles (`struct export_operations`): `name_to_handle_at`, `open_by_handle_at` and NFS
//! export.
//!
//! C header: [`include/linux/exportfs.h`](srctree/include/linux/exportfs.h). Handles are the
//! kernel's default ones (`FILEID_INO32_GEN`, and `_PARENT` with the directory): inode number and
//! generation, encoded by the kernel's `generic_encode_ino32_fh`. Decoding is the generic helpers'
//! (`generic_fh_to_dentry`, `generic_fh_to_parent`) around the filesystem's [`Export`]
//! methods, which must answer `ESTALE` for an inode that no longer exists or was reused.

use super::{FileSystem, Inode, SuperBlock};
use crate::bindings;
use core::marker::PhantomData;
use kernel::prelude::*;
use kernel::types::ARef;

/// A filesystem whose files can be found again from export handles.
pub(crate) trait Export: FileSystem {
    /// The inode `ino` if it still exists with generation `generation` (0: any), else
    /// `ESTALE`.
    fn export_inode(sb: &SuperBlock<Self>, ino: u64, generation: u32) -> Result<ARef<Inode<Self>>>;

    /// The parent directory of directory `dir`.
    fn export_parent(dir: &Inode<Self>) -> Result<ARef<Inode<Self>>>;
}

/// The `export_operations` of `T`.
pub(crate) struct ExportTable<T>(PhantomData<T>);

impl<T: Export> ExportTable<T> {
    const TABLE: bindings::export_operations = bindings::export_operations {
        encode_fh: Some(bindings::generic_encode_ino32_fh),
        fh_to_dentry: Some(fh_to_dentry::<T>),
        fh_to_parent: Some(fh_to_parent::<T>),
        get_parent: Some(get_parent::<T>),
        ..super::empty_table()
    };
}

impl<T: Export> SuperBlock<T> {
    /// Makes the filesystem exportable (`s_export_op`). Called from `fill_super`.
    pub(crate) fn init_export(&self) {
        let t: &'static bindings::export_operations = &ExportTable::<T>::TABLE;
        // SAFETY: the super block is being filled in and not yet visible; the table is 'static.
        unsafe { (*self.as_ptr()).s_export_op = t };
    }
}

/// The `get_inode` callback of the generic helpers.
///
/// # Safety
///
/// Called by `generic_fh_to_dentry`/`_parent` with a valid super block of `T`.
unsafe extern "C" fn get_inode<T: Export>(
    sb: *mut bindings::super_block,
    ino: u64,
    generation: u32,
) -> *mut bindings::inode {
    // SAFETY: the caller's guarantee.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    match T::export_inode(sb, ino, generation) {
        Ok(i) => ARef::into_raw(i).as_ptr().cast(),
        Err(e) => e.to_ptr(),
    }
}

/// `fh_to_dentry`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks): `fid` holds `fh_len` words.
unsafe extern "C" fn fh_to_dentry<T: Export>(
    sb: *mut bindings::super_block,
    fid: *mut bindings::fid,
    fh_len: kernel::ffi::c_int,
    fh_type: kernel::ffi::c_int,
) -> *mut bindings::dentry {
    // SAFETY: the contract; the helper takes the reference `get_inode` returns.
    unsafe { bindings::generic_fh_to_dentry(sb, fid, fh_len, fh_type, Some(get_inode::<T>)) }
}

/// `fh_to_parent`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks): `fid` holds `fh_len` words.
unsafe extern "C" fn fh_to_parent<T: Export>(
    sb: *mut bindings::super_block,
    fid: *mut bindings::fid,
    fh_len: kernel::ffi::c_int,
    fh_type: kernel::ffi::c_int,
) -> *mut bindings::dentry {
    // SAFETY: the contract; the helper takes the reference `get_inode` returns.
    unsafe { bindings::generic_fh_to_parent(sb, fid, fh_len, fh_type, Some(get_inode::<T>)) }
}

/// `get_parent`: the dentry of the parent of directory `child`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks): a valid directory dentry of `T`.
unsafe extern "C" fn get_parent<T: Export>(child: *mut bindings::dentry) -> *mut bindings::dentry {
    // SAFETY: the contract: a valid, positive dentry of `T`.
    let Some(dir) = (unsafe { super::Dentry::<T>::from_raw(child) }).inode() else {
        return ENOENT.to_ptr();
    };
    match T::export_parent(dir) {
        // SAFETY: `d_obtain_alias` takes the inode reference (also on failure).
        Ok(p) => unsafe { bindings::d_obtain_alias(ARef::into_raw(p).as_ptr().cast()) },
        Err(e) => e.to_ptr(),
    }
}
