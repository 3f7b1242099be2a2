// SPDX-License-Identifier: GPL-2.0

//! ferrite's VFS operation tables and their trampolines.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h) (`struct inode_operations`,
//! `struct file_operations`, `struct super_operations`, `struct address_space_operations`).
//!
//! Each trampoline turns the raw pointers the VFS passes into the borrowed wrappers of
//! [`crate::vfs`] and calls the filesystem in `fs/`, which is safe Rust. Errors become negative
//! errnos (or `ERR_PTR`s).

use crate::bindings;
use crate::fs;
use crate::vfs::{Dentry, DirContext, File, Iattr, Idmap, Inode, IovIter, Kiocb, Kstat, Kstatfs};
use kernel::c_str;
use kernel::ffi;
use kernel::prelude::*;

/// Turns a `Result` into the errno convention of VFS callbacks.
fn errno(r: Result) -> ffi::c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Turns a byte count or an error into the `ssize_t` convention.
fn ssize(r: Result<usize>) -> isize {
    match r {
        Ok(n) => isize::try_from(n).unwrap_or(isize::MAX),
        Err(e) => e.to_errno() as isize,
    }
}

// The tables are written out field by field where they are not plain defaults, so that a reader
// sees every operation ferrite implements.

/// Directories.
pub(crate) static DIR_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
    lookup: Some(lookup),
    create: Some(create),
    link: Some(link),
    unlink: Some(unlink),
    symlink: Some(symlink),
    mkdir: Some(mkdir),
    rmdir: Some(rmdir),
    mknod: Some(mknod),
    rename: Some(rename),
    tmpfile: Some(tmpfile),
    setattr: Some(setattr),
    getattr: Some(getattr),
    fileattr_get: Some(fileattr_get),
    ..zeroed_iops()
};

/// Regular files.
pub(crate) static FILE_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
    setattr: Some(setattr),
    getattr: Some(getattr),
    fiemap: Some(fiemap),
    fileattr_get: Some(fileattr_get),
    ..zeroed_iops()
};

/// Symbolic links.
pub(crate) static SYMLINK_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
    get_link: Some(get_link),
    setattr: Some(setattr),
    getattr: Some(getattr),
    ..zeroed_iops()
};

/// Devices, FIFOs and sockets.
pub(crate) static SPECIAL_INODE_OPS: bindings::inode_operations = bindings::inode_operations {
    setattr: Some(setattr),
    getattr: Some(getattr),
    ..zeroed_iops()
};

const fn zeroed_iops() -> bindings::inode_operations {
    // SAFETY: `inode_operations` is a table of nullable function pointers: all zeroes is the
    // empty table.
    unsafe { core::mem::zeroed() }
}

const fn zeroed_fops() -> bindings::file_operations {
    // SAFETY: as for `zeroed_iops`: nullable pointers and plain flags.
    unsafe { core::mem::zeroed() }
}

/// An operation table in static memory.
#[repr(transparent)]
pub(crate) struct Table<T>(T);

// SAFETY: the tables are constants never written at run time; the one raw data pointer of a
// `file_operations` (`owner`) is NULL.
unsafe impl<T> Sync for Table<T> {}

impl<T> Table<T> {
    /// The table, for the VFS.
    pub(crate) const fn get(&'static self) -> *const T {
        &self.0
    }
}

/// Directory files.
pub(crate) static DIR_FILE_OPS: Table<bindings::file_operations> =
    Table(bindings::file_operations {
        llseek: Some(dir_llseek),
        read: Some(bindings::generic_read_dir),
        iterate_shared: Some(iterate_shared),
        fsync: Some(fsync),
        ..zeroed_fops()
    });

/// Regular files.
pub(crate) static FILE_OPS: Table<bindings::file_operations> = Table(bindings::file_operations {
    llseek: Some(llseek),
    read_iter: Some(read_iter),
    write_iter: Some(write_iter),
    open: Some(file_open),
    fsync: Some(fsync),
    fallocate: Some(fallocate),
    mmap: Some(mmap),
    get_unmapped_area: Some(bindings::thp_get_unmapped_area),
    fop_flags: bindings::FOP_MMAP_SYNC,
    splice_read: Some(bindings::copy_splice_read),
    splice_write: Some(bindings::iter_file_splice_write),
    ..zeroed_fops()
});

