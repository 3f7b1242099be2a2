// SPDX-License-Identifier: GPL-2.0

//! The DAX page fault paths: ferrite's `vm_operations` over the kernel's `dax_iomap_fault`.
//!
//! Lock order of a fault (the caller holds `mmap_lock`):
//!
//! 1. freeze protection (`sb_start_pagefault`), for writes to shared mappings, and the file times
//!    (`file_update_time`);
//! 2. the mapping's `invalidate_lock`, shared (truncate, hole punching and zeroing take it
//!    exclusive, so blocks are never freed under a fault);
//! 3. in `iomap_begin`, the mount's metadata lock, for the lookup or the allocation.
//!
//! `VM_FAULT_NEEDDSYNC` (a `MAP_SYNC` fault whose mapping needs metadata made durable) is
//! completed with `dax_finish_sync_fault`; ferrite's metadata is durable when `iomap_begin`
//! returns, so it does not ask for it.

use crate::bindings;
use crate::stats::{Counter, Stats};
use kernel::ffi;

/// Whether a DAX fault of `inode` at page index `index` may map the `nr` device pages from page
/// frame `pfn` on: `dax_associate_entry` requires each of them to belong to no mapping, or to be
/// this inode's page at that very index already (an earlier fault's). A page that belongs to
/// another file, or to another offset of this one, can only come from a corrupt extent map, and
/// the fault must be refused before the DAX core sees it.
pub(crate) fn pages_free_for(inode: &crate::vfs::Inode, pfn: u64, nr: u64, index: u64) -> bool {
    let (Ok(pfn), Ok(nr), Ok(index)) = (
        ffi::c_ulong::try_from(pfn),
        ffi::c_ulong::try_from(nr),
        ffi::c_ulong::try_from(index),
    ) else {
        return false;
    };
    // SAFETY: `inode` is a live inode (type invariant of `Inode`); the helper only reads the
    // `struct page` of valid page frames, which pmem pages keep while the device is mapped.
    unsafe { bindings::ferrite_dax_pages_free_for(inode.as_ptr(), pfn, nr, index) }
}

/// The VMA operations of ferrite's DAX files.
pub(crate) static VM_OPS: bindings::vm_operations_struct = {
    // SAFETY: a table of nullable function pointers and a NULL name.
    let mut v: bindings::vm_operations_struct = unsafe { core::mem::zeroed() };
    v.fault = Some(fault);
    v.huge_fault = Some(huge_fault);
    v.page_mkwrite = Some(mkwrite);
    v.pfn_mkwrite = Some(mkwrite);
    v
};

/// What a fault handler was asked for, for the counters: each outcome is counted once.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A fault on a page not mapped yet (`fault`, `huge_fault` of order 0).
    Pte,
    /// A PMD fault (`huge_fault` of order 9).
    Pmd,
    /// A write fault on a page mapped read-only (`page_mkwrite`, `pfn_mkwrite`).
    Mkwrite,
}

/// A PTE fault.
///
/// # Safety
///
/// Called by the memory manager with a valid fault on a ferrite DAX mapping.
unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // SAFETY: as this function's own contract.
    unsafe { dax_fault(vmf, 0, Kind::Pte) }
}

/// `page_mkwrite` and `pfn_mkwrite`: a write to a page mapped read-only.
///
/// # Safety
///
/// Called by the memory manager with a valid fault on a ferrite DAX mapping.
unsafe extern "C" fn mkwrite(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
    // SAFETY: as this function's own contract.
    unsafe { dax_fault(vmf, 0, Kind::Mkwrite) }
}

/// A fault of `order`. The memory manager also tries PUD (1 GiB) faults wherever a DAX mapping
/// has no page directory yet; ferrite maps no PUDs, so those fall back at once, before any lock
/// is taken or anything is counted.
///
/// # Safety
///
/// Called by the memory manager with a valid fault on a ferrite DAX mapping.
unsafe extern "C" fn huge_fault(
    vmf: *mut bindings::vm_fault,
    order: ffi::c_uint,
) -> bindings::vm_fault_t {
    match order {
        // SAFETY: as this function's own contract.
        0 => unsafe { dax_fault(vmf, 0, Kind::Pte) },
        // SAFETY: as this function's own contract.
        bindings::PMD_ORDER => unsafe { dax_fault(vmf, order, Kind::Pmd) },
        _ => bindings::VM_FAULT_FALLBACK,
    }
}

