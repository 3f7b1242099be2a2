// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers of the VFS objects ferrite's callbacks receive: inodes, dentries, files, mount
//! id maps, attribute changes, stat results, directory contexts, I/O control blocks.
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h),
//! [`include/linux/dcache.h`](srctree/include/linux/dcache.h).
//!
//! Each wrapper is a transparent view of the C object, borrowed for the duration of the VFS
//! callback that received it; owned inode references are [`InodeRef`] (released with `iput`).

use crate::bindings;
use crate::super_block::SuperBlock;
use core::ptr::NonNull;
use kernel::error::from_err_ptr;
use kernel::ffi;
use kernel::prelude::*;
use kernel::types::Opaque;

/// The attributes ferrite keeps of an inode (mode, owner, links, size, blocks, times, device).
pub(crate) type Attrs = bindings::ferrite_attrs;

/// Whether the VFS holds attributes `a` as they are: `i_mode` has 16 bits and `i_size` is a
/// signed 64-bit number, so a larger mode or size would reach it as another value.
pub(crate) fn attrs_fit(a: &Attrs) -> bool {
    u16::try_from(a.mode).is_ok() && i64::try_from(a.size).is_ok()
}

/// What a VFS inode is, which picks its operations.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum InodeKind {
    /// A directory.
    Dir,
    /// A regular file, accessed through DAX.
    File,
    /// A symbolic link.
    Symlink,
    /// A device, FIFO or socket.
    Special,
}

/// A VFS inode, borrowed.
#[repr(transparent)]
pub(crate) struct Inode(Opaque<bindings::inode>);

impl Inode {
    /// Borrows the inode behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid inode of a ferrite super block that stays valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::inode) -> &'a Self {
        // SAFETY: transparent wrapper; validity for `'a` is the caller's guarantee.
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

    /// The link count.
    pub(crate) fn nlink(&self) -> u32 {
        // SAFETY: as for `mode`.
        unsafe { (*self.as_ptr()).__bindgen_anon_1.i_nlink }
    }

    /// The size (`i_size_read`).
    pub(crate) fn size(&self) -> u64 {
        // SAFETY: the inode is valid.
        let s = unsafe { bindings::ferrite_i_size_read(self.as_ptr()) };
        u64::try_from(s).unwrap_or(0)
    }

    /// Sets the size (`i_size_write`); the caller holds the inode lock.
    pub(crate) fn set_size(&self, size: u64) {
        let s = i64::try_from(size).unwrap_or(i64::MAX);
        // SAFETY: the inode is valid; writers are serialised by the inode lock, as `i_size_write`
        // requires (the caller's duty, as documented).
        unsafe { bindings::ferrite_i_size_write(self.as_ptr(), s) };
    }

    /// The super block.
    pub(crate) fn super_block(&self) -> &SuperBlock {
        // SAFETY: `i_sb` is valid for as long as the inode is, and ferrite's inodes are on block
        // device super blocks.
        unsafe { SuperBlock::from_raw((*self.as_ptr()).i_sb) }
    }

    /// All attributes.
    pub(crate) fn attrs(&self) -> Attrs {
        let mut a = Attrs::default();
        // SAFETY: the inode is valid and `a` is a writable `ferrite_attrs`.
        unsafe { bindings::ferrite_inode_get_attrs(self.as_ptr(), &mut a) };
        a
    }

    /// Sets mode, owner, link count, size, blocks, times and generation.
    pub(crate) fn set_attrs(&self, a: &Attrs) {
        // SAFETY: the inode is valid; the fields are set as the VFS's own setters do.
        unsafe { bindings::ferrite_inode_set_attrs(self.as_ptr(), a) };
    }

    /// The current time for this inode's timestamps (`current_time`): seconds and nanoseconds.
    pub(crate) fn now(&self) -> (i64, u32) {
        let (mut s, mut n) = (0i64, 0u32);
        // SAFETY: the inode is valid; the out pointers are local variables.
        unsafe { bindings::ferrite_current_time(self.as_ptr(), &mut s, &mut n) };
        (s, n)
    }

