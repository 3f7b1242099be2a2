// SPDX-License-Identifier: GPL-2.0

//! Directories: a B+tree of entries keyed by a 64-bit hash of the name.
//!
//! The key of an entry is `(h << 8) | c`, where `h` is 55 bits of SipHash-2-4 of the name under
//! the superblock's hash seed (never 0 and never all ones) and `c` is the smallest collision
//! counter not used by another name with the same `h`. Keys are unique in a directory and never
//! change while the entry exists, so the key is the readdir cookie: cookies 0, 1 and 2 are the
//! start, `.` and `..`; entries have keys from 256 up to below 2^63 − 256; [`COOKIE_END`] means
//! the end. Lookup visits the keys `h << 8 ..= h << 8 | 255` only: a tree descent and, almost
//! always, one entry.
//!
//! Leaf entries are packed in key order from the node header: `key: u64, ino: u64, name_len: u8,
//! file_type: u8, name`, padded to a multiple of 8 bytes. `.` and `..` are not stored: the
//! directory inode records its parent.//!
//! This file holds the encoding, lookups and readdir; `update.rs` inserts and removes entries.

mod update;

pub use update::*;

use super::btree::{
    descend, next_leaf, node_count, node_used, Path, TreeKind, TreeRoot, MAX_TREE_DEPTH, NODE_END,
    NODE_HDR,
};
use super::bytes::{get_u16, get_u64, get_u8, put_u16, put_u64};
use super::crc::siphash24;
use super::inode::{FT_BLK, FT_CHR, FT_DIR, FT_FIFO, FT_LNK, FT_REG, FT_SOCK};
use super::{Block, BlockIo, Corrupt, Error, MAX_NAME_LEN};

/// Cookie of the first call of readdir.
#[cfg(feature = "inspect")]
pub const COOKIE_START: u64 = 0;
/// Cookie after `.` was returned.
#[cfg(feature = "inspect")]
pub const COOKIE_DOT: u64 = 1;
/// Cookie after `..` was returned: the stored entries come next.
#[cfg(feature = "inspect")]
pub const COOKIE_DOTDOT: u64 = 2;
/// Cookie after the last entry.
pub const COOKIE_END: u64 = i64::MAX as u64;
/// Bytes of entries a leaf holds.
pub const DIR_LEAF_BYTES: usize = NODE_END - NODE_HDR;

const DIR_MAGIC: u32 = u32::from_le_bytes(*b"FDTN");
const E_KEY: usize = 0;
const E_INO: usize = 8;
const E_NAMELEN: usize = 16;
const E_TYPE: usize = 17;
const E_NAME: usize = 18;

/// The record length of an entry with a name of `len` bytes.
fn rec_len(len: usize) -> usize {
    E_NAME.saturating_add(len).saturating_add(7) & !7
}

/// The root of a directory, kept in its inode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirRoot {
    /// The entry tree (`blk == 0`: no entries).
    pub tree: TreeRoot,
    /// The parent directory's inode number (the root's is its own).
    pub parent: u64,
    /// Number of entries (`.` and `..` not counted).
    pub entries: u64,
}

impl DirRoot {
    /// An empty directory whose parent is `parent`.
    pub fn empty(parent: u64) -> DirRoot {
        DirRoot {
            tree: TreeRoot::default(),
            parent,
            entries: 0,
        }
    }

    /// Parses the inode data area of directory inode `ino`.
    pub fn decode(area: &[u8], ino: u64) -> Result<DirRoot, Corrupt> {
        let r = DirRoot {
            tree: TreeRoot {
                blk: get_u64(area, 0),
                depth: get_u16(area, 8),
            },
            parent: get_u64(area, 16),
            entries: get_u64(area, 24),
        };
        let bad = Corrupt::BadDirRoot(ino);
        if usize::from(r.tree.depth) >= MAX_TREE_DEPTH || r.parent == 0 {
            return Err(bad);
        }
        if r.tree.blk == 0 && (r.tree.depth != 0 || r.entries != 0) {
            return Err(bad);
        }
        if r.tree.blk != 0 && r.entries == 0 {
            return Err(bad);
        }
        Ok(r)
    }

    /// Serializes into the inode data area (the mirror of [`decode`](Self::decode)).
    pub fn encode(&self, area: &mut [u8]) {
        area.fill(0);
        put_u64(area, 0, self.tree.blk);
        put_u16(area, 8, self.tree.depth);
        put_u64(area, 16, self.parent);
        put_u64(area, 24, self.entries);
    }
}

