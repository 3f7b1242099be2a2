// SPDX-License-Identifier: GPL-2.0

//! The B+tree machinery shared by extent trees and directory trees.
//!
//! A tree node is one block: a 32-byte header (magic, level, count, owner inode, used bytes), the
//! entries, and the block crc. Internal nodes (level ≥ 1) hold up to [`INTERNAL_CAP`] entries
//! `(key: u64, child: u64)` in increasing key order; the key of an entry is exactly the smallest
//! key of the child's subtree. Leaves (level 0) are defined by the tree kind. A node's level is
//! its height: leaves are 0, the root is `TreeRoot::depth`.
//!
//! Descent is iterative and remembers its path in a [`Path`] of at most [`MAX_TREE_DEPTH`]
//! levels; modifications work in the caller's [`Scratch`]. Every node is checked as it is read
//! (magic, crc, level, owner, count, key order, and that its first key is the key its parent
//! holds for it), so a corrupt or cyclic tree gives an error, never a loop or a panic.//!
//! This file holds the node layout and the checks of every node read; `walk.rs` the descents and
//! walks, `update.rs` the changes of internal nodes that follow a leaf's.

mod update;
mod walk;

pub(crate) use update::*;
pub(crate) use walk::*;

use super::bytes::{get_u16, get_u32, get_u64, put_u16, put_u32, put_u64};
use super::{block_crc_ok, Block, BlockIo, Corrupt, Error};

/// The most levels a tree may have above its leaves, plus one.
pub const MAX_TREE_DEPTH: usize = 8;
/// Entries of an internal node.
pub const INTERNAL_CAP: usize = 253;
/// Size of the node header.
pub(crate) const NODE_HDR: usize = 32;
/// End of the entry area (the crc follows).
pub(crate) const NODE_END: usize = super::BLOCK_CRC_OFF;

const O_MAGIC: usize = 0;
const O_LEVEL: usize = 4;
const O_COUNT: usize = 6;
const O_OWNER: usize = 8;
const O_USED: usize = 16;

/// Where a tree is: its root node and the root's level. `blk == 0` is the empty tree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TreeRoot {
    /// Root node block, or 0 for an empty tree.
    pub blk: u64,
    /// Level of the root node (0: the root is a leaf).
    pub depth: u16,
}

/// What a tree kind says about its leaves.
pub(crate) trait TreeKind {
    /// Magic of every node of this kind of tree.
    const MAGIC: u32;
    /// Checks a leaf's entries (the header's magic, crc, level and owner are already checked).
    fn check_leaf(buf: &Block, blk: u64) -> Result<(), Corrupt>;
    /// The smallest key of a (checked, non-empty) leaf.
    fn leaf_first_key(buf: &Block) -> u64;
    /// One past the largest key a (checked, non-empty) leaf covers: it must not exceed the
    /// separator its parent has for the next subtree.
    fn leaf_end(buf: &Block) -> u64;
}

/// The bound of a subtree with no separator to its right.
const NO_BOUND: u64 = u64::MAX;

/// The path of a descent: the internal nodes from the root down and the entry taken in each.
pub(crate) struct Path {
    /// Internal levels on the path (the root's level).
    pub depth: usize,
    /// Block of the internal node at each path position (0 = root).
    pub blk: [u64; MAX_TREE_DEPTH],
    /// Entry taken at each path position.
    pub idx: [usize; MAX_TREE_DEPTH],
    /// The leaf reached.
    pub leaf: u64,
    /// The smallest key right of the leaf (the next separator), if any.
    pub upper: Option<u64>,
    /// The smallest key right of the node at each path position (its subtree's keys are below
    /// it), or [`NO_BOUND`].
    pub bound: [u64; MAX_TREE_DEPTH],
}

impl Path {
    pub(crate) const fn new() -> Path {
        Path {
            depth: 0,
            blk: [0; MAX_TREE_DEPTH],
            idx: [0; MAX_TREE_DEPTH],
            leaf: 0,
            upper: None,
            bound: [NO_BOUND; MAX_TREE_DEPTH],
        }
    }
    fn bound_at(&self, d: usize) -> u64 {
        self.bound.get(d).copied().unwrap_or(NO_BOUND)
    }
    fn set_bound(&mut self, d: usize, bound: u64) {
        if let Some(b) = self.bound.get_mut(d) {
            *b = bound;
        }
    }
    fn blk_at(&self, d: usize) -> u64 {
        self.blk.get(d).copied().unwrap_or(0)
    }
    fn idx_at(&self, d: usize) -> usize {
        self.idx.get(d).copied().unwrap_or(0)
    }
    fn set(&mut self, d: usize, blk: u64, idx: usize) {
        if let Some(b) = self.blk.get_mut(d) {
            *b = blk;
        }
        if let Some(i) = self.idx.get_mut(d) {
            *i = idx;
        }
    }
}

pub(crate) fn node_init(buf: &mut Block, magic: u32, level: u16, owner: u64) {
    buf.fill(0);
    put_u32(buf, O_MAGIC, magic);
    put_u16(buf, O_LEVEL, level);
    put_u64(buf, O_OWNER, owner);
}
pub(crate) fn node_count(buf: &Block) -> usize {
    usize::from(get_u16(buf, O_COUNT))
}
pub(crate) fn set_node_count(buf: &mut Block, n: usize) {
    put_u16(buf, O_COUNT, u16::try_from(n).unwrap_or(u16::MAX));
}
pub(crate) fn node_used(buf: &Block) -> usize {
    usize::from(get_u16(buf, O_USED))
}
pub(crate) fn set_node_used(buf: &mut Block, n: usize) {
    put_u16(buf, O_USED, u16::try_from(n).unwrap_or(u16::MAX));
}
pub(crate) fn node_level(buf: &Block) -> u16 {
    get_u16(buf, O_LEVEL)
}
pub(crate) fn node_owner(buf: &Block) -> u64 {
    get_u64(buf, O_OWNER)
}

