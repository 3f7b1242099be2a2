// SPDX-License-Identifier: GPL-2.0

//! Heap buffers for the format code: blocks and scratch space are never put on the kernel stack.

use super::format::{Block, Scratch};
use kernel::init::zeroed;
use kernel::prelude::*;

/// A zeroed 4 KiB block on the heap.
pub(crate) fn zeroed_box() -> Result<KBox<Block>> {
    KBox::init(zeroed(), GFP_KERNEL)
}

/// Zeroed scratch space (two blocks) for tree and journal operations, on the heap, initialised
/// in place.
pub(crate) fn scratch() -> Result<KBox<Scratch>> {
    KBox::init(
        kernel::init!(Scratch { a <- zeroed(), b <- zeroed() }),
        GFP_KERNEL,
    )
}
