// SPDX-License-Identifier: GPL-2.0

//! readdir.
//!
//! Positions are the entries' keys (name hash and collision index): they stay valid while
//! entries are added and removed. Entries are read in batches under the metadata lock and handed
//! to the VFS after it is dropped, since copying to user memory may fault.

use super::format::{dir_iter, dir_key_matches, Corrupt, DirEntry, InodeData, COOKIE_END};
use super::inode::mount_of;
use super::{Ferrite, File};
use crate::kvec::VecExt;
use crate::vfs::{DirContext, FileOperations};
use kernel::prelude::*;

/// The file operations of directories.
pub(crate) struct DirFile;

#[vtable]
impl FileOperations for DirFile {
    type FileSystem = Ferrite;

    /// Positions are readdir cookies (63-bit hash keys), so any non-negative `loff_t` is a valid
    /// position (the file size limit does not apply).
    fn llseek(file: &File, off: i64, whence: u32) -> Result<i64> {
        file.llseek_size(off, whence, i64::MAX, i64::MAX)
    }

    fn iterate_shared(file: &File, ctx: &DirContext) -> Result {
        readdir(file, ctx)
    }

    fn fsync(file: &File, start: i64, end: i64, datasync: bool) -> Result {
        super::file::fsync(file, start, end, datasync)
    }

    fn ioctl(file: &File, cmd: u32, arg: crate::vfs::file::IoctlArg) -> Result<i64> {
        super::ioctl::ioctl(file, cmd, arg)
    }
}

/// Entries read per batch.
const BATCH: usize = 32;

/// `iterate_shared`.
fn readdir(file: &File, ctx: &DirContext) -> Result {
    if !ctx.emit_dots(file) {
        return Ok(());
    }
    let dir = file.inode();
    let mount = mount_of(dir.super_block())?;
    let ino = dir.ino();
    let mut batch: KVec<DirEntry> = KVec::with_capacity(BATCH, GFP_KERNEL)?;
    loop {
        let Ok(pos) = u64::try_from(ctx.pos()) else {
            return Ok(());
        };
        if pos >= COOKIE_END {
            return Ok(());
        }
        batch.clear();
        let next = mount.tx(|c| {
            let rec = c.read_inode(ino)?;
            let InodeData::Dir(root) = rec.data else {
                return Err(super::format::Error::Invalid);
            };
            let seed = c.sb.hash_seed;
            let mut bad = false;
            let next = dir_iter(&*c.io, ino, &root, pos, &mut c.scratch.a, &mut |e| {
                bad |= !dir_key_matches(&seed, e);
                !bad && batch.len() < BATCH && batch.push(*e, GFP_NOWAIT).is_ok()
            })?;
            if bad {
                return Err(Corrupt::DirKeyNotHash(ino).into());
            }
            Ok(next)
        })?;
        for e in batch.iter() {
            ctx.set_pos(i64::try_from(e.key).map_err(|_| EINVAL)?);
            if !ctx.emit(e.name(), e.ino, e.ftype) {
                return Ok(());
            }
        }
        if next >= COOKIE_END {
            ctx.set_pos(COOKIE_END as i64);
            return Ok(());
        }
        if next <= pos {
            // Keys out of order in the tree: a position that does not advance would repeat
            // forever.
            pr_err!(
                "{}: corrupt metadata: directory {}: readdir does not advance past {}\n",
                dir.super_block().id(),
                ino,
                pos
            );
            return Err(crate::errno::euclean());
        }
        ctx.set_pos(i64::try_from(next).map_err(|_| EINVAL)?);
    }
}
