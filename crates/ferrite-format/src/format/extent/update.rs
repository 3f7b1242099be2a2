// SPDX-License-Identifier: GPL-2.0

//! Changing an extent map: inserting an extent (merging, moving the inline extents into a
//! tree, splitting leaves) and removing the pieces of a range.

use super::super::btree::{
    alloc, fix_min, insert_sep, node_count, node_init, remove_leaf, set_node_count, shift16, Path,
    TreeRoot,
};
use super::super::{block_seal, Block, BlockIo, Corrupt, Error, Scratch, MAX_FILE_BLOCKS};
use super::{
    leaf_find, load, store, xget, xput, Extent, ExtentKind, ExtentRoot, EXTENT_MAGIC,
    EXTENT_MAX_LEN,
};

/// Adds extent `e` to the map, merging it with a physically contiguous neighbour in the same
/// leaf. `Exists` if it overlaps a mapped block, `FileTooBig` past the maximum file size.
///
/// On an error after the tree was changed (`NoSpace` for a node, `Io`), the map is still a valid
/// tree but the operation is incomplete: the caller aborts its transaction.
pub fn extent_insert<I: BlockIo>(
    io: &mut I,
    owner: u64,
    root: &mut ExtentRoot,
    e: Extent,
    scratch: &mut Scratch,
) -> Result<(), Error<I::Error>> {
    if e.len == 0 || e.len > EXTENT_MAX_LEN || e.physical == 0 {
        return Err(Error::Invalid);
    }
    if e.logical
        .checked_add(e.len)
        .map_or(true, |x| x > MAX_FILE_BLOCKS)
    {
        return Err(Error::FileTooBig);
    }
    if e.physical
        .checked_add(e.len)
        .map_or(true, |x| x > io.block_count())
    {
        return Err(Error::Invalid);
    }
    let mut path = Path::new();
    // Each pass either inserts or splits one full leaf; a leaf split leaves room, so the second
    // pass inserts. The bound only guards against a broken invariant.
    for _ in 0..4 {
        let l = load(io, owner, root, e.logical, &mut path, &mut scratch.a)?;
        let new_min = match place(&mut scratch.a, &e, path.upper, l.cap)? {
            Placed::Done { new_min } => new_min,
            Placed::Full { slot } if l.inline => {
                return inline_to_leaf(io, root, &e, slot, &mut scratch.a);
            }
            Placed::Full { .. } => {
                split_leaf(io, owner, root, &path, scratch)?;
                continue;
            }
        };
        store(io, root, &l, &path, &mut scratch.a)?;
        if let (Some(m), false) = (new_min, l.inline) {
            fix_min::<I, ExtentKind>(io, owner, &path, path.depth, m, &mut scratch.a)?;
        }
        return Ok(());
    }
    Err(Corrupt::BadTreeNodeCount(path.leaf).into())
}

/// What [`place`] did with an extent.
enum Placed {
    /// It is in the leaf; a new smallest key of the leaf to propagate up, if it changed.
    Done { new_min: Option<u64> },
    /// The leaf is full and nothing was changed; the extent belongs at index `slot`.
    Full { slot: usize },
}

/// Puts extent `e` in the leaf (or inline extents laid out as one) in `buf`, of capacity `cap`,
/// whose keys end before `upper`: merged into a neighbour it continues, or in its own slot.
/// `Exists` if it overlaps an extent of the leaf or reaches `upper`.
fn place<E>(
    buf: &mut Block,
    e: &Extent,
    upper: Option<u64>,
    cap: usize,
) -> Result<Placed, Error<E>> {
    let n = node_count(buf);
    let p = leaf_find(buf, e.logical);
    if let Some(i) = p {
        if xget(buf, i).end() > e.logical {
            return Err(Error::Exists);
        }
    }
    let s = p.map_or(0, |i| i.saturating_add(1));
    if s < n {
        if e.end() > xget(buf, s).logical {
            return Err(Error::Exists);
        }
    } else if upper.is_some_and(|u| e.end() > u) {
        return Err(Error::Exists);
    }
    let prev = p.map(|i| xget(buf, i));
    let next = if s < n { Some(xget(buf, s)) } else { None };
    let joins = |a: &Extent, b: &Extent| {
        a.end() == b.logical
            && a.physical.checked_add(a.len) == Some(b.physical)
            && a.len.saturating_add(b.len) <= EXTENT_MAX_LEN
    };
    let mp = prev.filter(|pr| joins(pr, e));
    let mn = next.filter(|nx| joins(e, nx));
    let mut new_min = None;
    match (mp, mn, p) {
        (Some(mut pr), Some(nx), Some(i))
            if pr.len.saturating_add(e.len).saturating_add(nx.len) <= EXTENT_MAX_LEN =>
        {
            pr.len = pr.len.saturating_add(e.len).saturating_add(nx.len);
            xput(buf, i, &pr);
            shift16(buf, s.saturating_add(1), n, false);
            xput(buf, n.saturating_sub(1), &Extent::default());
            set_node_count(buf, n.saturating_sub(1));
        }
        (Some(mut pr), _, Some(i)) => {
            pr.len = pr.len.saturating_add(e.len);
            xput(buf, i, &pr);
        }
        (None, Some(mut nx), _) => {
            nx.logical = e.logical;
            nx.physical = e.physical;
            nx.len = nx.len.saturating_add(e.len);
            xput(buf, s, &nx);
            if s == 0 {
                new_min = Some(e.logical);
            }
        }
        _ => {
            if n >= cap {
                return Ok(Placed::Full { slot: s });
            }
            shift16(buf, s, n, true);
            xput(buf, s, e);
            set_node_count(buf, n.saturating_add(1));
            if s == 0 {
                new_min = Some(e.logical);
            }
        }
    }
    Ok(Placed::Done { new_min })
}