/// The address space of a DAX file: no page cache; dirty tracking is the DAX core's.
pub(crate) static DAX_AOPS: bindings::address_space_operations = {
    // SAFETY: a table of nullable function pointers.
    let mut a: bindings::address_space_operations = unsafe { core::mem::zeroed() };
    a.dirty_folio = Some(bindings::noop_dirty_folio);
    a.writepages = Some(writepages);
    a
};

/// The super block operations.
pub(crate) static SUPER_OPS: bindings::super_operations = {
    // SAFETY: a table of nullable function pointers.
    let mut s: bindings::super_operations = unsafe { core::mem::zeroed() };
    s.evict_inode = Some(evict_inode);
    s.dirty_inode = Some(dirty_inode);
    s.statfs = Some(statfs);
    s.show_options = Some(show_options);
    s.sync_fs = Some(sync_fs);
    s.put_super = Some(put_super);
    s
};

// -- inode operations -------------------------------------------------------------------------

/// The `lookup` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn lookup(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    _flags: ffi::c_uint,
) -> *mut bindings::dentry {
    // SAFETY: the VFS passes a valid directory and dentry, with the directory locked.
    let (dir, dentry) = unsafe { (Inode::from_raw(dir), Dentry::from_raw(dentry)) };
    match fs::namei::lookup(dir, dentry.name()) {
        Ok(inode) => dentry.splice_alias(inode),
        Err(e) => e.to_ptr(),
    }
}

/// The `create` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn create(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    _excl: bool,
) -> ffi::c_int {
    // SAFETY: the VFS passes valid objects, with the directory locked.
    let (idmap, dir, dentry) = unsafe {
        (
            Idmap::from_raw(idmap),
            Inode::from_raw(dir),
            Dentry::from_raw(dentry),
        )
    };
    errno(fs::namei::mknod(idmap, dir, dentry, mode.into(), 0))
}

/// The `mkdir` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn mkdir(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
) -> ffi::c_int {
    // SAFETY: as in `create`.
    let (idmap, dir, dentry) = unsafe {
        (
            Idmap::from_raw(idmap),
            Inode::from_raw(dir),
            Dentry::from_raw(dentry),
        )
    };
    let mode = u32::from(mode) | bindings::S_IFDIR;
    errno(fs::namei::mknod(idmap, dir, dentry, mode, 0))
}

/// The `mknod` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn mknod(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    rdev: bindings::dev_t,
) -> ffi::c_int {
    // SAFETY: as in `create`.
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
    errno(fs::namei::mknod(idmap, dir, dentry, mode.into(), enc))
}

/// The `symlink` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn symlink(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    target: *const ffi::c_char,
) -> ffi::c_int {
    // SAFETY: as in `create`; `target` is a NUL-terminated string valid for the call.
    let (idmap, dir, dentry, target) = unsafe {
        (
            Idmap::from_raw(idmap),
            Inode::from_raw(dir),
            Dentry::from_raw(dentry),
            CStr::from_char_ptr(target),
        )
    };
    errno(fs::namei::symlink(idmap, dir, dentry, target.as_bytes()))
}

/// The `link` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn link(
    old: *mut bindings::dentry,
    dir: *mut bindings::inode,
    new: *mut bindings::dentry,
) -> ffi::c_int {
    // SAFETY: the VFS passes valid objects with the directory and the inode locked.
    let (old, dir, new) = unsafe {
        (
            Dentry::from_raw(old),
            Inode::from_raw(dir),
            Dentry::from_raw(new),
        )
    };
    errno(fs::namei::link(old, dir, new))
}

/// The `unlink` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn unlink(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
) -> ffi::c_int {
    // SAFETY: the VFS passes valid objects with the directory and the victim locked.
    let (dir, dentry) = unsafe { (Inode::from_raw(dir), Dentry::from_raw(dentry)) };
    errno(fs::namei::unlink(dir, dentry, false))
}

/// The `rmdir` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn rmdir(dir: *mut bindings::inode, dentry: *mut bindings::dentry) -> ffi::c_int {
    // SAFETY: as in `unlink`.
    let (dir, dentry) = unsafe { (Inode::from_raw(dir), Dentry::from_raw(dentry)) };
    errno(fs::namei::unlink(dir, dentry, true))
}

