// SPDX-License-Identifier: GPL-2.0

//! The inode operations (`struct inode_operations`): the trait a filesystem implements, once per
//! kind of inode it has, and the table built from it.

use super::Inode;
use crate::bindings;
use crate::vfs::{empty_table, errno, Dentry, File, FileSystem, Iattr, Idmap, Kstat};
use core::marker::PhantomData;
use kernel::error::VTABLE_DEFAULT_ERROR;
use kernel::ffi;
use kernel::prelude::*;
use kernel::types::{ARef, Opaque};

/// A FIEMAP request being answered (`struct fiemap_extent_info`).
///
/// # Invariants
///
/// The wrapped request is valid, and filled in by the `fiemap` callback that borrows it.
#[repr(transparent)]
pub(crate) struct FiemapInfo(Opaque<bindings::fiemap_extent_info>);

impl FiemapInfo {
    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::fiemap_extent_info {
        self.0.get()
    }
}

/// The operations of one kind of inode of a filesystem (directories, regular files, symbolic
/// links, special files). Each method is the C operation of the same name, with the VFS's locks
/// held as `Documentation/filesystems/locking.rst` says; those not implemented are NULL in the
/// table. The callback contract is in the [layer's documentation](crate::vfs#callbacks).
#[vtable]
pub(crate) trait InodeOperations {
    /// The filesystem whose inodes these are.
    type FileSystem: FileSystem;

    /// `lookup`: the inode `dentry`'s name names in `dir`, or `None` (a negative dentry).
    fn lookup(
        _dir: &Inode<Self::FileSystem>,
        _dentry: &Dentry<Self::FileSystem>,
    ) -> Result<Option<ARef<Inode<Self::FileSystem>>>> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `create` (a regular file), `mkdir` (`mode` has `S_IFDIR`) and `mknod`: a new inode of
    /// `mode` named by `dentry` in `dir`; `rdev` (0 but for devices) is in the `new_encode_dev`
    /// form.
    fn mknod(
        _idmap: &Idmap,
        _dir: &Inode<Self::FileSystem>,
        _dentry: &Dentry<Self::FileSystem>,
        _mode: u32,
        _rdev: u32,
    ) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `symlink`.
    fn symlink(
        _idmap: &Idmap,
        _dir: &Inode<Self::FileSystem>,
        _dentry: &Dentry<Self::FileSystem>,
        _target: &[u8],
    ) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `link`: `new` in `dir` names the inode of `old`.
    fn link(
        _old: &Dentry<Self::FileSystem>,
        _dir: &Inode<Self::FileSystem>,
        _new: &Dentry<Self::FileSystem>,
    ) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `unlink` (`is_dir` false) and `rmdir` (true).
    fn unlink(
        _dir: &Inode<Self::FileSystem>,
        _dentry: &Dentry<Self::FileSystem>,
        _is_dir: bool,
    ) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `rename`, with the `RENAME_*` flags.
    fn rename(
        _idmap: &Idmap,
        _old_dir: &Inode<Self::FileSystem>,
        _old: &Dentry<Self::FileSystem>,
        _new_dir: &Inode<Self::FileSystem>,
        _new: &Dentry<Self::FileSystem>,
        _flags: u32,
    ) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `tmpfile`: a new unnamed inode of `mode`, opened as `file`.
    fn tmpfile(
        _idmap: &Idmap,
        _dir: &Inode<Self::FileSystem>,
        _file: &File<Self::FileSystem>,
        _mode: u32,
    ) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `setattr`.
    fn setattr(_idmap: &Idmap, _dentry: &Dentry<Self::FileSystem>, _attr: &Iattr) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `getattr`: fills `stat` in for the attributes in `mask`.
    fn getattr(
        _idmap: &Idmap,
        _inode: &Inode<Self::FileSystem>,
        _stat: &Kstat,
        _mask: u32,
    ) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `get_link`: the target of a symbolic link, NUL-terminated (a target without the NUL is
    /// refused with `EIO`).
    fn get_link(_inode: &Inode<Self::FileSystem>) -> Result<KVec<u8>> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `fiemap`: reports the extents of bytes `start..start + len`.
    fn fiemap(
        _inode: &Inode<Self::FileSystem>,
        _info: &FiemapInfo,
        _start: u64,
        _len: u64,
    ) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `fileattr_get`: the inode's `FS_XFLAG_*` flags.
    fn fileattr_get(_inode: &Inode<Self::FileSystem>) -> Result<u32> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The `inode_operations` table of `I`.
pub(crate) struct Table<I>(PhantomData<I>);

impl<I: InodeOperations> Table<I> {
    /// The table: `create`, `mkdir` and `mknod` are all [`InodeOperations::mknod`], `unlink`
    /// and `rmdir` both [`InodeOperations::unlink`].
    pub(crate) const TABLE: bindings::inode_operations = bindings::inode_operations {
        lookup: if I::HAS_LOOKUP {
            Some(lookup::<I>)
        } else {
            None
        },
        create: if I::HAS_MKNOD {
            Some(create::<I>)
        } else {
            None
        },
        mkdir: if I::HAS_MKNOD { Some(mkdir::<I>) } else { None },
        mknod: if I::HAS_MKNOD { Some(mknod::<I>) } else { None },
        symlink: if I::HAS_SYMLINK {
            Some(symlink::<I>)
        } else {
            None
        },
        link: if I::HAS_LINK { Some(link::<I>) } else { None },
        unlink: if I::HAS_UNLINK {
            Some(unlink::<I>)
        } else {
            None
        },
        rmdir: if I::HAS_UNLINK {
            Some(rmdir::<I>)
        } else {
            None
        },
        rename: if I::HAS_RENAME {
            Some(rename::<I>)
        } else {
            None
        },
        tmpfile: if I::HAS_TMPFILE {
            Some(tmpfile::<I>)
        } else {
            None
        },
        setattr: if I::HAS_SETATTR {
            Some(setattr::<I>)
        } else {
            None
        },
        getattr: if I::HAS_GETATTR {
            Some(getattr::<I>)
        } else {
            None
        },
        get_link: if I::HAS_GET_LINK {
            Some(get_link::<I>)
        } else {
            None
        },
        fiemap: if I::HAS_FIEMAP {
            Some(fiemap::<I>)
        } else {
            None
        },
        fileattr_get: if I::HAS_FILEATTR_GET {
            Some(fileattr_get::<I>)
        } else {
            None
        },
        // SAFETY: `inode_operations` is a table of nullable function pointers.
        ..unsafe { empty_table() }
    };
}

/// `lookup`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn lookup<I: InodeOperations>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    _flags: ffi::c_uint,
) -> *mut bindings::dentry {
    // SAFETY: the callback contract: a valid directory of `I::FileSystem`, locked, and a dentry
    // in it.
    let (dir, dentry) = unsafe { (Inode::from_raw(dir), Dentry::from_raw(dentry)) };
    match I::lookup(dir, dentry) {
        Ok(inode) => dentry.splice_alias(inode),
        Err(e) => e.to_ptr(),
    }
}

/// The arguments of `create`, `mkdir` and `mknod` as wrappers.
///
/// # Safety
///
/// The callback contract: valid objects of `T`, the directory locked.
unsafe fn new_args<'a, T: FileSystem>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> (&'a Idmap, &'a Inode<T>, &'a Dentry<T>) {
    // SAFETY: as the function's contract.
    unsafe {
        (
            Idmap::from_raw(idmap),
            Inode::from_raw(dir),
            Dentry::from_raw(dentry),
        )
    }
}