fn ioff(i: usize) -> usize {
    i.saturating_mul(16).saturating_add(NODE_HDR)
}
pub(crate) fn ikey(buf: &Block, i: usize) -> u64 {
    get_u64(buf, ioff(i))
}
pub(crate) fn ichild(buf: &Block, i: usize) -> u64 {
    get_u64(buf, ioff(i).saturating_add(8))
}
pub(crate) fn iset(buf: &mut Block, i: usize, key: u64, child: u64) {
    put_u64(buf, ioff(i), key);
    put_u64(buf, ioff(i).saturating_add(8), child);
}

/// Moves 16-byte entries `from..to` of a node by one slot right (`right`) or left.
pub(crate) fn shift16(buf: &mut Block, from: usize, to: usize, right: bool) {
    if from >= to {
        return;
    }
    let (s, e) = (ioff(from), ioff(to));
    if right {
        if e.saturating_add(16) <= NODE_END {
            buf.copy_within(s..e, s.saturating_add(16));
        }
    } else if s >= NODE_HDR.saturating_add(16) && e <= NODE_END {
        buf.copy_within(s..e, s.saturating_sub(16));
    }
}

/// Checks a block number read from the media before it is used.
pub(crate) fn check_blk<I: BlockIo>(io: &I, blk: u64) -> Result<(), Corrupt> {
    if blk == 0 || blk >= io.block_count() {
        return Err(Corrupt::BlockOutOfRange(blk));
    }
    Ok(())
}

pub(crate) fn alloc<I: BlockIo>(io: &mut I, hint: u64) -> Result<u64, Error<I::Error>> {
    match io.alloc_meta_block(hint).map_err(Error::Io)? {
        Some(b) => Ok(b),
        None => Err(Error::NoSpace),
    }
}

/// Reads node `blk` into `buf` and checks it is a valid node of kind `K` at `level` of `owner`.
pub(crate) fn read_node<I: BlockIo, K: TreeKind>(
    io: &I,
    blk: u64,
    level: u16,
    owner: u64,
    buf: &mut Block,
) -> Result<(), Error<I::Error>> {
    check_blk(io, blk)?;
    io.read(blk, buf).map_err(Error::Io)?;
    check_node::<K>(buf, blk, level, owner)?;
    Ok(())
}

/// Checks a node already in `buf`.
pub(crate) fn check_node<K: TreeKind>(
    buf: &Block,
    blk: u64,
    level: u16,
    owner: u64,
) -> Result<(), Corrupt> {
    if get_u32(buf, O_MAGIC) != K::MAGIC {
        return Err(Corrupt::BadTreeNodeMagic(blk));
    }
    if !block_crc_ok(buf) {
        return Err(Corrupt::BadTreeNodeCrc(blk));
    }
    if node_level(buf) != level {
        return Err(Corrupt::BadTreeNodeLevel(blk));
    }
    if node_owner(buf) != owner {
        return Err(Corrupt::BadTreeNodeOwner(blk));
    }
    if level == 0 {
        return K::check_leaf(buf, blk);
    }
    let n = node_count(buf);
    if n == 0 || n > INTERNAL_CAP {
        return Err(Corrupt::BadTreeNodeCount(blk));
    }
    for i in 1..n {
        if ikey(buf, i) <= ikey(buf, i.saturating_sub(1)) {
            return Err(Corrupt::KeysOutOfOrder(blk));
        }
    }
    Ok(())
}

/// The entry to follow in an internal node for `key`: the last one whose key is ≤ `key`, or the
/// first.
fn search_internal(buf: &Block, key: u64) -> usize {
    let n = node_count(buf);
    let (mut lo, mut hi) = (0usize, n);
    // Invariant: entries below `lo` have keys ≤ key; entries from `hi` have keys > key.
    while lo < hi {
        let mid = lo.saturating_add(hi.saturating_sub(lo) / 2);
        if ikey(buf, mid) <= key {
            lo = mid.saturating_add(1);
        } else {
            hi = mid;
        }
    }
    lo.saturating_sub(1)
}

fn first_key_of<K: TreeKind>(buf: &Block) -> u64 {
    if node_level(buf) == 0 {
        K::leaf_first_key(buf)
    } else {
        ikey(buf, 0)
    }
}

/// Checks that the keys of the (checked) node `blk` in `buf` lie below `bound`, the separator
/// its parent has for the next subtree: subtrees whose key ranges overlap would let a lookup
/// and an iteration see different entries, and extents of two leaves overlap.
fn check_bound<K: TreeKind>(buf: &Block, blk: u64, bound: u64) -> Result<(), Corrupt> {
    let ok = if node_level(buf) == 0 {
        K::leaf_end(buf) <= bound
    } else {
        ikey(buf, node_count(buf).saturating_sub(1)) < bound
    };
    if ok {
        Ok(())
    } else {
        Err(Corrupt::BadTreeKey(blk))
    }
}

/// The bound of child `idx` of the internal node in `buf`, whose own bound is `bound`.
fn child_bound(buf: &Block, idx: usize, bound: u64) -> u64 {
    if idx.saturating_add(1) < node_count(buf) {
        ikey(buf, idx.saturating_add(1))
    } else {
        bound
    }
}