/// The `rename` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn rename(
    idmap: *mut bindings::mnt_idmap,
    old_dir: *mut bindings::inode,
    old: *mut bindings::dentry,
    new_dir: *mut bindings::inode,
    new: *mut bindings::dentry,
    flags: ffi::c_uint,
) -> ffi::c_int {
    // SAFETY: the VFS passes valid objects, with both directories (and the inodes involved)
    // locked as `vfs_rename` documents.
    let r = unsafe {
        fs::namei::rename(
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

/// The `tmpfile` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn tmpfile(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    file: *mut bindings::file,
    mode: bindings::umode_t,
) -> ffi::c_int {
    // SAFETY: the VFS passes valid objects; `file` is being opened.
    let r = unsafe {
        fs::namei::tmpfile(
            Idmap::from_raw(idmap),
            Inode::from_raw(dir),
            File::from_raw(file),
            mode.into(),
        )
    };
    errno(r)
}

/// The `setattr` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn setattr(
    idmap: *mut bindings::mnt_idmap,
    dentry: *mut bindings::dentry,
    attr: *mut bindings::iattr,
) -> ffi::c_int {
    // SAFETY: the VFS passes valid objects with the inode locked; `Iattr` is transparent.
    let r = unsafe {
        fs::inode::setattr(
            Idmap::from_raw(idmap),
            Dentry::from_raw(dentry),
            &*attr.cast::<Iattr>(),
        )
    };
    errno(r)
}

/// The `fileattr_get` operation (`FS_IOC_GETFLAGS`, `FS_IOC_FSGETXATTR`).
///
/// # Safety
///
/// Called by the VFS with a positive dentry and a zeroed `fileattr` to fill.
unsafe extern "C" fn fileattr_get(
    dentry: *mut bindings::dentry,
    fa: *mut bindings::fileattr,
) -> ffi::c_int {
    // SAFETY: as this function's contract.
    let Some(inode) = (unsafe { Dentry::from_raw(dentry) }).inode() else {
        return ENOENT.to_errno();
    };
    // SAFETY: `fa` is valid for writing; `fileattr_fill_xflags` sets the flags from the xflags.
    unsafe { bindings::fileattr_fill_xflags(fa, fs::inode::xflags(inode)) };
    0
}

/// The `getattr` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn getattr(
    idmap: *mut bindings::mnt_idmap,
    path: *const bindings::path,
    stat: *mut bindings::kstat,
    mask: u32,
    _flags: ffi::c_uint,
) -> ffi::c_int {
    // SAFETY: the VFS passes a valid path whose dentry is positive, and a writable kstat.
    let r = unsafe {
        let dentry = Dentry::from_raw((*path).dentry);
        match dentry.inode() {
            Some(inode) => {
                fs::inode::getattr(Idmap::from_raw(idmap), inode, &*stat.cast::<Kstat>(), mask)
            }
            None => Err(ENOENT),
        }
    };
    errno(r)
}

/// The `get_link` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn get_link(
    dentry: *mut bindings::dentry,
    inode: *mut bindings::inode,
    done: *mut bindings::delayed_call,
) -> *const ffi::c_char {
    if dentry.is_null() {
        // RCU walk: reading the target may sleep.
        return ECHILD.to_ptr();
    }
    // SAFETY: the VFS passes a valid symlink inode.
    let inode = unsafe { Inode::from_raw(inode) };
    match fs::namei::read_link(inode) {
        Ok(v) => {
            let (p, _, _) = v.into_raw_parts();
            // SAFETY: `p` is a kmalloc'd NUL-terminated string owned now by the delayed call,
            // which kfree()s it when the VFS is done with it.
            unsafe { bindings::ferrite_set_delayed_kfree(done, p.cast()) };
            p.cast()
        }
        Err(e) => e.to_ptr(),
    }
}

/// The `fiemap` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn fiemap(
    inode: *mut bindings::inode,
    info: *mut bindings::fiemap_extent_info,
    start: u64,
    len: u64,
) -> ffi::c_int {
    // SAFETY: the VFS passes a valid inode and fiemap request.
    unsafe { bindings::iomap_fiemap(inode, info, start, len, &crate::iomap::IOMAP_OPS) }
}

