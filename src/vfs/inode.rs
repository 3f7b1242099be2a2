// SPDX-License-Identifier: GPL-2.0

//! Inodes: the wrapper, its locks and reference counting.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h) (`struct inode`).
//!
//! New inodes are in [`new`], the operations trait and table in [`ops`], its trampolines in
//! `callbacks`.

mod callbacks;
pub(crate) mod new;
pub(crate) mod ops;

pub(crate) use new::{Iget, NewInode, Ops};
pub(crate) use ops::InodeOperations;

use super::{FileSystem, SuperBlock};
use crate::bindings;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::types::{AlwaysRefCounted, Opaque};

/// The attributes of an inode that a filesystem keeps (mode, owner, links, size, blocks, times,
/// device, generation), in the units of the VFS.
pub(crate) type Attrs = bindings::ferrite_attrs;

/// Whether the VFS holds attributes `a` as they are: `i_mode` has 16 bits and `i_size` is a
/// signed 64-bit number, so a larger mode or size would reach it as another value.
pub(crate) fn attrs_fit(a: &Attrs) -> bool {
    u16::try_from(a.mode).is_ok() && i64::try_from(a.size).is_ok()
}

/// A VFS inode of a super block of filesystem `T`.
///
/// Borrowed (`&Inode<T>`) for a VFS callback, or owned through an `ARef<Inode<T>>`, which holds
/// a reference (`ihold`/`iput`).
///
/// # Invariants
///
/// The wrapped inode is valid (referenced) while the wrapper is borrowed, and its super block is
/// one of `T`'s.
#[repr(transparent)]
pub(crate) struct Inode<T: FileSystem>(Opaque<bindings::inode>, PhantomData<T>);

