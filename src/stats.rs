// SPDX-License-Identifier: GPL-2.0

//! Per-mount statistics, readable in sysfs as `/sys/fs/ferrite/<device>/stats` (one `name value`
//! line per counter). The counters are per-CPU and live in `src/stats.c`, which also owns the
//! kobject plumbing.

use crate::bindings;
use core::ptr::NonNull;
use kernel::error::{to_result, Result};
use kernel::str::CStr;

/// A counter of [`Stats`].
#[derive(Clone, Copy)]
#[repr(u32)]
pub(crate) enum Counter {
    /// PTE (4 KiB) faults that mapped a page.
    PteFaults = bindings::ferrite_stat_FERRITE_STAT_PTE_FAULTS,
    /// PMD (2 MiB) faults that mapped a PMD.
    PmdFaults = bindings::ferrite_stat_FERRITE_STAT_PMD_FAULTS,
    /// PMD faults that fell back to PTE faults.
    PmdFallbacks = bindings::ferrite_stat_FERRITE_STAT_PMD_FALLBACKS,
    /// Write faults on a read-only mapped page (`page_mkwrite`, `pfn_mkwrite`) that made it
    /// writable.
    MkwriteFaults = bindings::ferrite_stat_FERRITE_STAT_MKWRITE_FAULTS,
    /// Write faults of the three kinds above, on `MAP_SYNC` mappings, that mapped.
    MapSyncFaults = bindings::ferrite_stat_FERRITE_STAT_MAP_SYNC_FAULTS,
    /// Journal transactions committed (each durable when its call returned).
    JournalCommits = bindings::ferrite_stat_FERRITE_STAT_JOURNAL_COMMITS,
    /// Bytes those transactions logged: their records' headers and changed byte ranges, the
    /// commit records.
    JournalBytes = bindings::ferrite_stat_FERRITE_STAT_JOURNAL_BYTES,
    /// Checkpoints: the journal emptied (the header's tail moved to its head).
    JournalCheckpoints = bindings::ferrite_stat_FERRITE_STAT_JOURNAL_CHECKPOINTS,
    /// Nanoseconds spent committing (logging, writing in place, checkpoints on the way).
    JournalCommitNs = bindings::ferrite_stat_FERRITE_STAT_JOURNAL_COMMIT_NS,
    /// Data extents allocated (by writes, faults and fallocate).
    AllocExtents = bindings::ferrite_stat_FERRITE_STAT_ALLOC_EXTENTS,
    /// Of those, whole aligned 2 MiB extents, which PMD faults can map.
    AllocHuge = bindings::ferrite_stat_FERRITE_STAT_ALLOC_HUGE,
    /// Allocations that wanted a whole aligned 2 MiB extent and found none free.
    AllocHugeFallbacks = bindings::ferrite_stat_FERRITE_STAT_ALLOC_HUGE_FALLBACKS,
}

/// `/sys/fs/ferrite`, present while the module is loaded (created before the filesystem type is
/// registered, removed after it is unregistered).
pub(crate) struct SysfsRoot(());

impl SysfsRoot {
    /// Creates `/sys/fs/ferrite`.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: called once, at module load; undone by `drop`.
        to_result(unsafe { bindings::ferrite_sysfs_init() })?;
        Ok(SysfsRoot(()))
    }
}

impl Drop for SysfsRoot {
    fn drop(&mut self) {
        // SAFETY: created by `new`; every mount's `Stats` is gone (the filesystem type is
        // unregistered before the module's `SysfsRoot` is dropped).
        unsafe { bindings::ferrite_sysfs_exit() }
    }
}

/// The counters of one mount, and their sysfs directory.
pub(crate) struct Stats(NonNull<bindings::ferrite_stats>);

// SAFETY: the counters are per-CPU and updated with `this_cpu_add`, which is safe from any
// context; the object is freed only by `drop`.
unsafe impl Send for Stats {}
// SAFETY: as for `Send`: `add` takes `&self` and needs no lock.
unsafe impl Sync for Stats {}

impl Stats {
    /// Creates `/sys/fs/ferrite/<name>`.
    pub(crate) fn new(name: &CStr) -> Result<Self> {
        let mut p = core::ptr::null_mut();
        // SAFETY: `name` is NUL-terminated; on success `p` is a valid object owned by the result.
        to_result(unsafe { bindings::ferrite_stats_create(name.as_char_ptr(), &mut p) })?;
        NonNull::new(p)
            .map(Stats)
            .ok_or(kernel::error::code::ENOMEM)
    }

    /// Adds `n` to counter `c`.
    pub(crate) fn add(&self, c: Counter, n: u64) {
        // SAFETY: `self.0` is valid until `drop`.
        unsafe { bindings::ferrite_stats_add(self.0.as_ptr(), c as u32, n) }
    }
}

impl Drop for Stats {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `ferrite_stats_create` and is destroyed once.
        unsafe { bindings::ferrite_stats_destroy(self.0.as_ptr()) }
    }
}
