// SPDX-License-Identifier: GPL-2.0

//! Filesystem type registration.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h) (`struct file_system_type`,
//! `register_filesystem`).

use crate::bindings;
use crate::fs_context::FsContext;
use kernel::error::to_result;
use kernel::ffi;
use kernel::prelude::*;
use kernel::types::Opaque;

/// A filesystem that can be registered with the VFS.
pub(crate) trait FileSystem {
    /// The name under which the type appears in `/proc/filesystems` and `mount -t`.
    const NAME: &'static CStr;

    /// Builds the superblock for a mount request (`fs_context_operations::get_tree`).
    fn get_tree(fc: &FsContext) -> Result;
}

/// A registered filesystem type; dropping it unregisters the type.
///
/// # Invariants
///
/// `fs` was registered with `register_filesystem` and stays registered until `drop`; it is pinned,
/// so the address the VFS holds in its list of filesystems stays valid.
pub(crate) struct Registration {
    fs: Pin<KBox<Opaque<bindings::file_system_type>>>,
}

// SAFETY: The registration only owns the `file_system_type`; after registration the VFS accesses it
// under its own `file_systems_lock`, and `unregister_filesystem` may be called from any thread.
unsafe impl Send for Registration {}
// SAFETY: `Registration` has no methods taking `&self`; shared references give no access.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers the filesystem type `T`, owned by `module`.
    pub(crate) fn new<T: FileSystem>(module: &'static ThisModule) -> Result<Self> {
        let fs = KBox::pin(
            Opaque::new(bindings::file_system_type {
                name: T::NAME.as_char_ptr(),
                fs_flags: bindings::FS_REQUIRES_DEV as ffi::c_int,
                init_fs_context: Some(init_fs_context::<T>),
                kill_sb: Some(bindings::kill_block_super),
                owner: module.as_ptr().cast(),
                ..Default::default()
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: `fs.get()` points to a fully initialised `file_system_type` that is pinned in
        // memory and outlives the registration (it is unregistered in `drop` before being freed).
        to_result(unsafe { bindings::register_filesystem(fs.get()) })?;
        // INVARIANT: registration succeeded above.
        Ok(Self { fs })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `self.fs` is registered.
        unsafe { bindings::unregister_filesystem(self.fs.get()) };
    }
}

/// The mount-context operations of filesystem `T`.
struct ContextOps<T>(core::marker::PhantomData<T>);

impl<T: FileSystem> ContextOps<T> {
    const OPS: bindings::fs_context_operations = bindings::fs_context_operations {
        free: None,
        dup: None,
        parse_param: None,
        parse_monolithic: None,
        get_tree: Some(get_tree::<T>),
        reconfigure: None,
    };
}

/// `file_system_type::init_fs_context`: installs `T`'s context operations.
///
/// # Safety
///
/// `fc` must be a valid mount context being set up by the VFS.
unsafe extern "C" fn init_fs_context<T: FileSystem>(fc: *mut bindings::fs_context) -> ffi::c_int {
    // SAFETY: `fc` is valid by the function's contract, and the VFS lets `init_fs_context` set
    // `ops`. The operations table is a promoted constant, so it lives for the whole program.
    unsafe { (*fc).ops = &ContextOps::<T>::OPS };
    0
}

/// `fs_context_operations::get_tree`.
///
/// # Safety
///
/// `fc` must be a valid mount context, as the VFS passes to `get_tree`.
unsafe extern "C" fn get_tree<T: FileSystem>(fc: *mut bindings::fs_context) -> ffi::c_int {
    // SAFETY: `fc` is valid for the duration of this call by the function's contract.
    let fc = unsafe { FsContext::from_raw(fc) };
    match T::get_tree(fc) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
