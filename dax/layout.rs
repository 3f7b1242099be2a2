// SPDX-License-Identifier: GPL-2.0

//! Layout breaking: before a filesystem frees or changes blocks of a DAX file (truncate, hole
//! punching, zeroing), no page of the range may still be pinned by `get_user_pages` (direct I/O
//! from the mapping, vmsplice, RDMA), or the pinner would go on using a block the filesystem
//! gives to another file.

use crate::bindings;
use crate::vfs::inode::InvalidateGuard;
use crate::vfs::FileSystem;
use kernel::prelude::*;

/// Breaks the DAX layouts of byte range `start..=end` (`None`: to the end of the file) of the
/// inode whose `invalidate_lock` `inval` holds exclusive: waits until no page there is pinned,
/// so that its blocks may be freed. The lock is dropped while waiting (so that the pinner can
/// finish) and held again on return, as the guard says. `ERESTARTSYS` if a signal interrupts
/// the wait.
pub(crate) fn break_layouts<T: FileSystem>(
    inval: &InvalidateGuard<'_, T>,
    start: u64,
    end: Option<u64>,
) -> Result {
    let s = i64::try_from(start).unwrap_or(i64::MAX);
    let e = end.map_or(i64::MAX, |e| i64::try_from(e).unwrap_or(i64::MAX));
    let mapping = inval.inode().mapping();
    loop {
        // SAFETY: the mapping is the live inode's; its `invalidate_lock` is held exclusive (the
        // guard's invariant), as `dax_layout_busy_page_range` requires to keep new pins out.
        let page = unsafe { bindings::dax_layout_busy_page_range(mapping, s, e) };
        if page.is_null() {
            return Ok(());
        }
        // SAFETY: `page` is a DAX page of the mapping, which stays allocated while the device is
        // mapped; the helper drops and retakes the exclusive `invalidate_lock` the guard holds,
        // and holds it again when it returns.
        kernel::error::to_result(unsafe { bindings::ferrite_dax_wait_page_idle(page, mapping) })?;
    }
}
