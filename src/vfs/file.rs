// SPDX-License-Identifier: GPL-2.0

//! Open files and their operations.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h) (`struct file`,
//! `struct file_operations`).

use super::{empty_table, errno, ssize, DirContext, FileSystem, Inode, IovIter, Kiocb};
use crate::bindings;
use core::marker::PhantomData;
use kernel::error::VTABLE_DEFAULT_ERROR;
use kernel::ffi;
use kernel::prelude::*;
use kernel::types::Opaque;

/// An open file of filesystem `T`, borrowed for a VFS callback.
///
/// # Invariants
///
/// The wrapped file is valid while the wrapper is borrowed, and its inode is one of `T`'s.
#[repr(transparent)]
pub(crate) struct File<T: FileSystem>(Opaque<bindings::file>, PhantomData<T>);

impl<T: FileSystem> File<T> {
    /// Borrows the file behind `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid file of an inode of `T` that stays valid for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::file) -> &'a Self {
        // SAFETY: `File` is a transparent wrapper of `file`; the caller guarantees the rest of the
        // type invariant.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::file {
        self.0.get()
    }

    /// The file's inode (`file_inode`).
    pub(crate) fn inode(&self) -> &Inode<T> {
        // SAFETY: an open file pins its inode, which is one of `T`'s (type invariant).
        unsafe { Inode::from_raw(bindings::ferrite_file_inode(self.as_ptr())) }
    }

    /// Writes back the dirty pages (DAX: the dirty entries) of byte range `start..=end` and waits
    /// (`file_write_and_wait_range`).
    pub(crate) fn write_and_wait(&self, start: i64, end: i64) -> Result {
        // SAFETY: the file is valid (type invariant).
        kernel::error::to_result(unsafe {
            bindings::file_write_and_wait_range(self.as_ptr(), start, end)
        })
    }

    /// Write access to the file's mount for a change an ioctl makes (`mnt_want_write_file`:
    /// `EROFS` on a read-only mount; waits while the filesystem is frozen), until the guard is
    /// dropped.
    pub(crate) fn want_write(&self) -> Result<MountWriteGuard<'_, T>> {
        // SAFETY: the file is valid (type invariant); the guard drops the access it takes.
        kernel::error::to_result(unsafe { bindings::mnt_want_write_file(self.as_ptr()) })?;
        Ok(MountWriteGuard(self))
    }

    /// Updates the access time after a read (`file_accessed`).
    pub(crate) fn accessed(&self) {
        // SAFETY: the file is valid (type invariant).
        unsafe { bindings::ferrite_file_accessed(self.as_ptr()) };
    }

    /// Updates the times and drops privileges for a write (`file_modified`); the caller holds
    /// the inode lock, as a write does.
    pub(crate) fn modified(&self) -> Result {
        // SAFETY: the file is valid (type invariant); `file_modified` takes its own locks for the
        // time update, and the privilege drop is `setattr` under the inode lock the caller holds.
        kernel::error::to_result(unsafe { bindings::file_modified(self.as_ptr()) })
    }

    /// Updates the modification and change times for a write through a mapping
    /// (`file_update_time`).
    pub(crate) fn update_time(&self) -> Result {
        // SAFETY: the file is valid (type invariant); `file_update_time` takes its own locks.
        kernel::error::to_result(unsafe { bindings::file_update_time(self.as_ptr()) })
    }

    /// `generic_file_llseek_size`: `SEEK_SET`, `SEEK_CUR` and `SEEK_END` (relative to `eof`),
    /// and `SEEK_DATA`/`SEEK_HOLE` as if the whole file were data, up to `max`.
    pub(crate) fn llseek_size(&self, off: i64, whence: u32, max: i64, eof: i64) -> Result<i64> {
        let whence = ffi::c_int::try_from(whence).map_err(|_| EINVAL)?;
        // SAFETY: the file is valid (type invariant); `f_pos` is updated under the file's own
        // position lock, as `llseek` callers arrange.
        let r = unsafe { bindings::generic_file_llseek_size(self.as_ptr(), off, whence, max, eof) };
        to_offset(r)
    }

    /// Sets the file position to `pos` if it is within `0..=max` (`vfs_setpos`).
    pub(crate) fn set_pos(&self, pos: i64, max: i64) -> Result<i64> {
        // SAFETY: the file is valid (type invariant); as in `llseek_size`.
        to_offset(unsafe { bindings::vfs_setpos(self.as_ptr(), pos, max) })
    }
}

/// A `loff_t` result: an offset, or a negative errno.
fn to_offset(r: bindings::loff_t) -> Result<i64> {
    if r < 0 {
        return Err(i32::try_from(r).map_or(EINVAL, Error::from_errno));
    }
    Ok(r)
}

/// A memory mapping being set up by `mmap` (`struct vm_area_struct`).
///
/// # Invariants
///
/// The wrapped VMA is valid, and being set up by the `mmap` callback that borrows it.
#[repr(transparent)]
pub(crate) struct VmArea(Opaque<bindings::vm_area_struct>);