    /// Takes the inode lock (`i_rwsem`) exclusively.
    pub(crate) fn lock(&self) -> InodeGuard<'_> {
        // SAFETY: the inode is valid; the guard unlocks it.
        unsafe { bindings::ferrite_inode_lock(self.as_ptr()) };
        InodeGuard {
            inode: self,
            shared: false,
        }
    }

    /// Takes the inode lock shared.
    pub(crate) fn lock_shared(&self) -> InodeGuard<'_> {
        // SAFETY: the inode is valid; the guard unlocks it.
        unsafe { bindings::ferrite_inode_lock_shared(self.as_ptr()) };
        InodeGuard {
            inode: self,
            shared: true,
        }
    }

    /// Tries to take the inode lock (exclusive or shared) without sleeping.
    pub(crate) fn try_lock(&self, shared: bool) -> Option<InodeGuard<'_>> {
        // SAFETY: the inode is valid; on success the guard unlocks it.
        let ok = unsafe {
            if shared {
                bindings::ferrite_inode_trylock_shared(self.as_ptr())
            } else {
                bindings::ferrite_inode_trylock(self.as_ptr())
            }
        };
        (ok != 0).then_some(InodeGuard {
            inode: self,
            shared,
        })
    }

    /// Takes another reference (`ihold`).
    pub(crate) fn get_ref(&self) -> InodeRef {
        // SAFETY: the inode is valid and referenced by the caller, so `ihold` may be called.
        unsafe { bindings::ihold(self.as_ptr()) };
        InodeRef(NonNull::from(&self.0).cast())
    }

    /// Drops the page cache and unmaps everything past `size`, then sets the size
    /// (`truncate_setsize`). The caller holds the inode lock.
    pub(crate) fn truncate_setsize(&self, size: u64) {
        let s = i64::try_from(size).unwrap_or(i64::MAX);
        // SAFETY: the inode is valid and the caller holds its lock.
        unsafe { bindings::truncate_setsize(self.as_ptr(), s) };
    }

    /// Unmaps and drops the cached pages of byte range `start..=end` (`truncate_pagecache_range`).
    pub(crate) fn truncate_pagecache_range(&self, start: u64, end: u64) {
        let s = i64::try_from(start).unwrap_or(i64::MAX);
        let e = i64::try_from(end).unwrap_or(i64::MAX);
        // SAFETY: the inode is valid; the caller holds its lock.
        unsafe { bindings::truncate_pagecache_range(self.as_ptr(), s, e) };
    }

    /// Sets the allocated size in 512-byte units (`i_blocks`); the caller holds the inode lock.
    pub(crate) fn set_blocks(&self, blocks: u64) {
        // SAFETY: the inode is valid; `i_blocks` changes under the inode lock, which the caller
        // holds, and readers (stat) tolerate a racy read as with `inode_add_bytes`.
        unsafe { (*self.as_ptr()).i_blocks = blocks };
    }

    /// Whether the inode is a bad inode (one that failed to be read or created).
    pub(crate) fn is_bad(&self) -> bool {
        // SAFETY: the inode is valid.
        unsafe { bindings::is_bad_inode(self.as_ptr()) }
    }

    /// Marks the inode's attributes dirty (`mark_inode_dirty_sync`), which reaches ferrite's
    /// `dirty_inode`.
    pub(crate) fn mark_dirty(&self) {
        // SAFETY: the inode is valid.
        unsafe { bindings::__mark_inode_dirty(self.as_ptr(), bindings::I_DIRTY_SYNC as _) };
    }
}

impl Inode {
    /// Takes the mapping's `invalidate_lock` exclusively: no page fault maps a block of the file
    /// until the guard is dropped (truncate, hole punching and zeroing free or change blocks
    /// under it).
    pub(crate) fn invalidate_lock(&self) -> InvalidateGuard<'_> {
        // SAFETY: the inode is valid; `i_mapping` is set for its whole life; the guard unlocks.
        unsafe { bindings::ferrite_invalidate_lock((*self.as_ptr()).i_mapping) };
        InvalidateGuard { inode: self }
    }
}

