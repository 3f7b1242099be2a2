// SPDX-License-Identifier: GPL-2.0

//! Recovery exactly as the kernel's mount does it (`fs/mount.rs`, `load`): the superblock read by
//! the shared `read_superblock` (from the journal when its in-place copy was torn) and checked
//! against the device size, the journal header decoded, [`journal_replay`], then a
//! header with `tail = head = report.end` and `checkpoint_seq = report.last_seq` (written when
//! anything was replayed or the tail moved), and the root inode checked. Any failure is what
//! mount would refuse the filesystem for.
//!
//! The replay runs on the image's overlay, and only once it succeeded are its blocks copied into
//! the image in place, with the old blocks kept so that [`undo`] gives the crash state back.

use ferrite_format::{
    inode_location, journal_replay, read_superblock, Block, BlockIo, DiskInode, DiskSuperblock,
    Error, JournalHeader, ReplayReport, Scratch, BLOCK_SIZE, INODE_SIZE, S_IFDIR, S_IFMT,
};
use ferrite_tools::image::Image;
use std::collections::HashMap;

const BS: u64 = BLOCK_SIZE as u64;

/// What recovery did.
#[derive(Clone, Debug)]
pub struct Recovered {
    /// The superblock mount decoded (before the replay).
    pub sb: DiskSuperblock,
    /// The replay's report.
    pub report: ReplayReport,
    /// Whether the journal header was rewritten.
    pub header_written: bool,
}

/// The blocks recovery changed in place, with their contents before: [`undo`] restores them.
pub type Undo = Vec<(u64, Box<Block>)>;

/// Recovers the in-memory image `img` as mount does. On success the recovered blocks are in the
/// image and their old contents in `undo`; on failure (what mount would refuse, as mount's
/// message) the image is unchanged. `img` must be an in-memory image ([`Image::from_vec`]).
pub fn recover(img: &mut Image, undo: &mut Undo) -> Result<Recovered, String> {
    img.overlay = None;
    img.layout = None;
    img.blocks = img.size / BS;
    let r = replay(img);
    let overlay = img.overlay.take();
    let rec = r?;
    let Some(mut overlay) = overlay else {
        return Ok(rec);
    };
    let mut blocks: Vec<u64> = overlay.keys().copied().collect();
    blocks.sort_unstable();
    let mem = img
        .memory_mut()
        .ok_or_else(|| "recovery: not an in-memory image".to_string())?;
    for blk in blocks {
        let Some(new) = overlay.remove(&blk) else {
            continue;
        };
        let at = (blk * BS) as usize;
        let dst = &mut mem[at..at + BLOCK_SIZE];
        let mut old = Box::new([0u8; BLOCK_SIZE]);
        old.copy_from_slice(dst);
        dst.copy_from_slice(&new[..]);
        undo.push((blk, old));
    }
    Ok(rec)
}

/// Gives back the blocks [`recover`] changed (and empties `undo`).
pub fn undo(img: &mut Image, undo: &mut Undo) {
    if let Some(mem) = img.memory_mut() {
        while let Some((blk, old)) = undo.pop() {
            let at = (blk * BS) as usize;
            mem[at..at + BLOCK_SIZE].copy_from_slice(&old[..]);
        }
    }
    undo.clear();
}

/// The steps of mount, with every write going to the overlay.
fn replay(img: &mut Image) -> Result<Recovered, String> {
    let dev_blocks = img.blocks;
    if dev_blocks == 0 {
        return Err("the device holds no block".into());
    }
    let mut buf: Box<Block> = Box::new([0; BLOCK_SIZE]);
    let io = |e: std::io::Error| format!("read error: {e}");
    let mut scratch = Box::new(Scratch::new());
    // As mount does: a superblock torn during its in-place update is taken from the journal.
    let (sb, _torn) = read_superblock(&*img, &mut buf, &mut scratch).map_err(|e| match e {
        Error::Corrupt(c) => format!("corrupt superblock: {c}"),
        e => format!("cannot read the superblock: {e}"),
    })?;
    if sb.layout.block_count > dev_blocks {
        return Err(format!(
            "the filesystem has {} blocks but the device only {dev_blocks}",
            sb.layout.block_count
        ));
    }
    img.blocks = sb.layout.block_count;
    img.read(sb.layout.journal_start, &mut buf).map_err(io)?;
    let header = JournalHeader::decode(&buf, &sb.layout)
        .map_err(|c| format!("corrupt journal header: {c}"))?;
    img.overlay = Some(HashMap::new());
    let report = journal_replay(img, &sb.layout, &header, &mut scratch).map_err(|e| match e {
        Error::Corrupt(c) => format!("corrupt journal: {c}"),
        e => format!("journal recovery failed: {e}"),
    })?;
    let header_written = report.transactions > 0 || report.end != header.tail;
    if header_written {
        // The next generation's slot; `buf` still holds the header block, so the slot in force
        // is written back unchanged.
        header
            .next(report.end, report.end, report.last_seq)
            .encode(&mut buf);
        img.write(sb.layout.journal_start, &buf)
            .map_err(|e| format!("journal header write: {e}"))?;
    }
    let (blk, off) = inode_location(&sb.layout, sb.root_ino)
        .map_err(|c| format!("bad root inode number: {c}"))?;
    img.read(blk, &mut buf).map_err(io)?;
    let root = DiskInode::decode(&buf[off..off + INODE_SIZE], sb.root_ino)
        .map_err(|c| format!("corrupt root inode: {c}"))?;
    if root.mode & S_IFMT != S_IFDIR {
        return Err(format!("the root inode {} is not a directory", sb.root_ino));
    }
    Ok(Recovered {
        sb,
        report,
        header_written,
    })
}
