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
//! holds for it), so a corrupt or cyclic tree gives an error, never a loop or a panic.

use super::bytes::{get_u16, get_u32, get_u64, put_u16, put_u32, put_u64};
use super::{block_crc_ok, block_seal, Block, BlockIo, Corrupt, Error, Scratch};

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

/// Descends from `root` to the leaf for `key`, leaving the leaf in `buf` and the way in `path`.
pub(crate) fn descend<I: BlockIo, K: TreeKind>(
    io: &I,
    root: &TreeRoot,
    owner: u64,
    key: u64,
    path: &mut Path,
    buf: &mut Block,
) -> Result<(), Error<I::Error>> {
    let depth = usize::from(root.depth);
    if depth >= MAX_TREE_DEPTH {
        return Err(Corrupt::TreeTooDeep.into());
    }
    path.depth = depth;
    path.upper = None;
    let mut blk = root.blk;
    let mut expect: Option<u64> = None;
    let mut bound = NO_BOUND;
    for d in 0..depth {
        let level = u16::try_from(depth.saturating_sub(d)).unwrap_or(0);
        read_node::<I, K>(io, blk, level, owner, buf)?;
        if expect.is_some_and(|m| m != ikey(buf, 0)) {
            return Err(Corrupt::BadTreeKey(blk).into());
        }
        check_bound::<K>(buf, blk, bound)?;
        let idx = search_internal(buf, key);
        path.set(d, blk, idx);
        path.set_bound(d, bound);
        bound = child_bound(buf, idx, bound);
        expect = Some(ikey(buf, idx));
        blk = ichild(buf, idx);
    }
    read_node::<I, K>(io, blk, 0, owner, buf)?;
    if expect.is_some_and(|m| m != K::leaf_first_key(buf)) {
        return Err(Corrupt::BadTreeKey(blk).into());
    }
    check_bound::<K>(buf, blk, bound)?;
    path.set_bound(depth, bound);
    path.upper = (bound != NO_BOUND).then_some(bound);
    path.leaf = blk;
    Ok(())
}

/// Moves `path` to the next leaf (left in `buf`). `false`: the path was at the last leaf.
pub(crate) fn next_leaf<I: BlockIo, K: TreeKind>(
    io: &I,
    owner: u64,
    path: &mut Path,
    buf: &mut Block,
) -> Result<bool, Error<I::Error>> {
    let depth = path.depth;
    let mut d = depth;
    while d > 0 {
        d = d.saturating_sub(1);
        let level = u16::try_from(depth.saturating_sub(d)).unwrap_or(0);
        let blk = path.blk_at(d);
        read_node::<I, K>(io, blk, level, owner, buf)?;
        let idx = path.idx_at(d).saturating_add(1);
        if idx >= node_count(buf) {
            continue;
        }
        path.set(d, blk, idx);
        let mut bound = child_bound(buf, idx, path.bound_at(d));
        let mut expect = ikey(buf, idx);
        let mut child = ichild(buf, idx);
        for d2 in d.saturating_add(1)..depth {
            let level = u16::try_from(depth.saturating_sub(d2)).unwrap_or(0);
            read_node::<I, K>(io, child, level, owner, buf)?;
            if ikey(buf, 0) != expect {
                return Err(Corrupt::BadTreeKey(child).into());
            }
            check_bound::<K>(buf, child, bound)?;
            path.set(d2, child, 0);
            path.set_bound(d2, bound);
            bound = child_bound(buf, 0, bound);
            expect = ikey(buf, 0);
            child = ichild(buf, 0);
        }
        read_node::<I, K>(io, child, 0, owner, buf)?;
        if K::leaf_first_key(buf) != expect {
            return Err(Corrupt::BadTreeKey(child).into());
        }
        check_bound::<K>(buf, child, bound)?;
        path.set_bound(depth, bound);
        path.upper = (bound != NO_BOUND).then_some(bound);
        path.leaf = child;
        return Ok(true);
    }
    Ok(false)
}

