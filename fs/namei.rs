// SPDX-License-Identifier: GPL-2.0

//! Namespace operations: lookup, create, mkdir, mknod, symlink, link, unlink, rmdir, rename,
//! O_TMPFILE.
//!
//! Locking: the VFS holds the directories' `i_rwsem` (and the victims') as `Documentation/
//! filesystems/locking.rst` says; each operation then runs one metadata transaction under the
//! mount's metadata lock, and updates the VFS inodes from the records it returns after the lock
//! is dropped. Nothing here calls back into the VFS with the metadata lock held.

use super::format::{self, DiskInode as Rec, S_IFCHR, S_IFLNK, S_IFMT, S_IFREG};
use super::inode::{
    attrs_of, fs_flags, getattr, iget, mount_of, ops_of, refresh, refresh_attrs, setattr, ts,
};
use super::ops::{Ctx, NewInodeAttrs, Rename, Renamed};
use super::txn::TxIo;
use super::xattr::NewXattrs;
use super::{Dentry, Ferrite, File, Inode, InodeRef, NewInode};
use crate::bindings;
use crate::kvec::VecExt;
use crate::vfs::inode::ops::FileAttr;
use crate::vfs::xattr::{AclRef, AclType, PosixAcl, XattrList};
use crate::vfs::{Attrs, Iattr, Idmap, InodeOperations, Kstat};
use kernel::prelude::*;

/// The inode operations of directories.
pub(crate) struct DirInode;

#[vtable]
impl InodeOperations for DirInode {
    type FileSystem = Ferrite;

    fn lookup(dir: &Inode, dentry: &Dentry) -> Result<Option<InodeRef>> {
        lookup(dir, dentry.name())
    }

    /// create, mkdir and mknod: a new inode of `mode` named by `dentry` in `dir`.
    fn mknod(idmap: &Idmap, dir: &Inode, dentry: &Dentry, mode: u32, rdev: u32) -> Result {
        let sb = dir.super_block();
        let mount = mount_of(sb)?;
        let mut n = sb.new_inode()?;
        let mode = if mode & S_IFMT == 0 {
            mode | S_IFREG
        } else {
            mode
        };
        n.init_owner(idmap, dir, mode);
        let init = NewXattrs::new(mount, &mut n, dir, Some(dentry))?;
        let attr = new_attrs(&n, dir, rdev);
        let name = dentry.name();
        let d = dir.ino();
        create_named(
            mount,
            n,
            dir,
            dentry,
            &init,
            |ctx| ctx.create(d, name, &attr),
            attr.now,
        )
    }

    /// `symlink`.
    fn symlink(idmap: &Idmap, dir: &Inode, dentry: &Dentry, target: &[u8]) -> Result {
        if target.len() >= super::format::BLOCK_SIZE {
            return Err(crate::errno::enametoolong());
        }
        let sb = dir.super_block();
        let mount = mount_of(sb)?;
        let mut n = sb.new_inode()?;
        n.init_owner(idmap, dir, S_IFLNK | 0o777);
        let init = NewXattrs::new(mount, &mut n, dir, Some(dentry))?;
        let attr = new_attrs(&n, dir, 0);
        let name = dentry.name();
        let d = dir.ino();
        create_named(
            mount,
            n,
            dir,
            dentry,
            &init,
            |ctx| ctx.symlink(d, name, target, &attr),
            attr.now,
        )
    }

    /// `link`: `new` in `dir` names the inode of `old`.
    fn link(old: &Dentry, dir: &Inode, new: &Dentry) -> Result {
        let inode = old.inode().ok_or(ENOENT)?;
        let mount = mount_of(dir.super_block())?;
        let (d, ino, now, name) = (dir.ino(), inode.ino(), ts(dir.now()), new.name());
        let (drec, rec) = mount.tx(|ctx| ctx.link(d, name, ino, now))?;
        refresh(dir, &drec);
        refresh(inode, &rec);
        new.instantiate(InodeRef::from(inode));
        Ok(())
    }

    /// `unlink` and `rmdir`. The inode is freed when its last reference goes (`evict`).
    fn unlink(dir: &Inode, dentry: &Dentry, is_dir: bool) -> Result {
        let victim = dentry.inode().ok_or(ENOENT)?;
        let mount = mount_of(dir.super_block())?;
        let (d, now, name) = (dir.ino(), ts(dir.now()), dentry.name());
        let (drec, vrec) = mount.tx(|ctx| {
            if is_dir {
                ctx.rmdir(d, name, now)
            } else {
                ctx.unlink(d, name, now)
            }
        })?;
        if vrec.ino != victim.ino() {
            return Err(crate::errno::euclean());
        }
        refresh(dir, &drec);
        refresh(victim, &vrec);
        Ok(())
    }

