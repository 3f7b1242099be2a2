// SPDX-License-Identifier: GPL-2.0

//! Persistent memory access and the persistence primitives.
//!
//! Every store ferrite makes to pmem metadata goes through [`Pmem`]: cached stores ([`Pmem::write`])
//! followed by [`Pmem::flush`], or non-temporal copies ([`Pmem::write_nt`], [`Pmem::zero_nt`]), and
//! then [`fence`], which orders them before any later store. Nothing in `fs/` writes to pmem in
//! any other way, so the ordering of persistent updates can be read, and traced, here.
//!
//! # The trace build
//!
//! Built with `FERRITE_TRACE=1` (`make trace-module`), every primitive is first recorded, with its
//! bytes and its call site, in the persistence trace of `src/trace.c`, which may also skip it
//! (a frozen device, or the one fence or flush call site chosen as a mutant): the crash-state
//! explorer (`scripts/crash-explore`) rebuilds every crash state the trace allows. The normal
//! build has none of it: every trace hook is compiled out by `cfg(ferrite_trace)`.
//!
//! C headers: [`include/linux/libnvdimm.h`](srctree/include/linux/libnvdimm.h)
//! (`arch_wb_cache_pmem`), [`include/linux/string.h`](srctree/include/linux/string.h)
//! (`memcpy_flushcache`), [`include/asm-generic/barrier.h`](srctree/include/asm-generic/barrier.h)
//! (`pmem_wmb`).

use crate::bindings;
use core::ptr::NonNull;
use kernel::prelude::*;

/// The trace build's hooks (see the module documentation).
#[cfg(ferrite_trace)]
pub(crate) mod trace {
    use crate::bindings;
    use core::panic::Location;
    use kernel::prelude::*;

    /// Record kinds, as `src/trace.c` and the explorer know them. The format also has kinds 1
    /// (a store through the cache) and 2 (a cache line write-back), which the explorer models;
    /// the module makes no cached stores to pmem, so it records neither.
    pub(crate) const NT: u8 = 3;
    pub(crate) const ZERO: u8 = 4;
    pub(crate) const FENCE: u8 = 5;
    pub(crate) const DATA: u8 = 7;

    /// Records one primitive of kind `kind` at device offset `off` (`data`: the bytes it stores,
    /// if it stores any; `len`: its length) made at `site`; returns whether to execute it.
    pub(crate) fn op(
        kind: u8,
        off: u64,
        data: Option<&[u8]>,
        len: usize,
        site: &Location<'_>,
    ) -> bool {
        let file = site.file();
        let ptr = data.map_or(core::ptr::null(), |d| d.as_ptr());
        // SAFETY: `ptr` is null or valid for `len` bytes (`data`'s own length, which callers
        // pass as `len`); `file` is valid for `file.len()` bytes; the C side copies both before
        // returning and keeps no pointer.
        unsafe {
            bindings::ferrite_trace_op(
                kind,
                off,
                ptr.cast(),
                data.map_or(len, |d| d.len()),
                file.as_ptr().cast(),
                file.len(),
                site.line(),
            )
        }
    }

    /// `/sys/kernel/debug/ferrite` while the module is loaded.
    pub(crate) struct TraceDir;

    impl TraceDir {
        /// Creates the debugfs files.
        pub(crate) fn new() -> Result<Self> {
            // SAFETY: called once, at module load; no precondition.
            kernel::error::to_result(unsafe { bindings::ferrite_trace_init() })?;
            Ok(Self)
        }
    }

    impl Drop for TraceDir {
        fn drop(&mut self) {
            // SAFETY: `new` created the files; this runs once, at module unload.
            unsafe { bindings::ferrite_trace_exit() };
        }
    }
}

/// Whether to execute a primitive (always, in the normal build).
macro_rules! traced {
    ($kind:ident, $off:expr, $data:expr, $len:expr) => {{
        #[cfg(ferrite_trace)]
        let run = trace::op(
            trace::$kind,
            $off,
            $data,
            $len,
            core::panic::Location::caller(),
        );
        #[cfg(not(ferrite_trace))]
        let run = true;
        run
    }};
}

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

    /// Copies `data` to byte offset `off` with non-temporal stores. Durable after a [`fence`].
    #[cfg_attr(ferrite_trace, track_caller)]
    pub(crate) fn write_nt(&self, off: u64, data: &[u8]) -> Result {
        self.range(off, data.len())?;
        if !traced!(NT, off, Some(data), data.len()) {
            return Ok(());
        }
        self.copy_nt(off, data)
    }

    /// The non-temporal copy of `data` to byte offset `off`, untraced.
    fn copy_nt(&self, off: u64, data: &[u8]) -> Result {
        let dst = self.range(off, data.len())?;
        // SAFETY: `dst` is valid for `data.len()` bytes by `range` and the type invariant, and does
        // not overlap `data`, which is ordinary kernel memory.
        unsafe {
            bindings::ferrite_memcpy_flushcache(dst.cast(), data.as_ptr().cast(), data.len())
        };
        Ok(())
    }

    /// Zeroes `len` bytes at byte offset `off` with non-temporal stores. Durable after a [`fence`].
    #[cfg_attr(ferrite_trace, track_caller)]
    pub(crate) fn zero_nt(&self, off: u64, len: u64) -> Result {
        let bytes = usize::try_from(len).map_err(|_| ERANGE)?;
        self.range(off, bytes)?;
        if !traced!(ZERO, off, None, bytes) {
            return Ok(());
        }
        let mut done = 0u64;
        while done < len {
            let chunk = core::cmp::min(len - done, ZEROES.len() as u64) as usize;
            let at = off.checked_add(done).ok_or(ERANGE)?;
            self.copy_nt(at, &ZEROES[..chunk])?;
            done += chunk as u64;
        }
        Ok(())
    }

    /// Records, in the trace build, the `len` bytes at byte offset `off` as file data the kernel's
    /// DAX code just copied there non-temporally (`write`).
    #[cfg(ferrite_trace)]
    #[track_caller]
    pub(crate) fn trace_data(&self, off: u64, len: usize) -> Result {
        let site = core::panic::Location::caller();
        let mut buf: KBox<[u8; 4096]> = KBox::init(kernel::init::zeroed(), GFP_KERNEL)?;
        let mut done = 0usize;
        while done < len {
            let n = core::cmp::min(len - done, buf.len());
            let at = off.checked_add(done as u64).ok_or(ERANGE)?;
            let chunk = buf.get_mut(..n).ok_or(ERANGE)?;
            self.read(at, chunk)?;
            trace::op(trace::DATA, at, Some(chunk), n, site);
            done += n;
        }
        Ok(())
    }
}

/// Orders every earlier flush and non-temporal store to pmem before any later store: after it
/// returns, they are durable.
#[cfg_attr(ferrite_trace, track_caller)]
pub(crate) fn fence() {
    if !traced!(FENCE, 0, None, 0) {
        return;
    }
    // SAFETY: `pmem_wmb` is a store fence with no memory-safety requirement.
    unsafe { bindings::ferrite_pmem_fence() };
}