/// The `llseek` operation of directories: positions are readdir cookies (63-bit hash keys), so
/// any non-negative `loff_t` is a valid position (the file size limit does not apply).
///
/// # Safety
///
/// Called by the VFS with an open directory.
unsafe extern "C" fn dir_llseek(
    file: *mut bindings::file,
    off: bindings::loff_t,
    whence: ffi::c_int,
) -> bindings::loff_t {
    // SAFETY: the VFS passes a valid open file.
    unsafe { bindings::generic_file_llseek_size(file, off, whence, i64::MAX, i64::MAX) }
}

/// The `open` operation of regular files.
///
/// # Safety
///
/// Called by the VFS with the inode and the file being opened.
unsafe extern "C" fn file_open(
    inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> ffi::c_int {
    // SAFETY: the file is being opened and not yet visible to others. O_DIRECT is the same DAX
    // path as any read or write, so it is accepted.
    unsafe {
        (*file).f_mode |= bindings::FMODE_CAN_ODIRECT;
        bindings::generic_file_open(inode, file)
    }
}

/// The `mmap` operation of regular files.
///
/// # Safety
///
/// Called by the VFS with the file and the VMA being set up.
unsafe extern "C" fn mmap(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> ffi::c_int {
    // SAFETY: the VFS passes a valid open file.
    let f = unsafe { File::from_raw(file) };
    errno(crate::dax::fault::mmap(f, vma))
}

/// The `writepages` operation of DAX files: writes back (flushes the cache lines of) the dirty
/// DAX entries of the mapping (`dax_writeback_mapping_range`), for fsync, msync and sync.
///
/// # Safety
///
/// Called by the writeback code with a valid mapping of a ferrite inode.
unsafe extern "C" fn writepages(
    mapping: *mut bindings::address_space,
    wbc: *mut bindings::writeback_control,
) -> ffi::c_int {
    // SAFETY: the mapping's host is a live ferrite inode while its pages are written back.
    let inode = unsafe { Inode::from_raw((*mapping).host) };
    let Some(mount) = inode.super_block().mount() else {
        return EIO.to_errno();
    };
    // SAFETY: all three valid; the DAX device lives as long as the mount.
    unsafe { bindings::dax_writeback_mapping_range(mapping, mount.dax_ptr(), wbc) }
}

// -- file operations --------------------------------------------------------------------------

/// The `iterate_shared` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn iterate_shared(
    file: *mut bindings::file,
    ctx: *mut bindings::dir_context,
) -> ffi::c_int {
    // SAFETY: the VFS passes a valid open directory and context; `DirContext` is transparent.
    let (file, ctx) = unsafe { (File::from_raw(file), &*ctx.cast::<DirContext>()) };
    errno(fs::dir::readdir(file, ctx))
}

/// The `read_iter` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn read_iter(iocb: *mut bindings::kiocb, to: *mut bindings::iov_iter) -> isize {
    // SAFETY: the VFS passes a valid control block and iterator; the wrappers are transparent.
    let (iocb, to) = unsafe { (&*iocb.cast::<Kiocb>(), &*to.cast::<IovIter>()) };
    ssize(fs::file::read_iter(iocb, to))
}

/// The `write_iter` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn write_iter(
    iocb: *mut bindings::kiocb,
    from: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: as in `read_iter`.
    let (iocb, from) = unsafe { (&*iocb.cast::<Kiocb>(), &*from.cast::<IovIter>()) };
    ssize(fs::file::write_iter(iocb, from))
}

