// SPDX-License-Identifier: GPL-2.0

//! ferrite's on-media format, version 1.
//!
//! This module is compiled into both the kernel module (as `format`, by `#[path]`) and the
//! userspace crate `ferrite-format`, so mkfs, fsck and the kernel can never disagree about the
//! format. It uses `core` only: no `alloc`, no `unsafe`, no panics on any input. Every value read
//! from the media is validated before use and every failure has its own [`Corrupt`] variant.
//! `docs/FORMAT.md` is the specification; this code is its implementation.
//!
//! Stack use: no function here puts a 4 KiB block on its own stack. Tree and journal operations
//! work in a caller-provided [`Scratch`] (two blocks), descend iteratively and keep their path in
//! a bounded array of [`MAX_TREE_DEPTH`] entries.

// Each user (the kernel module, the tools) takes a different part of this API, and in the kernel
// the module is private to the module crate.
#![allow(unused_imports, unreachable_pub, dead_code)]

mod bitmap;
mod btree;
mod bytes;
mod crc;
mod dir;
mod error;
mod extent;
mod inode;
mod io;
mod journal;
mod recovery;
mod superblock;

pub use bitmap::{
    bitmap_block_check, bitmap_block_init, bitmap_frees, bitmap_get, bitmap_seal, bitmap_set,
    AllocPolicy, Bitmap, BitmapKind, BITMAP_BYTES, BITS_PER_BITMAP_BLOCK,
};
pub use btree::{TreeRoot, INTERNAL_CAP, MAX_TREE_DEPTH};
pub use bytes::copy_bytes;
pub use crc::{crc32c, crc32c_update, siphash24};
pub use dir::{
    dir_check_name, dir_hash, dir_insert, dir_iter, dir_key_matches, dir_lookup, dir_remove,
    dir_tree_nodes, DirEntry, DirRoot, COOKIE_DOT, COOKIE_DOTDOT, COOKIE_END, COOKIE_START,
    DIR_LEAF_BYTES,
};
pub use error::{Corrupt, Error};
pub use extent::{
    extent_insert, extent_iter, extent_lookup, extent_remove_one, extent_remove_range,
    extent_tree_nodes, is_extent_node, Extent, ExtentLookup, ExtentRoot, FreedFn,
    EXTENT_INLINE_CAP, EXTENT_LEAF_CAP, EXTENT_MAX_LEN,
};
pub use inode::{
    file_type, inode_field_offset, inode_location, Inode, InodeData, Timespec, FT_BLK, FT_CHR,
    FT_DIR, FT_FIFO, FT_LNK, FT_REG, FT_SOCK, INLINE_DATA_MAX, INODES_PER_BLOCK, INODE_FLAG_INLINE,
    INODE_SIZE, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK,
};
pub use io::{Block, BlockIo, Scratch};
pub use journal::{
    changed_range, journal_replay, JournalHeader, JournalWriter, ReplayReport, JH_SLOT, JREC_HDR,
    JREC_MAX_PAYLOAD, JREC_MERGE_GAP,
};
pub use recovery::read_superblock;
pub use superblock::{
    superblock_field_offset, Layout, LayoutError, MountMode, Superblock, COMPAT_SUPPORTED,
    INCOMPAT_SUPPORTED, LABEL_MAX, MAGIC, MAX_BLOCKS, MIN_BLOCKS, RO_COMPAT_SUPPORTED, STATE_CLEAN,
    STATE_ERROR, VERSION,
};

/// Block size: 4 KiB, the page size, so that DAX can map any block.
pub const BLOCK_SIZE: usize = 4096;
/// `log2(BLOCK_SIZE)`.
pub const BLOCK_SHIFT: u32 = 12;
/// Blocks in a 2 MiB huge page (a PMD mapping).
pub const HUGE_BLOCKS: u64 = 512;
/// Offset of the crc32c in every checksummed metadata block: it covers bytes `0..4092`.
pub const BLOCK_CRC_OFF: usize = 4092;
/// The longest name of a directory entry, in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// File offsets are block numbers below this bound (32-bit logical block keys).
pub const MAX_FILE_BLOCKS: u64 = 1 << 32;
/// The largest file size in bytes (16 TiB); beyond it, `EFBIG`.
pub const MAX_FILE_SIZE: u64 = MAX_FILE_BLOCKS << BLOCK_SHIFT;
/// Inode number 0 is never used (readdir treats it as a deleted entry).
pub const INO_NONE: u64 = 0;
/// The root directory's inode number (also recorded in the superblock).
pub const ROOT_INO: u64 = 1;

/// Computes the crc32c of a metadata block (bytes `0..4092`).
pub fn block_crc(buf: &Block) -> u32 {
    crc32c(buf.get(..BLOCK_CRC_OFF).unwrap_or(&[]))
}

/// Stores the crc32c of a metadata block in its last four bytes.
pub fn block_seal(buf: &mut Block) {
    let c = block_crc(buf);
    bytes::put_u32(buf, BLOCK_CRC_OFF, c);
}

/// Whether a metadata block's stored crc32c matches its contents.
pub fn block_crc_ok(buf: &Block) -> bool {
    bytes::get_u32(buf, BLOCK_CRC_OFF) == block_crc(buf)
}
