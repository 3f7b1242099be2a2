// SPDX-License-Identifier: GPL-2.0

//! Changing a directory: inserting entries (choosing a free key, splitting full leaves) and
//! removing them.

use super::super::btree::{
    alloc, descend, fix_min, insert_sep, node_count, node_init, node_used, remove_leaf,
    set_node_count, set_node_used, Path, TreeRoot, NODE_END, NODE_HDR,
};
use super::super::bytes::{get_u64, get_u8, put_bytes, put_u64, put_u8, zero_range};
use super::super::{block_seal, Block, BlockIo, Corrupt, Error, Scratch};
use super::{
    dir_check_name, dir_hash, dir_lookup, leaf_entries, name_at, rec_len, scan, valid_ftype,
    DirEntry, DirKind, DirRoot, DIR_LEAF_BYTES, DIR_MAGIC, E_INO, E_KEY, E_NAME, E_NAMELEN, E_TYPE,
};

/// Adds the entry `name → ino` of type `ftype`; returns its key (cookie). `Exists` if the name is
/// there. On an error after the tree was changed the caller aborts its transaction.
#[allow(clippy::too_many_arguments)]
pub fn dir_insert<I: BlockIo>(
    io: &mut I,
    owner: u64,
    seed: &[u8; 16],
    root: &mut DirRoot,
    name: &[u8],
    ino: u64,
    ftype: u8,
    scratch: &mut Scratch,
) -> Result<u64, Error<I::Error>> {
    dir_check_name::<I::Error>(name)?;
    if ino == 0 || !valid_ftype(ftype) {
        return Err(Error::Invalid);
    }
    let key = free_key(io, owner, seed, root, name, &mut scratch.a)?;
    let e = NewEntry {
        key,
        ino,
        ftype,
        name_len: u8::try_from(name.len()).map_err(|_| Error::NameTooLong)?,
        name,
    };
    let mut path = Path::new();
    for _ in 0..4 {
        if root.tree.blk == 0 {
            let nb = alloc(io, 0)?;
            let a = &mut scratch.a;
            node_init(a, DIR_MAGIC, 0, owner);
            write_entry(a, NODE_HDR, &e);
            set_node_count(a, 1);
            set_node_used(a, e.rec_len());
            block_seal(a);
            io.write(nb, a).map_err(Error::Io)?;
            root.tree = TreeRoot { blk: nb, depth: 0 };
            root.entries = 1;
            return Ok(key);
        }
        descend::<I, DirKind>(io, &root.tree, owner, key, &mut path, &mut scratch.a)?;
        if let Some(at) = leaf_insert(&mut scratch.a, &e)? {
            io.write(path.leaf, &scratch.a).map_err(Error::Io)?;
            if at == NODE_HDR {
                fix_min::<I, DirKind>(io, owner, &path, path.depth, key, &mut scratch.a)?;
            }
            root.entries = root.entries.saturating_add(1);
            return Ok(key);
        }
        split_leaf(io, owner, root, &path, scratch)?;
    }
    Err(Corrupt::BadTreeNodeCount(path.leaf).into())
}

/// The key for a new entry `name`: its hash with the smallest collision counter no entry of the
/// same hash uses. `Exists` if the name is there, `NoSpace` if all 256 counters are taken.
fn free_key<I: BlockIo>(
    io: &I,
    owner: u64,
    seed: &[u8; 16],
    root: &DirRoot,
    name: &[u8],
    buf: &mut Block,
) -> Result<u64, Error<I::Error>> {
    let base = dir_hash(seed, name) << 8;
    let mut used = [0u64; 4];
    let mut exists = false;
    scan(io, owner, root, base, buf, &mut |b, o| {
        let k = get_u64(b, o);
        if k > base | 255 {
            return false;
        }
        let c = (k & 255) as usize;
        if let Some(w) = used.get_mut(c / 64) {
            *w |= 1 << (c % 64);
        }
        if name_at(b, o) == name {
            exists = true;
            return false;
        }
        true
    })?;
    if exists {
        return Err(Error::Exists);
    }
    let mut ctr = None;
    for (wi, w) in used.iter().enumerate() {
        if *w != u64::MAX {
            ctr = Some((wi as u64).saturating_mul(64) | u64::from(w.trailing_ones()));
            break;
        }
    }
    Ok(base | ctr.ok_or(Error::NoSpace)?)
}

/// An entry to write into a leaf.
struct NewEntry<'n> {
    key: u64,
    ino: u64,
    ftype: u8,
    name_len: u8,
    name: &'n [u8],
}

impl NewEntry<'_> {
    /// Bytes of its record in a leaf.
    fn rec_len(&self) -> usize {
        rec_len(usize::from(self.name_len))
    }
}

