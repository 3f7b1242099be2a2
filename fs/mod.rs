// SPDX-License-Identifier: GPL-2.0

//! The ferrite filesystem, in safe Rust, on top of the abstraction layers (`src/vfs/`, `iomap/`,
//! `dax/`), whose traits it implements: [`Ferrite`] is the filesystem type (mount, super block
//! operations, DAX), `namei` the directory inode operations, `dir` the directory file
//! operations, `file` the regular file operations and the iomap, `inode` the rest.
//!
//! # Lock order
//!
//! The VFS's and the DAX core's locks come first, in the order written once in [`crate::vfs`]
//! (mmap lock, freeze protection, `i_rwsem`, `invalidate_lock`); then ferrite's own, of which
//! there is one: the metadata lock [`Mount::meta`]. Nothing that takes a VFS lock, or may wait
//! for an inode being evicted (whose eviction needs `meta`), is called with `meta` held; `i_lock`
//! (a spinlock, [`Inode::set_blocks`]) may be taken under it.

#![forbid(unsafe_code)]
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]

pub(crate) mod dir;
pub(crate) mod file;
// The format and the operations are the userspace crate ferrite-format's public API; in the
// module they are private, so their `pub` items are unreachable here by design.
#[allow(unreachable_pub)]
#[path = "../crates/ferrite-format/src/format/mod.rs"]
pub(crate) mod format;
pub(crate) mod inode;
mod ioctl;
mod mem;
mod mount;
pub(crate) mod namei;
#[allow(unreachable_pub)]
#[path = "../crates/ferrite-format/src/ops/mod.rs"]
pub(crate) mod ops;
mod pmem_io;
mod space;
pub(crate) mod super_ops;
mod txn;
mod xattr;

use crate::dax::{device::DaxDevice, DaxFileSystem, FaultEvent};
use crate::pmem::Pmem;
use crate::stats::{Counter, Stats};
use crate::vfs::fs_context::{MountOption, Param, ParamTable, ParamValues, Params};
use crate::vfs::{FileSystem, FsContext, Kstatfs};
use core::sync::atomic::{AtomicBool, Ordering};
use format::{DiskSuperblock, MAX_FILE_SIZE};
use kernel::c_str;
use kernel::new_mutex;
use kernel::prelude::*;
use kernel::sync::Mutex;
use kernel::types::ARef;
use ops::Ctx;
use txn::{Meta, TxIo};

/// A super block of ferrite.
pub(crate) type SuperBlock = crate::vfs::SuperBlock<Ferrite>;
/// An inode of ferrite, borrowed.
pub(crate) type Inode = crate::vfs::Inode<Ferrite>;
/// An owned reference to an inode of ferrite.
pub(crate) type InodeRef = ARef<Inode>;
/// A new inode of ferrite, being filled in.
pub(crate) type NewInode = crate::vfs::NewInode<Ferrite>;
/// A dentry of ferrite.
pub(crate) type Dentry = crate::vfs::Dentry<Ferrite>;
/// An open file of ferrite.
pub(crate) type File = crate::vfs::File<Ferrite>;
/// An I/O control block of a file of ferrite.
pub(crate) type Kiocb = crate::vfs::Kiocb<Ferrite>;

/// The `ferrite` filesystem type.
pub(crate) struct Ferrite;

/// The option numbers of ferrite's mount options.
mod opt {
    /// `dax`.
    pub(super) const DAX: u8 = 0;
    /// `dax=always|never|inode`.
    pub(super) const DAX_MODE: u8 = 1;
    /// `acl`.
    pub(super) const ACL: u8 = 2;
    /// `noacl`.
    pub(super) const NOACL: u8 = 3;
    /// `norecovery`, and ext4's name for it, `noload`.
    pub(super) const NORECOVERY: u8 = 4;

    /// The option bits of the mount context ([`FsContext::add_option_bits`]).
    pub(super) mod bits {
        /// `norecovery`: mount read-only without replaying the journal.
        pub(crate) const NORECOVERY: usize = 1;
    }
}

/// The values of `dax=`, by number: only `always` (0) is accepted.
static DAX_MODES: ParamValues<3> = ParamValues::new([
    (c_str!("always"), 0),
    (c_str!("never"), 1),
    (c_str!("inode"), 2),
]);

/// ferrite's mount options: `dax` and `dax=MODE`, as ext4 and XFS name them, `acl`/`noacl`
/// (POSIX ACLs, on by default) as ext4 names them, and `norecovery` (XFS's and ext4's; `noload`
/// is ext4's other name for it).
static PARAMS: Params<6> = Params::new([
    Param::flag(c_str!("dax"), opt::DAX),
    Param::enumerated(c_str!("dax"), opt::DAX_MODE, &DAX_MODES),
    Param::flag(c_str!("acl"), opt::ACL),
    Param::flag(c_str!("noacl"), opt::NOACL),
    Param::flag(c_str!("norecovery"), opt::NORECOVERY),
    Param::flag(c_str!("noload"), opt::NORECOVERY),
]);

