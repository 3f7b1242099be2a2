// SPDX-License-Identifier: GPL-2.0

//! Extended attributes and POSIX ACLs: the `xattr_handler`s of the `user.`, `trusted.` and
//! `security.` namespaces built from a filesystem's [`Xattrs`], the list a `listxattr` fills,
//! ACL objects (`struct posix_acl`) and the ACL helpers of `fs/posix_acl.c`, and the initial
//! security attributes of a new inode.
//!
//! C headers: [`include/linux/xattr.h`](srctree/include/linux/xattr.h),
//! [`include/linux/posix_acl.h`](srctree/include/linux/posix_acl.h). The VFS checks names,
//! sizes and permissions (`xattr_permission`) before it calls a handler, and routes
//! `system.posix_acl_*` to the inode operations `get_inode_acl` and `set_acl` itself.

use super::{Dentry, FileSystem, Idmap, Inode};
use crate::bindings;
use crate::kvec::VecExt;
use core::marker::PhantomData;
use core::ptr::NonNull;
use kernel::ffi;
use kernel::prelude::*;

/// The namespaces whose attributes a filesystem stores through [`Xattrs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum XattrNamespace {
    /// `user.`
    User,
    /// `trusted.` (the VFS lets only `CAP_SYS_ADMIN` read or write them).
    Trusted,
    /// `security.`
    Security,
}

impl XattrNamespace {
    /// The namespace of a handler's `flags`.
    fn of(flags: ffi::c_int) -> Option<Self> {
        Some(match flags {
            0 => Self::User,
            1 => Self::Trusted,
            2 => Self::Security,
            _ => return None,
        })
    }

    /// The prefix of its names.
    fn prefix(self) -> &'static [u8] {
        match self {
            Self::User => b"user.",
            Self::Trusted => b"trusted.",
            Self::Security => b"security.",
        }
    }
}

/// How a set treats an existing attribute (`XATTR_CREATE`, `XATTR_REPLACE`, neither).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetMode {
    /// Create or replace.
    Any,
    /// `XATTR_CREATE`: `EEXIST` if it exists.
    Create,
    /// `XATTR_REPLACE`: `ENODATA` if it does not.
    Replace,
}

/// A filesystem's extended attributes. The VFS calls these with `i_rwsem` held for a set and
/// without it for a get, as `Documentation/filesystems/locking.rst` says for `xattr_handler`.
pub(crate) trait Xattrs: FileSystem {
    /// The value of `name` in `ns`: its length, with the value copied to `buf` if `buf` is at
    /// least that long (an empty `buf` asks for the length only). `ENODATA` when absent.
    fn xattr_get(
        inode: &Inode<Self>,
        ns: XattrNamespace,
        name: &[u8],
        buf: &mut [u8],
    ) -> Result<usize>;

    /// Sets `name` in `ns` to `value`, or removes it (`None`).
    fn xattr_set(
        inode: &Inode<Self>,
        ns: XattrNamespace,
        name: &[u8],
        value: Option<&[u8]>,
        mode: SetMode,
    ) -> Result;
}

/// The `xattr_handler`s of `T` (a NULL-terminated array for `s_xattr`).
pub(crate) struct XattrTable<T>(PhantomData<T>);

impl<T: Xattrs> XattrTable<T> {
    const USER: bindings::xattr_handler = handler::<T>(kernel::c_str!("user."), 0, None);
    const TRUSTED: bindings::xattr_handler =
        handler::<T>(kernel::c_str!("trusted."), 1, Some(trusted_list));
    const SECURITY: bindings::xattr_handler = handler::<T>(kernel::c_str!("security."), 2, None);
    /// The array `s_xattr` points at.
    pub(crate) const HANDLERS: [*const bindings::xattr_handler; 4] = [
        &Self::USER,
        &Self::TRUSTED,
        &Self::SECURITY,
        core::ptr::null(),
    ];
}