/// `create`: a regular file.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn create<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    _excl: bool,
) -> ffi::c_int {
    // SAFETY: the callback contract.
    let (idmap, dir, dentry) = unsafe { new_args(idmap, dir, dentry) };
    errno(I::mknod(idmap, dir, dentry, mode.into(), 0))
}

/// `mkdir`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn mkdir<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
) -> ffi::c_int {
    // SAFETY: the callback contract.
    let (idmap, dir, dentry) = unsafe { new_args(idmap, dir, dentry) };
    errno(I::mknod(
        idmap,
        dir,
        dentry,
        u32::from(mode) | bindings::S_IFDIR,
        0,
    ))
}

/// `mknod`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn mknod<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    rdev: bindings::dev_t,
) -> ffi::c_int {
    // SAFETY: the callback contract.
    let (idmap, dir, dentry) = unsafe { new_args(idmap, dir, dentry) };
    // new_encode_dev() of the kernel's dev_t (major << 20 | minor).
    let (major, minor) = (rdev >> 20, rdev & 0xfffff);
    let enc = (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12);
    errno(I::mknod(idmap, dir, dentry, mode.into(), enc))
}

/// `symlink`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn symlink<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    target: *const ffi::c_char,
) -> ffi::c_int {
    // SAFETY: the callback contract; `target` is a NUL-terminated string valid for the call.
    let ((idmap, dir, dentry), target) =
        unsafe { (new_args(idmap, dir, dentry), CStr::from_char_ptr(target)) };
    errno(I::symlink(idmap, dir, dentry, target.as_bytes()))
}

/// `link`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn link<I: InodeOperations>(
    old: *mut bindings::dentry,
    dir: *mut bindings::inode,
    new: *mut bindings::dentry,
) -> ffi::c_int {
    // SAFETY: the callback contract: valid objects, the directory and the inode locked.
    let (old, dir, new) = unsafe {
        (
            Dentry::from_raw(old),
            Inode::from_raw(dir),
            Dentry::from_raw(new),
        )
    };
    errno(I::link(old, dir, new))
}

