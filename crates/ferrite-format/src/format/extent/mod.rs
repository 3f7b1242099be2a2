// SPDX-License-Identifier: GPL-2.0

//! Per-file extent maps: up to [`EXTENT_INLINE_CAP`] extents inline in the inode, then a B+tree
//! keyed by logical block.
//!
//! An extent maps `len` logical blocks from `logical` to physical blocks from `physical`. On the
//! media an extent is 16 bytes: `logical: u32, len: u32, physical: u64`, so file offsets are below
//! [`MAX_FILE_BLOCKS`](super::MAX_FILE_BLOCKS) blocks (16 TiB). Extents of a file never overlap;
//! adjacent extents that are also physically contiguous are merged when they meet in one leaf.
//! Nothing limits alignment: the allocator gives files past 2 MiB 512-block aligned physical
//! runs, and an extent that covers a whole aligned 2 MiB logical range with an aligned physical
//! start can be mapped with a PMD.
//!
//! This file holds the encoding and the leaf access the parts share; reading the map is in
//! `lookup.rs`, changing it in `update.rs`.

mod lookup;
mod update;

pub use lookup::*;
pub use update::*;

use super::btree::{
    descend, node_count, node_init, set_node_count, Path, TreeKind, TreeRoot, MAX_TREE_DEPTH,
    NODE_HDR,
};
use super::bytes::{get_u16, get_u32, get_u64, put_u16, put_u32, put_u64};
use super::{block_seal, Block, BlockIo, Corrupt, Error, MAX_FILE_BLOCKS};

/// Extents held in the inode itself.
pub const EXTENT_INLINE_CAP: usize = 7;
/// Extents in a leaf block.
pub const EXTENT_LEAF_CAP: usize = 253;
/// The longest extent, in blocks.
pub const EXTENT_MAX_LEN: u64 = u32::MAX as u64;

const EXTENT_MAGIC: u32 = u32::from_le_bytes(*b"FXTN");

/// A mapping of `len` blocks from file block `logical` to device block `physical`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extent {
    /// First file block.
    pub logical: u64,
    /// First device block.
    pub physical: u64,
    /// Blocks.
    pub len: u64,
}

impl Extent {
    /// One past the last file block.
    pub fn end(&self) -> u64 {
        self.logical.saturating_add(self.len)
    }

    /// Whether the extent is well-formed: non-empty, below the maximum file size, not at block 0.
    pub fn is_valid(&self) -> bool {
        self.len > 0
            && self.len <= EXTENT_MAX_LEN
            && self
                .logical
                .checked_add(self.len)
                .is_some_and(|e| e <= MAX_FILE_BLOCKS)
            && self.physical != 0
            && self.physical.checked_add(self.len).is_some()
    }
}

/// Result of [`extent_lookup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtentLookup {
    /// The block is mapped by this extent.
    Mapped(Extent),
    /// The block is in a hole that ends before file block `end` (the next extent's start, or
    /// [`MAX_FILE_BLOCKS`](super::MAX_FILE_BLOCKS)).
    Hole {
        /// First mapped block after the hole.
        end: u64,
    },
}

/// The root of a file's extent map, kept in the inode.
///
/// # Invariants
///
/// Either `tree.blk == 0` and the first `count` entries of `inline` are the extents, sorted and
/// non-overlapping; or `tree.blk != 0`, `count == 0`, and the tree holds the extents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtentRoot {
    /// The tree, or `blk == 0` when the extents are inline.
    pub tree: TreeRoot,
    /// Inline extents in use.
    pub count: u16,
    /// Inline extents.
    pub inline: [Extent; EXTENT_INLINE_CAP],
}

fn xoff(i: usize) -> usize {
    i.saturating_mul(16).saturating_add(NODE_HDR)
}
fn xget(buf: &[u8], i: usize) -> Extent {
    xget_at(buf, xoff(i))
}
fn xget_at(buf: &[u8], o: usize) -> Extent {
    Extent {
        logical: u64::from(get_u32(buf, o)),
        len: u64::from(get_u32(buf, o.saturating_add(4))),
        physical: get_u64(buf, o.saturating_add(8)),
    }
}
fn xput(buf: &mut [u8], i: usize, e: &Extent) {
    xput_at(buf, xoff(i), e);
}
fn xput_at(buf: &mut [u8], o: usize, e: &Extent) {
    put_u32(buf, o, u32::try_from(e.logical).unwrap_or(u32::MAX));
    put_u32(buf, o.saturating_add(4), u32::try_from(e.len).unwrap_or(0));
    put_u64(buf, o.saturating_add(8), e.physical);
}

/// Inline extents sit at inode data area offset 16 + 16 i, in the same 16-byte form as in leaves.
fn inline_off(i: usize) -> usize {
    i.saturating_mul(16).saturating_add(16)
}

impl ExtentRoot {
    /// An empty map.
    pub fn new() -> ExtentRoot {
        ExtentRoot::default()
    }

