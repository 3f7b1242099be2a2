// SPDX-License-Identifier: GPL-2.0

//! The DAX page fault paths: the `vm_operations` of DAX files over the kernel's
//! `dax_iomap_fault`, and `mmap`, which installs them.
//!
//! Lock order of a fault (the layer-wide order is in [`crate::vfs`]; the memory manager holds
//! `mmap_lock`):
//!
//! 1. freeze protection (`sb_start_pagefault`), for writes to shared mappings, and the file times
//!    (`file_update_time`);
//! 2. the mapping's `invalidate_lock`, shared (truncate, hole punching and zeroing take it
//!    exclusive, so blocks are never freed under a fault);
//! 3. in the filesystem's `iomap_begin`, its own locks, for the lookup or the allocation.
//!
//! `VM_FAULT_NEEDDSYNC` (a `MAP_SYNC` fault whose mapping needs metadata made durable) is
//! completed with `dax_finish_sync_fault`; the iomap layer never sets `IOMAP_F_DIRTY` (see
//! [`crate::iomap::Operations`]), so the DAX core does not ask for it today.

use super::DaxFileSystem;
use crate::bindings;
use crate::iomap;
use crate::vfs::{File, VmArea};
use core::marker::PhantomData;
use kernel::ffi;
use kernel::prelude::*;
use kernel::types::Opaque;

/// What a fault did, as the filesystem counts it ([`DaxFileSystem::count_fault`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultEvent {
    /// A PTE (4 KiB) fault mapped a page.
    Pte,
    /// A PMD (2 MiB) fault mapped a PMD.
    Pmd,
    /// A PMD fault fell back to PTE faults (which count themselves).
    PmdFallback,
    /// A write fault on a page mapped read-only (`page_mkwrite`, `pfn_mkwrite`) made it
    /// writable.
    Mkwrite,
    /// One of the above was a write through a `MAP_SYNC` mapping (counted besides it).
    MapSync,
}

/// Whether a DAX fault of `inode` at page index `index` may map the `nr` device pages from page
/// frame `pfn` on: `dax_associate_entry` requires each of them to belong to no mapping, or to be
/// this inode's page at that very index already (an earlier fault's). A page that belongs to
/// another file, or to another offset of this one, can only come from a corrupt block map, and
/// the fault must be refused before the DAX core sees it.
pub(crate) fn pages_free_for<T: DaxFileSystem>(
    inode: &crate::vfs::Inode<T>,
    pfn: u64,
    nr: u64,
    index: u64,
) -> bool {
    let mapping = inode.mapping();
    (0..nr).all(|i| {
        let (Some(p), Some(at)) = (pfn.checked_add(i), index.checked_add(i)) else {
            return false;
        };
        let Ok(p) = ffi::c_ulong::try_from(p) else {
            return false;
        };
        let mut owner = core::ptr::null_mut();
        let mut owner_index: ffi::c_ulong = 0;
        // SAFETY: the out-pointers are locals; the helper checks the page frame with `pfn_valid`
        // before it reads its `struct page`, whose `mapping` and `index` it reads once each.
        if !unsafe { bindings::ferrite_dax_page_owner(p, &mut owner, &mut owner_index) } {
            return false;
        }
        owner.is_null() || (owner == mapping && u64::try_from(owner_index).is_ok_and(|i| i == at))
    })
}

/// `file_operations::mmap` of a DAX file: `MAP_SYNC` is accepted when the DAX device can honour
/// it; the mapping gets the DAX fault operations of `T` and `VM_HUGEPAGE`, and the file's access
/// time is updated.
pub(crate) fn mmap<T: DaxFileSystem>(file: &File<T>, vma: &VmArea) -> Result {
    let dax = T::dax_device(file.inode().super_block()).ok_or(EIO)?;
    let ops: &'static bindings::vm_operations_struct = &VmOpsTable::<T>::VM_OPS;
    // SAFETY: `vma` is the mapping being set up for `file` (type invariants); the DAX device
    // lives as long as the mount; the operations table is `'static`.
    kernel::error::to_result(unsafe {
        bindings::ferrite_dax_mmap(file.as_ptr(), vma.as_ptr(), dax.as_ptr(), ops)
    })
}

/// The VMA operations of `T`'s DAX files.
struct VmOpsTable<T>(PhantomData<T>);

impl<T: DaxFileSystem> VmOpsTable<T> {
    const VM_OPS: bindings::vm_operations_struct = bindings::vm_operations_struct {
        fault: Some(page_fault::<T, false>),
        huge_fault: Some(huge_fault::<T>),
        page_mkwrite: Some(page_fault::<T, true>),
        pfn_mkwrite: Some(page_fault::<T, true>),
        ..crate::vfs::empty_table()
    };
}

/// What a fault handler was asked for.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A fault on a page not mapped yet (`fault`, `huge_fault` of order 0).
    Pte,
    /// A PMD fault (`huge_fault` of order 9).
    Pmd,
    /// A write fault on a page mapped read-only (`page_mkwrite`, `pfn_mkwrite`).
    Mkwrite,
}

/// A page fault on a DAX mapping of a file of `T` (`struct vm_fault`).
///
/// # Invariants
///
/// The wrapped fault is valid while the wrapper is borrowed, on a VMA with the operations of
/// [`VmOpsTable<T>`] (so its file is a DAX file of `T`, which the VMA pins with its inode, super
/// block and mapping for the duration of the fault).
#[repr(transparent)]
struct Fault<T>(Opaque<bindings::vm_fault>, PhantomData<T>);