    /// `rename` with `RENAME_NOREPLACE` (checked by the VFS), `RENAME_EXCHANGE` and
    /// `RENAME_WHITEOUT`.
    fn rename(
        idmap: &Idmap,
        old_dir: &Inode,
        old: &Dentry,
        new_dir: &Inode,
        new: &Dentry,
        flags: u32,
    ) -> Result {
        let known =
            bindings::RENAME_NOREPLACE | bindings::RENAME_EXCHANGE | bindings::RENAME_WHITEOUT;
        if flags & !known != 0 {
            return Err(EINVAL);
        }
        let sb = old_dir.super_block();
        let mount = mount_of(sb)?;
        // A whiteout (a 0:0 character device with no permission bits, for overlayfs) is a new
        // inode of the old directory as any other, as ext4 makes it: it inherits the default
        // ACL and gets the security modules' labels.
        let whiteout = if flags & bindings::RENAME_WHITEOUT != 0 {
            let mut n = sb.new_inode()?;
            n.init_owner(idmap, old_dir, S_IFCHR);
            let init = NewXattrs::new(mount, &mut n, old_dir, Some(old))?;
            Some((new_attrs(&n, old_dir, 0), init))
        } else {
            None
        };
        let req = Rename {
            old_dir: old_dir.ino(),
            old_name: old.name(),
            new_dir: new_dir.ino(),
            new_name: new.name(),
            exchange: flags & bindings::RENAME_EXCHANGE != 0,
            whiteout: whiteout.as_ref().map(|(attrs, _)| *attrs),
            now: ts(old_dir.now()),
        };
        // The inodes the rename reads and writes (1.6 KiB) are kept on the heap, not the stack.
        let mut set = KBox::new(Renamed::default(), GFP_KERNEL)?;
        let r = mount
            .tx(|ctx| rename_tx(ctx, &req, whiteout.as_ref().map(|(_, init)| init), &mut set))?;
        refresh_attrs(old_dir, &r.old_dir);
        refresh_attrs(new_dir, &r.new_dir);
        // The VFS locks the moved inode and the other one only in some cases (`vfs_rename`: not a
        // directory renamed within its parent, nor the two of an exchange within one directory),
        // so of those only the change time is set, as other filesystems do. A replaced inode (not
        // an exchange) is always locked, and loses a link.
        if let Some(moved) = old.inode() {
            if moved.ino() == r.moved.ino {
                set_ctime(moved, &r.moved);
            }
        }
        if let (Some(other), Some(a)) = (new.inode(), r.other.as_ref()) {
            if other.ino() == a.ino {
                if req.exchange {
                    set_ctime(other, a);
                } else {
                    refresh_attrs(other, a);
                }
            }
        }
        Ok(())
    }

    /// `tmpfile`: an unnamed regular file (O_TMPFILE), freed on last close unless linked.
    fn tmpfile(idmap: &Idmap, dir: &Inode, file: &File, mode: u32) -> Result {
        let sb = dir.super_block();
        let mount = mount_of(sb)?;
        let mut n = sb.new_inode()?;
        n.init_owner(idmap, dir, (mode & !S_IFMT) | S_IFREG);
        let init = NewXattrs::new(mount, &mut n, dir, None)?;
        let attr = new_attrs(&n, dir, 0);
        let rec = mount.tx(|ctx| {
            let rec = ctx.create_tmpfile(&attr)?;
            init.write(ctx, rec, attr.now)
        })?;
        n.insert(rec.ino)?;
        let mut a = attrs_of(&rec);
        // d_tmpfile() drops the link count to the media's 0.
        a.nlink = 1;
        n.fill(&ops_of(rec.mode), &a);
        n.inode().set_fs_flags(rec.flags);
        n.tmpfile(file)
    }

    fn setattr(idmap: &Idmap, dentry: &Dentry, attr: &Iattr) -> Result {
        setattr(idmap, dentry, attr)
    }

    fn getattr(idmap: &Idmap, inode: &Inode, stat: &Kstat, mask: u32) -> Result {
        getattr(idmap, inode, stat, mask)
    }

    fn fileattr_get(inode: &Inode) -> Result<u32> {
        fs_flags(inode)
    }

    fn fileattr_set(idmap: &Idmap, dentry: &Dentry, fa: &FileAttr) -> Result {
        super::inode::fileattr_set(idmap, dentry, fa)
    }

    fn listxattr(dentry: &Dentry, list: &mut XattrList<'_>) -> Result {
        super::xattr::list(dentry, list)
    }

    fn get_acl(inode: &Inode, kind: AclType) -> Result<Option<PosixAcl>> {
        super::xattr::get_acl(inode, kind)
    }

