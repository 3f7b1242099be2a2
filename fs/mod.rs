// SPDX-License-Identifier: GPL-2.0

//! The ferrite filesystem, in safe Rust.

pub(crate) mod dir;
pub(crate) mod file;
// The format and the operations are the userspace crate ferrite-format's public API; in the
// module they are private, so their `pub` items are unreachable here by design.
#[allow(unreachable_pub)]
#[path = "../crates/ferrite-format/src/format/mod.rs"]
pub(crate) mod format;
pub(crate) mod inode;
mod mount;
pub(crate) mod namei;
#[allow(unreachable_pub)]
#[path = "../crates/ferrite-format/src/ops/mod.rs"]
pub(crate) mod ops;
mod pmem_io;
pub(crate) mod super_ops;
mod txn;

use crate::dax::device::DaxDevice;
use crate::fs_context::{DaxMode, FsContext, MountOption};
use crate::fs_type::FileSystem;
use crate::pmem::Pmem;
use crate::stats::Stats;
use crate::super_block::SuperBlock;
use crate::vfs::InodeRef;
use format::{Superblock, MAX_FILE_SIZE};
use kernel::c_str;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::Mutex;
use ops::Ctx;
use txn::{Meta, TxIo};

/// The `ferrite` filesystem type.
pub(crate) struct Ferrite;

/// Hard links an inode may have (as ext4).
const MAX_LINKS: u32 = 65000;

/// A mounted ferrite filesystem.
///
/// Lock order: the VFS's inode locks (`i_rwsem`, taken by the VFS or by the file operations),
/// then `meta`. Nothing that takes an inode lock, or may wait for an inode being evicted (whose
/// eviction needs `meta`), is called with `meta` held.
#[pin_data]
pub(crate) struct Mount {
    /// The device's persistent memory; dropped before `dax`, which keeps it mapped.
    pub(crate) pmem: Pmem,
    dax: DaxDevice,
    /// The superblock as mounted (its layout and keys do not change while mounted).
    pub(crate) sb: Superblock,
    /// Unknown read-only-compatible features: never writable.
    force_ro: bool,
    /// The counters in `/sys/fs/ferrite/<device>/stats`.
    pub(crate) stats: Stats,
    /// The metadata lock: every metadata read and transaction runs under it.
    #[pin]
    meta: Mutex<Meta>,
}

impl Mount {
    /// Runs `f` as one metadata transaction under the metadata lock (see [`txn`]).
    pub(crate) fn tx<T>(
        &self,
        f: impl FnOnce(&mut Ctx<'_, TxIo<'_>>) -> Result<T, format::Error<Error>>,
    ) -> Result<T> {
        self.meta.lock().run(&self.pmem, f)
    }

    /// Reports corruption `c` found outside a transaction's own reads as the transactions report
    /// theirs (a limited number of times per mount), stops the filesystem writing, and returns
    /// the error (`EUCLEAN`).
    pub(crate) fn report_corrupt(&self, c: format::Corrupt) -> Error {
        match self.tx::<()>(|_| Err(c.into())) {
            Err(e) => e,
            Ok(()) => crate::errno::euclean(),
        }
    }

    /// Empties the journal.
    pub(crate) fn checkpoint(&self) -> Result {
        self.meta.lock().checkpoint_now(&self.pmem)
    }

    /// The DAX device, for iomaps.
    pub(crate) fn dax_ptr(&self) -> *mut crate::bindings::dax_device {
        self.dax.as_ptr()
    }

    /// The page frame of block `block` of the device.
    pub(crate) fn pfn_of(&self, block: u64) -> Option<u64> {
        self.dax.first_pfn()?.checked_add(block)
    }

    /// What to add to a block device byte address to make it a DAX device address.
    pub(crate) fn dax_base(&self) -> u64 {
        self.dax.start_off()
    }
}

impl FileSystem for Ferrite {
    const NAME: &'static CStr = c_str!("ferrite");
    type Data = Mount;