/// A fault of `order` (0: PTE, 9: PMD) through the kernel's `dax_iomap_fault`.
///
/// # Safety
///
/// Called by the memory manager with a valid fault on a ferrite DAX mapping; `order` is 0 or
/// `PMD_ORDER`.
unsafe fn dax_fault(
    vmf: *mut bindings::vm_fault,
    order: ffi::c_uint,
    kind: Kind,
) -> bindings::vm_fault_t {
    // SAFETY: the fault's VMA has a file (a ferrite DAX file), which pins its inode, super block
    // and mapping for the duration of the fault.
    unsafe {
        let file = bindings::ferrite_vmf_file(vmf);
        let inode = bindings::ferrite_file_inode(file);
        let sb = (*inode).i_sb;
        let mapping = bindings::ferrite_file_mapping(file);
        let write = bindings::ferrite_vmf_shared_write(vmf) != 0;
        let sync_write = write && bindings::ferrite_vmf_sync(vmf) != 0;
        if write {
            bindings::ferrite_sb_start_pagefault(sb);
            bindings::file_update_time(file);
        }
        bindings::ferrite_invalidate_lock_shared(mapping);
        let mut pfn = bindings::pfn_t::default();
        let mut r = bindings::dax_iomap_fault(
            vmf,
            order,
            &mut pfn,
            core::ptr::null_mut(),
            &crate::iomap::IOMAP_OPS,
        );
        if write && r & bindings::VM_FAULT_NEEDDSYNC != 0 {
            r = bindings::dax_finish_sync_fault(vmf, order, pfn);
        }
        bindings::ferrite_invalidate_unlock_shared(mapping);
        if write {
            bindings::ferrite_sb_end_pagefault(sb);
        }
        if let Some(mount) = crate::super_block::SuperBlock::from_raw(sb).mount() {
            count(&mount.stats, kind, r, sync_write);
        }
        r
    }
}

/// Counts the outcome `r` of a fault of `kind`: a fault that mapped (a page, a PMD, or write
/// access) is counted by its kind, and once more as a `MAP_SYNC` fault if it was a write through
/// a `MAP_SYNC` mapping; a PMD fault that fell back is counted as a fallback only (the PTE faults
/// that follow count themselves); a fault that failed or is to be retried is not counted.
fn count(stats: &Stats, kind: Kind, r: bindings::vm_fault_t, sync_write: bool) {
    let not_done =
        bindings::VM_FAULT_ERROR | bindings::VM_FAULT_FALLBACK | bindings::VM_FAULT_RETRY;
    if r & not_done != 0 {
        if kind == Kind::Pmd && r & bindings::VM_FAULT_FALLBACK != 0 {
            stats.add(Counter::PmdFallbacks, 1);
        }
        return;
    }
    stats.add(
        match kind {
            Kind::Pte => Counter::PteFaults,
            Kind::Pmd => Counter::PmdFaults,
            Kind::Mkwrite => Counter::MkwriteFaults,
        },
        1,
    );
    if sync_write {
        stats.add(Counter::MapSyncFaults, 1);
    }
}

/// `file_operations::mmap` of a DAX file: `MAP_SYNC` is accepted when the DAX device can honour
/// it; the mapping gets the DAX fault operations and `VM_HUGEPAGE`.
pub(crate) fn mmap(
    file: &crate::vfs::File,
    vma: *mut bindings::vm_area_struct,
) -> kernel::error::Result {
    let mount = file
        .inode()
        .super_block()
        .mount()
        .ok_or(kernel::error::code::EIO)?;
    // SAFETY: `vma` is the mapping being set up for `file`, as `mmap` receives it; the DAX device
    // lives as long as the mount; the operations table is static.
    kernel::error::to_result(unsafe {
        bindings::ferrite_dax_mmap(file.as_ptr(), vma, mount.dax_ptr(), &VM_OPS)
    })
}
