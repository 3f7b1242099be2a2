// SPDX-License-Identifier: GPL-2.0

//! DAX reads and writes (`dax_iomap_rw`): copies between user memory and pmem through the
//! file's iomap, with non-temporal stores for writes.

use crate::bindings;
use crate::vfs::{IovIter, Kiocb};
use kernel::prelude::*;

/// Reads or writes (by the iterator's direction) at the control block's position, advancing
/// it; returns the bytes copied. The caller holds the inode lock as the operation needs.
pub(crate) fn rw(iocb: &Kiocb, iter: &IovIter) -> Result<usize> {
    // SAFETY: both valid for the calling read_iter/write_iter; the iomap operations are static.
    let n =
        unsafe { bindings::dax_iomap_rw(iocb.as_ptr(), iter.as_ptr(), &crate::iomap::IOMAP_OPS) };
    if n < 0 {
        return Err(Error::from_errno(n as kernel::ffi::c_int));
    }
    Ok(usize::try_from(n).unwrap_or(0))
}