/// A handler of `prefix` whose `flags` carry the namespace.
const fn handler<T: Xattrs>(
    prefix: &'static CStr,
    ns: ffi::c_int,
    list: Option<unsafe extern "C" fn(*mut bindings::dentry) -> bool>,
) -> bindings::xattr_handler {
    bindings::xattr_handler {
        name: core::ptr::null(),
        prefix: prefix.as_char_ptr(),
        flags: ns,
        list,
        get: Some(xattr_get::<T>),
        set: Some(xattr_set::<T>),
    }
}

/// Whether the caller may see `trusted.` names (`CAP_SYS_ADMIN`), as other filesystems list them.
pub(crate) fn may_list_trusted() -> bool {
    super::capable_sys_admin()
}

/// `list` of the `trusted.` handler.
///
/// # Safety
///
/// Called by the VFS with a valid dentry (unused).
unsafe extern "C" fn trusted_list(_dentry: *mut bindings::dentry) -> bool {
    may_list_trusted()
}

/// `get` of a handler of `T`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks): `handler` is one of [`XattrTable::<T>`]'s,
/// `inode` valid, `name` a NUL-terminated string, `buffer` `size` writable bytes (or NULL with
/// `size` 0).
unsafe extern "C" fn xattr_get<T: Xattrs>(
    handler: *const bindings::xattr_handler,
    _dentry: *mut bindings::dentry,
    inode: *mut bindings::inode,
    name: *const ffi::c_char,
    buffer: *mut ffi::c_void,
    size: usize,
) -> ffi::c_int {
    // SAFETY: the contract: a handler of `T`'s table, a valid inode of `T`, a C string.
    let (flags, inode, name) = unsafe {
        (
            (*handler).flags,
            Inode::<T>::from_raw(inode),
            CStr::from_char_ptr(name).as_bytes(),
        )
    };
    let Some(ns) = XattrNamespace::of(flags) else {
        return crate::errno::eopnotsupp().to_errno();
    };
    let buf: &mut [u8] = if buffer.is_null() || size == 0 {
        &mut []
    } else {
        // SAFETY: the contract: `size` writable bytes at `buffer`, not otherwise borrowed.
        unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), size) }
    };
    match T::xattr_get(inode, ns, name, buf) {
        Ok(n) if size != 0 && n > size => ERANGE.to_errno(),
        Ok(n) => ffi::c_int::try_from(n).unwrap_or(E2BIG.to_errno()),
        Err(e) => e.to_errno(),
    }
}

/// `set` of a handler of `T` (`value` NULL: remove).
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks): as [`xattr_get`], with `value` `size`
/// readable bytes or NULL, and the inode locked.
unsafe extern "C" fn xattr_set<T: Xattrs>(
    handler: *const bindings::xattr_handler,
    _idmap: *mut bindings::mnt_idmap,
    _dentry: *mut bindings::dentry,
    inode: *mut bindings::inode,
    name: *const ffi::c_char,
    value: *const ffi::c_void,
    size: usize,
    flags: ffi::c_int,
) -> ffi::c_int {
    // SAFETY: the contract: a handler of `T`'s table, a valid inode of `T`, a C string.
    let (hflags, inode, name) = unsafe {
        (
            (*handler).flags,
            Inode::<T>::from_raw(inode),
            CStr::from_char_ptr(name).as_bytes(),
        )
    };
    let Some(ns) = XattrNamespace::of(hflags) else {
        return crate::errno::eopnotsupp().to_errno();
    };
    let value: Option<&[u8]> = if value.is_null() {
        None
    } else if size == 0 {
        Some(&[])
    } else {
        // SAFETY: the contract: `size` readable bytes at `value`.
        Some(unsafe { core::slice::from_raw_parts(value.cast::<u8>(), size) })
    };
    let flags = flags as u32;
    let mode = if flags & bindings::XATTR_CREATE != 0 {
        SetMode::Create
    } else if flags & bindings::XATTR_REPLACE != 0 {
        SetMode::Replace
    } else {
        SetMode::Any
    };
    super::errno(T::xattr_set(inode, ns, name, value, mode))
}

/// The names a `listxattr` returns: NUL-terminated, one after another. With an empty buffer
/// only the length is counted; with a buffer too short the list is `ERANGE`.
pub(crate) struct XattrList<'a> {
    buf: &'a mut [u8],
    len: usize,
    trusted: Option<bool>,
}

