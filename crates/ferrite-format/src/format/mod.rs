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
mod xattr;

// Each submodule's `pub` items are this module's API, re-exported whole: the kernel module and
// the tools each use a different part of it, and a list of names would be an unused import in
// one of them. What the submodules share only among themselves is `pub(crate)`.
pub use bitmap::*;
// The tree internals the tests check; the kernel module names none of them.
#[cfg(feature = "inspect")]
pub use btree::{TreeRoot, INTERNAL_CAP, MAX_TREE_DEPTH};
pub use bytes::copy_bytes;
pub use crc::*;
pub use dir::*;
pub use error::*;
pub use extent::*;
pub use inode::*;
pub use io::*;
pub use journal::*;
pub use recovery::*;
pub use superblock::*;
pub use xattr::*;

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
