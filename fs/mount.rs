// SPDX-License-Identifier: GPL-2.0

//! Mount-time reading: the superblock, journal recovery, the root inode.

use super::format::{
    self, inode_location, journal_replay, read_superblock, Block, BlockIo, DiskInode,
    DiskSuperblock, JournalHeader, MountMode, ReplayReport, BLOCK_SIZE, INODE_SIZE, S_IFDIR,
    S_IFMT,
};
use super::mem;
use super::pmem_io::MountIo;
use crate::errno;
use crate::pmem::{self, Pmem};
use crate::vfs::FsContext;
use kernel::fmt;
use kernel::prelude::*;

/// Converts an error of the format code into an errno.
pub(crate) fn to_errno(e: format::Error<Error>) -> Error {
    match e {
        format::Error::Corrupt(_) => errno::euclean(),
        format::Error::NoSpace => ENOSPC,
        format::Error::NotFound => ENOENT,
        format::Error::Exists => EEXIST,
        format::Error::NameTooLong => errno::enametoolong(),
        format::Error::FileTooBig => EFBIG,
        format::Error::Invalid => EINVAL,
        format::Error::NotEmpty => errno::enotempty(),
        format::Error::Io(e) => e,
    }
}

/// What mount learned from the device.
pub(crate) struct MountState {
    pub(crate) sb: DiskSuperblock,
    /// The journal header after recovery: an empty log.
    pub(crate) journal: JournalHeader,
    /// The filesystem must stay read-only (an unknown read-only-compatible feature).
    pub(crate) force_ro: bool,
}

/// The block size, as a `u64`.
const BS: u64 = BLOCK_SIZE as u64;

/// Reads and validates the superblock, replays the journal and checks the root inode. Every
/// failure is reported against `fc`; corruption gives `EUCLEAN`. On a read-only device
/// (`device_ro`) nothing is written: a journal with transactions to replay fails the mount with
/// `EROFS`, as ext4's and XFS's do. With `norecovery` (a read-only mount) nothing is written
/// either, and the transactions are left in the journal: the filesystem is what its blocks hold,
/// which may be older than the last transactions, or half of one.
pub(crate) fn load(
    pmem: &Pmem,
    fc: &FsContext,
    device_ro: bool,
    norecovery: bool,
) -> Result<MountState> {
    let mut buf: KBox<Block> = mem::zeroed_box()?;
    let mut scratch = mem::scratch()?;
    let dev_blocks = pmem.len() / BS;
    // A superblock torn by a crash during its in-place update is taken from the journal.
    let (sb, torn) = read_superblock(&MountIo::new(pmem, dev_blocks), &mut buf, &mut scratch)
        .map_err(|e| {
            match &e {
                format::Error::Corrupt(c) => fc.error_fmt(fmt!("corrupt superblock: {c}")),
                _ => fc.error(kernel::c_str!("cannot read the superblock")),
            }
            to_errno(e)
        })?;
    if torn {
        pr_info!("the superblock's last update is in the journal: taken from there\n");
    }
    if sb.layout.block_count > dev_blocks {
        fc.error_fmt(fmt!(
            "the filesystem has {} blocks but the device only {}",
            sb.layout.block_count,
            dev_blocks
        ));
        return Err(errno::euclean());
    }

    // Journal recovery: apply every complete transaction, then start the log afresh.
    let writable = !device_ro && !norecovery;
    let mut io = MountIo::with_writes(pmem, sb.layout.block_count, writable);
    io.read(sb.layout.journal_start, &mut buf)?;
    let header = JournalHeader::decode(&buf, &sb.layout).map_err(|c| {
        fc.error_fmt(fmt!("corrupt journal header: {c}"));
        errno::euclean()
    })?;
    // Every write of the replay goes through `io`, which on a read-only device (or without
    // recovery) refuses it: the first transaction to apply stops the replay, and nothing is
    // changed.
    let report = match journal_replay(&mut io, &sb.layout, &header, &mut scratch) {
        Ok(report) => report,
        Err(format::Error::Io(e)) if norecovery && e == EROFS => {
            pr_warn!(
                "norecovery: the journal has transactions that were not replayed; the filesystem may look older than it is, or inconsistent\n"
            );
            ReplayReport::default()
        }
        Err(e) => {
            match &e {
                format::Error::Corrupt(c) => fc.error_fmt(fmt!("corrupt journal: {c}")),
                format::Error::Io(e) if device_ro && *e == EROFS => fc.error(kernel::c_str!(
                    "the journal needs recovery, and the device is read-only (norecovery skips it)"
                )),
                _ => fc.error(kernel::c_str!("journal recovery failed")),
            }
            return Err(to_errno(e));
        }
    };
    let mut journal = header;
    let mut sb = sb;
    if report.transactions > 0 {
        // A replayed transaction may have rewritten the superblock (label, state, free counts):
        // the mount goes on with what is there now, which must be valid and of the same layout.
        io.read(0, &mut buf)?;
        let replayed = DiskSuperblock::decode(&buf).map_err(|c| {
            fc.error_fmt(fmt!("corrupt superblock after journal replay: {c}"));
            errno::euclean()
        })?;
        if replayed.layout != sb.layout {
            fc.error(kernel::c_str!(
                "the superblock after journal replay has another layout"
            ));
            return Err(errno::euclean());
        }
        sb = replayed;
    }
    // (Past a torn tail with nothing to replay, a read-only device keeps its header: the log is
    // started afresh by the first writable mount.)
    if writable && (report.transactions > 0 || report.end != header.tail) {
        // The replayed blocks are durable before the header that says they are in place; the
        // header goes to the slot of its generation, leaving the one in force intact.
        pmem::fence();
        journal = header.next(report.end, report.end, report.last_seq);
        let range = journal.encode(&mut buf);
        let slot = buf.get(range.clone()).ok_or(EINVAL)?;
        io.write_part(sb.layout.journal_start, range.start, slot, &mut scratch.a)?;
        pmem::fence();
        pr_info!(
            "recovered {} journal transactions ({} records)\n",
            report.transactions,
            report.records
        );
    }

    let (blk, off) = inode_location(&sb.layout, sb.root_ino).map_err(|c| {
        fc.error_fmt(fmt!("bad root inode number: {c}"));
        errno::euclean()
    })?;
    io.read(blk, &mut buf)?;
    let rec = buf
        .get(off..off.checked_add(INODE_SIZE).ok_or(EINVAL)?)
        .ok_or(EINVAL)?;
    let root = DiskInode::decode(rec, sb.root_ino).map_err(|c| {
        fc.error_fmt(fmt!("corrupt root inode: {c}"));
        errno::euclean()
    })?;
    if root.mode & S_IFMT != S_IFDIR {
        fc.error_fmt(fmt!("the root inode {} is not a directory", sb.root_ino));
        return Err(errno::euclean());
    }
    Ok(MountState {
        force_ro: sb.mount_mode() == MountMode::ReadOnly,
        sb,
        journal,
    })
}
