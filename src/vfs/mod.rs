// SPDX-License-Identifier: GPL-2.0

//! The VFS layer: safe abstractions of the kernel's VFS objects and operation tables.
//!
//! This layer never knows the filesystem. It wraps one C object per file (super block, inode,
//! dentry, file, kiocb and iov_iter, dir_context, iattr and kstat, mount context) and, where the
//! C object has an operations table, declares a `#[vtable]` trait whose generic trampolines and
//! `const` table live beside it: [`FileSystem`] (`file_system_type`, `super_operations`),
//! [`InodeOperations`] (`inode_operations`), [`FileOperations`] (`file_operations`). A
//! filesystem implements the traits; its data is reached through a [`SuperBlock<T>`] typed by
//! the filesystem. Nothing here names a type or function of `fs/`.
//!
//! # Callbacks
//!
//! Every `unsafe extern "C"` trampoline in this folder has one contract, written here once: the
//! VFS calls it with the arguments and locks that `Documentation/filesystems/vfs.rst` and
//! `Documentation/filesystems/locking.rst` specify for that operation, on objects of a super block
//! of the filesystem type `T` the table was built for. That last part holds because the tables
//! are installed only by this layer, on `T`'s own objects: the super operations by
//! [`SuperBlock::init`], the inode and file operations by [`NewInode::fill`] with an
//! [`inode::Ops<T>`].
//!
//! # Lock order
//!
//! The order of the locks the VFS and the DAX core take, which every filesystem callback
//! inherits and must keep (from the outermost):
//!
//! 1. `mmap_lock` (held by the memory manager around a page fault);
//! 2. freeze protection (`sb_start_write`, `sb_start_pagefault`);
//! 3. `i_rwsem` of the inodes (parent directory before child; [`Inode::lock`]);
//! 4. the mapping's `invalidate_lock` ([`Inode::invalidate_lock`]);
//! 5. the filesystem's own locks (see its documentation);
//! 6. `i_lock` (a spinlock: [`Inode::set_blocks`] takes it for the one update it protects).

pub(crate) mod attr;
pub(crate) mod dentry;
pub(crate) mod dir_context;
pub(crate) mod export;
pub(crate) mod file;
pub(crate) mod fs_context;
pub(crate) mod fs_type;
pub(crate) mod inode;
pub(crate) mod kiocb;
pub(crate) mod super_block;
pub(crate) mod xattr;

pub(crate) use attr::{Iattr, Idmap, Kstat, Kstatfs, StatfsValues};
pub(crate) use dentry::Dentry;
pub(crate) use dir_context::DirContext;
pub(crate) use file::{File, FileOperations, VmArea};
pub(crate) use fs_context::FsContext;
pub(crate) use fs_type::FileSystem;
pub(crate) use inode::{Attrs, Iget, Inode, InodeOperations, NewInode};
pub(crate) use kiocb::{IovIter, Kiocb};
pub(crate) use super_block::SuperBlock;

use kernel::ffi;
use kernel::prelude::*;

/// Whether the calling task has `CAP_SYS_ADMIN` (`capable`, which also marks the task as having
/// used it).
pub(crate) fn capable_sys_admin() -> bool {
    // SAFETY: `capable` only reads the current task's credentials.
    unsafe { crate::bindings::capable(crate::bindings::CAP_SYS_ADMIN as ffi::c_int) }
}

/// Turns a `Result` into the errno convention of VFS callbacks (0 or a negative errno).
pub(crate) fn errno(r: Result) -> ffi::c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Turns a byte count or an error into the `ssize_t` convention.
fn ssize(r: Result<usize>) -> isize {
    match r {
        Ok(n) => isize::try_from(n).unwrap_or(isize::MAX),
        Err(e) => e.to_errno() as isize,
    }
}

/// A C operations table for which all zeroes is a valid value: the empty table, every operation
/// NULL.
///
/// # Safety
///
/// Every field of the type must be a nullable function pointer, a nullable pointer or an
/// integer.
pub(crate) unsafe trait OpsTable: Sized {}

// SAFETY: `inode_operations` is a table of nullable function pointers.
unsafe impl OpsTable for crate::bindings::inode_operations {}
// SAFETY: `file_operations` holds nullable function pointers, an `owner` pointer (NULL is no
// module) and `fop_flags`, an integer.
unsafe impl OpsTable for crate::bindings::file_operations {}
// SAFETY: `super_operations` is a table of nullable function pointers.
unsafe impl OpsTable for crate::bindings::super_operations {}
// SAFETY: `address_space_operations` is a table of nullable function pointers.
unsafe impl OpsTable for crate::bindings::address_space_operations {}
// SAFETY: `vm_operations_struct` holds nullable function pointers and a `name` function pointer.
unsafe impl OpsTable for crate::bindings::vm_operations_struct {}
// SAFETY: `export_operations` holds nullable function pointers and `flags`, an integer.
unsafe impl OpsTable for crate::bindings::export_operations {}

/// The empty table of type `T`, for the fields a table built from a trait leaves out.
pub(crate) const fn empty_table<T: OpsTable>() -> T {
    // SAFETY: all zeroes is a valid `T` (the `OpsTable` contract).
    unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}