// SAFETY: the type invariant says the inode is valid while borrowed; `ihold` takes a reference
// and `iput` drops one, freeing the inode (through eviction) when it was the last; both may be
// called from any thread in process context.
unsafe impl<T: FileSystem> AlwaysRefCounted for Inode<T> {
    fn inc_ref(&self) {
        // SAFETY: the inode is valid and referenced by whoever lent `self`.
        unsafe { bindings::ihold(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: the caller gives up one reference it owns.
        unsafe { bindings::iput(obj.cast::<bindings::inode>().as_ptr()) };
    }
}

impl<T: FileSystem> Inode<T> {
    /// Borrows the inode behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid inode of a super block of `T` that stays valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::inode) -> &'a Self {
        // SAFETY: `Inode` is a transparent wrapper of `inode`; the caller guarantees the rest of
        // the type invariant for `'a`.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::inode {
        self.0.get()
    }

    /// The inode number.
    pub(crate) fn ino(&self) -> u64 {
        // SAFETY: `i_ino` is set before the inode is visible and does not change afterwards.
        unsafe { (*self.as_ptr()).i_ino as u64 }
    }

    /// The type and permission bits.
    pub(crate) fn mode(&self) -> u32 {
        // SAFETY: a racy read of `i_mode` returns a value that was current, as in the C code.
        u32::from(unsafe { (*self.as_ptr()).i_mode })
    }

    /// Sets the VFS's view of the `FS_*_FL` flags `flags`: `S_IMMUTABLE`, `S_APPEND`, `S_SYNC`
    /// and `S_NOATIME`, which the VFS enforces (`inode_set_flags`).
    pub(crate) fn set_fs_flags(&self, flags: u32) {
        let map = [
            (bindings::FS_IMMUTABLE_FL, bindings::S_IMMUTABLE),
            (bindings::FS_APPEND_FL, bindings::S_APPEND),
            (bindings::FS_SYNC_FL, bindings::S_SYNC),
            (bindings::FS_NOATIME_FL, bindings::S_NOATIME),
        ];
        let (mut set, mut mask) = (0u32, 0u32);
        for (fs, s) in map {
            mask |= s;
            if flags & fs != 0 {
                set |= s;
            }
        }
        // SAFETY: the inode is valid; `inode_set_flags` changes `i_flags` atomically.
        unsafe { bindings::inode_set_flags(self.as_ptr(), set, mask) };
        // The whole word is kept in `i_private` (the filesystem's own field, which nothing else
        // uses for these inodes) for [`fs_flags`](Self::fs_flags).
        // SAFETY: `i_private` is a valid, aligned pointer-sized field of the inode; all of its
        // accesses are these atomic ones.
        let private = unsafe { AtomicPtr::from_ptr(&raw mut (*self.as_ptr()).i_private) };
        private.store(flags as usize as *mut core::ffi::c_void, Ordering::Relaxed);
    }

    /// The flags word last given to [`set_fs_flags`](Self::set_fs_flags) (0 before), for
    /// what the VFS does not keep in `i_flags` (`FS_NODUMP_FL`), without reading the media.
    pub(crate) fn fs_flags(&self) -> u32 {
        // SAFETY: as in `set_fs_flags`.
        let private = unsafe { AtomicPtr::from_ptr(&raw mut (*self.as_ptr()).i_private) };
        private.load(Ordering::Relaxed) as usize as u32
    }

    /// Whether the inode is immutable or append-only (`IS_IMMUTABLE`, `IS_APPEND`): no write
    /// through a mapping.
    pub(crate) fn is_immutable_or_append(&self) -> bool {
        // SAFETY: a racy read of the flag word, as `IS_IMMUTABLE` does.
        let f = unsafe { (*self.as_ptr()).i_flags };
        f & (bindings::S_IMMUTABLE | bindings::S_APPEND) != 0
    }

    /// Whether the file may grow to `size` bytes (`inode_newsize_ok`): `EFBIG`, and `SIGXFSZ`
    /// sent, past the caller's `RLIMIT_FSIZE` or the superblock's largest file.
    pub(crate) fn newsize_ok(&self, size: u64) -> kernel::error::Result {
        let size = i64::try_from(size).map_err(|_| kernel::error::code::EFBIG)?;
        // SAFETY: the inode is valid (type invariant); `inode_newsize_ok` reads it, its
        // superblock and the current task's limits, and may send the current task `SIGXFSZ`.
        kernel::error::to_result(unsafe { bindings::inode_newsize_ok(self.as_ptr(), size) })
    }

    /// Whether the inode is immutable (`IS_IMMUTABLE`).
    pub(crate) fn is_immutable(&self) -> bool {
        // SAFETY: a racy read of the flag word, as `IS_IMMUTABLE` does.
        let f = unsafe { (*self.as_ptr()).i_flags };
        f & bindings::S_IMMUTABLE != 0
    }

    /// Unmaps every mapping of the file (`unmap_mapping_range` of all of it), so that the next
    /// access through one faults again.
    pub(crate) fn unmap_all(&self) {
        // SAFETY: the mapping is valid for the inode's life; 0, 0 means the whole file, `1` also
        // private copies.
        unsafe { bindings::unmap_mapping_range(self.mapping(), 0, 0, 1) };
    }

    /// The generation (`i_generation`), which export handles carry.
    pub(crate) fn generation(&self) -> u32 {
        // SAFETY: `i_generation` is set before the inode is visible and does not change.
        unsafe { (*self.as_ptr()).i_generation }
    }

    /// The link count.
    pub(crate) fn nlink(&self) -> u32 {
        // SAFETY: `i_nlink` is read without a lock in the C code as well (`inode->i_nlink`); a
        // racy read gives a value that was current.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.i_nlink }
    }

    /// The size (`i_size_read`).
    pub(crate) fn size(&self) -> u64 {
        // SAFETY: the inode is valid; `i_size_read` may be called without locks.
        let s = unsafe { bindings::ferrite_i_size_read(self.as_ptr()) };
        u64::try_from(s).unwrap_or(0)
    }

    /// Sets the size (`i_size_write`). The caller holds the inode lock exclusive (its own
    /// guard, or the VFS's around the callback), as `i_size_write` requires of its writers.
    pub(crate) fn set_size(&self, size: u64) {
        let s = i64::try_from(size).unwrap_or(i64::MAX);
        // SAFETY: the inode is valid; writers are serialised by the inode lock, which the caller
        // holds (the method's documented requirement).
        unsafe { bindings::ferrite_i_size_write(self.as_ptr(), s) };
    }

    /// The inode's mapping (`i_mapping`), for the abstractions; set for the inode's whole life.
    pub(crate) fn mapping(&self) -> *mut bindings::address_space {
        // SAFETY: `i_mapping` is set when the inode is allocated and does not change.
        unsafe { (*self.as_ptr()).i_mapping }
    }

    /// The super block.
    pub(crate) fn super_block(&self) -> &SuperBlock<T> {
        // SAFETY: `i_sb` is valid for as long as the inode is, and is one of `T`'s (type
        // invariant).
        unsafe { SuperBlock::from_raw((*self.as_ptr()).i_sb) }
    }

    /// All attributes.
    pub(crate) fn attrs(&self) -> Attrs {
        let mut a = Attrs::default();
        // SAFETY: the inode is valid and `a` is a writable `ferrite_attrs`.
        unsafe { bindings::ferrite_inode_get_attrs(self.as_ptr(), &mut a) };
        a
    }

    /// Sets mode, owner, link count, size, times and generation (not the block count: see
    /// [`set_blocks`](Self::set_blocks)), as the VFS's own setters do. The caller holds the
    /// inode lock exclusive (its own guard, or the VFS's around the callback), which
    /// `i_size_write` needs.
    pub(crate) fn set_attrs(&self, a: &Attrs) {
        // SAFETY: the inode is valid; the inode lock the caller holds (the documented
        // requirement) serialises these writers.
        unsafe { bindings::ferrite_inode_set_attrs(self.as_ptr(), a) };
    }

    /// Sets the allocated size in 512-byte units (`i_blocks`), under `i_lock` as
    /// `inode_set_bytes` users do: callers on paths that allocate blocks hold only shared locks
    /// (a page fault holds `invalidate_lock` shared), so no lock the caller holds orders them.
    /// The order of concurrent updates is the caller's to keep (the value set last wins).
    pub(crate) fn set_blocks(&self, blocks: u64) {
        // SAFETY: the inode is valid; the helper writes `i_blocks` and `i_bytes` under `i_lock`.
        unsafe { bindings::ferrite_inode_set_blocks(self.as_ptr(), blocks) };
    }

    /// Sets the change time (`inode_set_ctime`). Needs no lock: the VFS's own callers set it
    /// where the inode may not be locked (the moved inode of a rename), as plain stores.
    pub(crate) fn set_ctime(&self, sec: i64, nsec: u32) {
        // SAFETY: the inode is valid; the helper stores the two fields of `i_ctime` as
        // `inode_set_ctime` does.
        unsafe { bindings::ferrite_inode_set_ctime(self.as_ptr(), sec, nsec) };
    }

    /// The current time for this inode's timestamps (`current_time`): seconds and nanoseconds.
    pub(crate) fn now(&self) -> (i64, u32) {
        let (mut s, mut n) = (0i64, 0u32);
        // SAFETY: the inode is valid; the out pointers are local variables.
        unsafe { bindings::ferrite_current_time(self.as_ptr(), &mut s, &mut n) };
        (s, n)
    }

    /// Whether the inode is a bad inode (one that failed to be read or created).
    pub(crate) fn is_bad(&self) -> bool {
        // SAFETY: the inode is valid; `is_bad_inode` reads `i_op`.
        unsafe { bindings::is_bad_inode(self.as_ptr()) }
    }
}

/// The inode's locks: `i_rwsem` and the mapping's `invalidate_lock`.
impl<T: FileSystem> Inode<T> {
    /// Takes the inode lock (`i_rwsem`) exclusively.
    pub(crate) fn lock(&self) -> InodeGuard<'_, T> {
        // SAFETY: the inode is valid; the guard unlocks it.
        unsafe { bindings::ferrite_inode_lock(self.as_ptr()) };
        // INVARIANT: the lock is held exclusive.
        InodeGuard {
            inode: self,
            shared: false,
        }
    }

