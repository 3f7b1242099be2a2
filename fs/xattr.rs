// SPDX-License-Identifier: GPL-2.0

//! Extended attributes and POSIX ACLs of ferrite's inodes, kept in their records when small and
//! in their xattr blocks otherwise (see `super::ops` for the storage, `docs/FORMAT.md` for the
//! layout).
//!
//! Locking: the VFS holds `i_rwsem` of the inode around a set (`setxattr`, `removexattr`,
//! `set_acl`) and nothing around a get or a list; every read and write runs under the mount's
//! metadata lock, in one transaction per change, so a get sees a whole value, before or after a
//! set. The initial attributes of a new inode (inherited ACLs, security labels) are written in
//! the transaction that creates it.

use super::format::{
    DiskInode as Rec, Timespec, S_IFDIR, S_IFMT, XATTR_INDEX_POSIX_ACL_ACCESS,
    XATTR_INDEX_POSIX_ACL_DEFAULT, XATTR_INDEX_SECURITY, XATTR_INDEX_TRUSTED, XATTR_INDEX_USER,
};
use super::inode::{mount_of, refresh, set_blocks, ts};
use super::ops::{Ctx, XattrMode};
use super::txn::TxIo;
use super::{Dentry, Ferrite, Inode, Mount, NewInode};
use crate::errno;
use crate::vfs::xattr::{AclRef, AclType, PosixAcl, SetMode, XattrList, XattrNamespace, Xattrs};
use crate::vfs::Idmap;
use kernel::prelude::*;

/// The on-media namespace index of `ns`.
fn index_of(ns: XattrNamespace) -> u8 {
    match ns {
        XattrNamespace::User => XATTR_INDEX_USER,
        XattrNamespace::Trusted => XATTR_INDEX_TRUSTED,
        XattrNamespace::Security => XATTR_INDEX_SECURITY,
    }
}

/// The on-media index of an ACL.
fn acl_index(kind: AclType) -> u8 {
    match kind {
        AclType::Access => XATTR_INDEX_POSIX_ACL_ACCESS,
        AclType::Default => XATTR_INDEX_POSIX_ACL_DEFAULT,
    }
}

/// A missing attribute is `ENODATA` (the operations say `NotFound`, which is `ENOENT`).
fn nodata(e: Error) -> Error {
    if e == ENOENT {
        errno::enodata()
    } else {
        e
    }
}

impl Xattrs for Ferrite {
    fn xattr_get(inode: &Inode, ns: XattrNamespace, name: &[u8], buf: &mut [u8]) -> Result<usize> {
        get(inode, index_of(ns), name, buf)
    }

    fn xattr_set(
        inode: &Inode,
        ns: XattrNamespace,
        name: &[u8],
        value: Option<&[u8]>,
        mode: SetMode,
    ) -> Result {
        let mode = match mode {
            SetMode::Any => XattrMode::Any,
            SetMode::Create => XattrMode::Create,
            SetMode::Replace => XattrMode::Replace,
        };
        set(inode, index_of(ns), name, value, mode)
    }
}

/// The value of attribute `name` of `index`: its length, copied into `buf` if it fits.
fn get(inode: &Inode, index: u8, name: &[u8], buf: &mut [u8]) -> Result<usize> {
    let mount = mount_of(inode.super_block())?;
    if !mount.sb.has_xattr() {
        return Err(errno::enodata());
    }
    let ino = inode.ino();
    mount
        .tx(|ctx| ctx.xattr_get(ino, index, name, buf))
        .map_err(nodata)
}

