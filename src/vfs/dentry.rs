// SPDX-License-Identifier: GPL-2.0

//! Directory entries.
//!
//! C header: [`include/linux/dcache.h`](srctree/include/linux/dcache.h) (`struct dentry`).

use super::{FileSystem, Inode, SuperBlock};
use crate::bindings;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::prelude::*;
use kernel::types::{ARef, Opaque};

/// A dentry of a super block of filesystem `T`, borrowed for a VFS callback.
///
/// # Invariants
///
/// The wrapped dentry is valid while the wrapper is borrowed, and its super block is one of `T`'s.
#[repr(transparent)]
pub(crate) struct Dentry<T: FileSystem>(Opaque<bindings::dentry>, PhantomData<T>);

impl<T: FileSystem> Dentry<T> {
    /// Borrows the dentry behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid dentry of a super block of `T` that stays valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::dentry) -> &'a Self {
        // SAFETY: `Dentry` is a transparent wrapper of `dentry`; the caller guarantees validity
        // for `'a` and the filesystem type, which is the type invariant.
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
        // SAFETY: the dentry is valid (type invariant); `len` is a local out-pointer. The name
        // returned is `len` bytes that stay in place while the parent's lock is held, which the
        // VFS holds around the callback this borrow lives in.
        unsafe {
            let p = bindings::ferrite_dentry_name(self.as_ptr(), &mut len);
            core::slice::from_raw_parts(p, len as usize)
        }
    }

    /// The inode, if the dentry is positive.
    pub(crate) fn inode(&self) -> Option<&Inode<T>> {
        // SAFETY: the dentry is valid (type invariant); a positive dentry keeps its inode alive
        // while the dentry is, and the inode is on the dentry's super block, one of `T`'s.
        unsafe {
            let p = bindings::ferrite_d_inode(self.as_ptr());
            (!p.is_null()).then(|| Inode::from_raw(p))
        }
    }

    /// The dentry's super block.
    pub(crate) fn super_block(&self) -> &SuperBlock<T> {
        // SAFETY: `d_sb` is set when the dentry is made and valid while it is; it is one of `T`'s
        // super blocks (type invariant).
        unsafe { SuperBlock::from_raw((*self.as_ptr()).d_sb) }
    }

    /// Instantiates the negative dentry with an existing inode (`d_instantiate`), which takes
    /// the reference.
    pub(crate) fn instantiate(&self, inode: ARef<Inode<T>>) {
        let p = ARef::into_raw(inode).as_ptr().cast::<bindings::inode>();
        // SAFETY: the dentry is valid; `p` is a referenced inode whose reference the dentry takes
        // over.
        unsafe { bindings::d_instantiate(self.as_ptr(), p) };
    }

    /// The result of `lookup`: `d_splice_alias` of the inode found (which takes the reference),
    /// or a negative dentry.
    pub(crate) fn splice_alias(&self, inode: Option<ARef<Inode<T>>>) -> *mut bindings::dentry {
        let p = inode.map_or(core::ptr::null_mut(), |i| {
            ARef::into_raw(i).as_ptr().cast::<bindings::inode>()
        });
        // SAFETY: `d_splice_alias` takes the inode reference (or NULL) and the dentry being
        // looked up, which is valid.
        unsafe { bindings::d_splice_alias(p, self.as_ptr()) }
    }

    /// The root dentry of a super block made from its root inode (`d_make_root`).
    pub(crate) fn make_root(inode: ARef<Inode<T>>) -> Result<NonNull<bindings::dentry>> {
        let p = ARef::into_raw(inode).as_ptr().cast::<bindings::inode>();
        // SAFETY: `d_make_root` consumes the reference (also on failure).
        let d = unsafe { bindings::d_make_root(p) };
        NonNull::new(d).ok_or(ENOMEM)
    }
}