impl VmArea {
    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::vm_area_struct {
        self.0.get()
    }
}

/// The operations of open files (`struct file_operations`); one implementation per kind of file
/// a filesystem has. Each method is the C operation of the same name; those not implemented are
/// NULL in the table. The callback contract is in the [layer's documentation](super#callbacks).
#[vtable]
pub(crate) trait FileOperations {
    /// The filesystem whose files these are.
    type FileSystem: FileSystem;

    /// `O_DIRECT` is accepted (`FMODE_CAN_ODIRECT`): for DAX files, whose every read and write
    /// bypasses the page cache anyway.
    const DIRECT_IO: bool = false;

    /// `MAP_SYNC` mappings are accepted (`FOP_MMAP_SYNC`): the filesystem makes a write fault's
    /// metadata durable before the fault returns.
    const MMAP_SYNC: bool = false;

    /// Mappings are aligned for huge pages (`thp_get_unmapped_area`).
    const HUGE_ALIGNED: bool = false;

    /// `llseek`: the new position for `off` and `whence`.
    fn llseek(_file: &File<Self::FileSystem>, _off: i64, _whence: u32) -> Result<i64> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `read_iter`: reads at the control block's position into `to`, advancing it; returns the
    /// bytes read.
    fn read_iter(_iocb: &Kiocb<Self::FileSystem>, _to: &IovIter) -> Result<usize> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `write_iter`: writes `from` at the control block's position, advancing it; returns the
    /// bytes written.
    fn write_iter(_iocb: &Kiocb<Self::FileSystem>, _from: &IovIter) -> Result<usize> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `iterate_shared`: emits directory entries from the context's position on.
    fn iterate_shared(_file: &File<Self::FileSystem>, _ctx: &DirContext) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `fsync`: makes the file's data in `start..=end` and its metadata durable.
    fn fsync(_file: &File<Self::FileSystem>, _start: i64, _end: i64, _datasync: bool) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `fallocate`.
    fn fallocate(_file: &File<Self::FileSystem>, _mode: u32, _off: i64, _len: i64) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `mmap`: sets the mapping up (its operations, its flags).
    fn mmap(_file: &File<Self::FileSystem>, _vma: &VmArea) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// `unlocked_ioctl`: the filesystem's own ioctl `cmd` (the VFS answers the generic ones,
    /// such as `FS_IOC_GETFLAGS`, itself); `ENOTTY` for one it does not know.
    fn ioctl(_file: &File<Self::FileSystem>, _cmd: u32, _arg: IoctlArg) -> Result<i64> {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// Write access to a file's mount ([`File::want_write`]).
pub(crate) struct MountWriteGuard<'a, T: FileSystem>(&'a File<T>);

impl<T: FileSystem> Drop for MountWriteGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: `want_write` took the access this drops.
        unsafe { bindings::mnt_drop_write_file(self.0.as_ptr()) };
    }
}

/// The argument of an ioctl: a user space address.
#[derive(Clone, Copy)]
pub(crate) struct IoctlArg(usize);

impl IoctlArg {
    /// Reads a `u32` from the address.
    pub(crate) fn read_u32(self) -> Result<u32> {
        kernel::uaccess::UserSlice::new(self.0, 4)
            .reader()
            .read::<u32>()
    }

    /// Reads `out.len()` bytes from the address.
    pub(crate) fn read_bytes(self, out: &mut [u8]) -> Result {
        kernel::uaccess::UserSlice::new(self.0, out.len())
            .reader()
            .read_slice(out)
    }

    /// Writes `data` to the address.
    pub(crate) fn write_bytes(self, data: &[u8]) -> Result {
        kernel::uaccess::UserSlice::new(self.0, data.len())
            .writer()
            .write_slice(data)
    }
}

/// The `file_operations` table of `F`.
pub(crate) struct FileOpsTable<F>(PhantomData<F>);

impl<F: FileOperations> FileOpsTable<F> {
    /// The table: generic VFS helpers where `F` implies them (directory reads, splice over the
    /// iterators, huge-page alignment), NULL where `F` has nothing.
    pub(crate) const TABLE: bindings::file_operations = bindings::file_operations {
        llseek: if F::HAS_LLSEEK {
            Some(llseek::<F>)
        } else {
            None
        },
        read: if F::HAS_ITERATE_SHARED {
            Some(bindings::generic_read_dir)
        } else {
            None
        },
        read_iter: if F::HAS_READ_ITER {
            Some(read_iter::<F>)
        } else {
            None
        },
        write_iter: if F::HAS_WRITE_ITER {
            Some(write_iter::<F>)
        } else {
            None
        },
        iterate_shared: if F::HAS_ITERATE_SHARED {
            Some(iterate_shared::<F>)
        } else {
            None
        },
        open: if F::DIRECT_IO { Some(open::<F>) } else { None },
        fsync: if F::HAS_FSYNC { Some(fsync::<F>) } else { None },
        fallocate: if F::HAS_FALLOCATE {
            Some(fallocate::<F>)
        } else {
            None
        },
        mmap: if F::HAS_MMAP { Some(mmap::<F>) } else { None },
        unlocked_ioctl: if F::HAS_IOCTL {
            Some(unlocked_ioctl::<F>)
        } else {
            None
        },
        get_unmapped_area: if F::HUGE_ALIGNED {
            Some(bindings::thp_get_unmapped_area)
        } else {
            None
        },
        fop_flags: if F::MMAP_SYNC {
            bindings::FOP_MMAP_SYNC
        } else {
            0
        },
        splice_read: if F::HAS_READ_ITER {
            Some(bindings::copy_splice_read)
        } else {
            None
        },
        splice_write: if F::HAS_WRITE_ITER {
            Some(bindings::iter_file_splice_write)
        } else {
            None
        },
        ..empty_table()
    };
}

