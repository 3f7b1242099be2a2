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

use super::btree::{
    alloc, descend, fix_min, insert_sep, next_leaf, node_count, node_init, remove_leaf,
    set_node_count, shift16, Path, TreeKind, TreeRoot, MAX_TREE_DEPTH, NODE_HDR,
};
use super::bytes::{get_u16, get_u32, get_u64, put_u16, put_u32, put_u64};
use super::{block_seal, Block, BlockIo, Corrupt, Error, Scratch, MAX_FILE_BLOCKS};

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
        let buf = &mut scratch.a;
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
        } else if path.upper.is_some_and(|u| e.end() > u) {
            return Err(Error::Exists);
        }
        let prev = p.map(|i| xget(buf, i));
        let next = if s < n { Some(xget(buf, s)) } else { None };
        let joins = |a: &Extent, b: &Extent| {
            a.end() == b.logical
                && a.physical.checked_add(a.len) == Some(b.physical)
                && a.len.saturating_add(b.len) <= EXTENT_MAX_LEN
        };
        let mp = prev.filter(|pr| joins(pr, &e));
        let mn = next.filter(|nx| joins(&e, nx));
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
                if n >= l.cap {
                    if l.inline {
                        // Move the inline extents and the new one into a leaf block.
                        let nb = alloc(io, 0)?;
                        shift16(buf, s, n, true);
                        xput(buf, s, &e);
                        set_node_count(buf, n.saturating_add(1));
                        block_seal(buf);
                        io.write(nb, buf).map_err(Error::Io)?;
                        *root = ExtentRoot::new();
                        root.tree = TreeRoot { blk: nb, depth: 0 };
                        return Ok(());
                    }
                    split_leaf(io, owner, root, &path, scratch)?;
                    continue;
                }
                shift16(buf, s, n, true);
                xput(buf, s, &e);
                set_node_count(buf, n.saturating_add(1));
                if s == 0 {
                    new_min = Some(e.logical);
                }
            }
        }
        store(io, root, &l, &path, &mut scratch.a)?;
        if let (Some(m), false) = (new_min, l.inline) {
            fix_min::<I, ExtentKind>(io, owner, &path, path.depth, m, &mut scratch.a)?;
        }
        return Ok(());
    }
    Err(Corrupt::BadTreeNodeCount(path.leaf).into())
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
    super::btree::walk_nodes::<I, ExtentKind>(io, &root.tree, owner, buf, f)
}
