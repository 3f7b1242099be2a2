// SPDX-License-Identifier: GPL-2.0

//! Walking a tree: descent to a leaf, the next leaf, and every node.

use super::super::{Block, BlockIo, Corrupt, Error};
use super::{
    check_bound, child_bound, ichild, ikey, node_count, read_node, search_internal, Path, TreeKind,
    TreeRoot, MAX_TREE_DEPTH, NO_BOUND,
};

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
        if super::first_key_of::<K>(buf) != expect {
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