    fn parse_option(fc: &FsContext, opt: MountOption) -> Result {
        match opt {
            MountOption::Dax | MountOption::DaxMode(DaxMode::Always) => Ok(()),
            MountOption::DaxMode(DaxMode::Never | DaxMode::Inode) => {
                fc.error(c_str!(
                    "only dax=always is supported: ferrite always uses DAX"
                ));
                Err(EINVAL)
            }
        }
    }

    fn fill_super(sb: &SuperBlock, fc: &FsContext) -> Result<Pin<KBox<Mount>>> {
        let Some(mut dax) = sb.dax_device() else {
            fc.error(c_str!(
                "the device does not support DAX; ferrite needs pmem in fsdax mode"
            ));
            return Err(EINVAL);
        };
        let size = sb.device_size() & !(kernel::page::PAGE_SIZE as u64 - 1);
        let pmem = dax.map(size).inspect_err(|_| {
            fc.error(c_str!(
                "cannot map the whole device through DAX (media errors?)"
            ));
        })?;
        let loaded = mount::load(&pmem, fc)?;
        if loaded.force_ro && !sb.read_only() {
            fc.error(c_str!(
                "the filesystem has read-only-compatible features this ferrite does not know: mount it read-only"
            ));
            return Err(EROFS);
        }
        sb.init(
            super_ops::FERRITE_MAGIC,
            &crate::ops::SUPER_OPS,
            MAX_FILE_SIZE,
            MAX_LINKS,
            &loaded.sb.uuid,
        )?;
        pr_info!(
            "{}: {} blocks, {} inodes, {} journal blocks{}\n",
            sb.id(),
            loaded.sb.layout.block_count,
            loaded.sb.layout.inode_count,
            loaded.sb.layout.journal_blocks,
            if loaded.force_ro {
                " (read-only features)"
            } else {
                ""
            }
        );
        let meta = Meta::new(loaded.sb, loaded.journal, txn::Reporter::new(sb.id())?)?;
        let stats = Stats::new(sb.id())?;
        KBox::pin_init(
            try_pin_init!(Mount {
                pmem,
                dax,
                sb: loaded.sb,
                force_ro: loaded.force_ro,
                stats,
                meta <- new_mutex!(meta, "ferrite::Mount::meta"),
            }),
            GFP_KERNEL,
        )
    }

    fn fill_root(sb: &SuperBlock) -> Result<InodeRef> {
        let mount = sb.mount().ok_or(EINVAL)?;
        if !sb.read_only() {
            // Orphans exist only if the filesystem was not unmounted cleanly.
            if mount.sb.state & format::STATE_CLEAN == 0 {
                cleanup_orphans(sb, mount)?;
            }
            super_ops::set_clean(sb, false)?;
        }
        inode::iget(sb, mount.sb.root_ino)
    }

    fn reconfigure(sb: &SuperBlock, fc: &FsContext, read_only: Option<bool>) -> Result {
        let mount = sb.mount().ok_or(EINVAL)?;
        match read_only {
            Some(true) if !sb.read_only() => super_ops::set_clean(sb, true),
            Some(false) if sb.read_only() => {
                if mount.force_ro {
                    fc.error(c_str!(
                        "the filesystem has read-only-compatible features this ferrite does not know"
                    ));
                    return Err(EROFS);
                }
                cleanup_orphans(sb, mount)?;
                super_ops::set_clean(sb, false)
            }
            _ => Ok(()),
        }
    }
}

/// Frees the inodes a crash left allocated with no links (unlinked while open).
fn cleanup_orphans(sb: &SuperBlock, mount: &Mount) -> Result {
    let mut orphans = KVec::new();
    let mut full = false;
    mount.tx(|ctx| {
        ctx.orphans(&mut |ino| {
            if orphans.push(ino, GFP_KERNEL).is_err() {
                full = true;
            }
        })
    })?;
    if full {
        return Err(ENOMEM);
    }
    for ino in orphans.iter() {
        inode::free_inode(mount, sb, *ino)?;
    }
    if !orphans.is_empty() {
        pr_info!("{}: freed {} orphan inodes\n", sb.id(), orphans.len());
    }
    Ok(())
}
