// SPDX-License-Identifier: GPL-2.0

//! Super blocks and their operations.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h) (`struct super_block`,
//! `struct super_operations`).

use super::{empty_table, errno, Dentry, FileSystem, Inode, Kstatfs};
use crate::bindings;
use core::marker::PhantomData;
use kernel::ffi;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A super block of filesystem `T`, borrowed for a VFS callback.
///
/// # Invariants
///
/// The wrapped super block is valid while the wrapper is borrowed; it is a block-device super
/// block (`s_bdev` set) of filesystem type `T`, whose `s_fs_info` is NULL or the `T::Data` that
/// [`FileSystem::fill_super`] returned, set by `fill_super::<T>` and dropped by `kill_sb::<T>`
/// after every inode and file of the super block is gone.
#[repr(transparent)]
pub(crate) struct SuperBlock<T: FileSystem>(Opaque<bindings::super_block>, PhantomData<T>);

impl<T: FileSystem> SuperBlock<T> {
    /// Borrows the super block behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid block-device super block of filesystem type `T` that stays
    /// valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::super_block) -> &'a Self {
        // SAFETY: `SuperBlock` is a transparent wrapper of `super_block`; the caller guarantees
        // the type invariant for `'a`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw pointer, for the abstractions.
    pub(crate) fn as_ptr(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    /// The block device, for the abstractions (iomaps name it; the DAX device is found from it).
    /// Valid until the super block is killed.
    pub(crate) fn bdev(&self) -> *mut bindings::block_device {
        // SAFETY: `s_bdev` is set before `fill_super` runs and not changed afterwards.
        unsafe { (*self.as_ptr()).s_bdev }
    }

    /// The mount's data (`s_fs_info`): `None` while `fill_super` has not set it yet.
    pub(crate) fn data(&self) -> Option<&T::Data> {
        // SAFETY: by the type invariant `s_fs_info` is NULL or a `T::Data` that lives until
        // `kill_sb`, after every callback that can borrow the super block; it is only written
        // by `fill_super::<T>`, before the super block is visible.
        unsafe { (*self.as_ptr()).s_fs_info.cast::<T::Data>().as_ref() }
    }

    /// The size of the block device in bytes.
    pub(crate) fn device_size(&self) -> u64 {
        // SAFETY: `s_bdev` is valid while the super block is (type invariant).
        let n = unsafe { bindings::ferrite_bdev_nr_bytes(self.bdev()) };
        u64::try_from(n).unwrap_or(0)
    }

    /// The device name (`s_id`), for messages.
    pub(crate) fn id(&self) -> &CStr {
        // SAFETY: `s_id` is a NUL-terminated array set when the super block was created, and it
        // does not change while the super block lives.
        unsafe { CStr::from_char_ptr((*self.as_ptr()).s_id.as_ptr()) }
    }

    /// Whether the super block is read-only (`sb_rdonly`).
    pub(crate) fn read_only(&self) -> bool {
        // SAFETY: `s_flags` is readable while the super block is valid; a racy read of a flag word
        // gives a value that was current at some point, which is all callers need.
        let flags = unsafe { (*self.as_ptr()).s_flags };
        flags & bindings::SB_RDONLY as ffi::c_ulong != 0
    }

    /// Whether the block device under the super block is read-only (`bdev_read_only`: the
    /// device's or the disk's flag, e.g. `blockdev --setro`). DAX stores do not go through the
    /// block layer, so nothing but the filesystem keeps them off such a device.
    pub(crate) fn device_read_only(&self) -> bool {
        // SAFETY: the super block is valid; its `s_bdev` is set before `fill_super` and stays
        // while the super block lives, and the helper only reads the device's flags.
        unsafe { bindings::ferrite_sb_bdev_read_only(self.as_ptr()) }
    }

    /// Sets a new super block up: magic, `T`'s super operations, size and link limits, 4 KiB
    /// blocks, UUID. Called from [`FileSystem::fill_super`].
    pub(crate) fn init(
        &self,
        magic: u64,
        max_bytes: u64,
        max_links: u32,
        uuid: &[u8; 16],
    ) -> Result {
        let max = i64::try_from(max_bytes).unwrap_or(i64::MAX);
        let ops: &'static bindings::super_operations = &SuperOpsTable::<T>::TABLE;
        // SAFETY: the super block is being filled in by `fill_super` and not yet visible; the
        // operations table is `'static`; `uuid` is 16 readable bytes.
        kernel::error::to_result(unsafe {
            bindings::ferrite_sb_init(
                self.as_ptr(),
                magic as ffi::c_ulong,
                core::ptr::from_ref(ops).cast(),
                max,
                max_links,
                uuid.as_ptr(),
            )
        })
    }

    /// Freeze protection for a write fault (`sb_start_pagefault`): a frozen filesystem waits
    /// here until it is thawed.
    pub(crate) fn start_pagefault(&self) -> PagefaultGuard<'_, T> {
        // SAFETY: the super block is valid (type invariant); the guard ends the protection.
        unsafe { bindings::ferrite_sb_start_pagefault(self.as_ptr()) };
        // INVARIANT: the protection was just taken.
        PagefaultGuard { sb: self }
    }
}

/// Freeze protection held for a page fault.
///
/// # Invariants
///
/// `sb_start_pagefault` was called on `sb` and is ended once, by `drop`.
pub(crate) struct PagefaultGuard<'a, T: FileSystem> {
    sb: &'a SuperBlock<T>,
}

impl<T: FileSystem> Drop for PagefaultGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the protection is held (type invariant).
        unsafe { bindings::ferrite_sb_end_pagefault(self.sb.as_ptr()) };
    }
}