/// Hard links an inode may have (as ext4).
const MAX_LINKS: u32 = 65000;

/// A mounted ferrite filesystem (the data of its super block). Its lock, `meta`, is last in the
/// lock order (see the [module documentation](self#lock-order)).
#[pin_data]
pub(crate) struct Mount {
    /// The device's persistent memory; dropped before `dax`, which keeps it mapped.
    pub(crate) pmem: Pmem,
    dax: DaxDevice,
    /// The superblock as mounted (its layout and keys do not change while mounted).
    pub(crate) sb: DiskSuperblock,
    /// Unknown read-only-compatible features: never writable.
    force_ro: bool,
    /// Mounted with `norecovery`: the journal was not replayed, so never writable.
    norecovery: bool,
    /// The counters in `/sys/fs/ferrite/<device>/stats`.
    pub(crate) stats: Stats,
    /// Shut down (`FS_IOC_SHUTDOWN`): every operation fails with `EIO` until unmount.
    pub(crate) shut_down: AtomicBool,
    /// The metadata lock: every metadata read and transaction runs under it.
    #[pin]
    pub(crate) meta: Mutex<Meta>,
}

impl Mount {
    /// Runs `f` as one metadata transaction under the metadata lock (see [`txn`]).
    pub(crate) fn tx<T>(
        &self,
        f: impl FnOnce(&mut Ctx<'_, TxIo<'_>>) -> Result<T, format::Error<Error>>,
    ) -> Result<T> {
        let mut meta = self.meta.lock();
        self.check_up()?;
        meta.run(&self.pmem, &self.stats, f)
    }

    /// `EIO` once the filesystem is shut down.
    pub(crate) fn check_up(&self) -> Result {
        if self.shut_down.load(Ordering::Acquire) {
            return Err(EIO);
        }
        Ok(())
    }

    /// Runs `f` as one transaction, then `then` with its result while the metadata lock is still
    /// held: updates of VFS state that must happen in the order of the transactions (the block
    /// count of a file that faults allocate into concurrently) go there.
    pub(crate) fn tx_then<T>(
        &self,
        f: impl FnOnce(&mut Ctx<'_, TxIo<'_>>) -> Result<T, format::Error<Error>>,
        then: impl FnOnce(&T),
    ) -> Result<T> {
        let mut meta = self.meta.lock();
        self.check_up()?;
        let r = meta.run(&self.pmem, &self.stats, f)?;
        then(&r);
        Ok(r)
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

    /// Sets the label in both superblocks, in one transaction, and in the mounted one.
    pub(crate) fn set_label(&self, label: &[u8; format::LABEL_MAX]) -> Result {
        let mut meta = self.meta.lock();
        self.check_up()?;
        let sb = meta.run(&self.pmem, &self.stats, |ctx| ctx.set_label(label))?;
        meta.sb.label = sb.label;
        Ok(())
    }

    /// Empties the journal.
    pub(crate) fn checkpoint(&self) -> Result {
        let mut meta = self.meta.lock();
        self.check_up()?;
        meta.checkpoint_now(&self.pmem, &self.stats)
    }

    /// The DAX device.
    pub(crate) fn dax(&self) -> &DaxDevice {
        &self.dax
    }

    /// The page frame of block `block` of the device.
    pub(crate) fn pfn_of(&self, block: u64) -> Option<u64> {
        self.dax.first_pfn()?.checked_add(block)
    }
}

#[vtable]
impl FileSystem for Ferrite {
    const NAME: &'static CStr = c_str!("ferrite");
    type Data = Mount;

    const PARAMS: ParamTable = PARAMS.table();
    // Every inode operation passes the mount's idmap to the VFS helpers (namei.rs, inode.rs,
    // xattr.rs); ids stored on media are those of the filesystem's user namespace.
    const ALLOW_IDMAP: bool = true;

    fn parse_option(fc: &FsContext, o: MountOption) -> Result {
        match (o.opt, o.value) {
            (opt::DAX, _) | (opt::DAX_MODE, 0) => Ok(()),
            (opt::ACL, _) => {
                fc.set_posix_acl(true);
                Ok(())
            }
            (opt::NOACL, _) => {
                fc.set_posix_acl(false);
                Ok(())
            }
            (opt::NORECOVERY, _) => {
                fc.add_option_bits(opt::bits::NORECOVERY);
                Ok(())
            }
            _ => {
                fc.error(c_str!(
                    "only dax=always is supported: ferrite always uses DAX"
                ));
                Err(EINVAL)
            }
        }
    }