/// A held `invalidate_lock` (exclusive).
pub(crate) struct InvalidateGuard<'a> {
    inode: &'a Inode,
}

impl InvalidateGuard<'_> {
    /// Breaks the DAX layouts of byte range `start..=end` (`None`: to the end of the file): waits
    /// until no page there is pinned by `get_user_pages` (direct I/O, vmsplice, RDMA), so that
    /// its blocks may be freed. The lock is dropped while waiting and held again on return.
    /// `ERESTARTSYS` if a signal interrupts the wait.
    pub(crate) fn break_layouts(&self, start: u64, end: Option<u64>) -> Result {
        let s = i64::try_from(start).unwrap_or(i64::MAX);
        let e = end.map_or(i64::MAX, |e| i64::try_from(e).unwrap_or(i64::MAX));
        // SAFETY: the inode is valid and the guard holds its `invalidate_lock` exclusive.
        kernel::error::to_result(unsafe {
            bindings::ferrite_break_layouts(self.inode.as_ptr(), s, e)
        })
    }
}

impl Drop for InvalidateGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the guard exists only while the lock is held.
        unsafe { bindings::ferrite_invalidate_unlock((*self.inode.as_ptr()).i_mapping) };
    }
}

/// A held inode lock.
pub(crate) struct InodeGuard<'a> {
    inode: &'a Inode,
    shared: bool,
}

impl Drop for InodeGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: the guard exists only while the lock is held in this mode.
        unsafe {
            if self.shared {
                bindings::ferrite_inode_unlock_shared(self.inode.as_ptr())
            } else {
                bindings::ferrite_inode_unlock(self.inode.as_ptr())
            }
        }
    }
}

/// An owned reference to a VFS inode; dropping it calls `iput`.
pub(crate) struct InodeRef(NonNull<bindings::inode>);

impl InodeRef {
    /// The inode.
    pub(crate) fn inode(&self) -> &Inode {
        // SAFETY: the reference keeps the inode alive as long as `self`.
        unsafe { Inode::from_raw(self.0.as_ptr()) }
    }

    /// Gives the reference up to the caller (for the VFS, which will `iput` it).
    fn into_raw(self) -> *mut bindings::inode {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        p
    }
}

impl Drop for InodeRef {
    fn drop(&mut self) {
        // SAFETY: `self` owns one reference.
        unsafe { bindings::iput(self.0.as_ptr()) };
    }
}

/// A new inode, not yet visible (from `iget_locked` with `I_NEW`, or `new_inode`): the caller
/// fills it in and then publishes it; dropping it unpublished discards it.
pub(crate) struct NewInode {
    ptr: NonNull<bindings::inode>,
    /// Hashed and `I_NEW` (from `iget_locked`/`insert_inode_locked`).
    locked: bool,
}

impl NewInode {
    /// The inode.
    pub(crate) fn inode(&self) -> &Inode {
        // SAFETY: `self` owns a reference.
        unsafe { Inode::from_raw(self.ptr.as_ptr()) }
    }

    /// Sets the owner and mode of a new inode in `dir` (`inode_init_owner`: setgid directories
    /// pass their group on).
    pub(crate) fn init_owner(&self, idmap: &Idmap, dir: &Inode, mode: u32) {
        // SAFETY: the inode is new and private to the caller; `dir` and `idmap` are valid.
        unsafe {
            bindings::inode_init_owner(idmap.as_ptr(), self.ptr.as_ptr(), dir.as_ptr(), mode as _)
        };
    }