impl<T: DaxFileSystem> Fault<T> {
    /// The faulting file.
    fn file(&self) -> &File<T> {
        // SAFETY: the VMA's file is a file of `T`, pinned for the fault (type invariant).
        unsafe { File::from_raw(bindings::ferrite_vmf_file(self.0.get())) }
    }

    /// Whether the fault is a write to a shared mapping, and whether that mapping is `MAP_SYNC`.
    fn shared_write(&self) -> (bool, bool) {
        // SAFETY: the fault and its VMA are valid (type invariant).
        unsafe {
            let write = bindings::ferrite_vmf_shared_write(self.0.get()) != 0;
            (
                write,
                write && bindings::ferrite_vmf_sync(self.0.get()) != 0,
            )
        }
    }

    /// `dax_iomap_fault` of `order` through `T`'s iomap, then `dax_finish_sync_fault` if the
    /// core asks for it. The caller holds the locks of the fault path's order.
    fn map(&self, order: ffi::c_uint, write: bool) -> bindings::vm_fault_t {
        let mut pfn = bindings::pfn_t::default();
        let ops = iomap::ops::<T::Iomap>();
        // SAFETY: the fault is valid (type invariant); `pfn` is a local out-value; the iomap table
        // is `T`'s, the filesystem of the faulting file; the caller holds `invalidate_lock`
        // shared and, for writes, freeze protection, as `dax_iomap_fault` expects.
        unsafe {
            let vmf = self.0.get();
            let r = bindings::dax_iomap_fault(vmf, order, &mut pfn, core::ptr::null_mut(), ops);
            if write && r & bindings::VM_FAULT_NEEDDSYNC != 0 {
                bindings::dax_finish_sync_fault(vmf, order, pfn)
            } else {
                r
            }
        }
    }
}

/// A fault of a page (`fault`: `MKWRITE` false) or on a page mapped read-only (`page_mkwrite`,
/// `pfn_mkwrite`: `MKWRITE` true).
///
/// # Safety
///
/// Called by the memory manager with a valid fault on a VMA with `VmOpsTable<T>`'s operations.
unsafe extern "C" fn page_fault<T: DaxFileSystem, const MKWRITE: bool>(
    vmf: *mut bindings::vm_fault,
) -> bindings::vm_fault_t {
    let kind = if MKWRITE { Kind::Mkwrite } else { Kind::Pte };
    // SAFETY: as this function's own contract, which is `Fault`'s invariant.
    dax_fault(unsafe { &*vmf.cast::<Fault<T>>() }, 0, kind)
}

/// A fault of `order`. The memory manager also tries PUD (1 GiB) faults wherever a DAX mapping
/// has no page directory yet; no PUDs are mapped here, so those fall back at once, before any
/// lock is taken or anything is counted.
///
/// # Safety
///
/// As for [`page_fault`].
unsafe extern "C" fn huge_fault<T: DaxFileSystem>(
    vmf: *mut bindings::vm_fault,
    order: ffi::c_uint,
) -> bindings::vm_fault_t {
    // SAFETY: as this function's own contract, which is `Fault`'s invariant.
    let f = unsafe { &*vmf.cast::<Fault<T>>() };
    match order {
        0 => dax_fault(f, 0, Kind::Pte),
        bindings::PMD_ORDER => dax_fault(f, order, Kind::Pmd),
        _ => bindings::VM_FAULT_FALLBACK,
    }
}

/// A fault of `order` (0: PTE, 9: PMD), with the locks of the fault path's order held by guards,
/// and its outcome counted.
fn dax_fault<T: DaxFileSystem>(
    f: &Fault<T>,
    order: ffi::c_uint,
    kind: Kind,
) -> bindings::vm_fault_t {
    let file = f.file();
    let inode = file.inode();
    let sb = inode.super_block();
    let (write, sync_write) = f.shared_write();
    // A mapping made before the file became immutable or append-only: its writes stop (the
    // flag change unmapped it, so every write faults here).
    if write && inode.is_immutable_or_append() {
        return bindings::VM_FAULT_SIGBUS;
    }
    let r = {
        let _freeze = write.then(|| {
            let g = sb.start_pagefault();
            // As `dax_iomap_fault` callers do: a time that cannot be updated is not an error of
            // the fault.
            let _ = file.update_time();
            g
        });
        let _inval = inode.invalidate_lock_shared();
        f.map(order, write)
    };
    for e in events(kind, r, sync_write) {
        T::count_fault(sb, e);
    }
    r
}

/// The events of a fault of `kind` with outcome `r`: a fault that mapped (a page, a PMD, or
/// write access) by its kind, and once more as a `MAP_SYNC` fault if it was a write through a
/// `MAP_SYNC` mapping; a PMD fault that fell back as a fallback only (the PTE faults that follow
/// count themselves); a fault that failed or is to be retried, none.
fn events(
    kind: Kind,
    r: bindings::vm_fault_t,
    sync_write: bool,
) -> impl Iterator<Item = FaultEvent> {
    let not_done =
        bindings::VM_FAULT_ERROR | bindings::VM_FAULT_FALLBACK | bindings::VM_FAULT_RETRY;
    let (first, sync) = if r & not_done != 0 {
        let fallback = kind == Kind::Pmd && r & bindings::VM_FAULT_FALLBACK != 0;
        (fallback.then_some(FaultEvent::PmdFallback), false)
    } else {
        let e = match kind {
            Kind::Pte => FaultEvent::Pte,
            Kind::Pmd => FaultEvent::Pmd,
            Kind::Mkwrite => FaultEvent::Mkwrite,
        };
        (Some(e), sync_write)
    };
    Iterator::chain(first.into_iter(), sync.then_some(FaultEvent::MapSync))
}