/// `unlink`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn unlink<I: InodeOperations>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> ffi::c_int {
    // SAFETY: the callback contract: valid objects, the directory and the victim locked.
    let (dir, dentry) = unsafe { (Inode::from_raw(dir), Dentry::from_raw(dentry)) };
    errno(I::unlink(dir, dentry, false))
}

/// `rmdir`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn rmdir<I: InodeOperations>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> ffi::c_int {
    // SAFETY: as in `unlink`.
    let (dir, dentry) = unsafe { (Inode::from_raw(dir), Dentry::from_raw(dentry)) };
    errno(I::unlink(dir, dentry, true))
}

/// `rename`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn rename<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    old_dir: *mut bindings::inode,
    old: *mut bindings::dentry,
    new_dir: *mut bindings::inode,
    new: *mut bindings::dentry,
    flags: ffi::c_uint,
) -> ffi::c_int {
    // SAFETY: the callback contract: valid objects, both directories (and the inodes involved)
    // locked as `vfs_rename` documents.
    let r = unsafe {
        I::rename(
            Idmap::from_raw(idmap),
            Inode::from_raw(old_dir),
            Dentry::from_raw(old),
            Inode::from_raw(new_dir),
            Dentry::from_raw(new),
            flags,
        )
    };
    errno(r)
}

/// `tmpfile`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn tmpfile<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    file: *mut bindings::file,
    mode: bindings::umode_t,
) -> ffi::c_int {
    // SAFETY: the callback contract: valid objects; `file` is being opened.
    let r = unsafe {
        I::tmpfile(
            Idmap::from_raw(idmap),
            Inode::from_raw(dir),
            File::from_raw(file),
            mode.into(),
        )
    };
    errno(r)
}

/// `setattr`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn setattr<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    attr: *mut bindings::iattr,
) -> ffi::c_int {
    // SAFETY: the callback contract: valid objects, the inode locked; `Iattr` is transparent.
    let r = unsafe {
        I::setattr(
            Idmap::from_raw(idmap),
            Dentry::from_raw(dentry),
            &*attr.cast::<Iattr>(),
        )
    };
    errno(r)
}

/// `getattr`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn getattr<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    path: *const bindings::path,
    stat: *mut bindings::kstat,
    mask: u32,
    _flags: ffi::c_uint,
) -> ffi::c_int {
    // SAFETY: the callback contract: a valid path whose dentry is positive, and a kstat that
    // only this call fills in; `Kstat` is transparent.
    let r = unsafe {
        match Dentry::<I::FileSystem>::from_raw((*path).dentry).inode() {
            Some(inode) => I::getattr(Idmap::from_raw(idmap), inode, &*stat.cast::<Kstat>(), mask),
            None => Err(ENOENT),
        }
    };
    errno(r)
}

/// `get_link`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn get_link<I: InodeOperations>(
    dentry: *mut bindings::dentry,
    inode: *mut bindings::inode,
    done: *mut bindings::delayed_call,
) -> *const ffi::c_char {
    if dentry.is_null() {
        // RCU walk: reading the target may sleep.
        return ECHILD.to_ptr();
    }
    // SAFETY: the callback contract: a valid symlink inode of `I::FileSystem`.
    let inode = unsafe { Inode::from_raw(inode) };
    match I::get_link(inode) {
        Ok(v) if v.last() == Some(&0) => {
            let (p, _, _) = v.into_raw_parts();
            // SAFETY: `p` is a kmalloc'd NUL-terminated string (non-empty, so allocated), owned
            // now by the delayed call, which kfree()s it when the VFS is done with it.
            unsafe { bindings::ferrite_set_delayed_kfree(done, p.cast()) };
            p.cast()
        }
        Ok(_) => EIO.to_ptr(),
        Err(e) => e.to_ptr(),
    }
}

/// `fiemap`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn fiemap<I: InodeOperations>(
    inode: *mut bindings::inode,
    info: *mut bindings::fiemap_extent_info,
    start: u64,
    len: u64,
) -> ffi::c_int {
    // SAFETY: the callback contract: a valid inode and request; `FiemapInfo` is transparent.
    let (inode, info) = unsafe { (Inode::from_raw(inode), &*info.cast::<FiemapInfo>()) };
    errno(I::fiemap(inode, info, start, len))
}

/// `fileattr_get`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn fileattr_get<I: InodeOperations>(
    dentry: *mut bindings::dentry,
    fa: *mut bindings::fileattr,
) -> ffi::c_int {
    // SAFETY: the callback contract: a valid dentry, and a zeroed `fileattr` to fill.
    let Some(inode) = (unsafe { Dentry::<I::FileSystem>::from_raw(dentry) }).inode() else {
        return ENOENT.to_errno();
    };
    match I::fileattr_get(inode) {
        Ok(xflags) => {
            // SAFETY: `fa` is valid for writing; `fileattr_fill_xflags` sets the flags from them.
            unsafe { bindings::fileattr_fill_xflags(fa, xflags) };
            0
        }
        Err(e) => e.to_errno(),
    }
}