    /// Gives the inode its number and hashes it (`insert_inode_locked`); the inode must come
    /// from [`SuperBlock::new_inode`].
    pub(crate) fn insert(&mut self, ino: u64) -> Result {
        // SAFETY: the inode is new and private to the caller.
        unsafe { (*self.ptr.as_ptr()).i_ino = ino as _ };
        // SAFETY: the inode is valid and not hashed.
        kernel::error::to_result(unsafe { bindings::insert_inode_locked(self.ptr.as_ptr()) })?;
        self.locked = true;
        Ok(())
    }

    /// Fills the inode in: attributes, and the operations of its kind. `DAX` is set on regular
    /// files.
    pub(crate) fn fill(&self, kind: InodeKind, a: &Attrs) {
        let p = self.ptr.as_ptr();
        // SAFETY: the inode is new and private to the caller (unhashed, or hashed and `I_NEW`),
        // so its fields may be written; the operation tables are statics.
        unsafe {
            bindings::ferrite_inode_set_attrs(p, a);
            match kind {
                InodeKind::Dir => {
                    (*p).i_op = &crate::ops::DIR_INODE_OPS;
                    (*p).__bindgen_anon_3.i_fop = crate::ops::DIR_FILE_OPS.get();
                }
                InodeKind::File => {
                    (*p).i_op = &crate::ops::FILE_INODE_OPS;
                    (*p).__bindgen_anon_3.i_fop = crate::ops::FILE_OPS.get();
                    (*(*p).i_mapping).a_ops = &crate::ops::DAX_AOPS;
                    (*p).i_flags |= bindings::S_DAX;
                }
                InodeKind::Symlink => {
                    (*p).i_op = &crate::ops::SYMLINK_INODE_OPS;
                }
                InodeKind::Special => {
                    (*p).i_op = &crate::ops::SPECIAL_INODE_OPS;
                    bindings::ferrite_init_special_inode(p, a.mode, a.rdev);
                }
            }
        }
    }

    /// Publishes the inode: clears `I_NEW` and wakes waiters.
    pub(crate) fn publish(self) -> InodeRef {
        let p = self.ptr;
        if self.locked {
            // SAFETY: the inode is hashed and `I_NEW`, and fully filled in.
            unsafe { bindings::unlock_new_inode(p.as_ptr()) };
        }
        core::mem::forget(self);
        InodeRef(p)
    }

    /// Publishes the inode as `dentry`'s (`d_instantiate_new`); the dentry takes the reference.
    pub(crate) fn instantiate(self, dentry: &Dentry) {
        let p = self.ptr;
        let locked = self.locked;
        core::mem::forget(self);
        if locked {
            // SAFETY: the inode is hashed, `I_NEW` and filled in; `d_instantiate_new` consumes the
            // reference and unlocks it.
            unsafe { bindings::d_instantiate_new(dentry.as_ptr(), p.as_ptr()) };
        } else {
            // SAFETY: as above, for an unhashed inode.
            unsafe { bindings::d_instantiate(dentry.as_ptr(), p.as_ptr()) };
        }
    }

    /// Publishes the inode as the O_TMPFILE `file`'s (`d_tmpfile`, which drops the link count
    /// to 0) and opens the file (`finish_open_simple`).
    pub(crate) fn tmpfile(self, file: &File) -> Result {
        let p = self.ptr;
        core::mem::forget(self);
        // SAFETY: the inode is filled in with a link count of 1 (which `d_tmpfile` drops); `file`
        // is the tmpfile being opened; `d_tmpfile` consumes the reference.
        unsafe {
            bindings::d_tmpfile(file.as_ptr(), p.as_ptr());
            bindings::unlock_new_inode(p.as_ptr());
        }
        // SAFETY: `file` now has a dentry with an inode.
        kernel::error::to_result(unsafe { bindings::ferrite_finish_open_simple(file.as_ptr(), 0) })
    }
}