    fn fill_super(sb: &SuperBlock, fc: &FsContext) -> Result<Pin<KBox<Mount>>> {
        let Some(mut dax) = DaxDevice::of(sb) else {
            fc.error(c_str!(
                "the device does not support DAX; ferrite needs pmem in fsdax mode"
            ));
            return Err(EINVAL);
        };
        let page = kernel::page::PAGE_SIZE as u64;
        let size = sb
            .device_size()
            .saturating_sub(sb.device_size().checked_rem(page).unwrap_or(0));
        let pmem = dax.map(size).inspect_err(|_| {
            fc.error(c_str!(
                "cannot map the whole device through DAX (media errors?)"
            ));
        })?;
        let norecovery = fc.option_bits() & opt::bits::NORECOVERY != 0;
        if norecovery && !sb.read_only() {
            fc.error(c_str!("norecovery needs a read-only mount (ro)"));
            return Err(EINVAL);
        }
        let loaded = mount::load(&pmem, fc, sb.device_read_only(), norecovery)?;
        if loaded.force_ro && !sb.read_only() {
            fc.error(c_str!(
                "the filesystem has read-only-compatible features this ferrite does not know: mount it read-only"
            ));
            return Err(EROFS);
        }
        sb.init(
            super_ops::FERRITE_MAGIC,
            MAX_FILE_SIZE,
            MAX_LINKS,
            &loaded.sb.uuid,
        )?;
        // Extended attributes need the feature; ACLs are kept in them, on unless `noacl`.
        if !loaded.sb.has_xattr() && fc.posix_acl_choice() == Some(true) {
            fc.error(c_str!(
                "acl: the filesystem has no extended attributes (made with -O ^xattr)"
            ));
            return Err(EINVAL);
        }
        let acl = loaded.sb.has_xattr() && fc.posix_acl_choice().unwrap_or(true);
        sb.init_xattrs(acl);
        sb.init_export();
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
                norecovery,
                stats,
                shut_down: AtomicBool::new(false),
                meta <- new_mutex!(meta, "ferrite::Mount::meta"),
            }),
            GFP_KERNEL,
        )
    }

    fn fill_root(sb: &SuperBlock) -> Result<InodeRef> {
        let mount = sb.data().ok_or(EINVAL)?;
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
        let mount = sb.data().ok_or(EINVAL)?;
        if !mount.sb.has_xattr() && fc.posix_acl_choice() == Some(true) {
            fc.error(c_str!(
                "acl: the filesystem has no extended attributes (made with -O ^xattr)"
            ));
            return Err(EINVAL);
        }
        if fc.option_bits() & opt::bits::NORECOVERY != 0 && !mount.norecovery {
            fc.error(c_str!(
                "norecovery: the journal was replayed at mount; it cannot be skipped by a remount"
            ));
            return Err(EINVAL);
        }
        match read_only {
            Some(true) if !sb.read_only() => super_ops::set_clean(sb, true),
            Some(false) if sb.read_only() => {
                if mount.norecovery {
                    fc.error(c_str!(
                        "mounted with norecovery: the journal was not replayed, so it stays read-only"
                    ));
                    return Err(EINVAL);
                }
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

    fn evict_inode(inode: &Inode) {
        inode::evict(inode);
    }

    fn dirty_inode(inode: &Inode, flags: u32) {
        inode::dirty_inode(inode, flags);
    }

    fn statfs(sb: &SuperBlock, buf: &Kstatfs) -> Result {
        super_ops::statfs(sb, buf)
    }

    fn show_options(sb: &SuperBlock, m: &crate::vfs::super_block::SeqFile) -> Result {
        // ferrite always uses DAX: /proc/mounts says so (xfstests checks for "dax").
        m.puts(c_str!(",dax"));
        if !sb.posix_acl() {
            m.puts(c_str!(",noacl"));
        }
        if sb.data().is_some_and(|mount| mount.norecovery) {
            m.puts(c_str!(",norecovery"));
        }
        Ok(())
    }

    fn sync_fs(sb: &SuperBlock, _wait: bool) -> Result {
        super_ops::sync_fs(sb)
    }

    fn freeze_fs(sb: &SuperBlock) -> Result {
        super_ops::freeze(sb)
    }

    fn put_super(sb: &SuperBlock) {
        super_ops::put_super(sb);
    }
}

impl DaxFileSystem for Ferrite {
    type Iomap = file::FileMap;

    fn dax_device(sb: &SuperBlock) -> Option<&DaxDevice> {
        sb.data().map(Mount::dax)
    }

    fn count_fault(sb: &SuperBlock, event: FaultEvent) {
        let Some(mount) = sb.data() else {
            return;
        };
        let c = match event {
            FaultEvent::Pte => Counter::PteFaults,
            FaultEvent::Pmd => Counter::PmdFaults,
            FaultEvent::PmdFallback => Counter::PmdFallbacks,
            FaultEvent::Mkwrite => Counter::MkwriteFaults,
            FaultEvent::MapSync => Counter::MapSyncFaults,
        };
        mount.stats.add(c, 1);
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