/// The node at path position `at` (`path.depth` is the leaf) has a new smallest key: update the
/// keys that its ancestors hold for it.
pub(crate) fn fix_min<I: BlockIo, K: TreeKind>(
    io: &mut I,
    owner: u64,
    path: &Path,
    at: usize,
    new_min: u64,
    buf: &mut Block,
) -> Result<(), Error<I::Error>> {
    let mut d = at.min(path.depth);
    while d > 0 {
        d = d.saturating_sub(1);
        let level = u16::try_from(path.depth.saturating_sub(d)).unwrap_or(0);
        let blk = path.blk_at(d);
        read_node::<I, K>(io, blk, level, owner, buf)?;
        let idx = path.idx_at(d);
        let child = ichild(buf, idx);
        iset(buf, idx, new_min, child);
        block_seal(buf);
        io.write(blk, buf).map_err(Error::Io)?;
        if idx != 0 {
            break;
        }
    }
    Ok(())
}

/// The node at path position `at` split: its right half, whose smallest key is `key`, is the new
/// block `child`; `lmin` is the smallest key of the left half. Inserts the separator into the
/// parent, splitting upward and growing a new root when the root split.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_sep<I: BlockIo, K: TreeKind>(
    io: &mut I,
    root: &mut TreeRoot,
    owner: u64,
    path: &Path,
    at: usize,
    lmin: u64,
    key: u64,
    child: u64,
    scratch: &mut Scratch,
) -> Result<(), Error<I::Error>> {
    let (mut lmin, mut k, mut c) = (lmin, key, child);
    let mut at = at.min(path.depth);
    loop {
        if at == 0 {
            let new_depth = root.depth.saturating_add(1);
            if usize::from(new_depth) >= MAX_TREE_DEPTH {
                return Err(Corrupt::TreeTooDeep.into());
            }
            let nb = alloc(io, root.blk)?;
            let a = &mut scratch.a;
            node_init(a, K::MAGIC, new_depth, owner);
            iset(a, 0, lmin, root.blk);
            iset(a, 1, k, c);
            set_node_count(a, 2);
            block_seal(a);
            io.write(nb, a).map_err(Error::Io)?;
            root.blk = nb;
            root.depth = new_depth;
            return Ok(());
        }
        at = at.saturating_sub(1);
        let level = u16::try_from(path.depth.saturating_sub(at)).unwrap_or(0);
        let pblk = path.blk_at(at);
        let pos = path.idx_at(at).saturating_add(1);
        read_node::<I, K>(io, pblk, level, owner, &mut scratch.a)?;
        let n = node_count(&scratch.a);
        if n < INTERNAL_CAP {
            shift16(&mut scratch.a, pos, n, true);
            iset(&mut scratch.a, pos, k, c);
            set_node_count(&mut scratch.a, n.saturating_add(1));
            block_seal(&mut scratch.a);
            io.write(pblk, &scratch.a).map_err(Error::Io)?;
            return Ok(());
        }
        // Split: entries 0..=n with the new one at `pos`; the left keeps `left`.
        let total = n.saturating_add(1);
        let left = total / 2;
        let nb = alloc(io, pblk)?;
        let (a, b) = (&mut scratch.a, &mut scratch.b);
        node_init(b, K::MAGIC, level, owner);
        for j in left..total {
            let (kk, cc) = if j < pos {
                (ikey(a, j), ichild(a, j))
            } else if j == pos {
                (k, c)
            } else {
                let s = j.saturating_sub(1);
                (ikey(a, s), ichild(a, s))
            };
            iset(b, j.saturating_sub(left), kk, cc);
        }
        set_node_count(b, total.saturating_sub(left));
        if pos < left {
            shift16(a, pos, left.saturating_sub(1), true);
            iset(a, pos, k, c);
        }
        set_node_count(a, left);
        // Clear the stale entries beyond the count so the node reads back byte-exact.
        let from = ioff(left);
        if let Some(s) = a.get_mut(from..NODE_END) {
            s.fill(0);
        }
        block_seal(a);
        block_seal(b);
        io.write(pblk, a).map_err(Error::Io)?;
        io.write(nb, b).map_err(Error::Io)?;
        lmin = first_key_of::<K>(a);
        k = ikey(b, 0);
        c = nb;
    }
}