impl Drop for NewInode {
    fn drop(&mut self) {
        let p = self.ptr.as_ptr();
        // SAFETY: `self` owns the new inode's reference. An unpublished inode is made a bad inode,
        // which eviction leaves alone: the media is not touched for it.
        unsafe {
            bindings::make_bad_inode(p);
            if self.locked {
                bindings::discard_new_inode(p);
            } else {
                bindings::iput(p);
            }
        }
    }
}

/// What `iget` found.
pub(crate) enum Iget {
    /// The inode was cached.
    Cached(InodeRef),
    /// A new inode, hashed and `I_NEW`: fill it in and publish it.
    New(NewInode),
}

impl SuperBlock {
    /// The inode `ino` from the inode cache, or a new locked one to read in (`iget_locked`).
    pub(crate) fn iget(&self, ino: u64) -> Result<Iget> {
        // SAFETY: the super block is valid.
        let p = unsafe { bindings::iget_locked(self.as_ptr(), ino as _) };
        let p = NonNull::new(p).ok_or(ENOMEM)?;
        // SAFETY: `iget_locked` returned a referenced inode.
        if unsafe { bindings::ferrite_inode_is_new(p.as_ptr()) } != 0 {
            Ok(Iget::New(NewInode {
                ptr: p,
                locked: true,
            }))
        } else {
            Ok(Iget::Cached(InodeRef(p)))
        }
    }

    /// A new, unhashed inode (`new_inode`), for creating a file.
    pub(crate) fn new_inode(&self) -> Result<NewInode> {
        // SAFETY: the super block is valid.
        let p = unsafe { bindings::new_inode(self.as_ptr()) };
        Ok(NewInode {
            ptr: NonNull::new(p).ok_or(ENOMEM)?,
            locked: false,
        })
    }

    /// The mount's data (`s_fs_info`).
    pub(crate) fn mount(&self) -> Option<&crate::fs::Mount> {
        // SAFETY: ferrite's callbacks only run on ferrite's super blocks, whose `s_fs_info` is
        // NULL or the `Mount` set by `fill_super`, which lives until `kill_sb`, after every inode
        // and file of the super block is gone.
        unsafe {
            (*self.as_ptr())
                .s_fs_info
                .cast::<crate::fs::Mount>()
                .as_ref()
        }
    }
}

/// A dentry, borrowed.
#[repr(transparent)]
pub(crate) struct Dentry(Opaque<bindings::dentry>);

impl Dentry {
    /// Borrows the dentry behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid dentry that stays valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::dentry) -> &'a Self {
        // SAFETY: transparent wrapper.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::dentry {
        self.0.get()
    }

    /// The name. Stable while the caller holds the parent directory's lock, as the VFS does
    /// around every namespace operation.
    pub(crate) fn name(&self) -> &[u8] {
        let mut len = 0u32;
        // SAFETY: the dentry is valid; its name is stable under the parent's lock.
        let p = unsafe { bindings::ferrite_dentry_name(self.as_ptr(), &mut len) };
        // SAFETY: `d_name.name` points to `len` bytes that outlive this borrow, as above.
        unsafe { core::slice::from_raw_parts(p, len as usize) }
    }

    /// The inode, if the dentry is positive.
    pub(crate) fn inode(&self) -> Option<&Inode> {
        // SAFETY: the dentry is valid.
        let p = unsafe { bindings::ferrite_d_inode(self.as_ptr()) };
        // SAFETY: a positive dentry keeps its inode alive.
        (!p.is_null()).then(|| unsafe { Inode::from_raw(p) })
    }

    /// The dentry's super block.
    pub(crate) fn super_block(&self) -> &SuperBlock {
        // SAFETY: `d_sb` is valid while the dentry is.
        unsafe { SuperBlock::from_raw((*self.as_ptr()).d_sb) }
    }

    /// Instantiates the dentry with an existing inode (`d_instantiate`), giving it the reference.
    pub(crate) fn instantiate(&self, inode: InodeRef) {
        // SAFETY: the dentry is negative (a link target); it takes the reference.
        unsafe { bindings::d_instantiate(self.as_ptr(), inode.into_raw()) };
    }

    /// The result of `lookup`: `d_splice_alias` of the inode found, or a negative dentry.
    pub(crate) fn splice_alias(&self, inode: Option<InodeRef>) -> *mut bindings::dentry {
        let p = inode.map_or(core::ptr::null_mut(), InodeRef::into_raw);
        // SAFETY: `d_splice_alias` takes the inode reference (or NULL) and the dentry being
        // looked up.
        unsafe { bindings::d_splice_alias(p, self.as_ptr()) }
    }

    /// The root dentry of a super block made from its root inode (`d_make_root`).
    pub(crate) fn make_root(inode: InodeRef) -> Result<NonNull<bindings::dentry>> {
        // SAFETY: `d_make_root` consumes the reference (also on failure).
        let d = unsafe { bindings::d_make_root(inode.into_raw()) };
        NonNull::new(d).ok_or(ENOMEM)
    }
}