impl<'a> XattrList<'a> {
    /// A list into `buf` (empty: count only).
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Self {
            buf,
            len: 0,
            trusted: None,
        }
    }

    /// Appends `bytes` then a NUL.
    fn put(&mut self, parts: &[&[u8]]) {
        let n: usize = parts
            .iter()
            .map(|p| p.len())
            .sum::<usize>()
            .saturating_add(1);
        let start = self.len;
        self.len = self.len.saturating_add(n);
        if self.buf.is_empty() {
            return;
        }
        if let Some(out) = self.buf.get_mut(start..self.len) {
            let mut at = 0;
            for p in parts {
                if let Some(d) = out.get_mut(at..at + p.len()) {
                    d.copy_from_slice(p);
                }
                at += p.len();
            }
            if let Some(z) = out.last_mut() {
                *z = 0;
            }
        }
    }

    /// Appends `name` of `ns`; `trusted.` names only for a caller who may see them.
    pub(crate) fn push(&mut self, ns: XattrNamespace, name: &[u8]) {
        if ns == XattrNamespace::Trusted && !*self.trusted.get_or_insert_with(may_list_trusted) {
            return;
        }
        self.put(&[ns.prefix(), name]);
    }

    /// Appends the name of an ACL (`system.posix_acl_access` or `..._default`).
    pub(crate) fn push_acl(&mut self, kind: AclType) {
        let name: &[u8] = match kind {
            AclType::Access => b"system.posix_acl_access",
            AclType::Default => b"system.posix_acl_default",
        };
        self.put(&[name]);
    }

    /// The result of the `listxattr`: the length, or `ERANGE` when a buffer was given that is
    /// too short.
    pub(crate) fn result(&self) -> isize {
        if !self.buf.is_empty() && self.len > self.buf.len() {
            return ERANGE.to_errno() as isize;
        }
        isize::try_from(self.len).unwrap_or(E2BIG.to_errno() as isize)
    }
}

/// The two kinds of POSIX ACL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AclType {
    /// `ACL_TYPE_ACCESS`: the inode's own.
    Access,
    /// `ACL_TYPE_DEFAULT`: what a directory's new entries inherit.
    Default,
}

impl AclType {
    /// The kind of a C `type`.
    pub(crate) fn of(t: ffi::c_int) -> Option<Self> {
        match t as u32 {
            bindings::ACL_TYPE_ACCESS => Some(Self::Access),
            bindings::ACL_TYPE_DEFAULT => Some(Self::Default),
            _ => None,
        }
    }

    pub(crate) fn raw(self) -> ffi::c_int {
        match self {
            Self::Access => bindings::ACL_TYPE_ACCESS as ffi::c_int,
            Self::Default => bindings::ACL_TYPE_DEFAULT as ffi::c_int,
        }
    }
}

/// A POSIX ACL that the VFS lent to a callback (`set_acl`).
///
/// # Invariants
///
/// `0` points to a valid `posix_acl` for `'a`.
#[derive(Clone, Copy)]
pub(crate) struct AclRef<'a>(NonNull<bindings::posix_acl>, PhantomData<&'a ()>);

impl AclRef<'_> {
    /// Borrows the ACL behind `p`, if any.
    ///
    /// # Safety
    ///
    /// `p` is NULL or points to a valid ACL that stays valid for the borrow's lifetime.
    pub(crate) unsafe fn from_raw<'b>(p: *mut bindings::posix_acl) -> Option<AclRef<'b>> {
        // INVARIANT: the caller's guarantee.
        NonNull::new(p).map(|p| AclRef(p, PhantomData))
    }

    /// The ACL in the xattr form (`posix_acl_to_xattr`), as stored.
    pub(crate) fn to_xattr(self) -> Result<KVec<u8>> {
        let p = self.0.as_ptr();
        // SAFETY: `p` is a valid ACL (type invariant).
        let size = unsafe { bindings::ferrite_posix_acl_xattr_size(p) };
        let mut v = KVec::from_elem(0u8, size, GFP_KERNEL)?;
        // SAFETY: `p` is a valid ACL; `v` has `size` writable bytes.
        let n = unsafe { bindings::ferrite_posix_acl_to_xattr(p, v.as_mut_ptr().cast(), size) };
        let n = usize::try_from(n).map_err(|_| Error::from_errno(n))?;
        v.truncate(n);
        Ok(v)
    }

    fn as_ptr(self) -> *mut bindings::posix_acl {
        self.0.as_ptr()
    }
}