/// Puts entry `e` in key order into the leaf in `a` and seals it: the offset it went to, or
/// `None` (the leaf unchanged) when the leaf has no room. `Exists` if its key is there.
fn leaf_insert<E>(a: &mut Block, e: &NewEntry<'_>) -> Result<Option<usize>, Error<E>> {
    let used_b = node_used(a);
    let n = node_count(a);
    // Insertion offset: before the first entry with a larger key.
    let mut at = NODE_HDR.saturating_add(used_b);
    let mut dup = false;
    leaf_entries(a, 0, &mut |b, o| {
        let k = get_u64(b, o);
        if k == e.key {
            dup = true;
        }
        if k >= e.key {
            at = o;
            return false;
        }
        true
    });
    if dup {
        return Err(Error::Exists);
    }
    let rl = e.rec_len();
    if used_b.saturating_add(rl) > DIR_LEAF_BYTES {
        return Ok(None);
    }
    let tail_end = NODE_HDR.saturating_add(used_b);
    if tail_end > at {
        a.copy_within(at..tail_end, at.saturating_add(rl));
    }
    write_entry(a, at, e);
    set_node_count(a, n.saturating_add(1));
    set_node_used(a, used_b.saturating_add(rl));
    block_seal(a);
    Ok(Some(at))
}

/// Writes entry `e` at offset `o` of leaf `a`.
fn write_entry(a: &mut Block, o: usize, e: &NewEntry<'_>) {
    zero_range(a, o, o.saturating_add(e.rec_len()));
    put_u64(a, o.saturating_add(E_KEY), e.key);
    put_u64(a, o.saturating_add(E_INO), e.ino);
    put_u8(a, o.saturating_add(E_NAMELEN), e.name_len);
    put_u8(a, o.saturating_add(E_TYPE), e.ftype);
    put_bytes(a, o.saturating_add(E_NAME), e.name);
}

/// Splits the full leaf in `scratch.a` at about half its bytes.
fn split_leaf<I: BlockIo>(
    io: &mut I,
    owner: u64,
    root: &mut DirRoot,
    path: &Path,
    scratch: &mut Scratch,
) -> Result<(), Error<I::Error>> {
    let (a, b) = (&mut scratch.a, &mut scratch.b);
    let used = node_used(a);
    let n = node_count(a);
    if n < 2 {
        return Err(Corrupt::BadTreeNodeCount(path.leaf).into());
    }
    // The first entry boundary at or past half the bytes, keeping at least one entry right.
    let mut split = NODE_HDR;
    let mut left_n = 0usize;
    leaf_entries(a, 0, &mut |b, o| {
        let len = usize::from(get_u8(b, o.saturating_add(E_NAMELEN)));
        if left_n > 0 && (o.saturating_sub(NODE_HDR) >= used / 2 || left_n.saturating_add(1) == n) {
            return false;
        }
        split = o.saturating_add(rec_len(len));
        left_n = left_n.saturating_add(1);
        true
    });
    let end = NODE_HDR.saturating_add(used);
    let nb = alloc(io, path.leaf)?;
    node_init(b, DIR_MAGIC, 0, owner);
    let right_bytes = end.saturating_sub(split);
    if let (Some(src), Some(dst)) = (
        a.get(split..end),
        b.get_mut(NODE_HDR..NODE_HDR.saturating_add(right_bytes)),
    ) {
        super::super::bytes::copy_bytes(dst, src);
    }
    set_node_count(b, n.saturating_sub(left_n));
    set_node_used(b, right_bytes);
    zero_range(a, split, NODE_END);
    set_node_count(a, left_n);
    set_node_used(a, split.saturating_sub(NODE_HDR));
    block_seal(a);
    block_seal(b);
    io.write(path.leaf, a).map_err(Error::Io)?;
    io.write(nb, b).map_err(Error::Io)?;
    let lmin = get_u64(a, NODE_HDR);
    let k = get_u64(b, NODE_HDR);
    insert_sep::<I, DirKind>(
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

/// Removes `name`; returns the removed entry. `NotFound` if it is not there.
pub fn dir_remove<I: BlockIo>(
    io: &mut I,
    owner: u64,
    seed: &[u8; 16],
    root: &mut DirRoot,
    name: &[u8],
    scratch: &mut Scratch,
) -> Result<DirEntry, Error<I::Error>> {
    let e = dir_lookup(io, owner, seed, root, name, &mut scratch.a)?.ok_or(Error::NotFound)?;
    let mut path = Path::new();
    descend::<I, DirKind>(io, &root.tree, owner, e.key, &mut path, &mut scratch.a)?;
    let a = &mut scratch.a;
    let used = node_used(a);
    let n = node_count(a);
    let mut at = None;
    leaf_entries(a, e.key, &mut |b, o| {
        if get_u64(b, o) == e.key {
            at = Some(o);
        }
        false
    });
    let at = at.ok_or(Error::NotFound)?;
    root.entries = root.entries.saturating_sub(1);
    if n <= 1 {
        remove_leaf::<I, DirKind>(io, &mut root.tree, owner, &path, &mut scratch.a)?;
        return Ok(e);
    }
    let rl = rec_len(usize::from(e.name_len));
    let end = NODE_HDR.saturating_add(used);
    let next = at.saturating_add(rl);
    if next < end {
        a.copy_within(next..end, at);
    }
    zero_range(a, end.saturating_sub(rl), end);
    set_node_count(a, n.saturating_sub(1));
    set_node_used(a, used.saturating_sub(rl));
    block_seal(a);
    io.write(path.leaf, a).map_err(Error::Io)?;
    if at == NODE_HDR {
        let m = get_u64(a, NODE_HDR);
        fix_min::<I, DirKind>(io, owner, &path, path.depth, m, &mut scratch.a)?;
    }
    Ok(e)
}
