// SPDX-License-Identifier: GPL-2.0

//! Inodes: reading them into the VFS, attributes, eviction.

use super::format::{
    user_flags_for, Corrupt, DiskInode as Rec, Timespec, INODE_FLAGS_USER, INODE_FLAG_APPEND,
    INODE_FLAG_IMMUTABLE, INODE_FLAG_NODUMP, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG,
};
use super::{Dentry, Ferrite, Inode, InodeRef, Mount, SuperBlock};
use crate::bindings;
use crate::vfs::inode::ops::FileAttr;
use crate::vfs::inode::{attrs_fit, Ops};
use crate::vfs::xattr::{AclRef, AclType, PosixAcl, XattrList};
use crate::vfs::{Attrs, Iattr, Idmap, Iget, InodeOperations, Kstat};
use kernel::prelude::*;

/// Blocks freed per transaction when a file shrinks or is deleted.
pub(crate) const FREE_BUDGET: u32 = 32;

/// The VFS attributes of an on-media inode.
pub(crate) fn attrs_of(r: &Rec) -> Attrs {
    Attrs {
        ino: r.ino,
        size: r.size,
        blocks: r.blocks.saturating_mul(8),
        atime_sec: r.atime.sec,
        mtime_sec: r.mtime.sec,
        ctime_sec: r.ctime.sec,
        atime_nsec: r.atime.nsec,
        mtime_nsec: r.mtime.nsec,
        ctime_nsec: r.ctime.nsec,
        mode: r.mode,
        uid: r.uid,
        gid: r.gid,
        nlink: r.nlink,
        rdev: r.rdev,
        generation: r.generation,
    }
}

/// The operations an inode of `mode` gets.
pub(crate) fn ops_of(mode: u32) -> Ops<Ferrite> {
    match mode & S_IFMT {
        S_IFDIR => Ops::dir::<super::namei::DirInode, super::dir::DirFile>(),
        S_IFREG => {
            crate::dax::file_ops::<Ferrite, super::file::FileInode, super::file::RegularFile>()
        }
        S_IFLNK => Ops::symlink::<SymlinkInode>(),
        _ => Ops::special::<SpecialInode>(),
    }
}

/// The inode operations of symbolic links.
pub(crate) struct SymlinkInode;

#[vtable]
impl InodeOperations for SymlinkInode {
    type FileSystem = Ferrite;

    fn get_link(inode: &Inode) -> Result<KVec<u8>> {
        super::namei::read_link(inode)
    }

    fn listxattr(dentry: &Dentry, list: &mut XattrList<'_>) -> Result {
        super::xattr::list(dentry, list)
    }

    fn setattr(idmap: &Idmap, dentry: &Dentry, attr: &Iattr) -> Result {
        setattr(idmap, dentry, attr)
    }

    fn getattr(idmap: &Idmap, inode: &Inode, stat: &Kstat, mask: u32) -> Result {
        getattr(idmap, inode, stat, mask)
    }
}

/// The inode operations of devices, FIFOs and sockets.
pub(crate) struct SpecialInode;

#[vtable]
impl InodeOperations for SpecialInode {
    type FileSystem = Ferrite;

    fn setattr(idmap: &Idmap, dentry: &Dentry, attr: &Iattr) -> Result {
        setattr(idmap, dentry, attr)
    }

