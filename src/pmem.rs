// SPDX-License-Identifier: GPL-2.0

//! Persistent memory access and the persistence primitives.
//!
//! Every store ferrite makes to pmem metadata goes through [`Pmem`]: cached stores ([`Pmem::write`])
//! followed by [`Pmem::flush`], or non-temporal copies ([`Pmem::write_nt`], [`Pmem::zero_nt`]), and
//! then [`fence`], which orders them before any later store. Nothing in `fs/` writes to pmem in
//! any other way, so the ordering of persistent updates can be read, and traced, here.
//!
//! C headers: [`include/linux/libnvdimm.h`](srctree/include/linux/libnvdimm.h)
//! (`arch_wb_cache_pmem`), [`include/linux/string.h`](srctree/include/linux/string.h)
//! (`memcpy_flushcache`), [`include/asm-generic/barrier.h`](srctree/include/asm-generic/barrier.h)
//! (`pmem_wmb`).

use crate::bindings;
use core::ptr::NonNull;
use kernel::prelude::*;

/// A block of zeroes to copy from when zeroing pmem.
static ZEROES: [u8; 4096] = [0; 4096];

/// The persistent memory of one mounted device, mapped into the kernel's address space.
///
/// # Invariants
///
/// `base` is valid for reads and writes of `len` bytes for as long as the value lives (the DAX
/// device it was mapped from is held by the mount that owns it). No Rust reference ever points
/// into the range: the same memory is reached by user mappings, so it is only ever accessed by
/// raw copies, like user memory.
pub(crate) struct Pmem {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: `Pmem` only hands out copies of the memory it maps; the memory is not owned by any Rust
// object, and the kernel mapping may be used from any thread.
unsafe impl Send for Pmem {}
// SAFETY: As above: every access is a raw copy into or out of memory outside Rust's object model,
// so concurrent use through `&Pmem` cannot create aliasing Rust references.
unsafe impl Sync for Pmem {}

impl Pmem {
    /// Wraps `len` bytes of mapped persistent memory starting at `base`.
    ///
    /// # Safety
    ///
    /// `base` must be valid for reads and writes of `len` bytes for the whole life of the value,
    /// and no Rust reference may point into that range while it lives.
    pub(crate) unsafe fn new(base: NonNull<u8>, len: usize) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self { base, len }
    }

    /// The size of the mapped range in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len as u64
    }

    /// Returns a pointer to `len` bytes at byte offset `off`, if they lie inside the range.
    fn range(&self, off: u64, len: usize) -> Result<*mut u8> {
        let off = usize::try_from(off).map_err(|_| ERANGE)?;
        let end = off.checked_add(len).ok_or(ERANGE)?;
        if end > self.len {
            return Err(ERANGE);
        }
        // SAFETY: `off + len <= self.len`, so the result stays inside the mapped range.
        Ok(unsafe { self.base.as_ptr().add(off) })
    }

    /// Copies `buf.len()` bytes at byte offset `off` into `buf`. A media error (poisoned line)
    /// gives `EIO` instead of a machine check.
    pub(crate) fn read(&self, off: u64, buf: &mut [u8]) -> Result {
        let src = self.range(off, buf.len())?;
        let len = u32::try_from(buf.len()).map_err(|_| EINVAL)?;
        // SAFETY: `src` is valid for `buf.len()` bytes by `range` and the type invariant; `buf` is
        // a valid, exclusive destination of the same length; the two cannot overlap because no Rust
        // object lives in pmem.
        let left = unsafe { bindings::copy_mc_to_kernel(buf.as_mut_ptr().cast(), src.cast(), len) };
        if left != 0 {
            return Err(EIO);
        }
        Ok(())
    }

    /// Stores `data` at byte offset `off` through the cache. Not durable until [`Pmem::flush`] of
    /// the range and a [`fence`].
    pub(crate) fn write(&self, off: u64, data: &[u8]) -> Result {
        let dst = self.range(off, data.len())?;
        // SAFETY: `dst` is valid for `data.len()` bytes by `range` and the type invariant, and does
        // not overlap `data`, which is ordinary kernel memory.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), dst, data.len()) };
        Ok(())
    }

    /// Copies `data` to byte offset `off` with non-temporal stores. Durable after a [`fence`].
    pub(crate) fn write_nt(&self, off: u64, data: &[u8]) -> Result {
        let dst = self.range(off, data.len())?;
        // SAFETY: as in `write`.
        unsafe {
            bindings::ferrite_memcpy_flushcache(dst.cast(), data.as_ptr().cast(), data.len())
        };
        Ok(())
    }

    /// Zeroes `len` bytes at byte offset `off` with non-temporal stores. Durable after a [`fence`].
    pub(crate) fn zero_nt(&self, off: u64, len: u64) -> Result {
        let mut done = 0u64;
        while done < len {
            let chunk = core::cmp::min(len - done, ZEROES.len() as u64) as usize;
            let at = off.checked_add(done).ok_or(ERANGE)?;
            self.write_nt(at, &ZEROES[..chunk])?;
            done += chunk as u64;
        }
        Ok(())
    }

    /// Writes back the cache lines of `len` bytes at byte offset `off`. Durable after a [`fence`].
    pub(crate) fn flush(&self, off: u64, len: usize) -> Result {
        let p = self.range(off, len)?;
        // SAFETY: `p` is valid for `len` bytes by `range`; a cache write-back does not change
        // memory contents.
        unsafe { bindings::arch_wb_cache_pmem(p.cast(), len) };
        Ok(())
    }
}

/// Orders every earlier flush and non-temporal store to pmem before any later store: after it
/// returns, they are durable.
pub(crate) fn fence() {
    // SAFETY: `pmem_wmb` is a store fence with no memory-safety requirement.
    unsafe { bindings::ferrite_pmem_fence() };
}
