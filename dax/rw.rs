// SPDX-License-Identifier: GPL-2.0

//! DAX reads and writes (`dax_iomap_rw`): copies between user memory and pmem through the
//! file's iomap, with non-temporal stores for writes.

use super::DaxFileSystem;
use crate::iomap;
use crate::vfs::{IovIter, Kiocb};
use kernel::prelude::*;

/// Reads or writes (by the iterator's direction) at the control block's position, advancing
/// it; returns the bytes copied. The caller holds the inode lock as the operation needs (shared
/// for reads, exclusive for writes).
pub(crate) fn rw<T: DaxFileSystem>(iocb: &Kiocb<T>, iter: &IovIter) -> Result<usize> {
    // SAFETY: both are valid for the calling `read_iter`/`write_iter` (their type invariants);
    // the iomap table is `'static` and for `T`, the filesystem of the control block's file.
    let n = unsafe {
        crate::bindings::dax_iomap_rw(iocb.as_ptr(), iter.as_ptr(), iomap::ops::<T::Iomap>())
    };
    if n < 0 {
        return Err(i32::try_from(n).map_or(EIO, Error::from_errno));
    }
    Ok(usize::try_from(n).unwrap_or(0))
}