/// A referenced POSIX ACL (one reference, dropped with `posix_acl_release`).
///
/// # Invariants
///
/// `0` points to a valid `posix_acl` of which this owns one reference.
pub(crate) struct PosixAcl(NonNull<bindings::posix_acl>);

// SAFETY: ACLs are reference counted with atomics and immutable once shared; the VFS passes them
// between tasks.
unsafe impl Send for PosixAcl {}

impl PosixAcl {
    /// Takes over the reference of a C result: `NULL` is no ACL, an `ERR_PTR` its errno.
    fn from_result(p: *mut bindings::posix_acl) -> Result<Option<Self>> {
        let addr = p as isize;
        if (-4095..0).contains(&addr) {
            return Err(Error::from_errno(addr as ffi::c_int));
        }
        // INVARIANT: a non-NULL, non-error result of the ACL functions is a referenced ACL.
        Ok(NonNull::new(p).map(Self))
    }

    /// The ACL whose xattr form is `value` (`posix_acl_from_xattr`); `EINVAL` for a malformed
    /// one, `None` for an empty one.
    pub(crate) fn from_xattr(value: &[u8]) -> Result<Option<Self>> {
        // SAFETY: `value` is `len` readable bytes; the result is NULL, an ERR_PTR or a new ACL.
        Self::from_result(unsafe {
            bindings::ferrite_posix_acl_from_xattr(value.as_ptr().cast(), value.len())
        })
    }

    /// Borrows it.
    pub(crate) fn as_ref(&self) -> AclRef<'_> {
        // INVARIANT: valid while `self` holds its reference.
        AclRef(self.0, PhantomData)
    }

    /// The ACL for a file whose mode becomes `mode` (`__posix_acl_chmod`: a copy with the owner,
    /// mask or group and other entries set from the mode).
    pub(crate) fn chmod(self, mode: u32) -> Result<PosixAcl> {
        let mut p = self.into_raw();
        // SAFETY: `p` is a referenced ACL, which the call releases; it leaves in `p` a new
        // referenced copy, or NULL on failure.
        let r = unsafe {
            bindings::__posix_acl_chmod(
                &mut p,
                kernel::bindings::GFP_KERNEL,
                mode as bindings::umode_t,
            )
        };
        let new = Self::from_result(p)?;
        kernel::error::to_result(r)?;
        new.ok_or(ENOMEM)
    }

    /// Gives the reference to C (a `get_inode_acl` result).
    pub(crate) fn into_raw(self) -> *mut bindings::posix_acl {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        p
    }
}

impl Drop for PosixAcl {
    fn drop(&mut self) {
        // SAFETY: this owns one reference (type invariant).
        unsafe { bindings::ferrite_posix_acl_release(self.0.as_ptr()) };
    }
}

/// The ACLs a new inode inherits from its directory (`posix_acl_create`).
pub(crate) struct InheritedAcls {
    /// The directory's default ACL (for a new directory, its own default ACL).
    pub(crate) default: Option<PosixAcl>,
    /// The new inode's access ACL.
    pub(crate) access: Option<PosixAcl>,
}

/// Calls `posix_acl_create` for a new inode in `dir` whose mode is at `mode` (updated: the
/// umask or the inherited ACL applied).
///
/// # Safety
///
/// `dir` is a valid directory; `mode` is the `i_mode` of a new inode no one else sees yet.
pub(crate) unsafe fn acl_create(
    dir: *mut bindings::inode,
    mode: *mut bindings::umode_t,
) -> Result<InheritedAcls> {
    let mut default: *mut bindings::posix_acl = core::ptr::null_mut();
    let mut access: *mut bindings::posix_acl = core::ptr::null_mut();
    // SAFETY: the caller's guarantees; the out-pointers are locals.
    let r = unsafe { bindings::posix_acl_create(dir, mode, &mut default, &mut access) };
    kernel::error::to_result(r)?;
    Ok(InheritedAcls {
        default: PosixAcl::from_result(default)?,
        access: PosixAcl::from_result(access)?,
    })
}