/// A `seq_file` being written by `show_options`.
///
/// # Invariants
///
/// The wrapped `seq_file` is valid and written by the callback that borrows it.
#[repr(transparent)]
pub(crate) struct SeqFile(Opaque<bindings::seq_file>);

impl SeqFile {
    /// Appends `s` (`seq_puts`).
    pub(crate) fn puts(&self, s: &CStr) {
        // SAFETY: the seq_file is valid (type invariant) and `s` is NUL-terminated.
        unsafe { bindings::ferrite_seq_puts(self.0.get(), s.as_char_ptr()) };
    }
}

/// The `super_operations` table of `T`.
struct SuperOpsTable<T>(PhantomData<T>);

impl<T: FileSystem> SuperOpsTable<T> {
    const TABLE: bindings::super_operations = bindings::super_operations {
        evict_inode: Some(evict_inode::<T>),
        dirty_inode: if T::HAS_DIRTY_INODE {
            Some(dirty_inode::<T>)
        } else {
            None
        },
        statfs: if T::HAS_STATFS {
            Some(statfs::<T>)
        } else {
            None
        },
        show_options: if T::HAS_SHOW_OPTIONS {
            Some(show_options::<T>)
        } else {
            None
        },
        sync_fs: if T::HAS_SYNC_FS {
            Some(sync_fs::<T>)
        } else {
            None
        },
        put_super: if T::HAS_PUT_SUPER {
            Some(put_super::<T>)
        } else {
            None
        },
        freeze_fs: if T::HAS_FREEZE_FS {
            Some(freeze_fs::<T>)
        } else {
            None
        },
        unfreeze_fs: if T::HAS_UNFREEZE_FS {
            Some(unfreeze_fs::<T>)
        } else {
            None
        },
        ..empty_table()
    };
}

/// `evict_inode`: the filesystem's part ([`FileSystem::evict_inode`]), then what every
/// `evict_inode` must do.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn evict_inode<T: FileSystem>(inode: *mut bindings::inode) {
    // SAFETY: the callback contract: an inode of `T` being evicted, which nothing else uses.
    let i = unsafe { Inode::<T>::from_raw(inode) };
    if T::HAS_EVICT_INODE {
        T::evict_inode(i);
    }
    // SAFETY: the inode is being evicted; `truncate_inode_pages_final` and `clear_inode` are
    // what `evict_inode` must call.
    unsafe {
        bindings::truncate_inode_pages_final(&mut (*inode).i_data);
        bindings::clear_inode(inode);
    }
}

/// `dirty_inode`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn dirty_inode<T: FileSystem>(inode: *mut bindings::inode, flags: ffi::c_int) {
    // SAFETY: the callback contract: a valid inode of `T`.
    let i = unsafe { Inode::<T>::from_raw(inode) };
    T::dirty_inode(i, u32::try_from(flags).unwrap_or(0));
}

/// `statfs`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn statfs<T: FileSystem>(
    dentry: *mut bindings::dentry,
    buf: *mut bindings::kstatfs,
) -> ffi::c_int {
    // SAFETY: the callback contract: a valid dentry of `T` and a kstatfs only this call fills
    // in; `Kstatfs` is transparent.
    let (d, buf) = unsafe { (Dentry::<T>::from_raw(dentry), &*buf.cast::<Kstatfs>()) };
    errno(T::statfs(d.super_block(), buf))
}

/// `show_options`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn show_options<T: FileSystem>(
    m: *mut bindings::seq_file,
    root: *mut bindings::dentry,
) -> ffi::c_int {
    // SAFETY: the callback contract: the seq_file being written and the mount's root dentry;
    // `SeqFile` is transparent.
    let (m, root) = unsafe { (&*m.cast::<SeqFile>(), Dentry::<T>::from_raw(root)) };
    errno(T::show_options(root.super_block(), m))
}

/// `sync_fs`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn sync_fs<T: FileSystem>(
    sb: *mut bindings::super_block,
    wait: ffi::c_int,
) -> ffi::c_int {
    // SAFETY: the callback contract: a valid super block of `T`.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    errno(T::sync_fs(sb, wait != 0))
}

/// `put_super`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn put_super<T: FileSystem>(sb: *mut bindings::super_block) {
    // SAFETY: the callback contract: the super block being shut down; its inodes are gone and
    // `s_fs_info` is still set.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    T::put_super(sb);
}

/// `freeze_fs`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn freeze_fs<T: FileSystem>(sb: *mut bindings::super_block) -> ffi::c_int {
    // SAFETY: the callback contract: a valid super block of `T`.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    errno(T::freeze_fs(sb))
}

/// `unfreeze_fs`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn unfreeze_fs<T: FileSystem>(sb: *mut bindings::super_block) -> ffi::c_int {
    // SAFETY: the callback contract: a valid super block of `T`.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    errno(T::unfreeze_fs(sb))
}

/// Freeze protection of an internal write (`sb_start_intwrite`), released when dropped.
pub(crate) struct IntwriteGuard<'a, T: FileSystem> {
    sb: &'a SuperBlock<T>,
}

impl<T: FileSystem> SuperBlock<T> {
    /// Waits while the filesystem is frozen, then holds off freezing until the guard is dropped
    /// (`sb_start_intwrite`): for writes the filesystem makes on its own, such as freeing an
    /// evicted inode.
    pub(crate) fn start_intwrite(&self) -> IntwriteGuard<'_, T> {
        // SAFETY: the super block is valid; the guard ends the protection.
        unsafe { bindings::ferrite_sb_start_intwrite(self.as_ptr()) };
        IntwriteGuard { sb: self }
    }
}

impl<T: FileSystem> Drop for IntwriteGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: `start_intwrite` took the protection this releases.
        unsafe { bindings::ferrite_sb_end_intwrite(self.sb.as_ptr()) };
    }
}
