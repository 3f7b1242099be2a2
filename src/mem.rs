// SPDX-License-Identifier: GPL-2.0

//! Heap buffers for the format code: blocks and scratch space are never put on the kernel stack.

use crate::fs::format::{Block, Scratch};
use kernel::prelude::*;

/// A zeroed 4 KiB block on the heap.
pub(crate) fn zeroed_box() -> Result<KBox<Block>> {
    KBox::init(kernel::init::zeroed(), GFP_KERNEL)
}

/// Zeroed scratch space (two blocks) for tree and journal operations, on the heap.
pub(crate) fn scratch() -> Result<KBox<Scratch>> {
    let mut b = KBox::<Scratch>::new_uninit(GFP_KERNEL)?;
    // SAFETY: `b` is valid for writing one `Scratch`; zeroing all its bytes initialises it, because
    // a `Scratch` is two byte arrays, for which every bit pattern is valid.
    Ok(unsafe {
        core::ptr::write_bytes(b.as_mut_ptr(), 0, 1);
        b.assume_init()
    })
}