/// `llseek`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn llseek<F: FileOperations>(
    file: *mut bindings::file,
    off: bindings::loff_t,
    whence: ffi::c_int,
) -> bindings::loff_t {
    // SAFETY: the callback contract: a valid open file of `F::FileSystem`.
    let file = unsafe { File::from_raw(file) };
    let whence = u32::try_from(whence).unwrap_or(u32::MAX);
    F::llseek(file, off, whence).unwrap_or_else(|e| e.to_errno().into())
}

/// `read_iter`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn read_iter<F: FileOperations>(
    iocb: *mut bindings::kiocb,
    to: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: the callback contract: a valid control block of a file of `F::FileSystem` and an
    // iterator, for the call; the wrappers are transparent.
    let (iocb, to) = unsafe { (&*iocb.cast::<Kiocb<_>>(), &*to.cast::<IovIter>()) };
    ssize(F::read_iter(iocb, to))
}

/// `write_iter`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn write_iter<F: FileOperations>(
    iocb: *mut bindings::kiocb,
    from: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: as in `read_iter`.
    let (iocb, from) = unsafe { (&*iocb.cast::<Kiocb<_>>(), &*from.cast::<IovIter>()) };
    ssize(F::write_iter(iocb, from))
}

/// `iterate_shared`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn iterate_shared<F: FileOperations>(
    file: *mut bindings::file,
    ctx: *mut bindings::dir_context,
) -> ffi::c_int {
    // SAFETY: the callback contract: a valid open directory of `F::FileSystem` and its context,
    // which only this call changes; `DirContext` is transparent.
    let (file, ctx) = unsafe { (File::from_raw(file), &*ctx.cast::<DirContext>()) };
    errno(F::iterate_shared(file, ctx))
}

/// `open`: `FMODE_CAN_ODIRECT` (set only here, while the file is not yet visible to anyone
/// else), then `generic_file_open`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn open<F: FileOperations>(
    inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> ffi::c_int {
    // SAFETY: the callback contract: the file is being opened and is private to this call.
    unsafe {
        if F::DIRECT_IO {
            (*file).f_mode |= bindings::FMODE_CAN_ODIRECT;
        }
        bindings::generic_file_open(inode, file)
    }
}

/// `fsync`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn fsync<F: FileOperations>(
    file: *mut bindings::file,
    start: bindings::loff_t,
    end: bindings::loff_t,
    datasync: ffi::c_int,
) -> ffi::c_int {
    // SAFETY: the callback contract: a valid open file of `F::FileSystem`.
    let file = unsafe { File::from_raw(file) };
    errno(F::fsync(file, start, end, datasync != 0))
}

/// `fallocate`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn fallocate<F: FileOperations>(
    file: *mut bindings::file,
    mode: ffi::c_int,
    off: bindings::loff_t,
    len: bindings::loff_t,
) -> ffi::c_long {
    // SAFETY: the callback contract: a valid open file of `F::FileSystem`.
    let file = unsafe { File::from_raw(file) };
    let mode = u32::try_from(mode).unwrap_or(u32::MAX);
    errno(F::fallocate(file, mode, off, len)) as ffi::c_long
}

/// `mmap`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn mmap<F: FileOperations>(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> ffi::c_int {
    // SAFETY: the callback contract: a valid open file of `F::FileSystem` and the VMA being set
    // up for it; `VmArea` is transparent.
    let (file, vma) = unsafe { (File::from_raw(file), &*vma.cast::<VmArea>()) };
    errno(F::mmap(file, vma))
}

/// `unlocked_ioctl`.
///
/// # Safety
///
/// The [callback contract](crate::vfs#callbacks).
unsafe extern "C" fn unlocked_ioctl<F: FileOperations>(
    file: *mut bindings::file,
    cmd: ffi::c_uint,
    arg: ffi::c_ulong,
) -> ffi::c_long {
    // SAFETY: the callback contract: an open file of `F::FileSystem`.
    let file = unsafe { File::from_raw(file) };
    match F::ioctl(file, cmd, IoctlArg(arg)) {
        Ok(n) => n as ffi::c_long,
        Err(e) => e.to_errno() as ffi::c_long,
    }
}
