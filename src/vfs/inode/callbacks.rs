// SPDX-License-Identifier: GPL-2.0

//! The trampolines of [`InodeOpsTable`](super::ops::InodeOpsTable): each turns the VFS's raw
//! arguments into the wrappers and calls the [`InodeOperations`] method.

use super::ops::{FiemapInfo, FileAttr, InodeOperations};
use super::Inode;
use crate::bindings;
use crate::vfs::xattr::{AclRef, AclType, XattrList};
use crate::vfs::{errno, Dentry, File, Iattr, Idmap, Kstat};
use kernel::ffi;
use kernel::prelude::*;

/// `lookup`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
pub(super) unsafe extern "C" fn lookup<I: InodeOperations>(
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

/// `create`: a regular file.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
pub(super) unsafe extern "C" fn create<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    _excl: bool,
) -> ffi::c_int {
    // SAFETY: the callback contract: valid objects of `I::FileSystem`, the directory locked.
    let (idmap, dir, dentry) = unsafe {
        (
            Idmap::from_raw(idmap),
            Inode::from_raw(dir),
            Dentry::from_raw(dentry),
        )
    };
    errno(I::mknod(idmap, dir, dentry, mode.into(), 0))
}

/// `mkdir`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
pub(super) unsafe extern "C" fn mkdir<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
) -> ffi::c_int {
    // SAFETY: the callback contract: valid objects of `I::FileSystem`, the directory locked.
    let (idmap, dir, dentry) = unsafe {
        (
            Idmap::from_raw(idmap),
            Inode::from_raw(dir),
            Dentry::from_raw(dentry),
        )
    };
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
pub(super) unsafe extern "C" fn mknod<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    rdev: bindings::dev_t,
) -> ffi::c_int {
    // SAFETY: the callback contract: valid objects of `I::FileSystem`, the directory locked.
    let (idmap, dir, dentry) = unsafe {
        (
            Idmap::from_raw(idmap),
            Inode::from_raw(dir),
            Dentry::from_raw(dentry),
        )
    };
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
pub(super) unsafe extern "C" fn symlink<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    target: *const ffi::c_char,
) -> ffi::c_int {
    // SAFETY: the callback contract: valid objects of `I::FileSystem`, the directory locked;
    // `target` is a NUL-terminated string valid for the call.
    let (idmap, dir, dentry, target) = unsafe {
        (
            Idmap::from_raw(idmap),
            Inode::from_raw(dir),
            Dentry::from_raw(dentry),
            CStr::from_char_ptr(target),
        )
    };
    errno(I::symlink(idmap, dir, dentry, target.as_bytes()))
}

/// `link`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
pub(super) unsafe extern "C" fn link<I: InodeOperations>(
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

/// `unlink` (`DIR` false) and `rmdir` (`DIR` true).
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
pub(super) unsafe extern "C" fn unlink<I: InodeOperations, const DIR: bool>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> ffi::c_int {
    // SAFETY: the callback contract: valid objects, the directory and the victim locked.
    let (dir, dentry) = unsafe { (Inode::from_raw(dir), Dentry::from_raw(dentry)) };
    errno(I::unlink(dir, dentry, DIR))
}

/// `rename`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
pub(super) unsafe extern "C" fn rename<I: InodeOperations>(
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
pub(super) unsafe extern "C" fn tmpfile<I: InodeOperations>(
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
pub(super) unsafe extern "C" fn setattr<I: InodeOperations>(
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
pub(super) unsafe extern "C" fn getattr<I: InodeOperations>(
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
pub(super) unsafe extern "C" fn get_link<I: InodeOperations>(
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
pub(super) unsafe extern "C" fn fiemap<I: InodeOperations>(
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
pub(super) unsafe extern "C" fn fileattr_get<I: InodeOperations>(
    dentry: *mut bindings::dentry,
    fa: *mut bindings::fileattr,
) -> ffi::c_int {
    // SAFETY: the callback contract: a valid dentry, and a zeroed `fileattr` to fill.
    let Some(inode) = (unsafe { Dentry::<I::FileSystem>::from_raw(dentry) }).inode() else {
        return ENOENT.to_errno();
    };
    match I::fileattr_get(inode) {
        Ok(flags) => {
            // SAFETY: `fa` is valid for writing; `fileattr_fill_flags` sets the `FS_XFLAG_*`
            // flags from them.
            unsafe { bindings::fileattr_fill_flags(fa, flags) };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// `listxattr`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks): a valid dentry, `buffer` `size` writable
/// bytes (or NULL with `size` 0).
pub(super) unsafe extern "C" fn listxattr<I: InodeOperations>(
    dentry: *mut bindings::dentry,
    buffer: *mut ffi::c_char,
    size: usize,
) -> isize {
    // SAFETY: the contract: a valid dentry of `I::FileSystem`.
    let dentry = unsafe { Dentry::from_raw(dentry) };
    let buf: &mut [u8] = if buffer.is_null() || size == 0 {
        &mut []
    } else {
        // SAFETY: the contract: `size` writable bytes at `buffer`, lent for this call.
        unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), size) }
    };
    let mut list = XattrList::new(buf);
    match I::listxattr(dentry, &mut list) {
        Ok(()) => list.result(),
        Err(e) => e.to_errno() as isize,
    }
}

/// `get_inode_acl`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
pub(super) unsafe extern "C" fn get_inode_acl<I: InodeOperations>(
    inode: *mut bindings::inode,
    kind: ffi::c_int,
    rcu: bool,
) -> *mut bindings::posix_acl {
    if rcu {
        // Reading the media may sleep: the VFS retries outside RCU.
        return ECHILD.to_ptr();
    }
    // SAFETY: the contract: a valid inode of `I::FileSystem`.
    let inode = unsafe { Inode::from_raw(inode) };
    let Some(kind) = AclType::of(kind) else {
        return EINVAL.to_ptr();
    };
    match I::get_acl(inode, kind) {
        Ok(Some(acl)) => acl.into_raw(),
        Ok(None) => core::ptr::null_mut(),
        Err(e) => e.to_ptr(),
    }
}

/// `set_acl`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks): `acl` a valid ACL lent for the call, or NULL.
pub(super) unsafe extern "C" fn set_acl<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    acl: *mut bindings::posix_acl,
    kind: ffi::c_int,
) -> ffi::c_int {
    // SAFETY: the contract: valid objects of `I::FileSystem`; the ACL lives for the call.
    let (idmap, dentry, acl) = unsafe {
        (
            Idmap::from_raw(idmap),
            Dentry::from_raw(dentry),
            AclRef::from_raw(acl),
        )
    };
    let Some(kind) = AclType::of(kind) else {
        return EINVAL.to_errno();
    };
    errno(I::set_acl(idmap, dentry, acl, kind))
}

/// `fileattr_set`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks): valid objects, `fa` valid for the call.
pub(super) unsafe extern "C" fn fileattr_set<I: InodeOperations>(
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    fa: *mut bindings::fileattr,
) -> ffi::c_int {
    // SAFETY: the callback contract: valid objects of `I::FileSystem` for the call.
    let (idmap, dentry, fa) = unsafe {
        (
            Idmap::from_raw(idmap),
            Dentry::from_raw(dentry),
            FileAttr::from_raw(fa),
        )
    };
    errno(I::fileattr_set(idmap, dentry, fa))
}
