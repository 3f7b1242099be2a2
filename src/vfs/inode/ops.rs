// SPDX-License-Identifier: GPL-2.0

//! The inode operations (`struct inode_operations`): the trait a filesystem implements, once per
//! kind of inode it has, and the table built from it.

use super::callbacks::*;
use super::Inode;
use crate::bindings;
use crate::vfs::xattr::{AclRef, AclType, PosixAcl, XattrList};
use crate::vfs::{empty_table, Dentry, File, FileSystem, Iattr, Idmap, Kstat};
use core::marker::PhantomData;
use kernel::error::VTABLE_DEFAULT_ERROR;
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

    /// Whether the request is for the extended attributes' storage (`FIEMAP_FLAG_XATTR`); the
    /// flag is cleared, as ext4 and XFS clear it before walking their attribute mappings, since
    /// the iomap core refuses flags it does not know.
    pub(crate) fn take_xattr_flag(&self) -> bool {
        // SAFETY: the request is valid for the callback that borrows it, and only that callback
        // touches its flags.
        unsafe {
            let flags = &mut (*self.0.get()).fi_flags;
            let set = *flags & bindings::FIEMAP_FLAG_XATTR != 0;
            *flags &= !bindings::FIEMAP_FLAG_XATTR;
            set
        }
    }
}

/// The flags being set by `FS_IOC_SETFLAGS` or `FS_IOC_FSSETXATTR` (`struct fileattr`).
///
/// # Invariants
///
/// The wrapped structure is valid for the `fileattr_set` callback that borrows it.
#[repr(transparent)]
pub(crate) struct FileAttr(Opaque<bindings::fileattr>);

impl FileAttr {
    /// Borrows the structure behind `p`.
    ///
    /// # Safety
    ///
    /// `p` is valid for reads for `'a`.
    pub(crate) unsafe fn from_raw<'a>(p: *mut bindings::fileattr) -> &'a Self {
        // SAFETY: a transparent wrapper; the caller guarantees validity.
        unsafe { &*p.cast::<Self>() }
    }

    fn get(&self) -> &bindings::fileattr {
        // SAFETY: valid for reads while borrowed (type invariant); nothing writes it meanwhile.
        unsafe { &*self.0.get() }
    }

    /// The requested `FS_*_FL` flags (also for `FS_IOC_FSSETXATTR`, whose `FS_XFLAG_*` the VFS
    /// translates).
    pub(crate) fn flags(&self) -> u32 {
        self.get().flags
    }

    /// `FS_XFLAG_*` flags, extent size hints and project id that have no `FS_*_FL` form (those of
    /// `FS_IOC_FSSETXATTR`), if any were asked for.
    pub(crate) fn extended(&self) -> Option<(u32, u32, u32, u32)> {
        let a = self.get();
        a.fsx_valid()
            .then_some((a.fsx_xflags, a.fsx_extsize, a.fsx_projid, a.fsx_cowextsize))
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

    /// `fileattr_get`: the inode's `FS_*_FL` flags (`FS_IOC_GETFLAGS`; the VFS derives the
    /// `FS_XFLAG_*` of `FS_IOC_FSGETXATTR` from them).
    fn fileattr_get(_inode: &Inode<Self::FileSystem>) -> Result<u32> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `fileattr_set`: `FS_IOC_SETFLAGS` or `FS_IOC_FSSETXATTR` on the inode of `dentry`, which
    /// the VFS has locked after checking ownership and `CAP_LINUX_IMMUTABLE`.
    fn fileattr_set(_idmap: &Idmap, _dentry: &Dentry<Self::FileSystem>, _fa: &FileAttr) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `listxattr`: every attribute name of the inode of `dentry`, into `list`.
    fn listxattr(_dentry: &Dentry<Self::FileSystem>, _list: &mut XattrList<'_>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `get_inode_acl` (not in RCU walk mode: the layer answers `ECHILD` there): the inode's
    /// ACL of `kind`, or `None`. The VFS caches the result.
    fn get_acl(_inode: &Inode<Self::FileSystem>, _kind: AclType) -> Result<Option<PosixAcl>> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `set_acl`: stores (or, with `None`, removes) the ACL of `kind` of the inode of `dentry`,
    /// which the VFS has locked, and caches it.
    fn set_acl(
        _idmap: &Idmap,
        _dentry: &Dentry<Self::FileSystem>,
        _acl: Option<AclRef<'_>>,
        _kind: AclType,
    ) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// The `inode_operations` table of `I`.
pub(crate) struct InodeOpsTable<I>(PhantomData<I>);

impl<I: InodeOperations> InodeOpsTable<I> {
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
            Some(unlink::<I, false>)
        } else {
            None
        },
        rmdir: if I::HAS_UNLINK {
            Some(unlink::<I, true>)
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
        fileattr_set: if I::HAS_FILEATTR_SET {
            Some(fileattr_set::<I>)
        } else {
            None
        },
        listxattr: if I::HAS_LISTXATTR {
            Some(listxattr::<I>)
        } else {
            None
        },
        get_inode_acl: if I::HAS_GET_ACL {
            Some(get_inode_acl::<I>)
        } else {
            None
        },
        set_acl: if I::HAS_SET_ACL {
            Some(set_acl::<I>)
        } else {
            None
        },
        ..empty_table()
    };
}