impl<T: FileSystem> Inode<T> {
    /// The inode's access ACL (`get_inode_acl`: cached, or read through the filesystem's
    /// `get_inode_acl`); `None` when it has none or ACLs are off.
    pub(crate) fn access_acl(&self) -> Result<Option<PosixAcl>> {
        // SAFETY: the inode is valid; the result is NULL, an ERR_PTR or a referenced ACL.
        let p = unsafe { bindings::get_inode_acl(self.as_ptr(), AclType::Access.raw()) };
        match PosixAcl::from_result(p) {
            Err(e) if e == crate::errno::eopnotsupp() => Ok(None),
            r => r,
        }
    }

    /// Caches `acl` as the inode's ACL of `kind` (`set_cached_acl`), after it was stored.
    pub(crate) fn set_cached_acl(&self, kind: AclType, acl: Option<AclRef<'_>>) {
        let p = acl.map_or(core::ptr::null_mut(), AclRef::as_ptr);
        // SAFETY: the inode is valid; `set_cached_acl` takes its own reference of a non-NULL ACL.
        unsafe { bindings::set_cached_acl(self.as_ptr(), kind.raw(), p) };
    }

    /// The mode an access ACL being set implies (`posix_acl_update_mode`); `acl` becomes `None`
    /// when the mode says all it says. The caller holds the inode lock (as `set_acl` does).
    pub(crate) fn acl_update_mode<'a>(
        &self,
        idmap: &Idmap,
        acl: &mut Option<AclRef<'a>>,
    ) -> Result<u32> {
        let mut mode = self.mode() as bindings::umode_t;
        let mut p = acl.map_or(core::ptr::null_mut(), AclRef::as_ptr);
        // SAFETY: idmap and inode are valid; `p` is the caller's borrowed ACL or NULL, and the
        // function only ever sets it to NULL.
        let r = unsafe {
            bindings::posix_acl_update_mode(idmap.as_ptr(), self.as_ptr(), &mut mode, &mut p)
        };
        kernel::error::to_result(r)?;
        if p.is_null() {
            *acl = None;
        }
        Ok(u32::from(mode))
    }
}

impl<T: FileSystem> Dentry<T> {
    /// Updates the access ACL after a mode change (`posix_acl_chmod`); the caller holds the
    /// inode lock, as `setattr` does.
    pub(crate) fn acl_chmod(&self, idmap: &Idmap, mode: u32) -> Result {
        // SAFETY: idmap and dentry are valid; the VFS's lock is held by the caller.
        kernel::error::to_result(unsafe {
            bindings::posix_acl_chmod(idmap.as_ptr(), self.as_ptr(), mode as bindings::umode_t)
        })
    }
}

/// The initial security attributes of a new inode (`security_inode_init_security`), as
/// (name within `security.`, value) pairs.
pub(crate) type SecurityXattrs = KVec<(KVec<u8>, KVec<u8>)>;

/// Asks the security modules for the attributes of a new inode named `name` in `dir`.
///
/// # Safety
///
/// `inode` is a new inode with its mode set, `dir` a valid directory, `name` a valid `qstr`
/// of the new name (or NULL for an unnamed inode).
pub(crate) unsafe fn init_security(
    inode: *mut bindings::inode,
    dir: *mut bindings::inode,
    name: *const bindings::qstr,
) -> Result<SecurityXattrs> {
    let mut out = SecurityXattrs::new();
    // SAFETY: the caller's guarantees; the callback gets `out` back as its context and runs
    // before this returns.
    let r = unsafe {
        bindings::ferrite_init_security(inode, dir, name, core::ptr::from_mut(&mut out).cast())
    };
    kernel::error::to_result(r)?;
    Ok(out)
}