/// An open file, borrowed.
#[repr(transparent)]
pub(crate) struct File(Opaque<bindings::file>);

impl File {
    /// Borrows the file behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid file that stays valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::file) -> &'a Self {
        // SAFETY: transparent wrapper.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::file {
        self.0.get()
    }

    /// The file's inode (`file_inode`).
    pub(crate) fn inode(&self) -> &Inode {
        // SAFETY: an open file pins its inode.
        unsafe { Inode::from_raw(bindings::ferrite_file_inode(self.as_ptr())) }
    }

    /// Writes back the dirty pages (DAX: the dirty entries) of byte range `start..=end` and waits
    /// (`file_write_and_wait_range`).
    pub(crate) fn write_and_wait(&self, start: i64, end: i64) -> Result {
        // SAFETY: the file is valid.
        kernel::error::to_result(unsafe {
            bindings::file_write_and_wait_range(self.as_ptr(), start, end)
        })
    }

    /// Updates the access time after a read (`file_accessed`).
    pub(crate) fn accessed(&self) {
        // SAFETY: the file is valid.
        unsafe { bindings::ferrite_file_accessed(self.as_ptr()) };
    }

    /// Updates the times and drops privileges for a write (`file_modified`).
    pub(crate) fn modified(&self) -> Result {
        // SAFETY: the file is valid; the caller holds the inode lock.
        kernel::error::to_result(unsafe { bindings::file_modified(self.as_ptr()) })
    }
}

/// The id mapping of the mount an operation came through.
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

/// Requested attribute changes (`struct iattr`).
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
    pub(crate) fn prepare(&self, idmap: &Idmap, dentry: &Dentry) -> Result {
        // SAFETY: all three are valid for the callback.
        kernel::error::to_result(unsafe {
            bindings::setattr_prepare(idmap.as_ptr(), dentry.as_ptr(), self.0.get())
        })
    }

    /// Copies the non-size changes into the inode (`setattr_copy`).
    pub(crate) fn copy_to(&self, idmap: &Idmap, inode: &Inode) {
        // SAFETY: all three are valid; the caller holds the inode lock.
        unsafe { bindings::setattr_copy(idmap.as_ptr(), inode.as_ptr(), self.0.get()) };
    }
}

/// A `stat` result being filled in.
#[repr(transparent)]
pub(crate) struct Kstat(Opaque<bindings::kstat>);