/// A directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// Its key, which is also its readdir cookie.
    pub key: u64,
    /// The inode it names.
    pub ino: u64,
    /// `FT_*` file type.
    pub ftype: u8,
    /// Name length.
    pub name_len: u8,
    /// Name bytes (the first `name_len`).
    pub name: [u8; MAX_NAME_LEN],
}

impl DirEntry {
    /// The name.
    pub fn name(&self) -> &[u8] {
        self.name.get(..usize::from(self.name_len)).unwrap_or(&[])
    }

    fn from_leaf(buf: &Block, o: usize) -> DirEntry {
        let len = get_u8(buf, o.saturating_add(E_NAMELEN));
        let mut name = [0u8; MAX_NAME_LEN];
        let start = o.saturating_add(E_NAME);
        if let (Some(src), Some(dst)) = (
            buf.get(start..start.saturating_add(usize::from(len))),
            name.get_mut(..usize::from(len)),
        ) {
            super::bytes::copy_bytes(dst, src);
        }
        DirEntry {
            key: get_u64(buf, o.saturating_add(E_KEY)),
            ino: get_u64(buf, o.saturating_add(E_INO)),
            ftype: get_u8(buf, o.saturating_add(E_TYPE)),
            name_len: len,
            name,
        }
    }
}

/// Checks a name: 1 to 255 bytes, no `/` or NUL, not `.` or `..`.
pub fn dir_check_name<E>(name: &[u8]) -> Result<(), Error<E>> {
    if name.len() > MAX_NAME_LEN {
        return Err(Error::NameTooLong);
    }
    if name.is_empty() || name == b"." || name == b".." || name.iter().any(|&b| b == 0 || b == b'/')
    {
        return Err(Error::Invalid);
    }
    Ok(())
}

/// The 55-bit name hash `h` of `name` (the key base is `h << 8`).
pub fn dir_hash(seed: &[u8; 16], name: &[u8]) -> u64 {
    let h = siphash24(seed, name) >> 9;
    h.clamp(1, (1u64 << 55).saturating_sub(2))
}

/// Whether entry `e`'s key is its name's hash (with any collision index): the key
/// [`dir_lookup`] looks for. An entry that fails this is listed by [`dir_iter`] but cannot be
/// found by name.
pub fn dir_key_matches(seed: &[u8; 16], e: &DirEntry) -> bool {
    e.key >> 8 == dir_hash(seed, e.name())
}

/// Whether a stored name is one [`dir_check_name`] accepts: a name readdir hands to the VFS
/// must not hold a `/` or a NUL, nor be `.` or `..`.
fn valid_name(name: &[u8]) -> bool {
    dir_check_name::<()>(name).is_ok()
}

fn valid_ftype(t: u8) -> bool {
    matches!(
        t,
        FT_FIFO | FT_CHR | FT_DIR | FT_BLK | FT_REG | FT_LNK | FT_SOCK
    )
}

struct DirKind;

impl TreeKind for DirKind {
    const MAGIC: u32 = DIR_MAGIC;

    fn check_leaf(buf: &Block, blk: u64) -> Result<(), Corrupt> {
        let used = node_used(buf);
        let n = node_count(buf);
        if n == 0 || used > DIR_LEAF_BYTES {
            return Err(Corrupt::BadTreeNodeCount(blk));
        }
        let end = NODE_HDR.saturating_add(used);
        let mut o = NODE_HDR;
        let mut seen = 0usize;
        let mut prev: Option<u64> = None;
        while o < end {
            let len = usize::from(get_u8(buf, o.saturating_add(E_NAMELEN)));
            let next = o.saturating_add(rec_len(len));
            let key = get_u64(buf, o);
            if len == 0
                || next > end
                || !valid_name(name_at(buf, o))
                || get_u64(buf, o.saturating_add(E_INO)) == 0
                || !valid_ftype(get_u8(buf, o.saturating_add(E_TYPE)))
                || !(256..COOKIE_END).contains(&key)
            {
                return Err(Corrupt::BadDirEntry(blk));
            }
            if prev.is_some_and(|p| key <= p) {
                return Err(Corrupt::KeysOutOfOrder(blk));
            }
            prev = Some(key);
            seen = seen.saturating_add(1);
            o = next;
        }
        if seen != n {
            return Err(Corrupt::BadTreeNodeCount(blk));
        }
        Ok(())
    }