    fn getattr(idmap: &Idmap, inode: &Inode, stat: &Kstat, mask: u32) -> Result {
        getattr(idmap, inode, stat, mask)
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

/// A timestamp from `(seconds, nanoseconds)`.
pub(crate) fn ts((sec, nsec): (i64, u32)) -> Timespec {
    Timespec { sec, nsec }
}

/// The mount of a super block.
pub(crate) fn mount_of(sb: &SuperBlock) -> Result<&Mount> {
    sb.data().ok_or(EIO)
}

/// The inode `ino`, from the inode cache or read from the media.
pub(crate) fn iget(sb: &SuperBlock, ino: u64) -> Result<InodeRef> {
    match sb.iget(ino)? {
        Iget::Cached(r) => Ok(r),
        Iget::New(n) => {
            let mount = mount_of(sb)?;
            // Corruption found here is reported (a limited number of times per mount) and stops
            // the filesystem writing, as corruption found by the format code does.
            let (rec, attrs) = mount.tx(|ctx| {
                let rec = ctx.read_inode(ino)?;
                if rec.nlink == 0 {
                    return Err(Corrupt::NamedButUnlinked(ino).into());
                }
                let attrs = attrs_of(&rec);
                // The format refuses such records; this keeps any that got through from
                // reaching the VFS as other values.
                if !attrs_fit(&attrs) {
                    return Err(Corrupt::BadInodeMode(ino).into());
                }
                Ok((rec, attrs))
            })?;
            n.fill(&ops_of(rec.mode), &attrs);
            n.inode().set_fs_flags(rec.flags);
            Ok(n.publish())
        }
    }
}

/// Writes the VFS inode's mode, owner and times to the media.
fn persist_attrs(mount: &Mount, inode: &Inode) -> Result {
    persist_attrs_and(mount, inode, None)
}

/// Writes the VFS inode's mode, owner and times to the media, and in the same transaction its
/// access ACL `acl` (in the xattr form), if given.
fn persist_attrs_and(mount: &Mount, inode: &Inode, acl: Option<&[u8]>) -> Result {
    let a = inode.attrs();
    mount
        .tx_then(
            |ctx| {
                let mut r = ctx.read_inode(a.ino)?;
                apply_attrs(&mut r, &a);
                ctx.write_inode(&r)?;
                if let Some(v) = acl {
                    r = ctx.xattr_set(
                        a.ino,
                        super::format::XATTR_INDEX_POSIX_ACL_ACCESS,
                        b"",
                        Some(v),
                        super::ops::XattrMode::Replace,
                        r.ctime,
                    )?;
                }
                Ok(r)
            },
            |r| set_blocks(inode, r),
        )
        .map(|_| ())
}

/// Copies the VFS inode's permission bits, owner and times `a` into the record `r`.
pub(crate) fn apply_attrs(r: &mut Rec, a: &Attrs) {
    r.mode = (r.mode & S_IFMT) | (a.mode & !S_IFMT);
    r.uid = a.uid;
    r.gid = a.gid;
    r.atime = ts((a.atime_sec, a.atime_nsec));
    r.mtime = ts((a.mtime_sec, a.mtime_nsec));
    r.ctime = ts((a.ctime_sec, a.ctime_nsec));
}

/// `setattr`: permission checks, size change, then the other attributes.
pub(crate) fn setattr(idmap: &Idmap, dentry: &Dentry, attr: &Iattr) -> Result {
    let inode = dentry.inode().ok_or(ENOENT)?;
    let mount = mount_of(inode.super_block())?;
    attr.prepare(idmap, dentry)?;
    let mut new_size = None;
    if attr.valid() & bindings::ATTR_SIZE != 0 {
        let size = u64::try_from(attr.size()).map_err(|_| EINVAL)?;
        if inode.mode() & S_IFMT != S_IFREG {
            return Err(EINVAL);
        }
        if size > super::format::MAX_FILE_SIZE {
            return Err(EFBIG);
        }
        // Also to the same size, as ext4 and XFS do: that frees the blocks allocated past the end
        // of the file (`fallocate` with `FALLOC_FL_KEEP_SIZE`).
        new_size = Some(size);
    }
    // A new mode changes the access ACL's mask (or group) and owner and other entries: the
    // new ACL is stored with the mode, in one transaction.
    let chmod = attr.valid() & bindings::ATTR_MODE != 0
        && inode.super_block().posix_acl()
        && inode.mode() & S_IFMT != S_IFLNK;
    attr.copy_to(idmap, inode);
    // A truncate is a modification: `truncate(2)`, unlike `ftruncate(2)`, does not ask for new
    // times, and ext4 sets them itself, also for a truncate to the same size.
    if new_size.is_some() {
        let (sec, nsec) = inode.now();
        let mut a = inode.attrs();
        if attr.valid() & bindings::ATTR_MTIME == 0 {
            (a.mtime_sec, a.mtime_nsec) = (sec, nsec);
        }
        if attr.valid() & bindings::ATTR_CTIME == 0 {
            (a.ctime_sec, a.ctime_nsec) = (sec, nsec);
        }
        inode.set_attrs(&a);
    }
    match new_size {
        // The size and every other attribute in one transaction: setattr is atomic.
        Some(size) => {
            super::space::truncate(mount, inode, size)?;
            // A truncate that also clears set-id bits (a size change by another user): the ACL
            // follows in its own transaction.
            if chmod {
                dentry.acl_chmod(idmap, inode.mode())?;
            }
            Ok(())
        }
        None if chmod => match inode.access_acl()? {
            Some(acl) => {
                let acl = acl.chmod(inode.mode())?;
                let value = acl.as_ref().to_xattr()?;
                persist_attrs_and(mount, inode, Some(&value))?;
                inode.set_cached_acl(AclType::Access, Some(acl.as_ref()));
                Ok(())
            }
            None => persist_attrs(mount, inode),
        },
        None => persist_attrs(mount, inode),
    }
}

/// The `FS_IOC_GETFLAGS` flags of an inode: those set with `chattr` (stored in the record), and
/// `FS_DAX_FL` on regular files (every one is DAX) and on directories (the files created in them
/// are DAX).
pub(crate) fn fs_flags(inode: &Inode) -> Result<u32> {
    let mount = mount_of(inode.super_block())?;
    let ino = inode.ino();
    let rec = mount.tx(|ctx| ctx.read_inode(ino))?;
    let dax = match rec.mode & S_IFMT {
        S_IFREG | S_IFDIR => bindings::FS_DAX_FL,
        _ => 0,
    };
    Ok(rec.flags & user_flags_for(rec.mode) | dax)
}

/// `fileattr_set` (`chattr`, `FS_IOC_SETFLAGS`, `FS_IOC_FSSETXATTR`): the user flags, stored with
/// a new change time in one transaction, then shown to the VFS, which enforces them. As ext4:
/// flags the inode cannot have are `EOPNOTSUPP`; the DAX flag, which every file has, is ignored.
/// An inode that becomes immutable or append-only is unmapped, so that writes through mappings
/// made before stop.
pub(crate) fn fileattr_set(_idmap: &Idmap, dentry: &Dentry, fa: &FileAttr) -> Result {
    let inode = dentry.inode().ok_or(ENOENT)?;
    let mount = mount_of(inode.super_block())?;
    if let Some((xflags, extsize, projid, cowextsize)) = fa.extended() {
        let known = bindings::FS_XFLAG_IMMUTABLE
            | bindings::FS_XFLAG_APPEND
            | bindings::FS_XFLAG_SYNC
            | bindings::FS_XFLAG_NOATIME
            | bindings::FS_XFLAG_NODUMP
            | bindings::FS_XFLAG_DAX;
        if xflags & !known != 0 || extsize != 0 || projid != 0 || cowextsize != 0 {
            return Err(crate::errno::eopnotsupp());
        }
    }
    let flags = fa.flags() & !bindings::FS_DAX_FL;
    let allowed = user_flags_for(inode.mode());
    if flags & !allowed != 0 {
        return Err(crate::errno::eopnotsupp());
    }
    let (ino, now) = (inode.ino(), ts(inode.now()));
    let (old, rec) = mount.tx(|ctx| {
        let mut r = ctx.read_inode(ino)?;
        let old = r.flags;
        r.flags = (r.flags & !INODE_FLAGS_USER) | flags;
        r.ctime = now;
        ctx.write_inode(&r)?;
        Ok((old, r))
    })?;
    inode.set_fs_flags(rec.flags);
    refresh(inode, &rec);
    let stops_writes = INODE_FLAG_IMMUTABLE | INODE_FLAG_APPEND;
    if rec.flags & stops_writes & !old != 0 {
        inode.unmap_all();
    }
    Ok(())
}

/// `getattr`: the VFS attributes, the inode flags that `statx` reports (as ext4: append-only,
/// immutable, nodump), and the birth time.
pub(crate) fn getattr(idmap: &Idmap, inode: &Inode, stat: &Kstat, mask: u32) -> Result {
    stat.fill(idmap, mask, inode);
    let flags = u64::from(inode.fs_flags());
    let supported = u64::from(
        bindings::STATX_ATTR_APPEND | bindings::STATX_ATTR_IMMUTABLE | bindings::STATX_ATTR_NODUMP,
    );
    let set = [
        (INODE_FLAG_APPEND, bindings::STATX_ATTR_APPEND),
        (INODE_FLAG_IMMUTABLE, bindings::STATX_ATTR_IMMUTABLE),
        (INODE_FLAG_NODUMP, bindings::STATX_ATTR_NODUMP),
    ]
    .iter()
    .filter(|(fl, _)| flags & u64::from(*fl) != 0)
    .fold(0u64, |acc, (_, attr)| acc | u64::from(*attr));
    stat.add_attributes(set, supported);
    if mask & bindings::STATX_BTIME != 0 {
        let mount = mount_of(inode.super_block())?;
        let ino = inode.ino();
        let rec = mount.tx(|ctx| ctx.read_inode(ino))?;
        stat.set_btime(rec.btime.sec, rec.btime.nsec);
    }
    Ok(())
}

/// `dirty_inode`: the VFS changed times (or link count) in memory; make them durable.
pub(crate) fn dirty_inode(inode: &Inode, _flags: u32) {
    if inode.ino() == 0 || inode.is_bad() || inode.super_block().read_only() {
        return;
    }
    let Ok(mount) = mount_of(inode.super_block()) else {
        return;
    };
    // Shut down: nothing is written any more, as the shutdown said.
    if mount.check_up().is_err() {
        return;
    }
    // EROFS: the filesystem stopped writing after corruption and said so once, when it did; a
    // line per evicted inode would bury that message.
    match persist_attrs(mount, inode) {
        Err(e) if e.to_errno() != EROFS.to_errno() => pr_warn!(
            "{}: cannot write the times of inode {}: error {}\n",
            inode.super_block().id(),
            inode.ino(),
            e.to_errno()
        ),
        _ => {}
    }
}

/// `evict_inode`: an inode with no links left is freed on the media.
pub(crate) fn evict(inode: &Inode) {
    let ino = inode.ino();
    if ino == 0 || inode.is_bad() || inode.nlink() != 0 || inode.super_block().read_only() {
        return;
    }
    let Ok(mount) = mount_of(inode.super_block()) else {
        return;
    };
    // Shut down: the next mount frees it, as an orphan.
    if mount.check_up().is_err() {
        return;
    }
    // Freeing writes: not while the filesystem is frozen (a snapshot is being taken).
    let _frozen_out = inode.super_block().start_intwrite();
    if let Err(e) = free_inode(mount, inode.super_block(), ino) {
        // The inode stays allocated with no links: the next mount frees it.
        pr_warn!(
            "{}: cannot free inode {}: error {}\n",
            inode.super_block().id(),
            ino,
            e.to_errno()
        );
    }
}

/// The most transactions of [`FREE_BUDGET`] pieces that freeing one file's blocks can take: each
/// but the last frees that many extents or tree nodes, and there are at most two per block. More
/// means a corrupt tree that does not shrink: the loop stops there instead of going on forever.
pub(crate) fn max_free_steps(mount: &Mount) -> u64 {
    mount
        .sb
        .layout
        .block_count
        .saturating_mul(2)
        .checked_div(u64::from(FREE_BUDGET))
        .unwrap_or(0)
        .saturating_add(2)
}

/// The error of a freeing loop that reached [`max_free_steps`].
pub(crate) fn free_steps_exceeded(sb: &SuperBlock, ino: u64) -> Error {
    pr_err!(
        "{}: corrupt metadata: inode {}: freeing its blocks does not finish\n",
        sb.id(),
        ino
    );
    crate::errno::euclean()
}

/// Frees inode `ino` (no links) and its blocks, a bounded number of extents per transaction.
pub(crate) fn free_inode(mount: &Mount, sb: &SuperBlock, ino: u64) -> Result {
    for _ in 0..max_free_steps(mount) {
        if mount.tx(|ctx| ctx.free_inode(ino, FREE_BUDGET))? {
            return Ok(());
        }
    }
    Err(free_steps_exceeded(sb, ino))
}

/// Refreshes a VFS inode from its media record; the caller holds the inode lock (its own, or
/// the VFS's around the callback).
///
/// The block count of a regular file is left alone: page faults allocate blocks into the file
/// holding only shared locks, so a record read by another transaction may be older than the
/// count; the paths that change it set it in transaction order ([`Mount::tx_then`]), or under
/// the locks that keep faults out ([`set_blocks`]). The blocks of other inodes change only under
/// their inode lock, which the caller holds.
pub(crate) fn refresh(inode: &Inode, r: &Rec) {
    refresh_attrs(inode, &attrs_of(r));
}

/// [`refresh`] from the attributes of a record.
pub(crate) fn refresh_attrs(inode: &Inode, a: &Attrs) {
    inode.set_attrs(a);
    if a.mode & S_IFMT != S_IFREG {
        inode.set_blocks(a.blocks);
    }
}

/// Sets the VFS block count of `inode` from the record's count of 4 KiB blocks.
pub(crate) fn set_blocks(inode: &Inode, r: &Rec) {
    inode.set_blocks(r.blocks.saturating_mul(8));
}

impl crate::vfs::export::Export for Ferrite {
    /// The inode of an export handle: `ESTALE` unless it is in use with the handle's generation
    /// (a freed or reused inode). As ext4: a file unlinked while open is found while it is open
    /// (cached), and is `ESTALE` once closed. Nothing about a stale handle is corruption.
    fn export_inode(sb: &SuperBlock, ino: u64, generation: u32) -> Result<InodeRef> {
        let mount = mount_of(sb)?;
        let stale = crate::errno::estale();
        let rec = mount.tx(|ctx| ctx.live_inode(ino))?.ok_or(stale)?;
        if generation != 0 && rec.generation != generation {
            return Err(stale);
        }
        let inode = if rec.nlink == 0 {
            // Only an open file has no links: it is in the inode cache. A new (uncached) one is
            // an orphan a crash left, not the handle's file.
            match sb.iget(ino)? {
                Iget::Cached(i) => i,
                Iget::New(_) => return Err(stale),
            }
        } else {
            iget(sb, ino)?
        };
        if generation != 0 && inode.generation() != generation {
            return Err(stale);
        }
        Ok(inode)
    }

    /// The parent of directory `dir`, from its record.
    fn export_parent(dir: &Inode) -> Result<InodeRef> {
        let mount = mount_of(dir.super_block())?;
        let ino = dir.ino();
        let rec = mount.tx(|ctx| ctx.read_inode(ino))?;
        match rec.data {
            super::format::InodeData::Dir(d) => iget(dir.super_block(), d.parent),
            _ => Err(ENOTDIR),
        }
    }
}