/// The whole value of attribute `name` of `index`, if the inode has it.
fn read_value(inode: &Inode, index: u8, name: &[u8]) -> Result<Option<KVec<u8>>> {
    // The value may change between asking its length and reading it: try again then.
    for _ in 0..4 {
        let len = match get(inode, index, name, &mut []) {
            Ok(n) => n,
            Err(e) if e == errno::enodata() => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut v = KVec::from_elem(0u8, len, GFP_KERNEL)?;
        match get(inode, index, name, &mut v) {
            Ok(n) if n == len => return Ok(Some(v)),
            Ok(_) => continue,
            Err(e) if e == errno::enodata() => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    Err(EAGAIN)
}

/// Sets or removes an attribute in one transaction; the inode's change time and block count
/// follow.
fn set(inode: &Inode, index: u8, name: &[u8], value: Option<&[u8]>, mode: XattrMode) -> Result {
    let mount = mount_of(inode.super_block())?;
    if !mount.sb.has_xattr() {
        return Err(errno::eopnotsupp());
    }
    let (ino, now) = (inode.ino(), ts(inode.now()));
    let rec = mount
        .tx_then(
            |ctx| ctx.xattr_set(ino, index, name, value, mode, now),
            |r| set_blocks(inode, r),
        )
        .map_err(nodata)?;
    refresh(inode, &rec);
    Ok(())
}

/// `listxattr`: the names of every attribute of the inode of `dentry`.
pub(crate) fn list(dentry: &Dentry, list: &mut XattrList<'_>) -> Result {
    let inode = dentry.inode().ok_or(ENOENT)?;
    let mount = mount_of(inode.super_block())?;
    if !mount.sb.has_xattr() {
        return Ok(());
    }
    let ino = inode.ino();
    mount.tx(|ctx| {
        ctx.xattr_list(ino, &mut |index, name| match index {
            XATTR_INDEX_USER => list.push(XattrNamespace::User, name),
            XATTR_INDEX_TRUSTED => list.push(XattrNamespace::Trusted, name),
            XATTR_INDEX_SECURITY => list.push(XattrNamespace::Security, name),
            XATTR_INDEX_POSIX_ACL_ACCESS => list.push_acl(AclType::Access),
            XATTR_INDEX_POSIX_ACL_DEFAULT => list.push_acl(AclType::Default),
            _ => {}
        })
    })
}

/// `get_inode_acl`: the inode's ACL of `kind`, from its attribute.
pub(crate) fn get_acl(inode: &Inode, kind: AclType) -> Result<Option<PosixAcl>> {
    match read_value(inode, acl_index(kind), b"")? {
        None => Ok(None),
        Some(v) => PosixAcl::from_xattr(&v),
    }
}

/// `set_acl`: stores the ACL (and the mode an access ACL implies) in one transaction, then
/// caches it.
pub(crate) fn set_acl(
    idmap: &Idmap,
    dentry: &Dentry,
    acl: Option<AclRef<'_>>,
    kind: AclType,
) -> Result {
    let inode = dentry.inode().ok_or(ENOENT)?;
    let mount = mount_of(inode.super_block())?;
    if !mount.sb.has_xattr() {
        return Err(errno::eopnotsupp());
    }
    let mut acl = acl;
    let mut mode = inode.mode();
    match kind {
        AclType::Access if acl.is_some() => mode = inode.acl_update_mode(idmap, &mut acl)?,
        AclType::Access => {}
        // Only directories have default ACLs (as ext4 answers).
        AclType::Default if mode & S_IFMT != S_IFDIR => {
            return if acl.is_some() { Err(EACCES) } else { Ok(()) };
        }
        AclType::Default => {}
    }
    let value = match acl {
        Some(a) => Some(a.to_xattr()?),
        None => None,
    };
    let (ino, now, index) = (inode.ino(), ts(inode.now()), acl_index(kind));
    let rec = mount.tx_then(
        |ctx| {
            let mut r = match ctx.xattr_set(ino, index, b"", value.as_deref(), XattrMode::Any, now)
            {
                Ok(r) => r,
                // Removing an ACL the inode does not have changes nothing.
                Err(super::format::Error::NotFound) if value.is_none() => ctx.read_inode(ino)?,
                Err(e) => return Err(e),
            };
            if r.mode != mode {
                r.mode = (r.mode & S_IFMT) | (mode & !S_IFMT);
                r.ctime = now;
                ctx.write_inode(&r)?;
            }
            Ok(r)
        },
        |r| set_blocks(inode, r),
    )?;
    refresh(inode, &rec);
    inode.set_cached_acl(kind, acl);
    Ok(())
}

/// The attributes a new inode starts with, ready to be written by [`NewXattrs::write`].
pub(crate) struct NewXattrs {
    /// The inherited default ACL (new directories), in the xattr form.
    default_acl: Option<KVec<u8>>,
    /// The inherited access ACL.
    access_acl: Option<KVec<u8>>,
    /// The security modules' labels: (name within `security.`, value).
    security: crate::vfs::xattr::SecurityXattrs,
}

impl NewXattrs {
    /// Applies `dir`'s ACLs to the new inode `n` (its mode changes: the umask or the ACL) and
    /// asks the security modules for its labels; `dentry` names it (`None`: `O_TMPFILE`). Call
    /// after `init_owner`, before the inode's attributes are read for the transaction.
    pub(crate) fn new(
        mount: &Mount,
        n: &mut NewInode,
        dir: &Inode,
        dentry: Option<&Dentry>,
    ) -> Result<Self> {
        let acls = n.init_acl(dir)?;
        let form = |a: Option<PosixAcl>| -> Result<Option<KVec<u8>>> {
            a.map(|a| a.as_ref().to_xattr()).transpose()
        };
        let is_dir = n.inode().mode() & S_IFMT == S_IFDIR;
        let default_acl = if is_dir { form(acls.default)? } else { None };
        let access_acl = form(acls.access)?;
        // Without the feature there is nowhere to keep labels: the modules use their defaults.
        let security = if mount.sb.has_xattr() {
            n.init_security(dir, dentry)?
        } else {
            KVec::new()
        };
        Ok(Self {
            default_acl,
            access_acl,
            security,
        })
    }

    /// Writes the attributes to the new inode `rec` inside its creating transaction; returns the
    /// record as it then is.
    pub(crate) fn write(
        &self,
        ctx: &mut Ctx<'_, TxIo<'_>>,
        rec: Rec,
        now: Timespec,
    ) -> Result<Rec, super::format::Error<Error>> {
        let mut rec = rec;
        let acls = [
            (XATTR_INDEX_POSIX_ACL_DEFAULT, &self.default_acl),
            (XATTR_INDEX_POSIX_ACL_ACCESS, &self.access_acl),
        ];
        for (index, v) in acls {
            if let Some(v) = v {
                rec = ctx.xattr_set(rec.ino, index, b"", Some(v), XattrMode::Create, now)?;
            }
        }
        for (name, value) in self.security.iter() {
            rec = ctx.xattr_set(
                rec.ino,
                XATTR_INDEX_SECURITY,
                name,
                Some(value),
                XattrMode::Create,
                now,
            )?;
        }
        Ok(rec)
    }
}