/// The leaf at the end of `path` became empty: frees it and removes it from its ancestors,
/// freeing those that become empty, then shortens the tree while its root has one child.
pub(crate) fn remove_leaf<I: BlockIo, K: TreeKind>(
    io: &mut I,
    root: &mut TreeRoot,
    owner: u64,
    path: &Path,
    buf: &mut Block,
) -> Result<(), Error<I::Error>> {
    io.free_meta_block(path.leaf).map_err(Error::Io)?;
    let mut at = path.depth;
    loop {
        if at == 0 {
            *root = TreeRoot::default();
            return Ok(());
        }
        at = at.saturating_sub(1);
        let level = u16::try_from(path.depth.saturating_sub(at)).unwrap_or(0);
        let pblk = path.blk_at(at);
        let idx = path.idx_at(at);
        read_node::<I, K>(io, pblk, level, owner, buf)?;
        let n = node_count(buf);
        if n <= 1 {
            io.free_meta_block(pblk).map_err(Error::Io)?;
            continue;
        }
        shift16(buf, idx.saturating_add(1), n, false);
        iset(buf, n.saturating_sub(1), 0, 0);
        set_node_count(buf, n.saturating_sub(1));
        block_seal(buf);
        io.write(pblk, buf).map_err(Error::Io)?;
        if idx == 0 {
            let m = ikey(buf, 0);
            fix_min::<I, K>(io, owner, path, at, m, buf)?;
        }
        break;
    }
    collapse_root::<I, K>(io, root, owner, buf)
}

/// While the root is an internal node with a single child, makes the child the root.
pub(crate) fn collapse_root<I: BlockIo, K: TreeKind>(
    io: &mut I,
    root: &mut TreeRoot,
    owner: u64,
    buf: &mut Block,
) -> Result<(), Error<I::Error>> {
    while root.depth > 0 {
        read_node::<I, K>(io, root.blk, root.depth, owner, buf)?;
        if node_count(buf) != 1 {
            break;
        }
        let child = ichild(buf, 0);
        io.free_meta_block(root.blk).map_err(Error::Io)?;
        root.blk = child;
        root.depth = root.depth.saturating_sub(1);
    }
    Ok(())
}

/// Calls `f(block, level)` for every node of the tree, checking each (fsck, dump, teardown).
/// Visits parents before children.
#[cfg(feature = "inspect")]
pub(crate) fn walk_nodes<I: BlockIo, K: TreeKind>(
    io: &I,
    root: &TreeRoot,
    owner: u64,
    buf: &mut Block,
    f: &mut dyn FnMut(u64, u16),
) -> Result<(), Error<I::Error>> {
    if root.blk == 0 {
        return Ok(());
    }
    let depth = usize::from(root.depth);
    if depth >= MAX_TREE_DEPTH {
        return Err(Corrupt::TreeTooDeep.into());
    }
    read_node::<I, K>(io, root.blk, root.depth, owner, buf)?;
    f(root.blk, root.depth);
    if depth == 0 {
        return Ok(());
    }
    let mut path = Path::new();
    path.depth = depth;
    path.set(0, root.blk, 0);
    let mut d = 0usize;
    loop {
        let level = u16::try_from(depth.saturating_sub(d)).unwrap_or(0);
        let blk = path.blk_at(d);
        read_node::<I, K>(io, blk, level, owner, buf)?;
        let idx = path.idx_at(d);
        if idx >= node_count(buf) {
            if d == 0 {
                return Ok(());
            }
            d = d.saturating_sub(1);
            let up = path.blk_at(d);
            path.set(d, up, path.idx_at(d).saturating_add(1));
            continue;
        }
        let expect = ikey(buf, idx);
        let child = ichild(buf, idx);
        let cbound = child_bound(buf, idx, path.bound_at(d));
        let clevel = level.saturating_sub(1);
        read_node::<I, K>(io, child, clevel, owner, buf)?;
        if first_key_of::<K>(buf) != expect {
            return Err(Corrupt::BadTreeKey(child).into());
        }
        check_bound::<K>(buf, child, cbound)?;
        f(child, clevel);
        if clevel == 0 {
            path.set(d, blk, idx.saturating_add(1));
        } else {
            d = d.saturating_add(1);
            path.set(d, child, 0);
            path.set_bound(d, cbound);
        }
    }
}
