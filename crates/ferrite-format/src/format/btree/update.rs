// SPDX-License-Identifier: GPL-2.0

//! Changing the internal nodes after a leaf changed: new smallest keys, separators for split
//! nodes (splitting full internal nodes and growing the root), removed leaves and a root with
//! one child.

use super::super::{block_seal, Block, BlockIo, Corrupt, Error, Scratch};
use super::{
    alloc, first_key_of, ichild, ikey, ioff, iset, node_count, node_init, read_node,
    set_node_count, shift16, Path, TreeKind, TreeRoot, INTERNAL_CAP, MAX_TREE_DEPTH, NODE_END,
};

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