/// Records one initial security attribute (called back from `ferrite_init_security`).
///
/// # Safety
///
/// `ctx` is the `SecurityXattrs` of [`init_security`]; `name` a C string; `value` `len`
/// readable bytes.
#[no_mangle]
unsafe extern "C" fn ferrite_security_xattr(
    ctx: *mut ffi::c_void,
    name: *const ffi::c_char,
    value: *const ffi::c_void,
    len: usize,
) -> ffi::c_int {
    // SAFETY: the caller's guarantees.
    let (out, name, value) = unsafe {
        (
            &mut *ctx.cast::<SecurityXattrs>(),
            CStr::from_char_ptr(name).as_bytes(),
            if len == 0 {
                &[][..]
            } else {
                core::slice::from_raw_parts(value.cast::<u8>(), len)
            },
        )
    };
    let r = (|| -> Result {
        let mut n = KVec::new();
        n.extend_from_slice(name, GFP_KERNEL)?;
        let mut v = KVec::new();
        v.extend_from_slice(value, GFP_KERNEL)?;
        out.push((n, v), GFP_KERNEL)?;
        Ok(())
    })();
    super::errno(r)
}

impl<T: Xattrs> super::SuperBlock<T> {
    /// Installs `T`'s handlers of the `user.`, `trusted.` and `security.` namespaces and, with
    /// `acl`, turns POSIX ACLs on or off (`SB_POSIXACL`, which mount options may have set: the VFS then leaves the umask to the
    /// filesystem, which applies it through [`acl_create`]). Called from `fill_super`.
    pub(crate) fn init_xattrs(&self, acl: bool) {
        let h: &'static [*const bindings::xattr_handler; 4] = &XattrTable::<T>::HANDLERS;
        // SAFETY: the super block is being filled in and not yet visible; the table is 'static.
        unsafe {
            (*self.as_ptr()).s_xattr = h.as_ptr().cast();
            let bit = bindings::SB_POSIXACL as ffi::c_ulong;
            if acl {
                (*self.as_ptr()).s_flags |= bit;
            } else {
                (*self.as_ptr()).s_flags &= !bit;
            }
        }
    }

    /// Whether POSIX ACLs are on (`IS_POSIXACL`).
    pub(crate) fn posix_acl(&self) -> bool {
        // SAFETY: a racy read of the flag word, as `IS_POSIXACL` does; the flag is set only
        // before the super block is visible (and by remount).
        let flags = unsafe { (*self.as_ptr()).s_flags };
        flags & bindings::SB_POSIXACL as ffi::c_ulong != 0
    }
}

impl<T: FileSystem> super::NewInode<T> {
    /// Applies the ACLs of `dir` to the new inode (`posix_acl_create`, after `init_owner`): its
    /// mode loses the umask, or the inherited ACL's bits; returns the ACLs it gets. With ACLs
    /// off, nothing happens (the VFS applied the umask already).
    pub(crate) fn init_acl(&mut self, dir: &Inode<T>) -> Result<InheritedAcls> {
        let inode = self.inode().as_ptr();
        // SAFETY: the new inode is not visible to anyone else until it is published, so its
        // `i_mode` can be written; `dir` is a valid directory.
        unsafe { acl_create(dir.as_ptr(), core::ptr::addr_of_mut!((*inode).i_mode)) }
    }

    /// The security modules' attributes for the new inode, named `dentry` in `dir` (`None` for
    /// an unnamed one: `O_TMPFILE`).
    pub(crate) fn init_security(
        &self,
        dir: &Inode<T>,
        dentry: Option<&Dentry<T>>,
    ) -> Result<SecurityXattrs> {
        let name = dentry.map_or(core::ptr::null(), |d| {
            // SAFETY: the dentry is valid; its name is stable while the caller holds the parent's
            // lock, as the VFS does around the namespace operations that make inodes.
            unsafe { core::ptr::addr_of!((*d.as_ptr()).d_name) }
        });
        // SAFETY: the inode is new with its mode set, `dir` valid, `name` NULL or the dentry's.
        unsafe { init_security(self.inode().as_ptr(), dir.as_ptr(), name) }
    }
}