    /// Takes the inode lock shared.
    pub(crate) fn lock_shared(&self) -> InodeGuard<'_, T> {
        // SAFETY: the inode is valid; the guard unlocks it.
        unsafe { bindings::ferrite_inode_lock_shared(self.as_ptr()) };
        // INVARIANT: the lock is held shared.
        InodeGuard {
            inode: self,
            shared: true,
        }
    }

    /// Tries to take the inode lock (exclusive or shared) without sleeping.
    pub(crate) fn try_lock(&self, shared: bool) -> Option<InodeGuard<'_, T>> {
        // SAFETY: the inode is valid; on success the guard unlocks it.
        let ok = unsafe {
            if shared {
                bindings::ferrite_inode_trylock_shared(self.as_ptr())
            } else {
                bindings::ferrite_inode_trylock(self.as_ptr())
            }
        };
        // INVARIANT: the lock is held in the mode asked for.
        (ok != 0).then_some(InodeGuard {
            inode: self,
            shared,
        })
    }

    /// Takes the mapping's `invalidate_lock` exclusive: no page fault maps a block of the file
    /// until the guard is dropped (truncate, hole punching and zeroing free or change blocks
    /// under it).
    pub(crate) fn invalidate_lock(&self) -> InvalidateGuard<'_, T> {
        // SAFETY: the inode and its mapping are valid; the guard unlocks.
        unsafe { bindings::ferrite_invalidate_lock(self.mapping()) };
        // INVARIANT: the lock is held exclusive.
        InvalidateGuard { inode: self }
    }

    /// Takes the mapping's `invalidate_lock` shared, as a page fault does.
    pub(crate) fn invalidate_lock_shared(&self) -> InvalidateSharedGuard<'_, T> {
        // SAFETY: as in `invalidate_lock`.
        unsafe { bindings::ferrite_invalidate_lock_shared(self.mapping()) };
        // INVARIANT: the lock is held shared.
        InvalidateSharedGuard { inode: self }
    }
}