    fn leaf_first_key(buf: &Block) -> u64 {
        get_u64(buf, NODE_HDR)
    }

    fn leaf_end(buf: &Block) -> u64 {
        let mut last = 0u64;
        leaf_entries(buf, 0, &mut |b, o| {
            last = get_u64(b, o);
            true
        });
        last.saturating_add(1)
    }
}

/// Walks the entries of the leaf in `buf` from the first with key ≥ `from`; calls `f(offset)`
/// until it returns false. Returns false if stopped.
fn leaf_entries(buf: &Block, from: u64, f: &mut dyn FnMut(&Block, usize) -> bool) -> bool {
    let end = NODE_HDR.saturating_add(node_used(buf));
    let mut o = NODE_HDR;
    while o < end {
        let len = usize::from(get_u8(buf, o.saturating_add(E_NAMELEN)));
        if get_u64(buf, o) >= from && !f(buf, o) {
            return false;
        }
        o = o.saturating_add(rec_len(len));
    }
    true
}

/// Calls `f(entry)` for the entries with key ≥ `from` in key order until `f` returns false.
fn scan<I: BlockIo>(
    io: &I,
    owner: u64,
    root: &DirRoot,
    from: u64,
    buf: &mut Block,
    f: &mut dyn FnMut(&Block, usize) -> bool,
) -> Result<(), Error<I::Error>> {
    if root.tree.blk == 0 {
        return Ok(());
    }
    let mut path = Path::new();
    descend::<I, DirKind>(io, &root.tree, owner, from, &mut path, buf)?;
    loop {
        if !leaf_entries(buf, from, f) {
            return Ok(());
        }
        if !next_leaf::<I, DirKind>(io, owner, &mut path, buf)? {
            return Ok(());
        }
    }
}

fn name_at(buf: &Block, o: usize) -> &[u8] {
    let len = usize::from(get_u8(buf, o.saturating_add(E_NAMELEN)));
    let s = o.saturating_add(E_NAME);
    buf.get(s..s.saturating_add(len)).unwrap_or(&[])
}

/// Looks `name` up in the directory.
pub fn dir_lookup<I: BlockIo>(
    io: &I,
    owner: u64,
    seed: &[u8; 16],
    root: &DirRoot,
    name: &[u8],
    buf: &mut Block,
) -> Result<Option<DirEntry>, Error<I::Error>> {
    dir_check_name::<I::Error>(name)?;
    let base = dir_hash(seed, name) << 8;
    let mut found = None;
    scan(io, owner, root, base, buf, &mut |b, o| {
        if get_u64(b, o) > base | 255 {
            return false;
        }
        if name_at(b, o) == name {
            found = Some(DirEntry::from_leaf(b, o));
            return false;
        }
        true
    })?;
    Ok(found)
}

/// readdir: calls `f(entry)` for the stored entries whose key is ≥ `cookie`, in key order, until
/// `f` returns false (its buffer is full: that entry was not consumed). Returns the cookie to
/// resume from: the key of the entry `f` refused, or [`COOKIE_END`]. Cookies 0..=2 (start, `.`,
/// `..`) are the caller's; any of them starts at the first stored entry.
pub fn dir_iter<I: BlockIo>(
    io: &I,
    owner: u64,
    root: &DirRoot,
    cookie: u64,
    buf: &mut Block,
    f: &mut dyn FnMut(&DirEntry) -> bool,
) -> Result<u64, Error<I::Error>> {
    if cookie >= COOKIE_END {
        return Ok(COOKIE_END);
    }
    let mut next = COOKIE_END;
    scan(io, owner, root, cookie, buf, &mut |b, o| {
        let e = DirEntry::from_leaf(b, o);
        if f(&e) {
            true
        } else {
            next = e.key;
            false
        }
    })?;
    Ok(next)
}

/// Calls `f(block, level)` for every tree node of the directory, checking each.
#[cfg(feature = "inspect")]
pub fn dir_tree_nodes<I: BlockIo>(
    io: &I,
    owner: u64,
    root: &DirRoot,
    buf: &mut Block,
    f: &mut dyn FnMut(u64, u16),
) -> Result<(), Error<I::Error>> {
    super::btree::walk_nodes::<I, DirKind>(io, &root.tree, owner, buf, f)
}