/// Moves the full inline extents laid out in `buf` and the new extent `e` (at index `slot`) into
/// a new leaf block, which becomes the root of the map.
fn inline_to_leaf<I: BlockIo>(
    io: &mut I,
    root: &mut ExtentRoot,
    e: &Extent,
    slot: usize,
    buf: &mut Block,
) -> Result<(), Error<I::Error>> {
    let nb = alloc(io, 0)?;
    let n = node_count(buf);
    shift16(buf, slot, n, true);
    xput(buf, slot, e);
    set_node_count(buf, n.saturating_add(1));
    block_seal(buf);
    io.write(nb, buf).map_err(Error::Io)?;
    *root = ExtentRoot::new();
    root.tree = TreeRoot { blk: nb, depth: 0 };
    Ok(())
}

/// Splits the full leaf in `scratch.a` (at the end of `path`) in two halves.
fn split_leaf<I: BlockIo>(
    io: &mut I,
    owner: u64,
    root: &mut ExtentRoot,
    path: &Path,
    scratch: &mut Scratch,
) -> Result<(), Error<I::Error>> {
    let nb = alloc(io, path.leaf)?;
    let (a, b) = (&mut scratch.a, &mut scratch.b);
    let n = node_count(a);
    let left = n / 2;
    node_init(b, EXTENT_MAGIC, 0, owner);
    for j in left..n {
        xput(b, j.saturating_sub(left), &xget(a, j));
    }
    set_node_count(b, n.saturating_sub(left));
    for j in left..n {
        xput(a, j, &Extent::default());
    }
    set_node_count(a, left);
    block_seal(a);
    block_seal(b);
    io.write(path.leaf, a).map_err(Error::Io)?;
    io.write(nb, b).map_err(Error::Io)?;
    let lmin = xget(a, 0).logical;
    let k = xget(b, 0).logical;
    insert_sep::<I, ExtentKind>(
        io,
        &mut root.tree,
        owner,
        path,
        path.depth,
        lmin,
        k,
        nb,
        scratch,
    )
}

/// Unmaps the first (lowest) mapped piece of file blocks `start..end` and returns it; `None` when
/// nothing in the range is mapped. The caller frees the returned physical blocks and calls again
/// from the piece's end. Splits an extent when the range is inside it (punch hole).
pub fn extent_remove_one<I: BlockIo>(
    io: &mut I,
    owner: u64,
    root: &mut ExtentRoot,
    start: u64,
    end: u64,
    scratch: &mut Scratch,
) -> Result<Option<Extent>, Error<I::Error>> {
    let end = end.min(MAX_FILE_BLOCKS);
    let mut key = start;
    let mut path = Path::new();
    // Each pass moves `key` to the next leaf's first key; the depth of the tree bounds nothing
    // here, the number of leaves does, and each pass strictly increases `key`.
    loop {
        if key >= end {
            return Ok(None);
        }
        let l = load(io, owner, root, key, &mut path, &mut scratch.a)?;
        let buf = &mut scratch.a;
        let n = node_count(buf);
        let p = leaf_find(buf, key);
        let i = match p {
            Some(i) if xget(buf, i).end() > key => i,
            Some(i) => i.saturating_add(1),
            None => 0,
        };
        if i >= n {
            match path.upper {
                Some(u) if u < end && u > key => {
                    key = u;
                    continue;
                }
                _ => return Ok(None),
            }
        }
        let e = xget(buf, i);
        if e.logical >= end {
            return Ok(None);
        }
        let os = e.logical.max(start);
        let oe = e.end().min(end);
        let removed = Extent {
            logical: os,
            physical: e.physical.saturating_add(os.saturating_sub(e.logical)),
            len: oe.saturating_sub(os),
        };
        let mut new_min = None;
        let mut right: Option<Extent> = None;
        if os == e.logical && oe == e.end() {
            shift16(buf, i.saturating_add(1), n, false);
            xput(buf, n.saturating_sub(1), &Extent::default());
            set_node_count(buf, n.saturating_sub(1));
            if n == 1 && !l.inline {
                remove_leaf::<I, ExtentKind>(io, &mut root.tree, owner, &path, &mut scratch.a)?;
                if root.tree.blk == 0 {
                    *root = ExtentRoot::new();
                }
                return Ok(Some(removed));
            }
            if i == 0 {
                new_min = Some(xget(buf, 0).logical);
            }
        } else if os == e.logical {
            let cut = oe.saturating_sub(e.logical);
            let t = Extent {
                logical: oe,
                physical: e.physical.saturating_add(cut),
                len: e.len.saturating_sub(cut),
            };
            xput(buf, i, &t);
            if i == 0 {
                new_min = Some(oe);
            }
        } else {
            let t = Extent {
                len: os.saturating_sub(e.logical),
                ..e
            };
            xput(buf, i, &t);
            if oe < e.end() {
                let cut = oe.saturating_sub(e.logical);
                right = Some(Extent {
                    logical: oe,
                    physical: e.physical.saturating_add(cut),
                    len: e.len.saturating_sub(cut),
                });
            }
        }
        store(io, root, &l, &path, &mut scratch.a)?;
        if let (Some(m), false) = (new_min, l.inline) {
            fix_min::<I, ExtentKind>(io, owner, &path, path.depth, m, &mut scratch.a)?;
        }
        if let Some(r) = right {
            extent_insert(io, owner, root, r, scratch)?;
        }
        return Ok(Some(removed));
    }
}