/// The `llseek` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn llseek(
    file: *mut bindings::file,
    off: bindings::loff_t,
    whence: ffi::c_int,
) -> bindings::loff_t {
    // SAFETY: the VFS passes a valid open file.
    let f = unsafe { File::from_raw(file) };
    let inode = f.inode();
    let max = fs::format::MAX_FILE_SIZE as bindings::loff_t;
    let r = match whence as u32 {
        bindings::SEEK_HOLE | bindings::SEEK_DATA => {
            let _g = inode.lock_shared();
            // SAFETY: the inode is valid and locked shared; the iomap operations are static.
            let pos = unsafe {
                if whence as u32 == bindings::SEEK_HOLE {
                    bindings::iomap_seek_hole(inode.as_ptr(), off, &crate::iomap::IOMAP_OPS)
                } else {
                    bindings::iomap_seek_data(inode.as_ptr(), off, &crate::iomap::IOMAP_OPS)
                }
            };
            if pos < 0 {
                return pos;
            }
            pos
        }
        _ => {
            let eof = i64::try_from(inode.size()).unwrap_or(max);
            // SAFETY: the file is valid; SEEK_END is relative to the file size.
            return unsafe { bindings::generic_file_llseek_size(file, off, whence, max, eof) };
        }
    };
    // SAFETY: the file is valid; `vfs_setpos` checks the offset against the maximum.
    unsafe { bindings::vfs_setpos(file, r, max) }
}

/// The `fsync` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn fsync(
    file: *mut bindings::file,
    start: bindings::loff_t,
    end: bindings::loff_t,
    datasync: ffi::c_int,
) -> ffi::c_int {
    // SAFETY: the VFS passes a valid open file.
    let f = unsafe { File::from_raw(file) };
    errno(fs::file::fsync(f, start, end, datasync != 0))
}

/// The `fallocate` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn fallocate(
    file: *mut bindings::file,
    mode: ffi::c_int,
    off: bindings::loff_t,
    len: bindings::loff_t,
) -> ffi::c_long {
    // SAFETY: the VFS passes a valid open file.
    let f = unsafe { File::from_raw(file) };
    errno(fs::file::fallocate(f, mode as u32, off, len)) as ffi::c_long
}

// -- super operations -------------------------------------------------------------------------

/// The `evict_inode` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn evict_inode(inode: *mut bindings::inode) {
    // SAFETY: the VFS passes an inode being evicted; nothing else uses it.
    let i = unsafe { Inode::from_raw(inode) };
    fs::inode::evict(i);
    // SAFETY: the inode is being evicted; `truncate_inode_pages_final` and `clear_inode` are
    // what `evict_inode` must call.
    unsafe {
        bindings::truncate_inode_pages_final(&mut (*inode).i_data);
        bindings::clear_inode(inode);
    }
}

/// The `dirty_inode` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn dirty_inode(inode: *mut bindings::inode, flags: ffi::c_int) {
    // SAFETY: the VFS passes a valid inode.
    let i = unsafe { Inode::from_raw(inode) };
    fs::inode::dirty_inode(i, flags as u32);
}

/// The `statfs` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn statfs(
    dentry: *mut bindings::dentry,
    buf: *mut bindings::kstatfs,
) -> ffi::c_int {
    // SAFETY: the VFS passes a valid dentry and a writable kstatfs; `Kstatfs` is transparent.
    let (d, buf) = unsafe { (Dentry::from_raw(dentry), &*buf.cast::<Kstatfs>()) };
    errno(fs::super_ops::statfs(d.super_block(), buf))
}

/// The `show_options` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn show_options(
    m: *mut bindings::seq_file,
    _root: *mut bindings::dentry,
) -> ffi::c_int {
    // ferrite always uses DAX: /proc/mounts says so (xfstests checks for "dax").
    // SAFETY: `m` is the seq_file being written.
    unsafe { bindings::ferrite_seq_puts(m, c_str!(",dax").as_char_ptr()) };
    0
}

/// The `sync_fs` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn sync_fs(sb: *mut bindings::super_block, _wait: ffi::c_int) -> ffi::c_int {
    // SAFETY: the VFS passes a valid super block.
    let sb = unsafe { crate::super_block::SuperBlock::from_raw(sb) };
    errno(fs::super_ops::sync_fs(sb))
}

/// The `put_super` operation.
///
/// # Safety
///
/// Called by the VFS with the arguments and locks `Documentation/filesystems/vfs.rst` and
/// `locking.rst` specify.
unsafe extern "C" fn put_super(sb: *mut bindings::super_block) {
    // SAFETY: the VFS passes the super block being shut down; its inodes are gone and
    // `s_fs_info` is still set.
    let sb = unsafe { crate::super_block::SuperBlock::from_raw(sb) };
    fs::super_ops::put_super(sb);
}