    /// Parses the inode data area of inode `ino`.
    pub fn decode(area: &[u8], ino: u64) -> Result<ExtentRoot, Corrupt> {
        let bad = Corrupt::BadExtentRoot(ino);
        let blk = get_u64(area, 0);
        let depth = get_u16(area, 8);
        let count = get_u16(area, 10);
        let mut r = ExtentRoot {
            tree: TreeRoot { blk, depth },
            count,
            inline: [Extent::default(); EXTENT_INLINE_CAP],
        };
        if blk != 0 {
            if count != 0 || usize::from(depth) >= MAX_TREE_DEPTH {
                return Err(bad);
            }
            return Ok(r);
        }
        if depth != 0 || usize::from(count) > EXTENT_INLINE_CAP {
            return Err(bad);
        }
        let mut prev_end = 0u64;
        for (i, slot) in r.inline.iter_mut().enumerate().take(usize::from(count)) {
            let e = xget_at(area, inline_off(i));
            if !e.is_valid() || e.logical < prev_end {
                return Err(bad);
            }
            prev_end = e.end();
            *slot = e;
        }
        Ok(r)
    }

    /// Serializes into the inode data area (the mirror of [`decode`](Self::decode)).
    pub fn encode(&self, area: &mut [u8]) {
        area.fill(0);
        put_u64(area, 0, self.tree.blk);
        put_u16(area, 8, self.tree.depth);
        put_u16(area, 10, self.count);
        if self.tree.blk == 0 {
            for (i, e) in self.inline.iter().enumerate().take(usize::from(self.count)) {
                xput_at(area, inline_off(i), e);
            }
        }
    }
}

struct ExtentKind;

impl TreeKind for ExtentKind {
    const MAGIC: u32 = EXTENT_MAGIC;

    fn check_leaf(buf: &Block, blk: u64) -> Result<(), Corrupt> {
        let n = node_count(buf);
        if n == 0 || n > EXTENT_LEAF_CAP {
            return Err(Corrupt::BadTreeNodeCount(blk));
        }
        let mut prev: Option<Extent> = None;
        for i in 0..n {
            let e = xget(buf, i);
            if !e.is_valid() {
                return Err(Corrupt::BadExtent(blk));
            }
            if let Some(p) = prev {
                if e.logical <= p.logical {
                    return Err(Corrupt::KeysOutOfOrder(blk));
                }
                if e.logical < p.end() {
                    return Err(Corrupt::BadExtent(blk));
                }
            }
            prev = Some(e);
        }
        Ok(())
    }

    fn leaf_first_key(buf: &Block) -> u64 {
        xget(buf, 0).logical
    }

    fn leaf_end(buf: &Block) -> u64 {
        xget(buf, node_count(buf).saturating_sub(1)).end()
    }
}

/// Where the extents of the operation are: the inline root copied into a leaf-shaped buffer, or a
/// real leaf with its path.
struct Loaded {
    inline: bool,
    cap: usize,
}

/// Loads the leaf for `key` into `buf`: a real leaf (by descent) or the inline extents laid out
/// as a leaf.
fn load<I: BlockIo>(
    io: &I,
    owner: u64,
    root: &ExtentRoot,
    key: u64,
    path: &mut Path,
    buf: &mut Block,
) -> Result<Loaded, Error<I::Error>> {
    if root.tree.blk == 0 {
        node_init(buf, EXTENT_MAGIC, 0, owner);
        let n = usize::from(root.count).min(EXTENT_INLINE_CAP);
        for (i, e) in root.inline.iter().enumerate().take(n) {
            xput(buf, i, e);
        }
        set_node_count(buf, n);
        path.depth = 0;
        path.leaf = 0;
        path.upper = None;
        return Ok(Loaded {
            inline: true,
            cap: EXTENT_INLINE_CAP,
        });
    }
    descend::<I, ExtentKind>(io, &root.tree, owner, key, path, buf)?;
    Ok(Loaded {
        inline: false,
        cap: EXTENT_LEAF_CAP,
    })
}

/// Writes back what [`load`] loaded: the inline root, or the leaf block.
fn store<I: BlockIo>(
    io: &mut I,
    root: &mut ExtentRoot,
    l: &Loaded,
    path: &Path,
    buf: &mut Block,
) -> Result<(), Error<I::Error>> {
    if l.inline {
        let n = node_count(buf).min(EXTENT_INLINE_CAP);
        root.inline = [Extent::default(); EXTENT_INLINE_CAP];
        for (i, slot) in root.inline.iter_mut().enumerate().take(n) {
            *slot = xget(buf, i);
        }
        root.count = u16::try_from(n).unwrap_or(0);
        return Ok(());
    }
    block_seal(buf);
    io.write(path.leaf, buf).map_err(Error::Io)
}

/// Index of the last extent of the leaf in `buf` starting at or before `lblk`.
fn leaf_find(buf: &Block, lblk: u64) -> Option<usize> {
    let n = node_count(buf);
    let (mut lo, mut hi) = (0usize, n);
    while lo < hi {
        let mid = lo.saturating_add(hi.saturating_sub(lo) / 2);
        if xget(buf, mid).logical <= lblk {
            lo = mid.saturating_add(1);
        } else {
            hi = mid;
        }
    }
    lo.checked_sub(1)
}
