// SPDX-License-Identifier: GPL-2.0

//! New inodes: from the inode cache (`iget_locked`) or made for a new file (`new_inode`), filled
//! in with the operations of their kind, then published.

use super::ops::InodeOpsTable;
use super::{Attrs, Inode, InodeOperations};
use crate::bindings;
use crate::vfs::file::{self, FileOperations};
use crate::vfs::{Dentry, File, FileSystem, Idmap, SuperBlock};
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::prelude::*;
use kernel::types::ARef;

/// The operations an inode of filesystem `T` gets: its inode operations, and by its kind its
/// file operations, address space operations and flags.
pub(crate) struct Ops<T: FileSystem> {
    iops: &'static bindings::inode_operations,
    fops: Option<&'static bindings::file_operations>,
    aops: Option<&'static bindings::address_space_operations>,
    /// `S_DAX`: the file's data is accessed through DAX.
    dax: bool,
    /// A device, FIFO or socket: `init_special_inode` picks the file operations.
    special: bool,
    _fs: PhantomData<T>,
}

impl<T: FileSystem> Ops<T> {
    /// Operations from their tables and flags.
    const fn of(
        iops: &'static bindings::inode_operations,
        fops: Option<&'static bindings::file_operations>,
        aops: Option<&'static bindings::address_space_operations>,
        dax: bool,
        special: bool,
    ) -> Self {
        Self {
            iops,
            fops,
            aops,
            dax,
            special,
            _fs: PhantomData,
        }
    }

    /// A directory.
    pub(crate) const fn dir<I, F>() -> Self
    where
        I: InodeOperations<FileSystem = T>,
        F: FileOperations<FileSystem = T>,
    {
        let fops = &file::FileOpsTable::<F>::TABLE;
        Self::of(&InodeOpsTable::<I>::TABLE, Some(fops), None, false, false)
    }

    /// A regular file whose mapping has the address space operations `aops`; `dax` sets
    /// `S_DAX`.
    pub(crate) const fn regular<I, F>(
        aops: &'static bindings::address_space_operations,
        dax: bool,
    ) -> Self
    where
        I: InodeOperations<FileSystem = T>,
        F: FileOperations<FileSystem = T>,
    {
        let fops = &file::FileOpsTable::<F>::TABLE;
        Self::of(
            &InodeOpsTable::<I>::TABLE,
            Some(fops),
            Some(aops),
            dax,
            false,
        )
    }

    /// A symbolic link.
    pub(crate) const fn symlink<I: InodeOperations<FileSystem = T>>() -> Self {
        Self::of(&InodeOpsTable::<I>::TABLE, None, None, false, false)
    }

    /// A device, FIFO or socket (its file operations are the VFS's, by its type).
    pub(crate) const fn special<I: InodeOperations<FileSystem = T>>() -> Self {
        Self::of(&InodeOpsTable::<I>::TABLE, None, None, false, true)
    }
}

/// A new inode of filesystem `T`, not yet visible (from `iget_locked` with `I_NEW`, or
/// `new_inode`): the caller fills it in and then publishes it; dropping it unpublished discards
/// it.
///
/// # Invariants
///
/// `ptr` is a referenced inode of a super block of `T`, private to the owner of the `NewInode`:
/// unhashed (`new_inode`), or hashed and `I_NEW` if `locked`.
pub(crate) struct NewInode<T: FileSystem> {
    ptr: NonNull<bindings::inode>,
    locked: bool,
    _fs: PhantomData<T>,
}

impl<T: FileSystem> NewInode<T> {
    /// The inode.
    pub(crate) fn inode(&self) -> &Inode<T> {
        // SAFETY: `self` owns a reference to an inode of `T` (type invariant).
        unsafe { Inode::from_raw(self.ptr.as_ptr()) }
    }

    /// Sets the owner and mode of a new inode in `dir` (`inode_init_owner`: setgid directories
    /// pass their group on).
    pub(crate) fn init_owner(&self, idmap: &Idmap, dir: &Inode<T>, mode: u32) {
        // SAFETY: the inode is new and private to the caller (type invariant); `dir` and `idmap`
        // are valid.
        unsafe {
            bindings::inode_init_owner(idmap.as_ptr(), self.ptr.as_ptr(), dir.as_ptr(), mode as _)
        };
    }

    /// Gives the inode its number and hashes it (`insert_inode_locked`); the inode must come
    /// from [`SuperBlock::new_inode`].
    pub(crate) fn insert(&mut self, ino: u64) -> Result {
        if self.locked {
            return Err(EINVAL);
        }
        // SAFETY: the inode is new, private and unhashed (type invariant, `locked` is false), so
        // its number may be written and it may be hashed.
        kernel::error::to_result(unsafe {
            (*self.ptr.as_ptr()).i_ino = ino as _;
            bindings::insert_inode_locked(self.ptr.as_ptr())
        })?;
        // INVARIANT: `insert_inode_locked` hashed the inode with `I_NEW`.
        self.locked = true;
        Ok(())
    }

