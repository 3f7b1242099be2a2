// SPDX-License-Identifier: GPL-2.0

//! Super block operations: statfs, sync.

use super::format::{BlockIo, DiskSuperblock, BLOCK_SIZE, MAX_NAME_LEN, STATE_CLEAN};
use super::inode::mount_of;
use super::SuperBlock;
use crate::pmem;
use crate::vfs::{Kstatfs, StatfsValues};
use kernel::prelude::*;

/// ferrite's `f_type` in statfs ("FERR").
pub(crate) const FERRITE_MAGIC: u64 = 0x4645_5252;

/// `statfs`: counts from the bitmaps.
pub(crate) fn statfs(sb: &SuperBlock, buf: &Kstatfs) -> Result {
    let mount = mount_of(sb)?;
    let (free_blocks, free_inodes) = mount.tx(|ctx| ctx.free_counts())?;
    let l = &mount.sb.layout;
    let uuid = mount.sb.uuid;
    let mut fsid = 0u64;
    for (i, b) in uuid.iter().enumerate() {
        fsid ^= u64::from(*b).rotate_left(((i % 8) as u32).saturating_mul(8));
    }
    buf.set(&StatfsValues {
        magic: FERRITE_MAGIC,
        bsize: BLOCK_SIZE as u64,
        blocks: l.block_count.saturating_sub(l.data_start),
        bfree: free_blocks,
        files: l.inode_count.saturating_sub(1),
        ffree: free_inodes,
        fsid,
        namelen: MAX_NAME_LEN as u64,
    });
    Ok(())
}

/// `sync_fs`: metadata is durable already; order any data written with non-temporal stores.
pub(crate) fn sync_fs(_sb: &SuperBlock) -> Result {
    pmem::fence();
    Ok(())
}

/// Marks the filesystem in use (clean = false: free counts become hints, `fsck` checks them as
/// such) or cleanly unmounted (clean = true: the exact free counts are written), in one
/// transaction.
pub(crate) fn set_clean(sb: &SuperBlock, clean: bool) -> Result {
    let mount = mount_of(sb)?;
    let now_s = crate::sys::real_seconds();
    let r = mount.tx(|ctx| {
        let counts = if clean {
            Some(ctx.free_counts()?)
        } else {
            None
        };
        ctx.io
            .read(0, &mut ctx.scratch.a)
            .map_err(super::format::Error::Io)?;
        let mut s = DiskSuperblock::decode(&ctx.scratch.a)?;
        if let Some((blocks, inodes)) = counts {
            s.free_blocks = blocks;
            s.free_inodes = inodes;
            s.state |= STATE_CLEAN;
        } else {
            s.state &= !STATE_CLEAN;
            s.mount_count = s.mount_count.wrapping_add(1);
        }
        s.write_time = u64::try_from(now_s).unwrap_or(s.write_time);
        s.encode(&mut ctx.scratch.b);
        ctx.io
            .write(0, &ctx.scratch.b)
            .map_err(super::format::Error::Io)
    });
    r?;
    if clean {
        mount.checkpoint()?;
    }
    Ok(())
}

/// `freeze_fs`: the journal emptied (every transaction is in place), so that a copy of the
/// frozen device needs no replay. The filesystem stays marked in use: files unlinked while open
/// are still allocated, and the next mount of a copy frees them as orphans.
pub(crate) fn freeze(sb: &SuperBlock) -> Result {
    if sb.read_only() {
        return Ok(());
    }
    mount_of(sb)?.checkpoint()
}

/// `put_super`: a read-write filesystem is marked clean, with exact free counts.
pub(crate) fn put_super(sb: &SuperBlock) {
    // Shut down: left as a crash leaves it, for the next mount to recover.
    if sb.read_only() || mount_of(sb).is_ok_and(|m| m.check_up().is_err()) {
        return;
    }
    if let Err(e) = set_clean(sb, true) {
        pr_warn!(
            "{}: cannot mark the filesystem clean: error {}\n",
            sb.id(),
            e.to_errno()
        );
    }
}