/// A held inode lock.
///
/// # Invariants
///
/// The inode's `i_rwsem` is held, shared if `shared`, else exclusive, for the guard's life.
pub(crate) struct InodeGuard<'a, T: FileSystem> {
    inode: &'a Inode<T>,
    shared: bool,
}

impl<T: FileSystem> Drop for InodeGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the lock is held in this mode (type invariant), and released once, here.
        unsafe {
            if self.shared {
                bindings::ferrite_inode_unlock_shared(self.inode.as_ptr())
            } else {
                bindings::ferrite_inode_unlock(self.inode.as_ptr())
            }
        }
    }
}

/// A held `invalidate_lock`, exclusive.
///
/// # Invariants
///
/// The `invalidate_lock` of the mapping of `inode` is held exclusive for the guard's life
/// (except while [`break_layouts`](crate::dax::layout::break_layouts) waits, which drops and
/// takes it again before it returns).
pub(crate) struct InvalidateGuard<'a, T: FileSystem> {
    inode: &'a Inode<T>,
}

impl<T: FileSystem> InvalidateGuard<'_, T> {
    /// The inode whose mapping is locked.
    pub(crate) fn inode(&self) -> &Inode<T> {
        self.inode
    }

    /// Drops the page cache and unmaps everything past `size`, then sets the size
    /// (`truncate_setsize`). The caller holds the inode lock as well.
    pub(crate) fn truncate_setsize(&self, size: u64) {
        let s = i64::try_from(size).unwrap_or(i64::MAX);
        // SAFETY: the inode is valid; `invalidate_lock` is held exclusive (type invariant) and
        // the inode lock by the caller, the two locks that `truncate_setsize` requires.
        unsafe { bindings::truncate_setsize(self.inode.as_ptr(), s) };
    }

    /// Unmaps and drops the cached pages of byte range `start..=end`
    /// (`truncate_pagecache_range`); the caller holds the inode lock as well.
    pub(crate) fn truncate_pagecache_range(&self, start: u64, end: u64) {
        let s = i64::try_from(start).unwrap_or(i64::MAX);
        let e = i64::try_from(end).unwrap_or(i64::MAX);
        // SAFETY: as in `truncate_setsize`.
        unsafe { bindings::truncate_pagecache_range(self.inode.as_ptr(), s, e) };
    }
}

impl<T: FileSystem> Drop for InvalidateGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the lock is held exclusive (type invariant) and released once, here.
        unsafe { bindings::ferrite_invalidate_unlock(self.inode.mapping()) };
    }
}

/// A held `invalidate_lock`, shared (a page fault's).
///
/// # Invariants
///
/// The `invalidate_lock` of the mapping of `inode` is held shared for the guard's life.
pub(crate) struct InvalidateSharedGuard<'a, T: FileSystem> {
    inode: &'a Inode<T>,
}

impl<T: FileSystem> Drop for InvalidateSharedGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the lock is held shared (type invariant) and released once, here.
        unsafe { bindings::ferrite_invalidate_unlock_shared(self.inode.mapping()) };
    }
}
