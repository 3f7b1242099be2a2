// SPDX-License-Identifier: GPL-2.0

//! Reading an extent map: lookups, iteration, and the walk over every tree node.

use super::super::btree::{next_leaf, node_count, Path};
use super::super::{Block, BlockIo, Corrupt, Error, MAX_FILE_BLOCKS};
use super::{leaf_find, load, xget, Extent, ExtentKind, ExtentLookup, ExtentRoot};

/// Finds the extent mapping file block `lblk`, or the extent of the hole around it.
pub fn extent_lookup<I: BlockIo>(
    io: &I,
    owner: u64,
    root: &ExtentRoot,
    lblk: u64,
    buf: &mut Block,
) -> Result<ExtentLookup, Error<I::Error>> {
    if lblk >= MAX_FILE_BLOCKS {
        return Err(Error::FileTooBig);
    }
    let mut path = Path::new();
    load(io, owner, root, lblk, &mut path, buf)?;
    let n = node_count(buf);
    let p = leaf_find(buf, lblk);
    if let Some(i) = p {
        let e = xget(buf, i);
        if lblk < e.end() {
            if e.physical.saturating_add(e.len) > io.block_count() {
                return Err(Corrupt::BlockOutOfRange(e.physical).into());
            }
            return Ok(ExtentLookup::Mapped(e));
        }
    }
    let s = p.map_or(0, |i| i.saturating_add(1));
    let end = if s < n {
        xget(buf, s).logical
    } else {
        path.upper.unwrap_or(MAX_FILE_BLOCKS)
    };
    Ok(ExtentLookup::Hole { end })
}

/// Calls `f` for every extent that ends after file block `from`, in order, until `f` returns
/// `false`.
pub fn extent_iter<I: BlockIo>(
    io: &I,
    owner: u64,
    root: &ExtentRoot,
    from: u64,
    buf: &mut Block,
    f: &mut dyn FnMut(&Extent) -> bool,
) -> Result<(), Error<I::Error>> {
    let mut path = Path::new();
    let l = load(io, owner, root, from, &mut path, buf)?;
    let mut i = match leaf_find(buf, from) {
        Some(i) if xget(buf, i).end() > from => i,
        Some(i) => i.saturating_add(1),
        None => 0,
    };
    loop {
        let n = node_count(buf);
        while i < n {
            if !f(&xget(buf, i)) {
                return Ok(());
            }
            i = i.saturating_add(1);
        }
        if l.inline || !next_leaf::<I, ExtentKind>(io, owner, &mut path, buf)? {
            return Ok(());
        }
        i = 0;
    }
}

/// Calls `f(block, level)` for every tree node of the map (not the inline root), checking each.
#[cfg(feature = "inspect")]
pub fn extent_tree_nodes<I: BlockIo>(
    io: &I,
    owner: u64,
    root: &ExtentRoot,
    buf: &mut Block,
    f: &mut dyn FnMut(u64, u16),
) -> Result<(), Error<I::Error>> {
    super::super::btree::walk_nodes::<I, ExtentKind>(io, &root.tree, owner, buf, f)
}
