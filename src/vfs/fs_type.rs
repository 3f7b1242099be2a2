// SPDX-License-Identifier: GPL-2.0

//! Filesystem type registration.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h) (`struct file_system_type`,
//! `register_filesystem`).

use super::fs_context::{self, FsContext, MountOption, ParamTable};
use super::{errno, Dentry, Inode, Kstatfs, SuperBlock};
use crate::bindings;
use crate::vfs::super_block::SeqFile;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::error::{to_result, VTABLE_DEFAULT_ERROR};
use kernel::ffi;
use kernel::prelude::*;
use kernel::types::{ARef, Opaque};

/// A filesystem type: its mount callbacks (`file_system_type`, `fs_context_operations`) and its
/// super block operations (`super_operations`: the methods from `evict_inode` on, NULL in the
/// table where not implemented). The callback contract is in the
/// [layer's documentation](super#callbacks).
#[vtable]
pub(crate) trait FileSystem: Sized + 'static {
    /// The name under which the type appears in `/proc/filesystems` and `mount -t`.
    const NAME: &'static CStr;

    /// What a mounted instance keeps (in `s_fs_info`), dropped after the super block is shut down.
    type Data: Send + Sync;

    /// The mount options the filesystem knows.
    const PARAMS: ParamTable;

    /// Whether the filesystem may be mounted through an idmapped mount (`FS_ALLOW_IDMAP`): every
    /// operation that takes an [`Idmap`](super::Idmap) hands it to the VFS helpers that map ids
    /// (`inode_init_owner`, `setattr_prepare`/`setattr_copy`, `generic_fillattr`, the ACL
    /// helpers), and no uid or gid is read from an `iattr` other than through them.
    const ALLOW_IDMAP: bool = false;

    /// Accepts or refuses one mount option of [`PARAMS`](Self::PARAMS).
    fn parse_option(fc: &FsContext, opt: MountOption) -> Result;

    /// Reads and validates the filesystem on the device of `sb`, sets the super block up
    /// ([`SuperBlock::init`]), and returns the mount's data (which the super block then keeps in
    /// `s_fs_info`).
    fn fill_super(sb: &SuperBlock<Self>, fc: &FsContext) -> Result<Pin<KBox<Self::Data>>>;

    /// The root directory's inode, once the mount's data is in place.
    fn fill_root(sb: &SuperBlock<Self>) -> Result<ARef<Inode<Self>>>;

    /// Accepts or refuses a remount; `read_only` is the requested change of the read-only flag.
    fn reconfigure(sb: &SuperBlock<Self>, fc: &FsContext, read_only: Option<bool>) -> Result;

    /// `evict_inode`: the inode's last reference is gone (the layer then drops its pages and
    /// clears it, as every `evict_inode` must).
    fn evict_inode(_inode: &Inode<Self>) {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `dirty_inode`: the VFS changed the inode's attributes in memory (`I_DIRTY_*` flags).
    fn dirty_inode(_inode: &Inode<Self>, _flags: u32) {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `statfs`.
    fn statfs(_sb: &SuperBlock<Self>, _buf: &Kstatfs) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `show_options`: the mount options for `/proc/mounts`, each starting with a comma.
    fn show_options(_sb: &SuperBlock<Self>, _m: &SeqFile) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `sync_fs`: makes everything written so far durable (`wait`: and waits for it).
    fn sync_fs(_sb: &SuperBlock<Self>, _wait: bool) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `freeze_fs`: the VFS has stopped new writes and synced (`fsfreeze`, a device snapshot):
    /// leave the device in a state that needs no recovery.
    fn freeze_fs(_sb: &SuperBlock<Self>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `unfreeze_fs`: writes start again.
    fn unfreeze_fs(_sb: &SuperBlock<Self>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `put_super`: the super block is being shut down; its inodes are gone, its data still set.
    fn put_super(_sb: &SuperBlock<Self>) {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// Static storage for one `file_system_type`.
///
/// The structure must live in static memory: it contains the lock class keys of the filesystem's
/// super blocks (`s_umount_key`, ...), and lockdep only accepts static keys.
pub(crate) struct FsTypeSlot {
    fs: Opaque<bindings::file_system_type>,
    in_use: AtomicBool,
}

// SAFETY: `fs` is written only by `Registration::new` after it set `in_use` (so by one thread at a
// time), and after registration only the VFS touches it, under its own `file_systems_lock`.
unsafe impl Sync for FsTypeSlot {}

impl FsTypeSlot {
    /// An unused slot, for a `static`.
    pub(crate) const fn new() -> Self {
        Self {
            fs: Opaque::uninit(),
            in_use: AtomicBool::new(false),
        }
    }
}

/// A registered filesystem type; dropping it unregisters the type.
///
/// # Invariants
///
/// `slot.fs` holds a `file_system_type` registered with `register_filesystem`, and stays
/// registered until `drop`; `slot.in_use` is set for as long as the registration lives.
pub(crate) struct Registration {
    slot: &'static FsTypeSlot,
}

impl Registration {
    /// Registers the filesystem type `T`, owned by `module`, in `slot`.
    pub(crate) fn new<T: FileSystem>(
        slot: &'static FsTypeSlot,
        module: &'static ThisModule,
    ) -> Result<Self> {
        if slot.in_use.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        let fs = bindings::file_system_type {
            name: T::NAME.as_char_ptr(),
            fs_flags: (bindings::FS_REQUIRES_DEV
                | if T::ALLOW_IDMAP {
                    bindings::FS_ALLOW_IDMAP
                } else {
                    0
                }) as ffi::c_int,
            init_fs_context: Some(init_fs_context::<T>),
            parameters: T::PARAMS.as_ptr(),
            kill_sb: Some(kill_sb::<T>),
            owner: module.as_ptr().cast(),
            ..Default::default()
        };
        // SAFETY: winning `in_use` above makes this the only user of the slot, which is not
        // registered, so nothing else reads or writes `slot.fs` now.
        unsafe { slot.fs.get().write(fs) };
        // SAFETY: `slot.fs` is a fully initialised `file_system_type` in static memory, which stays
        // valid (and untouched by ferrite) until it is unregistered in `drop`.
        if let Err(e) = to_result(unsafe { bindings::register_filesystem(slot.fs.get()) }) {
            slot.in_use.store(false, Ordering::Release);
            return Err(e);
        }
        // INVARIANT: registration succeeded, and `in_use` is set.
        Ok(Self { slot })
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, `self.slot.fs` is registered.
        unsafe { bindings::unregister_filesystem(self.slot.fs.get()) };
        self.slot.in_use.store(false, Ordering::Release);
    }
}

/// The mount-context operations of filesystem `T`.
struct ContextOps<T>(core::marker::PhantomData<T>);

impl<T: FileSystem> ContextOps<T> {
    const OPS: bindings::fs_context_operations = bindings::fs_context_operations {
        // Nothing to free: `fs_private` holds option bits, not an allocation
        // (`FsContext::add_option_bits`).
        free: None,
        dup: None,
        parse_param: Some(parse_param::<T>),
        parse_monolithic: None,
        get_tree: Some(get_tree::<T>),
        reconfigure: Some(reconfigure::<T>),
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

/// `fs_context_operations::parse_param`.
///
/// # Safety
///
/// `fc` and `param` must be valid, as the VFS passes them to `parse_param`.
unsafe extern "C" fn parse_param<T: FileSystem>(
    fc: *mut bindings::fs_context,
    param: *mut bindings::fs_parameter,
) -> ffi::c_int {
    // SAFETY: `fc` and `param` are valid by the function's contract.
    match unsafe { fs_context::parse_param(fc, param, T::PARAMS) } {
        // Not ours: the VFS handles `source` and refuses the rest with a message.
        Ok(None) => ENOPARAM.to_errno(),
        // SAFETY: `fc` is valid for the duration of this call.
        Ok(Some(opt)) => errno(T::parse_option(unsafe { FsContext::from_raw(fc) }, opt)),
        Err(e) => e.to_errno(),
    }
}

/// `fs_context_operations::reconfigure`: a remount.
///
/// # Safety
///
/// `fc` must be a valid reconfiguration context of a mounted super block of `T`.
unsafe extern "C" fn reconfigure<T: FileSystem>(fc: *mut bindings::fs_context) -> ffi::c_int {
    // SAFETY: `fc` is valid by the function's contract.
    let fcr = unsafe { FsContext::from_raw(fc) };
    let root = fcr.root();
    if root.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: for a reconfiguration the VFS sets `root` to the mount's root dentry, of a super
    // block of `T` (these context operations are `T`'s), which outlives the call.
    let sb = unsafe { Dentry::<T>::from_raw(root) }.super_block();
    errno(T::reconfigure(sb, fcr, fcr.read_only_change()))
}

/// `fs_context_operations::get_tree`: a super block on the block device named by the mount.
///
/// # Safety
///
/// `fc` must be a valid mount context, as the VFS passes to `get_tree`.
unsafe extern "C" fn get_tree<T: FileSystem>(fc: *mut bindings::fs_context) -> ffi::c_int {
    // SAFETY: `fc` is valid by the function's contract; `fill_super::<T>` has the signature
    // `get_tree_bdev` expects.
    unsafe { bindings::get_tree_bdev(fc, Some(fill_super::<T>)) }
}

/// The `fill_super` callback of `get_tree_bdev`.
///
/// # Safety
///
/// `sb` must be a new block-device super block and `fc` its mount context, as `get_tree_bdev`
/// passes them.
unsafe extern "C" fn fill_super<T: FileSystem>(
    sb: *mut bindings::super_block,
    fc: *mut bindings::fs_context,
) -> ffi::c_int {
    // SAFETY: both are valid for this call by the function's contract; `sb` has `s_bdev` set and
    // is of filesystem type `T` (`get_tree::<T>` asked for it).
    let (sbr, fcr) = unsafe { (SuperBlock::<T>::from_raw(sb), FsContext::from_raw(fc)) };
    let data = match T::fill_super(sbr, fcr) {
        Ok(data) => data,
        Err(e) => return e.to_errno(),
    };
    // SAFETY: `sb` is valid and not yet visible to anyone else; the data is pinned for its whole
    // life, and `kill_sb::<T>` takes it back with `KBox::from_raw` and drops it in place.
    unsafe { (*sb).s_fs_info = KBox::into_raw(Pin::into_inner_unchecked(data)).cast() };
    let root = match T::fill_root(sbr).and_then(Dentry::make_root) {
        Ok(root) => root,
        // `kill_sb` drops the data.
        Err(e) => return e.to_errno(),
    };
    // SAFETY: `sb` is being set up by this callback; the VFS takes the root dentry over.
    unsafe { (*sb).s_root = root.as_ptr() };
    0
}

/// `file_system_type::kill_sb`: shuts the super block down, then drops the mount's data.
///
/// # Safety
///
/// `sb` must be a super block of filesystem `T`, as the VFS passes to `kill_sb`.
unsafe extern "C" fn kill_sb<T: FileSystem>(sb: *mut bindings::super_block) {
    // SAFETY: `sb` is valid by the function's contract.
    let data = unsafe { (*sb).s_fs_info }.cast::<T::Data>();
    // SAFETY: `sb` is a block-device super block being killed.
    unsafe { bindings::kill_block_super(sb) };
    if !data.is_null() {
        // SAFETY: a non-NULL `s_fs_info` was set by `fill_super::<T>` from `KBox::into_raw` of a
        // pinned box, and nothing uses it after the super block has been shut down above; it is
        // dropped in place, never moved.
        drop(unsafe { KBox::from_raw(data) });
    }
}