    /// Fills the inode in: attributes, and the operations `ops` of its kind.
    pub(crate) fn fill(&self, ops: &Ops<T>, a: &Attrs) {
        let p = self.ptr.as_ptr();
        // SAFETY: the inode is new and private to the caller (type invariant), so its fields may
        // be written; the operation tables are `'static`.
        unsafe {
            bindings::ferrite_inode_set_attrs(p, a);
            bindings::ferrite_inode_set_blocks(p, a.blocks);
            (*p).i_op = ops.iops;
            if let Some(f) = ops.fops {
                (*p).__bindgen_anon_3.i_fop = f;
            }
            if let Some(aops) = ops.aops {
                (*(*p).i_mapping).a_ops = aops;
            }
            if ops.dax {
                (*p).i_flags |= bindings::S_DAX;
            }
            if ops.special {
                bindings::ferrite_init_special_inode(p, a.mode, a.rdev);
            }
        }
    }

    /// Publishes the inode: clears `I_NEW` and wakes waiters.
    pub(crate) fn publish(self) -> ARef<Inode<T>> {
        let (p, locked) = self.into_parts();
        if locked {
            // SAFETY: the inode is hashed and `I_NEW`, and filled in by the owner.
            unsafe { bindings::unlock_new_inode(p.as_ptr()) };
        }
        // SAFETY: the reference `self` owned is handed to the `ARef`.
        unsafe { ARef::from_raw(p.cast()) }
    }

    /// Publishes the inode as `dentry`'s (`d_instantiate_new`); the dentry takes the reference.
    pub(crate) fn instantiate(self, dentry: &Dentry<T>) {
        let (p, locked) = self.into_parts();
        // SAFETY: the inode is filled in; both functions consume the reference, and
        // `d_instantiate_new` also unlocks a hashed `I_NEW` inode.
        unsafe {
            if locked {
                bindings::d_instantiate_new(dentry.as_ptr(), p.as_ptr());
            } else {
                bindings::d_instantiate(dentry.as_ptr(), p.as_ptr());
            }
        }
    }

    /// Publishes the inode as the O_TMPFILE `file`'s (`d_tmpfile`, which drops the link count
    /// to 0) and opens the file (`finish_open_simple`). The inode was hashed by
    /// [`insert`](Self::insert).
    pub(crate) fn tmpfile(self, file: &File<T>) -> Result {
        if !self.locked {
            return Err(EINVAL);
        }
        let (p, _) = self.into_parts();
        // SAFETY: the inode is hashed, `I_NEW` and filled in with a link count of 1 (which
        // `d_tmpfile` drops); `file` is the tmpfile being opened; `d_tmpfile` consumes the
        // reference. Then `file` has a dentry with an inode, as `finish_open_simple` needs.
        kernel::error::to_result(unsafe {
            bindings::d_tmpfile(file.as_ptr(), p.as_ptr());
            bindings::unlock_new_inode(p.as_ptr());
            bindings::ferrite_finish_open_simple(file.as_ptr(), 0)
        })
    }

    /// The inode and whether it is hashed, leaving the reference to the caller.
    fn into_parts(self) -> (NonNull<bindings::inode>, bool) {
        let me = core::mem::ManuallyDrop::new(self);
        (me.ptr, me.locked)
    }
}

impl<T: FileSystem> Drop for NewInode<T> {
    fn drop(&mut self) {
        let p = self.ptr.as_ptr();
        // SAFETY: `self` owns the new inode's reference (type invariant). An unpublished inode is
        // made a bad inode, which eviction leaves alone: the filesystem's media is not touched
        // for it.
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
pub(crate) enum Iget<T: FileSystem> {
    /// The inode was cached.
    Cached(ARef<Inode<T>>),
    /// A new inode, hashed and `I_NEW`: fill it in and publish it.
    New(NewInode<T>),
}

impl<T: FileSystem> SuperBlock<T> {
    /// The inode `ino` from the inode cache, or a new locked one to read in (`iget_locked`).
    pub(crate) fn iget(&self, ino: u64) -> Result<Iget<T>> {
        // SAFETY: the super block is valid (type invariant).
        let p = unsafe { bindings::iget_locked(self.as_ptr(), ino as _) };
        let p = NonNull::new(p).ok_or(ENOMEM)?;
        // SAFETY: `iget_locked` returned a referenced inode of this super block, one of `T`'s.
        if unsafe { bindings::ferrite_inode_is_new(p.as_ptr()) } != 0 {
            // INVARIANT: an `I_NEW` inode from `iget_locked` is hashed and private to us.
            Ok(Iget::New(NewInode {
                ptr: p,
                locked: true,
                _fs: PhantomData,
            }))
        } else {
            // SAFETY: the reference `iget_locked` took is handed to the `ARef`.
            Ok(Iget::Cached(unsafe { ARef::from_raw(p.cast()) }))
        }
    }

    /// A new, unhashed inode (`new_inode`), for creating a file.
    pub(crate) fn new_inode(&self) -> Result<NewInode<T>> {
        // SAFETY: the super block is valid (type invariant).
        let p = unsafe { bindings::new_inode(self.as_ptr()) };
        // INVARIANT: `new_inode` returns a referenced, unhashed inode of this super block.
        Ok(NewInode {
            ptr: NonNull::new(p).ok_or(ENOMEM)?,
            locked: false,
            _fs: PhantomData,
        })
    }
}
