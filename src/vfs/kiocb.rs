// SPDX-License-Identifier: GPL-2.0

//! I/O control blocks and iterators.
//!
//! C headers: [`include/linux/fs.h`](srctree/include/linux/fs.h) (`struct kiocb`),
//! [`include/linux/uio.h`](srctree/include/linux/uio.h) (`struct iov_iter`).

use super::{File, FileSystem};
use crate::bindings;
use core::marker::PhantomData;
use kernel::ffi;
use kernel::prelude::*;
use kernel::types::Opaque;

/// An I/O control block (`struct kiocb`) of a file of filesystem `T`, borrowed for a
/// `read_iter` or `write_iter` callback.
///
/// # Invariants
///
/// The wrapped control block is valid while the wrapper is borrowed, and its file is one of `T`'s.
#[repr(transparent)]
pub(crate) struct Kiocb<T: FileSystem>(Opaque<bindings::kiocb>, PhantomData<T>);

impl<T: FileSystem> Kiocb<T> {
    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::kiocb {
        self.0.get()
    }

    /// The file.
    pub(crate) fn file(&self) -> &File<T> {
        // SAFETY: `ki_filp` is valid while the I/O runs, and is a file of `T` (type invariant).
        unsafe { File::from_raw((*self.as_ptr()).ki_filp) }
    }

    /// The file position of the I/O.
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: the kiocb is valid.
        unsafe { (*self.as_ptr()).ki_pos }
    }

    /// Whether the I/O must not sleep (`IOCB_NOWAIT`).
    pub(crate) fn nowait(&self) -> bool {
        // SAFETY: the kiocb is valid.
        unsafe { (*self.as_ptr()).ki_flags & bindings::IOCB_NOWAIT as ffi::c_int != 0 }
    }

    /// Checks a write against limits and applies `O_APPEND` (`generic_write_checks`); returns
    /// the bytes to write (0: nothing to do).
    pub(crate) fn write_checks(&self, iter: &IovIter) -> Result<usize> {
        // SAFETY: both valid; the caller holds the inode lock.
        let n = unsafe { bindings::generic_write_checks(self.as_ptr(), iter.as_ptr()) };
        usize::try_from(kernel::error::to_result(n as ffi::c_int).map(|()| n)?).map_err(|_| EINVAL)
    }

    /// Syncs a completed write of `count` bytes if the file or I/O asks for it
    /// (`generic_write_sync`).
    pub(crate) fn write_sync(&self, count: usize) -> Result<usize> {
        let c = ffi::c_long::try_from(count).map_err(|_| EINVAL)?;
        // SAFETY: the kiocb is valid; the inode lock is not held.
        let r = unsafe { bindings::ferrite_generic_write_sync(self.as_ptr(), c) };
        if r < 0 {
            return Err(Error::from_errno(r as ffi::c_int));
        }
        Ok(usize::try_from(r).unwrap_or(0))
    }
}

/// An I/O vector iterator (`struct iov_iter`), borrowed for a `read_iter` or `write_iter`
/// callback.
///
/// # Invariants
///
/// The wrapped iterator is valid while the wrapper is borrowed.
#[repr(transparent)]
pub(crate) struct IovIter(Opaque<bindings::iov_iter>);

impl IovIter {
    /// The raw pointer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::iov_iter {
        self.0.get()
    }
}