impl Kstat {
    /// Fills in everything the inode has (`generic_fillattr`).
    pub(crate) fn fill(&self, idmap: &Idmap, mask: u32, inode: &Inode) {
        // SAFETY: all valid for the callback.
        unsafe { bindings::generic_fillattr(idmap.as_ptr(), mask, inode.as_ptr(), self.0.get()) };
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

/// `statfs` results.
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

/// A `readdir` in progress.
#[repr(transparent)]
pub(crate) struct DirContext(Opaque<bindings::dir_context>);

impl DirContext {
    /// The position (cookie).
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: the context is valid for the callback and only this callback changes it.
        unsafe { (*self.0.get()).pos }
    }

    /// Sets the position.
    pub(crate) fn set_pos(&self, pos: i64) {
        // SAFETY: as above.
        unsafe { (*self.0.get()).pos = pos };
    }

    /// Emits `.` and `..` if the position is before them (`dir_emit_dots`).
    pub(crate) fn emit_dots(&self, file: &File) -> bool {
        // SAFETY: both valid for the callback.
        unsafe { bindings::ferrite_dir_emit_dots(file.as_ptr(), self.0.get()) != 0 }
    }

    /// Emits one entry at the current position; false when the caller's buffer is full.
    pub(crate) fn emit(&self, name: &[u8], ino: u64, dtype: u8) -> bool {
        let len = i32::try_from(name.len()).unwrap_or(0);
        // SAFETY: the context is valid; `name` is `len` readable bytes.
        unsafe {
            bindings::ferrite_dir_emit(self.0.get(), name.as_ptr().cast(), len, ino, dtype.into())
                != 0
        }
    }
}

/// An I/O control block (`struct kiocb`).
#[repr(transparent)]
pub(crate) struct Kiocb(Opaque<bindings::kiocb>);

impl Kiocb {
    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::kiocb {
        self.0.get()
    }

    /// The file.
    pub(crate) fn file(&self) -> &File {
        // SAFETY: `ki_filp` is valid while the I/O runs.
        unsafe { File::from_raw((*self.as_ptr()).ki_filp) }
    }

    /// The file position of the I/O.
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: the kiocb is valid.
        unsafe { (*self.as_ptr()).ki_pos }
    }

    /// Whether the I/O must not sleep (`IOCB_NOWAIT`).
    pub(crate) fn nowait(&self) -> bool {
        // SAFETY: the kiocb is valid.
        unsafe { (*self.as_ptr()).ki_flags & bindings::IOCB_NOWAIT as ffi::c_int != 0 }
    }

    /// Checks a write against limits and applies `O_APPEND` (`generic_write_checks`); returns
    /// the bytes to write (0: nothing to do).
    pub(crate) fn write_checks(&self, iter: &IovIter) -> Result<usize> {
        // SAFETY: both valid; the caller holds the inode lock.
        let n = unsafe { bindings::generic_write_checks(self.as_ptr(), iter.as_ptr()) };
        usize::try_from(kernel::error::to_result(n as ffi::c_int).map(|()| n)?).map_err(|_| EINVAL)
    }

    /// Syncs a completed write of `count` bytes if the file or I/O asks for it
    /// (`generic_write_sync`).
    pub(crate) fn write_sync(&self, count: usize) -> Result<usize> {
        let c = ffi::c_long::try_from(count).map_err(|_| EINVAL)?;
        // SAFETY: the kiocb is valid; the inode lock is not held.
        let r = unsafe { bindings::ferrite_generic_write_sync(self.as_ptr(), c) };
        if r < 0 {
            return Err(Error::from_errno(r as ffi::c_int));
        }
        Ok(usize::try_from(r).unwrap_or(0))
    }
}

/// An I/O vector iterator (`struct iov_iter`).
#[repr(transparent)]
pub(crate) struct IovIter(Opaque<bindings::iov_iter>);

impl IovIter {
    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::iov_iter {
        self.0.get()
    }
}

/// A random 32-bit number (`get_random_u32`), e.g. for inode generations.
pub(crate) fn random_u32() -> u32 {
    // SAFETY: `get_random_u32` may be called from any context.
    unsafe { bindings::ferrite_random_u32() }
}

/// The wall clock in seconds since the epoch.
pub(crate) fn real_seconds() -> i64 {
    // SAFETY: `ktime_get_real_seconds` may be called from any context.
    unsafe { bindings::ktime_get_real_seconds() }
}

/// Converts an `ERR_PTR`-or-pointer return into a `Result`.
pub(crate) fn check_ptr<T>(p: *mut T) -> Result<*mut T> {
    from_err_ptr(p)
}