    fn set_acl(idmap: &Idmap, dentry: &Dentry, acl: Option<AclRef<'_>>, kind: AclType) -> Result {
        super::xattr::set_acl(idmap, dentry, acl, kind)
    }
}

/// `lookup`: the inode `name` names in `dir`, if any.
fn lookup(dir: &Inode, name: &[u8]) -> Result<Option<InodeRef>> {
    if name.len() > super::format::MAX_NAME_LEN {
        return Err(crate::errno::enametoolong());
    }
    let mount = mount_of(dir.super_block())?;
    let d = dir.ino();
    let Some(e) = mount.tx(|ctx| ctx.lookup(d, name))? else {
        return Ok(None);
    };
    iget(dir.super_block(), e.ino).map(Some)
}

/// The transaction of a new named inode: `make` creates it (returning the directory's and the
/// inode's records), then its initial attributes `init` are written in the same transaction;
/// the directory is refreshed and the new inode filled in and instantiated under `dentry`.
fn create_named(
    mount: &super::Mount,
    mut n: NewInode,
    dir: &Inode,
    dentry: &Dentry,
    init: &NewXattrs,
    make: impl FnOnce(
        &mut super::ops::Ctx<'_, super::txn::TxIo<'_>>,
    ) -> Result<(Rec, Rec), super::format::Error<Error>>,
    now: super::format::Timespec,
) -> Result {
    let (drec, rec) = mount.tx(|ctx| {
        let (drec, rec) = make(ctx)?;
        Ok((drec, init.write(ctx, rec, now)?))
    })?;
    refresh(dir, &drec);
    n.insert(rec.ino)?;
    n.fill(&ops_of(rec.mode), &attrs_of(&rec));
    n.inode().set_fs_flags(rec.flags);
    n.instantiate(dentry);
    Ok(())
}

/// The attributes of a new inode in `dir`, owned as `inode_init_owner` says.
fn new_attrs(n: &NewInode, dir: &Inode, rdev: u32) -> NewInodeAttrs {
    let a = n.inode().attrs();
    NewInodeAttrs {
        mode: a.mode,
        uid: a.uid,
        gid: a.gid,
        rdev,
        now: ts(dir.now()),
        // A random generation, as NFS file handles expect.
        generation: crate::sys::random_u32(),
    }
}

/// The target of a symlink, NUL-terminated, in a kmalloc'd buffer.
pub(crate) fn read_link(inode: &Inode) -> Result<KVec<u8>> {
    let mount = mount_of(inode.super_block())?;
    let ino = inode.ino();
    let size = usize::try_from(inode.size()).map_err(|_| EIO)?;
    if size >= super::format::BLOCK_SIZE {
        return Err(crate::errno::euclean());
    }
    let mut buf = KVec::from_elem(0u8, size.saturating_add(1), GFP_KERNEL)?;
    let n = mount.tx(|ctx| {
        let rec = ctx.read_inode(ino)?;
        let out = buf.get_mut(..size).unwrap_or(&mut []);
        ctx.read_link(&rec, out)
    })?;
    buf.truncate(n);
    buf.push(0, GFP_KERNEL)?;
    Ok(buf)
}

/// Sets the change time of `inode` from its record's attributes.
fn set_ctime(inode: &Inode, a: &Attrs) {
    inode.set_ctime(a.ctime_sec, a.ctime_nsec);
}

/// The transaction of a rename, with `set` to hold its inodes: the rename, then the attributes a
/// whiteout inherits. Only the VFS attributes of the inodes leave it.
#[inline(never)]
fn rename_tx(
    ctx: &mut Ctx<'_, TxIo<'_>>,
    req: &Rename<'_>,
    whiteout: Option<&NewXattrs>,
    set: &mut Renamed,
) -> Result<RenamedAttrs, format::Error<Error>> {
    ctx.rename(req, set)?;
    if let (Some(w), Some(init)) = (set.whiteout.as_ref(), whiteout) {
        init.write(ctx, *w, req.now)?;
    }
    Ok(RenamedAttrs::of(set))
}

/// The VFS attributes of the inodes a rename changed (see [`Ctx::rename`](super::ops::Ctx)).
struct RenamedAttrs {
    old_dir: Attrs,
    new_dir: Attrs,
    moved: Attrs,
    other: Option<Attrs>,
}

impl RenamedAttrs {
    fn of(r: &Renamed) -> Self {
        RenamedAttrs {
            old_dir: attrs_of(&r.old_dir),
            new_dir: attrs_of(r.new_dir()),
            moved: attrs_of(&r.moved),
            other: r.other.as_ref().map(attrs_of),
        }
    }
}
