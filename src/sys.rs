// SPDX-License-Identifier: GPL-2.0

//! Small kernel services: random numbers and the wall clock.
//!
//! C headers: [`include/linux/random.h`](srctree/include/linux/random.h),
//! [`include/linux/timekeeping.h`](srctree/include/linux/timekeeping.h).

use crate::bindings;

/// A random 32-bit number (`get_random_u32`), e.g. for inode generations.
pub(crate) fn random_u32() -> u32 {
    // SAFETY: `get_random_u32` may be called from any context.
    unsafe { bindings::ferrite_random_u32() }
}

/// The wall clock in seconds since the epoch (`ktime_get_real_seconds`).
pub(crate) fn real_seconds() -> i64 {
    // SAFETY: `ktime_get_real_seconds` may be called from any context.
    unsafe { bindings::ktime_get_real_seconds() }
}
